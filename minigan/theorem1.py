"""Theorem 1 measured on a 1D GAN: chapter 3's players, what it measures, and its figures.

Goodfellow et al. (2014): for a fixed G the optimal discriminator is
D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Proposition 1), and the generator's criterion is

    C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g)          (Theorem 1),

so C(G) >= -log 4, with equality exactly when p_g = p_data. On the line all of it can be
computed: p_g is the push-forward of p_z through G (``minigan.densities``), V(D*, G) is
integrated directly and the JSD separately (``minigan.metrics.jensen_shannon``).

    build_generator(), build_discriminator()   G: z (N, 1) -> x (N, 1); D: x (N, 1) -> logit
    clone(build, module)                       a copy with the same parameters
    measure(G, D, data, quadrature)            everything Theorem 1 talks about -> Measurement
    Recorder(...)                              a GAN.train callback: measurements at checkpoints,
                                               model copies, GIF frames
    lr_schedule(iterations, lr, final_lr)      constant, then geometric decay (a callback)
    figure1_steps(...)                         Figure 1's (b) and (c): D alone, then G alone
    panel(state, G, data, title)               one panel of plot.figure_1d
    checkpoint_table, theorem1_figure, training_gif   the printed table and the figures

Everything measured is host NumPy float64.
"""
from __future__ import annotations

import dataclasses
import math

from minigan import backend as B
from minigan import plot
from minigan.densities import (at_points, gaussian_pdf, images, log_optimal_discriminator,
                               optimal_discriminator, push_forward)
from minigan.gan import GAN
from minigan.metrics import jensen_shannon
from minigan.nn import Dense, Sequential, Tanh, functional

np = B.np                     # host arrays: the grids, the densities, the figures

G_HIDDEN, D_HIDDEN = 32, 16             # hidden units of G and D
DX = 0.01                               # bin width of the x grid for densities and integrals
PLOT_EDGES = np.arange(-2.0, 5.5 + DX / 2, 2 * DX)      # the window of the figures
PLOT_GRID = (PLOT_EDGES[:-1] + PLOT_EDGES[1:]) / 2
YMAX = 1.6                              # top of the 1D panels (a collapsed p_g is cut off)
Z_LINES = np.linspace(-2.0, 2.0, 25)    # the noise values drawn as lines z -> G(z)


def build_generator():
    """G: z (N, 1) -> x (N, 1), one hidden tanh layer of G_HIDDEN units."""
    return Sequential(Dense(1, G_HIDDEN), Tanh(), Dense(G_HIDDEN, 1))


def build_discriminator():
    """D: x (N, 1) -> logit (N, 1), two hidden tanh layers of D_HIDDEN units;
    D(x) = sigmoid(logit)."""
    return Sequential(Dense(1, D_HIDDEN), Tanh(), Dense(D_HIDDEN, D_HIDDEN), Tanh(),
                      Dense(D_HIDDEN, 1))


def clone(build, module):
    """A new module ``build()`` with a copy of ``module``'s parameters (the new module's own
    initialisation draws from minigan's generator first)."""
    twin = build()
    twin.load_state_dict(module.state_dict())
    return twin


def log_sigmoid(logits):
    """log sigmoid(l) of host logits (any shape), stable for any l."""
    return functional.log_sigmoid(logits, np)


def sigmoid(logits):
    """D(x) = sigmoid(l) of host logits (any shape), without overflow."""
    return functional.sigmoid(logits, np)


@dataclasses.dataclass
class Measurement:
    """Everything Theorem 1 talks about, for one (G, D).

    x           (K,) bin centres of the grid (spacing DX) covering p_data and all of p_g
    p_data, p_g, d, d_star   (K,) the densities, D(x) and D*(x) on it
    mean, std   p_g's moments
    v_trained   V(D, G) with the trained D (never above v_star: Proposition 1)
    v_star      V(D*, G), integrated (the data term over x, the generator term over z)
    jsd         JSD(p_data || p_g), integrated separately
    theorem1    -log 4 + 2 jsd;  gap: |v_star - theorem1|
    """

    x: object
    p_data: object
    p_g: object
    d: object
    d_star: object
    mean: float
    std: float
    v_trained: float
    v_star: float
    jsd: float
    theorem1: float
    gap: float

    #: The scalars a chapter cites at each checkpoint, in the order it reports them.
    CITED = ("v_trained", "v_star", "theorem1", "jsd", "gap", "mean", "std")

    def cited(self) -> dict:
        """{name: value} of the CITED scalars."""
        return {name: getattr(self, name) for name in self.CITED}


