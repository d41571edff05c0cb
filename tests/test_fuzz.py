"""Fuzzing the layers' input checks: a few hundred random (layer, input) pairs.

Every pair must either compute a result of the documented shape -- finite, with a finite input
gradient of the input's shape -- or raise the documented error: ValueError for a shape the layer
cannot take (the message naming the layer and the actual shape), TypeError for an input that is
not a float32/float64 array of the backend (the message naming the layer). Never another
exception (IndexError, broadcasting errors, ZeroDivisionError), never a NaN.

Each layer comes with an independent oracle: the output shape its docstring promises for an
input shape, or None where the input is invalid. The cases are drawn from a fixed seed, so a
failure names a reproducible case.
"""
import math
import warnings

import numpy as np
import pytest

from minigan import backend as B
from minigan.dirac import DiracGenerator
from minigan.nn.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from minigan.nn.conv import Conv2d, ConvTranspose2d
from minigan.nn.dense import Dense
from minigan.nn.dropout import Dropout
from minigan.nn.minibatch import MinibatchStdDev
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d, BatchNorm2d
from minigan.nn.shape import Flatten, Reshape
from minigan.nn.spectral import SpectralNorm

NUM_CASES = 300
SIZES = (0, 1, 2, 3, 4, 5, 7)


# ---------------------------------------------------------------------------------------------
# Layers and their documented shapes. Each maker draws a layer and returns
# (layer, oracle, typical input shape); oracle(shape) -> output shape, or None if invalid.

def _nonempty(shape) -> bool:
    return len(shape) >= 1 and all(s >= 1 for s in shape)


def make_dense(rng):
    i, o = (int(v) for v in rng.integers(1, 6, size=2))
    return Dense(i, o), lambda s: (s[0], o) if len(s) == 2 and s[1] == i else None, (3, i)


def make_conv(rng):
    c_in, c_out, k, stride = (int(v) for v in rng.integers(1, 4, size=4))
    padding = int(rng.integers(0, 3))
    layer = Conv2d(c_in, c_out, k, stride=stride, padding=padding)

    def oracle(s):
        if len(s) != 4 or s[1] != c_in or min(s[2], s[3]) + 2 * padding < k:
            return None
        return (s[0], c_out, (s[2] + 2 * padding - k) // stride + 1,
                (s[3] + 2 * padding - k) // stride + 1)
    return layer, oracle, (2, c_in, 5, 4)


def make_conv_transpose(rng):
    c_in, c_out, k, stride = (int(v) for v in rng.integers(1, 4, size=4))
    padding, output_padding = int(rng.integers(0, 3)), int(rng.integers(0, stride))
    layer = ConvTranspose2d(c_in, c_out, k, stride=stride, padding=padding,
                            output_padding=output_padding)

    def oracle(s):
        if len(s) != 4 or s[1] != c_in:
            return None
        h, w = ((d - 1) * stride - 2 * padding + k + output_padding for d in s[2:])
        return (s[0], c_out, h, w) if h >= 1 and w >= 1 else None
    return layer, oracle, (2, c_in, 3, 4)


def make_batchnorm(rng):
    features = int(rng.integers(1, 4))
    two_d, training = bool(rng.random() < 0.5), bool(rng.random() < 0.7)
    layer = (BatchNorm2d if two_d else BatchNorm1d)(features)
    layer.train(training)

    def oracle(s):
        if len(s) != (4 if two_d else 2) or s[1] != features:
            return None
        values_per_channel = s[0] * math.prod(s[2:])
        return s if values_per_channel > 1 or not training else None
    return layer, oracle, (3, features, 2, 2) if two_d else (3, features)


def make_elementwise(rng):
    layer = [ReLU(), LeakyReLU(0.2), LeakyReLU(1.5), Tanh(), Sigmoid(), Dropout(0.5),
             Dropout(0.0)][int(rng.integers(0, 7))]
    if rng.random() < 0.3:
        layer.eval()
    return layer, lambda s: s if len(s) >= 1 else None, (3, 2)


def make_flatten(rng):
    return Flatten(), lambda s: (s[0], math.prod(s[1:])) if len(s) >= 2 else None, (2, 3, 2)


def make_reshape(rng):
    target = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 4))))
    size = math.prod(target)
    return (Reshape(*target), lambda s: (s[0],) + target if len(s) == 2 and s[1] == size
            else None, (2, size))


