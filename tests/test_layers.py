"""Initialisers and the non-convolution layers: gradient checks, forward results against direct
computations, float32 behaviour, and the errors a user sees for bad input."""
import math
import warnings

import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module
from minigan.nn import init
from minigan.nn.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from minigan.nn.dense import Dense
from minigan.nn.dropout import Dropout
from minigan.nn.module import Module, Parameter, Sequential
from minigan.nn.norm import BatchNorm1d, BatchNorm2d
from minigan.nn.shape import Flatten, Reshape

LAYER_TOL = 1e-7


def data(*shape, seed=1, scale=1.0, offset=0.0):
    """Test input from a host generator independent of minigan's RNG, in the active dtype."""
    rng = np.random.default_rng(seed)
    return B.asarray(rng.standard_normal(shape) * scale + offset)


def away_from_zero(*shape, seed=1):
    """Inputs with |x| >= 0.1: no finite-difference step crosses the ReLU kink."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    return B.asarray(np.sign(x) * (0.1 + np.abs(x)))


def assert_gradients_ok(module, x, tol=LAYER_TOL):
    errors = check_module(module, x)
    assert set(errors) == {"input"} | {name for name, _ in module.named_parameters()}
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"{module!r}: relative gradient errors above {tol}: {bad}"


def randomize(layer, *names, seed=2):
    """Give parameters non-trivial values so every gradient path is exercised."""
    rng = np.random.default_rng(seed)
    for name in names:
        p = getattr(layer, name)
        centre = 1.0 if name == "weight" else 0.0
        p.data[...] = B.asarray(rng.standard_normal(p.shape) * 0.5 + centre)


# ---------------------------------------------------------------------------------------------
# init

@pytest.mark.parametrize("fn", [lambda s: init.normal(s), lambda s: init.glorot_uniform(s, 3, 4),
                                lambda s: init.he_normal(s, 3), init.zeros, init.ones])
def test_initialisers_return_backend_arrays_in_active_dtype(fn):
    w = fn((3, 4))
    assert B.is_array(w) and w.shape == (3, 4) and w.dtype == np.float32
    with B.precision("float64"):
        assert fn((2,)).dtype == np.float64


def test_normal_statistics():
    w = B.to_numpy(init.normal((400, 500)))                     # 2e5 samples
    assert abs(w.mean()) < 0.02 * 0.02
    assert w.std() == pytest.approx(0.02, rel=0.01)
    v = B.to_numpy(init.normal((400, 500), std=0.5, mean=3.0))
    assert v.mean() == pytest.approx(3.0, abs=0.01) and v.std() == pytest.approx(0.5, rel=0.01)


def test_glorot_uniform_bounds_and_spread():
    limit = math.sqrt(6 / (300 + 200))
    w = B.to_numpy(init.glorot_uniform((300, 200), fan_in=300, fan_out=200))
    assert w.min() >= -limit and w.max() <= limit
    assert w.min() < -0.99 * limit and w.max() > 0.99 * limit      # fills the whole interval
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.01)  # Var U(-a, a) = a^2 / 3
    assert abs(w.mean()) < 0.01 * limit


def test_he_normal_std():
    w = B.to_numpy(init.he_normal((500, 400), fan_in=50))
    assert w.std() == pytest.approx(math.sqrt(2 / 50), rel=0.01)


def test_initialisers_are_reproducible_from_the_seed():
    B.seed(7)
    a = init.glorot_uniform((5, 5), 5, 5)
    B.seed(7)
    b = init.glorot_uniform((5, 5), 5, 5)
    assert np.array_equal(B.to_numpy(a), B.to_numpy(b))


def test_make_weight_dispatches_and_rejects_unknown_names():
    assert init.make_weight("dcgan", (400, 400), 400, 400).std() == pytest.approx(0.02, rel=0.02)
    he = init.make_weight("he", (400, 400), 100, 400)
    assert he.std() == pytest.approx(math.sqrt(2 / 100), rel=0.02)
    limit = math.sqrt(6 / 800)
    assert abs(B.to_numpy(init.make_weight("glorot", (400, 400), 400, 400))).max() <= limit
    with pytest.raises(ValueError, match="'xavier'.*'glorot', 'he', 'dcgan'"):
        init.make_weight("xavier", (2, 2), 2, 2)


class ConvLike(Module):
    """Any layer with a weight W and bias b (as Conv2d / ConvTranspose2d have)."""

    def __init__(self):
        super().__init__()
        self.W = Parameter(B.xp.ones((16, 8, 4, 4), dtype=B.dtype()))
        self.b = Parameter(B.xp.ones((16,), dtype=B.dtype()))

    def forward(self, x):          # only its parameters matter here
        return x

    def backward(self, dout):
        return dout


def test_dcgan_init_reinitialises_weights_biases_and_batchnorm_in_place():
    model = Sequential(Dense(200, 300), BatchNorm1d(300), LeakyReLU(),
                       Sequential(ConvLike(), BatchNorm2d(3000)), Dense(300, 1, init="he"))
    for p in model.parameters():
        p.data[...] = 5.0
    arrays = [p.data for p in model.parameters()]
    assert init.dcgan_init(model) is model
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))   # overwritten in place
    dense0, bn1, conv, bn2, dense4 = model[0], model[1], model[3][0], model[3][1], model[4]
    for w in (dense0.W.data, conv.W.data):
        assert abs(float(w.mean())) < 0.002 and float(w.std()) == pytest.approx(0.02, rel=0.05)
    assert float(dense4.W.data.std()) == pytest.approx(0.02, rel=0.2)       # 300 samples
    for b in (dense0.b.data, conv.b.data, dense4.b.data, bn1.bias.data, bn2.bias.data):
        assert not b.any()
    for bn in (bn1, bn2):
        assert float(bn.weight.data.mean()) == pytest.approx(1.0, abs=0.005)
        assert float(bn.weight.data.std()) == pytest.approx(0.02, rel=0.15)
    assert float(bn1.running_var[0]) == 1.0                                # buffers untouched


# ---------------------------------------------------------------------------------------------
# Dense

@pytest.mark.parametrize("n, fan_in, fan_out", [(1, 1, 1), (1, 6, 3), (5, 7, 3), (4, 3, 9)])
def test_dense_gradients(n, fan_in, fan_out):
    with B.precision("float64"):
        layer = Dense(fan_in, fan_out)
        randomize(layer, "b")
        assert_gradients_ok(layer, data(n, fan_in))


def test_dense_without_bias_gradients_and_parameters():
    with B.precision("float64"):
        layer = Dense(4, 2, bias=False)
        assert [name for name, _ in layer.named_parameters()] == ["W"]
        assert_gradients_ok(layer, data(3, 4))


def test_dense_forward_matches_formula_and_keeps_float32():
    layer = Dense(6, 4)
    randomize(layer, "b")
    x = data(5, 6)
    y = layer.forward(x)
    assert y.dtype == np.float32 and y.shape == (5, 4)
    W, b, xh = (B.to_numpy(a).astype(np.float64) for a in (layer.W.data, layer.b.data, x))
    np.testing.assert_allclose(B.to_numpy(y), xh @ W + b, rtol=1e-5, atol=1e-6)
    dx = layer.backward(B.xp.ones_like(y))
    assert dx.dtype == np.float32 and layer.W.grad.dtype == np.float32


def test_dense_shapes_and_repr():
    layer = Dense(100, 256)
    assert repr(layer) == "Dense(100->256)"
    assert layer.W.shape == (100, 256) and layer.b.shape == (256,)
    assert not layer.b.data.any()


def test_dense_rejects_bad_input():
    layer = Dense(4, 3)
    with pytest.raises(ValueError,
                       match=r"Dense\(4->3\) expects input of shape \(N, 4\), got \(2, 5\)"):
        layer.forward(data(2, 5))
    with pytest.raises(ValueError, match=r"Dense\(4->3\).*\(N, 4\), got \(2, 4, 1\)"):
        layer.forward(data(2, 4, 1))
    with pytest.raises(TypeError, match=r"Dense\(4->3\).*int64"):
        layer.forward(B.xp.ones((2, 4), dtype=np.int64))
    with pytest.raises(TypeError, match="Dense"):
        layer.forward([[1.0, 2.0, 3.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"Dense\(4->3\).*backward\(\) called before forward"):
        Dense(4, 3).backward(data(2, 3))
    with pytest.raises(ValueError, match="in_features"):
        Dense(0, 3)
    with pytest.raises(ValueError, match="'orthogonal'"):
        Dense(2, 3, init="orthogonal")


# ---------------------------------------------------------------------------------------------
# BatchNorm

def batchnorm_reference(x, gamma, beta, axes, eps=1e-5):
    """The textbook formula in float64 NumPy."""
    x = B.to_numpy(x).astype(np.float64)
    shape = [1] * x.ndim
    shape[1] = -1
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    g, b = (B.to_numpy(a).astype(np.float64).reshape(shape) for a in (gamma, beta))
    return g * (x - mu) / np.sqrt(var + eps) + b


@pytest.mark.parametrize("shape", [(3, 1), (5, 3), (7, 4), (4, 2)])   # N=2: y = +-1, dy/dx ~ eps
def test_batchnorm1d_train_gradients(shape):
    with B.precision("float64"):
        layer = BatchNorm1d(shape[1])
        randomize(layer, "weight", "bias")
        assert_gradients_ok(layer, data(*shape, scale=2.0, offset=0.5))


@pytest.mark.parametrize("shape", [(2, 3, 3, 5), (1, 2, 3, 3), (3, 1, 1, 2), (2, 3, 1, 1),
                                   (3, 2, 5, 4)])
def test_batchnorm2d_train_gradients(shape):
    with B.precision("float64"):
        layer = BatchNorm2d(shape[1])
        randomize(layer, "weight", "bias")
        assert_gradients_ok(layer, data(*shape, scale=2.0, offset=0.5))


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (6, 3)), (BatchNorm2d, (3, 2, 4, 3))])
def test_batchnorm_eval_gradients(cls, shape):
    with B.precision("float64"):
        layer = cls(shape[1])
        randomize(layer, "weight", "bias")
        for step in range(3):                                      # non-trivial running stats
            layer.forward(data(*shape, seed=10 + step, scale=3.0, offset=1.0))
        layer.eval()
        assert_gradients_ok(layer, data(*shape))
        x1 = data(1, *shape[1:])                                   # batch of 1 is fine in eval
        assert_gradients_ok(layer, x1)


@pytest.mark.parametrize("cls, shape, axes", [(BatchNorm1d, (8, 5), (0,)),
                                              (BatchNorm2d, (4, 3, 5, 6), (0, 2, 3))])
def test_batchnorm_train_forward_matches_formula(cls, shape, axes):
    with B.precision("float64"):
        layer = cls(shape[1])
        randomize(layer, "weight", "bias")
        x = data(*shape, scale=3.0, offset=-2.0)
        y = layer.forward(x)
        expected = batchnorm_reference(x, layer.weight.data, layer.bias.data, axes)
        np.testing.assert_allclose(B.to_numpy(y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls, shape, axes", [(BatchNorm1d, (6, 3), (0,)),
                                              (BatchNorm2d, (3, 2, 4, 5), (0, 2, 3))])
def test_batchnorm_running_stats_follow_pytorch_rule(cls, shape, axes):
    momentum = 0.3
    with B.precision("float64"):
        layer = cls(shape[1], momentum=momentum)
        mean, var = np.zeros(shape[1]), np.ones(shape[1])
        m = shape[0] * int(np.prod(shape[2:]))                   # values per channel
        for step in range(4):
            x = data(*shape, seed=20 + step, scale=1.0 + step, offset=step - 1.5)
            layer.forward(x)
            xh = B.to_numpy(x)
            batch_mean = xh.mean(axis=axes)
            unbiased_var = ((xh - batch_mean.reshape([1, -1] + [1] * (xh.ndim - 2))) ** 2
                            ).sum(axis=axes) / (m - 1)
            mean = (1 - momentum) * mean + momentum * batch_mean
            var = (1 - momentum) * var + momentum * unbiased_var
        np.testing.assert_allclose(B.to_numpy(layer.running_mean), mean, rtol=1e-12)
        np.testing.assert_allclose(B.to_numpy(layer.running_var), var, rtol=1e-12)

        layer.eval()                                             # eval: running stats, no update
        x = data(*shape, seed=30)
        y = B.to_numpy(layer.forward(x))
        bshape = [1, -1] + [1] * (len(shape) - 2)
        expected = (B.to_numpy(x) - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-5)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(B.to_numpy(layer.running_mean), mean, rtol=1e-12)
        one = B.to_numpy(layer.forward(x[:1]))                   # per-sample, batch-independent
        np.testing.assert_allclose(one, y[:1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (4096, 8)), (BatchNorm2d, (256, 4, 8, 8))])
def test_batchnorm_float32_is_accurate_when_mean_dominates(cls, shape):
    """|mean| = 100 std: statistics accumulated in float32 lose ~1e-5 here (1e-4 for dL/dgamma);
    accumulated in float64 they stay near float32 round-off."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) + 100.0).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    layer32 = cls(shape[1])
    y32 = layer32.forward(B.asarray(x))
    dx32 = layer32.backward(B.asarray(dy))
    for a in (y32, dx32, layer32.weight.grad, layer32.running_var):
        assert a.dtype == np.float32
    with B.precision("float64"):
        layer64 = cls(shape[1])
        y64 = layer64.forward(B.asarray(x))                       # the same float32-rounded inputs
        dx64 = layer64.backward(B.asarray(dy))
    def rel(a, b):
        a, b = B.to_numpy(a).astype(np.float64), B.to_numpy(b)
        return abs(a - b).max() / abs(b).max()
    assert rel(y32, y64) < 2e-6
    assert rel(dx32, dx64) < 1e-6
    # dL/dgamma = sum(dy * xhat) also sees the float32 rounding of the mean (ulp(100)/2 ~ 4e-6 std)
    assert rel(layer32.weight.grad, layer64.weight.grad) < 5e-6
    assert rel(layer32.running_var, layer64.running_var) < 1e-6


