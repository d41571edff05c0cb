"""Losses: binary cross-entropy from logits and the GAN objectives, each as (value, gradient).

Everything here works on the discriminator's LOGITS l -- its raw output before any sigmoid --
and returns the gradient with respect to those logits, ready for ``D.backward``. The probability
D(x) = sigmoid(l) never has to be formed: log D = log_sigmoid(l) and log(1 - D) = log_sigmoid(-l)
are computed stably for any l, where log(sigmoid(l)) would give log(0) = -inf once sigmoid(l)
rounds to 0 or 1 (|l| > ~17 in float32, ~37 in float64).

Values are 0-d arrays of the active backend (means over the batch; on NumPy a NumPy scalar, which
prints and compares like a float): a value stays where it was computed, and ``float(value)``
reads it. Gradients are arrays shaped like the logits, in the logits' dtype. Logits of shape (N,) or (N, 1) are typical; any shape works, and a mean
is always over all elements.

    bce_with_logits(logits, targets)      -> (value, grad_logits)
    softmax_cross_entropy(logits, labels) -> (value, grad_logits)   K classes, integer labels
    get_objective(name, label_smoothing)  -> an object with
        d_loss(real_logits, fake_logits)  -> (value, grad_real, grad_fake)   D minimises it
        d_loss_real(real_logits)          -> (value, grad_real)   its real-batch term
        d_loss_fake(fake_logits)          -> (value, grad_fake)   its fake-batch term
        g_loss(fake_logits)               -> (value, grad_fake)              G minimises it
        outputs_probability               whether D's output is the logit of D(x)

Names: ``d_`` is the discriminator's (``d_loss``); a gradient is ``grad_<what>``: grad_real is
dL/d(real_logits).

Objectives (all written as losses to MINIMISE; D(x) = sigmoid(l) where a probability appears):

    minimax          Goodfellow et al. (2014): D maximises E log D(x) + E log(1 - D(G(z))),
                     G minimises E log(1 - D(G(z)))         (saturating: weak gradient early on)
    non-saturating   same D; G maximises E log D(G(z))     (the heuristic the paper recommends)
    least-squares    Mao et al. (2017), LSGAN with targets b=1 (real), a=0 (fake), c=1
    hinge            Lim & Ye (2017), Miyato et al. (2018)
    wasserstein      Arjovsky et al. (2017): the critic's raw output, no sigmoid
"""
from __future__ import annotations

import numbers
from abc import ABC, abstractmethod

from minigan import arguments
from minigan import backend as B
from minigan.nn.functional import log_sigmoid, sigmoid, softplus  # noqa: F401  (public here)

OBJECTIVE_NAMES = ("minimax", "non-saturating", "least-squares", "hinge", "wasserstein")


# ---------------------------------------------------------------------------------------------
# Validation

class NonFiniteLogitsError(ValueError):
    """Logits holding NaN or Inf: training has usually diverged (minigan.gan reports it)."""


def _check_logits(x, where: str, argument: str) -> None:
    """Raise unless x is a floating array of the active backend with only finite values."""
    if not B.is_array(x):
        raise TypeError(f"{where}: {argument} must be a {B.xp.__name__}.ndarray of logits, got "
                        f"{type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: {argument} must be floating point, got {x.dtype}")
    if x.size == 0:
        raise ValueError(f"{where}: {argument} is empty (shape {tuple(x.shape)})")
    B.check(B.xp.isfinite(x).all(), lambda: NonFiniteLogitsError(
        f"{where}: {argument} contain {_count_non_finite(x)}. Usually training has diverged "
        f"(learning rate too high?), or the values passed are not raw logits (the loss must be "
        f"computed from D's output before any sigmoid/log)."))


def _count_non_finite(x) -> str:
    """'k non-finite value(s) (NaN or Inf) out of n' on the host; on a device, where a deferred
    check is read after x may have changed, just 'non-finite values (NaN or Inf)'."""
    if not B.on_host():
        return "non-finite values (NaN or Inf)"
    bad = int(x.size - B.xp.isfinite(x).sum())
    return f"{bad} non-finite value(s) (NaN or Inf) out of {x.size}"


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy

