"""Chapter 3 -- the algorithm and its mathematics: min_G max_D V(D, G), Algorithm 1, Theorem 1.

Mirrors section 3 of the documents (核心算法原理和具体操作步骤以及数学模型公式详细讲解): 000 §3,
001 §3.1-3.3, 002 §2-§4 (the minimax formula and the five-step procedure), 003 §3.1-3.3,
004 §3.1-3.3.

Run:  python chapters/ch3_algorithm.py [--quick] [--seed S] [--iterations N] [--out DIR]
or open it as a notebook and run its cells in order (the settings cell takes the same options).
"""
# %% Imports and constants
import math
import os
import time

import numpy as np

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import plot, saturation
from minigan.data import Gaussian1D
from minigan.densities import (at_points, gaussian_pdf, images, latent_quadrature,
                               log_optimal_discriminator, optimal_discriminator, push_forward)
from minigan.gan import GAN
from minigan.metrics import jensen_shannon
from minigan.nn import Dense, Sequential, Tanh, functional

TITLE = ("Chapter 3 -- the algorithm and its mathematics: min_G max_D V(D, G), Algorithm 1, "
         "Theorem 1")
DATA_MEAN, DATA_STD = 3.0, 0.5          # p_data = N(3, 0.5^2)
G_HIDDEN, D_HIDDEN = 32, 16             # hidden units of G and D
BATCH_SIZE = 256                        # m
D_STEPS = 5                             # k
LR, FINAL_LR = 2e-3, 2e-5               # Adam; constant for the first half, then decayed
ITERATIONS, QUICK_ITERATIONS = 3000, 1000
DX = 0.01                               # bin width of the x grid for densities and integrals
PLOT_EDGES = np.arange(-2.0, 5.5 + DX / 2, 2 * DX)      # the window of the figures
PLOT_GRID = (PLOT_EDGES[:-1] + PLOT_EDGES[1:]) / 2
FIGURE1_ITERATION = 300                 # the "(a) near convergence" state of Figure 1
FIGURE1_D_STEPS, FIGURE1_G_STEPS = 300, 10   # panel (b): D alone; panel (c): G alone
YMAX = 1.6                              # top of the 1D panels (a collapsed p_g is cut off)
Z_LINES = np.linspace(-2.0, 2.0, 25)    # the noise values drawn as lines z -> G(z)
SATURATION_D_STEPS = 200                # D trained alone against the initial G


# %% [markdown]
# The game. A generator G pushes noise z ~ p_z forward to samples x = G(z) with density p_g; a
# discriminator D(x) in (0, 1) is the probability that x came from the data. The value
#
#     V(D, G) = E_{x ~ p_data} [log D(x)] + E_{z ~ p_z} [log(1 - D(G(z)))]
#
# is maximised by D and minimised by G:  min_G max_D V(D, G).
#
# Proposition 1 (the optimal discriminator). For a fixed G the integrand
# p_data(x) log D + p_g(x) log(1 - D) is maximised pointwise by
#
#     D*(x) = p_data(x) / (p_data(x) + p_g(x)).
#
# Theorem 1 (what G minimises). Substituting D* gives the generator's criterion
#
#     C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g),
#     JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m),  m = (p + q) / 2,
#
# so C(G) >= -log 4, with equality exactly when p_g = p_data (then D* = 1/2 everywhere).
# This chapter checks it numerically: p_g is computed as the push-forward of p_z through the
# trained network (a quadrature over 50 000 values of z), V(D*, G) is integrated directly (the
# data term over x, the generator term over z), the JSD is integrated separately
# (``minigan.metrics.jensen_shannon``), and the two sides agree to 1e-3 at every checkpoint --
# in fact to round-off: on a grid the identity holds term by term once both densities carry
# unit mass, so the check confirms the algebra of Theorem 1 and that the quadrature keeps all of
# p_g's mass. Alongside, V(D, G) with the trained D stays below V(D*, G) (Proposition 1).

# %% The players, and everything Theorem 1 talks about measured on a grid
def build_generator():
    """G: z (N, 1) -> x (N, 1), one hidden tanh layer."""
    return Sequential(Dense(1, G_HIDDEN), Tanh(), Dense(G_HIDDEN, 1))


def build_discriminator():
    """D: x (N, 1) -> logit (N, 1), two hidden tanh layers; D(x) = sigmoid(logit)."""
    return Sequential(Dense(1, D_HIDDEN), Tanh(), Dense(D_HIDDEN, D_HIDDEN), Tanh(),
                      Dense(D_HIDDEN, 1))


def clone(build, module):
    """A new module with the same architecture and a copy of ``module``'s parameters."""
    twin = build()
    twin.load_state_dict(module.state_dict())
    return twin


