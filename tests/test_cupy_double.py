"""The CuPy path without a GPU: the test double itself, then minigan's layers, losses,
optimizers and gradient checks running on it.

``fakecupy`` fails where CuPy fails (implicit conversion to a host array, host/device mixing),
so code that passes here does not secretly rely on NumPy. The first tests make sure the double
really does fail -- otherwise everything below would pass vacuously. Where a real, usable CuPy
is installed (a GPU machine), the minigan tests run on it as well.
"""
import pickle

import numpy as np
import pytest

import fakecupy
from minigan import backend as B
from minigan import losses
from minigan.gradcheck import check_module
from minigan.nn.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from minigan.nn.conv import Conv2d, ConvTranspose2d
from minigan.nn.dense import Dense
from minigan.nn.dropout import Dropout
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d, BatchNorm2d
from minigan.nn.shape import Flatten, Reshape
from minigan.optim import SGD, Adam


def _device_modules():
    modules = [fakecupy]
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            modules.append(cupy)
    except Exception:            # not installed, or no usable GPU: the double alone
        pass
    return modules


@pytest.fixture(params=_device_modules(), ids=lambda m: m.__name__)
def device(request):
    """minigan on a device backend: the double, and real CuPy where a GPU is usable."""
    B._use_module(request.param, "cupy")
    B.seed(0)
    yield request.param
    B.use("numpy")


def on_device(*arrays) -> bool:
    return all(isinstance(a, B.xp.ndarray) and not isinstance(a, np.ndarray) for a in arrays)


# ---------------------------------------------------------------------------------------------
# The double fails where CuPy would

def test_implicit_conversion_to_host_raises(fake):
    d = fake.asarray([1.0, 2.0])
    for convert in (np.asarray, np.array, lambda a: np.asarray(a, dtype=np.float64),
                    lambda a: np.float64(2.0) + np.asarray(a)):
        with pytest.raises(TypeError, match="Implicit conversion"):
            convert(d)
    assert not isinstance(d, np.ndarray)


SYNCING = (   # (id, operation on d = [3., -1., 2., 0.] and m = d > 0, syncs CuPy makes)
    ("boolean mask index", lambda xp, d, m: d[m], 1),
    ("boolean mask assignment", lambda xp, d, m: d.__setitem__(m, 0.0), 1),
    ("nonzero", lambda xp, d, m: xp.nonzero(m), 1),
    ("nonzero method", lambda xp, d, m: m.nonzero(), 1),
    ("flatnonzero", lambda xp, d, m: xp.flatnonzero(m), 1),
    ("argwhere", lambda xp, d, m: xp.argwhere(m), 1),
    ("where of one argument", lambda xp, d, m: xp.where(m), 1),
    ("unique", lambda xp, d, m: xp.unique(d), 1),
    ("compress", lambda xp, d, m: xp.compress(m, d), 1),
    ("compress method", lambda xp, d, m: d.compress(m), 1),
    ("extract", lambda xp, d, m: xp.extract(m, d), 1),
    ("bincount", lambda xp, d, m: xp.bincount(m.astype(xp.int64)), 1),
    ("histogram", lambda xp, d, m: xp.histogram(d, bins=3), 1),
    ("Device().synchronize()", lambda xp, d, m: xp.cuda.Device().synchronize(), 1),
    ("tobytes", lambda xp, d, m: d.tobytes(), 1),
    ("pickling", lambda xp, d, m: pickle.dumps(d), 1),
    ("device scalar as a slice bound", lambda xp, d, m: d[:m.sum()], 1),
    # and what stays on the device: no sync
    ("where of three arguments", lambda xp, d, m: xp.where(m, d, 0.0), 0),
    ("integer-array gather", lambda xp, d, m: d[xp.arange(2)], 0),
    ("slicing", lambda xp, d, m: d[1:3], 0),
    ("reduction", lambda xp, d, m: d.sum(), 0),
)


