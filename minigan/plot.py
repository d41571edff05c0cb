"""Figures: 1D densities with D(x) (Goodfellow's Figure 1), 2D samples and decision maps, training
curves, animated GIFs, image grids.

Every function takes arrays of any backend (they are copied to the host with ``B.to_numpy``),
writes one file and returns its path. Figures are built with matplotlib's object API on the Agg
canvas -- ``Figure()`` + ``FigureCanvasAgg`` -- so they never open a window, work on a headless
machine whatever the configured matplotlib backend, and are freed as soon as the function returns
(nothing is registered with pyplot, so there is nothing to ``plt.close()``).

    figure_1d(path, panels)                   a row of 1D panels, each drawn by panel_1d
    panel_1d(ax, x, p_data, p_g, d, ...)      p_data (black dotted), p_g (green), D(x) (blue dashed)
                                              and the lines mapping z to x = G(z)
    scatter_2d(path, real, fake, d_fn)        real vs generated points over a heat map of D(x)
    densities_2d(path, real, fake)            2D histograms side by side
    gan_lab_figure(path, frame, history)      GAN Lab's views of a 2D GAN: D's decision map, G's
                                              manifold, the gradient arrows, the two losses
    gan_lab_gif(path, frames, history)        the same, animated over training
    history(path, history)                    losses and mean D outputs per iteration
    save_gif(path, frames, draw)              an animation, one drawn frame per item
    image_grid(path, images)                  (N, C, H, W) images in [-1, 1] or [0, 1] as one grid
    tile(images, nrow)                        the same grid as one array, for an imshow of one's own
"""
from __future__ import annotations

import os

from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from minigan import arguments
from minigan import backend as B

DATA_STYLE = dict(color="black", linestyle=":", linewidth=2.0, label="data $p_{data}$")
GEN_STYLE = dict(color="tab:green", linewidth=2.0, label="generator $p_g$")
D_STYLE = dict(color="tab:blue", linestyle="--", linewidth=1.8, label="discriminator $D(x)$")
DSTAR_STYLE = dict(color="tab:red", linestyle="-.", linewidth=1.2, alpha=0.8,
                   label="optimal $D^*(x)$")