def test_batchnorm_rejects_one_value_per_channel_in_training():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*more than one value.*\(1, 3\)"):
        BatchNorm1d(3).forward(data(1, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(2\).*\(1, 2, 1, 1\)"):
        BatchNorm2d(2).forward(data(1, 2, 1, 1))
    BatchNorm2d(2).forward(data(1, 2, 2, 1))                      # N=1 with H*W > 1 is allowed
    BatchNorm1d(3).eval().forward(data(1, 3))                     # eval: fine


def test_batchnorm_parameters_buffers_repr():
    layer = BatchNorm2d(64)
    assert repr(layer) == "BatchNorm2d(64)" and repr(BatchNorm1d(5)) == "BatchNorm1d(5)"
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in layer.named_buffers()] == ["running_mean", "running_var"]
    assert (B.to_numpy(layer.weight.data) == 1).all() and not layer.bias.data.any()
    assert not layer.running_mean.any() and (B.to_numpy(layer.running_var) == 1).all()


def test_batchnorm_rejects_bad_input():
    with pytest.raises(ValueError,
                       match=r"BatchNorm1d\(4\) expects input of shape \(N, 4\), got \(5, 3\)"):
        BatchNorm1d(4).forward(data(5, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects input of shape "
                                         r"\(N, 3, \*, \*\), got \(2, 4, 5, 5\)"):
        BatchNorm2d(3).forward(data(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\).*got \(2, 3\)"):
        BatchNorm2d(3).forward(data(2, 3))
    with pytest.raises(TypeError, match=r"BatchNorm1d\(3\)"):
        BatchNorm1d(3).forward(B.xp.ones((2, 3), dtype=np.int32))
    for layer in (BatchNorm1d(3), BatchNorm2d(3)):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(data(2, 3))
    with pytest.raises(ValueError, match="num_features"):
        BatchNorm1d(0)


# ---------------------------------------------------------------------------------------------
# Activations

@pytest.mark.parametrize("layer", [ReLU(), LeakyReLU(), LeakyReLU(0.01), LeakyReLU(1.5),
                                   LeakyReLU(-0.5), LeakyReLU(0.0)], ids=repr)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 2)])