def log_sigmoid(logits):
    """log sigmoid(l) of host logits, stable for any l."""
    return functional.log_sigmoid(logits, np)


def sigmoid(logits):
    """D(x) = sigmoid(l) of host logits, without overflow."""
    return functional.sigmoid(logits, np)


def measure(G, D, data, quadrature):
    """Everything Theorem 1 talks about, for the current G and D.

    Returns a dict with the x grid (bin centres, spacing DX), p_data, p_g, D(x) and D*(x) on it,
    the moments of p_g, V(D, G), V(D*, G), JSD(p_data || p_g) and the Theorem-1 gap
    |V(D*, G) - (-log 4 + 2 JSD)|.
    """
    z, weights = quadrature
    gz = images(G, z)                                                      # (M,) x = G(z_j)
    lo = min(float(gz.min()), DATA_MEAN - 10 * DATA_STD) - 5 * DX
    hi = max(float(gz.max()), DATA_MEAN + 10 * DATA_STD) + 5 * DX
    edges = lo + DX * np.arange(int(math.ceil((hi - lo) / DX)) + 1)
    x = (edges[:-1] + edges[1:]) / 2                                       # (K,) bin centres
    p_g = push_forward(gz, weights, edges)
    p_data = data.density(x)
    d_star = optimal_discriminator(p_data, p_g)

    # V(D*, G): the data term integrated over x, the generator term over z, as V is written
    # (log(1 - D*) read at G(z_j) from the grid, as push_forward deposited G(z_j) onto it)
    log_d_star, log_one_minus_d_star = log_optimal_discriminator(p_data, p_g)
    v_star = float(np.where(p_data > 0, p_data * log_d_star, 0.0).sum() * DX
                   + (weights * at_points(log_one_minus_d_star, edges, gz)).sum())
    jsd = jensen_shannon(p_data, p_g, DX)

    # V(D, G) with the trained discriminator: never above V(D*, G) (Proposition 1)
    logits_x, logits_gz = images(D, x[:, None]), images(D, gz[:, None])
    v_trained = float((p_data * log_sigmoid(logits_x)).sum() * DX
                      + (weights * log_sigmoid(-logits_gz)).sum())
    mean = float((weights * gz).sum())
    std = float(math.sqrt((weights * (gz - mean) ** 2).sum()))
    return {"x": x, "p_data": p_data, "p_g": p_g, "d": sigmoid(logits_x),
            "d_star": d_star, "mean": mean, "std": std, "v_trained": v_trained,
            "v_star": v_star, "jsd": jsd, "theorem1": -math.log(4) + 2 * jsd,
            "gap": abs(v_star - (-math.log(4) + 2 * jsd))}


def frame(G, D, quadrature, iteration):
    """What one GIF frame shows: (iteration, p_g, D(x)) on the plotting grid."""
    z, weights = quadrature
    p_g = push_forward(images(G, z), weights, PLOT_EDGES)
    d = sigmoid(images(D, PLOT_GRID[:, None]))
    return iteration, p_g, d


def on_plot_range(state, key):
    """state[key] resampled on the fixed plotting grid."""
    return PLOT_GRID, np.interp(PLOT_GRID, state["x"], state[key], left=0.0, right=0.0)


def panel(state, G, title, with_d_star=False):
    """Keyword arguments of plot.panel_1d for one state."""
    grid, p_g = on_plot_range(state, "p_g")
    _, d = on_plot_range(state, "d")
    gz_lines = B.to_numpy(G.forward(B.asarray(Z_LINES[:, None]))).reshape(-1)
    result = {"x": grid, "p_data": gaussian_pdf(grid, DATA_MEAN, DATA_STD), "p_g": p_g, "d": d,
              "mapping": (Z_LINES, gz_lines), "title": title}
    if with_d_star:                      # D* is 0/0 where neither density has mass: not drawn
        d_star = on_plot_range(state, "d_star")[1]
        d_star[(result["p_data"] + p_g) < 1e-3] = np.nan
        result["d_star"] = d_star
    return result


def lr_schedule(iterations):
    """A callback: LR for the first half, then geometric decay to FINAL_LR at the end."""
    def callback(gan):
        progress = gan.iteration / iterations
        lr = LR if progress < 0.5 else LR * (FINAL_LR / LR) ** ((progress - 0.5) / 0.5)
        gan.g_optimizer.lr = gan.d_optimizer.lr = lr
    return callback


