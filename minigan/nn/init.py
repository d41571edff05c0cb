"""Weight initialisers, drawn from minigan's one generator (``B.randn`` / ``B.rand``).

Every function returns an array of the active backend in the active float dtype ``B.dtype()``.

    normal(shape, std=0.02, mean=0.0)   N(mean, std^2); DCGAN (Radford et al., 2015): N(0, 0.02^2)
    glorot_uniform(shape, fan_in, fan_out)
        U(-a, a), a = sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio, 2010): keeps the variance
        of activations and gradients roughly constant through tanh-like units
    he_normal(shape, fan_in)            N(0, 2 / fan_in)  (He et al., 2015): the same for ReLU units
    zeros(shape), ones(shape)

Layers pick one by name: ``make_weight("glorot" | "he" | "dcgan", shape, fan_in, fan_out)``.
For a Dense layer fan_in = in_features and fan_out = out_features; for a convolution they are
in_channels * kh * kw and out_channels * kh * kw.

``dcgan_init(model)`` re-initialises a whole model the DCGAN way: every layer weight ``W`` from
N(0, 0.02), every layer bias ``b`` 0, every BatchNorm scale from N(1, 0.02) and shift 0.
"""
from __future__ import annotations

import math

from minigan import backend as B

INIT_NAMES = ("glorot", "he", "dcgan")
DCGAN_STD = 0.02


def _shape(shape) -> tuple:
    return (shape,) if isinstance(shape, int) else tuple(shape)


def normal(shape, std: float = DCGAN_STD, mean: float = 0.0):
    """Samples of N(mean, std^2) of ``shape``."""
    w = B.randn(*_shape(shape))
    w *= std
    if mean:
        w += mean
    return w


def glorot_uniform(shape, fan_in: int, fan_out: int):
    """Samples of U(-a, a), a = sqrt(6 / (fan_in + fan_out)), of ``shape``."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    w = B.rand(*_shape(shape))        # U[0, 1)
    w *= 2 * limit
    w -= limit                        # U[-a, a)
    return w


def he_normal(shape, fan_in: int):
    """Samples of N(0, 2 / fan_in) of ``shape``."""
    return normal(shape, std=math.sqrt(2.0 / fan_in))


def zeros(shape):
    return B.xp.zeros(_shape(shape), dtype=B.dtype())


def ones(shape):
    return B.xp.ones(_shape(shape), dtype=B.dtype())


def make_weight(init_name: str, shape, fan_in: int, fan_out: int):
    """A weight array of ``shape`` initialised by name: 'glorot', 'he' or 'dcgan'."""
    if init_name == "glorot":
        return glorot_uniform(shape, fan_in, fan_out)
    if init_name == "he":
        return he_normal(shape, fan_in)
    if init_name == "dcgan":
        return normal(shape, std=DCGAN_STD)
    raise ValueError(f"unknown init {init_name!r}: expected one of "
                     f"{', '.join(repr(n) for n in INIT_NAMES)}")


def dcgan_init(model):
    """Re-initialise ``model`` in place as DCGAN does; returns ``model``.

    A layer with a weight Parameter ``W`` (Dense, Conv2d, ConvTranspose2d): W ~ N(0, 0.02), b = 0.
    A layer with running statistics (BatchNorm1d, BatchNorm2d): weight ~ N(1, 0.02), bias = 0.
    Arrays are overwritten in place, so optimizers holding the Parameters keep working.
    """
    from minigan.nn.module import Parameter   # at call time: module.py never imports this file

    def walk(module):
        yield module
        for _, child in module.children():
            yield from walk(child)

    for layer in walk(model):
        weight = getattr(layer, "W", None)
        bias = getattr(layer, "b", None)
        if isinstance(weight, Parameter):
            weight.data[...] = normal(weight.shape, std=DCGAN_STD)
            if isinstance(bias, Parameter):
                bias.data[...] = 0
        elif "running_mean" in getattr(layer, "_buffers", ()):
            layer.weight.data[...] = normal(layer.weight.shape, std=DCGAN_STD, mean=1.0)
            layer.bias.data[...] = 0
    return model
