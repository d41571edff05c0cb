"""1D densities on a grid: the theory of chapters 1-3 made numerical.

A generator never writes its density down; in 1D it can be computed. p_g is the push-forward of
p_z through G: with a fine grid of noise values z_j and their probability masses w_j
(``latent_quadrature``), the points G(z_j) carry the masses w_j, and depositing them on bins of
x (``push_forward``) gives p_g on that grid. Then the optimal discriminator of Proposition 1,

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and every integral of the theory (V(D, G), the JSD of ``minigan.metrics``) are sums over bins.
Everything here works on host NumPy float64 arrays.

    gaussian_pdf(x, mean, std)                 N(x; mean, std^2)
    latent_quadrature(noise, latent_dim)       (z (M, d), weights (M,)): E_z f(z) ~ sum_j w_j f(z_j)
    push_forward(x, weights, edges)            p_g on the bins ``edges`` of the points x = G(z_j)
    at_points(values, edges, x)                bin values read back at the points x
    images(module, z)                          module.forward on host z -> host (M,)
    optimal_discriminator(p_data, p_g)         D*; log_optimal_discriminator: (log D*, log(1 - D*))
    mass_interval(x, density, mass)            the central interval holding ``mass`` of a density
"""
from __future__ import annotations

import math

from minigan import backend as B


def gaussian_pdf(x, mean=0.0, std=1.0):
    """N(x; mean, std^2) for host arrays x (any shape) -> same shape. std > 0 (ValueError)."""
    np = B.np
    std_values = np.asarray(std)
    if std_values.dtype.kind not in "iuf":
        raise TypeError(f"gaussian_pdf: std must be a positive number, got {std!r}")
    if not (np.isfinite(std_values) & (std_values > 0)).all():
        raise ValueError(f"gaussian_pdf: std must be a positive finite number, got {std!r}")
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def latent_quadrature(noise: str, latent_dim: int = 1, points_per_axis: int = 50_000):
    """A grid of noise values and their probability masses, for integrals over p_z.

    Returns (z, weights): z (M, latent_dim) host float64, weights (M,) summing to 1, with
    M = points_per_axis ** latent_dim, so that E_z f(z) ~= sum_j weights_j f(z_j).
    noise "normal": midpoints of [-8, 8] weighted by N(0, 1) (mass beyond 8 sd is ~1e-15);
    "uniform": midpoints of [-1, 1], equal weights.
    """
    np = B.np
    if latent_dim not in (1, 2):
        raise ValueError(f"latent_quadrature: latent_dim must be 1 or 2, got {latent_dim}")
    if noise not in ("normal", "uniform"):
        raise ValueError(f"latent_quadrature: noise must be 'normal' or 'uniform', got {noise!r}")
    half = 8.0 if noise == "normal" else 1.0
    edges = np.linspace(-half, half, points_per_axis + 1)
    axis = (edges[:-1] + edges[1:]) / 2
    mass = gaussian_pdf(axis) if noise == "normal" else np.ones_like(axis)
    mass /= mass.sum()
    if latent_dim == 1:
        return axis[:, None], mass
    z1, z2 = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([z1.ravel(), z2.ravel()], axis=1), np.outer(mass, mass).ravel()


