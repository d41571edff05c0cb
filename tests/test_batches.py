"""minigan.data.batches: one shuffled pass over the data per epoch, the incomplete last batch
dropped, the same draws as the loop it replaced (so a seeded run is unchanged)."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.data.batches import Batches


def reference_indices(num_examples, n, count):
    """The batching GAN.real_batch_with_labels did inline before Batches: ``count`` batches."""
    order, position, epoch, out = None, 0, 0, []
    for _ in range(count):
        if order is None or position + n > num_examples:
            if order is not None:
                epoch += 1
            order, position = B.permutation(num_examples), 0
        out.append(B.to_numpy(order[position:position + n]))
        position += n
    return out, epoch


def test_same_draws_as_the_inline_loop():
    B.seed(3)
    expected, epoch = reference_indices(10, 3, 11)
    B.seed(3)
    batches = Batches(10)
    for want in expected:
        np.testing.assert_array_equal(B.to_numpy(batches.next(3)), want)
    assert batches.epoch == epoch == 3


def test_each_epoch_visits_every_example_once_and_drops_the_rest():
    batches = Batches(10)
    first = np.concatenate([B.to_numpy(batches.next(4)) for _ in range(2)])
    assert len(set(first.tolist())) == 8 and batches.epoch == 0 and batches.position == 8
    second = np.concatenate([B.to_numpy(batches.next(4)) for _ in range(2)])
    assert len(set(second.tolist())) == 8 and batches.epoch == 1
    assert sorted(B.to_numpy(batches.order).tolist()) == list(range(10))


def test_a_whole_data_set_batch_and_state_set_back():
    batches = Batches(5)
    assert sorted(B.to_numpy(batches.next(5)).tolist()) == list(range(5))
    saved = (batches.order.copy(), batches.position, batches.epoch)
    rng = B.get_rng_state()
    after = B.to_numpy(batches.next(2))                          # a new epoch: a new order
    batches.order, batches.position, batches.epoch = saved      # as a checkpoint restores it
    B.set_rng_state(rng)
    np.testing.assert_array_equal(B.to_numpy(batches.next(2)), after)


def test_bad_arguments_name_the_culprit():
    with pytest.raises(ValueError, match="Batches: num_examples must be an int >= 0"):
        Batches(-1)
    with pytest.raises(TypeError, match="Batches: num_examples must be an int"):
        Batches(2.5)
    with pytest.raises(ValueError, match=r"Batches.next: a batch of n=4 examples from a data "
                                         r"set of 3"):
        Batches(3).next(4)
    with pytest.raises(ValueError, match="Batches.next: n must be an int >= 1"):
        Batches(3).next(0)


def test_on_a_device_backend(fake):
    batches = Batches(6)
    index = batches.next(4)
    assert isinstance(index, fake.ndarray) and index.shape == (4,)