def make_minibatch_stddev(rng):
    def oracle(s):
        if len(s) not in (2, 4) or s[0] < 2:
            return None
        return (s[0], s[1] + 1) + tuple(s[2:])
    return MinibatchStdDev(), oracle, (3, 2, 2, 2) if rng.random() < 0.5 else (3, 4)


def make_spectral(rng):
    inner, oracle, typical = (make_dense if rng.random() < 0.5 else make_conv)(rng)
    return SpectralNorm(inner), oracle, typical


def make_sequential(rng):
    i, h, o = (int(v) for v in rng.integers(1, 5, size=3))
    model = Sequential(Dense(i, h), LeakyReLU(0.2), Dense(h, 2 * o), Reshape(2, o), Tanh())
    return model, lambda s: (s[0], 2, o) if len(s) == 2 and s[1] == i else None, (3, i)


def make_dirac(rng):
    return DiracGenerator(0.5), lambda s: (s[0], 1) if len(s) >= 1 else None, (4, 1)


MAKERS = (make_dense, make_conv, make_conv_transpose, make_batchnorm, make_elementwise,
          make_flatten, make_reshape, make_minibatch_stddev, make_spectral, make_sequential,
          make_dirac)


# ---------------------------------------------------------------------------------------------
# Inputs

def random_shape(rng, typical) -> tuple:
    """Half the time the layer's typical shape with one axis changed or dropped, else random."""
    if rng.random() < 0.5:
        shape = list(typical)
        r = rng.random()
        if r < 0.6:
            shape[int(rng.integers(0, len(shape)))] = int(rng.choice(SIZES))
        elif r < 0.8:
            shape.pop(int(rng.integers(0, len(shape))))
        else:
            shape.append(int(rng.choice(SIZES[1:])))
        return tuple(shape)
    return tuple(int(rng.choice(SIZES)) for _ in range(int(rng.integers(0, 6))))


def random_input(rng, shape):
    """(x, kind): a float array most of the time; sometimes a dtype or type a layer must refuse."""
    values = rng.standard_normal(shape)
    r = rng.random()
    if r < 0.65:
        return B.asarray(values.astype(np.float32)), "float"
    if r < 0.75:
        return B.asarray(values.astype(np.float64)), "float"
    if r < 0.82:
        return B.xp.asarray(values.astype(np.float16)), "refused"
    if r < 0.89:
        return B.xp.asarray((values * 3).astype(np.int64)), "refused"
    if r < 0.93:
        return B.xp.asarray(values > 0), "refused"
    if r < 0.97:
        return B.xp.asarray(values.astype(np.complex64)), "refused"
    return values.astype(np.float32).tolist(), "refused"


def cases():
    rng = np.random.default_rng(2024)
    for index in range(NUM_CASES):
        maker = MAKERS[index % len(MAKERS)]
        yield index, maker, int(rng.integers(0, 2**31))


# ---------------------------------------------------------------------------------------------

def layer_names(layer) -> list:
    """Text an error of this layer may use to name it: its repr, or its wrapped layer's."""
    if isinstance(layer, Sequential):              # "Sequential layer 0: Dense(3->4) ..."
        return [f"Sequential layer {i}: {inner!r}" for i, inner in enumerate(layer.layers)]
    if isinstance(layer, SpectralNorm):
        return [repr(layer), repr(layer.layer)]
    return [repr(layer)]


@pytest.mark.parametrize("index, maker, seed", list(cases()),
                         ids=[f"{i}-{m.__name__[5:]}" for i, m, _ in cases()])