def test_piecewise_linear_gradients(layer, shape):
    with B.precision("float64"):
        assert_gradients_ok(layer, away_from_zero(*shape))


@pytest.mark.parametrize("layer", [Tanh(), Sigmoid()], ids=repr)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 2)])
def test_smooth_activation_gradients(layer, shape):
    with B.precision("float64"):
        assert_gradients_ok(layer, data(*shape, scale=3.0))


@pytest.mark.parametrize("slope", [0.2, 0.01, 0.0, 1.0, 1.5, -0.5])
def test_activation_forwards_match_formulas(slope):
    x = data(6, 7, scale=3.0)
    xh = B.to_numpy(x).astype(np.float64)
    cases = [(ReLU(), np.maximum(xh, 0)), (LeakyReLU(slope), np.where(xh > 0, xh, slope * xh)),
             (Tanh(), np.tanh(xh)), (Sigmoid(), 1 / (1 + np.exp(-xh)))]
    for layer, expected in cases:
        y = layer.forward(x)
        assert y.dtype == np.float32, layer
        np.testing.assert_allclose(B.to_numpy(y), expected, rtol=1e-6, atol=1e-7,
                                   err_msg=repr(layer))
        dx = layer.backward(B.xp.ones_like(y))
        assert dx.dtype == np.float32 and dx.shape == x.shape