def bce_with_logits(logits, targets):
    """Mean binary cross-entropy between targets t and sigmoid(l), from the logits l.

        loss = mean_i [ -t_i log s_i - (1 - t_i) log(1 - s_i) ],   s = sigmoid(l)
             = mean_i [ max(l_i, 0) - l_i t_i + log(1 + exp(-|l_i|)) ]      (stable form)
        dloss/dl_i = (sigmoid(l_i) - t_i) / n,    n = number of elements

    logits: array of any shape; targets: an array of the same shape, or a Python number used
    for every element. Returns (value: 0-d array, grad_logits: array shaped like logits).
    Raises ValueError for non-finite logits or mismatched shapes.
    """
    _check_logits(logits, "bce_with_logits", "logits")
    if B.is_array(targets):
        if targets.shape != logits.shape:
            raise ValueError(f"bce_with_logits: logits have shape {tuple(logits.shape)} but "
                             f"targets have shape {tuple(targets.shape)}; they must match "
                             f"(reshape the targets, e.g. to (N, 1))")
        if targets.dtype.kind not in "biuf":
            raise TypeError(f"bce_with_logits: targets must be real numbers, got dtype "
                            f"{targets.dtype}")
        targets = targets.astype(logits.dtype, copy=False)
        B.check(((targets >= 0) & (targets <= 1)).all(),       # NaN fails both comparisons
                lambda: ValueError(f"bce_with_logits: targets must be probabilities in [0, 1]; "
                                   f"{int(B.xp.isnan(targets).sum())} are NaN and "
                                   f"{int(((targets < 0) | (targets > 1)).sum())} lie outside "
                                   f"[0, 1], out of {targets.size}"))
    elif isinstance(targets, numbers.Real) and not isinstance(targets, bool):
        # a Python float keeps float32 logits float32
        targets = arguments.real(targets, "targets", "bce_with_logits", 0, 1)
    else:
        raise TypeError(f"bce_with_logits: targets must be an array shaped like the logits or "
                        f"a number, got {type(targets).__name__}")
    return _bce(logits, targets)


def _bce(logits, targets):
    """bce_with_logits without the checks: (value, grad_logits)."""
    value = (softplus(logits) - logits * targets).mean()
    grad_logits = sigmoid(logits)
    grad_logits -= targets
    grad_logits *= 1.0 / logits.size
    return value, grad_logits


# ---------------------------------------------------------------------------------------------
# Multi-class cross-entropy (the digit classifier's loss)

