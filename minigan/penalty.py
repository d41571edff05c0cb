"""Gradient penalties on the discriminator's input gradient: R1, R2 and WGAN-GP.

A gradient penalty adds to D's loss a function of D's gradient with respect to its input,
averaged over the batch (one term per D output, i.e. per example -- per pack with PacGAN's Pack):

    R1       (Mescheder, Geiger & Nowozin, 2018)   gamma/2 mean_i ||grad_x D(x_i)||^2   x_i real
    R2       (same paper)                          the same on generated samples
    WGAN-GP  (Gulrajani et al., 2017)              lambda mean_i (||grad_x D(xhat_i)||_2 - 1)^2
             xhat_i = eps_i x_i + (1 - eps_i) G(z_i), eps_i ~ U[0, 1]: random points between real
             and generated samples, one eps per sample; the norm is per sample, over all of the
             sample's coordinates (channels and pixels together)

D is the raw output (the logit for the cross-entropy objectives, the critic's score for the
Wasserstein one). The penalty is a function of D's parameters theta *through D's backward pass*:
training with it needs dP/dtheta, the derivative of a derivative.

**The second backward pass.** Write each layer's backward as dx = B(dy, x, theta): linear in dy.
D's input gradient is g_0, computed by the chain g_{l-1} = B_l(g_l, x_{l-1}, theta_l) from
g_L = 1 (one per output). P = f(g_0) depends on theta through every B_l; reverse-mode
differentiation of that chain (``Module.second_backward``, derived per layer in each layer's
docstring) runs it backwards, i.e. upwards through D:

    v_0 = dP/dg_0                                          (this module: R1, R2 or WGAN-GP)
    for l = 1..L:   v_l = dP/dg_l = (dB_l/dg_l)^T v_{l-1}  = J_l v_{l-1}   (B_l = J_l^T g)
                    theta_l.grad += (dB_l/dtheta_l)^T v_{l-1}
                    e_l = (dB_l/dx_{l-1})^T v_{l-1}        (zero for Dense, Conv2d, Maxout,
                                                            (Leaky)ReLU, Dropout, reshapes)
    then the e_l go down through the forward's ordinary backward (their x depends on the
    layers below), adding (dF/dtheta)^T into the parameters.

For the piecewise-linear discriminators of chapters 4 and 5 every e_l is 0 and the whole cost is
one backward pass without weight gradients (``input_gradient``) plus one pass as dear as a
backward (``second_backward``: for a Dense layer v W and v^T dy, the two products of its
backward). ``benchmarks/penalty.py`` measures it against the plain iteration and against
PyTorch's double backward.

    from minigan import penalty
    r1 = penalty.GradientPenalty("r1", 10.0)
    value = r1.apply(D, x=real)          # forward, input gradient, second pass: adds dP/dtheta
    gan = GAN(G, D, data, latent_dim=2, penalty="r1")            # or penalty=r1; any objective

**Why it fixes what clipping breaks.** A Wasserstein critic must be 1-Lipschitz. Weight clipping
enforces that by pinning every weight into [-c, c]; in practice most weights sit at +-c and the
critic can only be a very smooth, nearly linear function, too blunt to tell a sample 0.03 from a
mode from one on it (chapter 5: 2-9 % high-quality samples). The gradient penalty asks only what
the Lipschitz condition asks -- ||grad_x D|| = 1 where the samples are -- and leaves the weights
free, so the critic can be sharp where the data is and smooth between.

Bad use is refused: a D with batch normalisation (each sample's output would depend on the
whole batch, so grad_x D(x_i) is not one sample's gradient), a layer with no second-order pass,
a negative or NaN weight, an input holding NaN or Inf. The mistakes of learners' code -- the
norm taken over the whole batch, or per pixel -- are ``mistaken_gradient_penalty``, shown beside
the right one in the tests and the chapter.
"""
from __future__ import annotations

import weakref

from minigan import arguments
from minigan import backend as B
from minigan.nn.module import Module

PENALTY_NAMES = ("r1", "r2", "wgan-gp")
#: Which batch each penalty looks at.
PENALTY_BATCH = {"r1": "real", "r2": "fake", "wgan-gp": "interpolated"}
#: Default weights: gamma = 10 (Mescheder et al.'s images), lambda = 10 (Gulrajani et al.).
DEFAULT_WEIGHT = {"r1": 10.0, "r2": 10.0, "wgan-gp": 10.0}


def check_supported(D: Module, where: str = "gradient penalty") -> None:
    """Raise unless every module of D has a second-order pass: ValueError naming the module and
    saying why (batch normalisation couples the samples) or that it has none."""
    if not isinstance(D, Module):
        raise TypeError(f"{where}: the discriminator must be a minigan Module, got "
                        f"{type(D).__name__}")
    refusal = D.second_order_refusal()
    if refusal is not None:
        raise ValueError(f"{where}: {refusal}")


