"""Known answers for minigan.metrics: Frechet distance, inception score, mode coverage, divergences."""
import math
import warnings

import numpy as np
import pytest

from minigan import backend as B
from minigan import metrics


def random_spd(rng, d, scale=1.0):
    """A random symmetric positive definite (d, d) matrix."""
    a = rng.standard_normal((d, d)) * scale
    return a @ a.T + 0.1 * np.eye(d)


def trace_sqrt_product_by_eig(s1, s2):
    """Tr((S1 S2)^{1/2}) from the (non-symmetric) eigendecomposition S1 S2 = P diag(l) P^-1.

    Independent of the symmetric sqrt(S1) S2 sqrt(S1) route taken by minigan; also checks that the
    matrix built this way really is a square root of S1 S2.
    """
    product = s1 @ s2
    eigenvalues, eigenvectors = np.linalg.eig(product)
    root = (eigenvectors * np.sqrt(eigenvalues.astype(complex))) @ np.linalg.inv(eigenvectors)
    np.testing.assert_allclose(root @ root, product, atol=1e-9)
    return float(np.trace(root).real)


# ---------------------------------------------------------------------------------------------
# Frechet distance

def test_frechet_distance_of_identical_gaussians_is_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.standard_normal(6), random_spd(rng, 6)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-10)


def test_fid_of_a_sample_with_itself_is_zero_and_of_two_samples_is_small():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((4000, 4)) @ rng.standard_normal((4, 4))
    assert metrics.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-10)
    g = rng.standard_normal((4000, 4)) @ np.eye(4)
    h = rng.standard_normal((4000, 4))
    same_distribution = metrics.fid_from_features(g, h)
    shifted = metrics.fid_from_features(g, h + 1.0)       # ||dmu||^2 = 4
    assert same_distribution < 0.02
    assert shifted == pytest.approx(4.0, abs=0.2)


def test_frechet_distance_diagonal_closed_form():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.1, 3.0, 5), rng.uniform(0.1, 3.0, 5)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum() + ((mu1 - mu2) ** 2).sum()
    got = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_one_dimension():
    # N(m1, s1^2) vs N(m2, s2^2): (m1 - m2)^2 + (s1 - s2)^2
    got = metrics.frechet_distance([1.0], [[4.0]], [-2.0], [[0.25]])
    assert got == pytest.approx(9.0 + (2.0 - 0.5) ** 2, rel=1e-12)


