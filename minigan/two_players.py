"""The two players of a GAN, each trained alone against the other held fixed (chapter 2).

Proposition 1 of Goodfellow et al. (2014): for a fixed G, the discriminator's loss
L_D = -E_{p_data} log D(x) - E_{p_z} log(1 - D(G(z))) is minimised pointwise by

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),   min_D L_D = log 4 - 2 JSD(p_data || p_g).

``d_alone`` trains D alone against a fixed, hand-set generator (``affine_generator``: p_g is a
known Gaussian) and measures how close it gets to D* (a ``DAlone`` record). ``g_alone`` then
trains G alone against that fixed D: every sample runs uphill on D to D's peak, p_g collapses
and the JSD gets worse (a ``GAlone`` record); ``d_again`` trains D once more, and it rejects the
collapsed samples (a ``DAgain`` record). Densities live on the grid X (bins DX wide), host
NumPy float64.
"""
from __future__ import annotations

import dataclasses
import math

from minigan import backend as B
from minigan import plot
from minigan.densities import (gaussian_pdf, images, latent_quadrature, mass_interval,
                               optimal_discriminator, push_forward)
from minigan.gan import GAN
from minigan.metrics import jensen_shannon
from minigan.nn import Dense, Sequential, Tanh

np = B.np                     # host arrays: the grid, the densities, the figures

D_HIDDEN = 32
DX = 0.005
X_EDGES = np.arange(-7.0, 7.0 + DX / 2, DX)
X = (X_EDGES[:-1] + X_EDGES[1:]) / 2          # (K,) the grid for densities and D(x)
D_TOLERANCE = 0.05                            # max |D - D*| the text asks for
MASS = 0.99                                   # |D - D*| is read where this much mass lies


def build_discriminator():
    """D: x (N, 1) -> logit (N, 1), two hidden tanh layers of D_HIDDEN units."""
    return Sequential(Dense(1, D_HIDDEN), Tanh(), Dense(D_HIDDEN, D_HIDDEN), Tanh(),
                      Dense(D_HIDDEN, 1))


def affine_generator(scale, shift):
    """G(z) = scale * z + shift: a Dense(1->1) with hand-set weights; p_g = N(shift, scale^2)."""
    G = Dense(1, 1)
    G.W.data[...] = scale
    G.b.data[...] = shift
    return G


def affine_density(G):
    """p_g (K,) on the grid X of the affine G(z) = W z + b, z ~ N(0, 1): exactly N(b, W^2)."""
    scale = abs(float(B.to_numpy(G.W.data).reshape(-1)[0]))
    shift = float(B.to_numpy(G.b.data).reshape(-1)[0])
    return gaussian_pdf(X, shift, scale)


def generator_density(G, quadrature):
    """(p_g (K,) on the grid X as the push-forward histogram of p_z through G, G's mean, std).

    Unlike affine_density this copes with W -> 0, where p_g becomes a point mass (all of it in
    one bin of width DX). quadrature: (z (M, 1), weights (M,)) from latent_quadrature.
    """
    z, weights = quadrature
    x = images(G, z)
    mean = float((weights * x).sum())
    std = float(np.sqrt((weights * (x - mean) ** 2).sum()))
    return push_forward(x, weights, X_EDGES), mean, std


def decaying_lr(optimizer, steps: int, lr: float, final_lr: float):
    """set_lr(i): optimizer.lr for step i of ``steps``, constant for the first half, then
    geometric decay to ``final_lr``."""
    def set_lr(i):
        progress = i / steps
        optimizer.lr = lr if progress < 0.5 else lr * (final_lr / lr) ** ((progress - 0.5) / 0.5)
    return set_lr


def d_of_x(gan):
    """D(x) (K,) on the grid X (host float64)."""
    return B.to_numpy(gan.discriminate(B.asarray(X[:, None]))).astype(np.float64)