def push_forward(x, weights, edges):
    """The density p_g of x = G(z), z ~ p_z, on the uniform bins ``edges``.

    x: (M,) host images G(z_j) of the quadrature points z_j, weights: (M,) their masses (from
    latent_quadrature). Each point's mass is shared between the two nearest bin centres in
    proportion to its closeness (a linear, "cloud-in-cell" deposit): unlike a plain histogram
    of grid points this shows no aliasing stripes. Returns p_g: (len(edges) - 1,), with
    sum(p_g) * dx = the mass inside the grid. ``at_points`` is the matching read-out.
    """
    np = B.np
    edges = _check_edges(edges, "push_forward")
    x, weights = np.asarray(x, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    if x.ndim != 1 or weights.shape != x.shape:
        raise ValueError(f"push_forward: x and weights must be (M,) arrays of one length, got "
                         f"shapes {x.shape} and {weights.shape}")
    bins = len(edges) - 1
    left, frac = _linear_bins(edges, x)
    mass = np.zeros(bins)
    for index, share in ((left, 1 - frac), (left + 1, frac)):
        inside = (index >= 0) & (index < bins)
        mass += np.bincount(index[inside], weights=weights[inside] * share[inside],
                            minlength=bins)
    return mass / (edges[1] - edges[0])


def at_points(values, edges, x):
    """Bin values read at the points x, with the weights push_forward deposited them with.

    values: (bins,) on the grid; x: (M,) -> (M,). Then sum_j weights_j at_points(f, edges, x)_j
    equals sum_i f_i p_g,i dx for p_g = push_forward(x, weights, edges): an expectation over z is
    the same number as the integral over x on the grid. A zero share contributes 0 even where f
    is -inf (0 log 0 = 0).
    """
    np = B.np
    edges = _check_edges(edges, "at_points")
    values, x = np.asarray(values), np.asarray(x, dtype=np.float64)
    if values.shape != (len(edges) - 1,) or x.ndim != 1:
        raise ValueError(f"at_points: values must be ({len(edges) - 1},), one per bin, and x "
                         f"(M,), got shapes {values.shape} and {x.shape}")
    bins = len(edges) - 1
    left, frac = _linear_bins(edges, x)
    total = np.zeros(len(x))
    for index, share in ((left, 1 - frac), (left + 1, frac)):
        use = (index >= 0) & (index < bins) & (share > 0)
        total[use] += share[use] * values[index[use]]
    return total


def _check_edges(edges, where: str):
    """edges as a host float64 (bins + 1,) array: finite, increasing, equally spaced."""
    np = B.np
    edges = np.asarray(B.to_numpy(edges) if B.is_array(edges) else edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2:
        raise ValueError(f"{where}: edges must be a 1-D array of at least 2 bin edges, got "
                         f"shape {edges.shape}")
    steps = np.diff(edges)
    if not np.isfinite(edges).all() or not (steps > 0).all():
        raise ValueError(f"{where}: edges must be finite and increasing, got "
                         f"{edges[:3]}...{edges[-2:]}")
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise ValueError(f"{where}: edges must be equally spaced (uniform bins), got steps "
                         f"from {steps.min():g} to {steps.max():g}")
    return edges


def _linear_bins(edges, x):
    """(left, frac): x lies between the centres of bins left and left + 1, frac of the way."""
    np = B.np
    position = (x - edges[0]) / (edges[1] - edges[0]) - 0.5     # 0 at the first bin centre
    left = np.floor(position).astype(np.int64)
    return left, position - left


def images(module, z):
    """module.forward on host values z (M, d) -> host float64 (M,) (a 1D output per row)."""
    return B.to_numpy(module.forward(B.asarray(z))).astype(B.np.float64).reshape(-1)


def optimal_discriminator(p_data, p_g):
    """D*(x) = p_data / (p_data + p_g)  (Proposition 1); 1/2 where both densities vanish.

    p_data, p_g: host arrays of one shape (densities on a grid) -> D* of that shape."""
    np = B.np
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def log_optimal_discriminator(p_data, p_g):
    """(log D*(x), log(1 - D*(x))) = (log p_data - log(p_data + p_g), log p_g - log(...)).

    Computed from the logs of the densities, so a ratio that rounds to 0 or 1 still has a finite
    log; -inf where the numerator density is 0 (such points carry no weight in V).
    """
    np = B.np
    total = p_data + p_g
    log_total = np.log(total, out=np.zeros_like(total), where=total > 0)
    log_p = np.log(p_data, out=np.full_like(total, -np.inf), where=p_data > 0)
    log_q = np.log(p_g, out=np.full_like(total, -np.inf), where=p_g > 0)
    return log_p - log_total, log_q - log_total


def mass_interval(x, density, mass: float = 0.99):
    """(lo, hi): the central interval of a density on the grid x (K,) holding ``mass`` of it."""
    np = B.np
    cdf = np.cumsum(density)
    cdf /= cdf[-1]
    tail = (1 - mass) / 2
    return float(np.interp(tail, cdf, x)), float(np.interp(1 - tail, cdf, x))
