"""The exercises: what the learner writes, the inputs it is checked on, minigan's answer, the
classic mistakes, and a model solution.

Each ``Exercise`` holds only code and data; its words (title, task, hints, in English and Chinese)
are in ``minigan.exercises.messages``. The pieces:

    functions    (function name, argument names, output names) for each function the learner
                 writes, e.g.
                 ("backward", ("x", "W", "b", "grad_y"), ("grad_x", "grad_W", "grad_b"))
    cases(rng)   a list of dicts: the inputs (float64 host arrays, ints, floats) by argument name,
                 plus "n" (the count a mean runs over: the batch size, or the number of logits)
    reference    case -> {output name: expected value}, computed with minigan's own layers,
                 losses, optimizer and metrics (never with the model solution)
    gradients    {gradient output: the input it differentiates by}, checked also against centred
                 finite differences of the learner's own ``objective``:
    objective    ("y", "grad_y"): the scalar sum(y * grad_y) of a layer's output y;
                 ("value", None): a loss value itself
    detectors    (hint key, output name, test(case, got, want) -> bool): the classic mistakes,
                 each recognised by the wrong answer it produces
    solution     {function name: a model solution}, in plain NumPy

All arrays are host NumPy float64; the checker runs the references on the NumPy backend.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

from minigan import backend as B
from minigan import densities, dirac, losses, metrics, nn
from minigan.nn import conv as conv_ops
from minigan.nn.module import Parameter
from minigan.optim import Adam

np = B.np


@dataclasses.dataclass
class Exercise:
    """One exercise (see the module docstring for the fields); ``filename`` is its file in the
    learner's workspace, ``outputs`` the learner's outputs in the order they are compared."""

    number: int
    name: str
    functions: tuple
    cases: Callable
    reference: Callable
    solution: dict
    gradients: dict = dataclasses.field(default_factory=dict)
    objective: tuple = ("y", "grad_y")
    detectors: tuple = ()
    order: tuple = ()            # outputs in the order they are compared (default: as returned)
    tolerance: float = 1e-7      # rel_error allowed against the reference and finite differences

    @property
    def filename(self) -> str:
        return f"{self.number:02d}_{self.name}.py"

    @property
    def outputs(self) -> tuple:
        return self.order or tuple(o for _, _, outs in self.functions for o in outs)


# ---------------------------------------------------------------------------------------------
# Helpers: comparison of a wrong answer with a model of a mistake

def close(a, b, rtol: float = 1e-6) -> bool:
    """a and b have the same shape and agree to rtol relative to their size (NaN never agrees)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return False
    return bool(np.abs(a - b).max(initial=0.0) <= rtol * max(1e-12, np.abs(b).max(initial=0.0)))


def _is(model):
    """A detector: the learner's answer equals model(case)."""
    return lambda case, got, want: close(got, model(case))


def _sigmoid(x):
    return nn.functional.sigmoid(x, np)


def _layer(layer, case, params):
    """Run a minigan layer forward then backward on a case -> {"y", "grad_x", params' grads}."""
    y = layer.forward(case["x"])
    grad_x = layer.backward(case["grad_y"])
    out = {"y": y, "grad_x": grad_x}
    out.update({name: p.grad for name, p in params.items()})
    return out


def _layer_cases(rng, shape, **extra):
    """One case of an elementwise layer: x away from 0 (no kinks), a random upstream gradient."""
    x = rng.standard_normal(shape)
    x += np.sign(x) * 0.1
    return [dict(x=x, grad_y=rng.standard_normal(shape), n=shape[0], **extra)]


def _forgot_upstream(local):
    """A detector: the local derivative local(case) returned, not multiplied by grad_y."""
    return ("forgot_upstream", "grad_x", _is(local))


def _sign_flipped(case, got, want):
    return close(got, -want) and not close(want, 0 * want)


# ---------------------------------------------------------------------------------------------
# 1. Dense

def _dense_cases(rng):
    n, fin, fout = 4, 3, 5
    return [dict(x=rng.standard_normal((n, fin)), W=rng.standard_normal((fin, fout)),
                 b=rng.standard_normal(fout), grad_y=rng.standard_normal((n, fout)), n=n)]


def _dense_reference(c):
    layer = nn.Dense(*c["W"].shape)
    layer.W.data[...], layer.b.data[...] = c["W"], c["b"]
    return _layer(layer, c, {"grad_W": layer.W, "grad_b": layer.b})


def _dense_forward(x, W, b):
    """x: (N, in), W: (in, out), b: (out,) -> y: (N, out)"""
    return x @ W + b


def _dense_backward(x, W, b, grad_y):
    """grad_y: (N, out) -> grad_x: (N, in), grad_W: (in, out), grad_b: (out,)"""
    return grad_y @ W.T, x.T @ grad_y, grad_y.sum(axis=0)


DENSE = Exercise(
    1, "dense",
    (("forward", ("x", "W", "b"), ("y",)),
     ("backward", ("x", "W", "b", "grad_y"), ("grad_x", "grad_W", "grad_b"))),
    _dense_cases, _dense_reference, {"forward": _dense_forward, "backward": _dense_backward},
    gradients={"grad_x": "x", "grad_W": "W", "grad_b": "b"})


