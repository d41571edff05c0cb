"""The logistic function and its logs, written once, stable for any input.

    sigmoid(x)       1 / (1 + exp(-x))      = exp(min(x, 0)) / (1 + exp(-|x|))
    log_sigmoid(x)   log sigmoid(x)         = min(x, 0) - log(1 + exp(-|x|));  log(1 - sigmoid(x))
                                              = log_sigmoid(-x)
    softplus(x)      log(1 + exp(x))        = max(x, 0) + log(1 + exp(-|x|)) = -log_sigmoid(-x)

Every exponent is <= 0, so nothing overflows for any finite x, and small results keep their full
relative precision (sigmoid(-80) is 1.8e-35, not 0; log_sigmoid(-80) is -80, not log 0). The
Sigmoid layer, the GAN losses, the Dirac-GAN's closed form and the chapters all use these.

x: an array of any shape (or a number) -> the same shape, in x's dtype. ``xp``: the array module
(default: minigan's active backend; ``B.np`` for host arrays while CuPy is active).
"""
from __future__ import annotations

from minigan import backend as B


def sigmoid(x, xp=None):
    """1 / (1 + exp(-x)) as exp(min(x, 0)) / (1 + exp(-|x|)): both exponents are <= 0."""
    xp = B.xp if xp is None else xp
    y = xp.minimum(x, 0)
    if getattr(y, "ndim", 0):                # an array: in place, two temporaries in all
        xp.exp(y, out=y)                     # exp(min(x, 0)):  1 if x >= 0 else exp(x)
        den = xp.abs(x)
        xp.negative(den, out=den)
        xp.exp(den, out=den)
    else:
        y, den = xp.exp(y), xp.exp(-xp.abs(x))
    den += 1                                 # 1 + exp(-|x|)
    y /= den
    return y


def log_sigmoid(x, xp=None):
    """log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), finite for every finite x.

    log(1 - sigmoid(x)) = log_sigmoid(-x).
    """
    xp = B.xp if xp is None else xp
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


def softplus(x, xp=None):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) = -log_sigmoid(-x)."""
    xp = B.xp if xp is None else xp
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
