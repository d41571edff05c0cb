"""Conv2d and ConvTranspose2d: gradient checks, naive-loop references, shapes and errors."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module
from minigan.nn.conv import Conv2d, ConvTranspose2d, col2im, conv2d, im2col

# (kernel_size, stride, padding, output_padding for the transposed layer)
CONFIGS = [
    (4, 2, 1, 0),
    (5, 2, 2, 1),
    (3, 1, 1, 0),
    (1, 1, 0, 0),
    ((2, 3), (1, 2), (0, 1), 0),        # non-square kernel, stride and padding
    (3, 2, 1, 1),                        # output_padding = 1
]
IDS = ["k4s2p1", "k5s2p2op1", "k3s1p1", "k1s1p0", "k2x3s1x2p0x1", "k3s2p1op1"]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---------------------------------------------------------------------------------------------
# Independent references: loops over batch items, channels and positions.

def naive_conv2d(x, W, b, stride, padding):
    """y[n, o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] x_pad[n, c, s*i + u, s*j + v]."""
    (sh, sw), (ph, pw) = _pair(stride), _pair(padding)
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = W.shape
    x_pad = np.zeros((n, c_in, h + 2 * ph, w + 2 * pw))
    x_pad[:, :, ph:ph + h, pw:pw + w] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    y = np.zeros((n, c_out, oh, ow))
    for k in range(n):
        for o in range(c_out):
            for i in range(oh):
                for j in range(ow):
                    window = x_pad[k, :, sh * i:sh * i + kh, sw * j:sw * j + kw]
                    y[k, o, i, j] = (window * W[o]).sum() + b[o]
    return y


def naive_conv_transpose2d(x, W, b, stride, padding, output_padding):
    """Every input pixel x[n, c, i, j] adds x * W[c] into the output patch at (s*i, s*j)."""
    (sh, sw), (ph, pw), (oph, opw) = _pair(stride), _pair(padding), _pair(output_padding)
    n, c_in, h, w = x.shape
    _, c_out, kh, kw = W.shape
    h_out = (h - 1) * sh - 2 * ph + kh + oph
    w_out = (w - 1) * sw - 2 * pw + kw + opw
    y_pad = np.zeros((n, c_out, h_out + 2 * ph, w_out + 2 * pw))
    for k in range(n):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    y_pad[k, :, sh * i:sh * i + kh, sw * j:sw * j + kw] += x[k, c, i, j] * W[c]
    y = y_pad[:, :, ph:ph + h_out, pw:pw + w_out]
    return y + b.reshape(1, -1, 1, 1)


def _with_random_bias(layer):
    layer.b.data[...] = B.randn(*layer.b.shape)
    return layer


# ---------------------------------------------------------------------------------------------
# Gradient checks (float64)

@pytest.mark.parametrize("kernel, stride, padding, output_padding", CONFIGS, ids=IDS)
def test_conv2d_gradients(kernel, stride, padding, output_padding):
    with B.precision("float64"):
        layer = _with_random_bias(Conv2d(2, 3, kernel, stride, padding))
        x = B.randn(2, 2, 7, 6)                         # odd and even spatial sizes
        errors = check_module(layer, x)
    assert set(errors) == {"input", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-7, f"{layer!r} {name}: rel error {err:.2e}"


@pytest.mark.parametrize("kernel, stride, padding, output_padding", CONFIGS, ids=IDS)
def test_conv_transpose2d_gradients(kernel, stride, padding, output_padding):
    with B.precision("float64"):
        layer = _with_random_bias(ConvTranspose2d(3, 2, kernel, stride, padding, output_padding))
        x = B.randn(2, 3, 5, 4)
        errors = check_module(layer, x)
    assert set(errors) == {"input", "W", "b"}
    for name, err in errors.items():
        assert err < 1e-7, f"{layer!r} {name}: rel error {err:.2e}"


@pytest.mark.parametrize("layer_type", [Conv2d, ConvTranspose2d])
def test_gradients_batch_of_one_odd_size(layer_type):
    with B.precision("float64"):
        layer = _with_random_bias(layer_type(2, 2, 3, stride=2, padding=1))
        errors = check_module(layer, B.randn(1, 2, 5, 5))
    for name, err in errors.items():
        assert err < 1e-7, f"{layer!r} {name}: rel error {err:.2e}"


def test_gradients_without_bias():
    with B.precision("float64"):
        for layer in (Conv2d(2, 3, 3, 2, 1, bias=False),
                      ConvTranspose2d(2, 3, 3, 2, 1, bias=False)):
            errors = check_module(layer, B.randn(1, 2, 5, 4))
            assert set(errors) == {"input", "W"}
            assert max(errors.values()) < 1e-7, (layer, errors)


# ---------------------------------------------------------------------------------------------
# Forward against the naive loops

@pytest.mark.parametrize("kernel, stride, padding, output_padding", CONFIGS, ids=IDS)
def test_conv2d_forward_matches_naive_loops(kernel, stride, padding, output_padding):
    with B.precision("float64"):
        layer = _with_random_bias(Conv2d(3, 4, kernel, stride, padding))
        x = B.randn(2, 3, 9, 8)
        y = layer.forward(x)
    expected = naive_conv2d(x, layer.W.data, layer.b.data, stride, padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding, output_padding", CONFIGS, ids=IDS)
def test_conv_transpose2d_forward_matches_naive_loops(kernel, stride, padding, output_padding):
    with B.precision("float64"):
        layer = _with_random_bias(ConvTranspose2d(3, 4, kernel, stride, padding, output_padding))
        x = B.randn(2, 3, 5, 6)
        y = layer.forward(x)
    expected = naive_conv_transpose2d(x, layer.W.data, layer.b.data, stride, padding,
                                      output_padding)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_layers_accept_any_memory_layout_and_chain():
    """Outputs are NCHW-shaped views of channels-last memory; the next layer reads them."""
    with B.precision("float64"):
        conv1, conv2 = Conv2d(2, 3, 3, 2, 1), Conv2d(3, 2, 3, 1, 1)
        x = B.randn(2, 2, 9, 9)
        h = conv1.forward(x)
        y = conv2.forward(h)
        y_from_copy = conv2.forward(np.ascontiguousarray(h))
    expected = naive_conv2d(naive_conv2d(x, conv1.W.data, conv1.b.data, 2, 1),
                            conv2.W.data, conv2.b.data, 1, 1)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y_from_copy, expected, rtol=1e-12, atol=1e-12)


def test_col2im_is_the_adjoint_of_im2col():
    """<im2col(x), c> == <x, col2im(c)> for every x and c: col2im adds overlaps up."""
    with B.precision("float64"):
        x = B.randn(2, 3, 7, 6)
        cols = im2col(x, (3, 2), (2, 1), (1, 1))
        c = B.randn(*cols.shape)
        back = col2im(c, x.shape, (3, 2), (2, 1), (1, 1))
    assert back.shape == x.shape
    assert abs(float((cols * c).sum()) - float((x * back).sum())) < 1e-10


def test_backward_accumulates_into_grads():
    with B.precision("float64"):
        for layer in (Conv2d(2, 3, 3, 2, 1), ConvTranspose2d(2, 3, 3, 2, 1)):
            x = B.randn(2, 2, 5, 5)
            dy = B.randn(*layer.forward(x).shape)
            dx1 = layer.backward(dy)
            grads = [p.grad.copy() for p in layer.parameters()]
            dx2 = layer.backward(dy)
            np.testing.assert_allclose(dx1, dx2)
            for p, g in zip(layer.parameters(), grads):
                np.testing.assert_allclose(p.grad, 2 * g)


# ---------------------------------------------------------------------------------------------
# Shapes, dtypes, errors

@pytest.mark.parametrize("in_hw, kernel, stride, padding, output_padding", [
    ((7, 7), 4, 2, 1, 0),          # DCGAN 7 -> 14
    ((14, 14), 4, 2, 1, 0),        # 14 -> 28
    ((4, 4), 5, 2, 2, 1),          # 4 -> 8
    ((3, 5), 3, 1, 0, 0),
    ((5, 4), (2, 3), (3, 1), (0, 1), (2, 0)),
    ((1, 1), 4, 1, 0, 0),          # 1x1 latent -> 4x4
])
def test_conv_transpose2d_output_shape_formula(in_hw, kernel, stride, padding, output_padding):
    layer = ConvTranspose2d(2, 3, kernel, stride, padding, output_padding)
    (kh, kw), (sh, sw), (ph, pw), (oph, opw) = map(_pair, (kernel, stride, padding, output_padding))
    h, w = in_hw
    expected = (4, 3, (h - 1) * sh - 2 * ph + kh + oph, (w - 1) * sw - 2 * pw + kw + opw)
    assert layer.forward(B.randn(4, 2, h, w)).shape == expected
    assert layer.output_shape((4, 2, h, w)) == expected


def test_conv2d_inverts_conv_transpose2d_shape():
    """A Conv2d with the same kernel, stride and padding maps the output size back to H."""
    for op in (0, 1):
        up = ConvTranspose2d(2, 2, 3, 2, 1, output_padding=op)
        down = Conv2d(2, 2, 3, 2, 1)
        assert down.forward(up.forward(B.randn(1, 2, 6, 6))).shape == (1, 2, 6, 6)


def test_float32_forward_and_backward_stay_float32():
    for layer in (Conv2d(2, 3, 4, 2, 1), ConvTranspose2d(2, 3, 4, 2, 1)):
        x = B.randn(2, 2, 6, 6)
        assert x.dtype == np.float32
        y = layer.forward(x)
        dx = layer.backward(B.randn(*y.shape))
        assert y.dtype == np.float32 and dx.dtype == np.float32
        assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32
                   for p in layer.parameters())


def test_weight_shapes_repr_and_init():
    conv = Conv2d(1, 64, 4, stride=2, padding=1)
    assert conv.W.shape == (64, 1, 4, 4) and conv.b.shape == (64,)
    assert repr(conv) == "Conv2d(1->64, k=4, s=2, p=1)"
    up = ConvTranspose2d(128, 64, (3, 5), stride=2, padding=1, output_padding=1, bias=False)
    assert up.W.shape == (128, 64, 3, 5) and up.b is None
    assert repr(up) == "ConvTranspose2d(128->64, k=(3, 5), s=2, p=1, op=1)"
    assert [n for n, _ in up.named_parameters()] == ["W"]
    dcgan = Conv2d(64, 128, 4, init="dcgan")
    assert abs(float(dcgan.W.data.std()) - 0.02) < 0.002
    glorot = Conv2d(64, 128, 4, init="glorot")    # U(-a, a), a = sqrt(6 / (fan_in + fan_out))
    limit = np.sqrt(6 / (64 * 16 + 128 * 16))
    assert float(abs(glorot.W.data).max()) <= limit
    assert abs(float(glorot.W.data.std()) - limit / np.sqrt(3)) < 0.05 * limit
    he = Conv2d(64, 128, 4, init="he")                    # N(0, 2 / fan_in)
    assert abs(float(he.W.data.std()) - np.sqrt(2 / (64 * 16))) < 0.05 * np.sqrt(2 / (64 * 16))
    with pytest.raises(ValueError, match="init"):
        Conv2d(1, 2, 3, init="uniform")


def test_bad_inputs_name_the_layer_and_the_shapes():
    conv = Conv2d(1, 64, 4, stride=2, padding=1)
    with pytest.raises(ValueError,
                       match=r"Conv2d\(1->64, k=4, s=2, p=1\).*\(N, 1, \*, \*\).*\(64, 28, 28\)"):
        conv.forward(B.randn(64, 28, 28))                 # wrong ndim
    with pytest.raises(ValueError, match=r"Conv2d\(1->64.*\(N, 1, \*, \*\).*\(8, 3, 28, 28\)"):
        conv.forward(B.randn(8, 3, 28, 28))               # wrong channels
    with pytest.raises(ValueError, match=r"Conv2d\(1->64, k=4, s=2, p=1\).*padded input 3x4.*"
                                         r"\(2, 1, 1, 2\).*kernel 4x4"):
        conv.forward(B.randn(2, 1, 1, 2))                 # too small for the kernel
    up = ConvTranspose2d(2, 3, 3, stride=1, padding=2)
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2->3, k=3, s=1, p=2\).*\(2, 2, 1, 1\)"):
        up.forward(B.randn(2, 2, 1, 1))                   # output would be -1 x -1
    with pytest.raises(ValueError,
                       match=r"ConvTranspose2d\(2->3.*\(N, 2, \*, \*\).*\(2, 3, 4, 4\)"):
        up.forward(B.randn(2, 3, 4, 4))
    with pytest.raises(TypeError, match="float"):
        conv.forward(np.zeros((2, 1, 8, 8), dtype=np.int64))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="output_padding"):
        ConvTranspose2d(2, 3, 4, stride=2, padding=1, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        ConvTranspose2d(2, 3, 3, stride=1, output_padding=1)
    with pytest.raises(ValueError, match="in_channels"):
        Conv2d(0, 3, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv2d(1, 3, (3, 3, 3))
    with pytest.raises(ValueError, match="stride"):
        Conv2d(1, 3, 3, stride=0)


def test_backward_before_forward_raises():
    for layer in (Conv2d(1, 2, 3), ConvTranspose2d(1, 2, 3)):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(B.randn(1, 2, 4, 4))


def test_primitive_conv2d_without_layer():
    with B.precision("float64"):
        x, W = B.randn(2, 3, 6, 5), B.randn(4, 3, 3, 3)
        y = conv2d(x, W, stride=(2, 1), padding=(1, 0))
    np.testing.assert_allclose(y, naive_conv2d(x, W, np.zeros(4), (2, 1), (1, 0)),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"conv2d: x has 3 channels but W \(4, 2, 3, 3\)"):
        conv2d(x, B.randn(4, 2, 3, 3))