# ---------------------------------------------------------------------------------------------
# 2-4. Tanh, LeakyReLU, Sigmoid

def _tanh_reference(c):
    return _layer(nn.Tanh(), c, {})


def _tanh_forward(x):
    return np.tanh(x)


def _tanh_backward(x, grad_y):
    return grad_y * (1 - np.tanh(x) ** 2)


def _leaky_reference(c):
    return _layer(nn.LeakyReLU(c["negative_slope"]), c, {})


def _leaky_forward(x, negative_slope):
    return np.where(x > 0, x, negative_slope * x)


def _leaky_backward(x, negative_slope, grad_y):
    return grad_y * np.where(x > 0, 1.0, negative_slope)


def _sigmoid_reference(c):
    return _layer(nn.Sigmoid(), c, {})


def _sigmoid_forward(x):
    return 1 / (1 + np.exp(-x))


def _sigmoid_backward(x, grad_y):
    y = 1 / (1 + np.exp(-x))
    return grad_y * y * (1 - y)


_ELEMENTWISE = (("forward", ("x",), ("y",)), ("backward", ("x", "grad_y"), ("grad_x",)))

TANH = Exercise(
    2, "tanh", _ELEMENTWISE, lambda rng: _layer_cases(rng, (4, 6)), _tanh_reference,
    {"forward": _tanh_forward, "backward": _tanh_backward}, gradients={"grad_x": "x"},
    detectors=(("tanh_uses_x", "grad_x", _is(lambda c: c["grad_y"] * (1 - c["x"] ** 2))),
               _forgot_upstream(lambda c: 1 - np.tanh(c["x"]) ** 2)))

LEAKY_RELU = Exercise(
    3, "leaky_relu",
    (("forward", ("x", "negative_slope"), ("y",)),
     ("backward", ("x", "negative_slope", "grad_y"), ("grad_x",))),
    lambda rng: _layer_cases(rng, (4, 6), negative_slope=0.2), _leaky_reference,
    {"forward": _leaky_forward, "backward": _leaky_backward}, gradients={"grad_x": "x"},
    detectors=(("leaky_is_relu", "y", _is(lambda c: np.maximum(c["x"], 0))),
               ("leaky_is_relu", "grad_x", _is(lambda c: c["grad_y"] * (c["x"] > 0))),
               ("leaky_slopes_swapped", "grad_x",
                _is(lambda c: c["grad_y"] * np.where(c["x"] > 0, c["negative_slope"], 1.0))),
               _forgot_upstream(lambda c: np.where(c["x"] > 0, 1.0, c["negative_slope"]))))

SIGMOID = Exercise(
    4, "sigmoid", _ELEMENTWISE, lambda rng: _layer_cases(rng, (4, 6)), _sigmoid_reference,
    {"forward": _sigmoid_forward, "backward": _sigmoid_backward}, gradients={"grad_x": "x"},
    detectors=(("sigmoid_missing_one_minus_y", "grad_x",
                _is(lambda c: c["grad_y"] * _sigmoid(c["x"]))),
               ("sigmoid_uses_x", "grad_x", _is(lambda c: c["grad_y"] * c["x"] * (1 - c["x"]))),
               _forgot_upstream(lambda c: _sigmoid(c["x"]) * _sigmoid(-c["x"]))))


# ---------------------------------------------------------------------------------------------
# 5. BatchNorm, training mode

BN_EPS = 1e-5


def _bn_cases(rng):
    n, f = 6, 3
    return [dict(x=rng.standard_normal((n, f)) * 2 + 1, gamma=rng.standard_normal(f) + 1,
                 beta=rng.standard_normal(f), grad_y=rng.standard_normal((n, f)), n=n)]


def _bn_reference(c):
    layer = nn.BatchNorm1d(c["x"].shape[1], eps=BN_EPS)
    layer.weight.data[...], layer.bias.data[...] = c["gamma"], c["beta"]
    return _layer(layer, c, {"grad_gamma": layer.weight, "grad_beta": layer.bias})


def _bn_parts(c):
    """(xhat, gamma / sqrt(var + eps), g): the pieces every BatchNorm backward is made of."""
    x, g = c["x"], c["grad_y"]
    inv_std = 1 / np.sqrt(x.var(axis=0) + BN_EPS)
    return (x - x.mean(axis=0)) * inv_std, c["gamma"] * inv_std, g


def _bn_no_mean_term(c):
    xhat, scale, g = _bn_parts(c)
    return scale * (g - xhat * (g * xhat).mean(axis=0))


def _bn_no_variance_term(c):
    xhat, scale, g = _bn_parts(c)
    return scale * (g - g.mean(axis=0))


def _bn_constant_statistics(c):
    _, scale, g = _bn_parts(c)
    return scale * g


def _bn_normalised(c, axis, ddof=0):
    x = c["x"]
    mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, ddof=ddof, keepdims=True)
    return c["gamma"] * (x - mean) / np.sqrt(var + BN_EPS) + c["beta"]


def _bn_forward(x, gamma, beta):
    """x: (N, F), gamma, beta: (F,) -> y: (N, F), batch statistics"""
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + BN_EPS) + beta


