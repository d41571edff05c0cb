"""Toy distributions: samples match the stated moments, densities are normalised, mode centres
are where they should be, and sampling is seeded and backend-native."""
import math

import numpy as np
import pytest

from minigan import backend as B
from minigan.data import Gaussian1D, GaussianMixture, Grid, Mixture1D, Ring, TwoMoons

N = 200_000
ALL = [
    lambda: Gaussian1D(3.0, 0.5),
    lambda: Mixture1D(),
    lambda: Mixture1D(means=(-1.0, 0.5, 4.0), stds=(0.3, 0.6, 1.0), weights=(0.2, 0.5, 0.3)),
    lambda: Ring(),
    lambda: Grid(),
    lambda: TwoMoons(noise=0.05),
]
IDS = ["gaussian", "mixture", "mixture3", "ring", "grid", "moons"]


def _sample(dist, n=N):
    x = dist.sample(n)
    assert B.is_array(x) and x.shape == (n, dist.dim) and x.dtype == B.dtype()
    return B.to_numpy(x).astype(np.float64)


@pytest.mark.parametrize("make", ALL, ids=IDS)
def test_sample_moments_match_the_stated_ones(make):
    """Sample mean and covariance within 6 standard errors of the exact moments."""
    dist = make()
    x = _sample(dist)
    mean, cov = dist.mean, dist.cov
    assert mean.shape == (dist.dim,) and cov.shape == (dist.dim, dist.dim)
    se_mean = np.sqrt(np.diag(cov) / N)
    np.testing.assert_array_less(np.abs(x.mean(axis=0) - mean), 6 * se_mean)
    sample_cov = np.atleast_2d(np.cov(x.T))
    # standard error of a covariance entry ~ sqrt((var_i var_j + cov_ij^2) / N), with slack
    # for the heavier tails of mixtures
    var = np.diag(cov)
    se_cov = np.sqrt((np.outer(var, var) + cov ** 2) / N)
    np.testing.assert_array_less(np.abs(sample_cov - cov), 10 * se_cov)


@pytest.mark.parametrize("make", ALL[:5], ids=IDS[:5])
def test_density_integrates_to_one(make):
    dist = make()
    if dist.dim == 1:
        grid = np.linspace(-12, 12, 48_001)
        mass = dist.density(grid).sum() * (grid[1] - grid[0])
    else:
        # the components are narrow (std 0.02): integrate each one's neighbourhood, +-7.5 std,
        # on a grid of step std / 4 (ample for a Gaussian's Riemann sum)
        step = 0.005
        axis = np.arange(-0.15, 0.15 + step / 2, step)
        gx, gy = np.meshgrid(axis, axis)
        offsets = np.stack([gx.ravel(), gy.ravel()], axis=1)
        mass = sum(dist.density(c + offsets).sum() * step ** 2 for c in dist.centres)
    assert abs(mass - 1.0) < 1e-3


def test_gaussian_density_closed_form():
    d = Gaussian1D(3.0, 0.5)
    assert d.density(np.array([3.0]))[0] == pytest.approx(1 / (0.5 * math.sqrt(2 * math.pi)))
    assert d.density(np.array([[3.5]]))[0] == pytest.approx(
        math.exp(-0.5) / (0.5 * math.sqrt(2 * math.pi)))
    assert d.std == 0.5


def test_mixture_weights_are_honoured():
    dist = Mixture1D(means=(-3.0, 3.0), stds=(0.2, 0.2), weights=(0.8, 0.2))
    x = _sample(dist)[:, 0]
    fraction_left = (x < 0).mean()
    assert abs(fraction_left - 0.8) < 6 * math.sqrt(0.8 * 0.2 / N)


def test_ring_has_eight_distinct_centres_at_angles_2pi_k_over_8():
    ring = Ring()
    centres = ring.centres
    assert centres.shape == (8, 2)
    distances = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    assert distances[~np.eye(8, dtype=bool)].min() > 1.5           # 8 distinct points
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 2.0)
    angles = np.sort(np.mod(np.arctan2(centres[:, 1], centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    assert ring.std == 0.02


def test_ring_samples_sit_at_their_centres():
    ring = Ring()
    x = _sample(ring, 20_000)
    nearest = np.linalg.norm(x[:, None] - ring.centres[None], axis=2)
    # the distance to the nearest centre is Rayleigh(0.02): below 5 std always, in practice
    assert nearest.min(axis=1).max() < 5 * 0.02 * 1.5
    counts = np.bincount(nearest.argmin(axis=1), minlength=8)
    assert (np.abs(counts / 20_000 - 1 / 8) < 6 * math.sqrt(1 / 8 * 7 / 8 / 20_000)).all()


def test_grid_has_25_centres_on_the_lattice():
    grid = Grid()
    assert grid.centres.shape == (25, 2)
    assert len({tuple(c) for c in grid.centres.round(9)}) == 25
    np.testing.assert_allclose(sorted(set(grid.centres[:, 0])), [-4, -2, 0, 2, 4])
    np.testing.assert_allclose(grid.mean, [0.0, 0.0], atol=1e-12)


def test_sampling_is_seeded():
    B.seed(5)
    a = B.to_numpy(Ring().sample(100))
    B.seed(5)
    b = B.to_numpy(Ring().sample(100))
    B.seed(6)
    c = B.to_numpy(Ring().sample(100))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_float64_sampling():
    with B.precision("float64"):
        for make in ALL:
            assert make().sample(10).dtype == np.float64


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="positive int"):
        Gaussian1D().sample(0)
    with pytest.raises(ValueError, match="positive int"):
        TwoMoons().sample(-3)
    with pytest.raises(ValueError, match="standard deviations"):
        Gaussian1D(0.0, 0.0)
    with pytest.raises(ValueError, match="weights"):
        Mixture1D(weights=(1.0,))
    with pytest.raises(ValueError, match="different standard deviations"):
        _ = Mixture1D(stds=(0.1, 0.2)).std
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        Ring().density(np.zeros((4, 3)))


def test_general_mixture_in_two_dimensions():
    dist = GaussianMixture([[0.0, 0.0], [4.0, 0.0]], [1.0, 0.5], weights=[3, 1])
    np.testing.assert_allclose(dist.weights, [0.75, 0.25])
    np.testing.assert_allclose(dist.mean, [1.0, 0.0])
    # var_x = sum w (s^2 + c^2) - m^2 = 0.75 + 0.25 (0.25 + 16) - 1
    np.testing.assert_allclose(dist.cov, [[0.75 + 0.25 * 16.25 - 1, 0], [0, 0.8125]])