def test_frechet_distance_full_covariances_against_eigendecomposition():
    rng = np.random.default_rng(3)
    d = 7
    s1, s2 = random_spd(rng, d), random_spd(rng, d, scale=0.5)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    expected = (((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2)
                - 2 * trace_sqrt_product_by_eig(s1, s2))
    got = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert got == pytest.approx(expected, rel=1e-9)
    assert got > 1.0


def test_frechet_distance_handles_singular_covariance():
    # rank-1 covariances: the square root needs no inverse. Two lines through 0 along the
    # same direction with variances 4 and 1 -> (2 - 1)^2.
    u = np.array([0.6, 0.8, 0.0])
    s1, s2 = 4.0 * np.outer(u, u), 1.0 * np.outer(u, u)
    zeros = np.zeros(3)
    assert metrics.frechet_distance(zeros, s1, zeros, s2) == pytest.approx(1.0, rel=1e-9)


def test_frechet_distance_is_symmetric():
    rng = np.random.default_rng(4)
    s1, s2 = random_spd(rng, 5), random_spd(rng, 5, scale=2.0)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    forward = metrics.frechet_distance(mu1, s1, mu2, s2)
    reverse = metrics.frechet_distance(mu2, s2, mu1, s1)
    assert forward == pytest.approx(reverse, rel=1e-10)


def test_fid_grows_monotonically_as_noise_is_added():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((3000, 3)) * [1.0, 2.0, 0.5]
    noise = rng.standard_normal(real.shape)
    values = [metrics.fid_from_features(real, real + level * noise)
              for level in (0.0, 0.1, 0.3, 1.0, 3.0)]
    assert values[0] == pytest.approx(0.0, abs=1e-10)
    assert all(later > earlier for earlier, later in zip(values, values[1:])), values


def test_feature_statistics_matches_numpy_and_warns_when_singular():
    rng = np.random.default_rng(6)
    f = rng.standard_normal((50, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # enough samples: no warning
        mu, sigma = metrics.feature_statistics(f)
    np.testing.assert_allclose(mu, f.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(f, rowvar=False), rtol=1e-12)
    with pytest.warns(UserWarning, match="5 samples for 10 feature dimensions.*singular"):
        metrics.feature_statistics(rng.standard_normal((5, 10)))
    with pytest.warns(UserWarning, match="singular"):
        metrics.fid_from_features(rng.standard_normal((8, 10)), rng.standard_normal((20, 10)))


def test_fid_accepts_backend_arrays_in_float32():
    rng = np.random.default_rng(7)
    f = rng.standard_normal((200, 3))
    on_backend = B.asarray(f)                    # float32 array of the active backend
    assert metrics.fid_from_features(on_backend, on_backend) == pytest.approx(0.0, abs=1e-10)


def test_frechet_distance_bad_shapes():
    with pytest.raises(ValueError, match="sigma2 must have shape \\(2, 2\\)"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))
    with pytest.raises(ValueError, match="same length"):
        metrics.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="same D"):
        metrics.fid_from_features(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.feature_statistics(np.zeros((1, 2)))


# ---------------------------------------------------------------------------------------------
# Inception score

def test_inception_score_confident_and_even_is_k():
    k, splits = 10, 10
    labels = np.arange(k * splits * 3) % k            # every split holds every class 3 times
    probs = np.eye(k)[labels]
    mean, std = metrics.inception_score(probs, splits=splits)
    assert mean == pytest.approx(k, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_inception_score_single_class_is_one():
    probs = np.tile([0.0, 1.0, 0.0, 0.0], (40, 1))
    mean, std = metrics.inception_score(probs, splits=4)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)
    # identical soft predictions: p(y|x) = p(y), KL = 0 -> 1
    soft = np.tile([0.1, 0.2, 0.3, 0.4], (40, 1))
    assert metrics.inception_score(soft, splits=2)[0] == pytest.approx(1.0, abs=1e-12)


def test_inception_score_between_one_and_k_and_matches_direct_formula():
    rng = np.random.default_rng(8)
    probs = rng.dirichlet(np.full(5, 0.3), size=100)
    mean, _ = metrics.inception_score(probs, splits=1)
    marginal = probs.mean(axis=0)
    expected = math.exp(np.mean(np.sum(probs * (np.log(probs) - np.log(marginal)), axis=1)))
    assert mean == pytest.approx(expected, rel=1e-10)
    assert 1.0 < mean < 5.0


def test_inception_score_bad_input():
    with pytest.raises(ValueError, match="softmax"):
        metrics.inception_score(np.ones((10, 3)), splits=2)
    with pytest.raises(ValueError, match="splits"):
        metrics.inception_score(np.eye(3), splits=5)
    with pytest.raises(ValueError, match="\\(N, K\\)"):
        metrics.inception_score(np.ones(3) / 3, splits=1)


# ---------------------------------------------------------------------------------------------
# Mode coverage and class histograms

RING = np.stack([2.0 * np.cos(np.arange(8) * np.pi / 4), 2.0 * np.sin(np.arange(8) * np.pi / 4)], 1)
STD = 0.02


def test_mode_coverage_all_eight_modes():
    rng = np.random.default_rng(9)
    samples = np.repeat(RING, 25, axis=0) + STD * 0.5 * rng.standard_normal((200, 2))
    result = metrics.mode_coverage(samples, RING, STD)
    assert result["modes_covered"] == 8
    assert result["high_quality_fraction"] == 1.0
    np.testing.assert_array_equal(result["counts"], np.full(8, 25))
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_mode_coverage_single_mode_collapse():
    samples = np.tile(RING[3], (50, 1)) + [STD, 0.0]
    result = metrics.mode_coverage(samples, RING, STD)
    assert result["modes_covered"] == 1
    assert result["high_quality_fraction"] == 1.0
    assert result["counts"][3] == 50 and result["counts"].sum() == 50
    assert result["reverse_kl"] == pytest.approx(math.log(8), rel=1e-12)


def test_mode_coverage_off_mode_samples_are_not_counted():
    near = RING[[0, 0, 1, 2]] + [[2.9 * STD, 0.0]] * 4      # within 3 std
    far = np.array([[0.0, 0.0],                             # centre of the ring
                    RING[5] + [3.1 * STD, 0.0],             # just outside 3 std
                    [10.0, 10.0]])
    result = metrics.mode_coverage(np.concatenate([near, far]), RING, STD)
    assert result["modes_covered"] == 3
    assert result["high_quality_fraction"] == pytest.approx(4 / 7)
    np.testing.assert_array_equal(result["counts"], [2, 1, 1, 0, 0, 0, 0, 0])
    p = np.array([0.5, 0.25, 0.25])
    assert result["reverse_kl"] == pytest.approx(float(np.sum(p * np.log(p * 8))), rel=1e-12)


def test_mode_coverage_with_no_high_quality_sample():
    result = metrics.mode_coverage(np.zeros((5, 2)), RING, STD)
    assert result["modes_covered"] == 0
    assert result["high_quality_fraction"] == 0.0
    assert math.isnan(result["reverse_kl"])
    with pytest.raises(ValueError, match="same d"):
        metrics.mode_coverage(np.zeros((5, 3)), RING, STD)
    with pytest.raises(ValueError, match="std must be positive"):
        metrics.mode_coverage(np.zeros((5, 2)), RING, 0.0)


def test_class_histogram_from_labels_and_probabilities():
    hist = metrics.class_histogram(np.array([0, 1, 1, 3, 3, 3, 3, 3]), num_classes=5)
    np.testing.assert_allclose(hist, [1 / 8, 2 / 8, 0, 5 / 8, 0])
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])
    np.testing.assert_allclose(metrics.class_histogram(probs, num_classes=2), [0.25, 0.75])
    with pytest.raises(ValueError, match="labels must lie in"):
        metrics.class_histogram(np.array([0, 10]), num_classes=10)
    with pytest.raises(ValueError, match="num_classes=3"):
        metrics.class_histogram(probs, num_classes=3)
    with pytest.raises(TypeError, match="integer labels"):
        metrics.class_histogram(np.array([0.0, 1.0]), num_classes=2)