@pytest.mark.parametrize("operation, syncs", [c[1:] for c in SYNCING],
                         ids=[c[0] for c in SYNCING])
def test_the_double_counts_every_sync_cupy_makes(fake, operation, syncs):
    d = fake.asarray([3.0, -1.0, 2.0, 0.0])
    m = d > 0
    counters = fake.reset_counters()
    operation(fake, d, m)
    assert counters.syncs == syncs


def test_a_device_scalar_slice_bound_is_read_as_cupy_reads_it(fake):
    d = fake.asarray([3.0, -1.0, 2.0, 0.0])
    assert fake.asnumpy(d[:(d > 0).sum()]).tolist() == [3.0, -1.0]


@pytest.mark.parametrize("call, keyword", [
    (lambda xp, d: d.sum(where=d > 0), "where"),
    (lambda xp, d: xp.max(d, initial=0.0), "initial"),
    (lambda xp, d: xp.mean(d, where=d > 0), "where"),
    (lambda xp, d: xp.exp(d, where=d > 0), "where"),
    (lambda xp, d: xp.add(d, d, subok=False), "subok"),
    (lambda xp, d: xp.zeros(3, like=d), "like"),
], ids=["sum where", "max initial", "mean where", "ufunc where", "ufunc subok", "zeros like"])
def test_the_double_refuses_keywords_cupy_lacks(fake, call, keyword):
    d = fake.asarray([3.0, -1.0])
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
        call(fake, d)


def test_mixing_host_and_device_arrays_raises(fake):
    d = fake.ones(3, dtype=np.float32)
    host = np.ones(3, dtype=np.float32)
    mixes = {
        "d + host": lambda: d + host,
        "host * d": lambda: host * d,
        "d @ host": lambda: d @ host,
        "np.maximum": lambda: np.maximum(d, host),
        "xp.maximum": lambda: fake.maximum(d, host),
        "xp.exp(host)": lambda: fake.exp(host),
        "xp.zeros_like(host)": lambda: fake.zeros_like(host),
        "np.concatenate": lambda: np.concatenate([d, host]),
        "np.stack": lambda: np.stack([host, d]),
        "xp.concatenate": lambda: fake.concatenate([d, host]),
        "d[...] = host": lambda: d.__setitem__(Ellipsis, host),
        "d += host": lambda: d.__iadd__(host),
        "out=host": lambda: fake.multiply(d, 2.0, out=host),
        "0-d host array": lambda: d * np.array(2.0),
        "list": lambda: d + [1.0, 2.0, 3.0],
    }
    for name, mix in mixes.items():
        with pytest.raises(TypeError):
            mix()
            pytest.fail(f"{name} did not raise")


def test_scalars_are_fine_and_keep_the_dtype(fake):
    d = fake.ones(3, dtype=np.float32)
    for result in (d * 2.0, 2 * d, d * np.float32(2.0), d / 3, -d, d ** 2, fake.maximum(d, 0.5)):
        assert isinstance(result, fake.ndarray) and result.dtype == np.float32


def test_explicit_transfers_work(fake):
    host = np.arange(4.0, dtype=np.float32)
    d = fake.asarray(host)
    assert isinstance(d, fake.ndarray)
    host[0] = 99.0                                  # host -> device is a copy
    back = fake.asnumpy(d)
    assert type(back) is np.ndarray and back.tolist() == [0.0, 1.0, 2.0, 3.0]
    back[1] = -1.0                                  # device -> host is a copy
    assert type(d.get()) is np.ndarray and d.get().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert fake.asarray(d) is d
    assert d.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_results_stay_on_the_device(fake):
    d = fake.arange(6.0).reshape(2, 3)
    for result in (d.sum(), d.mean(axis=0), d[0], d[0, 1], d.T, d @ d.T, np.exp(d),
                   fake.lib.stride_tricks.sliding_window_view(d, (1, 2)), d > 2, d[d > 2]):
        assert isinstance(result, fake.ndarray)
    s = d.sum()
    assert s.shape == () and float(s) == 15.0 and int(s) == 15 and bool(s > 1)
    assert f"{s:.1f}" == "15.0"
    y = fake.empty_like(d)
    assert fake.multiply(d, 2.0, out=y) is y and float(y.sum()) == 30.0
    d += 1.0
    assert isinstance(d, fake.ndarray) and float(d.sum()) == 21.0