def _bn_backward(x, gamma, beta, grad_y):
    """grad_y: (N, F) -> grad_x: (N, F), grad_gamma: (F,), grad_beta: (F,)"""
    m = x.shape[0]
    inv_std = 1 / np.sqrt(x.var(axis=0) + BN_EPS)
    xhat = (x - x.mean(axis=0)) * inv_std
    grad_beta = grad_y.sum(axis=0)
    grad_gamma = (grad_y * xhat).sum(axis=0)
    grad_x = gamma * inv_std * (grad_y - grad_beta / m - xhat * grad_gamma / m)
    return grad_x, grad_gamma, grad_beta


BATCHNORM = Exercise(
    5, "batchnorm",
    (("forward", ("x", "gamma", "beta"), ("y",)),
     ("backward", ("x", "gamma", "beta", "grad_y"), ("grad_x", "grad_gamma", "grad_beta"))),
    _bn_cases, _bn_reference, {"forward": _bn_forward, "backward": _bn_backward},
    gradients={"grad_x": "x", "grad_gamma": "gamma", "grad_beta": "beta"},
    detectors=(("bn_unbiased_variance", "y", _is(lambda c: _bn_normalised(c, 0, ddof=1))),
               ("bn_per_sample_statistics", "y", _is(lambda c: _bn_normalised(c, 1))),
               ("bn_missing_mean_term", "grad_x", _is(_bn_no_mean_term)),
               ("bn_missing_variance_term", "grad_x", _is(_bn_no_variance_term)),
               ("bn_statistics_as_constants", "grad_x", _is(_bn_constant_statistics))))


# ---------------------------------------------------------------------------------------------
# 6. Dropout with a fixed mask

def _dropout_cases(rng):
    x, p, seed = rng.standard_normal((4, 5)), 0.3, int(rng.integers(1 << 30))
    layer = nn.Dropout(p)
    B.seed(seed)
    layer.forward(x)                                           # draws the mask minigan would
    mask = B.to_numpy(layer.keep).astype(np.float64)            # the boolean keep-mask
    return [dict(x=x, mask=mask, p=p, grad_y=rng.standard_normal(x.shape), seed=seed, n=4)]


def _dropout_reference(c):
    layer = nn.Dropout(c["p"])
    B.seed(c["seed"])                                          # the same mask again
    return _layer(layer, c, {})


def _dropout_forward(x, mask, p):
    return x * mask / (1 - p)


def _dropout_backward(x, mask, p, grad_y):
    return grad_y * mask / (1 - p)


DROPOUT = Exercise(
    6, "dropout",
    (("forward", ("x", "mask", "p"), ("y",)),
     ("backward", ("x", "mask", "p", "grad_y"), ("grad_x",))),
    _dropout_cases, _dropout_reference,
    {"forward": _dropout_forward, "backward": _dropout_backward}, gradients={"grad_x": "x"},
    detectors=(("dropout_forgot_scale", "y", _is(lambda c: c["x"] * c["mask"])),
               ("dropout_scale_by_p", "y", _is(lambda c: c["x"] * c["mask"] / c["p"])),
               ("dropout_mask_inverted", "y",
                _is(lambda c: c["x"] * (1 - c["mask"]) / (1 - c["p"]))),
               ("dropout_forgot_scale", "grad_x", _is(lambda c: c["grad_y"] * c["mask"])),
               ("dropout_backward_without_mask", "grad_x",
                _is(lambda c: c["grad_y"] / (1 - c["p"])))))


# ---------------------------------------------------------------------------------------------
# 7-8. Conv2d and ConvTranspose2d, through im2col

def _conv_cases(rng, transposed):
    cases = []
    for stride, padding in ((2, 1), (1, 0)):
        c_in, c_out, k, n = (4, 3, 3, 2) if transposed else (3, 4, 3, 2)
        size = 3 if transposed else 5
        x = rng.standard_normal((n, c_in, size, size))
        W = rng.standard_normal((c_in, c_out, k, k) if transposed else (c_out, c_in, k, k))
        layer = (nn.ConvTranspose2d(c_in, c_out, k, stride, padding) if transposed else
                 nn.Conv2d(c_in, c_out, k, stride, padding))
        out_shape = layer.output_shape(x.shape) if transposed else (
            n, c_out, *(conv_ops.conv_output_size(size, k, stride, padding),) * 2)
        cases.append(dict(x=x, W=W, b=rng.standard_normal(c_out), stride=stride,
                          padding=padding, grad_y=rng.standard_normal(out_shape), n=n))
    return cases


def _conv_reference(c, transposed=False):
    c_in, k = c["x"].shape[1], c["W"].shape[2]
    c_out = c["W"].shape[1] if transposed else c["W"].shape[0]
    kind = nn.ConvTranspose2d if transposed else nn.Conv2d
    layer = kind(c_in, c_out, k, c["stride"], c["padding"])
    layer.W.data[...], layer.b.data[...] = c["W"], c["b"]
    out = _layer(layer, c, {"grad_W": layer.W, "grad_b": layer.b})
    return {key: np.ascontiguousarray(value) for key, value in out.items()}


