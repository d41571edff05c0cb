"""The gradient checker itself: it must agree with known derivatives and catch a wrong backward."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module, numerical_gradient, rel_error
from minigan.nn.dense import Dense


def test_rel_error_is_zero_for_equal_and_large_for_unrelated_arrays():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(a, a[:2])


def test_numerical_gradient_of_a_cubic_matches_the_derivative():
    with B.precision("float64"):
        x = B.randn(3, 4)
        expected = 3 * x ** 2
        numeric = numerical_gradient(lambda: float((x ** 3).sum()), x)
        assert rel_error(numeric, expected) < 1e-9
        picked = [0, 5, 11]
        at = numerical_gradient(lambda: float((x ** 3).sum()), x, indices=picked)
        np.testing.assert_allclose(at, expected.reshape(-1)[picked], rtol=1e-8)


def test_numerical_gradient_refuses_float32_and_non_contiguous_arrays():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, B.randn(2, 2))
    with B.precision("float64"):
        with pytest.raises(ValueError, match="contiguous"):
            numerical_gradient(lambda: 0.0, B.randn(4, 4)[:, ::2])


class _WrongDense(Dense):
    """Dense whose weight gradient forgets the input: the checker must notice."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.W.grad += 0.1 * self.W.data        # a wrong extra term
        return dx


def test_check_module_passes_a_correct_layer_and_catches_a_wrong_one():
    with B.precision("float64"):
        x = B.randn(5, 3)
        errors = check_module(Dense(3, 4), x)
        assert set(errors) == {"input", "W", "b"} and max(errors.values()) < 1e-8
        wrong = check_module(_WrongDense(3, 4), x)
        assert wrong["W"] > 1e-3 and wrong["input"] < 1e-8
