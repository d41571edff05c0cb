"""What a training step costs: a dense GAN and a dense VAE on 784-d data, timed against width
and batch size (chapter 6, Q2).

A step of ``minigan.gan.GAN`` runs D forward and backward three times (real, fake, and for G's
gradient) and G forward twice and backward once. A dense layer with P = in * out weights costs
2NP flops forward and 4NP backward, so with P_D, P_G weights in D and G

    GAN step ~ (18 P_D + 8 P_G) N flops,        VAE step ~ 6 (P_encoder + P_decoder) N flops.

    measure(settings, seed) -> ComputeCost     the table on the active backend, and on CuPy
                                               beside NumPy where a GPU is available
    format_table(cost), figure(path, cost)
"""
from __future__ import annotations

import dataclasses
import time

from minigan import backend as B
from minigan import plot
from minigan.flops import dense_flops, matmul_peak
from minigan.gan import GAN
from minigan.gan_vs_vae import DIGIT_LATENT_DIM, IMAGE_SIZE, mlp
from minigan.optim import Adam
from minigan.vae import VAE

np = B.np                               # host arithmetic on measured times


@dataclasses.dataclass(frozen=True)
class Settings:
    """widths, batches: the grid timed; repeats: timed steps per setting (median);
    peak_size: the square matmul that measures the backend's float peak."""

    widths: tuple = (64, 128, 256, 512, 1024)
    batches: tuple = (16, 64, 256)
    repeats: int = 5
    peak_size: int = 1024


QUICK = Settings(widths=(32, 64), batches=(16, 64), repeats=2, peak_size=256)


@dataclasses.dataclass
class StepTime:
    """One (width, batch) setting: median ms per step, GFLOP/s reached, flops per step."""

    width: int
    batch: int
    gan_ms: float
    vae_ms: float
    gan_gflops: float
    vae_gflops: float
    gan_flops: int
    vae_flops: int


@dataclasses.dataclass
class ComputeCost:
    """The timing tables ({backend: [StepTime]}), each backend's matmul peak (GFLOP/s), and why
    CuPy was not timed (None when it was, or when the active backend is CuPy)."""

    tables: dict
    peaks: dict
    cupy_missing: str | None

    def largest(self, backend: str) -> StepTime:
        """The row of the widest network at the largest batch."""
        return max(self.tables[backend], key=lambda r: (r.width, r.batch))

    def smallest(self, backend: str) -> StepTime:
        """The row of the narrowest network at the smallest batch."""
        return min(self.tables[backend], key=lambda r: (r.width, r.batch))


def time_one_setting(width: int, batch: int, repeats: int,
                     latent_dim: int = DIGIT_LATENT_DIM) -> StepTime:
    """Median time of one GAN step and one VAE step, hidden layers of ``width``, 784-d data.

    G: z -> w -> w -> 784, D: 784 -> w -> w -> 1; encoder 784 -> w -> w -> 2 * latent_dim,
    decoder latent_dim -> w -> w -> 784. Each timed step ends by reading its loss as a Python
    float (a device-to-host copy under CuPy), so the time is that of finished work.
    """
    g_sizes, d_sizes = [latent_dim, width, width, IMAGE_SIZE], [IMAGE_SIZE, width, width, 1]
    e_sizes = [IMAGE_SIZE, width, width, 2 * latent_dim]
    data = B.rand(max(batch, 256), IMAGE_SIZE)
    gan = GAN(mlp(g_sizes), mlp(d_sizes), data, latent_dim=latent_dim, batch_size=batch)
    vae = VAE(mlp(e_sizes), mlp(g_sizes), latent_dim, likelihood="bernoulli")
    optimizer = Adam(vae.parameters(), lr=1e-3, betas=(0.9, 0.999))

    def gan_step():
        float(gan.step()["g_loss"])

    def vae_step():
        optimizer.zero_grad()
        loss, grad_outputs = vae.loss(vae.forward(data[:batch]), data[:batch])
        vae.backward(grad_outputs)
        optimizer.step()
        float(loss)

    times = {}
    for name, step in (("gan", gan_step), ("vae", vae_step)):
        step()
        step()                                                       # warm-up: buffers, caches
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
        times[name] = float(np.median(seconds))
    gan_flops = (9 * dense_flops(d_sizes, batch)                     # 3 x (forward + backward)
                 + 4 * dense_flops(g_sizes, batch))                  # 2 forward + 1 backward
    vae_flops = 3 * (dense_flops(e_sizes, batch) + dense_flops(g_sizes, batch))
    return StepTime(width=width, batch=batch, gan_ms=1e3 * times["gan"],
                    vae_ms=1e3 * times["vae"], gan_gflops=gan_flops / times["gan"] / 1e9,
                    vae_gflops=vae_flops / times["vae"] / 1e9, gan_flops=gan_flops,
                    vae_flops=vae_flops)