def _theorem1_figure(path, checkpoints, states):
    """V(D*, G), -log 4 + 2 JSD and V(D, G) at the checkpoints."""
    fig, axes = plot.new_figure(1, 1, (6.0, 4.0))
    ax = axes[0, 0]
    its = [max(it, 1) for it in checkpoints]
    ax.plot(its, [states[i]["v_star"] for i in checkpoints], "o-", label="V(D*, G), integrated")
    ax.plot(its, [states[i]["theorem1"] for i in checkpoints], "x--",
            label="-log 4 + 2 JSD(p_data || p_g)")
    ax.plot(its, [states[i]["v_trained"] for i in checkpoints], "s:",
            label="V(D, G), the trained D")
    ax.axhline(-math.log(4), color="gray", linewidth=0.8, label="-log 4")
    ax.set_xscale("log")
    ax.set_xlabel("iteration (0 drawn at 1)")
    ax.set_title("Theorem 1: C(G) = V(D*, G) = -log 4 + 2 JSD")
    ax.legend(fontsize="small")
    return plot.save(fig, path)


# %% Settings: as a script, the command line; in a notebook, `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch3_algorithm")
parser.add_argument("--iterations", type=chapter.positive_int, default=None,
                    help=f"generator steps (default {ITERATIONS}, {QUICK_ITERATIONS} with --quick)")
args = chapter.parse_args(parser, notebook="--quick")
iterations = args.iterations or (QUICK_ITERATIONS if args.quick else ITERATIONS)
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures


# %% [markdown]
# Algorithm 1 (Goodfellow et al., 2014): each iteration takes k discriminator steps -- a minibatch
# of m real points and m noise samples, ascend 1/m sum [log D(x) + log(1 - D(G(z)))] -- and then
# one generator step on fresh noise. ``minigan.gan.GAN`` is that loop. Here k = 5: with D close to
# D* the generator follows the gradient of the JSD (Theorem 1) instead of circling the equilibrium.

# %% Algorithm 1, measured at checkpoints
data = Gaussian1D(DATA_MEAN, DATA_STD)
G, D = build_generator(), build_discriminator()
gan = GAN(G, D, data.sample, latent_dim=1, noise="normal", objective="non-saturating",
          d_steps=D_STEPS, batch_size=BATCH_SIZE, lr_g=LR, lr_d=LR)
