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

    def input_gradient(self, dy):
        """dL/dx = dy * 1[x > 0] (no parameters); caches dy."""
        self._keep_dy(dy)
        return self._grad_input(dy * (self.x > 0))

    def second_backward(self, grad_dx):
        """dx = dy * 1[x > 0] is linear in dy and piecewise constant in x:
        dP/d(dy) = grad_dx * 1[x > 0];  dP/dx = 0 (away from x = 0, where it is undefined)."""
        self._check_grad_dx(grad_dx)
        return grad_dx * (self.x > 0), None


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

    def input_gradient(self, dy):
        """dL/dx = dy * s(x), s = 1 where x > 0 else a (no parameters); caches dy."""
        self._keep_dy(dy)
        return self._grad_input(self.backward(dy))

    def second_backward(self, grad_dx):
        """dx = dy * s(x) is linear in dy and piecewise constant in x:
        dP/d(dy) = grad_dx * s(x);  dP/dx = 0 (away from x = 0, where it is undefined)."""
        self._check_grad_dx(grad_dx)
        slope = self._slope(self.x)
        slope *= grad_dx
        return slope, None


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

    def input_gradient(self, dy):
        """dL/dx = dy (1 - y^2) (no parameters); caches dy."""
        self._keep_dy(dy)
        return self._grad_input(self.backward(dy))

    def second_backward(self, grad_dx):
        """dx = dy t'(x), t' = 1 - y^2, t'' = d(1 - tanh^2)/dx = -2 y (1 - y^2). With v = grad_dx:
        dP/d(dy) = v (1 - y^2);  dP/dx = v dy t''(x) = -2 v dy y (1 - y^2)."""
        self._check_grad_dx(grad_dx)
        slope = self.y * self.y
        B.xp.subtract(1, slope, out=slope)   # 1 - y^2
        grad_x = slope * self.y
        grad_x *= -2
        grad_x *= self.dy
        grad_x *= grad_dx
        slope *= grad_dx
        return slope, grad_x


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

    def input_gradient(self, dy):
        """dL/dx = dy y (1 - y) (no parameters); caches dy."""
        self._keep_dy(dy)
        return self._grad_input(self.backward(dy))

    def second_backward(self, grad_dx):
        """dx = dy s'(x), s' = y (1 - y), s'' = s' (1 - 2y). With v = grad_dx:
        dP/d(dy) = v y (1 - y);  dP/dx = v dy y (1 - y) (1 - 2 y)."""
        self._check_grad_dx(grad_dx)
        slope = 1 - self.y
        slope *= self.y                      # y (1 - y)
        grad_x = 1 - 2 * self.y
        grad_x *= slope
        grad_x *= self.dy
        grad_x *= grad_dx
        slope *= grad_dx
        return slope, grad_x