# ---------------------------------------------------------------------------------------------
# Divergences on a grid

GRID = np.linspace(-10, 10, 4001)
DX = GRID[1] - GRID[0]


def gaussian(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def test_divergences_of_identical_densities_are_zero():
    p = gaussian(GRID, 0.5, 1.3)
    assert metrics.jensen_shannon(p, p, DX) == pytest.approx(0.0, abs=1e-15)
    assert metrics.kl_divergence(p, p, DX) == pytest.approx(0.0, abs=1e-15)


def test_jensen_shannon_of_disjoint_densities_is_log_two():
    p = np.where((GRID >= -4) & (GRID < -2), 0.5, 0.0)     # uniform on [-4, -2)
    q = np.where((GRID >= 1) & (GRID < 3), 0.5, 0.0)       # uniform on [1, 3)
    p, q = p / (p.sum() * DX), q / (q.sum() * DX)          # exact unit mass on the grid
    assert metrics.jensen_shannon(p, q, DX) == pytest.approx(math.log(2), rel=1e-12)
    assert metrics.kl_divergence(p, q, DX) == math.inf


def test_kl_and_jsd_of_gaussians():
    p, q = gaussian(GRID, 0.0, 1.0), gaussian(GRID, 1.0, 2.0)
    # KL(N(0, 1) || N(1, 4)) = log(2) + (1 + 1) / 8 - 1/2
    assert metrics.kl_divergence(p, q, DX) == pytest.approx(math.log(2) + 0.25 - 0.5, rel=1e-6)
    jsd = metrics.jensen_shannon(p, q, DX)
    assert jsd == pytest.approx(metrics.jensen_shannon(q, p, DX), rel=1e-12)
    assert 0.0 < jsd < math.log(2)
    m = (p + q) / 2
    expected = 0.5 * metrics.kl_divergence(p, m, DX) + 0.5 * metrics.kl_divergence(q, m, DX)
    assert jsd == pytest.approx(expected, rel=1e-12)


def test_divergence_input_checks():
    p = gaussian(GRID, 0.0, 1.0)
    with pytest.warns(UserWarning, match="integrates to 0.5000"):
        metrics.jensen_shannon(p, p / 2, DX)
    with pytest.raises(ValueError, match="same grid"):
        metrics.kl_divergence(p, p[:-1], DX)
    with pytest.raises(ValueError, match="negative"):
        metrics.jensen_shannon(p, -p, DX)
    with pytest.raises(ValueError, match="dx"):
        metrics.jensen_shannon(p, p, 0.0)


def test_metrics_take_device_arrays():
    import fakecupy
    B._use_module(fakecupy, "cupy")
    try:
        rng = np.random.default_rng(10)
        f = B.asarray(rng.standard_normal((100, 3)))
        assert not isinstance(f, np.ndarray)
        assert metrics.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-10)
        probs = B.asarray(np.eye(4)[np.arange(40) % 4])
        assert metrics.inception_score(probs, splits=2)[0] == pytest.approx(4.0)
        result = metrics.mode_coverage(B.asarray(RING), B.asarray(RING), STD)
        assert result["modes_covered"] == 8
        labels = B.asarray(np.array([0, 1, 1]))
        np.testing.assert_allclose(metrics.class_histogram(labels, 2), [1 / 3, 2 / 3])
        p = B.asarray(gaussian(GRID, 0.0, 1.0))
        assert metrics.jensen_shannon(p, p, DX) == pytest.approx(0.0, abs=1e-15)
    finally:
        B.use("numpy")
