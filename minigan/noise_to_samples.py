"""Chapter 1's question -- what does "learning a distribution" mean? -- answered with three
generators built from minigan's layers, pushed forward from noise to the distributions they
define, and measured against their targets.

    generators(gaussian_target, mixture_means, mixture_std)   [(name, G, latent_dim)] x 3
    describe(name, G, latent_dim, target, num_samples, x_edges)   -> Generated
    figure(path, generators, results, x_edges, title)

p_g is computed by quadrature over a fine grid of z values (minigan.densities), its JSD to the
target on the grid (minigan.metrics.jensen_shannon), and the moments from drawn samples.
"""
from __future__ import annotations

import dataclasses

from minigan import backend as B
from minigan import plot
from minigan.densities import images, latent_quadrature, push_forward
from minigan.metrics import jensen_shannon
from minigan.nn import Dense, Sequential, Tanh

np = B.np                                 # host float64: densities, moments, figures

STEEPNESS = 50.0                          # generator 3: tanh(50 z1) is nearly sign(z1)
LINEAR_SCALE = 0.01                       # generator 3: tanh(0.01 z2) / 0.01 is nearly z2
Z_LINES = np.linspace(-2.0, 2.0, 21)      # the z values whose images the figure connects


def untrained_generator():
    """Dense(1->16) -> tanh -> Dense(16->1) with its random (Glorot) initial weights."""
    return Sequential(Dense(1, 16), Tanh(), Dense(16, 1))


def affine_generator(mean, std):
    """G(z) = std * z + mean: one Dense(1->1) layer with hand-set weights."""
    G = Dense(1, 1)
    G.W.data[...] = std
    G.b.data[...] = mean
    return G


def two_mode_generator(means, std):
    """x = c + h tanh(a z1) + (std / e) tanh(e z2), from z = (z1, z2) ~ N(0, I_2).

    With a = STEEPNESS, tanh(a z1) is nearly sign(z1) (the mode), and with e = LINEAR_SCALE,
    tanh(e z2) / e is nearly z2 (the spread): x ~ 1/2 N(c - h, std^2) + 1/2 N(c + h, std^2),
    c = (m1 + m2) / 2, h = (m2 - m1) / 2.
    """
    first, second = Dense(2, 2), Dense(2, 1)
    first.W.data[...] = B.asarray([[STEEPNESS, 0.0], [0.0, LINEAR_SCALE]])
    first.b.data[...] = 0.0
    second.W.data[...] = B.asarray([[(means[1] - means[0]) / 2], [std / LINEAR_SCALE]])
    second.b.data[...] = (means[0] + means[1]) / 2
    return Sequential(first, Tanh(), second)


@dataclasses.dataclass(frozen=True)
class Generated:
    """One generator measured: its p_g on the grid (density per cell centre), the target's
    density there, samples drawn from it (host float64), the JSD to the target, and the
    samples' mean and std beside the target's."""
    name: str
    jsd: float
    sample_mean: float
    sample_std: float
    target_mean: float
    target_std: float
    p_g: object = dataclasses.field(repr=False)
    p_data: object = dataclasses.field(repr=False)
    samples: object = dataclasses.field(repr=False)

    def describe(self) -> str:
        """One line: the JSD and the moments against the target's."""
        return (f"{self.name:<30}  JSD(p_data || p_g) = {self.jsd:.5f}   samples: mean "
                f"{self.sample_mean:7.4f} (target {self.target_mean:g}), std "
                f"{self.sample_std:.4f} (target {self.target_std:.4f})")


def describe(name, G, latent_dim, target, num_samples, x_edges) -> Generated:
    """p_g of G on the grid ``x_edges`` by quadrature, its JSD to ``target`` (a minigan.data
    1D distribution with .density, .mean, .cov), and ``num_samples`` drawn samples' moments."""
    z, weights = latent_quadrature("normal", latent_dim, 50_000 if latent_dim == 1 else 1000)
    p_g = push_forward(images(G, z), weights, x_edges)
    x = (x_edges[:-1] + x_edges[1:]) / 2
    p_data = target.density(x)
    samples = B.to_numpy(G.forward(B.randn(num_samples, latent_dim))).astype(np.float64)
    samples = samples.reshape(-1)
    return Generated(name=name, jsd=jensen_shannon(p_data, p_g, float(x_edges[1] - x_edges[0])),
                     sample_mean=float(samples.mean()), sample_std=float(samples.std()),
                     target_mean=float(target.mean[0]),
                     target_std=float(np.sqrt(target.cov[0, 0])),
                     p_g=p_g, p_data=p_data, samples=samples)


def figure(path, generators, results, x_edges, title) -> str:
    """Each generator's p_g against the data's density, its samples' histogram, and the lines
    mapping z to G(z) (1D noise only)."""
    x = (x_edges[:-1] + x_edges[1:]) / 2
    fig, axes = plot.new_figure(len(results), 1, (4.6, 3.8))
    for ax, (name, G, latent_dim), r in zip(axes[0], generators, results):
        mapping = (Z_LINES, images(G, Z_LINES[:, None])) if latent_dim == 1 else None
        plot.panel_1d(ax, x, r.p_data, r.p_g, mapping=mapping, ymax=1.6,
                      title=f"{name}\nJSD = {r.jsd:.4f}", legend=(ax is axes[0, 0]))
        ax.hist(r.samples, bins=120, range=(x[0], x[-1]), density=True,
                color="tab:green", alpha=0.25, label="samples")
    fig.suptitle(title)
    return plot.save(fig, path)
