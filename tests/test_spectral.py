"""SpectralNorm and MinibatchStdDev: forward against direct computations, gradient checks, errors."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module
from minigan.nn.conv import Conv2d
from minigan.nn.dense import Dense
from minigan.nn.init import dcgan_init
from minigan.nn.minibatch import MinibatchStdDev
from minigan.nn.spectral import SpectralNorm


def top_singular_value(matrix):
    return float(np.linalg.svd(B.to_numpy(matrix), compute_uv=False)[0])


def randomize_bias(layer):
    layer.b.data[...] = B.randn(*layer.b.shape)     # non-zero bias: its gradient path is exercised


# ---------------------------------------------------------------------------------------------
# SpectralNorm: the estimate of sigma

def test_sigma_converges_to_largest_singular_value_dense():
    with B.precision("float64"):
        sn = SpectralNorm(Dense(6, 9), n_init_iterations=0)
        x = B.randn(4, 6)
        for _ in range(100):                         # one power iteration per training forward
            sn.forward(x)
    W = B.to_numpy(sn.layer.W.data)
    assert B.scalar(sn.sigma) == pytest.approx(top_singular_value(W), rel=1e-10)
    assert top_singular_value(sn.W_sn) == pytest.approx(1.0, rel=1e-10)


def test_sigma_converges_to_largest_singular_value_conv():
    with B.precision("float64"):
        sn = SpectralNorm(Conv2d(3, 5, 3, stride=1, padding=1), n_power_iterations=200)
        sn.forward(B.randn(2, 3, 4, 4))
    W = B.to_numpy(sn.layer.W.data)                              # (out, in, kh, kw)
    assert B.scalar(sn.sigma) == pytest.approx(top_singular_value(W.reshape(5, -1)), rel=1e-10)


def test_forward_computes_with_normalised_weight_and_keeps_original():
    with B.precision("float64"):
        dense = Dense(5, 3)
        randomize_bias(dense)
        sn = SpectralNorm(dense)
        W_before = dense.W.data.copy()
        x = B.randn(4, 5)
        y = sn.forward(x)
    np.testing.assert_array_equal(dense.W.data, W_before)     # the Parameter holds W, not W_sn
    assert dense.W.data is not sn.W_sn
    expected = x @ (W_before / sn.sigma) + dense.b.data
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert [name for name, _ in sn.named_parameters()] == ["layer.W", "layer.b"]
    assert set(sn.state_dict()) == {"layer.W", "layer.b", "u", "v"}


def test_u_is_updated_in_train_mode_only():
    sn = SpectralNorm(Dense(5, 4), n_init_iterations=0)
    x = B.randn(3, 5)
    sn.eval()
    u0 = sn.u.copy()
    sn.forward(x)
    np.testing.assert_array_equal(sn.u, u0)
    sn.train()
    sn.forward(x)
    assert not np.allclose(sn.u, u0)


# ---------------------------------------------------------------------------------------------
# SpectralNorm: gradients

def test_gradcheck_spectral_norm_dense_u_frozen():
    with B.precision("float64"):
        dense = Dense(5, 4)
        randomize_bias(dense)
        sn = SpectralNorm(dense, n_init_iterations=3).eval()   # eval: u, v fixed, sigma linear in W
        errors = check_module(sn, B.randn(3, 5))
    assert set(errors) == {"input", "layer.W", "layer.b"}
    for name, err in errors.items():
        assert err < 1e-7, (name, err)


def test_gradcheck_spectral_norm_conv_u_frozen():
    with B.precision("float64"):
        conv = Conv2d(2, 3, 3, stride=2, padding=1)
        randomize_bias(conv)
        sn = SpectralNorm(conv, n_init_iterations=3).eval()
        errors = check_module(sn, B.randn(2, 2, 5, 5))
    assert set(errors) == {"input", "layer.W", "layer.b"}
    for name, err in errors.items():
        assert err < 1e-7, (name, err)


def test_gradient_with_converged_vectors_is_gradient_of_exact_normalisation():
    # In train mode every forward re-runs the power iteration, so the numerical gradient
    # differentiates the exact W / sigma_max(W). With u, v converged, u v^T is the derivative of
    # sigma_max, and the frozen-u formula agrees.
    with B.precision("float64"):
        sn = SpectralNorm(Dense(4, 3), n_power_iterations=50, n_init_iterations=200)
        errors = check_module(sn, B.randn(3, 4))
    assert errors["layer.W"] < 1e-7, errors


def test_backward_adds_into_the_original_weight_gradient():
    with B.precision("float64"):
        sn = SpectralNorm(Dense(4, 3)).eval()
        x, dy = B.randn(2, 4), B.randn(2, 3)
        sn.zero_grad()
        sn.forward(x)
        sn.backward(dy)
        once = sn.layer.W.grad.copy()
        sn.forward(x)
        sn.backward(dy)
    np.testing.assert_allclose(sn.layer.W.grad, 2 * once, rtol=1e-12)
    # W / (u^T W v) does not change when W is scaled, so dL/dW is orthogonal to W: <dL/dW, W> = 0
    assert abs(float((once * sn.layer.W.data).sum())) < 1e-12 * float(abs(once).sum())


def test_spectral_norm_float32_end_to_end():
    sn = SpectralNorm(Conv2d(2, 4, 3, stride=1, padding=1))
    y = sn.forward(B.randn(2, 2, 6, 6))
    dx = sn.backward(B.randn(*y.shape))
    assert y.dtype == dx.dtype == sn.layer.W.grad.dtype == sn.u.dtype == np.float32


def test_dcgan_init_reaches_the_wrapped_weight():
    sn = SpectralNorm(Dense(50, 40))
    dcgan_init(sn)
    assert float(np.std(B.to_numpy(sn.layer.W.data))) == pytest.approx(0.02, rel=0.1)


def test_spectral_norm_errors():
    with pytest.raises(TypeError, match="weight Parameter"):
        SpectralNorm(MinibatchStdDev())
    with pytest.raises(ValueError, match="n_power_iterations must be >= 1"):
        SpectralNorm(Dense(3, 2), n_power_iterations=0)
    sn = SpectralNorm(Dense(3, 2))
    with pytest.raises(RuntimeError, match="before forward"):
        sn.backward(B.randn(4, 2))
    with pytest.raises(ValueError, match=r"Dense\(3->2\) expects input of shape \(N, 3\)"):
        sn.forward(B.randn(4, 5))
    assert repr(sn) == "SpectralNorm(Dense(3->2))"


# ---------------------------------------------------------------------------------------------
# MinibatchStdDev

def test_minibatch_stddev_forward_features():
    layer = MinibatchStdDev(eps=1e-8)
    x = B.randn(6, 4)
    y = layer.forward(x)
    x64 = B.to_numpy(x).astype(np.float64)
    expected = np.sqrt(x64.var(axis=0) + 1e-8).mean()
    assert y.shape == (6, 5) and y.dtype == np.float32
    np.testing.assert_array_equal(y[:, :4], x)
    np.testing.assert_allclose(y[:, 4], expected, rtol=1e-6)


def test_minibatch_stddev_forward_images():
    layer = MinibatchStdDev()
    x = B.randn(3, 2, 4, 5)
    y = layer.forward(x)
    expected = np.sqrt(B.to_numpy(x).astype(np.float64).var(axis=0) + 1e-8).mean()
    assert y.shape == (3, 3, 4, 5)
    np.testing.assert_array_equal(y[:, :2], x)
    np.testing.assert_allclose(y[:, 2], expected, rtol=1e-6)


def test_minibatch_stddev_sees_a_collapsed_batch():
    layer = MinibatchStdDev()
    collapsed = B.xp.tile(B.randn(1, 8), (16, 1))
    assert float(layer.forward(collapsed)[0, -1]) < 1e-3
    assert float(layer.forward(B.randn(16, 8))[0, -1]) > 0.5


@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 3, 3)])
def test_gradcheck_minibatch_stddev(shape):
    with B.precision("float64"):
        errors = check_module(MinibatchStdDev(), B.randn(*shape))
    assert errors["input"] < 1e-7, errors


def test_minibatch_stddev_errors():
    layer = MinibatchStdDev()
    with pytest.raises(ValueError, match=r"\(N, F\) or \(N, C, H, W\), got \(2, 3, 4\)"):
        layer.forward(B.randn(2, 3, 4))
    with pytest.raises(ValueError, match="at least 2 samples"):
        layer.forward(B.randn(1, 3))
    with pytest.raises(TypeError, match="float32 or float64"):
        layer.forward(B.xp.ones((4, 3), dtype=B.xp.int64))
    with pytest.raises(TypeError, match="ndarray"):
        layer.forward([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(RuntimeError, match="before forward"):
        MinibatchStdDev().backward(B.randn(4, 4))
    with pytest.raises(ValueError, match="eps must be positive"):
        MinibatchStdDev(eps=0.0)


# ---------------------------------------------------------------------------------------------
# On a device backend (the CuPy test double): no host arrays sneak in, results match NumPy

@pytest.mark.parametrize("make,shape", [
    (lambda: SpectralNorm(Dense(5, 3)), (4, 5)),
    (lambda: SpectralNorm(Conv2d(2, 3, 3, stride=2, padding=1)), (2, 2, 5, 5)),
    (lambda: MinibatchStdDev(), (4, 5)),
    (lambda: MinibatchStdDev(), (3, 2, 3, 3)),
], ids=["sn-dense", "sn-conv", "mbstd-2d", "mbstd-4d"])
def test_runs_on_device_and_matches_numpy(fake, make, shape):
    rng = np.random.default_rng(0)
    x_host = rng.standard_normal(shape).astype(np.float32)

    def run(state):
        layer = make()
        layer.load_state_dict(state)          # the same weights and power-iteration vector
        y = layer.forward(B.asarray(x_host))
        dy = B.asarray(np.linspace(-1, 1, y.size, dtype=np.float32).reshape(y.shape))
        dx = layer.backward(dy)
        return [y, dx] + [p.grad for p in layer.parameters()] + [b for _, b in layer.named_buffers()]

    B.use("numpy")                            # the weights are drawn on the host ...
    B.seed(1)
    state = {k: B.to_numpy(v) for k, v in make().state_dict().items()}
    B._use_module(fake, "cupy")               # ... and loaded on the device
    device_arrays = run(state)
    assert all(not isinstance(a, np.ndarray) for a in device_arrays)
    device_results = [B.to_numpy(a) for a in device_arrays]
    B.use("numpy")
    for on_device, on_host in zip(device_results, run(state)):
        np.testing.assert_allclose(on_device, on_host, rtol=1e-5, atol=1e-6)


def test_gradcheck_spectral_norm_on_device(fake):
    with B.precision("float64"):
        sn = SpectralNorm(Dense(4, 3)).eval()
        errors = check_module(sn, B.randn(3, 4))
    assert max(errors.values()) < 1e-7, errors