def _flipped(c, transposed=False):
    """The layer's output with the kernel flipped: a true convolution, not a cross-correlation."""
    flipped = dict(c, W=np.ascontiguousarray(c["W"][:, :, ::-1, ::-1]))
    return _conv_reference(flipped, transposed)["y"]


def _overlap_only(shape_of, c, got, want):
    """Wrong only where several windows add onto one pixel: col2im assigns instead of adding."""
    if got.shape != want.shape or not np.isfinite(got).all():
        return False
    n, _, h, w = shape_of
    k, s, p = c["W"].shape[2], c["stride"], c["padding"]
    oh, ow = conv_ops.conv_output_size(h, k, s, p), conv_ops.conv_output_size(w, k, s, p)
    coverage = conv_ops.col2im(np.ones((n * oh * ow, k * k)), (n, 1, h, w), k, s, p)
    wrong = np.abs(got - want) > 1e-6 * np.abs(want).max()
    return bool(wrong.any() and (coverage > 1).any() and not (wrong & (coverage <= 1)).any())


def _im2col(x, k, stride, padding):
    """x: (N, C, H, W) -> cols: (N*OH*OW, C*k*k), one receptive field per row."""
    n, ch, h, w = x.shape
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((n, oh, ow, ch, k, k))
    for i in range(oh):
        for j in range(ow):
            cols[:, i, j] = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
    return cols.reshape(n * oh * ow, ch * k * k)


def _col2im(cols, shape, k, stride, padding):
    """Adjoint of _im2col: add every row back onto the pixels it came from -> (N, C, H, W)."""
    n, ch, h, w = shape
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    xp = np.zeros((n, ch, h + 2 * padding, w + 2 * padding))
    patches = cols.reshape(n, oh, ow, ch, k, k)
    for i in range(oh):
        for j in range(ow):
            xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += patches[:, i, j]
    return xp[:, :, padding:padding + h, padding:padding + w]


def _rows(a):
    """(N, C, H, W) -> (N*H*W, C)"""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


def _conv_forward(x, W, b, stride, padding):
    """x: (N, C_in, H, W), W: (C_out, C_in, k, k), b: (C_out,) -> y: (N, C_out, OH, OW)"""
    n, _, h, w = x.shape
    c_out, _, k, _ = W.shape
    oh, ow = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
    y = _im2col(x, k, stride, padding) @ W.reshape(c_out, -1).T + b   # (N*OH*OW, C_out)
    return y.reshape(n, oh, ow, c_out).transpose(0, 3, 1, 2)


def _conv_backward(x, W, b, grad_y, stride, padding):
    """grad_y: (N, C_out, OH, OW) -> grad_x, grad_W, grad_b shaped like x, W, b"""
    c_out, _, k, _ = W.shape
    dy = _rows(grad_y)                                                 # (N*OH*OW, C_out)
    grad_W = (dy.T @ _im2col(x, k, stride, padding)).reshape(W.shape)
    grad_x = _col2im(dy @ W.reshape(c_out, -1), x.shape, k, stride, padding)
    return grad_x, grad_W, grad_y.sum(axis=(0, 2, 3))


def _convt_forward(x, W, b, stride, padding):
    """x: (N, C_in, H, W), W: (C_in, C_out, k, k), b: (C_out,) -> y: (N, C_out, H_out, W_out)"""
    n, c_in, h, w = x.shape
    _, c_out, k, _ = W.shape
    out_h, out_w = (h - 1) * stride - 2 * padding + k, (w - 1) * stride - 2 * padding + k
    cols = _rows(x) @ W.reshape(c_in, -1)                              # (N*H*W, C_out*k*k)
    return _col2im(cols, (n, c_out, out_h, out_w), k, stride, padding) + b[:, None, None]


def _convt_backward(x, W, b, grad_y, stride, padding):
    """grad_y: (N, C_out, H_out, W_out) -> grad_x, grad_W, grad_b shaped like x, W, b"""
    n, c_in, h, w = x.shape
    k = W.shape[2]
    cols = _im2col(grad_y, k, stride, padding)                         # (N*H*W, C_out*k*k)
    grad_x = (cols @ W.reshape(c_in, -1).T).reshape(n, h, w, c_in).transpose(0, 3, 1, 2)
    grad_W = (_rows(x).T @ cols).reshape(W.shape)
    return grad_x, grad_W, grad_y.sum(axis=(0, 2, 3))


_CONV_FUNCTIONS = (("forward", ("x", "W", "b", "stride", "padding"), ("y",)),
                   ("backward", ("x", "W", "b", "grad_y", "stride", "padding"),
                    ("grad_x", "grad_W", "grad_b")))
_CONV_GRADIENTS = {"grad_x": "x", "grad_W": "W", "grad_b": "b"}


def _flipped_weight_gradient(c, got, want):
    return close(got, want[:, :, ::-1, ::-1])


CONV2D = Exercise(
    7, "conv2d", _CONV_FUNCTIONS, lambda rng: _conv_cases(rng, False), _conv_reference,
    {"forward": _conv_forward, "backward": _conv_backward}, gradients=_CONV_GRADIENTS,
    detectors=(("conv_flipped_kernel", "y", _is(_flipped)),
               ("conv_flipped_kernel", "grad_W", _flipped_weight_gradient),
               ("col2im_overwrites", "grad_x",
                lambda c, got, want: _overlap_only(c["x"].shape, c, got, want))))

