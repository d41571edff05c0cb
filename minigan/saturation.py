"""Saturating vs non-saturating generator loss: the study chapters 3 and 5 both run.

With D(G(z)) = sigmoid(l), the minimax ("saturating") generator loss log(1 - D(G(z))) has
|dL/dl| = D(G(z)) per sample, which vanishes when D rejects the fakes; the non-saturating loss
-log D(G(z)) has |dL/dl| = 1 - D(G(z)) (Goodfellow et al., 2014, section 3). This module

* ``per_sample_gradient``: the per-sample |dL/dl| of either loss from ``minigan.losses`` (the
  loss is a mean, so its gradient times N), for given values of D(G(z));
* ``reject``: a discriminator trained alone until it rejects a fixed generator, with the
  generator's gradients under both losses measured on one fixed batch as it learns
  (a ``Rejection`` record);
* ``train_from_same_start``: copies of that pair trained by each loss and optimizer from the
  same start and the same noise (a ``Training`` record);
* ``saturation_study``: both, on a 1D data set (a ``SaturationStudy``), and the figures.
"""
from __future__ import annotations

import dataclasses
import math

from minigan import backend as B
from minigan import plot
from minigan.data.toy import Gaussian1D
from minigan.gan import GAN
from minigan.losses import get_objective, sigmoid
from minigan.nn import Dense, LeakyReLU, Sequential, Tanh
from minigan.optim import SGD, Adam

np = B.np                     # host arrays: the probes, the curves, the figures

#: The two generator losses, by their names in minigan.losses.
LOSSES = ("minimax", "non-saturating")
LABELS = {"minimax": "saturating", "non-saturating": "non-saturating"}
OPTIMIZERS = {"SGD": SGD, "Adam": Adam}


def per_sample_gradient(d_fake, objective: str):
    """|dL_G / dl| per sample for D(G(z)) = d_fake (host array (N,), values in (0, 1)), from
    minigan.losses' generator loss ``objective`` on the logits l = log(d / (1 - d)): the
    gradient of the mean times N. Host float64 array (N,)."""
    if objective not in LOSSES:
        raise ValueError(f"per_sample_gradient: objective must be one of {LOSSES}, got "
                         f"{objective!r}")
    d_fake = np.asarray(d_fake, dtype=np.float64).reshape(-1)
    if d_fake.size == 0 or not np.all((d_fake > 0) & (d_fake < 1)):
        raise ValueError("per_sample_gradient: d_fake must be a non-empty array of values in "
                         "(0, 1)")
    logits = B.asarray(np.log(d_fake / (1 - d_fake))[:, None])            # (N, 1)
    _, grad_logits = get_objective(objective).g_loss(logits)
    return np.abs(B.to_numpy(grad_logits)).astype(np.float64).reshape(-1) * d_fake.size


def generator_gradient(G, D, z, objective: str):
    """G's gradients on the noise batch z (N, latent) under the generator loss ``objective``.

    Returns (|dL_G/dl| per sample, host (N,); ||dL_G/d theta_G||, a float): the per-sample
    gradient with respect to D's logit is the loss's gradient times N (the loss is a mean);
    the parameter gradient is pushed through D and G by their backward passes. G's gradients
    are zeroed first; D's are left as they are (no optimizer step follows)."""
    G.zero_grad()
    logits = D.forward(G.forward(z))                                      # (N, 1)
    _, grad_logits = get_objective(objective).g_loss(logits)
    G.backward(D.backward(grad_logits))
    per_sample = np.abs(B.to_numpy(grad_logits)).reshape(-1) * grad_logits.size
    norm = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in G.parameters()))
    return per_sample, norm