def measure(G, D, data, quadrature) -> Measurement:
    """Everything Theorem 1 talks about for the current G and D (see Measurement).

    data: a Gaussian1D (p_data, its ``density``); quadrature: (z (M, 1), weights (M,)) from
    minigan.densities.latent_quadrature.
    """
    z, weights = quadrature
    gz = images(G, z)                                                      # (M,) x = G(z_j)
    lo = min(float(gz.min()), data.loc - 10 * data.scale) - 5 * DX
    hi = max(float(gz.max()), data.loc + 10 * data.scale) + 5 * DX
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
    return Measurement(x=x, p_data=p_data, p_g=p_g, d=sigmoid(logits_x), d_star=d_star,
                       mean=mean, std=std, v_trained=v_trained, v_star=v_star, jsd=jsd,
                       theorem1=-math.log(4) + 2 * jsd,
                       gap=abs(v_star - (-math.log(4) + 2 * jsd)))


def frame(G, D, quadrature, iteration):
    """What one GIF frame shows: (iteration, p_g (P,), D(x) (P,)) on PLOT_GRID."""
    z, weights = quadrature
    p_g = push_forward(images(G, z), weights, PLOT_EDGES)
    d = sigmoid(images(D, PLOT_GRID[:, None]))
    return iteration, p_g, d


class Recorder:
    """A GAN.train callback (call it once before training too): at each iteration in
    ``checkpoints`` it measures (G, D) into ``states`` and keeps copies of both in ``models``;
    every ``frame_every`` iterations it appends a GIF frame (``frame``) to ``frames``."""

    def __init__(self, G, D, data, quadrature, checkpoints, frame_every: int):
        self.G, self.D, self.data, self.quadrature = G, D, data, quadrature
        self.checkpoints, self.frame_every = list(checkpoints), frame_every
        self.states, self.models, self.frames = {}, {}, []

    def __call__(self, gan) -> None:
        if gan.iteration in self.checkpoints:
            self.states[gan.iteration] = measure(self.G, self.D, self.data, self.quadrature)
            self.models[gan.iteration] = (clone(build_generator, self.G),
                                          clone(build_discriminator, self.D))
        if gan.iteration % self.frame_every == 0:
            self.frames.append(frame(self.G, self.D, self.quadrature, gan.iteration))


def lr_schedule(iterations: int, lr: float, final_lr: float):
    """A GAN.train callback: ``lr`` for the first half, then geometric decay to ``final_lr`` at
    the end, for both players."""
    def callback(gan):
        progress = gan.iteration / iterations
        rate = lr if progress < 0.5 else lr * (final_lr / lr) ** ((progress - 0.5) / 0.5)
        gan.g_optimizer.lr = gan.d_optimizer.lr = rate
    return callback


@dataclasses.dataclass
class Figure1Steps:
    """Figure 1's (b) and (c) from a state (G_a, D_a): ``d_trained`` measured after D alone took
    the steps towards D*; ``generator`` (a copy of G_a) after G alone followed that D, and
    ``g_updated`` measured then."""

    d_trained: Measurement
    generator: object
    g_updated: Measurement


def figure1_steps(G_a, D_a, data, quadrature, d_steps: int, g_steps: int, batch_size: int,
                  lr: float) -> Figure1Steps:
    """(b): a copy of D_a trained alone for ``d_steps`` steps (Adam, ``lr``) against G_a;
    (c): a copy of G_a trained alone for ``g_steps`` steps (lr / 4) against that D."""
    D_b = clone(build_discriminator, D_a)
    inner = GAN(G_a, D_b, data.sample, latent_dim=1, batch_size=batch_size, lr_d=lr)
    for _ in range(d_steps):
        inner.d_step()                                    # (b): D alone, towards D*
    state_b = measure(G_a, D_b, data, quadrature)
    G_c = clone(build_generator, G_a)
    outer = GAN(G_c, D_b, data.sample, latent_dim=1, batch_size=batch_size, lr_g=lr / 4)
    for _ in range(g_steps):
        outer.g_step()                                    # (c): G follows D's gradient
    return Figure1Steps(d_trained=state_b, generator=G_c,
                        g_updated=measure(G_c, D_b, data, quadrature))


