"""Losses: gradients against finite differences, values against textbook formulas and closed
forms, stability at extreme logits, and the errors for bad input."""
import math
import warnings

import numpy as np
import pytest

from minigan import backend as B
from minigan import losses
from minigan.gradcheck import check_function

OBJECTIVES = ["minimax", "non-saturating", "least-squares", "hinge", "wasserstein"]
SMOOTHABLE = ["minimax", "non-saturating"]
# Floating-point traps for the stability tests. Underflow is not one: exp(-1000) -> 0 is the
# correct value there, and NumPy does not warn about it by default either.
STRICT = dict(over="raise", divide="raise", invalid="raise")


def logits64(values):
    with B.precision("float64"):
        return B.asarray(np.asarray(values, dtype=np.float64).reshape(-1, 1))


def away_from_hinges(n, seed):
    """Logits in (-3, 3) at least 0.2 away from the hinge points +-1 (and the kink at 0 never
    matters: no objective has one there)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, size=n)
    x[np.abs(np.abs(x) - 1) < 0.2] += 0.5
    return logits64(x)


def objective_cases():
    cases = [(name, 0.0) for name in OBJECTIVES]
    cases += [(name, 0.1) for name in SMOOTHABLE]
    return cases


# ---------------------------------------------------------------------------------------------
# Gradient checks, float64

@pytest.mark.parametrize("name,smoothing", objective_cases())
def test_d_loss_gradients_match_finite_differences(name, smoothing):
    obj = losses.get_objective(name, label_smoothing=smoothing)
    real, fake = away_from_hinges(7, seed=1), away_from_hinges(5, seed=2)   # batches may differ

    def wrt_real(x):
        value, grad_real, _ = obj.d_loss(x, fake)
        return value, grad_real

    def wrt_fake(x):
        value, _, grad_fake = obj.d_loss(real, x)
        return value, grad_fake

    assert check_function(wrt_real, real) < 1e-6
    assert check_function(wrt_fake, fake) < 1e-6


@pytest.mark.parametrize("name,smoothing", objective_cases())
def test_g_loss_gradient_matches_finite_differences(name, smoothing):
    obj = losses.get_objective(name, label_smoothing=smoothing)
    fake = away_from_hinges(6, seed=3)
    assert check_function(obj.g_loss, fake) < 1e-6


def test_bce_gradient_matches_finite_differences_with_soft_targets():
    logits = away_from_hinges(8, seed=4)
    with B.precision("float64"):
        targets = B.asarray(np.random.default_rng(5).uniform(0, 1, size=(8, 1)))
    assert check_function(lambda x: losses.bce_with_logits(x, targets), logits) < 1e-6


def test_gradient_check_can_fail():
    """A wrong gradient is caught: the checker is not vacuous at this tolerance."""
    fake = away_from_hinges(6, seed=6)

    def wrong(x):
        value, grad = losses.NonSaturating().g_loss(x)
        return value, grad * 1.001

    assert check_function(wrong, fake) > 1e-6


# ---------------------------------------------------------------------------------------------
# Values

def test_bce_equals_textbook_formula_at_moderate_logits():
    rng = np.random.default_rng(0)
    l = rng.uniform(-6, 6, size=(32, 1))
    t = rng.uniform(0, 1, size=(32, 1))
    s = 1 / (1 + np.exp(-l))
    expected = np.mean(-(t * np.log(s) + (1 - t) * np.log(1 - s)))
    expected_grad = (s - t) / l.size
    with B.precision("float64"):
        value, grad = losses.bce_with_logits(B.asarray(l), B.asarray(t))
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(B.to_numpy(grad), expected_grad, rtol=1e-12, atol=1e-15)
    # float32 in, float32 out, close to the float64 answer
    value32, grad32 = losses.bce_with_logits(B.asarray(l), B.asarray(t))
    assert grad32.dtype == np.float32
    assert value32 == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_is_stable_at_extreme_logits(dtype):
    with B.precision(dtype), warnings.catch_warnings(), np.errstate(**STRICT):
        warnings.simplefilter("error")
        l = B.asarray([[1000.0], [-1000.0]])
        right, d_right = losses.bce_with_logits(l, B.asarray([[1.0], [0.0]]))
        wrong, d_wrong = losses.bce_with_logits(l, B.asarray([[0.0], [1.0]]))
    assert right == 0.0                                   # confident and correct: no loss
    np.testing.assert_array_equal(B.to_numpy(d_right), [[0.0], [0.0]])
    assert wrong == pytest.approx(1000.0)                 # -log sigmoid(-1000) = 1000
    np.testing.assert_allclose(B.to_numpy(d_wrong), [[0.5], [-0.5]])   # (s - t) / n
    assert d_right.dtype == np.dtype(dtype) and d_wrong.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", OBJECTIVES)
def test_objectives_are_stable_at_extreme_logits(name):
    obj = losses.get_objective(name)
    with warnings.catch_warnings(), np.errstate(**STRICT):
        warnings.simplefilter("error")
        l = B.asarray([[1000.0], [-1000.0], [0.5]])
        d_value, grad_real, grad_fake = obj.d_loss(l, l)
        g_value, g_fake = obj.g_loss(l)
    for v in (d_value, g_value):
        assert math.isfinite(v)
    for g in (grad_real, grad_fake, g_fake):
        assert np.isfinite(B.to_numpy(g)).all() and g.dtype == np.float32


def test_sigmoid_and_log_sigmoid_are_stable_and_exact():
    with warnings.catch_warnings(), np.errstate(**STRICT):
        warnings.simplefilter("error")
        with B.precision("float64"):
            l = B.asarray([-1000.0, -30.0, -2.0, 0.0, 2.0, 30.0, 1000.0])
            s, ls = B.to_numpy(losses.sigmoid(l)), B.to_numpy(losses.log_sigmoid(l))
        s32 = losses.sigmoid(B.asarray([-1000.0, 1000.0]))
    host = B.to_numpy(l)
    moderate = np.abs(host) < 100
    np.testing.assert_allclose(s[moderate], 1 / (1 + np.exp(-host[moderate])), rtol=1e-15)
    np.testing.assert_allclose(ls[moderate], -np.log1p(np.exp(-host[moderate])), rtol=1e-14)
    assert s[0] == 0.0 and s[-1] == 1.0
    assert ls[0] == -1000.0 and ls[-1] == 0.0             # log sigmoid(-1000) = -1000, not -inf
    assert s32.dtype == np.float32


def test_minimax_at_d_one_half():
    """D(x) = 1/2 everywhere (logits 0): V = 2 log(1/2), so D's loss is 2 log 2 and the
    saturating G loss is log(1/2); the non-saturating one is log 2."""
    zeros = B.xp.zeros((10, 1), dtype=B.dtype())
    d_value, grad_real, grad_fake = losses.Minimax().d_loss(zeros, zeros)
    assert d_value == pytest.approx(2 * math.log(2), rel=1e-6)
    np.testing.assert_allclose(B.to_numpy(grad_real), -0.05)          # (1/2 - 1) / 10
    np.testing.assert_allclose(B.to_numpy(grad_fake), 0.05)           # (1/2 - 0) / 10
    assert losses.Minimax().g_loss(zeros)[0] == pytest.approx(-math.log(2), rel=1e-6)
    assert losses.NonSaturating().g_loss(zeros)[0] == pytest.approx(math.log(2), rel=1e-6)


def test_saturating_generator_gradient_vanishes_where_non_saturating_does_not():
    """When D rejects the fakes (D(G(z)) -> 0, logits very negative), the minimax G gradient
    is -D(G(z))/n -> 0 while the non-saturating one is -(1 - D(G(z)))/n -> -1/n. Their ratio is
    exactly D/(1-D) = exp(logit)."""
    n = 4
    with B.precision("float64"):
        for logit in (-2.0, -10.0, -30.0):
            fake = B.xp.full((n, 1), logit)
            _, sat = losses.Minimax().g_loss(fake)
            _, non_sat = losses.NonSaturating().g_loss(fake)
            sat, non_sat = B.to_numpy(sat), B.to_numpy(non_sat)
            np.testing.assert_allclose(sat, -1 / (1 + math.exp(-logit)) / n, rtol=1e-12)
            np.testing.assert_allclose(non_sat, -(1 - 1 / (1 + math.exp(-logit))) / n, rtol=1e-12)
            np.testing.assert_allclose(sat / non_sat, math.exp(logit), rtol=1e-9)
        assert abs(sat).max() < 1e-13 and abs(non_sat).min() > 0.9 / n


def test_least_squares_closed_forms():
    obj = losses.LeastSquares()
    with B.precision("float64"):
        ones, zeros = B.xp.ones((3, 1)), B.xp.zeros((5, 1))
        value, grad_real, grad_fake = obj.d_loss(ones, zeros)             # a perfect D: no loss
        assert value == 0.0
        assert not B.to_numpy(grad_real).any() and not B.to_numpy(grad_fake).any()
        value, grad_real, grad_fake = obj.d_loss(zeros, ones[:2])         # the worst: 1/2 + 1/2
        assert value == pytest.approx(1.0)
        np.testing.assert_allclose(B.to_numpy(grad_real), -1 / 5)      # (0 - 1) / n_real
        np.testing.assert_allclose(B.to_numpy(grad_fake), 1 / 2)       # (1 - 0) / n_fake
        value, grad_fake = obj.g_loss(B.xp.full((4, 1), 3.0))
        assert value == pytest.approx(0.5 * 4.0)                    # 1/2 (3 - 1)^2
        np.testing.assert_allclose(B.to_numpy(grad_fake), 2.0 / 4)


def test_hinge_closed_forms():
    obj = losses.Hinge()
    with B.precision("float64"):
        value, grad_real, grad_fake = obj.d_loss(B.xp.full((2, 1), 2.0), B.xp.full((2, 1), -2.0))
        assert value == 0.0                                          # both margins satisfied
        assert not B.to_numpy(grad_real).any() and not B.to_numpy(grad_fake).any()
        value, grad_real, grad_fake = obj.d_loss(B.xp.zeros((2, 1)), B.xp.zeros((4, 1)))
        assert value == pytest.approx(2.0)
        np.testing.assert_allclose(B.to_numpy(grad_real), -1 / 2)
        np.testing.assert_allclose(B.to_numpy(grad_fake), 1 / 4)
        value, grad_fake = obj.g_loss(B.asarray([[1.0], [3.0]]))
        assert value == pytest.approx(-2.0)
        np.testing.assert_allclose(B.to_numpy(grad_fake), -1 / 2)


def test_wasserstein_closed_forms():
    obj = losses.Wasserstein()
    with B.precision("float64"):
        real, fake = B.asarray([[3.0], [5.0]]), B.asarray([[1.0], [0.0], [2.0]])
        value, grad_real, grad_fake = obj.d_loss(real, fake)
        assert value == pytest.approx(1.0 - 4.0)                     # mean f(fake) - mean f(real)
        np.testing.assert_allclose(B.to_numpy(grad_real), -1 / 2)
        np.testing.assert_allclose(B.to_numpy(grad_fake), 1 / 3)
        value, grad_fake = obj.g_loss(fake)
        assert value == pytest.approx(-1.0)


def test_label_smoothing_is_one_sided():
    """Real target 1 - s for D: the real-logit gradient vanishes at sigmoid(l) = 1 - s, i.e.
    l = log((1 - s) / s); fake targets and the generator loss are unchanged."""
    s = 0.1
    smooth, plain = losses.NonSaturating(label_smoothing=s), losses.NonSaturating()
    with B.precision("float64"):
        real = B.xp.full((4, 1), math.log((1 - s) / s))
        fake = B.asarray([[-1.0], [0.5]])
        value, grad_real, grad_fake = smooth.d_loss(real, fake)
        np.testing.assert_allclose(B.to_numpy(grad_real), 0.0, atol=1e-15)
        np.testing.assert_array_equal(B.to_numpy(grad_fake),
                                      B.to_numpy(plain.d_loss(real, fake)[2]))
        entropy = -(s * math.log(s) + (1 - s) * math.log(1 - s))     # BCE at its minimum
        assert value == pytest.approx(entropy + losses.bce_with_logits(fake, 0.0)[0], rel=1e-12)
        for obj_name in SMOOTHABLE:
            a = losses.get_objective(obj_name, label_smoothing=s).g_loss(fake)
            b = losses.get_objective(obj_name).g_loss(fake)
            assert a[0] == b[0]
            np.testing.assert_array_equal(B.to_numpy(a[1]), B.to_numpy(b[1]))


@pytest.mark.parametrize("name", OBJECTIVES)
def test_dtype_shape_and_value_type(name):
    obj = losses.get_objective(name)
    real = B.randn(6, 1)
    fake = B.randn(3, 1)
    value, grad_real, grad_fake = obj.d_loss(real, fake)
    # a 0-d value in the logits' dtype, left where it was computed (no float(): no device sync)
    assert value.shape == () and value.dtype == np.float32 and math.isfinite(value)
    assert grad_real.shape == real.shape and grad_fake.shape == fake.shape
    assert grad_real.dtype == np.float32 and grad_fake.dtype == np.float32
    value, g = obj.g_loss(fake)
    assert value.shape == () and value.dtype == np.float32
    assert g.shape == fake.shape and g.dtype == np.float32
    real_value, real_grad = obj.d_loss_real(real)            # the two terms of d_loss
    fake_value, fake_grad = obj.d_loss_fake(fake)
    total, grad_real, grad_fake = obj.d_loss(real, fake)
    assert real_value + fake_value == total
    np.testing.assert_array_equal(real_grad, grad_real)
    np.testing.assert_array_equal(fake_grad, grad_fake)


def test_one_dimensional_logits_work_too():
    value2, g2 = losses.bce_with_logits(B.asarray([[0.3], [-1.2]]), 1.0)
    value1, g1 = losses.bce_with_logits(B.asarray([0.3, -1.2]), 1.0)
    assert value1 == value2 and g1.shape == (2,)


# ---------------------------------------------------------------------------------------------
# Errors

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_bce_rejects_non_finite_logits(bad):
    l = B.asarray([[0.0], [bad], [1.0], [bad]])
    with pytest.raises(ValueError) as err:
        losses.bce_with_logits(l, 1.0)
    msg = str(err.value)
    assert "logits" in msg and "2 non-finite" in msg and "out of 4" in msg
    assert "learning rate" in msg and "logits" in msg


@pytest.mark.parametrize("name", OBJECTIVES)
def test_objectives_reject_non_finite_logits_naming_the_argument(name):
    obj = losses.get_objective(name)
    good, bad = B.asarray([[0.5], [1.5]]), B.asarray([[0.5], [float("nan")]])
    with pytest.raises(ValueError, match="real_logits contain 1 non-finite"):
        obj.d_loss(bad, good)
    with pytest.raises(ValueError, match="fake_logits contain 1 non-finite"):
        obj.d_loss(good, bad)
    with pytest.raises(ValueError, match=r"g_loss: fake_logits contain 1 non-finite.*learning"):
        obj.g_loss(bad)


def test_bce_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        losses.bce_with_logits(B.xp.zeros((4, 1), dtype=B.dtype()), B.xp.ones(4, dtype=B.dtype()))


def test_bce_rejects_non_arrays():
    with pytest.raises(TypeError):
        losses.bce_with_logits([[0.0], [1.0]], 1.0)
    with pytest.raises(TypeError):
        losses.bce_with_logits(B.asarray([[0.0]]), "1")


def test_get_objective():
    for name in OBJECTIVES:
        assert losses.get_objective(name).name == name
    assert isinstance(losses.get_objective("non_saturating"), losses.NonSaturating)
    assert losses.get_objective("minimax", label_smoothing=0.2).label_smoothing == 0.2
    with pytest.raises(ValueError) as err:
        losses.get_objective("vanilla")
    for name in OBJECTIVES:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.get_objective("hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.get_objective("minimax", label_smoothing=1.0)