@dataclasses.dataclass
class Rejection:
    """D learning to reject a fixed G, probed on one fixed batch of P noise values.

    steps: (K,) D steps taken at each probe; mean_d_fake: (K,) mean D(G(z)); d_fake: (K, P)
    D(G(z)) per sample; per_sample: {loss: (K, P) |dL_G/dl| measured}; norms: {loss: (K,)
    ||dL_G/d theta_G||}; identity_error: max |measured - analytic| per-sample gradient (analytic:
    D for the saturating loss, 1 - D for the non-saturating one) over every probe."""
    steps: np.ndarray
    mean_d_fake: np.ndarray
    d_fake: np.ndarray
    per_sample: dict
    norms: dict
    identity_error: float

    @property
    def d_fake_end(self) -> float:
        """Mean D(G(z)) after D's training: where the rejected generator stands."""
        return float(self.mean_d_fake[-1])


def reject(G, D, sample_real, d_steps: int, batch_size: int, lr: float,
           probe_every: int) -> Rejection:
    """Train D alone (Adam(lr), batches of ``batch_size``) for ``d_steps`` steps against the
    fixed G (1D noise); every ``probe_every`` steps (and at step 0) measure G's gradients under
    both losses on one fixed noise batch (batch_size, 1), drawn before D's training."""
    for name, value in (("d_steps", d_steps), ("probe_every", probe_every),
                        ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"reject: {name} must be a positive int, got {value!r}")
    critic = GAN(G, D, sample_real, latent_dim=1, batch_size=batch_size, lr_d=lr)
    z = B.randn(batch_size, 1)                                            # the probe batch
    steps, means, d_fakes = [], [], []
    per_sample = {name: [] for name in LOSSES}
    norms = {name: [] for name in LOSSES}
    identity_error = 0.0
    for step in range(d_steps + 1):
        if step % probe_every == 0:
            d_fake = B.to_numpy(sigmoid(D.forward(G.forward(z)))).reshape(-1).astype(np.float64)
            for name in LOSSES:
                measured, norm = generator_gradient(G, D, z, name)
                analytic = d_fake if name == "minimax" else 1 - d_fake
                identity_error = max(identity_error, float(np.abs(measured - analytic).max()))
                per_sample[name].append(measured)
                norms[name].append(norm)
            steps.append(step)
            means.append(float(d_fake.mean()))
            d_fakes.append(d_fake)
        if step < d_steps:
            critic.d_step()
    return Rejection(steps=np.array(steps), mean_d_fake=np.array(means),
                     d_fake=np.array(d_fakes),
                     per_sample={k: np.array(v) for k, v in per_sample.items()},
                     norms={k: np.array(v) for k, v in norms.items()},
                     identity_error=identity_error)


@dataclasses.dataclass
class Training:
    """Copies of one (G, D) pair trained from the same start, one per optimizer and loss.

    mean_gz: {(optimizer, loss): (T + 1,) mean G(z) on 512 fixed noise values, before each
    step and after the last}; d_fake: {(optimizer, loss): (T,) mean D(G(z)) on each step's
    batch}."""
    mean_gz: dict
    d_fake: dict

    def first_arrival(self, optimizer: str, loss: str, target: float, tolerance: float) -> int:
        """First step at which |mean G(z) - target| <= tolerance (T + 1 if never)."""
        curve = self.mean_gz[optimizer, loss]
        hits = np.flatnonzero(np.abs(curve - target) <= tolerance)
        return int(hits[0]) if hits.size else len(curve)


def _copy(build, module):
    twin = build()
    twin.load_state_dict(module.state_dict())
    return twin