def on_plot_range(state: Measurement, key: str):
    """(PLOT_GRID, state.<key> resampled on it)."""
    return PLOT_GRID, np.interp(PLOT_GRID, state.x, getattr(state, key), left=0.0, right=0.0)


def panel(state: Measurement, G, data, title: str, with_d_star: bool = False) -> dict:
    """Keyword arguments of plot.panel_1d for one state: p_data, p_g, D(x) (and D*(x)) on
    PLOT_GRID, and the lines z -> G(z) of Z_LINES."""
    grid, p_g = on_plot_range(state, "p_g")
    _, d = on_plot_range(state, "d")
    gz_lines = B.to_numpy(G.forward(B.asarray(Z_LINES[:, None]))).reshape(-1)
    result = {"x": grid, "p_data": gaussian_pdf(grid, data.loc, data.scale), "p_g": p_g,
              "d": d, "mapping": (Z_LINES, gz_lines), "title": title}
    if with_d_star:                      # D* is 0/0 where neither density has mass: not drawn
        d_star = on_plot_range(state, "d_star")[1]
        d_star[(result["p_data"] + p_g) < 1e-3] = np.nan
        result["d_star"] = d_star
    return result


def checkpoint_table(states: dict) -> str:
    """The printed table: V(D, G), V(D*, G), -log 4 + 2 JSD, the gap, JSD and p_g's moments at
    every checkpoint (``states``: {iteration: Measurement}, in order)."""
    lines = ["\n iteration   V(D,G)    V(D*,G)   -log4+2JSD    |gap|      JSD     mean    std"]
    for it, s in states.items():
        lines.append(f" {it:>9d}  {s.v_trained:8.4f}  {s.v_star:8.4f}  {s.theorem1:10.4f}  "
                     f"{s.gap:9.2e}  {s.jsd:7.4f}  {s.mean:6.3f}  {s.std:5.3f}")
    return "\n".join(lines)


def theorem1_figure(path: str, states: dict) -> str:
    """V(D*, G), -log 4 + 2 JSD and V(D, G) at the checkpoints (``states``: {iteration:
    Measurement}); saved to ``path``."""
    checkpoints = list(states)
    fig, axes = plot.new_figure(1, 1, (6.0, 4.0))
    ax = axes[0, 0]
    its = [max(it, 1) for it in checkpoints]
    ax.plot(its, [states[i].v_star for i in checkpoints], "o-", label="V(D*, G), integrated")
    ax.plot(its, [states[i].theorem1 for i in checkpoints], "x--",
            label="-log 4 + 2 JSD(p_data || p_g)")
    ax.plot(its, [states[i].v_trained for i in checkpoints], "s:",
            label="V(D, G), the trained D")
    ax.axhline(-math.log(4), color="gray", linewidth=0.8, label="-log 4")
    ax.set_xscale("log")
    ax.set_xlabel("iteration (0 drawn at 1)")
    ax.set_title("Theorem 1: C(G) = V(D*, G) = -log 4 + 2 JSD")
    ax.legend(fontsize="small")
    return plot.save(fig, path)


def training_gif(path: str, frames: list, data, fps: int) -> str:
    """The frames (``frame``'s (iteration, p_g, D(x))) as an animation of 1D panels; saved."""
    p_data_grid = gaussian_pdf(PLOT_GRID, data.loc, data.scale)

    def draw(ax, item):
        it, p_g, d = item
        plot.panel_1d(ax, PLOT_GRID, p_data_grid, p_g, d, title=f"iteration {it}", legend=True,
                      ymax=YMAX)
    return plot.save_gif(path, frames, draw, fps=fps)
