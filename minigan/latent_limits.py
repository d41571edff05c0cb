"""What a continuous generator cannot produce (chapter 6, Q3).

A generator's samples lie on G(R^k), the image of its latent space: a connected set (so a target
of separate pieces is joined by bridges through the gaps) of dimension at most k (so a 1D latent
space draws a curve through a 2D target). Measured on GANs with 1D and 8D latent spaces on the
8-Gaussian ring and 1D and 2D on the uniform square:

    two_nn_dimension(points)          the intrinsic dimension of a point cloud (Two-NN)
    measure(settings, seed)  -> LatentLimits
    figure(path, limits)
"""
from __future__ import annotations

import dataclasses

from minigan import backend as B
from minigan import plot
from minigan.data import Ring
from minigan.gan_vs_vae import TOY_STD, score, toy_gan

np = B.np                               # host arithmetic on samples

SQUARE_HALF_WIDTH = 1.0                 # the 2D target: uniform on [-1, 1]^2
Z_SWEEP = np.linspace(-3.0, 3.0, 600)   # the 1D latent line drawn through G
SWEEP_SNAPSHOTS = 5                     # earlier positions of that line drawn in grey
RUNS = (("ring", 1), ("ring", 8), ("square", 1), ("square", 2))   # (target, latent dimension)


@dataclasses.dataclass(frozen=True)
class Settings:
    """width, batch, iterations: every GAN's (Q1's toy GAN); samples: points drawn and plotted;
    dimension_samples: points the Two-NN estimate uses."""

    width: int = 128
    batch: int = 128
    iterations: int = 2500
    samples: int = 2000
    dimension_samples: int = 2000


QUICK = Settings(width=32, batch=64, iterations=100, samples=400, dimension_samples=1000)


def two_nn_dimension(points) -> float:
    """Intrinsic dimension of a point cloud by the Two-NN estimator (Facco et al., 2017).

    For each point, mu = r2 / r1, the ratio of the distances to its second and first nearest
    neighbours; on a d-dimensional set mu follows a Pareto law P(mu > m) = m^-d, whose maximum-
    likelihood exponent is d = N / sum log mu. points: (N, D) host array -> float.
    """
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"two_nn_dimension: points must be (N, D) with N >= 3, got shape "
                         f"{x.shape}")
    sq = (x * x).sum(1)
    dist2 = sq[:, None] + sq[None, :] - 2 * x @ x.T                  # (N, N)
    np.fill_diagonal(dist2, np.inf)
    two = np.sqrt(np.clip(np.partition(dist2, 1, axis=1)[:, :2], 0, None))   # r1, r2
    keep = two[:, 0] > 0
    return float(keep.sum() / np.log(two[keep, 1] / two[keep, 0]).sum())


def sample_square(n: int):
    """Uniform points on [-1, 1]^2: (n, 2) of the active backend."""
    points = B.rand(n, 2)
    points *= 2 * SQUARE_HALF_WIDTH
    points -= SQUARE_HALF_WIDTH
    return points


@dataclasses.dataclass
class LatentRun:
    """One GAN: its target, latent dimension, the Two-NN dimension of its samples and (ring)
    the share of its samples more than 3 std from every mode."""

    target: str
    latent_dim: int
    dimension: float
    off_mode_fraction: float | None            # None on the square
    samples: object = dataclasses.field(repr=False)
    sweep: object = dataclasses.field(repr=False, default=None)    # G(Z_SWEEP) for k = 1
    earlier_sweeps: list = dataclasses.field(repr=False, default_factory=list)


@dataclasses.dataclass
class LatentLimits:
    """The four runs (RUNS' order), and the same measures of the data themselves."""

    ring_latent1: LatentRun
    ring_latent8: LatentRun
    square_latent1: LatentRun
    square_latent2: LatentRun
    ring_data_off_mode_fraction: float
    square_data_dimension: float
    ring: object = dataclasses.field(repr=False)

    @property
    def runs(self) -> list:
        return [self.ring_latent1, self.ring_latent8, self.square_latent1, self.square_latent2]