def test_random_layer_and_input(index, maker, seed):
    rng = np.random.default_rng(seed)
    B.seed(seed)
    layer, oracle, typical = maker(rng)
    shape = random_shape(rng, typical)
    x, kind = random_input(rng, shape)
    expected = oracle(shape) if _nonempty(shape) else None
    case = f"{layer!r} on {kind} input of shape {shape}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # a RuntimeWarning (0/0, overflow) is a failure
        warnings.filterwarnings("ignore", r".* encountered in matmul", RuntimeWarning)  # pytest.ini
        if kind == "refused":
            with pytest.raises(TypeError) as info:
                layer.forward(x)
            assert any(name in str(info.value) for name in layer_names(layer)), case
            return
        if expected is None:
            with pytest.raises(ValueError) as info:
                layer.forward(x)
            message = str(info.value)
            assert any(name in message for name in layer_names(layer)), (case, message)
            if not isinstance(layer, Sequential):      # a later layer sees another shape
                assert str(tuple(shape)) in message, (case, message)
            return
        y = layer.forward(x)
        assert tuple(y.shape) == expected, case
        assert bool(B.xp.isfinite(y).all()), case
        dy = B.asarray(rng.standard_normal(expected)).astype(y.dtype)
        dx = layer.backward(dy)
        if isinstance(layer, DiracGenerator):      # the noise gets no gradient
            assert dx is None
        else:
            assert tuple(dx.shape) == tuple(shape), case
            assert bool(B.xp.isfinite(dx).all()), case
        for name, p in layer.named_parameters():
            assert bool(B.xp.isfinite(p.grad).all()), (case, name)


def test_the_cases_cover_every_outcome():
    """The random draw exercises valid inputs, shape errors and dtype refusals of every layer."""
    seen = {}
    for _, maker, seed in cases():
        rng = np.random.default_rng(seed)
        B.seed(seed)
        layer, oracle, typical = maker(rng)
        shape = random_shape(rng, typical)
        _, kind = random_input(rng, shape)
        outcome = ("refused" if kind == "refused" else
                   "computed" if _nonempty(shape) and oracle(shape) is not None else "invalid")
        seen.setdefault(maker.__name__, set()).add(outcome)
    assert all(outcomes == {"refused", "computed", "invalid"} for outcomes in seen.values()), seen


# ---------------------------------------------------------------------------------------------
# Backward: every layer checks dy against its forward's output before touching a gradient.
# A table of (layer, valid input shape); each row is run through the same bad calls.

from minigan.nn.maxout import Maxout  # noqa: E402
from minigan.nn.pack import Pack  # noqa: E402

BACKWARD_TABLE = (
    ("Dense", lambda: Dense(3, 4), (5, 3)),
    ("Conv2d", lambda: Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 7, 7)),
    ("ConvTranspose2d", lambda: ConvTranspose2d(2, 3, 4, stride=2, padding=1), (2, 2, 3, 3)),
    ("ConvTranspose2d-op", lambda: ConvTranspose2d(2, 3, 3, stride=2, padding=1,
                                                   output_padding=1), (2, 2, 3, 3)),
    ("BatchNorm1d", lambda: BatchNorm1d(4), (5, 4)),
    ("BatchNorm1d-eval", lambda: BatchNorm1d(4).eval(), (5, 4)),
    ("BatchNorm2d", lambda: BatchNorm2d(3), (2, 3, 4, 4)),
    ("ReLU", ReLU, (2, 3)),
    ("LeakyReLU", lambda: LeakyReLU(0.2), (2, 3)),
    ("LeakyReLU-steep", lambda: LeakyReLU(1.5), (2, 3)),
    ("Tanh", Tanh, (2, 3, 2, 2)),
    ("Sigmoid", Sigmoid, (2, 3)),
    ("Dropout", lambda: Dropout(0.5), (4, 3)),
    ("Dropout-eval", lambda: Dropout(0.5).eval(), (4, 3)),
    ("Flatten", Flatten, (2, 3, 2, 2)),
    ("Reshape", lambda: Reshape(3, 2, 2), (2, 12)),
    ("MinibatchStdDev", MinibatchStdDev, (4, 3)),
    ("MinibatchStdDev-images", MinibatchStdDev, (3, 2, 4, 4)),
    ("SpectralNorm-Dense", lambda: SpectralNorm(Dense(3, 4)), (5, 3)),
    ("SpectralNorm-Conv2d", lambda: SpectralNorm(Conv2d(2, 3, 3)), (2, 2, 5, 5)),
    ("Maxout", lambda: Maxout(3, 4, pieces=3), (5, 3)),
    ("Pack", lambda: Pack(2), (6, 3)),
    ("Sequential", lambda: Sequential(Dense(3, 4), LeakyReLU(0.2), Dense(4, 2)), (5, 3)),
    ("DiracGenerator", lambda: DiracGenerator(0.5), (4, 2)),
)


