"""Maxout and Pack (PacGAN's building blocks): gradient checks in float64, forwards against direct
computations, and the errors a user sees for bad input."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module
from minigan.nn import Dense, Maxout, Pack, Sequential

LAYER_TOL = 1e-7


def data(*shape, seed=1):
    """Test input from a host generator independent of minigan's RNG, in the active dtype."""
    return B.asarray(np.random.default_rng(seed).standard_normal(shape))


def assert_gradients_ok(module, x):
    errors = check_module(module, x)
    assert set(errors) == {"input"} | {name for name, _ in module.named_parameters()}
    bad = {k: v for k, v in errors.items() if not v < LAYER_TOL}
    assert not bad, f"{module!r}: relative gradient errors above {LAYER_TOL}: {bad}"


@pytest.mark.parametrize("n, fan_in, fan_out, pieces", [(5, 6, 4, 3), (8, 2, 7, 5), (1, 3, 2, 2)])
def test_maxout_gradients(n, fan_in, fan_out, pieces):
    B.set_dtype("float64")
    layer = Maxout(fan_in, fan_out, pieces)
    layer.b.data[...] = data(pieces, fan_out, seed=3)       # biases take part in the max
    assert_gradients_ok(layer, data(n, fan_in))


def test_maxout_forward_is_the_largest_piece():
    B.set_dtype("float64")
    layer = Maxout(4, 3, pieces=5)
    layer.b.data[...] = data(5, 3, seed=4)
    x = B.to_numpy(data(6, 4))
    W, b = B.to_numpy(layer.W.data), B.to_numpy(layer.b.data)
    expected = np.array([[max(sum(x[n, i] * W[i, k, j] for i in range(4)) + b[k, j]
                              for k in range(5)) for j in range(3)] for n in range(6)])
    x = B.asarray(x)
    np.testing.assert_allclose(B.to_numpy(layer.forward(x)), expected, rtol=1e-12, atol=0)


def test_maxout_with_a_zero_piece_is_a_relu_of_a_dense_layer():
    B.set_dtype("float64")
    maxout, dense = Maxout(3, 4, pieces=2), Dense(3, 4)
    maxout.W.data[:, 1] = 0                        # piece 1 is the constant 0
    dense.W.data[...] = maxout.W.data[:, 0]
    x = data(7, 3)
    np.testing.assert_allclose(B.to_numpy(maxout.forward(x)),
                               np.maximum(B.to_numpy(dense.forward(x)), 0), rtol=1e-12)


def test_maxout_only_the_winning_piece_gets_a_gradient():
    B.set_dtype("float64")
    layer = Maxout(2, 1, pieces=3)
    layer.W.data[...] = B.asarray(np.array([[[1.0], [0.0], [-1.0]], [[0.0], [0.0], [0.0]]]))
    layer.forward(B.asarray(np.array([[2.0, 5.0]])))           # pieces 2, 0, -2: piece 0 wins
    dx = layer.backward(B.asarray(np.array([[3.0]])))
    np.testing.assert_array_equal(B.to_numpy(layer.b.grad), [[3.0], [0.0], [0.0]])
    np.testing.assert_array_equal(B.to_numpy(layer.W.grad)[:, :, 0], [[6.0, 0, 0], [15.0, 0, 0]])
    np.testing.assert_array_equal(B.to_numpy(dx), [[3.0, 0.0]])


def test_maxout_ties_share_the_gradient():
    B.set_dtype("float64")
    layer = Maxout(1, 1, pieces=3)
    layer.W.data[...] = B.asarray(np.array([[[0.0], [1.0], [1.0]]]))   # pieces 1 and 2 tie
    layer.forward(B.asarray(np.array([[2.0]])))
    layer.backward(B.asarray(np.array([[1.0]])))
    np.testing.assert_array_equal(B.to_numpy(layer.b.grad), [[0.0], [0.5], [0.5]])


def test_maxout_keeps_float32_and_shapes():
    layer = Maxout(2, 8, pieces=5)
    y = layer.forward(data(4, 2).astype(np.float32))
    assert y.shape == (4, 8) and y.dtype == np.float32
    assert layer.W.shape == (2, 5, 8) and layer.b.shape == (5, 8)
    assert layer.backward(B.xp.ones((4, 8), dtype=np.float32)).dtype == np.float32
    assert repr(layer) == "Maxout(2->8, pieces=5)"


def test_maxout_rejects_bad_arguments_and_input():
    for args, word in [((0, 3), "in_features"), ((2, 2.5), "out_features"), ((2, 3, 1), "pieces"),
                       ((2, 3, True), "pieces")]:
        with pytest.raises(ValueError, match=word):
            Maxout(*args)
    layer = Maxout(3, 2)
    with pytest.raises(ValueError, match=r"Maxout\(3->2, pieces=5\) expects input of shape"):
        layer.forward(data(4, 2).astype(np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(B.xp.ones((4, 2), dtype=np.float32))
    layer.forward(data(4, 3).astype(np.float32))
    with pytest.raises(ValueError, match=r"expects dy of shape \(4, 2\).*got \(4, 1\)"):
        layer.backward(B.xp.ones((4, 1), dtype=np.float32))


@pytest.mark.parametrize("m", [1, 2, 4])
def test_pack_gradients_and_layout(m):
    B.set_dtype("float64")
    x = data(8, 3)
    layer = Pack(m)
    y = B.to_numpy(layer.forward(x))
    host = B.to_numpy(x)
    assert y.shape == (8 // m, 3 * m)
    for p in range(8 // m):                        # pack p = rows p*m .. p*m + m - 1, side by side
        np.testing.assert_array_equal(y[p], np.concatenate(host[p * m:(p + 1) * m]))
    assert_gradients_ok(Sequential(Pack(m), Dense(3 * m, 2)), x)


def test_pack_rejects_bad_arguments_and_input():
    for m in (0, 2.0, True):
        with pytest.raises(ValueError, match="m must be a positive int"):
            Pack(m)
    layer = Pack(3)
    with pytest.raises(ValueError, match=r"Pack\(m=3\) needs a batch size divisible by 3"):
        layer.forward(data(4, 2).astype(np.float32))
    layer.forward(data(6, 2).astype(np.float32))
    with pytest.raises(ValueError, match=r"expects dy of shape \(2, 6\)"):
        layer.backward(B.xp.ones((3, 4), dtype=np.float32))