def test_random_generator_is_cupys_subset(fake):
    rng = fake.random.default_rng(0)
    for sample in (rng.standard_normal((2, 3), dtype=np.float32), rng.random(4, dtype=np.float32),
                   rng.integers(0, 5, size=3), rng.uniform(size=2)):
        assert isinstance(sample, fake.ndarray)
    assert rng.standard_normal((2,), dtype=np.float32).dtype == np.float32
    for missing in ("permutation", "shuffle", "choice", "normal"):
        with pytest.raises(AttributeError, match="cupy.random.Generator"):
            getattr(rng, missing)
    assert callable(rng.bit_generator.state)        # a device pointer, not numpy's dict
    a = fake.random.default_rng(5).standard_normal(3)
    b = fake.random.default_rng(5).standard_normal(3)
    assert a.tolist() == b.tolist()


def test_host_code_is_caught(fake):
    """The point of the double: a host leak that NumPy accepts silently fails here."""
    def leaky_scale(x):
        return x * np.linspace(0, 1, x.shape[-1])   # a host constant

    x = B.randn(2, 3)
    with pytest.raises(TypeError):
        leaky_scale(x)
    B.use("numpy")
    assert leaky_scale(B.randn(2, 3)).shape == (2, 3)


def test_backend_functions_give_device_arrays(fake):
    for a in (B.randn(2, 3), B.rand(4), B.integers(0, 3, size=5), B.asarray([1.0, 2.0]),
              B.asarray(np.ones((2, 2)))):
        assert on_device(a)
    assert B.randn(2).dtype == np.float32 and B.asarray([1.0]).dtype == np.float32
    assert type(B.to_numpy(B.randn(3))) is np.ndarray
    B.seed(4)
    first = B.to_numpy(B.randn(5))
    B.seed(4)
    np.testing.assert_array_equal(B.to_numpy(B.randn(5)), first)


def test_backend_permutation_on_device(fake):
    """Minibatch shuffling must work on CuPy, whose Generator has no permutation()."""
    p = B.permutation(10)
    assert on_device(p)
    assert sorted(B.to_numpy(p).tolist()) == list(range(10))


def test_backend_rng_state_round_trip_on_device(fake):
    """Checkpoints save B.get_rng_state(); CuPy's bit_generator.state is a method returning a
    device pointer, not NumPy's dict, so the state must come from elsewhere."""
    B.seed(3)
    state = B.get_rng_state()
    first = B.to_numpy(B.randn(4))
    B.randn(7)
    B.set_rng_state(state)
    np.testing.assert_array_equal(B.to_numpy(B.randn(4)), first)


# ---------------------------------------------------------------------------------------------
# Layers on the device: outputs and gradients are device arrays, equal to the NumPy results

LAYERS = {
    "Dense": (lambda: Dense(5, 3), (4, 5)),
    "Conv2d": (lambda: Conv2d(2, 3, kernel_size=3, stride=2, padding=1), (2, 2, 6, 6)),
    "ConvTranspose2d": (lambda: ConvTranspose2d(3, 2, kernel_size=4, stride=2, padding=1),
                        (2, 3, 3, 3)),
    "BatchNorm1d": (lambda: BatchNorm1d(4), (6, 4)),
    "BatchNorm2d": (lambda: BatchNorm2d(3), (2, 3, 4, 4)),
    "ReLU": (ReLU, (3, 4)),
    "LeakyReLU": (lambda: LeakyReLU(0.2), (3, 4)),
    "Tanh": (Tanh, (3, 4)),
    "Sigmoid": (Sigmoid, (3, 4)),
    "Dropout": (lambda: Dropout(0.3), (4, 6)),
    "Flatten": (Flatten, (2, 3, 2, 2)),
    "Reshape": (lambda: Reshape(3, 2, 2), (2, 12)),
    "Sequential": (lambda: Sequential(Dense(4, 6), BatchNorm1d(6), LeakyReLU(), Dense(6, 2)),
                   (5, 4)),
}