def interpolate(real, fake, num_outputs: int | None = None):
    """WGAN-GP's points xhat = real + eps (fake - real), one eps ~ U[0, 1) per example of D.

    real, fake: (N, ...) of one dtype -> xhat (N, ...). num_outputs: how many outputs D gives
    for N inputs (N / m with Pack(m); default N): the m samples of one pack share their eps, so
    that each packed xhat lies on the segment between a real and a fake pack, as the method
    asks. eps comes from minigan's generator on the active backend (on a GPU, drawn there: no
    transfer, no sync).
    """
    if real.shape != fake.shape:
        raise ValueError(f"interpolate: real {tuple(real.shape)} and fake {tuple(fake.shape)} "
                         f"batches must have the same shape")
    n = real.shape[0]
    k = n if num_outputs is None else num_outputs
    if not isinstance(k, int) or k < 1 or n % k:
        raise ValueError(f"interpolate: num_outputs must divide the batch size {n}, got "
                         f"{num_outputs!r}")
    eps = B.rand(k, *(1,) * (real.ndim - 1), dtype=real.dtype)                 # (k, 1, ..., 1)
    if k != n:
        eps = B.xp.repeat(eps, n // k, axis=0)                                   # (N, 1, ..., 1)
    xhat = fake - real
    xhat *= eps
    xhat += real
    return xhat


def per_example(grad_x, num_outputs: int):
    """grad_x (N, ...) as (num_outputs, -1): the input coordinates of each D output together
    (a sample; m consecutive samples for a Pack(m) discriminator)."""
    if grad_x.shape[0] % num_outputs:
        raise ValueError(f"gradient penalty: D gave {num_outputs} outputs for {grad_x.shape[0]} "
                         f"inputs; the inputs must split evenly among the outputs")
    return grad_x.reshape(num_outputs, -1)


class GradientPenalty:
    """A gradient penalty: its name ("r1", "r2" or "wgan-gp") and weight (gamma or lambda).

    value_and_grad(grad_x, num_outputs) -> (P, dP/d(grad_x)) from D's input gradient;
    apply(D, x=None, logits=None) -> P, adding dP/dtheta into D's parameters' .grad;
    ``batch``: the batch it looks at ("real", "fake" or "interpolated");
    state_dict() / from_state(): the setting as plain data, for checkpoints.
    """

    def __init__(self, name: str, weight: float | None = None):
        if not isinstance(name, str):
            raise TypeError(f"GradientPenalty: name must be a string, one of "
                            f"{', '.join(PENALTY_NAMES)}, got {name!r} ({type(name).__name__})")
        if name not in PENALTY_NAMES:
            raise ValueError(f"GradientPenalty: name must be one of {', '.join(PENALTY_NAMES)}, "
                             f"got {name!r}")
        self.name = name
        self.weight = (DEFAULT_WEIGHT[name] if weight is None else
                       arguments.real(weight, "weight", f"GradientPenalty({name!r})", 0))
        self.batch = PENALTY_BATCH[name]
        self._checked = weakref.WeakSet()   # the discriminators already checked

    def value_and_grad(self, grad_x, num_outputs: int):
        """(P: 0-d array, dP/d(grad_x): shaped like grad_x) for D's input gradient grad_x
        (N, ...) and its num_outputs outputs (N, or N / m with Pack(m)).

            R1, R2    P = gamma / (2k) sum_i ||g_i||^2          dP/dg_i = gamma / k g_i
            WGAN-GP   P = lambda / k sum_i (||g_i|| - 1)^2      dP/dg_i = 2 lambda / k
                                                                 (||g_i|| - 1) g_i / ||g_i||
        (k = num_outputs; at g_i = 0, where the norm has no derivative, dP/dg_i is taken as 0.)
        """
        k = num_outputs
        if self.name in ("r1", "r2"):
            value = (grad_x * grad_x).sum() * (self.weight / (2 * k))
            return value, grad_x * (self.weight / k)
        rows = per_example(grad_x, k)                                     # (k, D)
        norms = B.xp.sqrt((rows * rows).sum(axis=1))                      # (k,)
        excess = norms - 1
        value = (excess * excess).mean() * self.weight
        scale = excess / B.xp.maximum(norms, B.xp.finfo(norms.dtype).tiny)
        scale *= 2 * self.weight / k
        return value, (rows * scale[:, None]).reshape(grad_x.shape)

    def check(self, D: Module) -> None:
        """Raise ValueError unless this penalty can train D (``check_supported``); a D that
        passed once is not walked again."""
        if D not in self._checked:
            check_supported(D, f"GradientPenalty({self.name!r})")
            self._checked.add(D)

    def apply(self, D: Module, x=None, logits=None):
        """Add dP/dtheta into D's parameters' .grad; return P (0-d array).

        Give x (N, ...) to run D.forward(x) first, or ``logits``, D's output of its most recent
        forward (the batch it saw is then the one penalised: GAN's real batch for R1). Runs
        D.input_gradient(ones), then D.second_backward(dP/d(grad_x)). Only .grad changes.
        """
        where = f"GradientPenalty({self.name!r})"
        self.check(D)
        if (x is None) == (logits is None):
            given = "both" if x is not None else "neither"
            raise ValueError(f"{where}.apply: give either x (to run D on it) or logits (D's "
                             f"output of its last forward), not {given}")
        if x is not None:
            if not B.is_array(x):
                raise TypeError(f"{where}.apply: x must be a {B.xp.__name__}.ndarray, got "
                                f"{type(x).__name__}")
            B.check(B.xp.isfinite(x).all(), lambda: ValueError(
                f"{where}.apply: x holds NaN or Inf; the penalty of D's gradient there is "
                f"undefined"))
            logits = D.forward(x)
        grad_x = D.input_gradient(B.xp.ones_like(logits))
        value, grad_grad_x = self.value_and_grad(grad_x, logits.shape[0])
        B.check(B.xp.isfinite(value), lambda: FloatingPointError(
            f"{where}: the penalty is NaN or Inf (D's input gradient holds non-finite values: "
            f"usually training has diverged)"))
        D.second_backward(grad_grad_x)
        return value

    def state_dict(self) -> dict:
        """{"name", "weight"}: plain data for a checkpoint."""
        return {"name": self.name, "weight": self.weight}

    @classmethod
    def from_state(cls, state) -> "GradientPenalty | None":
        """The penalty a state_dict() describes (None for None); ValueError if it is not one."""
        if state is None:
            return None
        if not isinstance(state, dict) or set(state) != {"name", "weight"}:
            raise ValueError(f"GradientPenalty.from_state: expects None or a dict with 'name' "
                             f"and 'weight', got {state!r}")
        try:
            return cls(state["name"], state["weight"])
        except TypeError as e:
            raise ValueError(str(e)) from None

    def __eq__(self, other) -> bool:
        return isinstance(other, GradientPenalty) and self.state_dict() == other.state_dict()

    def __hash__(self):
        return hash((self.name, self.weight))

    def __repr__(self) -> str:
        return f"GradientPenalty({self.name!r}, {self.weight:g})"


def get_penalty(penalty, weight: float | None = None) -> GradientPenalty | None:
    """None, a name from PENALTY_NAMES (with ``weight``, default DEFAULT_WEIGHT) or a
    GradientPenalty -> the GradientPenalty (or None)."""
    if penalty is None or isinstance(penalty, GradientPenalty):
        if weight is not None:
            raise ValueError(f"get_penalty: weight given with {penalty!r}; give a name and a "
                             f"weight, or a GradientPenalty")
        return penalty
    if isinstance(penalty, str):
        return GradientPenalty(penalty, weight)
    raise TypeError(f"get_penalty: penalty must be None, one of {', '.join(PENALTY_NAMES)} or a "
                    f"GradientPenalty, got {penalty!r} ({type(penalty).__name__})")


def mistaken_gradient_penalty(grad_x, weight: float, norm: str):
    """The WGAN-GP penalty with the norm over the wrong axes: the two mistakes of learners' code,
    for contrast (minigan never trains with them). grad_x: D's input gradient (N, C, H, W) or
    (N, F) -> a 0-d array.

        norm="batch"   lambda (||grad_x|| - 1)^2, ONE norm over the whole batch: the batch's
                       gradient is pushed to norm 1 together, so each sample's is ~1/sqrt(N)
        norm="pixel"   lambda mean_{n,h,w} (||grad_x[n, :, h, w]|| - 1)^2: the norm over the
                       channel axis only (``grad.norm(2, dim=1)`` on an unflattened gradient),
                       which asks every pixel's gradient to have norm 1

    The right penalty is GradientPenalty("wgan-gp").value_and_grad: one norm per sample over all
    its coordinates.
    """
    weight = arguments.real(weight, "weight", "mistaken_gradient_penalty", 0)
    if norm == "batch":
        excess = B.xp.sqrt((grad_x * grad_x).sum()) - 1
        return weight * excess * excess
    if norm == "pixel":
        if grad_x.ndim < 2:
            raise ValueError(f"mistaken_gradient_penalty: norm='pixel' needs (N, C, ...) "
                             f"gradients, got shape {tuple(grad_x.shape)}")
        excess = B.xp.sqrt((grad_x * grad_x).sum(axis=1)) - 1
        return weight * (excess * excess).mean()
    raise ValueError(f"mistaken_gradient_penalty: norm must be 'batch' or 'pixel', got {norm!r}")


# ---------------------------------------------------------------------------------------------
# A command-line option for the chapters

def add_arguments(parser) -> None:
    """Add ``--penalty {none,r1,r2,wgan-gp}`` and ``--penalty-weight W`` to an argparse parser."""
    parser.add_argument("--penalty", choices=("none",) + PENALTY_NAMES, default="none",
                        help="a gradient penalty on D (minigan.penalty): R1 on real samples, R2 "
                             "on generated ones, WGAN-GP between them (default: none)")
    parser.add_argument("--penalty-weight", type=float, default=None, metavar="W",
                        help="gamma of R1 / R2 or lambda of WGAN-GP (default 10)")


def from_arguments(args) -> GradientPenalty | None:
    """The GradientPenalty the options of ``add_arguments`` ask for (None for none)."""
    name = getattr(args, "penalty", "none")
    weight = getattr(args, "penalty_weight", None)
    if name in (None, "none"):
        if weight is not None:
            raise ValueError("--penalty-weight given without --penalty")
        return None
    return GradientPenalty(name, weight)