def test_relu_family_derivative_at_zero_is_left_derivative():
    x = B.xp.zeros((2, 3), dtype=B.dtype())
    for layer, slope in ((ReLU(), 0.0), (LeakyReLU(0.2), 0.2)):
        layer.forward(x)
        np.testing.assert_allclose(B.to_numpy(layer.backward(B.xp.ones_like(x))), slope)


def test_sigmoid_and_tanh_are_stable_for_large_inputs():
    x = B.asarray([[-1000.0, -100.0, -80.0, -30.0, 0.0, 30.0, 80.0, 1000.0]])
    for dtype in ("float32", "float64"):
        with B.precision(dtype), warnings.catch_warnings():
            warnings.simplefilter("error")                       # any overflow warning fails
            xd = x.astype(B.dtype())
            sig, tanh = Sigmoid(), Tanh()
            s = B.to_numpy(sig.forward(xd))[0]
            t = B.to_numpy(tanh.forward(xd))[0]
            ds = B.to_numpy(sig.backward(B.xp.ones_like(xd)))
            dt = B.to_numpy(tanh.backward(B.xp.ones_like(xd)))
        assert s[0] == 0.0 and s[-1] == 1.0 and s[4] == 0.5
        assert s[2] == pytest.approx(math.exp(-80.0), rel=1e-5)   # tiny values keep precision
        assert s[3] == pytest.approx(1 / (1 + math.exp(30.0)), rel=1e-5)
        assert t[0] == -1.0 and t[-1] == 1.0
        assert np.isfinite(ds).all() and np.isfinite(dt).all()
        assert ds[0, 0] == 0.0 and dt[0, 0] == 0.0


