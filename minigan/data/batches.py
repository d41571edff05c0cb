"""Minibatches of a fixed training set: shuffled once per epoch, the incomplete last batch dropped.

One pass over the data (an *epoch*) visits the examples in a random order, ``batch`` at a time;
when the next batch would run past the end, the remaining examples are skipped, a new order is
drawn with ``B.permutation`` and the next epoch begins. Used by ``minigan.gan.GAN`` (its
``data_order``, ``data_position`` and ``epoch``, kept in checkpoints) and ``minigan.vae.train``.

    batches = Batches(len(data))
    index = batches.next(64)          # (64,) indices into data, on the active backend
    x = data[index]
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B


class Batches:
    """Where a shuffled pass over ``num_examples`` examples stands.

    order      the permutation of range(num_examples) of the current epoch (None before the
               first batch); an integer array of the active backend
    position   index into ``order`` of the next example
    epoch      completed passes over the data (0 during the first)

    The three are plain attributes: a checkpoint saves them and sets them back.
    """

    def __init__(self, num_examples: int):
        self.num_examples = arguments.integer(num_examples, "num_examples", "Batches", 0)
        self.order = None
        self.position = 0
        self.epoch = 0

    def next(self, n: int):
        """The indices (n,) of the next batch, drawing a new order first when the next n
        examples would run past the end of the current one (a new epoch)."""
        n = arguments.integer(n, "n", "Batches.next", 1)
        if n > self.num_examples:
            raise ValueError(f"Batches.next: a batch of n={n} examples from a data set of "
                             f"{self.num_examples}; n must be at most the number of examples")
        if self.order is None or self.position + n > self.num_examples:
            if self.order is not None:
                self.epoch += 1
            self.order = B.permutation(self.num_examples)
            self.position = 0
        index = self.order[self.position:self.position + n]
        self.position += n
        return index

    def __repr__(self) -> str:
        return (f"Batches(num_examples={self.num_examples}, epoch={self.epoch}, "
                f"position={self.position})")