def cupy_unavailable_reason() -> str | None:
    """None if the CuPy backend can be used here, else why not (the error message)."""
    previous = B.name()
    try:
        B.use("cupy")
        return None
    except RuntimeError as e:
        return str(e)
    finally:
        B.use(previous)


def measure(settings: Settings, seed: int) -> ComputeCost:
    """The timing table on the active backend, and on the other one where it is available."""
    backends = [B.name()]
    other = "cupy" if B.name() == "numpy" else "numpy"
    reason = cupy_unavailable_reason() if other == "cupy" else None
    if reason is None:
        backends.append(other)
    active = B.name()
    tables, peaks = {}, {}
    try:
        for name in backends:
            B.use(name)
            B.seed(seed)
            peaks[name] = matmul_peak(settings.peak_size, repeats=5)
            tables[name] = [time_one_setting(w, n, settings.repeats)
                            for w in settings.widths for n in settings.batches]
    finally:
        B.use(active)
    return ComputeCost(tables=tables, peaks=peaks, cupy_missing=reason)


def format_table(cost: ComputeCost) -> str:
    """The tables as text: ms per step, GAN/VAE ratio, GFLOP/s and % of the matmul peak; NumPy
    against CuPy where both ran."""
    lines = []
    for name, table in cost.tables.items():
        lines += [f"\n  time per training step on {name} ({B.dtype().name}); matmul peak "
                  f"{cost.peaks[name]:.0f} GFLOP/s",
                  "   width  batch   GAN ms   VAE ms  GAN/VAE   GAN GFLOP/s  % of peak"]
        for row in table:
            percent = 100 * row.gan_gflops / cost.peaks[name]
            lines.append(f"  {row.width:>6d} {row.batch:>6d} {row.gan_ms:>8.2f} "
                         f"{row.vae_ms:>8.2f} {row.gan_ms / row.vae_ms:>8.2f} "
                         f"{row.gan_gflops:>13.1f} {percent:>9.1f}")
    if len(cost.tables) == 2:
        lines.append("\n   width  batch  NumPy GAN ms  CuPy GAN ms  speed-up")
        for a, b in zip(cost.tables["numpy"], cost.tables["cupy"]):
            lines.append(f"  {a.width:>6d} {a.batch:>6d} {a.gan_ms:>13.2f} {b.gan_ms:>12.2f} "
                         f"{a.gan_ms / b.gan_ms:>9.1f}")
    elif cost.cupy_missing:
        lines.append(f"\n  CuPy side by side: not run here ({cost.cupy_missing.split(':')[0]})")
    return "\n".join(lines)


def _colours(n):
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    return [cmap(0.1 + 0.8 * i / max(1, n - 1)) for i in range(n)]


def figure(path, cost: ComputeCost) -> str:
    """ms per step against batch size, one line per width; % of the matmul peak against width."""
    fig, axes = plot.new_figure(2, 1, (5.2, 4.0))
    styles = {"numpy": "-", "cupy": "--"}
    for name, table in cost.tables.items():
        widths = sorted({row.width for row in table})
        batches = sorted({row.batch for row in table})
        colours = dict(zip(widths, _colours(len(widths))))
        for w in widths:
            rows = [row for row in table if row.width == w]
            axes[0, 0].plot([r.batch for r in rows], [r.gan_ms for r in rows], styles[name],
                            marker="o", color=colours[w], label=f"GAN, width {w} ({name})")
            axes[0, 0].plot([r.batch for r in rows], [r.vae_ms for r in rows], styles[name],
                            marker="s", color=colours[w], alpha=0.5, linewidth=1)
        for n in batches:
            rows = [row for row in table if row.batch == n]
            axes[0, 1].plot([r.width for r in rows],
                            [100 * r.gan_gflops / cost.peaks[name] for r in rows],
                            styles[name], marker="o", label=f"batch {n} ({name})")
    ax = axes[0, 0]
    ax.plot([], [], "s-", color="0.5", alpha=0.5, linewidth=1, label="VAE step, same colours")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("ms per training step")
    ax.set_title("GAN step (circles) and VAE step (squares, faint)", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden width")
    ax.set_ylabel("% of the matmul peak reached by a GAN step")
    ax.set_title("share of the matmul peak a GAN step reaches", fontsize=10)
    ax.legend(fontsize=7)
    fig.suptitle(f"Q2  compute cost of a dense GAN on 784-d data ({B.dtype().name})", fontsize=11)
    return plot.save(fig, path)