CONV_TRANSPOSE2D = Exercise(
    8, "conv_transpose2d", _CONV_FUNCTIONS, lambda rng: _conv_cases(rng, True),
    lambda c: _conv_reference(c, True), {"forward": _convt_forward, "backward": _convt_backward},
    gradients=_CONV_GRADIENTS,
    detectors=(("conv_flipped_kernel", "y", _is(lambda c: _flipped(c, True))),
               ("conv_flipped_kernel", "grad_W", _flipped_weight_gradient),
               ("col2im_overwrites", "y",
                lambda c, got, want: _overlap_only(want.shape, c, got, want))))


# ---------------------------------------------------------------------------------------------
# 9-10. BCE from logits, and the non-saturating generator loss

def _bce_cases(rng):
    logits = rng.standard_normal((8, 1)) * 3
    wide = np.array([[-60.0], [-35.0], [-2.0], [0.5], [35.0], [60.0]])
    return [dict(logits=logits, targets=rng.uniform(size=(8, 1)), n=8),
            dict(logits=wide, targets=np.array([[0.0], [1.0], [1.0], [0.0], [0.0], [1.0]]), n=6)]


def _bce_reference(c):
    value, grad = losses.bce_with_logits(c["logits"], c["targets"])
    return {"value": value, "grad_logits": grad}


def _unstable(c, got, want):
    """A value that is not finite where the logits are large: log(sigmoid) underflowed."""
    return bool(not np.isfinite(got).all() and np.abs(c["logits"]).max() > 30)


def _bce_wrt_probability(c):
    s, t = _sigmoid(c["logits"]), c["targets"]
    return (s - t) / (s * (1 - s)) / c["logits"].size


def _bce(logits, targets):
    """logits, targets: (N, 1) -> mean BCE, grad_logits: (N, 1)"""
    value = np.mean(np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits))))
    return value, (_sigmoid(logits) - targets) / logits.size


def _g_cases(rng):
    return [dict(fake_logits=rng.standard_normal((8, 1)) * 3, n=8),
            dict(fake_logits=np.array([[-60.0], [-3.0], [0.0], [2.0], [60.0]]), n=5)]


def _g_reference(c):
    value, grad = losses.get_objective("non-saturating").g_loss(c["fake_logits"])
    return {"value": value, "grad_fake": grad}


def _saturating(c):
    value, grad = losses.get_objective("minimax").g_loss(c["fake_logits"])
    return value, grad


def _g_loss(fake_logits):
    """fake_logits: (N, 1) -> -mean log sigmoid(l), grad_fake: (N, 1)"""
    value = np.mean(np.log1p(np.exp(-np.abs(fake_logits))) - np.minimum(fake_logits, 0))
    return value, (_sigmoid(fake_logits) - 1) / fake_logits.size


BCE = Exercise(
    9, "bce_with_logits", (("bce_with_logits", ("logits", "targets"), ("value", "grad_logits")),),
    _bce_cases, _bce_reference, {"bce_with_logits": _bce}, gradients={"grad_logits": "logits"},
    objective=("value", None), tolerance=1e-6,
    detectors=(("unstable_log", "value", _unstable),
               ("grad_wrt_probability", "grad_logits", _is(_bce_wrt_probability))))

NONSATURATING = Exercise(
    10, "nonsaturating_g_loss", (("g_loss", ("fake_logits",), ("value", "grad_fake")),),
    _g_cases, _g_reference, {"g_loss": _g_loss}, gradients={"grad_fake": "fake_logits"},
    objective=("value", None), tolerance=1e-6,
    detectors=(("saturating_loss", "value", _is(lambda c: _saturating(c)[0])),
               ("unstable_log", "value", lambda c, got, want: not np.isfinite(got).all()),
               ("saturating_loss", "grad_fake", _is(lambda c: _saturating(c)[1]))))


# ---------------------------------------------------------------------------------------------
# 11. One Adam step

def _adam_cases(rng):
    shape = (3, 4)
    first = dict(param=rng.standard_normal(shape), grad=rng.standard_normal(shape),
                 m=np.zeros(shape), v=np.zeros(shape), t=1, lr=0.01, beta1=0.5, beta2=0.999,
                 eps=1e-8)
    later = dict(param=rng.standard_normal(shape), grad=rng.standard_normal(shape) * 1e-2,
                 m=rng.standard_normal(shape) * 1e-2, v=rng.uniform(size=shape) * 1e-6, t=5,
                 lr=0.01, beta1=0.9, beta2=0.999, eps=1e-3)
    return [first, later]


def _adam_reference(c):
    p = Parameter(c["param"].copy())
    opt = Adam([p], c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])
    opt.load_state_dict({"optimizer": "Adam", "step": c["t"] - 1,
                         "hyperparameters": {"lr": c["lr"], "betas": (c["beta1"], c["beta2"]),
                                             "eps": c["eps"]},
                         "param_shapes": [p.data.shape],
                         "state": {"exp_avg": [c["m"]], "exp_avg_sq": [c["v"]]}})
    p.grad[...] = c["grad"]
    opt.step()
    return {"param": p.data, "m": opt.state["exp_avg"][0], "v": opt.state["exp_avg_sq"][0]}


