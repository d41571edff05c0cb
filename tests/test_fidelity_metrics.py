"""Improved precision/recall (Kynkaanniemi et al., 2019) and density/coverage (Naeem et al., 2020):
known answers, a brute-force reference, the blocked computation, and the argument checks."""
import numpy as np
import pytest

from minigan import backend as B
from minigan import metrics


def brute_force(real, fake, k_pr, k_dc):
    """The four definitions written out over the full distance matrices, by direct differences.

    Closed balls (<=) for precision/recall, open balls (<) for density/coverage, as documented.
    """
    def distances(a, b):                                     # (len(a), len(b))
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))

    def radii(x, k):                                         # k-th nearest OTHER point
        d = distances(x, x)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]

    d = distances(real, fake)                                # (N, M)
    real_pr, real_dc, fake_pr = radii(real, k_pr), radii(real, k_dc), radii(fake, k_pr)
    return {
        "precision": np.mean([(d[:, j] <= real_pr).any() for j in range(len(fake))]),
        "recall": np.mean([(d[i, :] <= fake_pr).any() for i in range(len(real))]),
        "density": sum((d[:, j] < real_dc).sum() for j in range(len(fake))) / (k_dc * len(fake)),
        "coverage": np.mean([(d[i, :] < real_dc[i]).any() for i in range(len(real))]),
    }


def ring(rng, n, modes=range(8), std=0.05, radius=2.0):
    """n points of a ring of 8 Gaussians, drawn only from the listed modes."""
    modes = np.asarray(list(modes))
    angles = 2 * np.pi * rng.choice(modes, size=n) / 8
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres + std * rng.standard_normal((n, 2))


# ---------------------------------------------------------------------------------------------
# Known answers

def test_hand_computed_1d_example():
    """k = 1 on the line, every ball worked out by hand.

    real X = 0, 1, 2, 6, 12: nearest-other distances 1, 1, 1, 4, 6, so the real balls are
        [-1, 1], [0, 2], [1, 3], [2, 10], [6, 18]
    fake Y = 0.2, 2.9, 4.5, 20: nearest-other distances 2.7, 1.6, 1.6, 15.5, so the fake balls are
        [-2.5, 2.9], [1.3, 4.5], [2.9, 6.1], [4.5, 35.5]
    real balls holding each fake: 0.2 -> {0, 1}; 2.9 -> {2, 6}; 4.5 -> {6}; 20 -> none
        precision = 3/4, density = (2 + 2 + 1 + 0) / (1 * 4) = 5/4
    real balls holding some fake: those of 0, 1, 2, 6, but not 12 (nearest fakes 7.5 and 8 away)
        coverage = 4/5
    real points in some fake ball: 0, 1, 2 (ball of 0.2), 6 (ball of 4.5: 1.5 <= 1.6), and 12
    (the outlier 20's huge ball) -> recall = 5/5: one far-off fake inflates recall, not coverage.
    """
    real = np.array([[0.0], [1.0], [2.0], [6.0], [12.0]])
    fake = np.array([[0.2], [2.9], [4.5], [20.0]])
    result = metrics.precision_recall_density_coverage(real, fake, 1, 1)
    assert result == pytest.approx({"precision": 0.75, "recall": 1.0, "density": 1.25,
                                    "coverage": 0.8}, abs=1e-12)
    np.testing.assert_allclose(metrics.knn_radii(real, 1), [1, 1, 1, 4, 6])
    np.testing.assert_allclose(metrics.knn_radii(fake, 1), [2.7, 1.6, 1.6, 15.5])
    np.testing.assert_allclose(metrics.knn_radii(real, 2), [2, 1, 2, 5, 10])


def test_identical_sets_score_one_exactly():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((300, 5)) + 50.0          # far from the origin: centring matters
    for chunk_size in (None, 7):
        result = metrics.precision_recall_density_coverage(real, real.copy(),
                                                           chunk_size=chunk_size)
        assert result == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_samples_of_the_same_distribution_score_near_one():
    rng = np.random.default_rng(2)
    result = metrics.precision_recall_density_coverage(rng.standard_normal((2000, 2)),
                                                       rng.standard_normal((2000, 2)))
    assert result["precision"] > 0.9 and result["recall"] > 0.9
    assert result["coverage"] > 0.9                      # Naeem et al.: 1 - 2^-k = 0.97 as N -> inf
    assert result["density"] == pytest.approx(1.0, abs=0.08)   # E[density] = 1


