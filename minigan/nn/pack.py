"""Packing (Lin, Khetan, Fanti & Oh, 2018, PacGAN): the discriminator judges m samples at once.

    forward:   y[p] = [x[p m], x[p m + 1], ..., x[p m + m - 1]]     x: (N, F) -> y: (N / m, m F)
    backward:  dL/dx = dL/dy reshaped to (N, F)

Consecutive rows are concatenated, so a batch of N real (or N generated) samples becomes N / m
packed examples, each all-real or all-generated. The discriminator then sees a sample of the
product distribution P^m instead of P: two distributions whose difference is small in total
variation (a generator that misses a mode of small mass) differ by more after packing, and a
collapsed generator's packs hold near-copies, which real packs rarely do. Put ``Pack(m)`` first
in D; its first layer then takes m F inputs.
"""
from __future__ import annotations

from minigan.nn.module import Module


class Pack(Module):
    """Concatenate each run of m consecutive samples.   x: (N, F) -> (N / m, m F); N % m == 0."""

    def __init__(self, m: int):
        super().__init__()
        if not isinstance(m, int) or isinstance(m, bool) or m < 1:
            raise ValueError(f"Pack: m must be a positive int, got {m!r}")
        self.m = m
        self.input_shape = None

    def forward(self, x):
        """x: (N, F) -> (N / m, m F)"""
        self._check_input(x, (None, None))
        if x.shape[0] % self.m:
            raise ValueError(f"{self!r} needs a batch size divisible by {self.m}, got input "
                             f"shape {tuple(x.shape)}")
        self.input_shape = tuple(x.shape)
        return self._output(x.reshape(x.shape[0] // self.m, self.m * x.shape[1]))

    def backward(self, dy):
        """dy: (N / m, m F) -> (N, F)"""
        self._check_dy(dy)
        n, f = self.input_shape
        return dy.reshape(n, f)

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dy: (N / m, m F) -> (N, F), a reshape; caches nothing but the shapes."""
        self._keep_dy(dy)
        return self._grad_input(self.backward(dy))

    def second_backward(self, grad_dx):
        """dx = dy reshaped: dP/d(dy) = grad_dx reshaped to (N / m, m F); nothing depends on x."""
        self._check_grad_dx(grad_dx)
        return grad_dx.reshape(self._output_shape), None

    def __repr__(self) -> str:
        return f"Pack(m={self.m})"