def new_figure(ncols: int = 1, nrows: int = 1, size=(5.0, 4.0), **subplot_kw):
    """(fig, axes) on an Agg canvas; ``size`` is one panel's (width, height) in inches."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return fig, axes


#: A line written across the bottom of every figure saved while it is set (``set_banner``): a
#: chapter's --quick run sets it, so that no smoke test's figure passes for the full run's.
_banner = None


def set_banner(text) -> None:
    """Write ``text`` (a str) in red across the bottom of every figure saved from now on; None
    stops it. ``minigan.chapter.start`` sets it for a --quick run."""
    global _banner
    if text is not None and not isinstance(text, str):
        raise TypeError(f"plot.set_banner: text must be a str or None, got "
                        f"{type(text).__name__}")
    _banner = text or None


def _layout(fig) -> None:
    """tight_layout, leaving room at the bottom for the banner when one is set."""
    if _banner is None:
        fig.tight_layout()
        return
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.text(0.5, 0.01, _banner, ha="center", va="bottom", color="tab:red", fontsize=8,
             wrap=True)


class FigurePathError(ValueError):
    """A figure's path that cannot name a figure file: a folder, no extension, an extension
    matplotlib does not write. (A chapter script reports it in one line with exit status 2.)"""


def _figure_path(path, where: str, extensions=None) -> str:
    """The path as a str, checked before anything is drawn or written: a file name (not a
    folder) with an extension matplotlib writes (or one of ``extensions``)."""
    path = arguments.path(path, "path", where)
    if os.path.isdir(path):
        raise FigurePathError(f"{where}: path {path!r} is a folder; give a file name, e.g. "
                         f"{os.path.join(path, 'figure.png')!r}")
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    allowed = extensions or sorted(FigureCanvasAgg(Figure()).get_supported_filetypes())
    if extension not in allowed:
        what = "has no extension" if not extension else f"has the extension .{extension}"
        raise FigurePathError(f"{where}: path {path!r} {what}; use one of "
                         f"{', '.join('.' + e for e in allowed)}")
    return path


def save(fig, path, dpi: int = 100) -> str:
    """Write fig to ``path`` (creating its folder) and return the path as a string. The path
    must name a file with an image extension (.png, .pdf, .svg ...), ValueError otherwise."""
    path = _figure_path(path, "plot.save")
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    _layout(fig)
    try:
        fig.savefig(path, dpi=dpi)
    except OSError as e:                    # a full disk, a read-only folder ...
        raise type(e)(e.errno, f"plot.save: cannot write {path}: "
                               f"{e.strerror or e}") from None
    return path


def _host(x):
    """Backend array or sequence -> host float64 ndarray."""
    return B.to_numpy(x).astype(B.np.float64, copy=False)


# ---------------------------------------------------------------------------------------------
# 1D: Goodfellow et al. (2014), Figure 1

def panel_1d(ax, x, p_data=None, p_g=None, d=None, mapping=None, d_star=None, title=None,
             legend: bool = False, ymax=None):
    """Draw one panel of Goodfellow's Figure 1 on ``ax``.

    x: (M,) grid; p_data, p_g, d, d_star: (M,) values on that grid (any may be None).
    mapping: (z, gz), two (K,) arrays -- K noise values and their images x = G(z). The noise
    values are drawn on a lower line, their images on the line y = 0, joined by a line each, so
    where the lines bunch together the generator puts more mass.
    The densities share the y-axis with D (which lies in [0, 1]); ``ymax`` fixes the top.
    """
    np = B.np
    x = _host(x)
    tops = [1.0]
    if p_data is not None:
        ax.plot(x, _host(p_data), **DATA_STYLE)
        tops.append(float(_host(p_data).max()))
    if p_g is not None:
        p_g = _host(p_g)
        ax.plot(x, p_g, **GEN_STYLE)
    if d is not None:
        ax.plot(x, _host(d), **D_STYLE)
    if d_star is not None:
        ax.plot(x, _host(d_star), **DSTAR_STYLE)
    top = ymax if ymax is not None else 1.15 * max(tops)
    bottom = 0.0
    if mapping is not None:
        z, gz = (_host(a).reshape(-1) for a in mapping)
        z_line = -0.35 * top
        x_lo, x_hi = float(x[0]), float(x[-1])
        z_span = max(float(np.abs(z).max()), 1e-12)
        z_pos = (x_lo + x_hi) / 2 + z / z_span * 0.3 * (x_hi - x_lo)    # z: the middle 60%
        segments = [[(z_i, z_line), (x_i, 0.0)] for z_i, x_i in zip(z_pos, np.clip(gz, x_lo, x_hi))]
        ax.add_collection(LineCollection(segments, colors="0.55", linewidths=0.7))
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.plot([z_pos.min(), z_pos.max()], [z_line, z_line], color="black", linewidth=0.8)
        ax.text(x_lo, 0.02 * top, "x", va="bottom")
        ax.text(x_lo, z_line + 0.02 * top, "z", va="bottom")
        bottom = z_line - 0.05 * top
    ax.set_xlim(float(x[0]), float(x[-1]))
    ax.set_ylim(bottom, top)
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="upper left", fontsize="small")


def figure_1d(path, panels, title=None, size=(4.0, 3.4), ymax=None) -> str:
    """A row of panel_1d panels (one dict of panel_1d keyword arguments each) saved to ``path``.

    All panels share the y-range -- up to ``ymax``, by default the largest density (at most 6,
    so that a collapsed generator's spike does not flatten the rest) -- and the first carries
    the legend.
    """
    fig, axes = new_figure(len(panels), 1, size)
    if ymax is None:
        tops = [1.0]
        for panel in panels:
            for key in ("p_data", "p_g"):
                if panel.get(key) is not None:
                    tops.append(float(_host(panel[key]).max()))
        ymax = 1.15 * min(max(tops), 6.0)
    for i, (ax, panel) in enumerate(zip(axes[0], panels)):
        panel_1d(ax, legend=(i == 0), ymax=ymax, **panel)
    if title:
        fig.suptitle(title)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# 2D

def _bounds(*point_sets, margin: float = 0.1):
    np = B.np
    points = np.concatenate([p for p in point_sets if p is not None], axis=0)
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = margin * (hi - lo).max() + 1e-9
    return (float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad))


def scatter_2d(path, real=None, fake=None, d_fn=None, bounds=None, title=None,
               resolution: int = 120, max_points: int = 2000) -> str:
    """Real (black) and generated (green) 2D points over a heat map of the discriminator.

    real, fake: (N, 2) arrays; d_fn: callable taking a backend array (M, 2) and returning D's
    output (M,) or (M, 1), e.g. ``gan.discriminate``; bounds: (xmin, xmax, ymin, ymax).
    """
    np = B.np
    real = None if real is None else _host(real)[:max_points]
    fake = None if fake is None else _host(fake)[:max_points]
    bounds = bounds or _bounds(real, fake)
    fig, axes = new_figure(1, 1, (5.2, 4.6))
    ax = axes[0, 0]
    if d_fn is not None:
        xs = np.linspace(bounds[0], bounds[1], resolution)
        ys = np.linspace(bounds[2], bounds[3], resolution)
        gx, gy = np.meshgrid(xs, ys)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)                  # (R*R, 2)
        values = _host(d_fn(B.asarray(grid))).reshape(resolution, resolution)
        image = ax.imshow(values, origin="lower", extent=bounds, aspect="auto", cmap="coolwarm",
                          alpha=0.85)
        fig.colorbar(image, ax=ax, label="D(x)")
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=4, color="black", alpha=0.6, label="real")
    if fake is not None:
        ax.scatter(fake[:, 0], fake[:, 1], s=4, color="tab:green", alpha=0.6, label="generated")
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.legend(loc="upper right", fontsize="small", markerscale=3)
    if title:
        ax.set_title(title)
    return save(fig, path)


def densities_2d(path, real, fake, bounds=None, bins: int = 100, title=None) -> str:
    """2D histograms of real and generated points side by side, on the same bins."""
    real, fake = _host(real), _host(fake)
    bounds = bounds or _bounds(real, fake, margin=0.05)
    fig, axes = new_figure(2, 1, (4.2, 4.0))
    ranges = [[bounds[0], bounds[1]], [bounds[2], bounds[3]]]
    for ax, points, name in ((axes[0, 0], real, "real"), (axes[0, 1], fake, "generated")):
        ax.hist2d(points[:, 0], points[:, 1], bins=bins, range=ranges, cmap="viridis")
        ax.set_title(name)
        ax.set_aspect("equal")
    if title:
        fig.suptitle(title)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# GAN Lab's views (Kahng et al., 2018): frames from minigan.ganlab.snapshot

MANIFOLD_RGB = (0.13, 0.55, 0.13)                     # the generator's green


def draw_manifold(ax, manifold, max_alpha: float = 0.6) -> None:
    """G's manifold (``minigan.ganlab.manifold``): the warped noise grid, each cell shaded by
    the density it carries (opacity grows with log density, from its 5th to 95th percentile
    over the cells), the grid lines on top."""
    np = B.np
    x = manifold["x"]                                                    # (R+1, R+1, 2)
    cells = np.stack([x[:-1, :-1], x[1:, :-1], x[1:, 1:], x[:-1, 1:]], axis=2)   # (R, R, 4, 2)
    log_density = np.log(manifold["density"]).ravel()
    lo, hi = np.percentile(log_density, [5, 95])
    shade = np.clip((log_density - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    colours = np.zeros((shade.size, 4))
    colours[:, :3] = MANIFOLD_RGB
    colours[:, 3] = 0.03 + (max_alpha - 0.03) * shade
    ax.add_collection(PolyCollection(cells.reshape(-1, 4, 2), facecolors=colours,
                                     edgecolors="none"))
    lines = [x[i] for i in range(x.shape[0])] + [x[:, j] for j in range(x.shape[1])]
    ax.add_collection(LineCollection(lines, colors=[MANIFOLD_RGB], linewidths=0.5, alpha=0.7))


def gradient_arrow_scale(frames, span_fraction: float = 0.1) -> float:
    """One arrow scale for several frames: a gradient of the largest per-frame 95th-percentile
    length is drawn ``span_fraction`` of the view wide. Pass it to every frame of an animation
    so that arrow lengths compare across training."""
    np = B.np
    typical = max(float(np.percentile(np.linalg.norm(f["gradient"], axis=1), 95))
                  for f in frames)
    span = max(f["bounds"][1] - f["bounds"][0] for f in frames)
    return span_fraction * span / max(typical, 1e-30)


def draw_gan_lab(ax, frame, arrow_scale=None, colorbar_fig=None) -> None:
    """One frame of ``minigan.ganlab.snapshot`` on ``ax``: D's decision map (colour), G's
    manifold (green cells and grid, when the noise is 2D), real points (black), generated
    points (green) and arrows along -dL_G/dx at them.

    arrow_scale: drawn length per unit of gradient, in data units; None: the frame's 95th
    percentile gradient is drawn a tenth of the view wide (``gradient_arrow_scale``).
    colorbar_fig: a Figure to add D's colour bar to (None: no colour bar).
    """
    np = B.np
    bounds = frame["bounds"]
    d_map = frame["d_map"]
    probability = frame.get("objective") in ("minimax", "non-saturating")
    limits = (0.0, 1.0) if probability else (float(d_map.min()), float(d_map.max()))
    image = ax.imshow(d_map, origin="lower", extent=bounds, aspect="auto", cmap="coolwarm",
                      vmin=limits[0], vmax=limits[1], alpha=0.75)
    if colorbar_fig is not None:
        colorbar_fig.colorbar(image, ax=ax, label="D(x)" if probability else "D's score")
    if frame.get("manifold") is not None:
        draw_manifold(ax, frame["manifold"])
    real, fake = frame["real"], frame["fake"]
    ax.scatter(real[:, 0], real[:, 1], s=3, color="black", alpha=0.5, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=6, color="tab:green", edgecolors="none",
               label="generated")
    if arrow_scale is None:
        arrow_scale = gradient_arrow_scale([frame])
    arrows = -frame["gradient"] * arrow_scale                        # data units
    ax.quiver(fake[:, 0], fake[:, 1], arrows[:, 0], arrows[:, 1], angles="xy",
              scale_units="xy", scale=1.0, width=0.004, color="0.15", alpha=0.8)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(f"iteration {frame['iteration']}   arrows: $-\\partial L_G / \\partial x$",
                 fontsize="medium")
    ax.legend(loc="upper right", fontsize="x-small", markerscale=2)


def draw_losses(ax, history, upto=None) -> None:
    """D's and G's losses per iteration (``GAN.history``), up to iteration ``upto`` (all by
    default), on axes that span the whole run so the frames of an animation line up."""
    np = B.np
    d_loss, g_loss = np.asarray(history["d_loss"]), np.asarray(history["g_loss"])
    steps = np.arange(1, len(d_loss) + 1)
    upto = len(d_loss) if upto is None else int(upto)
    ax.plot(steps[:upto], d_loss[:upto], label="D loss", linewidth=1)
    ax.plot(steps[:upto], g_loss[:upto], label="G loss", linewidth=1)
    if len(d_loss):
        both = np.concatenate([d_loss, g_loss])
        pad = 0.05 * (float(both.max() - both.min()) + 1e-12)
        ax.set_xlim(0, len(d_loss) + 1)
        ax.set_ylim(float(both.min()) - pad, float(both.max()) + pad)
    ax.set_xlabel("iteration")
    ax.set_title("losses")
    ax.legend(fontsize="small")


def gan_lab_figure(path, frame, history=None, title=None, arrow_scale=None) -> str:
    """GAN Lab's views of one frame (``minigan.ganlab.snapshot``), and the losses up to it.

    history: ``GAN.history`` (None: the view alone). Writes ``path`` and returns it.
    """
    fig, axes = new_figure(2 if history is not None else 1, 1, (5.4, 4.8))
    draw_gan_lab(axes[0, 0], frame, arrow_scale, colorbar_fig=fig)
    if history is not None:
        draw_losses(axes[0, 1], history, upto=frame["iteration"])
    if title:
        fig.suptitle(title)
    return save(fig, path)


def gan_lab_gif(path, frames, history=None, fps: int = 4, dpi: int = 70) -> str:
    """An animated GIF of snapshots over training, one arrow scale for all frames
    (``gradient_arrow_scale``), the losses growing beside them when ``history`` is given.
    Matplotlib's PillowWriter writes it (Pillow is a dependency of matplotlib)."""
    frames = list(frames)
    if not frames:
        raise ValueError("gan_lab_gif: no frames to animate")
    path = _figure_path(path, "gan_lab_gif", ["gif"])
    arguments.real(fps, "fps", "gan_lab_gif", 0, low_open=True)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    arrow_scale = gradient_arrow_scale(frames)
    fig, axes = new_figure(2 if history is not None else 1, 1, (4.6, 4.2))
    writer = PillowWriter(fps=fps)
    if _banner is not None:
        fig.text(0.5, 0.01, _banner, ha="center", va="bottom", color="tab:red", fontsize=7)
    with writer.saving(fig, path, dpi):
        for frame in frames:
            for ax in axes[0]:
                ax.clear()
            draw_gan_lab(axes[0, 0], frame, arrow_scale)
            if history is not None:
                draw_losses(axes[0, 1], history, upto=frame["iteration"])
            fig.tight_layout(rect=(0, 0.05, 1, 1) if _banner is not None else None)
            writer.grab_frame()
    return path


# ---------------------------------------------------------------------------------------------
# Training curves

def history(path, history, title=None) -> str:
    """Losses (left) and mean D(real) / D(fake) (right) per iteration, from ``GAN.history``."""
    np = B.np
    fig, axes = new_figure(2, 1, (5.0, 3.4))
    steps = np.arange(1, len(history["d_loss"]) + 1)
    ax = axes[0, 0]
    ax.plot(steps, history["d_loss"], label="D loss", linewidth=1)
    ax.plot(steps, history["g_loss"], label="G loss", linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_title("losses")
    ax.legend(fontsize="small")
    ax = axes[0, 1]
    ax.plot(steps, history["d_real"], label="mean D(x), real", linewidth=1, color="black")
    ax.plot(steps, history["d_fake"], label="mean D(G(z)), generated", linewidth=1,
            color="tab:green")
    ax.set_xlabel("iteration")
    ax.set_title("discriminator outputs")
    ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return save(fig, path)


# ---------------------------------------------------------------------------------------------
# Animation

def save_gif(path, frames, draw, fps: int = 8, size=(5.0, 3.6), dpi: int = 80,
             panels=None) -> str:
    """An animated GIF: for each item of ``frames``, ``draw(ax, frame)`` draws one picture.

    With ``panels=(ncols, nrows)`` each picture is a grid of panels of ``size`` each and
    ``draw(axes, frame)`` gets the (nrows, ncols) array of axes. Uses matplotlib's PillowWriter
    (Pillow ships with matplotlib, so nothing new is needed).
    """
    path = _figure_path(path, "save_gif", ["gif"])
    frames = list(frames)
    if not frames:
        raise ValueError("save_gif: no frames to animate")
    arguments.real(fps, "fps", "save_gif", 0, low_open=True)
    if not callable(draw):
        raise TypeError(f"save_gif: draw must be a function draw(ax, frame), got {draw!r}")
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig, axes = new_figure(*(panels or (1, 1)), size)
    writer = PillowWriter(fps=fps)
    if _banner is not None:
        fig.text(0.5, 0.01, _banner, ha="center", va="bottom", color="tab:red", fontsize=7)
    with writer.saving(fig, path, dpi):
        for frame in frames:
            for ax in axes.flat:
                ax.clear()
            draw(axes if panels else axes[0, 0], frame)
            if panels or _banner is not None:
                fig.tight_layout(rect=(0, 0.05, 1, 1) if _banner is not None else None)
            writer.grab_frame()
    return path


# ---------------------------------------------------------------------------------------------
# Images

def tile(images, nrow=None, value_range=None):
    """Images (N, C, H, W), C = 1 or 3, as one picture with one-pixel white gaps, ready for imshow:
    (rows*(H+1)+1, nrow*(W+1)+1) for C = 1, with a trailing axis of 3 for C = 3; values in [0, 1].

    value_range: (lo, hi) mapped to black..white; by default (-1, 1) if any value is negative
    (a tanh generator) and (0, 1) otherwise. Values outside are clipped. nrow: images per row
    (default ceil(sqrt(N))); rows = ceil(N / nrow). The scaling is computed in the images' own
    floating dtype (integers become float64).
    """
    np = B.np
    images = B.to_numpy(images)
    if images.dtype.kind != "f":
        images = images.astype(np.float64)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"tile expects images of shape (N, 1 or 3, H, W), got {images.shape}")
    n, c, h, w = images.shape
    if images.shape[0] == 0:
        raise ValueError("tile: no images to tile (N = 0)")
    if value_range is None:
        value_range = (-1.0, 1.0) if images.min() < 0 else (0.0, 1.0)
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise TypeError(f"tile: value_range must be a pair (lo, hi), got {value_range!r}")
    lo = arguments.real(value_range[0], "value_range[0]", "tile")
    hi = arguments.real(value_range[1], "value_range[1]", "tile")
    if hi <= lo:
        raise ValueError(f"tile: value_range must have lo < hi, got {value_range!r}")
    if nrow is not None:
        arguments.integer(nrow, "nrow", "tile", minimum=1)
    images = np.clip((images - lo) / (hi - lo), 0.0, 1.0)
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / nrow))
    pad = 1
    canvas = np.ones((c, rows * (h + pad) + pad, nrow * (w + pad) + pad))
    for i in range(n):
        r, q = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        canvas[:, top:top + h, left:left + w] = images[i]
    return canvas[0] if c == 1 else canvas.transpose(1, 2, 0)


def image_grid(path, images, nrow=None, value_range=None, title=None, scale: float = 1.0) -> str:
    """Images (N, C, H, W), C = 1 or 3, tiled into one picture.

    value_range: (lo, hi) mapped to black..white; by default (-1, 1) if any value is negative
    (a tanh generator) and (0, 1) otherwise. Values outside are clipped. nrow: images per row
    (default ceil(sqrt(N))). The tiling is ``tile``'s.
    """
    canvas = tile(_host(images), nrow, value_range)
    inches_per_pixel = 0.6 / 28                  # a 28 x 28 digit is 0.6 inch wide
    width = scale * max(2.0, canvas.shape[1] * inches_per_pixel)
    height = scale * max(2.0, canvas.shape[0] * inches_per_pixel) + (0.3 if title else 0.0)
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if canvas.ndim == 2:
        ax.imshow(canvas, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(canvas, interpolation="nearest")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return save(fig, path)
