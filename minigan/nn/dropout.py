"""Inverted dropout (Srivastava et al., 2014).

Training:  y = x * mask / (1 - p),  mask_i ~ Bernoulli(1 - p)      so E[y] = x
Eval:      y = x                                                   (nothing to rescale)
Backward:  dL/dx = dL/dy * mask / (1 - p)    (the same mask; identity in eval)

The mask is drawn from minigan's generator (``B.rand``), so ``B.seed`` makes it reproducible.
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan.nn.module import Module


class Dropout(Module):
    """Zero each element with probability p, scale the rest by 1/(1-p).   x: (N, ...) -> (N, ...)"""

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = arguments.real(p, "p", "Dropout", 0, 1, high_open=True)
        self.identity = None        # cache: True if the last forward passed x through unchanged
        self.scaled_mask = None     # cache: mask / (1 - p), shaped like x

    def forward(self, x):
        self._check_input(x, (None,) * max(getattr(x, "ndim", 1), 1))
        self.identity = not self.training or self.p == 0.0
        if self.identity:
            self.scaled_mask = None
            return self._output(x)
        mask = B.rand(*x.shape, dtype=x.dtype)          # U[0, 1)
        B.xp.greater_equal(mask, self.p, out=mask)      # 1 with probability 1 - p, else 0
        mask *= 1.0 / (1.0 - self.p)
        self.scaled_mask = mask
        return self._output(x * mask)

    def backward(self, dy):
        self._check_dy(dy)
        if self.identity:
            return dy
        return dy * self.scaled_mask

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dL/dx = dy * mask / (1 - p) with the forward's mask (identity in eval); caches dy."""
        self._keep_dy(dy)
        return self._grad_input(self.backward(dy))

    def second_backward(self, grad_dx):
        """The mask is fixed by the forward, so dx = dy * mask / (1 - p) is linear in dy alone:
        dP/d(dy) = grad_dx * mask / (1 - p);  dP/dx = 0."""
        self._check_grad_dx(grad_dx)
        return (grad_dx if self.identity else grad_dx * self.scaled_mask), None

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"