def wrong_dy_shapes(shape) -> list:
    """Shapes NumPy would broadcast against, or accept by reshape/off-by-one, but not `shape`."""
    n, rest = shape[0], shape[1:]
    candidates = [(n, 1) + rest[1:], (1,) + rest, rest, shape + (1,), (n + 1,) + rest,
                  shape[:-1] + (shape[-1] + 1,), shape[:-1] + (shape[-1] - 1,),
                  tuple(reversed(shape)), (n, math.prod(rest))]
    if len(shape) == 4:                         # a transposed convolution's off-by-one pixel
        candidates += [shape[:2] + (shape[2] + 1, shape[3] + 1),
                       shape[:2] + (shape[2] - 1, shape[3] - 1)]
    return [s for s in dict.fromkeys(candidates) if s != shape and all(d >= 1 for d in s)]


def grads(layer) -> dict:
    return {name: B.to_numpy(p.grad).copy() for name, p in layer.named_parameters()}


def expected_name(layer) -> str:
    if isinstance(layer, Sequential):
        return f"Sequential layer {len(layer) - 1}: {layer.layers[-1]!r}"
    return repr(layer)


@pytest.mark.parametrize("name, make, shape", BACKWARD_TABLE, ids=[r[0] for r in BACKWARD_TABLE])
def test_backward_refuses_a_dy_that_is_not_its_outputs_gradient(name, make, shape):
    B.seed(1)
    layer = make()
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward"):
        layer.backward(B.asarray(np.ones(shape)))                 # out of order
    x = B.asarray(np.random.default_rng(0).standard_normal(shape) + 0.1)
    y = layer.forward(x)
    dy = B.asarray(np.random.default_rng(1).standard_normal(tuple(y.shape)))
    dx = layer.backward(dy)
    good_dx, good_grads = None if dx is None else B.to_numpy(dx).copy(), grads(layer)
    layer.zero_grad()
    untouched = grads(layer)
    bad = [(B.asarray(np.ones(s)), ValueError, str(s)) for s in wrong_dy_shapes(tuple(y.shape))]
    bad += [(B.xp.ones(y.shape, dtype=np.int64), TypeError, "int64"),
            (B.xp.ones(y.shape, dtype=np.float16), TypeError, "float16"),
            (B.xp.ones(y.shape, dtype=bool), TypeError, "bool"),
            (np.ones(y.shape).tolist(), TypeError, "list"),
            (None, TypeError, "NoneType")]
    assert len(bad) >= 9
    for bad_dy, error, shown in bad:
        with pytest.raises(error) as info:
            layer.backward(bad_dy)
        message = str(info.value)
        assert message.startswith(expected_name(layer)), message
        assert shown in message, message
        if error is ValueError:
            assert str(tuple(y.shape)) in message, message
        after = grads(layer)
        for key in untouched:                  # raised before touching any gradient
            np.testing.assert_array_equal(after[key], untouched[key], err_msg=f"{key}: {message}")
    dx = layer.backward(dy)                    # the cached forward is intact
    if good_dx is not None:
        np.testing.assert_array_equal(B.to_numpy(dx), good_dx)
    for key, value in grads(layer).items():
        np.testing.assert_array_equal(value, good_grads[key], err_msg=key)
    # a non-finite input is not swallowed by forward (DiracGenerator ignores its noise's values)
    if name != "DiracGenerator":
        nan_x = B.to_numpy(x).copy()
        nan_x.flat[0] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y_nan = layer.forward(B.asarray(nan_x))
        assert not bool(B.xp.isfinite(y_nan).all()), name
        layer.forward(x)
    # a non-finite dy is not swallowed: it reaches dx or a parameter's gradient
    layer.zero_grad()
    nan_dy = B.to_numpy(dy).copy()
    nan_dy.flat[0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dx = layer.backward(B.asarray(nan_dy))
    reached = [] if dx is None else [dx]
    reached += [p.grad for p in layer.parameters()]
    assert any(not bool(B.xp.isfinite(a).all()) for a in reached), name