quadrature = latent_quadrature("normal", 1)
checkpoints = sorted({c for c in (0, 10, 50, 100, FIGURE1_ITERATION, 500, iterations // 4,
                                  iterations // 2, iterations) if c <= iterations})
states, models, frames = {}, {}, []          # measurements, model copies, GIF frames
frame_every = max(1, iterations // (8 if args.quick else 30))    # GIF frames


def observe(gan):
    """After each iteration: measure at the checkpoints, keep frames for the GIF."""
    if gan.iteration in checkpoints:
        states[gan.iteration] = measure(G, D, data, quadrature)
        models[gan.iteration] = (clone(build_generator, G), clone(build_discriminator, D))
    if gan.iteration % frame_every == 0:
        frames.append(frame(G, D, quadrature, gan.iteration))


observe(gan)
train_start = time.perf_counter()
gan.train(iterations, callbacks=[lr_schedule(iterations), observe],
          log_every=max(1, iterations // 5))
train_seconds = time.perf_counter() - train_start
final = states[iterations]

# %% Theorem 1 at every checkpoint
print("\n iteration   V(D,G)    V(D*,G)   -log4+2JSD    |gap|      JSD     mean    std")
for it in checkpoints:
    s = states[it]
    print(f" {it:>9d}  {s['v_trained']:8.4f}  {s['v_star']:8.4f}  {s['theorem1']:10.4f}  "
          f"{s['gap']:9.2e}  {s['jsd']:7.4f}  {s['mean']:6.3f}  {s['std']:5.3f}")

# %% Figure 1, (a)-(d): a state near convergence, D trained towards D*, G updated, the end
it_a = min(FIGURE1_ITERATION, iterations)
G_a, D_a = models[it_a]
D_b = clone(build_discriminator, D_a)
inner = GAN(G_a, D_b, data.sample, latent_dim=1, batch_size=BATCH_SIZE, lr_d=LR)
for _ in range(FIGURE1_D_STEPS):
    inner.d_step()                                    # (b): D alone, towards D*
state_b = measure(G_a, D_b, data, quadrature)
G_c = clone(build_generator, G_a)
outer = GAN(G_c, D_b, data.sample, latent_dim=1, batch_size=BATCH_SIZE, lr_g=LR / 4)
for _ in range(FIGURE1_G_STEPS):
    outer.g_step()                                    # (c): G follows D's gradient
state_c = measure(G_c, D_b, data, quadrature)
figures = [chapter.show(plot.figure_1d(os.path.join(out, "figure1.png"), [
    panel(states[it_a], G_a, f"(a) iteration {it_a}"),
    panel(state_b, G_a, "(b) D trained towards D*", with_d_star=True),
    panel(state_c, G_c, f"(c) after {FIGURE1_G_STEPS} G steps"),
    panel(final, G, f"(d) iteration {iterations}")],
    title="Goodfellow et al. (2014), Figure 1, redrawn with this chapter's networks",
    ymax=YMAX))]

# %% Four chosen iterations, the Theorem-1 curve, the losses, and an animation
shown = sorted({0, min(50, iterations), min(100, iterations), iterations})
figures.append(chapter.show(plot.figure_1d(
    os.path.join(out, "training_panels.png"),
    [panel(states[it], models[it][0], f"iteration {it}") for it in shown],
    title="p_data, p_g and D(x) during training", ymax=YMAX)))
figures.append(chapter.show(_theorem1_figure(os.path.join(out, "theorem1.png"), checkpoints,
                                             states)))
figures.append(chapter.show(plot.history(
    os.path.join(out, "history.png"), gan.history,
    title=f"Algorithm 1 on N({DATA_MEAN:g}, {DATA_STD:g}^2), k = {D_STEPS}")))
p_data_grid = gaussian_pdf(PLOT_GRID, DATA_MEAN, DATA_STD)


def draw(ax, item):
    it, p_g, d = item
    plot.panel_1d(ax, PLOT_GRID, p_data_grid, p_g, d, title=f"iteration {it}", legend=True,
                  ymax=YMAX)


figures.append(chapter.show(plot.save_gif(os.path.join(out, "training.gif"), frames, draw,
                                          fps=3 if args.quick else 6)))


# %% [markdown]
# Two generator losses. The minimax game has G minimise log(1 - D(G(z))) ("saturating"): its
# gradient with respect to D's logit l is -D(G(z)), which vanishes when D confidently rejects the
# fakes -- exactly the situation at the start of training. The paper's remedy, G maximising
# log D(G(z)) ("non-saturating"), has the same fixed point and gradient -(1 - D(G(z))) there.

# %% Saturating vs non-saturating generator loss (minigan.saturation, shared with chapter 5)
G0, D0 = clone(build_generator, models[0][0]), clone(build_discriminator, models[0][1])
rejection = saturation.reject(G0, D0, data.sample, d_steps=SATURATION_D_STEPS,  # D alone
                              batch_size=BATCH_SIZE, lr=LR, probe_every=SATURATION_D_STEPS)
figures.append(chapter.show(saturation.losses_figure(
    os.path.join(out, "generator_losses.png"), rejection,
    chapter.title(args, "The two generator losses, and where a D trained against the initial G "
                        "puts the fakes"))))
grad_at_0_01 = {name: float(saturation.per_sample_gradient([0.01], name)[0])
                for name in saturation.LOSSES}


# %% [markdown]
# Errata in the documents, corrected here:
#   * 001 §3.2 writes the generator's step as max_G V(D, G): the generator MINIMISES V (in practice
#     it maximises log D(G(z)), the non-saturating loss); 001 §3.3's min_D of -V is the same as
#     max_D V and is right.
#   * 002 §3 lists the generator's update before the discriminator's; Algorithm 1 first takes k
#     discriminator steps, then one generator step (002 §4's code updates both at once).
#   * 003 §3.3 calls training "maximising the maximum entropy": the game minimises the
#     Jensen-Shannon divergence between p_data and p_g (Theorem 1); no entropy is maximised.
#   * 004 §3.3 writes "G(z) = D(G(z))" and "D(x) = G(z)": G maps noise to samples, D maps samples
#     to a probability; neither equals the other. Its "max_D min_G" swaps the order of the game.

# %% What was measured
numbers = {
    "iterations": iterations,
    "train_seconds": train_seconds,
    "seconds": time.perf_counter() - start,
    "data_mean": DATA_MEAN, "data_std": DATA_STD,
    "final_mean": final["mean"], "final_std": final["std"],
    "mean_rel_error": abs(final["mean"] - DATA_MEAN) / DATA_MEAN,
    "std_rel_error": abs(final["std"] - DATA_STD) / DATA_STD,
    "final_v_star": final["v_star"], "final_jsd": final["jsd"],
    "minus_log4": -math.log(4),
    "max_theorem1_gap": max(states[it]["gap"] for it in checkpoints),
    "max_v_trained_excess": max(states[it]["v_trained"] - states[it]["v_star"]
                                for it in checkpoints),
    "grad_saturating_at_0.01": grad_at_0_01["minimax"],
    "grad_nonsaturating_at_0.01": grad_at_0_01["non-saturating"],
    "initial_d_fake": rejection.d_fake_end,
    "g_grad_norm_saturating": float(rejection.norms["minimax"][-1]),
    "g_grad_norm_nonsaturating": float(rejection.norms["non-saturating"][-1]),
}
result = chapter.report(numbers, figures, args)
result["checkpoints"] = {it: {k: states[it][k] for k in ("v_trained", "v_star", "theorem1",
                                                         "jsd", "gap", "mean", "std")}
                         for it in checkpoints}