def train_from_same_start(G, D, build_generator, build_discriminator, sample_real, steps: int,
                          batch_size: int, learning_rates: dict) -> Training:
    """For each optimizer name in ``learning_rates`` ({"SGD" | "Adam": lr of both players})
    and each loss: copies of G and D (built by the two builders, parameters copied) trained
    ``steps`` iterations of Algorithm 1 with the same noise and data draws."""
    probe_z = B.randn(512, 1)
    state = B.get_rng_state()
    mean_gz, d_fake = {}, {}
    for optimizer, lr in learning_rates.items():
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"train_from_same_start: optimizer must be one of "
                             f"{tuple(OPTIMIZERS)}, got {optimizer!r}")
        make = OPTIMIZERS[optimizer]
        for name in LOSSES:
            B.set_rng_state(state)                        # the same draws for every run
            G2, D2 = _copy(build_generator, G), _copy(build_discriminator, D)
            gan = GAN(G2, D2, sample_real, latent_dim=1, objective=name, batch_size=batch_size,
                      g_optimizer=make(G2.parameters(), lr=lr),
                      d_optimizer=make(D2.parameters(), lr=lr))
            means = [G2.forward(probe_z).mean()]          # 0-d device arrays, read at the end
            gan.train(steps, callbacks=[lambda g: means.append(
                g.generator.forward(probe_z).mean())])
            mean_gz[optimizer, name] = np.array([float(m) for m in means])
            d_fake[optimizer, name] = np.array(gan.history["d_fake"], dtype=np.float64)
    return Training(mean_gz=mean_gz, d_fake=d_fake)


# ---------------------------------------------------------------------------------------------
# The study of chapter 5: a small pair on N(4, 0.5^2)

@dataclasses.dataclass(frozen=True)
class Settings:
    """data: (mean, std) of p_data; the initial G sits near 0. D learns alone with Adam(d_lr)
    for d_steps steps (probed ten times), then each optimizer in learning_rates trains copies
    of the pair for train_steps iterations."""
    data: tuple = (4.0, 0.5)
    batch_size: int = 256
    d_lr: float = 5e-3
    d_steps: int = 1000
    train_steps: int = 600
    learning_rates: tuple = (("SGD", 0.05), ("Adam", 1e-3))


QUICK = Settings(d_steps=300, train_steps=150)


def small_generator():
    """G: z (N, 1) -> x (N, 1), one hidden tanh layer of 16 units."""
    return Sequential(Dense(1, 16), Tanh(), Dense(16, 1))


def small_discriminator():
    """D: x (N, 1) -> logit (N, 1), one hidden LeakyReLU(0.2) layer of 32 units."""
    return Sequential(Dense(1, 32), LeakyReLU(0.2), Dense(32, 1))


@dataclasses.dataclass
class SaturationStudy:
    """What chapter 5's saturation study measured.

    rejection: D learning to reject the initial G (``Rejection``); training: the four runs
    from where D's training ended (``Training``); norm_*_before / _after: ||dL_G/d theta_G||
    at D's first and last probe; steps_to_data: {(optimizer, loss): first iteration at which
    mean G(z) is within 2 std of the data mean}."""
    settings: Settings
    rejection: Rejection
    training: Training
    norm_saturating_before: float
    norm_saturating_after: float
    norm_nonsaturating_before: float
    norm_nonsaturating_after: float
    steps_to_data: dict


