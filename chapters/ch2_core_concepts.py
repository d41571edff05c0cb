"""Chapter 2 -- core concepts: the two players, each player's loss, and the optimal discriminator.

Mirrors section 2 of the documents (核心概念与联系): 000 §2, 001 §2.1-2.2, 002 §2, 003 §2.1,
004 §2.1-2.3.

Run:  python chapters/ch2_core_concepts.py [--quick] [--seed S] [--out DIR]
or open it as a notebook and run its cells in order (the settings cell takes the same options).
"""
# %% Imports and constants
import math
import os

import numpy as np

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import plot
from minigan.data import Mixture1D
from minigan.densities import (gaussian_pdf, images, latent_quadrature, mass_interval,
                               optimal_discriminator, push_forward)
from minigan.gan import GAN
from minigan.metrics import jensen_shannon
from minigan.nn import Dense, Sequential, Tanh

TITLE = ("Chapter 2 -- core concepts: the two players, each player's loss, and the optimal "
         "discriminator")
DATA_MEANS, DATA_STD = (-2.0, 2.0), 0.5       # p_data = 1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2)
G_SCALE, G_SHIFT = 2.0, 0.3                   # the fixed generator x = 2 z + 0.3
D_HIDDEN = 32
BATCH_SIZE = 256
LR_D, FINAL_LR_D = 1e-2, 2e-5                 # Adam; constant for half the steps, then decayed
D_STEPS, QUICK_D_STEPS = 8000, 3000
LR_G, G_STEPS = 2e-2, 500                     # part 2: the generator alone
REPAIR_STEPS = 300                            # part 2: D trained again on the collapsed G
DX = 0.005
X_EDGES = np.arange(-7.0, 7.0 + DX / 2, DX)
X = (X_EDGES[:-1] + X_EDGES[1:]) / 2          # the grid for densities and D(x)
D_TOLERANCE = 0.05


# %% [markdown]
# The players. The generator G maps noise z ~ p_z to a sample x = G(z); the samples have a density
# p_g. The discriminator D maps a sample x to D(x) in (0, 1), its belief that x is real. Here D is
# a network whose last layer outputs a logit l, and D(x) = sigmoid(l).
#
# The discriminator's loss is binary cross-entropy with label 1 for data and 0 for samples of G:
#
#     L_D = -E_{x ~ p_data} log D(x) - E_{z ~ p_z} log(1 - D(G(z))) = -V(D, G).
#
# For a fixed G, minimising it pointwise gives (Proposition 1 of Goodfellow et al., 2014)
#
#     D*(x) = p_data(x) / (p_data(x) + p_g(x)),
#     min_D L_D = -V(D*, G) = log 4 - 2 JSD(p_data || p_g).

# %% The players, their densities, and the figures
def build_discriminator():
    """D: x (N, 1) -> logit (N, 1), two hidden tanh layers."""
    return Sequential(Dense(1, D_HIDDEN), Tanh(), Dense(D_HIDDEN, D_HIDDEN), Tanh(),
                      Dense(D_HIDDEN, 1))


def affine_generator(scale, shift):
    """G(z) = scale * z + shift: a Dense(1->1) with hand-set weights; p_g = N(shift, scale^2)."""
    G = Dense(1, 1)
    G.W.data[...] = scale
    G.b.data[...] = shift
    return G


def affine_density(G):
    """p_g on the grid X of the affine G(z) = W z + b, z ~ N(0, 1): exactly N(b, W^2)."""
    scale = abs(float(B.to_numpy(G.W.data).reshape(-1)[0]))
    shift = float(B.to_numpy(G.b.data).reshape(-1)[0])
    return gaussian_pdf(X, shift, scale)


def generator_density(G, quadrature):
    """p_g on the grid X as the push-forward histogram of p_z through G, and G's mean and std.

    Unlike affine_density this copes with W -> 0, where p_g becomes a point mass (all of it in
    one bin of width DX).
    """
    z, weights = quadrature
    x = images(G, z)
    mean = float((weights * x).sum())
    std = float(np.sqrt((weights * (x - mean) ** 2).sum()))
    return push_forward(x, weights, X_EDGES), mean, std


def decaying_lr(optimizer, steps, lr, final_lr):
    """Set optimizer.lr for step i: constant for the first half, geometric decay after."""
    def set_lr(i):
        progress = i / steps
        optimizer.lr = lr if progress < 0.5 else lr * (final_lr / lr) ** ((progress - 0.5) / 0.5)
    return set_lr


def d_of_x(gan):
    """D(x) on the grid X (host)."""
    return B.to_numpy(gan.discriminate(B.asarray(X[:, None]))).astype(np.float64)