@dataclasses.dataclass
class DAlone:
    """D trained alone against a fixed affine G (``d_alone``).

    d_steps      the discriminator's steps; d_losses (d_steps,): its loss at each
    p_data, p_g, d_star, d_trained   (K,) on the grid X
    lo, hi       the central interval holding MASS of (p_data + p_g) / 2; region: (K,) bool
    d_error      max |D(x) - D*(x)| over that interval
    jsd          JSD(p_data || p_g);  d_loss_min = log 4 - 2 jsd = -V(D*, G)
    d_loss_end   D's loss, the mean over the last 10 % of the steps
    """

    d_steps: int
    d_losses: object
    p_data: object
    p_g: object
    d_star: object
    d_trained: object
    lo: float
    hi: float
    region: object
    d_error: float
    jsd: float
    d_loss_min: float
    d_loss_end: float


def d_alone(G, D, data, d_steps: int, batch_size: int, lr: float, final_lr: float) -> DAlone:
    """Train D alone for ``d_steps`` steps (Adam, ``lr`` decaying to ``final_lr``:
    decaying_lr) against the affine G, and compare it with D* (see DAlone)."""
    gan = GAN(G, D, data.sample, latent_dim=1, batch_size=batch_size, lr_d=lr)
    set_lr = decaying_lr(gan.d_optimizer, d_steps, lr, final_lr)
    d_losses = []
    for i in range(d_steps):
        set_lr(i)
        d_losses.append(gan.d_step()[0])                 # a 0-d array: read once, after the loop
    d_losses = B.to_numpy(B.xp.stack(d_losses))
    p_data, p_g = data.density(X), affine_density(G)
    d_star = optimal_discriminator(p_data, p_g)
    d_trained = d_of_x(gan)
    lo, hi = mass_interval(X, (p_data + p_g) / 2, MASS)
    region = (X >= lo) & (X <= hi)
    jsd = jensen_shannon(p_data, p_g, DX)
    return DAlone(d_steps=d_steps, d_losses=d_losses, p_data=p_data, p_g=p_g, d_star=d_star,
                  d_trained=d_trained, lo=lo, hi=hi, region=region,
                  d_error=float(np.abs(d_trained - d_star)[region].max()), jsd=jsd,
                  d_loss_min=math.log(4) - 2 * jsd,
                  d_loss_end=float(np.mean(d_losses[-max(1, d_steps // 10):])))


@dataclasses.dataclass
class GAlone:
    """G trained alone against the fixed, trained D (``g_alone``).

    g_steps      the generator's steps; g_losses (g_steps,): its loss at each
    d_peak       where D(x) is largest inside DAlone's interval
    p_g (K,), mean, std   G's density on X (push-forward histogram) and moments afterwards
    jsd          JSD(p_data || p_g) afterwards
    d_fake       mean D(G(z)) over ``noise`` (4096, 1), the fixed noise d_again reuses
    """

    g_steps: int
    g_losses: object
    d_peak: float
    p_g: object
    mean: float
    std: float
    jsd: float
    d_fake: float
    noise: object


def g_alone(G, D, data, before: DAlone, g_steps: int, batch_size: int, lr: float) -> GAlone:
    """Train G alone for ``g_steps`` steps (Adam, ``lr``) against the fixed D of ``before``."""
    d_peak = float(X[before.region][np.argmax(before.d_trained[before.region])])
    gan = GAN(G, D, data.sample, latent_dim=1, batch_size=batch_size, lr_g=lr)
    g_losses = B.to_numpy(B.xp.stack([gan.g_step() for _ in range(g_steps)]))
    p_g, mean, std = generator_density(G, latent_quadrature("normal", 1))
    jsd = jensen_shannon(before.p_data, p_g, DX)        # p_g: the histogram
    z = gan.sample_noise(4096)
    d_fake = float(B.to_numpy(gan.discriminate(gan.sample(4096, z=z))).mean())
    return GAlone(g_steps=g_steps, g_losses=g_losses, d_peak=d_peak, p_g=p_g, mean=mean,
                  std=std, jsd=jsd, d_fake=d_fake, noise=z)


@dataclasses.dataclass
class DAgain:
    """D trained again on the collapsed G (``d_again``): ``steps``, the mean D(G(z)) over
    GAlone's noise (``d_fake``), and D(x) (K,) on the grid X (``d``)."""

    steps: int
    d_fake: float
    d: object


def d_again(G, D, data, after: GAlone, steps: int, batch_size: int, lr: float) -> DAgain:
    """Train D for ``steps`` more steps (Adam, ``lr``) against the collapsed G of ``after``."""
    gan = GAN(G, D, data.sample, latent_dim=1, batch_size=batch_size, lr_d=lr)
    for _ in range(steps):
        gan.d_step()
    d_fake = float(B.to_numpy(gan.discriminate(gan.sample(4096, z=after.noise))).mean())
    return DAgain(steps=steps, d_fake=d_fake, d=d_of_x(gan))


def d_star_figure(path: str, part1: DAlone) -> str:
    """D trained alone beside D*, |D - D*| on a log scale, and D's loss settling at
    log 4 - 2 JSD; saved to ``path``."""
    region = (part1.lo, part1.hi)
    fig, axes = plot.new_figure(3, 1, (4.6, 3.6))
    ax = axes[0, 0]
    plot.panel_1d(ax, X, part1.p_data, part1.p_g, part1.d_trained, d_star=part1.d_star,
                  legend=True, ymax=1.15, title="D trained alone vs D* = p_data / (p_data + p_g)")
    ax.axvspan(*region, color="0.92", zorder=0)
    ax = axes[0, 1]
    ax.plot(X, np.abs(part1.d_trained - part1.d_star), color="tab:blue")
    ax.axhline(D_TOLERANCE, color="tab:red", linestyle=":", label=f"{D_TOLERANCE}")
    ax.axvspan(*region, color="0.92", zorder=0, label="99% of the mass")
    ax.set_yscale("log")
    ax.set_ylim(1e-5, 1)
    ax.set_title("|D(x) - D*(x)|")
    ax.legend(fontsize="small")
    ax = axes[0, 2]
    d_losses = part1.d_losses
    steps = np.arange(1, len(d_losses) + 1)
    window = max(1, len(d_losses) // 50)
    smoothed = np.convolve(d_losses, np.ones(window) / window, mode="valid")
    ax.plot(steps, d_losses, linewidth=0.5, alpha=0.35, color="tab:blue", label="D loss per step")
    ax.plot(steps[window - 1:], smoothed, color="tab:blue", label=f"mean of {window} steps")
    ax.axhline(part1.d_loss_min, color="black", linestyle="--",
               label=f"log 4 - 2 JSD = {part1.d_loss_min:.3f}")
    ax.set_xlabel("D step")
    ax.set_title("the discriminator's loss")
    ax.legend(fontsize="small")
    return plot.save(fig, path)


def g_alone_figure(path: str, part1: DAlone, part2: GAlone, part3: DAgain) -> str:
    """Before (D trained, G fixed), after G alone (collapse onto D's peak), after D again;
    saved to ``path``."""
    fig, axes = plot.new_figure(3, 1, (4.6, 3.6))
    plot.panel_1d(axes[0, 0], X, part1.p_data, part1.p_g, part1.d_trained,
                  title="before: D trained, G fixed", legend=True, ymax=1.6)
    plot.panel_1d(axes[0, 1], X, part1.p_data, part2.p_g, part1.d_trained,
                  title="G trained alone: collapse onto D's peak", ymax=1.6)
    plot.panel_1d(axes[0, 2], X, part1.p_data, part2.p_g, part3.d,
                  title="D trained again: the peak is rejected", ymax=1.6)
    return plot.save(fig, path)
