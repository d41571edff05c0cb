"""Chapter 5: the Dirac-GAN against its closed form, Frechet distance known answers, and the
chapter's --quick run (mode collapse: tests/test_mode_collapse.py)."""
import math
import os
import warnings

import numpy as np
import pytest

from minigan import backend as B
from minigan.dirac import (DIRAC_OBJECTIVES, MODES, DiracGenerator, dirac_field,
                           dirac_jacobian, dirac_trajectory, field_residual,
                           linear_discriminator, normal_quantiles, step_map)
from minigan.metrics import fid_from_features, frechet_distance


LR = 0.05


# ---------------------------------------------------------------------------------------------
# Dirac-GAN

@pytest.mark.parametrize("objective", DIRAC_OBJECTIVES)
@pytest.mark.parametrize("mode", MODES)
def test_dirac_trajectory_follows_the_closed_form_field(objective, mode):
    with B.precision("float64"):
        path = dirac_trajectory(1.0, 0.5, objective, LR, 60, mode)
    assert path.shape == (61, 2)
    assert field_residual(path, objective, LR, mode) < 1e-12
    # the check can fail: the other scheme's prediction is wrong by O(h^2)
    other = MODES[1 - MODES.index(mode)]
    assert field_residual(path, objective, LR, other) > 1e-4


@pytest.mark.parametrize("extra", [{"gamma": 0.5}, {"noise": np.array([-1.0, -0.3, 0.3, 1.0])}])
def test_dirac_regularised_trajectory_follows_the_field_and_converges(extra):
    with B.precision("float64"):
        for mode in MODES:
            path = dirac_trajectory(1.0, 1.0, "minimax", LR, 400, mode, **extra)
            assert field_residual(path, "minimax", LR, mode, **extra) < 1e-12
            assert np.hypot(*path[-1]) < 0.1 * np.hypot(*path[0])


def test_dirac_unregularised_does_not_converge():
    with B.precision("float64"):
        for objective in ("minimax", "wasserstein"):
            for mode in MODES:
                path = dirac_trajectory(1.0, 1.0, objective, LR, 400, mode)
                distance = np.hypot(path[:, 0], path[:, 1])
                assert distance[-1] > 0.95 * distance[0]
                if mode == "simultaneous":
                    assert distance[-1] > distance[0]                  # spirals out


def test_dirac_wasserstein_known_answers():
    """Simultaneous: radius x sqrt(1 + h^2) per step. Alternating: theta^2 + psi^2 - h theta psi
    is conserved."""
    with B.precision("float64"):
        sim = dirac_trajectory(0.3, -0.7, "wasserstein", LR, 100, "simultaneous")
        alt = dirac_trajectory(0.3, -0.7, "wasserstein", LR, 100, "alternating")
    radius = np.hypot(sim[:, 0], sim[:, 1])
    np.testing.assert_allclose(radius, radius[0] * (1 + LR ** 2) ** (np.arange(101) / 2),
                               rtol=1e-12)
    q = alt[:, 0] ** 2 + alt[:, 1] ** 2 - LR * alt[:, 0] * alt[:, 1]
    np.testing.assert_allclose(q, q[0], rtol=1e-12)


@pytest.mark.parametrize("objective", DIRAC_OBJECTIVES)
def test_dirac_jacobian_matches_finite_differences(objective):
    noise = normal_quantiles(32, 0.8)
    noise_std = math.sqrt(float((noise ** 2).mean()))      # the set's own second moment
    for extra, gamma, std in (({}, 0.0, 0.0), ({"gamma": 0.3}, 0.3, 0.0),
                              ({"noise": noise}, 0.0, noise_std)):
        h = 1e-6
        numeric = np.empty((2, 2))
        for j, (dt, dp) in enumerate(((h, 0.0), (0.0, h))):
            plus = dirac_field(np.array(dt), np.array(dp), objective, **extra)
            minus = dirac_field(np.array(-dt), np.array(-dp), objective, **extra)
            numeric[:, j] = [(plus[i] - minus[i]) / (2 * h) for i in range(2)]
        expected = dirac_jacobian(objective, gamma, std if objective != "wasserstein" else 0.0)
        np.testing.assert_allclose(numeric, expected, atol=1e-8)


def test_dirac_step_maps_spectral_radius():
    """Unregularised: simultaneous > 1, alternating = 1; with R1: both < 1."""
    rotation = dirac_jacobian("minimax")
    assert np.abs(np.linalg.eigvals(step_map(rotation, LR, "simultaneous"))).max() == \
        pytest.approx(math.sqrt(1 + LR ** 2 / 4), rel=1e-12)
    assert np.abs(np.linalg.eigvals(step_map(rotation, LR, "alternating"))).max() == \
        pytest.approx(1.0, rel=1e-12)
    damped = dirac_jacobian("minimax", gamma=0.5)
    for mode in MODES:
        assert np.abs(np.linalg.eigvals(step_map(damped, LR, mode))).max() < 1