def _d_star_figure(path, p_data, p_g, d_trained, d_star, region, d_losses, d_loss_min):
    fig, axes = plot.new_figure(3, 1, (4.6, 3.6))
    ax = axes[0, 0]
    plot.panel_1d(ax, X, p_data, p_g, d_trained, d_star=d_star, legend=True, ymax=1.15,
                  title="D trained alone vs D* = p_data / (p_data + p_g)")
    ax.axvspan(*region, color="0.92", zorder=0)
    ax = axes[0, 1]
    ax.plot(X, np.abs(d_trained - d_star), color="tab:blue")
    ax.axhline(D_TOLERANCE, color="tab:red", linestyle=":", label=f"{D_TOLERANCE}")
    ax.axvspan(*region, color="0.92", zorder=0, label="99% of the mass")
    ax.set_yscale("log")
    ax.set_ylim(1e-5, 1)
    ax.set_title("|D(x) - D*(x)|")
    ax.legend(fontsize="small")
    ax = axes[0, 2]
    steps = np.arange(1, len(d_losses) + 1)
    window = max(1, len(d_losses) // 50)
    smoothed = np.convolve(d_losses, np.ones(window) / window, mode="valid")
    ax.plot(steps, d_losses, linewidth=0.5, alpha=0.35, color="tab:blue", label="D loss per step")
    ax.plot(steps[window - 1:], smoothed, color="tab:blue", label=f"mean of {window} steps")
    ax.axhline(d_loss_min, color="black", linestyle="--",
               label=f"log 4 - 2 JSD = {d_loss_min:.3f}")
    ax.set_xlabel("D step")
    ax.set_title("the discriminator's loss")
    ax.legend(fontsize="small")
    return plot.save(fig, path)


def _g_alone_figure(path, p_data, p_g_before, d_fixed, p_g_after, d_repaired, g_losses):
    fig, axes = plot.new_figure(3, 1, (4.6, 3.6))
    plot.panel_1d(axes[0, 0], X, p_data, p_g_before, d_fixed, title="before: D trained, G fixed",
                  legend=True, ymax=1.6)
    plot.panel_1d(axes[0, 1], X, p_data, p_g_after, d_fixed,
                  title="G trained alone: collapse onto D's peak", ymax=1.6)
    plot.panel_1d(axes[0, 2], X, p_data, p_g_after, d_repaired,
                  title="D trained again: the peak is rejected", ymax=1.6)
    return plot.save(fig, path)


# %% Settings: as a script, the command line; in a notebook, `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch2_core_concepts")
parser.add_argument("--d-steps", type=chapter.positive_int, default=None,
                    help=f"discriminator steps in part 1 (default {D_STEPS}, "
                         f"{QUICK_D_STEPS} with --quick)")
parser.add_argument("--g-steps", type=chapter.positive_int, default=G_STEPS,
                    help=f"generator steps in part 2 (default {G_STEPS})")
args = chapter.parse_args(parser, notebook="--quick")
d_steps = args.d_steps or (QUICK_D_STEPS if args.quick else D_STEPS)
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures
data = Mixture1D(DATA_MEANS, (DATA_STD, DATA_STD))
p_data = data.density(X)


# %% [markdown]
# Part 1 trains D alone against a fixed, hand-set generator (x = 2 z + 0.3, so p_g = N(0.3, 2^2)
# exactly) and a two-mode data distribution, and measures max |D(x) - D*(x)| over the interval
# holding 99% of the mass of (p_data + p_g) / 2: below 0.05. Its loss settles at log 4 - 2 JSD.

# %% Part 1: D alone against a fixed generator -> D*
G = affine_generator(G_SCALE, G_SHIFT)
D = build_discriminator()
gan = GAN(G, D, data.sample, latent_dim=1, batch_size=BATCH_SIZE, lr_d=LR_D)
set_lr = decaying_lr(gan.d_optimizer, d_steps, LR_D, FINAL_LR_D)
d_losses = []
for i in range(d_steps):
    set_lr(i)
    d_losses.append(gan.d_step()[0])                 # a 0-d array: read once, after the loop
d_losses = B.to_numpy(B.xp.stack(d_losses))
p_g = affine_density(G)
d_star = optimal_discriminator(p_data, p_g)
d_trained = d_of_x(gan)
lo, hi = mass_interval(X, (p_data + p_g) / 2, 0.99)
region = (X >= lo) & (X <= hi)
d_error = float(np.abs(d_trained - d_star)[region].max())
jsd_before = jensen_shannon(p_data, p_g, DX)
d_loss_min = math.log(4) - 2 * jsd_before              # -V(D*, G)
d_loss_end = float(np.mean(d_losses[-max(1, d_steps // 10):]))
print(f"part 1: D trained alone for {d_steps} steps against G(z) = {G_SCALE} z + {G_SHIFT}")
print(f"  max |D - D*| on [{lo:.2f}, {hi:.2f}] (99% of the mass): {d_error:.4f}")
print(f"  D loss (mean of the last 10%) {d_loss_end:.4f}; its minimum "
      f"log 4 - 2 JSD = {d_loss_min:.4f}")

# %% D against D*, and D's loss settling at log 4 - 2 JSD
figures = [chapter.show(_d_star_figure(os.path.join(out, "d_star.png"), p_data, p_g, d_trained,
                                       d_star, (lo, hi), d_losses, d_loss_min))]


# %% [markdown]
# The generator's loss is -E_z log D(G(z)) (the non-saturating form; the minimax form is
# E_z log(1 - D(G(z))), see chapter 3). Part 2 trains G alone against the fixed, trained D: every
# sample is pushed uphill on D, so all of them run to the point where D is largest -- p_g collapses
# onto one mode, and JSD(p_data || p_g) gets WORSE. D(G(z)) is high, so G "wins" -- until D is
# trained again and rejects the collapsed samples. Neither player can be trained alone: the game
# needs the alternation of Algorithm 1 (chapter 3).

# %% Part 2: G alone against the fixed, trained D -> collapse onto D's peak
d_peak = float(X[region][np.argmax(d_trained[region])])
g_gan = GAN(G, D, data.sample, latent_dim=1, batch_size=BATCH_SIZE, lr_g=LR_G)
g_losses = B.to_numpy(B.xp.stack([g_gan.g_step() for _ in range(args.g_steps)]))
p_g_after, mean_after, std_after = generator_density(G, latent_quadrature("normal", 1))
jsd_after = jensen_shannon(p_data, p_g_after, DX)   # p_g_after: the histogram
z = g_gan.sample_noise(4096)
d_fake_after = float(B.to_numpy(g_gan.discriminate(g_gan.sample(4096, z=z))).mean())
print(f"part 2: G trained alone for {args.g_steps} steps against that D")
print(f"  p_g: N({G_SHIFT}, {G_SCALE}^2) -> N({mean_after:.3f}, {std_after:.4f}^2); "
      f"D is largest at x = {d_peak:.3f}")
print(f"  JSD(p_data || p_g): {jsd_before:.4f} -> {jsd_after:.4f}; "
      f"mean D(G(z)) = {d_fake_after:.3f}")

# %% ... and D, trained again, rejects the collapsed samples
repair = GAN(G, D, data.sample, latent_dim=1, batch_size=BATCH_SIZE, lr_d=LR_D / 3)
for _ in range(REPAIR_STEPS):
    repair.d_step()
d_fake_repaired = float(B.to_numpy(repair.discriminate(repair.sample(4096, z=z))).mean())
d_repaired = d_of_x(repair)
print(f"  after {REPAIR_STEPS} more D steps: mean D(G(z)) = {d_fake_repaired:.3f}")
figures.append(chapter.show(_g_alone_figure(os.path.join(out, "generator_alone.png"), p_data,
                                            p_g, d_trained, p_g_after, d_repaired, g_losses)))


# %% [markdown]
# Errata in the documents, corrected here:
#   * 004 §2.1: "the generator's output is the product of a noise matrix and an image-feature
#     matrix" -- the output is G(z), a learned nonlinear function of the noise, not a product.
#   * 004 §3.3: "G(z) = D(G(z))" and "D(x) = G(z)" -- G maps noise to samples and D maps samples to
#     a probability; the losses compare D's outputs on real and generated samples.
#   * 000 §3: "the generator's loss is the discriminator's output" -- it is log(1 - D(G(z)))
#     (minimax) or -log D(G(z)) (non-saturating), a function of D's output on the fakes.
#   * 001 §2.1 and 004 §2.2 describe D's input as "the generated and the real data" together: D
#     sees one sample at a time and outputs one probability for it; real and generated batches
#     enter its loss with different labels.

# %% What was measured
numbers = {
    "d_steps": d_steps,
    "max_abs_d_minus_d_star": d_error,
    "region_lo": lo, "region_hi": hi,
    "d_loss_end": d_loss_end, "d_loss_min": d_loss_min,
    "jsd_before": jsd_before, "jsd_after_g_alone": jsd_after,
    "g_mean_after": mean_after, "g_std_after": std_after, "d_peak": d_peak,
    "d_fake_after_g_alone": d_fake_after, "d_fake_after_d_retrained": d_fake_repaired,
}
result = chapter.report(numbers, figures, args)