def saturation_study(settings: Settings = Settings()) -> SaturationStudy:
    """D learns to reject a fixed G; then both losses, with SGD and with Adam, train copies of
    the pair from there. Uses minigan's random stream (seed it first)."""
    data = Gaussian1D(*settings.data)
    G, D = small_generator(), small_discriminator()
    rejection = reject(G, D, data.sample, settings.d_steps, settings.batch_size, settings.d_lr,
                       probe_every=max(1, settings.d_steps // 10))
    training = train_from_same_start(G, D, small_generator, small_discriminator, data.sample,
                                     settings.train_steps, settings.batch_size,
                                     dict(settings.learning_rates))
    mean, std = settings.data
    return SaturationStudy(
        settings=settings, rejection=rejection, training=training,
        norm_saturating_before=float(rejection.norms["minimax"][0]),
        norm_saturating_after=float(rejection.norms["minimax"][-1]),
        norm_nonsaturating_before=float(rejection.norms["non-saturating"][0]),
        norm_nonsaturating_after=float(rejection.norms["non-saturating"][-1]),
        steps_to_data={key: training.first_arrival(*key, mean, 2 * std)
                       for key in training.mean_gz})


# ---------------------------------------------------------------------------------------------
# Figures

COLOURS = {"minimax": "tab:red", "non-saturating": "tab:blue"}


def losses_figure(path: str, rejection: Rejection, title: str) -> str:
    """Chapter 3's figure: the two losses and their per-sample gradients against D(G(z)), with
    where a D trained against the initial G puts the fakes."""
    d_values = np.linspace(1e-3, 1 - 1e-3, 999)
    fig, axes = plot.new_figure(2, 1, (5.0, 3.8))
    ax = axes[0, 0]
    ax.plot(d_values, np.log(1 - d_values), label="saturating: log(1 - D(G(z)))")
    ax.plot(d_values, -np.log(d_values), label="non-saturating: -log D(G(z))")
    ax.set_xlabel("D(G(z))")
    ax.set_ylabel("generator loss (minimised)")
    ax.legend(fontsize="small")
    ax = axes[0, 1]
    ax.plot(d_values, per_sample_gradient(d_values, "minimax"), label="saturating: D(G(z))")
    ax.plot(d_values, per_sample_gradient(d_values, "non-saturating"),
            label="non-saturating: 1 - D(G(z))")
    ax.axvline(rejection.d_fake_end, color="gray", linestyle=":",
               label=f"D trained on the initial G: {rejection.d_fake_end:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("D(G(z))")
    ax.set_ylabel("|d loss / d logit| per sample")
    ax.legend(fontsize="small")
    fig.suptitle(title)
    return plot.save(fig, path)


def study_figure(path: str, study: SaturationStudy, title: str) -> str:
    """Chapter 5's figure: (a) per-sample gradients, (b) parameter-gradient norms while D
    learns, (c, d) training from one start."""
    rejection, training = study.rejection, study.training
    fig, axes = plot.new_figure(4, 1, (4.3, 3.7))
    ax = axes[0, 0]
    d = np.logspace(-4, 0, 400)[:-1]
    ax.plot(d, d, color=COLOURS["minimax"], label="saturating, analytic: D(G(z))")
    ax.plot(d, 1 - d, color=COLOURS["non-saturating"],
            label="non-saturating, analytic: 1 - D(G(z))")
    for k in range(len(rejection.steps)):
        for name in LOSSES:
            ax.plot(rejection.d_fake[k, ::8], rejection.per_sample[name][k, ::8], "o",
                    markerfacecolor="none", markeredgecolor="black", markersize=4,
                    markeredgewidth=0.6)
    ax.plot([], [], "o", markerfacecolor="none", markeredgecolor="black", markersize=4,
            label="measured (minigan.losses, x N)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("D(G(z)) of a sample")
    ax.set_ylabel(r"$|\partial L_G / \partial l|$ per sample")
    ax.set_title("(a) per sample")
    ax.legend(fontsize="x-small")

    ax = axes[0, 1]
    means = rejection.mean_d_fake
    for name in LOSSES:
        ax.plot(means, rejection.norms[name], "o-", color=COLOURS[name],
                label=f"{LABELS[name]}, measured")
    ax.plot(means, rejection.norms["non-saturating"] * means / (1 - means), "--", color="black",
            label="predicted: non-sat. x D/(1 - D)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mean D(G(z)) while D learns to reject G")
    ax.set_ylabel(r"$\|\partial L_G / \partial \theta_G\|$")
    ax.set_title("(b) the generator's parameter gradient")
    ax.legend(fontsize="x-small")

    for column, (curves, ylabel, letter) in enumerate(
            ((training.mean_gz, "mean of G(z)", "c"),
             (training.d_fake, "D(G(z)) on the batch", "d")), start=2):
        ax = axes[0, column]
        for (optimizer, name), values in curves.items():
            x = np.arange(len(values)) + (letter == "d")
            ax.plot(x, values, "-" if optimizer == "SGD" else ":", color=COLOURS[name],
                    linewidth=1.4, label=f"{optimizer}, {name}")
        if letter == "c":
            ax.axhline(study.settings.data[0], color="black", linewidth=0.8, linestyle="--",
                       label="data mean")
        else:
            ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(ylabel)
        ax.set_title(f"({letter}) training from the same start")
        ax.legend(fontsize="x-small")
    fig.suptitle(title)
    return plot.save(fig, path)