def test_activations_reject_bad_input():
    for layer in (ReLU(), LeakyReLU(), Tanh(), Sigmoid()):
        with pytest.raises(TypeError, match=type(layer).__name__):
            layer.forward(B.xp.ones((2, 3), dtype=np.int64))
        with pytest.raises(TypeError, match=type(layer).__name__):
            layer.forward([1.0, 2.0])
        with pytest.raises(RuntimeError, match="before forward"):
            type(layer)().backward(data(2, 3))
    assert repr(LeakyReLU()) == "LeakyReLU(0.2)" and repr(ReLU()) == "ReLU()"


# ---------------------------------------------------------------------------------------------
# Dropout

@pytest.mark.parametrize("p", [0.3, 0.5, 0.0])
def test_dropout_gradients_with_fixed_mask(p):
    with B.precision("float64"):
        assert_gradients_ok(Dropout(p), data(4, 6))
        assert_gradients_ok(Dropout(p), data(2, 3, 2, 2))


def test_dropout_keeps_expected_value_and_drops_fraction_p():
    p = 0.3
    layer = Dropout(p)
    x = B.xp.ones((400, 500), dtype=B.dtype())                   # 2e5 elements
    y = B.to_numpy(layer.forward(x))
    assert y.dtype == np.float32
    kept = y != 0
    assert (1 - kept.mean()) == pytest.approx(p, abs=0.005)       # ~5 sigma
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    dy = data(400, 500)
    np.testing.assert_allclose(B.to_numpy(layer.backward(dy)), B.to_numpy(dy) * y, rtol=1e-6)