def measure(settings: Settings, seed: int) -> LatentLimits:
    """GANs with 1D and 8D latent spaces on the ring, 1D and 2D on the square."""
    ring = Ring(std=TOY_STD)
    runs = []
    for target, latent_dim in RUNS:
        B.seed(seed)
        sample = ring.sample if target == "ring" else sample_square
        gan = toy_gan(sample, latent_dim, settings.width, settings.batch)
        sweeps = []                                              # the curve G(z) as it moves
        every = max(1, settings.iterations // SWEEP_SNAPSHOTS)

        def record_sweep(gan, latent_dim=latent_dim, sweeps=sweeps, every=every):
            if latent_dim == 1 and gan.iteration % every == 0:
                sweeps.append(B.to_numpy(gan.sample(len(Z_SWEEP), z=B.asarray(Z_SWEEP[:, None]))))

        gan.train(settings.iterations, callbacks=[record_sweep])
        samples = B.to_numpy(gan.sample(settings.samples))
        run = LatentRun(target=target, latent_dim=latent_dim,
                        dimension=two_nn_dimension(B.to_numpy(
                            gan.sample(settings.dimension_samples))),
                        off_mode_fraction=(1 - score(samples, ring).high_quality
                                           if target == "ring" else None),
                        samples=samples)
        if latent_dim == 1:
            run.sweep = B.to_numpy(gan.sample(len(Z_SWEEP), z=B.asarray(Z_SWEEP[:, None])))
            run.earlier_sweeps = sweeps[:-1]
        runs.append(run)
    real_ring = B.to_numpy(ring.sample(settings.samples))
    return LatentLimits(
        *runs, ring_data_off_mode_fraction=1 - score(real_ring, ring).high_quality,
        square_data_dimension=two_nn_dimension(B.to_numpy(
            sample_square(settings.dimension_samples))),
        ring=ring)


def figure(path, limits: LatentLimits) -> str:
    """The four runs' samples; for a 1D latent space the curve G(z), now and earlier."""
    from matplotlib.patches import Rectangle
    fig, axes = plot.new_figure(4, 1, (3.7, 3.7))
    ring = limits.ring
    for ax, run in zip(axes[0], limits.runs):
        if run.target == "ring":
            ax.scatter(ring.centres[:, 0], ring.centres[:, 1], s=80, facecolors="none",
                       edgecolors="0.5", linewidths=0.8)
            detail = (f"{100 * run.off_mode_fraction:.0f}% of samples off every mode "
                      f"(data {100 * limits.ring_data_off_mode_fraction:.1f}%)")
            lim = 3.0
        else:
            s = SQUARE_HALF_WIDTH
            ax.add_patch(Rectangle((-s, -s), 2 * s, 2 * s, fill=False, edgecolor="0.5",
                                   linestyle=":"))
            detail = (f"intrinsic dimension {run.dimension:.2f} "
                      f"(data {limits.square_data_dimension:.2f})")
            lim = 1.6
        ax.scatter(run.samples[:, 0], run.samples[:, 1], s=2, color="tab:green", alpha=0.5)
        if run.sweep is not None:
            for earlier in run.earlier_sweeps:
                ax.plot(earlier[:, 0], earlier[:, 1], color="0.75", linewidth=1)
            ax.scatter(run.sweep[:, 0], run.sweep[:, 1], c=Z_SWEEP, cmap="plasma", s=3)
            ax.text(0.03, 0.03, "G(z), z from -3 (dark) to 3 (yellow);\ngrey: the same line "
                    "earlier in training", transform=ax.transAxes, fontsize=7)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"{run.target}, latent dimension {run.latent_dim}\n{detail}", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Q3  samples of GANs with 1-, 2- and 8-dimensional latent spaces: where they "
                 "fall, and their intrinsic dimension", fontsize=11)
    return plot.save(fig, path)
