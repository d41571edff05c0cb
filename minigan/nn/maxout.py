"""Maxout (Goodfellow, Warde-Farley, Mirza, Courville & Bengio, 2013).

A maxout unit is the largest of ``pieces`` affine functions of its input:

    forward:   z[n, j, k] = sum_i x[n, i] W[i, j, k] + b[j, k]        k = 0 .. pieces-1
               y[n, j]    = max_k z[n, j, k]
    x: (N, in), W: (in, out, pieces), b: (out, pieces)  ->  y: (N, out)

It is a learnt, piecewise-linear convex activation: with two pieces and one of them fixed at 0
it is a ReLU. PacGAN's discriminators (Lin et al., 2018), following GAN (Goodfellow et al.,
2014), are stacks of maxout layers.

Backward. Only the winning piece k*(n, j) = argmax_k z[n, j, k] receives the gradient
(ties, of measure zero, go to the first maximum):

    dL/dz[n, j, k] = dL/dy[n, j] * 1[k = k*(n, j)]
    dL/dW = x^T dL/dz          (in, N) @ (N, out * pieces)
    dL/db = sum_n dL/dz[n]     (out, pieces)
    dL/dx = dL/dz W^T          (N, out * pieces) @ (out * pieces, in)
"""
from __future__ import annotations

from minigan import backend as B
from minigan.nn.init import make_weight, zeros
from minigan.nn.module import Module, Parameter


class Maxout(Module):
    """y = max over ``pieces`` of (x @ W + b).   x: (N, in_features) -> y: (N, out_features)

    W: (in_features, out_features, pieces), initialised by ``init`` ('glorot', 'he' or 'dcgan')
    with the fans of one piece; b: (out_features, pieces), zeros.
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
        self.W = Parameter(make_weight(init, (in_features, out_features, pieces),
                                       fan_in=in_features, fan_out=out_features))
        self.b = Parameter(zeros((out_features, pieces)))
        self.x = None            # (N, in) cached input
        self.winner = None       # (N * out,) flat index of the largest piece in z

    def forward(self, x):
        """x: (N, in_features) -> (N, out_features)"""
        self._check_input(x, (None, self.in_features))
        n = x.shape[0]
        z = x @ self.W.data.reshape(self.in_features, -1)          # (N, out * pieces)
        z = z.reshape(n, self.out_features, self.pieces)            # (N, out, pieces)
        z += self.b.data
        self.x = x
        # flat position of each unit's winning piece in z: (n * out + j) * pieces + k*
        self.winner = z.argmax(axis=2).ravel()                      # (N * out,) k*
        self.winner += B.xp.arange(0, z.size, self.pieces)
        return z.reshape(-1)[self.winner].reshape(n, self.out_features)

    def backward(self, dy):
        """dy: (N, out_features) -> dL/dx: (N, in_features); adds into W.grad and b.grad."""
        self._need_forward("x")
        expected = (self.x.shape[0], self.out_features)
        if tuple(dy.shape) != expected:
            raise ValueError(f"{self!r}.backward expects dy of shape {expected} (its forward's "
                             f"output), got {tuple(dy.shape)}")
        n = dy.shape[0]
        dz = B.xp.zeros(n * self.out_features * self.pieces, dtype=dy.dtype)
        dz[self.winner] = dy.ravel()                                 # only the winners
        dz = dz.reshape(n, -1)                                       # (N, out * pieces)
        self.b.grad += dz.sum(axis=0).reshape(self.b.data.shape)     # (out, pieces)
        W = self.W.data.reshape(self.in_features, -1)                # (in, out * pieces)
        self.W.grad += (self.x.T @ dz).reshape(self.W.data.shape)
        return dz @ W.T                                              # (N, in)

    def __repr__(self) -> str:
        return f"Maxout({self.in_features}->{self.out_features}, pieces={self.pieces})"
