"""The fully connected (affine) layer.

    forward:   y = x W + b                  x: (N, in), W: (in, out), b: (out,) -> y: (N, out)
    backward:  dL/dx = dL/dy W^T            (N, out) @ (out, in) -> (N, in)
               dL/dW = x^T dL/dy            (in, N) @ (N, out)   -> (in, out)
               dL/db = sum_n dL/dy[n]       (out,)
"""
from __future__ import annotations

from minigan.nn.init import make_weight, zeros
from minigan.nn.module import Module, Parameter


class Dense(Module):
    """y = x @ W + b.   x: (N, in_features) -> y: (N, out_features)

    W: (in_features, out_features), initialised by ``init`` ('glorot', 'he' or 'dcgan');
    b: (out_features,), zeros; absent when ``bias=False``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "glorot"):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Dense: {name} must be a positive int, got {value!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"Dense: bias must be True or False, got {bias!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.W = Parameter(make_weight(init, (in_features, out_features),
                                       fan_in=in_features, fan_out=out_features))
        self.b = Parameter(zeros((out_features,))) if bias else None
        self.x = None                                   # cached input for backward

    def forward(self, x):
        """x: (N, in_features) -> (N, out_features)"""
        self._check_input(x, (None, self.in_features))
        self.x = x
        y = x @ self.W.data                             # (N, in) @ (in, out) -> (N, out)
        if self.b is not None:
            y += self.b.data
        return self._output(y)

    def backward(self, dy):
        """dy: (N, out_features) -> dL/dx: (N, in_features); adds into W.grad and b.grad."""
        self.parameter_backward(dy)
        return dy @ self.W.data.T                       # (N, out) @ (out, in) -> (N, in)

    def parameter_backward(self, dy):
        """backward(dy) without dL/dx: adds into W.grad and b.grad only; returns None."""
        self._check_dy(dy)
        self.W.grad += self.x.T @ dy                    # (in, N) @ (N, out) -> (in, out)
        if self.b is not None:
            self.b.grad += dy.sum(axis=0)               # (out,)

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dy: (N, out_features) -> dL/dx = dy W^T: (N, in_features); no parameter gradient.
        Caches dy for second_backward."""
        self._keep_dy(dy)
        return self._grad_input(dy @ self.W.data.T)     # (N, out) @ (out, in) -> (N, in)

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx): (N, in_features) -> (dP/d(dy): (N, out_features), None).

        dx[n, i] = sum_o dy[n, o] W[i, o] is linear in dy and in W, and depends on neither x nor
        b. With v = grad_dx:

            dP/d(dy)[n, o] = sum_i v[n, i] W[i, o]       v W      (N, in) @ (in, out)
            dP/dW[i, o]   += sum_n v[n, i] dy[n, o]      v^T dy   (in, N) @ (N, out)
            dP/db = 0,  dP/dx = 0 (through dx)
        """
        self._check_grad_dx(grad_dx)
        self.W.grad += grad_dx.T @ self.dy
        return grad_dx @ self.W.data, None

    def __repr__(self) -> str:
        return f"Dense({self.in_features}->{self.out_features})"
