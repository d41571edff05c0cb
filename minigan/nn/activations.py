"""Elementwise nonlinearities. Each maps x of any shape (N, ...) to y of the same shape.

    ReLU        y = max(x, 0)                    dy/dx = 1 if x > 0 else 0
    LeakyReLU   y = x if x > 0 else a x          dy/dx = 1 if x > 0 else a      (DCGAN: a = 0.2)
    Tanh        y = tanh(x)                      dy/dx = 1 - y^2
    Sigmoid     y = 1 / (1 + exp(-x))            dy/dx = y (1 - y)

At x = 0 ReLU and LeakyReLU use the left derivative (0 and a).
Elementwise NumPy runs on one thread and a masked ``where`` is slow (branchy), so the passes
below are plain arithmetic ufuncs with as few full-size temporaries as possible.
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan.nn import functional
from minigan.nn.module import Module


class _Elementwise(Module):
    """Shared input check of the elementwise layers."""

    def _check(self, x):
        # any shape with a batch axis: only the array type and float dtype are checked
        self._check_input(x, (None,) * max(getattr(x, "ndim", 1), 1))


class ReLU(_Elementwise):
    """y = max(x, 0).   x: (N, ...) -> y: (N, ...)"""

    def __init__(self):
        super().__init__()
        self.x = None

    def forward(self, x):
        self._check(x)
        self.x = x
        return self._output(B.xp.maximum(x, 0))

    def backward(self, dy):
        self._check_dy(dy)
        return dy * (self.x > 0)


class LeakyReLU(_Elementwise):
    """y = x if x > 0 else negative_slope * x.   x: (N, ...) -> y: (N, ...)"""

    def __init__(self, negative_slope: float = 0.2):
        super().__init__()
        self.negative_slope = arguments.real(negative_slope, "negative_slope", "LeakyReLU")
        self.x = None

    def _slope(self, x):
        """dy/dx: 1 where x > 0, else a, as an array of x's dtype."""
        a = self.negative_slope
        slope = (x > 0).astype(x.dtype)      # 1 or 0
        slope *= 1 - a                       # 1 - a or 0
        slope += a                           # 1 or a
        return slope

    def forward(self, x):
        self._check(x)
        self.x = x
        a = self.negative_slope
        if 0 <= a <= 1:                      # max(x, a x) is x for x > 0 and a x otherwise
            y = x * a
            B.xp.maximum(x, y, out=y)
            return self._output(y)
        y = self._slope(x)
        y *= x
        return self._output(y)

    def backward(self, dy):
        self._check_dy(dy)
        slope = self._slope(self.x)
        slope *= dy
        return slope

    def __repr__(self) -> str:
        return f"LeakyReLU({self.negative_slope:g})"


class Tanh(_Elementwise):
    """y = tanh(x).   x: (N, ...) -> y: (N, ...) in (-1, 1)"""

    def __init__(self):
        super().__init__()
        self.y = None

    def forward(self, x):
        self._check(x)
        self.y = B.xp.tanh(x)
        return self._output(self.y)

    def backward(self, dy):
        self._check_dy(dy)
        dx = self.y * self.y
        B.xp.subtract(1, dx, out=dx)         # 1 - y^2
        dx *= dy
        return dx


class Sigmoid(_Elementwise):
    """y = 1 / (1 + exp(-x)).   x: (N, ...) -> y: (N, ...) in (0, 1)

    Computed by ``minigan.nn.functional.sigmoid``: nothing overflows for any |x|, and small
    outputs keep full relative precision (sigmoid(-80) is 1.8e-35, not 0).
    """

    def __init__(self):
        super().__init__()
        self.y = None

    def forward(self, x):
        self._check(x)
        self.y = functional.sigmoid(x)
        return self._output(self.y)

    def backward(self, dy):
        self._check_dy(dy)
        dx = 1 - self.y
        dx *= self.y                         # y (1 - y)
        dx *= dy
        return dx
