"""Maxout (Goodfellow, Warde-Farley, Mirza, Courville & Bengio, 2013).

A maxout unit is the largest of ``pieces`` affine functions of its input:

    forward:   z[n, k, j] = sum_i x[n, i] W[i, k, j] + b[k, j]        k = 0 .. pieces-1
               y[n, j]    = max_k z[n, k, j]
    x: (N, in), W: (in, pieces, out), b: (pieces, out)  ->  y: (N, out)

It is a learnt, piecewise-linear convex activation: with two pieces and one of them fixed at 0
it is a ReLU. PacGAN's discriminators (Lin et al., 2018), following GAN (Goodfellow et al.,
2014), are stacks of maxout layers.

Backward. Only the winning piece, z[n, k, j] = y[n, j], receives the gradient; where several
pieces tie for the maximum (a set of measure zero) they share it equally, which is a valid
subgradient (a convex combination of the tied pieces' gradients):

    dL/dz[n, k, j] = dL/dy[n, j] * 1[z[n, k, j] = y[n, j]] / #{k' : z[n, k', j] = y[n, j]}
    dL/dW = x^T dL/dz          (in, N) @ (N, pieces * out)
    dL/db = sum_n dL/dz[n]     (pieces, out)
    dL/dx = dL/dz W^T          (N, pieces * out) @ (pieces * out, in)

Layout: the pieces axis comes before the units, so that z[:, k] is one contiguous (N, out)
slab per piece: the max over a middle axis of (N, pieces, out) and the winners' mask
``z == y`` are a few fast array passes (an argmax along a short axis is several times slower).
"""
from __future__ import annotations

from minigan import backend as B
from minigan.nn.init import make_weight, zeros
from minigan.nn.module import Module, Parameter


class Maxout(Module):
    """y = max over ``pieces`` of (x @ W + b).   x: (N, in_features) -> y: (N, out_features)

    W: (in_features, pieces, out_features), initialised by ``init`` ('glorot', 'he' or 'dcgan')
    with the fans of one piece; b: (pieces, out_features), zeros.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 5,
                 init: str = "glorot"):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Maxout: {name} must be a positive int, got {value!r}")
        if not isinstance(pieces, int) or isinstance(pieces, bool) or pieces < 2:
            raise ValueError(f"Maxout: pieces must be an int >= 2 (one piece is a Dense "
                             f"layer), got {pieces!r}")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.W = Parameter(make_weight(init, (in_features, pieces, out_features),
                                       fan_in=in_features, fan_out=out_features))
        self.b = Parameter(zeros((pieces, out_features)))
        self.x = None            # (N, in) cached input
        self.winner = None       # (N, pieces, out) bool: z == y, the winning pieces

    def forward(self, x):
        """x: (N, in_features) -> (N, out_features)"""
        self._check_input(x, (None, self.in_features))
        n = x.shape[0]
        z = x @ self.W.data.reshape(self.in_features, -1)          # (N, pieces * out)
        z = z.reshape(n, self.pieces, self.out_features)            # (N, pieces, out)
        z += self.b.data
        y = z.max(axis=1)                                           # (N, out)
        self.x, self.winner = x, z == y[:, None, :]                 # (N, pieces, out) bool
        return self._output(y)

    def backward(self, dy):
        """dy: (N, out_features) -> dL/dx: (N, in_features); adds into W.grad and b.grad."""
        dz = self._add_parameter_grads(dy)                           # (N, pieces * out)
        W = self.W.data.reshape(self.in_features, -1)                # (in, pieces * out)
        return dz @ W.T                                              # (N, in)

    def parameter_backward(self, dy):
        """backward(dy) without dL/dx: adds into W.grad and b.grad only; returns None."""
        self._add_parameter_grads(dy)

    def _add_parameter_grads(self, dy):
        """Add dL/dW and dL/db into .grad; returns dL/dz (N, pieces * out_features)."""
        self._check_dy(dy)
        n = dy.shape[0]
        dz = self.winner * dy[:, None, :]                            # (N, pieces, out)
        dz /= self.winner.sum(axis=1, keepdims=True, dtype=dz.dtype)  # 1 but where pieces tie
        self.b.grad += dz.sum(axis=0)
        dz = dz.reshape(n, -1)                                       # (N, pieces * out)
        self.W.grad += (self.x.T @ dz).reshape(self.W.data.shape)
        return dz

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dy: (N, out_features) -> dL/dx: (N, in_features); no parameter gradient. Caches dy and
        dL/dz = winner * dy / #winners (N, pieces, out_features)."""
        self._keep_dy(dy)
        dz = self.winner * dy[:, None, :]                            # (N, pieces, out)
        dz /= self.winner.sum(axis=1, keepdims=True, dtype=dz.dtype)
        self.dz = dz
        W = self.W.data.reshape(self.in_features, -1)                # (in, pieces * out)
        return self._grad_input(dz.reshape(dy.shape[0], -1) @ W.T)   # (N, in)

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx): (N, in_features) -> (dP/d(dy): (N, out_features), None).

        Between ties the winners are constant, so dx = dz W^T with dz = c * dy (c = winner /
        #winners, fixed) is linear in dy and in W and independent of x and b. With v = grad_dx:

            dP/dz      = v W                     (N, in) @ (in, pieces * out)
            dP/d(dy)   = sum_k c[:, k] dP/dz[:, k]                     (N, out)
            dP/dW     += v^T dz                  (in, N) @ (N, pieces * out)
            dP/db = 0,  dP/dx = 0 (through dx)
        """
        self._check_grad_dx(grad_dx)
        n = grad_dx.shape[0]
        W = self.W.data.reshape(self.in_features, -1)                # (in, pieces * out)
        self.W.grad += (grad_dx.T @ self.dz.reshape(n, -1)).reshape(self.W.data.shape)
        grad_dz = (grad_dx @ W).reshape(n, self.pieces, self.out_features)
        grad_dz *= self.winner
        grad_dz /= self.winner.sum(axis=1, keepdims=True, dtype=grad_dz.dtype)
        return grad_dz.sum(axis=1), None

    def __repr__(self) -> str:
        return f"Maxout({self.in_features}->{self.out_features}, pieces={self.pieces})"
