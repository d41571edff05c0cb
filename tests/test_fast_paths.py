"""The fast paths of the convolution, normalisation and dropout layers against their textbook forms.

col2im goes stride phase by stride phase (no padded buffer; into each phase an offset that covers
it whole is copied, or zeros, then the other offsets are added); BatchNorm works on channels-last inputs without transposing them. Both must
give the textbook values (float64, to rounding) and keep every gradient check.
"""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module
from minigan.nn import conv
from minigan.nn.module import Module
from minigan.nn.conv import Conv2d, ConvTranspose2d, col2im, conv_output_size
from minigan.nn.dropout import Dropout, keep_mask
from minigan.nn.norm import BatchNorm1d, BatchNorm2d

LAYER_TOL = 1e-7


def textbook_col2im(cols, input_shape, kernel_size, stride, padding):
    """KH*KW strided += into a zeroed, padded (N, Hp, Wp, C) buffer: col2im as conv.py's module
    docstring writes it, kept here as the reference for the phase-by-phase col2im."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, h, w = input_shape
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    patches = cols.reshape(n, oh, ow, kh, kw, c)
    x_pad = np.zeros((n, h + 2 * ph, w + 2 * pw, c), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            x_pad[:, u:u + sh * (oh - 1) + 1:sh, v:v + sw * (ow - 1) + 1:sw, :] += \
                patches[:, :, :, u, v, :]
    return x_pad[:, ph:ph + h, pw:pw + w, :].transpose(0, 3, 1, 2)


def textbook_grad_input(dy, W, input_shape, stride, padding):
    """dcols = dY @ Wmat^T, then the textbook col2im."""
    c_out, c_in, kh, kw = W.shape
    dY = np.moveaxis(dy, 1, -1).reshape(-1, c_out)                    # (N*OH*OW, C_out)
    Wmat = W.transpose(2, 3, 1, 0).reshape(-1, c_out)                 # (KH*KW*C_in, C_out)
    return textbook_col2im(dY @ Wmat.T, input_shape, (kh, kw), stride, padding)


def test_col2im_by_phases_equals_the_textbook_sum_on_random_shapes():
    """Every geometry: strides above, equal to and below the kernel (offsets that reach no
    phase, phases no offset covers whole), paddings wider than the kernel, tiny images."""
    rng = np.random.default_rng(0)
    checked, uncovered = 0, 0
    with B.precision("float64"):
        while checked < 400:
            kh, kw, sh, sw = (int(v) for v in rng.integers(1, 6, 4))
            ph, pw = (int(v) for v in rng.integers(0, 5, 2))
            h, w = (int(v) for v in rng.integers(1, 12, 2))
            if h + 2 * ph < kh or w + 2 * pw < kw:
                continue
            n, c = 2, int(rng.integers(1, 4))
            oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
            cols = rng.standard_normal((n * oh * ow, kh * kw * c))
            shape = (n, c, h, w)
            fast = col2im(cols, shape, (kh, kw), (sh, sw), (ph, pw))
            slow = textbook_col2im(cols, shape, (kh, kw), (sh, sw), (ph, pw))
            assert fast.shape == slow.shape == shape
            np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12,
                                       err_msg=f"k={kh, kw} s={sh, sw} p={ph, pw} in={shape}")
            uncovered += bool((slow == 0).all(axis=(0, 1)).any())     # pixels no window reaches
            checked += 1
    assert uncovered > 20                   # the zero-filled phases were exercised


def test_dcgan_input_gradient_is_channels_last_and_agrees():
    """k=4, s=2, p=1 from 128 to 64 channels (chapter 4's layers): every phase has an offset
    covering it whole, the result is contiguous channels-last memory."""
    rng = np.random.default_rng(1)
    with B.precision("float64"):
        W = rng.standard_normal((128, 64, 4, 4))
        dy = rng.standard_normal((3, 128, 7, 7))
        fast = conv.conv2d_grad_input(dy, W, (3, 64, 14, 14), 2, 1)
        assert np.moveaxis(fast, 1, -1).flags.c_contiguous          # channels-last, contiguous
        np.testing.assert_allclose(fast, textbook_grad_input(dy, W, (3, 64, 14, 14), (2, 2),
                                                             (1, 1)), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("kernel, stride, padding",
                         [(4, 2, 1), (6, 3, 2), ((4, 2), (2, 1), (1, 0))])
def test_layers_with_stride_dividing_kernel_pass_gradient_checks(kernel, stride, padding):
    """Strides dividing the kernel on odd and even sizes: col2im meets phases covered whole by
    one offset (copied in) and phases no offset covers whole (zeroed first)."""
    with B.precision("float64"):
        for layer, x_shape in ((Conv2d(8, 3, kernel, stride, padding), (2, 8, 7, 6)),
                               (ConvTranspose2d(3, 8, kernel, stride, padding), (2, 3, 3, 4))):
            layer.b.data[...] = B.randn(*layer.b.shape)
            errors = check_module(layer, B.randn(*x_shape))
            assert max(errors.values()) < LAYER_TOL, (layer, errors)


def channels_last(a):
    """The same values as an (N, C, ...) view of channels-last memory."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, a.ndim - 1,
                                                                 *range(1, a.ndim - 1))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gives_the_same_on_every_memory_layout(training):
    rng = np.random.default_rng(2)
    with B.precision("float64"):
        x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
        dy = rng.standard_normal(x.shape)
        padded = np.zeros((4, 7, 8, 3))
        padded[:, 1:6, 1:7] = np.moveaxis(x, 1, -1)
        layouts = {"nchw": x, "channels-last": channels_last(x),
                   "cropped channels-last": padded[:, 1:6, 1:7].transpose(0, 3, 1, 2),
                   "strided": np.asfortranarray(x)}
        results = {}
        for name, xs in layouts.items():
            layer = BatchNorm2d(3)
            layer.weight.data[...] = np.array([0.5, 1.5, -1.0])
            layer.bias.data[...] = np.array([0.1, -0.2, 0.3])
            layer.forward(xs + 0.5)                  # non-trivial running statistics for eval
            layer.train(training)
            y = layer.forward(xs)
            if name != "strided":                    # the output keeps the input's layout
                assert np.moveaxis(y, 1, -1).flags.c_contiguous == (name != "nchw")
            dx = layer.backward(channels_last(dy) if name == "nchw" else dy)
            results[name] = (y, dx, layer.weight.grad.copy(), layer.bias.grad.copy())
        for name, got in results.items():
            for a, b in zip(got, results["nchw"]):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)


