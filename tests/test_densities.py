"""minigan.densities: the push-forward of p_z through a generator, D*, and the grid integrals."""
import math

import numpy as np
import pytest

from minigan.densities import (at_points, gaussian_pdf, latent_quadrature,
                               log_optimal_discriminator, mass_interval, optimal_discriminator,
                               push_forward)

DX = 0.01
EDGES = np.arange(-10.0, 10.0 + DX / 2, DX)
X = (EDGES[:-1] + EDGES[1:]) / 2


def test_the_push_forward_of_an_affine_map_is_the_shifted_gaussian():
    z, weights = latent_quadrature("normal", 1)
    p_g = push_forward(1.5 * z[:, 0] + 0.5, weights, EDGES)
    assert abs(p_g.sum() * DX - 1) < 1e-9                        # all the mass is on the grid
    assert np.abs(p_g - gaussian_pdf(X, 0.5, 1.5)).max() < 1e-4


def test_the_quadrature_integrates_polynomials_of_the_noise():
    z, weights = latent_quadrature("normal", 2, points_per_axis=400)
    assert weights.sum() == pytest.approx(1.0)
    assert (weights * z[:, 0] ** 2).sum() == pytest.approx(1.0, rel=1e-4)      # E z1^2 = 1
    assert (weights * z[:, 0] * z[:, 1]).sum() == pytest.approx(0.0, abs=1e-9)
    z, weights = latent_quadrature("uniform", 1)
    assert (weights * z[:, 0] ** 2).sum() == pytest.approx(1 / 3, rel=1e-6)    # U[-1, 1]
    with pytest.raises(ValueError, match="latent_dim"):
        latent_quadrature("normal", 3)
    with pytest.raises(ValueError, match="noise"):
        latent_quadrature("laplace", 1)


def test_an_expectation_over_z_equals_the_integral_over_x():
    z, weights = latent_quadrature("normal", 1, points_per_axis=20_000)
    x = np.tanh(z[:, 0]) * 2 + 0.3
    p_g = push_forward(x, weights, EDGES)
    f = np.cos(X)
    assert (weights * at_points(f, EDGES, x)).sum() == pytest.approx((f * p_g).sum() * DX,
                                                                        rel=1e-12)


def test_the_optimal_discriminator_and_its_logs():
    p_data = np.array([0.0, 1.0, 2.0, 0.0])
    p_g = np.array([0.0, 1.0, 6.0, 3.0])
    np.testing.assert_allclose(optimal_discriminator(p_data, p_g), [0.5, 0.5, 0.25, 0.0])
    log_d, log_one_minus_d = log_optimal_discriminator(p_data, p_g)
    np.testing.assert_allclose(log_d[1:3], np.log([0.5, 0.25]))
    np.testing.assert_allclose(log_one_minus_d[1:], np.log([0.5, 0.75, 1.0]))
    assert log_d[3] == -np.inf


def test_the_central_interval_of_a_gaussian():
    lo, hi = mass_interval(X, gaussian_pdf(X, 1.0, 0.5), 0.95)
    assert lo == pytest.approx(1.0 - 1.96 * 0.5, abs=2 * DX)
    assert hi == pytest.approx(1.0 + 1.96 * 0.5, abs=2 * DX)
    assert gaussian_pdf(np.array([0.0]))[0] == pytest.approx(1 / math.sqrt(2 * math.pi))