def test_dropout_mask_comes_from_minigan_seed():
    x = data(8, 9)
    B.seed(11)
    a = B.to_numpy(Dropout(0.5).forward(x))
    B.seed(11)
    b = B.to_numpy(Dropout(0.5).forward(x))
    c = B.to_numpy(Dropout(0.5).forward(x))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_dropout_is_identity_in_eval():
    layer = Dropout(0.5).eval()
    x, dy = data(5, 4), data(5, 4, seed=2)
    assert np.array_equal(B.to_numpy(layer.forward(x)), B.to_numpy(x))
    assert np.array_equal(B.to_numpy(layer.backward(dy)), B.to_numpy(dy))
    layer.train()
    assert (B.to_numpy(layer.forward(x)) == 0).any()


def test_dropout_rejects_bad_p_and_input():
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="p must be in"):
            Dropout(p)
    with pytest.raises(TypeError, match=r"Dropout\(p=0.5\)"):
        Dropout().forward(B.xp.ones((2, 3), dtype=np.int64))
    with pytest.raises(RuntimeError, match="before forward"):
        Dropout().backward(data(2, 3))


# ---------------------------------------------------------------------------------------------
# Flatten / Reshape

def test_flatten_and_reshape_gradients_and_round_trip():
    with B.precision("float64"):
        assert_gradients_ok(Flatten(), data(2, 3, 2, 2))
        assert_gradients_ok(Reshape(3, 2, 2), data(2, 12))
        x = data(3, 4, 5, 2)
        flat = Flatten()
        y = flat.forward(x)
        assert y.shape == (3, 40)
        back = Reshape(4, 5, 2)
        assert np.array_equal(B.to_numpy(back.forward(y)), B.to_numpy(x))
        assert np.array_equal(B.to_numpy(y), B.to_numpy(x).reshape(3, 40))
        assert flat.backward(back.backward(x)).shape == x.shape


def test_reshape_accepts_a_tuple_and_names_itself():
    layer = Reshape((128, 7, 7))
    assert layer.shape == (128, 7, 7) and repr(layer) == "Reshape(6272->(128, 7, 7))"
    assert layer.forward(data(2, 6272)).shape == (2, 128, 7, 7)


def test_flatten_and_reshape_reject_bad_input():
    with pytest.raises(ValueError, match=r"Reshape\(6->\(3, 2\)\) expects input of shape \(N, 6\), "
                                         r"got \(2, 5\)"):
        Reshape(3, 2).forward(data(2, 5))
    with pytest.raises(ValueError, match=r"Reshape.*got \(2, 3, 2\)"):
        Reshape(3, 2).forward(data(2, 3, 2))
    with pytest.raises(ValueError,
                       match=r"Flatten\(\) expects input of shape \(N, \*\), got \(5,\)"):
        Flatten().forward(data(5))
    with pytest.raises(TypeError, match="Flatten"):
        Flatten().forward(B.xp.ones((2, 3), dtype=np.int64))
    for layer in (Flatten(), Reshape(3, 2)):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(data(2, 6))
    with pytest.raises(ValueError, match="Reshape"):
        Reshape(3, 0)


# ---------------------------------------------------------------------------------------------
# The CuPy path, exercised with the CPU stand-in (no host arrays may meet device arrays)

def test_every_layer_runs_on_the_device_stand_in():
    import fakecupy

    B._use_module(fakecupy, "cupy")                   # conftest restores NumPy afterwards
    B.seed(0)
    model = Sequential(Dense(6, 12, init="he"), Reshape(3, 2, 2), BatchNorm2d(3), ReLU(), Flatten(),
                       Dense(12, 8), BatchNorm1d(8), LeakyReLU(0.2), Dropout(0.3), Dense(8, 4),
                       LeakyReLU(1.5), Tanh(), Dense(4, 1, init="dcgan"), Sigmoid())
    init.dcgan_init(model)
    x = B.randn(5, 6)
    for mode in ("train", "eval"):
        getattr(model, mode)()
        y = model.forward(x)
        dx = model.backward(B.xp.ones_like(y))
        assert isinstance(y, fakecupy.ndarray) and y.dtype == np.float32 and y.shape == (5, 1)
        assert isinstance(dx, fakecupy.ndarray) and dx.dtype == np.float32 and dx.shape == (5, 6)
    assert all(isinstance(p.grad, fakecupy.ndarray) for p in model.parameters())
    assert all(isinstance(b, fakecupy.ndarray) for _, b in model.named_buffers())
    state = model.state_dict()
    model.load_state_dict(state)
    assert np.isfinite(B.to_numpy(dx)).all()
