"""Toy distributions: small, exactly known targets for a generator to learn.

Every distribution here has

    sample(n)      -> (n, dim) array of the active backend, in the active float dtype, drawn from
                      minigan's seeded generator (``B.seed(s)`` fixes the stream)
    dim            1 or 2
    mean, cov      the exact moments, host float64 arrays of shape (dim,) and (dim, dim)

and the Gaussian mixtures also have

    density(x)     host x: (n, dim) or, in 1D, (n,)  ->  host (n,) float64 values of p(x)
    centres        (K, dim) host array: the mode centres
    stds           (K,) host array: each component's standard deviation (isotropic)
    weights        (K,) host array: the mixture weights, summing to 1
    std            the components' common standard deviation (when they share one)

A mixture of K isotropic Gaussians in d dimensions has density

    p(x) = sum_k w_k N(x; c_k, s_k^2 I),
    N(x; c, s^2 I) = exp(-|x - c|^2 / (2 s^2)) / (2 pi s^2)^(d/2)

mean m = sum_k w_k c_k and covariance sum_k w_k (s_k^2 I + c_k c_k^T) - m m^T.

    Gaussian1D(mean, std)                      N(mean, std^2) on the line
    Mixture1D(means, stds, weights)            a 1D mixture, by default two components
    Ring(num_modes=8, radius=2, std=0.02)      centres at angles 2 pi k / num_modes, k = 0..K-1
    Grid(size=5, spacing=2, std=0.02)          size x size centres on a square lattice about 0
    TwoMoons(noise=0.05)                       two interleaved half circles (no density)

Sampling happens on the active backend (so it stays on the GPU under CuPy); densities and moments
are host-side (NumPy float64), for plots and metrics.
"""
from __future__ import annotations

import math

from minigan import arguments
from minigan import backend as B