def _adam_variant(c, correct=True, eps_inside=False, t_shift=0):
    """The parameter after one step of Adam written with a given mistake."""
    b1, b2, t = c["beta1"], c["beta2"], c["t"] + t_shift
    m = b1 * c["m"] + (1 - b1) * c["grad"]
    v = b2 * c["v"] + (1 - b2) * c["grad"] ** 2
    m_hat, v_hat = (m / (1 - b1 ** t), v / (1 - b2 ** t)) if correct else (m, v)
    denominator = np.sqrt(v_hat + c["eps"]) if eps_inside else np.sqrt(v_hat) + c["eps"]
    return c["param"] - c["lr"] * m_hat / denominator


def _adam_step(param, grad, m, v, t, lr, beta1, beta2, eps):
    """param, grad, m, v: one shape -> the new (param, m, v)"""
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


ADAM = Exercise(
    11, "adam_step",
    (("adam_step", ("param", "grad", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
      ("param", "m", "v")),),
    _adam_cases, _adam_reference, {"adam_step": _adam_step}, order=("m", "v", "param"),
    detectors=(("adam_v_not_squared", "v",
                _is(lambda c: c["beta2"] * c["v"] + (1 - c["beta2"]) * c["grad"])),
               ("adam_no_bias_correction", "param",
                _is(lambda c: _adam_variant(c, correct=False))),
               ("adam_eps_inside_sqrt", "param", _is(lambda c: _adam_variant(c, eps_inside=True))),
               ("adam_step_count_off_by_one", "param",
                _is(lambda c: _adam_variant(c, t_shift=1))),
               ("adam_wrong_direction", "param",
                lambda c, got, want: close(got - c["param"], c["param"] - want))))


# ---------------------------------------------------------------------------------------------
# 12. D* for two Gaussians

def _dstar_cases(rng):
    return [dict(x=np.linspace(-5, 5, 41), mu_data=0.5, sigma_data=0.7, mu_g=-1.0, sigma_g=1.5)]


def _dstar_reference(c):
    p_data = densities.gaussian_pdf(c["x"], c["mu_data"], c["sigma_data"])
    p_g = densities.gaussian_pdf(c["x"], c["mu_g"], c["sigma_g"])
    return {"d_star": densities.optimal_discriminator(p_data, p_g)}


def _dstar_variant(c, pdf):
    p_data, p_g = pdf(c["x"], c["mu_data"], c["sigma_data"]), pdf(c["x"], c["mu_g"], c["sigma_g"])
    return p_data / (p_data + p_g)


def _dstar(x, mu_data, sigma_data, mu_g, sigma_g):
    """x: (K,) -> D*(x): (K,)"""
    def pdf(mu, sigma):
        return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    return pdf(mu_data, sigma_data) / (pdf(mu_data, sigma_data) + pdf(mu_g, sigma_g))


def _unnormalised_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2)


def _pdf_of_variance(x, mu, sigma):
    return densities.gaussian_pdf(x, mu, math.sqrt(sigma))


OPTIMAL_D = Exercise(
    12, "optimal_discriminator",
    (("d_star", ("x", "mu_data", "sigma_data", "mu_g", "sigma_g"), ("d_star",)),),
    _dstar_cases, _dstar_reference, {"d_star": _dstar}, tolerance=1e-6,
    detectors=(("d_star_swapped", "d_star", _is(lambda c: 1 - _dstar_reference(c)["d_star"])),
               ("gaussian_missing_normaliser", "d_star",
                _is(lambda c: _dstar_variant(c, _unnormalised_pdf))),
               ("gaussian_variance_as_std", "d_star",
                _is(lambda c: _dstar_variant(c, _pdf_of_variance)))))


# ---------------------------------------------------------------------------------------------
# 13. V(D*, G) = -log 4 + 2 JSD, on a grid

def _value_cases(rng):
    dx = 0.02
    x = np.arange(-10, 10, dx) + dx / 2                          # cell centres
    gaussians = dict(p_data=densities.gaussian_pdf(x, 0.0, 1.0),
                     p_g=densities.gaussian_pdf(x, 1.5, 0.8), dx=dx)
    uniforms = dict(p_data=((x > 0) & (x < 2)) / 2.0, p_g=((x > 1) & (x < 3)) / 2.0, dx=dx)
    return [gaussians, uniforms]


def _value_reference(c):
    jsd = metrics.jensen_shannon(c["p_data"], c["p_g"], c["dx"])
    return {"jsd": jsd, "value": -math.log(4) + 2 * jsd}


def _ratio(factor):
    """A detector: the learner's answer is the reference times ``factor(case)``."""
    return lambda c, got, want: close(got, want * factor(c))


def _nan_at_zero(c, got, want):
    return bool(not np.isfinite(got).all() and ((c["p_data"] == 0) | (c["p_g"] == 0)).any())


def _plogq(p, q):
    """p log q, with 0 log 0 = 0."""
    return np.where(p > 0, p * np.log(np.where(p > 0, q, 1.0)), 0.0)


