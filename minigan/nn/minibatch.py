"""Minibatch standard deviation (Karras et al., 2018, ProGAN; simplified to one group).

A remedy for mode collapse: give the discriminator one extra feature that measures how varied
the batch is. A collapsed generator produces near-identical samples, so its batches have a
small spread that real batches do not, and the discriminator can tell them apart.

For x: (N, F) with features f = 1..F,

    mu_f  = 1/N sum_n x[n, f]
    s_f   = sqrt( 1/N sum_n (x[n, f] - mu_f)^2 + eps )      std over the batch, per feature
    m     = 1/F sum_f s_f                                   one scalar for the batch
    y     = [x, m]   : (N, F + 1)                           m appended to every row

For x: (N, C, H, W) the same with F = C*H*W, and m appended as one extra channel: (N, C+1, H, W).

Backward. With g = sum of the upstream gradient over the appended feature (over n, and over h, w
for images), only m depends on every input, through s_f:

    d s_f / d x[n, f] = (x[n, f] - mu_f) / (N s_f)          (the mu_f term sums to zero)
    dL/dx[n, f] = dL/dy[n, f] + g * (x[n, f] - mu_f) / (N F s_f)
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan.nn.module import Module


class MinibatchStdDev(Module):
    """Append the batch's mean standard deviation as a feature (N, F) or channel (N, C, H, W).

    x: (N, F) -> (N, F + 1);  x: (N, C, H, W) -> (N, C + 1, H, W).  Needs N >= 2.
    No parameters. ``eps`` is added to the variance inside the square root, which keeps the
    derivative finite when a feature is constant over the batch.
    """

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = arguments.real(eps, "eps", "MinibatchStdDev", 0, low_open=True)
        self.centred = None        # (N, ...) x - mu, cached for backward
        self.std = None            # (1, ...) s_f

    def forward(self, x):
        """x: (N, F) or (N, C, H, W) -> (N, F + 1) or (N, C + 1, H, W)."""
        self._check_input(x, (None,) * max(getattr(x, "ndim", 2), 1))   # array, dtype, empty
        if x.ndim not in (2, 4):
            raise ValueError(f"{self!r} expects input of shape (N, F) or (N, C, H, W), "
                             f"got {tuple(x.shape)}")
        if x.shape[0] < 2:
            raise ValueError(f"{self!r} needs a batch of at least 2 samples to measure their "
                             f"spread, got input shape {tuple(x.shape)}")
        self.centred = x - x.mean(axis=0, keepdims=True)                       # (N, ...)
        variance = (self.centred * self.centred).mean(axis=0, keepdims=True)   # (1, ...)
        variance += self.eps
        self.std = B.xp.sqrt(variance)                                         # (1, ...)
        mean_std = self.std.mean()                                             # 0-d, m
        n = x.shape[0]
        extra_shape = (n, 1) + tuple(x.shape[2:])                              # (N, 1[, H, W])
        return self._output(B.xp.concatenate([x, B.xp.broadcast_to(mean_std, extra_shape)],
                                             axis=1))

    def backward(self, dy):
        """dy: (N, F + 1) or (N, C + 1, H, W) -> dL/dx: (N, F) or (N, C, H, W)."""
        self._check_dy(dy)
        n = self.centred.shape[0]
        num_features = self.centred[0].size                                    # F or C*H*W
        g = dy[:, -1].sum()                                                    # 0-d
        dx = self.centred / self.std                                           # (N, ...)
        dx *= g / (n * num_features)
        dx += dy[:, :-1]
        return dx

    def __repr__(self) -> str:
        return "MinibatchStdDev()"
