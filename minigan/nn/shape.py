"""Layers that only change the shape: Flatten (images -> vectors) and Reshape (vectors -> images).

Both are views in forward and in backward: dL/dx is dL/dy given back the input's shape.
"""
from __future__ import annotations

import math

from minigan.nn.module import Module


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...), e.g. (N, 128, 7, 7) -> (N, 6272)."""

    def __init__(self):
        super().__init__()
        self.input_shape = None      # cache for backward

    def forward(self, x):
        ndim = getattr(x, "ndim", 2)
        self._check_input(x, (None,) * max(ndim, 2))     # at least (N, features)
        self.input_shape = x.shape
        return self._output(x.reshape(x.shape[0], -1))

    def backward(self, dy):
        self._check_dy(dy)
        return dy.reshape(self.input_shape)

    def input_gradient(self, dy):
        """dy: (N, d1*d2*...) -> (N, d1, d2, ...); caches nothing but the shapes."""
        self._keep_dy(dy)
        return self._grad_input(dy.reshape(self.input_shape))

    def second_backward(self, grad_dx):
        """dx = dy reshaped: dP/d(dy) = grad_dx reshaped back to (N, d1*d2*...)."""
        self._check_grad_dx(grad_dx)
        return grad_dx.reshape(self._output_shape), None


class Reshape(Module):
    """(N, prod(shape)) -> (N, *shape), e.g. Reshape(128, 7, 7): (N, 6272) -> (N, 128, 7, 7)."""

    def __init__(self, *shape):
        super().__init__()
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])                      # Reshape((128, 7, 7)) works too
        if not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                for d in shape):
            raise ValueError(f"Reshape: shape must be positive ints, got {shape!r}")
        self.shape = tuple(shape)
        self.in_features = math.prod(self.shape)
        self.batch_size = None       # cache: set by forward

    def forward(self, x):
        self._check_input(x, (None, self.in_features))
        self.batch_size = x.shape[0]
        return self._output(x.reshape((x.shape[0],) + self.shape))

    def backward(self, dy):
        self._check_dy(dy)
        return dy.reshape(self.batch_size, self.in_features)

    def __repr__(self) -> str:
        return f"Reshape({self.in_features}->{self.shape})"

    def input_gradient(self, dy):
        """dy: (N, *shape) -> (N, prod(shape)); caches nothing but the shapes."""
        self._keep_dy(dy)
        return self._grad_input(dy.reshape(self.batch_size, self.in_features))

    def second_backward(self, grad_dx):
        """dx = dy reshaped: dP/d(dy) = grad_dx reshaped back to (N, *shape)."""
        self._check_grad_dx(grad_dx)
        return grad_dx.reshape(self._output_shape), None