def test_disjoint_sets_score_zero():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((200, 3))
    fake = rng.standard_normal((150, 3)) + 100.0
    assert metrics.precision_recall_density_coverage(real, fake) == {
        "precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_generator_on_two_of_eight_modes_is_precise_but_not_diverse():
    rng = np.random.default_rng(4)
    real = ring(rng, 2000)
    collapsed = ring(rng, 2000, modes=[0, 3])
    result = metrics.precision_recall_density_coverage(real, collapsed)
    assert result["precision"] > 0.95 and result["density"] > 0.8
    assert 0.15 < result["recall"] < 0.35 and 0.15 < result["coverage"] < 0.35   # 2/8 = 0.25


def test_a_blurred_superset_is_diverse_but_not_precise():
    rng = np.random.default_rng(5)
    real = ring(rng, 2000)
    blurred = ring(rng, 2000, std=0.5)                   # every mode, ten times too wide
    result = metrics.precision_recall_density_coverage(real, blurred)
    assert result["recall"] > 0.9
    assert result["precision"] < 0.3 and result["density"] < 0.1
    # coverage asks whether each small REAL neighbourhood holds a fake: spread 100 times thinner,
    # the fakes miss most of them (measured 0.14), where the fakes' own wide balls give recall 0.99
    assert result["coverage"] < 0.3


def test_agrees_with_brute_force_for_any_block_size():
    rng = np.random.default_rng(6)
    real = rng.standard_normal((61, 3))
    fake = 1.3 * rng.standard_normal((47, 3)) + 0.4
    expected = brute_force(real, fake, 3, 5)
    for chunk_size in (None, 1, 5, 64):
        result = metrics.precision_recall_density_coverage(real, fake, chunk_size=chunk_size)
        assert result == pytest.approx(expected, abs=1e-12), chunk_size
        assert metrics.precision_recall(real, fake, chunk_size=chunk_size) == pytest.approx(
            {key: expected[key] for key in ("precision", "recall")}, abs=1e-12)
        assert metrics.density_coverage(real, fake, chunk_size=chunk_size) == pytest.approx(
            {key: expected[key] for key in ("density", "coverage")}, abs=1e-12)
    radii = metrics.knn_radii(real, 4, chunk_size=9)
    d = np.sqrt(((real[:, None] - real[None]) ** 2).sum(axis=2))
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(radii, np.sort(d, axis=1)[:, 3], rtol=1e-10)


def test_a_duplicate_is_a_neighbour_at_distance_zero_and_a_point_is_not_its_own():
    points = np.array([[0.0], [0.0], [3.0], [7.0]])
    np.testing.assert_allclose(metrics.knn_radii(points, 1), [0, 0, 3, 4])
    # precision/recall use closed balls: repeated points lie on their own manifold
    repeated = np.repeat(np.array([[0.0], [1.0]]), 4, axis=0)
    assert metrics.precision_recall(repeated, repeated) == {"precision": 1.0, "recall": 1.0}


def test_backend_arrays_are_accepted():
    rng = np.random.default_rng(7)
    real = rng.standard_normal((40, 2))
    fake = rng.standard_normal((30, 2))
    expected = metrics.precision_recall_density_coverage(real, fake)
    assert metrics.precision_recall_density_coverage(B.asarray(real), B.asarray(fake)) == \
        pytest.approx(expected, abs=1e-6)               # float32 copies round differently


# ---------------------------------------------------------------------------------------------
# Argument checks: the message names the argument, what was expected and what came

def test_errors_name_the_argument_and_the_expectation():
    rng = np.random.default_rng(8)
    real, fake = rng.standard_normal((20, 4)), rng.standard_normal((10, 4))
    f = metrics.precision_recall_density_coverage
    with pytest.raises(ValueError, match=r"real_features must be a feature matrix of shape "
                                         r"\(N, D\), got shape \(20,\)"):
        f(real[:, 0], fake)
    with pytest.raises(ValueError, match=r"same feature dimension D, got real \(20, 4\) and "
                                         r"fake \(10, 3\)"):
        f(real, fake[:, :3])
    bad = fake.copy()
    bad[2, 1], bad[5, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"fake_features holds NaN or Inf in 2 of its 10 rows"):
        f(real, bad)
    with pytest.raises(ValueError, match=r"k_density_coverage=5 nearest neighbours need at "
                                         r"least 6 points in real_features.*got 5"):
        f(real[:5], fake)
    with pytest.raises(ValueError, match=r"k=3 nearest neighbours need at least 4 points in "
                                         r"fake_features.*got 3"):
        metrics.precision_recall(real, fake[:3])
    assert metrics.density_coverage(real, fake[:1])["density"] >= 0   # no fake radii needed
    with pytest.raises(ValueError, match=r"k must be a positive int, got 0"):
        metrics.density_coverage(real, fake, k=0)
    with pytest.raises(ValueError, match=r"k must be a positive int, got 2.5"):
        metrics.knn_radii(real, 2.5)
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int"):
        f(real, fake, chunk_size=0)
    with pytest.raises(ValueError, match=r"real_features is empty"):
        f(np.zeros((0, 4)), fake)
    with pytest.raises(TypeError, match=r"real_features must be a numeric array"):
        f("not an array", fake)