class ChannelsLastInput(Module):
    """Hands ``inner`` its input as channels-last memory (the gradient check perturbs a
    contiguous array; the layer sees the layout a convolution returns)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner.forward(channels_last(x))

    def backward(self, dy):
        return self.inner.backward(dy)


def test_batchnorm_gradients_on_channels_last_input():
    rng = np.random.default_rng(3)
    with B.precision("float64"):
        for layer, shape in ((BatchNorm2d(3), (3, 3, 4, 5)), (BatchNorm1d(3), (6, 3))):
            layer.weight.data[...] = np.array([0.5, 1.5, -1.0])
            layer.bias.data[...] = np.array([0.1, -0.2, 0.3])
            x = B.asarray(rng.standard_normal(shape) * 2 + 0.5)
            errors = check_module(ChannelsLastInput(layer), x)
            assert max(errors.values()) < LAYER_TOL, (layer, errors)


@pytest.mark.parametrize("p", [0.3, 0.05, 0.9])
def test_dropout_mask_from_integer_draws_keeps_fraction_1_minus_p(p):
    """The host mask compares raw 32-bit draws with round(p * 2^32); odd sizes use half a word."""
    B.seed(4)
    keep = B.to_numpy(keep_mask((301, 333), p))                       # 100,233 elements, odd
    assert keep.dtype == bool and keep.shape == (301, 333)
    sigma = np.sqrt(p * (1 - p) / keep.size)
    assert abs((1 - keep.mean()) - p) < 5 * sigma
    B.seed(4)
    assert np.array_equal(B.to_numpy(keep_mask((301, 333), p)), keep)
    layer = Dropout(p)
    x = B.xp.ones((7, 9), dtype=B.dtype())
    y = B.to_numpy(layer.forward(x))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    dy = B.randn(7, 9)
    np.testing.assert_allclose(B.to_numpy(layer.backward(dy)), B.to_numpy(dy) * y, rtol=1e-6)


# -- what each GAN step skips: parameter_backward (D step) and input_gradient (G step) ----------

def _pass_layers():
    from minigan.nn import Dense, Flatten, LeakyReLU, Maxout, Pack, Sequential
    return {
        "Dense": (lambda: Dense(5, 3), (4, 5)),
        "Conv2d": (lambda: Conv2d(2, 3, 4, stride=2, padding=1), (3, 2, 6, 6)),
        "Maxout": (lambda: Maxout(4, 3, 2), (5, 4)),
        "Sequential": (lambda: Sequential(Pack(2), LeakyReLU(0.2), Maxout(4, 6, 3), LeakyReLU(),
                                          Dense(6, 1)), (6, 2)),
        "conv D": (lambda: Sequential(Conv2d(1, 4, 4, 2, 1), LeakyReLU(0.2), Flatten(),
                                      Dense(4 * 3 * 3, 1)), (3, 1, 6, 6)),
        "no parameters": (lambda: Sequential(Flatten(), LeakyReLU(0.2)), (3, 2, 2)),
    }


@pytest.mark.parametrize("name", list(_pass_layers()))
def test_parameter_backward_fills_the_same_gradients_as_backward(name):
    make, shape = _pass_layers()[name]
    with B.precision("float64"):
        B.seed(1)
        layer = make()
        x = B.randn(*shape)
        y = layer.forward(x)
        dy = B.randn(*y.shape)
        layer.backward(dy)
        expected = [p.grad.copy() for p in layer.parameters()]
        for p in layer.parameters():
            p.zero_grad()
        layer.forward(x)
        assert layer.parameter_backward(dy) is None
        for p, want in zip(layer.parameters(), expected):
            np.testing.assert_array_equal(B.to_numpy(p.grad), B.to_numpy(want))
        assert expected or name == "no parameters"


def test_parameter_backward_never_visits_the_layers_before_the_first_with_parameters():
    from minigan.nn import Dense, Sequential

    class Refuses(Module):
        def forward(self, x):
            return x

        def backward(self, dy):
            raise AssertionError("backward of a layer in front of D's first weights")

    D = Sequential(Refuses(), Dense(3, 1))
    D.forward(B.randn(4, 3))
    D.parameter_backward(B.randn(4, 1))
    assert float(abs(D.layers[1].W.grad).sum()) > 0


def test_parameter_backward_checks_dy_and_names_the_layer():
    from minigan.nn import Dense, LeakyReLU, Sequential
    D = Sequential(Dense(3, 2), LeakyReLU(0.2), Dense(2, 1))
    D.forward(B.randn(4, 3))
    with pytest.raises(ValueError, match="Sequential layer 2"):
        D.parameter_backward(B.randn(4, 2))
    assert all(float(abs(p.grad).sum()) == 0 for p in D.parameters())
    no_weights = Sequential(LeakyReLU(0.2), LeakyReLU(0.1))    # nothing to fill, dy still checked
    no_weights.forward(B.randn(4, 3))
    with pytest.raises(ValueError, match="Sequential layer 1"):
        no_weights.parameter_backward(B.randn(4, 2))


@pytest.mark.parametrize("batchnorm", [False, True])
def test_generator_step_gets_the_same_input_gradient_either_way(batchnorm):
    """g_step's dL/d(fake) through D.input_gradient (no D weight gradients) equals backward's; a
    D with BatchNorm (no input_gradient) takes backward."""
    from minigan.gan import GAN
    from minigan.models import dcgan_discriminator
    from minigan.nn import Dense, Reshape, Sequential, Tanh
    with B.precision("float64"):
        B.seed(2)
        D = dcgan_discriminator(channels=(4, 8), dropout=0.3 if not batchnorm else 0,
                                batchnorm=batchnorm)
        G = Sequential(Dense(3, 28 * 28), Tanh(), Reshape((1, 28, 28)))
        gan = GAN(G, D, B.rand(8, 1, 28, 28), latent_dim=3, batch_size=4)
        x = B.randn(4, 1, 28, 28)
        dy = B.randn(4, 1)
        D.forward(x)                                 # one forward: one Dropout mask for both
        via_step = gan._discriminator_input_gradient(dy)
        grads_touched = any(float(abs(p.grad).sum()) > 0 for p in D.parameters())
        assert grads_touched == batchnorm            # input_gradient leaves D's .grad alone
        by_backward = D.backward(dy)
        np.testing.assert_allclose(B.to_numpy(via_step), B.to_numpy(by_backward), rtol=1e-12,
                                   atol=1e-15)
        assert float(abs(by_backward).max()) > 0


def test_grad_input_promotes_dtypes_like_the_product():
    """dcols is written into a buffer (matmul's out=): of the dtype dY @ Wmat^T has, never of
    dy's alone (a float32 dy with float64 weights gives float64, as the product does)."""
    rng = np.random.default_rng(2)
    W = rng.standard_normal((4, 3, 4, 4))
    dy = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    dx = conv.conv2d_grad_input(dy, W, (2, 3, 6, 6), 2, 1)
    assert dx.dtype == np.float64
    np.testing.assert_allclose(dx, textbook_grad_input(dy.astype(np.float64), W, (2, 3, 6, 6),
                                                       (2, 2), (1, 1)), rtol=1e-12, atol=1e-12)