def run_layer(make, x_host, dy_host=None, weights=None, training=True):
    """Build a layer on the active backend, run forward and backward, return host copies."""
    B.seed(1)
    layer = make()
    if weights is not None:
        layer.load_state_dict(weights)
    layer.train(training)
    x = B.asarray(x_host)
    B.seed(2)                                       # the same dropout mask on both backends
    y = layer.forward(x)
    dy = B.asarray(dy_host if dy_host is not None else np.ones(y.shape))
    dx = layer.backward(dy)
    arrays = {"y": y, "dx": dx}
    arrays.update({f"{name}.grad": p.grad for name, p in layer.named_parameters()})
    arrays.update({f"{name}.data": p.data for name, p in layer.named_parameters()})
    return layer, arrays


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_runs_on_device_and_matches_numpy(device, name, training):
    make, shape = LAYERS[name]
    rng = np.random.default_rng(0)
    x_host = rng.standard_normal(shape).astype(np.float32)
    layer, arrays = run_layer(make, x_host, training=training)
    assert on_device(*arrays.values()), {k: type(v).__name__ for k, v in arrays.items()}
    assert all(a.dtype == np.float32 for a in arrays.values())
    assert all(on_device(buf) for _, buf in layer.named_buffers())
    weights = {k: B.to_numpy(v) for k, v in layer.state_dict().items()}
    dy_host = rng.standard_normal(B.to_numpy(arrays["y"]).shape).astype(np.float32)
    _, arrays = run_layer(make, x_host, dy_host, weights, training)   # fresh, with a real dy
    device_results = {k: B.to_numpy(v) for k, v in arrays.items()}

    B.use("numpy")
    _, host_arrays = run_layer(make, x_host, dy_host, weights, training)
    if name == "Dropout" and training:       # the device draws its own mask: compare through it
        kept = device_results["y"] != 0
        assert 0.4 < kept.mean() < 0.95
        np.testing.assert_allclose(device_results["y"], np.where(kept, x_host / 0.7, 0),
                                   rtol=1e-6)
        np.testing.assert_allclose(device_results["dx"], np.where(kept, dy_host / 0.7, 0),
                                   rtol=1e-6)
        return
    for key, host in host_arrays.items():
        np.testing.assert_allclose(device_results[key], host, rtol=1e-5, atol=1e-6,
                                   err_msg=f"{name} {key}")


def test_layers_reject_host_input_on_device(device):
    layer = Dense(3, 2)
    with pytest.raises(TypeError, match="ndarray"):
        layer.forward(np.ones((2, 3), dtype=np.float32))


@pytest.mark.parametrize("make,shape", [
    (lambda: Dense(4, 3), (3, 4)),
    (lambda: Conv2d(2, 2, kernel_size=3, stride=1, padding=1), (2, 2, 4, 4)),
    (lambda: ConvTranspose2d(2, 2, kernel_size=4, stride=2, padding=1), (2, 2, 2, 2)),
    (lambda: BatchNorm1d(3), (5, 3)),
    (lambda: BatchNorm2d(2), (2, 2, 3, 3)),
    (lambda: Sequential(LeakyReLU(0.2), Tanh(), Sigmoid()), (3, 4)),
    (lambda: Dropout(0.4), (3, 5)),
], ids=["Dense", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d", "activations",
        "Dropout"])
