"""Inverted dropout (Srivastava et al., 2014).

Training:  y = x * mask / (1 - p),  mask_i ~ Bernoulli(1 - p)      so E[y] = x
Eval:      y = x                                                   (nothing to rescale)
Backward:  dL/dx = dL/dy * mask / (1 - p)    (the same mask; identity in eval)

The mask is drawn from minigan's generator, so ``B.seed`` makes it reproducible. On the host it
comes from raw 32-bit integers compared with the threshold round(p * 2^32) -- half the cost of
drawing floats (``B.rand``, which the device uses), and p is then exact to 2^-32 instead of the
2^-24 of float32 draws. It is kept as a boolean array, a quarter of the memory of a float mask.
"""
from __future__ import annotations

import math

from minigan import arguments
from minigan import backend as B
from minigan.nn.module import Module


def keep_mask(shape, p: float):
    """A boolean array of ``shape``, each element True with probability 1 - p (independently)."""
    if not B.on_host():
        return B.rand(*shape) >= p
    n = math.prod(shape)
    words = B.rng().bit_generator.random_raw((n + 1) // 2)            # (n/2,) uint64
    bits = words.view(B.np.uint32)[:n].reshape(shape)                 # uniform in [0, 2^32)
    return bits >= B.np.uint32(min(round(p * 2.0 ** 32), 2 ** 32 - 1))


class Dropout(Module):
    """Zero each element with probability p, scale the rest by 1/(1-p).   x: (N, ...) -> (N, ...)"""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = arguments.real(p, "p", "Dropout", 0, 1, high_open=True)
        self.identity = None        # cache: True if the last forward passed x through unchanged
        self.keep = None            # cache: the mask, bool, shaped like x

    def forward(self, x):
        self._check_input(x, (None,) * max(getattr(x, "ndim", 1), 1))
        self.identity = not self.training or self.p == 0.0
        if self.identity:
            self.keep = None
            return self._output(x)
        self.keep = keep_mask(x.shape, self.p)
        y = x * (1.0 / (1.0 - self.p))
        y *= self.keep
        return self._output(y)

    def backward(self, dy):
        self._check_dy(dy)
        if self.identity:
            return dy
        dx = dy * (1.0 / (1.0 - self.p))
        dx *= self.keep
        return dx

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dL/dx = dy * mask / (1 - p) with the forward's mask (identity in eval); caches dy."""
        self._keep_dy(dy)
        return self._grad_input(self.backward(dy))

    def second_backward(self, grad_dx):
        """The mask is fixed by the forward, so dx = dy * mask / (1 - p) is linear in dy alone:
        dP/d(dy) = grad_dx * mask / (1 - p);  dP/dx = 0."""
        self._check_grad_dx(grad_dx)
        return (grad_dx if self.identity else self.backward(grad_dx)), None

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"
