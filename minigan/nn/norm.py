"""Batch normalisation (Ioffe & Szegedy, 2015), with PyTorch's semantics.

For each feature (BatchNorm1d) or channel (BatchNorm2d) c, over the m values x_i of that feature
in the batch (m = N for (N, F) inputs, m = N*H*W for (N, C, H, W) inputs):

    mu = (1/m) sum_i x_i            var = (1/m) sum_i (x_i - mu)^2        (biased)
    xhat_i = (x_i - mu) / sqrt(var + eps)
    y_i = gamma * xhat_i + beta                         gamma = `weight`, beta = `bias`

Training mode normalises with the batch statistics and updates the running estimates

    running_mean <- (1 - momentum) running_mean + momentum mu
    running_var  <- (1 - momentum) running_var  + momentum var * m / (m - 1)   (unbiased)

Eval mode normalises with running_mean and running_var instead (y is then affine in x).

A batch holding NaN or Inf in training mode makes the running statistics NaN too, and every
later eval-mode output with them. The layer does not check for it (a check per layer and batch
would read a value back from a GPU on every forward); ``GAN.step`` catches the NaN in D's output
and restores both players' running statistics with the rest of the iteration, and a load refuses
a NaN or negative running variance.

Backward in training mode. With g_i = dL/dy_i:  dL/dbeta = sum_i g_i,  dL/dgamma = sum_i g_i xhat_i.
mu and var depend on every x_i; differentiating through them (using sum_i xhat_i = 0 and
sum_i xhat_i^2 = m) leaves

    dL/dx_i = gamma / sqrt(var + eps) * (g_i - dL/dbeta / m - xhat_i * dL/dgamma / m)

In eval mode mu and var are constants:  dL/dx_i = gamma / sqrt(var + eps) * g_i.

Both layers view their input as a 3-D array with the per-channel statistics over two axes: (N, C, L)
-- L = H*W, the (N, C, H, W) layout -- or (N, L, C) when the input is channels-last memory (as
minigan's convolutions return it; a (N, F) input is (N, 1, F)), so neither layout is copied
and the output keeps the input's layout. Per-channel sums run as a float32 matrix-vector
product over the L axis followed by a float64 sum over N: float64 accumulation where the rows
are many, and no transposes (measured ~1.7x faster than ``x.mean(axis=(0, 2, 3),
dtype=float64)`` for a forward + backward at DCGAN sizes, with the same float32 accuracy).
The cache is the centred input x - mu and 1 / sqrt(var + eps): xhat is never stored, and the
passes over the data are few (forward: a sum, the centring, a sum of squares, the scale and
shift; backward: two sums and four passes for dL/dx).
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan.nn.init import ones, zeros
from minigan.nn.module import Module, Parameter


def _view(a, channels_last: bool):
    """a: (N, C, *spatial) -> (N, L, C) if channels_last else (N, C, L); a copy only when a's
    memory is not in that layout."""
    n, c = a.shape[:2]
    if channels_last:
        return B.xp.ascontiguousarray(B.xp.moveaxis(a, 1, -1)).reshape(n, -1, c)
    return B.xp.ascontiguousarray(a).reshape(n, c, -1)


def _is_channels_last(a) -> bool:
    """True when the channel axis of a: (N, C, *spatial) is its innermost one in memory
    (channels-last memory, also cropped; every contiguous (N, F) array)."""
    return a.strides[1] == a.itemsize and a.shape[1] > 1


def _channel_sum(a, channels_last: bool):
    """a: (N, C, L) or (N, L, C) -> (C,) float64: sum over N and L."""
    if channels_last:
        n, length, c = a.shape
        partial = B.xp.ones((length,), dtype=a.dtype) @ a       # (N, C) float32 sums over L
    else:
        n, c, length = a.shape
        partial = (a.reshape(n * c, length) @ B.xp.ones((length,), dtype=a.dtype)).reshape(n, c)
    return partial.sum(axis=0, dtype=B.xp.float64)


def _channel_dot(a, b, channels_last: bool):
    """a, b: (N, C, L) or (N, L, C) -> (C,) float64: sum over N and L of a * b (no temporary)."""
    pattern = "nlc,nlc->nc" if channels_last else "ncl,ncl->nc"
    return B.xp.einsum(pattern, a, b).sum(axis=0, dtype=B.xp.float64)


class _BatchNorm(Module):
    """Shared implementation; subclasses give the input pattern. Parameters and buffers: (C,)."""

    _buffers = ("running_mean", "running_var")
    _nonnegative_buffers = ("running_var",)

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        if not isinstance(num_features, int) or isinstance(num_features, bool) or num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, "
                             f"got {num_features!r}")
        momentum = arguments.real(momentum, "momentum", type(self).__name__, 0, 1)
        eps = arguments.real(eps, "eps", type(self).__name__, 0, low_open=True)
        self.num_features = num_features
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.weight = Parameter(ones((num_features,)))           # gamma
        self.bias = Parameter(zeros((num_features,)))            # beta
        self.running_mean = zeros((num_features,))
        self.running_var = ones((num_features,))
        self.centred = None             # cache: x - mu, (N, C, L) or (N, L, C)
        self.channels_last = None       # cache: which of the two
        self.inv_std = None             # cache: 1 / sqrt(var + eps), (C,) float64
        self.used_batch_stats = None    # cache: was forward in training mode?

    spatial_dims = 0                    # 0 for (N, C), 2 for (N, C, H, W)

    def _pattern(self) -> tuple:
        """The expected input shape: (N, C) or (N, C, H, W)."""
        return (None, self.num_features) + (None,) * self.spatial_dims

    def forward(self, x):
        """x: (N, C) or (N, C, H, W) -> y of the same shape (and memory layout)."""
        self._check_input(x, self._pattern())
        channels_last = _is_channels_last(x)
        x3 = _view(x, channels_last)                             # (N, L, C) or (N, C, L)
        count = x3.size // self.num_features                     # values per channel, m
        dt = x.dtype

        def per_channel(v):             # (C,) -> broadcastable against x3, in x's dtype
            v = v.astype(dt, copy=False)
            return v if channels_last else v[:, None]

        if self.training:
            if count == 1:
                raise ValueError(f"{self!r} needs more than one value per channel in training "
                                 f"mode, got input of shape {tuple(x.shape)} (the variance of one "
                                 f"value is undefined); use a batch of 2 or more, or call .eval()")
            mean = _channel_sum(x3, channels_last) / count       # (C,) float64
            centred = x3 - per_channel(mean)
            var = _channel_dot(centred, centred, channels_last) / count   # (C,) float64, biased
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + (m * count / (count - 1)) * var
        else:
            var = self.running_var.astype(B.xp.float64)
            centred = x3 - per_channel(self.running_mean)
        inv_std = 1.0 / B.xp.sqrt(var + self.eps)                # (C,) float64
        # a channel whose squares overflow float32 (|x| > ~1e19) has var = inf: NaN, not zeros,
        # comes out, so the loss checks stop training instead of it going on silently
        inv_std = B.xp.where(var < B.xp.inf, inv_std, B.xp.nan)
        y = centred * per_channel(self.weight.data * inv_std)   # gamma * xhat
        y += per_channel(self.bias.data)
        self.centred, self.channels_last = centred, channels_last
        self.inv_std, self.used_batch_stats = inv_std, self.training
        return self._output(self._unview(y, x.shape))

    def _unview(self, a3, shape):
        """(N, L, C) or (N, C, L) -> (N, C, *spatial), the inverse of _view (a view)."""
        if self.channels_last:
            return B.xp.moveaxis(a3.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)
        return a3.reshape(shape)

    def backward(self, dy):
        """dy: shaped like the input -> dL/dx; adds into weight.grad and bias.grad."""
        self._check_dy(dy)
        centred, channels_last, inv_std = self.centred, self.channels_last, self.inv_std
        dt = centred.dtype
        dy3 = _view(dy, channels_last)

        def per_channel(v):
            v = v.astype(dt)
            return v if channels_last else v[:, None]

        dgamma = _channel_dot(dy3, centred, channels_last) * inv_std   # sum g xhat, (C,) f64
        dbeta = _channel_sum(dy3, channels_last)                 # (C,) float64
        self.weight.grad += dgamma.astype(self.weight.grad.dtype)
        self.bias.grad += dbeta.astype(self.bias.grad.dtype)
        scale = self.weight.data * inv_std                       # gamma / sqrt(var + eps)
        if not self.used_batch_stats:
            return self._unview(dy3 * per_channel(scale), dy.shape)
        count = centred.size // self.num_features
        # dx = scale * (g - dbeta / m - xhat * dgamma / m),  xhat = centred * inv_std
        dx = centred * per_channel(inv_std * dgamma / count)
        dx += per_channel(dbeta / count)
        B.xp.subtract(dy3, dx, out=dx)
        dx *= per_channel(scale)
        return self._unview(dx, dy.shape)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def second_order_refusal(self):
        """Why a gradient penalty refuses a discriminator with batch normalisation."""
        return (f"{self!r} in a penalised discriminator: batch normalisation makes each sample's "
                f"output depend on the whole batch, so grad_x D(x_i) is no longer the gradient "
                f"of one sample's score and the per-sample penalty penalises the wrong function "
                f"(Gulrajani et al., 2017, section 4, advise against it in a WGAN-GP critic); "
                f"build D without it (e.g. dcgan_discriminator(batchnorm=False)) or normalise "
                f"its layers with SpectralNorm instead")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over features.   x: (N, num_features) -> y: (N, num_features)"""

    spatial_dims = 0


class BatchNorm2d(_BatchNorm):
    """Batch normalisation per channel, statistics over N, H, W.   x: (N, C, H, W) -> same shape"""

    spatial_dims = 2