def test_gradcheck_on_device_float64(device, make, shape):
    with B.precision("float64"):
        B.seed(0)
        layer = make()
        x = B.randn(*shape)
        x += 0.05 * B.xp.sign(x)                    # away from the activation kinks at 0
        assert on_device(x) and x.dtype == np.float64
        errors = check_module(layer, x)
    assert max(errors.values()) < 1e-7, errors
    assert on_device(*(p.grad for p in layer.parameters()))


# ---------------------------------------------------------------------------------------------
# Losses and optimizers on the device

@pytest.mark.parametrize("name", losses.OBJECTIVE_NAMES)
def test_losses_on_device(device, name):
    obj = losses.get_objective(name)
    real, fake = B.randn(6, 1), B.randn(4, 1)
    value, grad_real, grad_fake = obj.d_loss(real, fake)
    assert on_device(value, grad_real, grad_fake) and value.shape == ()   # no sync to a float
    assert grad_real.dtype == np.float32 and grad_fake.shape == (4, 1)
    g_value, g = obj.g_loss(fake)
    assert on_device(g_value, g) and g_value.shape == ()
    real_h, fake_h = B.to_numpy(real), B.to_numpy(fake)

    B.use("numpy")
    host_value, _, host_grad_fake = losses.get_objective(name).d_loss(B.asarray(real_h),
                                                                    B.asarray(fake_h))
    assert float(value) == pytest.approx(host_value, rel=1e-6)
    np.testing.assert_allclose(B.to_numpy(grad_fake), host_grad_fake, rtol=1e-6)
    assert float(g_value) == pytest.approx(
        losses.get_objective(name).g_loss(B.asarray(fake_h))[0], rel=1e-6)


def test_bce_and_errors_on_device(device):
    logits = B.asarray([[0.5], [-2.0], [3.0]])
    value, grad = losses.bce_with_logits(logits, B.asarray([[1.0], [0.0], [1.0]]))
    assert on_device(value, grad) and value.shape == ()
    assert on_device(losses.sigmoid(logits), losses.log_sigmoid(logits))
    bad = B.asarray([[0.5], [float("nan")]])
    with pytest.raises(ValueError, match="logits contain non-finite values"):
        losses.bce_with_logits(bad, 1.0)
    with pytest.raises(ValueError, match="fake_logits"):
        losses.NonSaturating().g_loss(bad)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
                                  lambda ps: Adam(ps, lr=0.01)], ids=["SGD", "Adam"])
def test_optimizers_on_device(device, make):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2)).astype(np.float32)
    grads = [rng.standard_normal((3, 2)).astype(np.float32) for _ in range(3)]

    def train(w, gs, state=None):
        layer = Dense(3, 2)
        layer.W.data[...] = B.asarray(w)
        opt = make(layer.parameters())
        if state is not None:
            opt.load_state_dict(state)
        for g in gs:
            opt.zero_grad()
            layer.W.grad += B.asarray(g)
            opt.step()
        return layer, opt

    layer, opt = train(w0, grads)
    assert on_device(layer.W.data, layer.b.data)
    assert all(on_device(buf) for bufs in opt.state.values() for buf in bufs)
    state = opt.state_dict()
    assert all(type(buf) is np.ndarray for bufs in state["state"].values() for buf in bufs)
    w_device = B.to_numpy(layer.W.data)
    layer2, opt2 = train(w_device, grads[:1], state)           # resumes on the device
    assert all(on_device(buf) for bufs in opt2.state.values() for buf in bufs)
    resumed = B.to_numpy(layer2.W.data)

    B.use("numpy")
    host_layer, host_opt = train(w0, grads + grads[:1])
    np.testing.assert_allclose(w_device, B.to_numpy(train(w0, grads)[0].W.data), rtol=1e-6)
    np.testing.assert_allclose(resumed, B.to_numpy(host_layer.W.data), rtol=1e-6, atol=1e-7)


def test_the_doubles_flags_are_cupys(fake):
    flags = fake.zeros(3).flags
    assert flags.c_contiguous and flags.owndata
    assert not hasattr(flags, "writeable")            # CuPy's arrays are always writeable