def _jsd(p_data, p_g, dx):
    """p_data, p_g: (K,) densities on a grid of step dx -> JSD in nats"""
    m = (p_data + p_g) / 2
    kl_pm = (_plogq(p_data, p_data) - _plogq(p_data, m)).sum() * dx
    kl_qm = (_plogq(p_g, p_g) - _plogq(p_g, m)).sum() * dx
    return 0.5 * (kl_pm + kl_qm)


def _value_at_optimum(p_data, p_g, dx):
    """p_data, p_g: (K,) -> V(D*, G) = sum of p_data log D* + p_g log(1 - D*), times dx"""
    total = p_data + p_g
    safe = np.where(total > 0, total, 1.0)
    return ((_plogq(p_data, p_data / safe) + _plogq(p_g, p_g / safe)).sum() * dx)


VALUE_AT_OPTIMUM = Exercise(
    13, "value_at_optimum",
    (("jensen_shannon", ("p_data", "p_g", "dx"), ("jsd",)),
     ("value_at_optimum", ("p_data", "p_g", "dx"), ("value",))),
    _value_cases, _value_reference,
    {"jensen_shannon": _jsd, "value_at_optimum": _value_at_optimum}, tolerance=1e-6,
    detectors=(("zero_density_nan", "jsd", _nan_at_zero),
               ("missing_dx", "jsd", _ratio(lambda c: 1 / c["dx"])),
               ("log_base_2", "jsd", _ratio(lambda c: 1 / math.log(2))),
               ("jsd_missing_half", "jsd", _ratio(lambda c: 2.0)),
               ("zero_density_nan", "value", _nan_at_zero),
               ("missing_dx", "value", _ratio(lambda c: 1 / c["dx"])),
               ("log_base_2", "value", _ratio(lambda c: 1 / math.log(2)))))


# ---------------------------------------------------------------------------------------------
# 14. The Dirac-GAN's vector field

def _dirac_cases(rng):
    theta, psi = rng.uniform(-2, 2, size=6), rng.uniform(-2, 2, size=6)
    return [dict(theta=theta, psi=psi, objective=o) for o in ("minimax", "non-saturating")]


def _dirac_reference(c):
    v_theta, v_psi = dirac.dirac_field(c["theta"], c["psi"], c["objective"])
    return {"v_theta": v_theta, "v_psi": v_psi}


def _dirac_other_loss(c):
    other = "non-saturating" if c["objective"] == "minimax" else "minimax"
    return dirac.dirac_field(c["theta"], c["psi"], other)[0]


def _dirac_swapped(c, got, want):
    return close(got, _dirac_reference(c)["v_psi"])


def _dirac_field(theta, psi, objective):
    """theta, psi: (K,) -> (v_theta, v_psi): (K,) each, minus the players' gradients"""
    s = _sigmoid(theta * psi if objective == "minimax" else -theta * psi)
    return s * psi, -_sigmoid(theta * psi) * theta


DIRAC = Exercise(
    14, "dirac_field", (("vector_field", ("theta", "psi", "objective"), ("v_theta", "v_psi")),),
    _dirac_cases, _dirac_reference, {"vector_field": _dirac_field}, tolerance=1e-6,
    detectors=(("field_components_swapped", "v_theta", _dirac_swapped),
               ("field_wrong_generator_loss", "v_theta", _is(_dirac_other_loss)),
               ("field_is_gradient", "v_theta", _sign_flipped),
               ("field_is_gradient", "v_psi", _sign_flipped)))


# ---------------------------------------------------------------------------------------------
# 15. The Frechet distance of two Gaussians

def _spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def _frechet_cases(rng):
    return [dict(mu1=rng.standard_normal(4), sigma1=_spd(rng, 4), mu2=rng.standard_normal(4),
                 sigma2=_spd(rng, 4))]


def _frechet_reference(c):
    return {"distance": metrics.frechet_distance(c["mu1"], c["sigma1"], c["mu2"], c["sigma2"])}


def _sqrtm(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def _frechet_variant(c, trace_sqrt, factor=2.0, squared=True):
    diff = np.linalg.norm(c["mu1"] - c["mu2"])
    return ((diff ** 2 if squared else diff) + np.trace(c["sigma1"]) + np.trace(c["sigma2"])
            - factor * trace_sqrt(c["sigma1"], c["sigma2"]))


def _trace_sqrt(s1, s2):
    r = _sqrtm(s1)
    return np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)).sum()


def _frechet(mu1, sigma1, mu2, sigma2):
    """mu: (D,), sigma: (D, D) -> squared Frechet distance"""
    diff = mu1 - mu2
    return diff @ diff + np.trace(sigma1 + sigma2) - 2 * _trace_sqrt(sigma1, sigma2)