def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

        loss = (1/N) sum_n [ logsumexp(l_n) - l_n,y_n ]
        dloss/dl = (softmax(l) - onehot(y)) / N

    logits: (N, K) floating array of the active backend; labels: (N,) integers in [0, K).
    Returns (value: 0-d array, grad_logits: (N, K) in the logits' dtype).
    """
    if not B.is_array(logits) or logits.dtype.kind != "f" or logits.ndim != 2:
        raise TypeError(f"softmax_cross_entropy: logits must be a floating (N, K) array of the "
                        f"active backend, got {type(logits).__name__} "
                        f"{getattr(logits, 'shape', '')}")
    labels = B.xp.asarray(labels)
    n, k = logits.shape
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"softmax_cross_entropy: labels must be (N,) = ({n},) integers, got "
                         f"shape {tuple(labels.shape)} dtype {labels.dtype}")
    if n:
        B.check((labels.min() >= 0) & (labels.max() < k),
                lambda: ValueError(f"softmax_cross_entropy: labels must lie in [0, {k}), got "
                                   f"{int(labels.min())}..{int(labels.max())}"))
    rows = B.xp.arange(n)
    top = logits.max(axis=1, keepdims=True)                       # (N, 1)
    probs = logits - top
    B.xp.exp(probs, out=probs)                                    # exp(l - max)
    total = probs.sum(axis=1)                                     # (N,)
    log_sum_exp = B.xp.log(total) + top[:, 0]                     # (N,)
    value = (log_sum_exp - logits[rows, labels]).mean()
    probs /= total[:, None]                                       # softmax(l)
    probs[rows, labels] -= 1                                      # - onehot(y)
    probs *= 1.0 / n
    return value, probs


# ---------------------------------------------------------------------------------------------
# The network and its wrapper

# ---------------------------------------------------------------------------------------------
# GAN objectives

class Objective(ABC):
    """A pair of losses for the two players, both to be minimised, both from D's logits.

    d_loss(real_logits, fake_logits) -> (value, grad_real, grad_fake):
        value is the discriminator's loss; grad_real / grad_fake are its gradients w.r.t. the
        logits of the real and the fake batch (shapes of the inputs; the batches may differ in
        size). Every discriminator loss here is a sum of a real-batch term and a fake-batch
        term, d_loss = d_loss_real(real_logits) + d_loss_fake(fake_logits), each available on
        its own, (value, grad): a training step can push the real batch's gradient back through
        D before the fake batch goes through it.
    g_loss(fake_logits) -> (value, grad_fake):
        the generator's loss and its gradient w.r.t. D's logits on the fake batch; push it back
        through D (``D.backward(grad_fake)``) and on into G.
    """

    name = ""
    #: True when D's output is the logit l of a probability D(x) = sigmoid(l) (the cross-entropy
    #: games); False when it is a raw score (least squares, hinge, a Wasserstein critic).
    outputs_probability = False

    def __init__(self, label_smoothing: float = 0.0):
        if label_smoothing != 0.0:
            raise ValueError(f"{type(self).__name__}: label_smoothing applies only to the "
                             f"cross-entropy objectives ('minimax', 'non-saturating'), got "
                             f"{label_smoothing!r}")
        self.label_smoothing = 0.0

    def d_loss(self, real_logits, fake_logits):
        """-> (value, dL/d real_logits, dL/d fake_logits)"""
        real_value, grad_real = self.d_loss_real(real_logits)
        fake_value, grad_fake = self.d_loss_fake(fake_logits)
        return real_value + fake_value, grad_real, grad_fake

    def d_loss_real(self, real_logits):
        """The real-batch term of d_loss -> (value, dL/d real_logits)."""
        _check_logits(real_logits, f"{type(self).__name__}.d_loss", "real_logits")
        return self._d_real(real_logits)

    def d_loss_fake(self, fake_logits):
        """The fake-batch term of d_loss -> (value, dL/d fake_logits)."""
        _check_logits(fake_logits, f"{type(self).__name__}.d_loss", "fake_logits")
        return self._d_fake(fake_logits)

    def g_loss(self, fake_logits):
        """-> (value, dL/d fake_logits)"""
        _check_logits(fake_logits, f"{type(self).__name__}.g_loss", "fake_logits")
        return self._g(fake_logits)

    @abstractmethod
    def _d_real(self, real_logits):
        """The real-batch term of D's loss, on checked logits -> (value, grad)."""

    @abstractmethod
    def _d_fake(self, fake_logits):
        """The fake-batch term of D's loss, on checked logits -> (value, grad)."""

    @abstractmethod
    def _g(self, fake_logits):
        """G's loss, on checked logits -> (value, grad)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _CrossEntropyObjective(Objective):
    """The discriminator of Goodfellow et al. (2014), shared by Minimax and NonSaturating.

        D maximises  E_x log D(x) + E_z log(1 - D(G(z))), i.e. minimises
        d_loss = BCE(l_real, 1 - smoothing) + BCE(l_fake, 0)
               = -mean log D(x) - mean log(1 - D(G(z)))          (smoothing = 0)

    One-sided label smoothing (Salimans et al., 2016) replaces the real target 1 by
    1 - smoothing, for D only; fake targets stay 0. At the optimum D(x) = 1/2 everywhere
    (p_g = p_data), d_loss = 2 log 2.
    """

    outputs_probability = True

    def __init__(self, label_smoothing: float = 0.0):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1), got "
                             f"{label_smoothing!r} (0.1 is a common choice)")
        self.label_smoothing = float(label_smoothing)

    def _d_real(self, real_logits):
        return _bce(real_logits, 1.0 - self.label_smoothing)

    def _d_fake(self, fake_logits):
        return _bce(fake_logits, 0.0)

    def __repr__(self) -> str:
        extra = f"label_smoothing={self.label_smoothing}" if self.label_smoothing else ""
        return f"{type(self).__name__}({extra})"


class Minimax(_CrossEntropyObjective):
    """The original minimax game, with the SATURATING generator loss (Goodfellow et al., 2014).

        min_G max_D  V(D, G) = E_x log D(x) + E_z log(1 - D(G(z)))
        d_loss = -mean log D(x) - mean log(1 - D(G(z)))            (see _CrossEntropyObjective)
        g_loss =  mean log(1 - D(G(z)))  = mean log_sigmoid(-l)    (G minimises; value <= 0)
        dg_loss/dl = -sigmoid(l) / n = -D(G(z)) / n

    When D confidently rejects the fakes (D(G(z)) -> 0, early in training) this gradient
    vanishes: the generator saturates. Kept for the theory chapters; train with NonSaturating.
    """

    name = "minimax"

    def _g(self, fake_logits):
        value = log_sigmoid(-fake_logits).mean()
        grad_fake = sigmoid(fake_logits)
        grad_fake *= -1.0 / fake_logits.size
        return value, grad_fake


class NonSaturating(_CrossEntropyObjective):
    """The non-saturating generator loss (Goodfellow et al., 2014, Section 3).

        d_loss = -mean log D(x) - mean log(1 - D(G(z)))            (same D as Minimax)
        g_loss = -mean log D(G(z)) = BCE(l_fake, 1)                (G maximises log D(G(z)))
        dg_loss/dl = (sigmoid(l) - 1) / n = -(1 - D(G(z))) / n

    Same fixed point as the minimax game, but the gradient is largest exactly when D rejects
    the fakes (D(G(z)) -> 0), where the saturating loss gives almost none.
    """

    name = "non-saturating"

    def _g(self, fake_logits):
        return _bce(fake_logits, 1.0)


def _half_mean_square(grad):
    """(1/2 mean grad^2, grad / n): a least-squares term whose residual is ``grad`` (a new array,
    scaled in place)."""
    value = 0.5 * (grad * grad).mean()
    grad *= 1.0 / grad.size
    return value, grad


class LeastSquares(Objective):
    """Least-squares GAN (Mao et al., 2017) with the 0-1 coding a = 0, b = 1, c = 1.

    D's raw output l (no sigmoid) is regressed onto the targets:
        d_loss = 1/2 mean (l_real - 1)^2 + 1/2 mean l_fake^2
        g_loss = 1/2 mean (l_fake - 1)^2
        dd_loss/dl_real = (l_real - 1) / n_real,   dd_loss/dl_fake = l_fake / n_fake
        dg_loss/dl_fake = (l_fake - 1) / n_fake
    """

    name = "least-squares"

    def _d_real(self, real_logits):
        return _half_mean_square(real_logits - 1)

    def _d_fake(self, fake_logits):
        return _half_mean_square(fake_logits.copy())

    def _g(self, fake_logits):
        return _half_mean_square(fake_logits - 1)


class Hinge(Objective):
    """Hinge loss (Lim & Ye, 2017; Miyato et al., 2018), on D's raw output l.

        d_loss = mean max(0, 1 - l_real) + mean max(0, 1 + l_fake)
        g_loss = -mean l_fake
        dd_loss/dl_real = -[l_real < 1] / n_real,   dd_loss/dl_fake = [l_fake > -1] / n_fake
        dg_loss/dl_fake = -1 / n_fake
    (At the hinges l = +-1 the subgradient 0 is used.)
    """

    name = "hinge"

    def _d_real(self, real_logits):
        margin = 1 - real_logits                            # > 0 where the hinge is active
        grad_real = (margin > 0).astype(real_logits.dtype)
        grad_real *= -1.0 / real_logits.size
        return B.xp.maximum(margin, 0).mean(), grad_real

    def _d_fake(self, fake_logits):
        margin = 1 + fake_logits
        grad_fake = (margin > 0).astype(fake_logits.dtype)
        grad_fake *= 1.0 / fake_logits.size
        return B.xp.maximum(margin, 0).mean(), grad_fake

    def _g(self, fake_logits):
        return -fake_logits.mean(), B.xp.full_like(fake_logits, -1.0 / fake_logits.size)


class Wasserstein(Objective):
    """Wasserstein GAN (Arjovsky et al., 2017): the critic f is D's raw output l.

        d_loss = mean f(G(z)) - mean f(x)       (the critic maximises mean f(x) - mean f(G(z)))
        g_loss = -mean f(G(z))
        dd_loss/dl_real = -1 / n_real,  dd_loss/dl_fake = 1 / n_fake,  dg_loss/dl_fake = -1 / n_fake

    The critic must be kept (roughly) 1-Lipschitz -- weight clipping or a gradient penalty --
    for d_loss to estimate the Wasserstein-1 distance; that constraint lives outside this loss.
    """

    name = "wasserstein"

    def _d_real(self, real_logits):
        return -real_logits.mean(), B.xp.full_like(real_logits, -1.0 / real_logits.size)

    def _d_fake(self, fake_logits):
        return fake_logits.mean(), B.xp.full_like(fake_logits, 1.0 / fake_logits.size)

    def _g(self, fake_logits):
        return -fake_logits.mean(), B.xp.full_like(fake_logits, -1.0 / fake_logits.size)


_OBJECTIVES = {
    "minimax": Minimax,
    "non-saturating": NonSaturating,
    "least-squares": LeastSquares,
    "hinge": Hinge,
    "wasserstein": Wasserstein,
}


def get_objective(name: str, label_smoothing: float = 0.0) -> Objective:
    """The objective called ``name`` (one of OBJECTIVE_NAMES; '_' may stand for '-').

    ``label_smoothing`` (one-sided: the real target becomes 1 - label_smoothing for D) is
    accepted by 'minimax' and 'non-saturating' only.
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in _OBJECTIVES:
        raise ValueError(f"unknown GAN objective {name!r}: expected one of "
                         f"{', '.join(repr(n) for n in OBJECTIVE_NAMES)}")
    return _OBJECTIVES[key](label_smoothing=label_smoothing)