class GaussianMixture:
    """A mixture of K isotropic Gaussians in ``dim`` dimensions.

    centres: (K, dim), stds: (K,) or a scalar, weights: (K,) or None (equal weights).
    """

    def __init__(self, centres, stds, weights=None):
        np = B.np
        for name, value in (("centres", centres), ("stds", stds), ("weights", weights)):
            if value is not None and np.asarray(value).dtype.kind not in "biuf":
                raise TypeError(f"{type(self).__name__}: {name} must be numbers, got "
                                f"{value!r}")
        centres = np.asarray(centres, dtype=np.float64)
        if centres.ndim == 1:                      # 1D mixtures may list their means flat
            centres = centres[:, None]
        if centres.ndim != 2 or centres.shape[0] < 1:
            raise ValueError(f"{type(self).__name__}: centres must have shape (K, dim), "
                             f"got {centres.shape}")
        if not np.isfinite(centres).all():
            raise ValueError(f"{type(self).__name__}: centres must be finite, got {centres}")
        num_modes = centres.shape[0]
        stds = np.asarray(stds, dtype=np.float64)
        if stds.ndim > 1 or (stds.ndim == 1 and stds.shape[0] != num_modes):
            raise ValueError(f"{type(self).__name__}: stds must be one number or {num_modes} "
                             f"(one per mode), got {stds.size} of shape {stds.shape}")
        stds = np.broadcast_to(stds, (num_modes,)).copy()
        if not ((stds > 0) & np.isfinite(stds)).all():
            raise ValueError(f"{type(self).__name__}: standard deviations must be positive "
                             f"finite numbers, got {stds}")
        if weights is None:
            weights = np.full(num_modes, 1.0 / num_modes)
        weights = np.asarray(weights, dtype=np.float64)
        if (weights.shape != (num_modes,) or not np.isfinite(weights).all()
                or (weights < 0).any() or weights.sum() <= 0):
            raise ValueError(f"{type(self).__name__}: weights must be {num_modes} non-negative "
                             f"finite numbers, not all 0, got {weights}")
        self.centres = centres
        self.stds = stds
        self.weights = weights / weights.sum()
        self.dim = centres.shape[1]

    # -- sampling (active backend) -------------------------------------------------------------
    def sample(self, n: int):
        """n points: (n, dim) array of the active backend in the active dtype."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{type(self).__name__}.sample: n must be a positive int, got {n!r}")
        xp = B.xp
        noise = B.randn(n, self.dim)                                   # (n, dim)
        if len(self.weights) == 1:
            return noise * float(self.stds[0]) + B.asarray(self.centres)
        cumulative = B.asarray(B.np.cumsum(self.weights)[:-1])         # (K-1,)
        component = xp.searchsorted(cumulative, B.rand(n), side="right")   # (n,) in 0..K-1
        centres = B.asarray(self.centres)[component]                   # (n, dim)
        stds = B.asarray(self.stds)[component][:, None]                # (n, 1)
        noise *= stds
        noise += centres
        return noise

    # -- exact quantities (host, float64) --------------------------------------------------------
    def density(self, x):
        """p(x) for host points x: (n, dim), or (n,) when dim == 1  ->  (n,) float64."""
        np = B.np
        x = B.to_numpy(x).astype(np.float64, copy=False)
        if self.dim == 1 and x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"{type(self).__name__}.density expects points of shape "
                             f"(n, {self.dim}), got {x.shape}")
        sq_dist = ((x[:, None, :] - self.centres[None, :, :]) ** 2).sum(axis=2)   # (n, K)
        var = self.stds ** 2                                                      # (K,)
        norm = self.weights / (2 * math.pi * var) ** (self.dim / 2)               # (K,)
        return (norm * np.exp(-sq_dist / (2 * var))).sum(axis=1)

    @property
    def mean(self):
        """(dim,) float64: sum_k w_k c_k."""
        return self.weights @ self.centres

    @property
    def cov(self):
        """(dim, dim) float64: sum_k w_k (s_k^2 I + c_k c_k^T) - m m^T."""
        np = B.np
        second = np.einsum("k,ki,kj->ij", self.weights, self.centres, self.centres)
        second += np.eye(self.dim) * (self.weights @ self.stds ** 2)
        return second - np.outer(self.mean, self.mean)

    @property
    def std(self) -> float:
        """The common standard deviation of the components (for mode-coverage metrics)."""
        if not B.np.allclose(self.stds, self.stds[0]):
            raise ValueError(f"{type(self).__name__}: the components have different standard "
                             f"deviations {self.stds}; use .stds")
        return float(self.stds[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(K={len(self.weights)}, dim={self.dim})"


class Gaussian1D(GaussianMixture):
    """N(mean, std^2) on the line.  sample(n) -> (n, 1)."""

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        super().__init__([[mean]], [std])
        self.loc, self.scale = float(mean), float(std)

    def __repr__(self) -> str:
        return f"Gaussian1D(mean={self.loc:g}, std={self.scale:g})"


class Mixture1D(GaussianMixture):
    """A 1D Gaussian mixture, by default 1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2).  sample(n): (n, 1)."""

    def __init__(self, means=(-2.0, 2.0), stds=(0.5, 0.5), weights=None):
        super().__init__([[m] for m in means], stds, weights)

    def __repr__(self) -> str:
        means = ", ".join(f"{c:g}" for c in self.centres[:, 0])
        return f"Mixture1D(means=({means}))"


class Ring(GaussianMixture):
    """num_modes Gaussians (std ``std``) with centres on a circle of radius ``radius``.

    Centre k sits at angle 2 pi k / num_modes, k = 0 .. num_modes-1: all distinct (an angle grid
    built with linspace(0, 2 pi, num_modes) would put the last centre on top of the first).
    sample(n) -> (n, 2).
    """

    def __init__(self, num_modes: int = 8, radius: float = 2.0, std: float = 0.02):
        arguments.integer(num_modes, "num_modes", "Ring", minimum=1)
        radius = arguments.real(radius, "radius", "Ring", 0, low_open=True)
        angles = [2 * math.pi * k / num_modes for k in range(num_modes)]
        super().__init__([[radius * math.cos(a), radius * math.sin(a)] for a in angles], std)
        self.radius = float(radius)

    def __repr__(self) -> str:
        return f"Ring(num_modes={len(self.weights)}, radius={self.radius:g}, std={self.std:g})"


class Grid(GaussianMixture):
    """size x size Gaussians (std ``std``) on a square lattice of spacing ``spacing`` about 0.

    The default 5 x 5 grid has centres at {-4, -2, 0, 2, 4}^2.  sample(n) -> (n, 2).
    """

    def __init__(self, size: int = 5, spacing: float = 2.0, std: float = 0.02):
        arguments.integer(size, "size", "Grid", minimum=1)
        spacing = arguments.real(spacing, "spacing", "Grid", 0, low_open=True)
        offset = (size - 1) / 2
        ticks = [(i - offset) * spacing for i in range(size)]
        super().__init__([[a, b] for a in ticks for b in ticks], std)
        self.size, self.spacing = size, float(spacing)

    def __repr__(self) -> str:
        return f"Grid(size={self.size}, spacing={self.spacing:g}, std={self.std:g})"


class TwoMoons:
    """Two interleaved half circles with Gaussian noise.  sample(n) -> (n, 2).

    With t ~ U[0, pi]: the upper moon is (cos t, sin t), the lower one (1 - cos t, 1/2 - sin t),
    each chosen with probability 1/2, plus N(0, noise^2 I). It has no closed-form density; its
    exact moments follow from E[cos t] = E[cos t sin t] = 0, E[sin t] = 2/pi and
    E[cos^2 t] = E[sin^2 t] = 1/2:

        mean = (1/2, 1/4),   cov_xy = 1/8 - 1/pi,
        var_x = 3/4 + noise^2,   var_y = 9/16 - 1/pi + noise^2.
    """

    dim = 2

    def __init__(self, noise: float = 0.05):
        self.noise = arguments.real(noise, "noise", "TwoMoons", 0)

    def sample(self, n: int):
        """n points: (n, 2) array of the active backend in the active dtype."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"TwoMoons.sample: n must be a positive int, got {n!r}")
        xp = B.xp
        t = B.rand(n) * math.pi                                        # (n,)
        lower = B.rand(n) < 0.5                                        # (n,) bool
        x = xp.cos(t)
        y = xp.sin(t)
        x = xp.where(lower, 1 - x, x)
        y = xp.where(lower, 0.5 - y, y)
        points = xp.stack([x, y], axis=1)                              # (n, 2)
        if self.noise > 0:
            points += self.noise * B.randn(n, 2)
        return points.astype(B.dtype(), copy=False)

    @property
    def mean(self):
        """(2,) float64: (1/2, 1/4)."""
        return B.np.array([0.5, 0.25])

    @property
    def cov(self):
        """(2, 2) float64, see the class docstring."""
        var = self.noise ** 2
        cov_xy = 1 / 8 - 1 / math.pi
        return B.np.array([[0.75 + var, cov_xy], [cov_xy, 9 / 16 - 1 / math.pi + var]])

    def __repr__(self) -> str:
        return f"TwoMoons(noise={self.noise:g})"