def test_dirac_modules():
    with B.precision("float64"):
        G, D = DiracGenerator(0.7), linear_discriminator(-1.5)
        x = G.forward(B.xp.zeros((3, 1)))
        np.testing.assert_array_equal(x, np.full((3, 1), 0.7))
        np.testing.assert_allclose(D.forward(x), np.full((3, 1), -1.05))
        G.backward(B.xp.array([[1.0], [2.0], [0.5]]))
        assert float(G.theta.grad[0]) == pytest.approx(3.5)
    with pytest.raises(ValueError, match="objective"):
        dirac_field(0.0, 0.0, "hinge")
    with pytest.raises(ValueError, match="mode"):
        dirac_trajectory(1.0, 1.0, "minimax", mode="sideways")
    with pytest.raises(ValueError, match="optimizer"):
        dirac_trajectory(1.0, 1.0, "minimax", optimizer="rmsprop")
    with pytest.raises(RuntimeError, match="before forward"):
        DiracGenerator().backward(B.xp.ones((1, 1), dtype=B.dtype()))


def test_normal_quantiles():
    q = normal_quantiles(4, 2.0)
    np.testing.assert_allclose(q, -q[::-1], atol=1e-12)
    # Phi^{-1}(0.875) = 1.1503493803760079
    assert q[-1] == pytest.approx(2.0 * 1.1503493803760079, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Frechet distance and the evaluation's sanity checks

def test_frechet_real_vs_real_noise_monotone_and_warning():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(6, 6))
    features = rng.normal(size=(4000, 6)) @ mixing
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-9)
    halves = fid_from_features(features[:2000], features[2000:])
    distances = [fid_from_features(features[:2000],
                                   features[2000:] + s * rng.normal(size=(2000, 6)))
                 for s in (1.0, 2.0, 4.0, 8.0)]
    assert halves < 0.2 * distances[0]
    assert np.all(np.diff(distances) > 0)
    with pytest.warns(UserWarning, match="fewer|singular|samples"):
        fid_from_features(features[:5], features[5:10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fid_from_features(features[:100], features[100:200])        # enough samples: silent
    mu = np.zeros(3)
    assert frechet_distance(mu, np.eye(3), mu + 2, 4 * np.eye(3)) == pytest.approx(12 + 3)


# ---------------------------------------------------------------------------------------------
# The chapter

def test_chapter5_quick(quick_run):
    _, numbers = quick_run("ch5_challenges")                 # shared with the notebook test
    assert numbers["dirac_field_residual"] < 1e-12
    assert numbers["dirac_wgan_growth"] == pytest.approx(numbers["dirac_wgan_growth_predicted"],
                                                         rel=1e-12)
    assert numbers["dirac_wgan_invariant_drift"] < 1e-12
    start = math.hypot(1.0, 1.0)                 # the chapter's DIRAC_START
    assert numbers["dirac_final_distance_minimax_simultaneous"] > start
    assert numbers["dirac_final_distance_wasserstein_simultaneous"] > start
    assert numbers["dirac_final_distance_minimax+r1_simultaneous"] < 0.2 * start
    assert numbers["dirac_final_distance_minimax+noise_alternating"] < 0.2 * start
    assert numbers["dirac_final_distance_minimax_adam"] > start          # Adam spirals out too
    # saturation: per-sample gradients are D and 1 - D; a confident D silences the minimax G
    assert numbers["sat_grad_identity_error"] < 1e-6
    assert numbers["sat_d_fake_start"] < 0.05
    assert numbers["sat_norm_saturating_after"] < 0.3 * numbers["sat_norm_saturating_before"]
    assert numbers["sat_norm_nonsaturating_after"] > 3 * numbers["sat_norm_nonsaturating_before"]
    assert numbers["sat_reach_data_SGD_non-saturating"] < numbers["sat_reach_data_SGD_minimax"]
    # evaluation sanity checks
    assert numbers["fid_monotone_in_noise"]
    assert numbers["fid_real_vs_real"] < 0.2 * numbers["fid_noise_0.8"]
    assert numbers["fid_uniform_noise"] > numbers["fid_noise_0.8"]
    assert numbers["fd_diag_rel_error"] < 1e-10 and numbers["fd_prop_rel_error"] < 1e-10
    assert numbers["fd_from_samples"] == pytest.approx(numbers["fd_prop_exact"], rel=0.05)
    assert numbers["few_samples_warned"]
    assert numbers["is_one_digit"] < 2.0 < numbers["is_real"] <= 10.0
    for path in numbers["figures"]:
        assert os.path.getsize(path) > 0