FRECHET = Exercise(
    15, "frechet_distance",
    (("frechet_distance", ("mu1", "sigma1", "mu2", "sigma2"), ("distance",)),),
    _frechet_cases, _frechet_reference, {"frechet_distance": _frechet}, tolerance=1e-6,
    detectors=(("frechet_product_of_square_roots", "distance", _is(lambda c: _frechet_variant(
                    c, lambda s1, s2: np.trace(_sqrtm(s1) @ _sqrtm(s2))))),
               ("frechet_elementwise_sqrt", "distance", _is(lambda c: _frechet_variant(
                    c, lambda s1, s2: np.sqrt(np.diag(s1 @ s2)).sum()))),
               ("frechet_missing_factor_2", "distance",
                _is(lambda c: _frechet_variant(c, _trace_sqrt, factor=1.0))),
               ("frechet_mean_not_squared", "distance",
                _is(lambda c: _frechet_variant(c, _trace_sqrt, squared=False)))))


# ---------------------------------------------------------------------------------------------
# 16. Mode coverage: the high-quality test

def _mode_cases(rng):
    centres = np.array([[math.cos(a), math.sin(a)] for a in np.arange(8) * math.pi / 4])
    std, n = 0.05, 60
    which = rng.integers(0, 8, size=n)
    which[:4] = 3                                       # one mode clearly favoured
    angle = rng.uniform(0, 2 * math.pi, size=n)
    radius = rng.uniform(0.0, 0.6, size=n)              # 3 std = 0.15: about a quarter inside
    radius[np.abs(radius - 3 * std) < 0.01] += 0.02     # none on the boundary
    samples = centres[which] + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
    return [dict(samples=samples, centres=centres, std=std, num_std=3.0)]


def _mode_reference(c):
    full = metrics.mode_coverage(c["samples"], c["centres"], c["std"], c["num_std"])
    mask = [metrics.mode_coverage(s[None], c["centres"], c["std"], c["num_std"])
            ["high_quality_fraction"] == 1.0 for s in c["samples"]]
    return {"high_quality": np.array(mask), "counts": full["counts"]}


def _mode_distances(c):
    d = np.linalg.norm(c["samples"][:, None] - c["centres"][None], axis=2)      # (N, M)
    return d.min(axis=1), d.argmin(axis=1)


def _mode_squared_distance(c, got, want):
    return np.array_equal(got, _mode_distances(c)[0] ** 2 <= c["num_std"] * c["std"])


def _mode_variance(c, got, want):
    return np.array_equal(got, _mode_distances(c)[0] <= c["num_std"] * c["std"] ** 2)


def _mode_all_counts(c, got, want):
    return np.array_equal(got, np.bincount(_mode_distances(c)[1], minlength=len(c["centres"])))


def _high_quality(samples, centres, std, num_std):
    """samples: (N, 2), centres: (M, 2) -> mask: (N,) bool, counts: (M,) int"""
    d = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)       # (N, M)
    good = d.min(axis=1) <= num_std * std
    return good, np.bincount(d.argmin(axis=1)[good], minlength=len(centres))


MODE_COVERAGE = Exercise(
    16, "mode_coverage",
    (("high_quality", ("samples", "centres", "std", "num_std"), ("high_quality", "counts")),),
    _mode_cases, _mode_reference, {"high_quality": _high_quality},
    detectors=(("squared_distance_threshold", "high_quality", _mode_squared_distance),
               ("variance_threshold", "high_quality", _mode_variance),
               ("counts_include_low_quality", "counts", _mode_all_counts)))


# ---------------------------------------------------------------------------------------------
# 17. Packing

def _pack_cases(rng):
    n, f, m = 6, 2, 3
    return [dict(x=rng.standard_normal((n, f)), m=m, grad_y=rng.standard_normal((n // m, m * f)),
                 n=n)]


def _pack_reference(c):
    return _layer(nn.Pack(c["m"]), c, {})


def _pack_strided(c):
    x, m = c["x"], c["m"]
    n, f = x.shape
    return x.reshape(m, n // m, f).transpose(1, 0, 2).reshape(n // m, m * f)


def _pack_interleaved(c):
    x, m = c["x"], c["m"]
    n, f = x.shape
    return x.reshape(n // m, m, f).transpose(0, 2, 1).reshape(n // m, m * f)


def _pack_forward(x, m):
    """x: (N, F) -> (N // m, m F)"""
    return x.reshape(x.shape[0] // m, m * x.shape[1])


def _pack_backward(x, m, grad_y):
    """grad_y: (N // m, m F) -> grad_x: (N, F)"""
    return grad_y.reshape(x.shape)


PACK = Exercise(
    17, "pack", (("forward", ("x", "m"), ("y",)), ("backward", ("x", "m", "grad_y"), ("grad_x",))),
    _pack_cases, _pack_reference, {"forward": _pack_forward, "backward": _pack_backward},
    gradients={"grad_x": "x"},
    detectors=(("pack_strided_groups", "y", _is(_pack_strided)),
               ("pack_interleaved_features", "y", _is(_pack_interleaved))))


# ---------------------------------------------------------------------------------------------
# The catalogue, in chapter order of the layers, the losses, the optimizer and the theory

EXERCISES = (DENSE, TANH, LEAKY_RELU, SIGMOID, BATCHNORM, DROPOUT, CONV2D, CONV_TRANSPOSE2D, BCE,
             NONSATURATING, ADAM, OPTIMAL_D, VALUE_AT_OPTIMUM, DIRAC, FRECHET, MODE_COVERAGE, PACK)

BY_NAME = {ex.name: ex for ex in EXERCISES}
