"""Optimizers: first steps against hand computation, state round trips, dtypes, validation."""
import math
import pickle

import numpy as np
import pytest

from minigan import backend as B
from minigan.nn.dense import Dense
from minigan.nn.module import Parameter
from minigan.optim import SGD, Adam

GRADS = [[0.5, -1.0, 2.0], [1.0, 1.0, -0.25], [-0.5, 0.0, 3.0]]     # one row per step


def param64(values):
    with B.precision("float64"):
        return Parameter(B.asarray(values))


def run(opt, p, grads):
    for g in grads:
        opt.zero_grad()
        p.grad += B.asarray(g, dtype=p.data.dtype)
        opt.step()
    return B.to_numpy(p.data)


# ---------------------------------------------------------------------------------------------
# First steps by hand

def test_sgd_first_steps_by_hand():
    p = param64([1.0, -2.0, 0.5])
    opt = SGD([p], lr=0.1)
    assert run(opt, p, GRADS[:1]).tolist() == pytest.approx([0.95, -1.9, 0.3])
    assert run(opt, p, GRADS[1:2]).tolist() == pytest.approx([0.85, -2.0, 0.325])
    assert run(opt, p, GRADS[2:3]).tolist() == pytest.approx([0.9, -2.0, 0.025])
    assert opt.step_count == 3


def test_sgd_momentum_first_steps_by_hand():
    # v1 = g1;  v2 = 0.9 v1 + g2;  v3 = 0.9 v2 + g3;  p -= 0.1 v each step
    p = param64([1.0, -2.0, 0.5])
    opt = SGD([p], lr=0.1, momentum=0.9)
    v1 = [0.5, -1.0, 2.0]
    v2 = [0.9 * 0.5 + 1.0, 0.9 * -1.0 + 1.0, 0.9 * 2.0 - 0.25]          # [1.45, 0.1, 1.55]
    v3 = [0.9 * 1.45 - 0.5, 0.9 * 0.1 + 0.0, 0.9 * 1.55 + 3.0]          # [0.805, 0.09, 4.395]
    expected = np.array([1.0, -2.0, 0.5])
    for g, v in zip(GRADS, (v1, v2, v3)):
        expected = expected - 0.1 * np.array(v)
        assert run(opt, p, [g]).tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    assert expected.tolist() == pytest.approx([1.0 - 0.2755, -2.0 + 0.081, 0.5 - 0.7945])


def test_sgd_weight_decay_adds_l2_gradient():
    # g' = g + wd p: p = 2, g = 1, wd = 0.5, lr = 0.1  ->  p = 2 - 0.1 (1 + 1) = 1.8
    p = param64([2.0])
    assert run(SGD([p], lr=0.1, weight_decay=0.5), p, [[1.0]]).tolist() == pytest.approx([1.8])


def test_adam_first_three_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.5, 0.999, 1e-8
    p0 = [1.0, -2.0, 0.5]
    p = param64(p0)
    opt = Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    # Element by element, in plain Python floats.
    expected, m, v = list(p0), [0.0] * 3, [0.0] * 3
    for t, g in enumerate(GRADS, start=1):
        for i in range(3):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            expected[i] -= lr * m_hat / (math.sqrt(v_hat) + eps)
        assert run(opt, p, [g]).tolist() == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # The first step is lr * sign(g) (m_hat = g, v_hat = g^2), whatever the gradient's size.
    q = param64([0.0, 0.0])
    run(Adam([q], lr=lr), q, [[1e-3, -50.0]])
    np.testing.assert_allclose(B.to_numpy(q.data), [-lr, lr], rtol=1e-5)
    # A zero gradient with zero moments moves nothing (eps keeps 0/0 away from NaN).
    z = param64([0.0])
    assert run(Adam([z], lr=lr), z, [[0.0]]).tolist() == [0.0]


def test_adam_defaults_are_dcgans():
    opt = Adam([param64([0.0])])
    assert opt.lr == 2e-4 and opt.betas == (0.5, 0.999) and opt.eps == 1e-8


def test_gradients_are_read_not_changed_and_zero_grad_clears_them():
    p = param64([1.0, 2.0])
    opt = Adam([p], lr=0.1)
    p.grad += B.asarray([1.0, -1.0], dtype=p.data.dtype)
    opt.step()
    assert B.to_numpy(p.grad).tolist() == [1.0, -1.0]
    opt.zero_grad()
    assert not B.to_numpy(p.grad).any()


# ---------------------------------------------------------------------------------------------
# dtype

@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
                                  lambda ps: Adam(ps, lr=1e-3)])
def test_float32_stays_float32(make):
    layer = Dense(3, 2)
    opt = make(layer.parameters())
    x = B.randn(4, 3)
    for _ in range(2):
        opt.zero_grad()
        layer.backward(layer.forward(x))
        opt.step()
    for p in layer.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
    for buffers in opt.state.values():
        assert all(buf.dtype == np.float32 for buf in buffers)
    for buffers in opt.state_dict()["state"].values():
        assert all(buf.dtype == np.float32 for buf in buffers)


def test_float32_adam_tracks_float64_adam():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(10)]
    p32 = Parameter(B.asarray(w))
    p64 = param64(w)
    a32 = run(Adam([p32], lr=1e-2), p32, grads)
    a64 = run(Adam([p64], lr=1e-2), p64, grads)
    np.testing.assert_allclose(a32, a64, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# state_dict

@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.05),
                                  lambda ps: SGD(ps, lr=0.05, momentum=0.8),
                                  lambda ps: Adam(ps, lr=1e-2, betas=(0.6, 0.99), eps=1e-7)])
def test_state_dict_round_trip_continues_identically(make):
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal((3, 2)), rng.standard_normal(2)] for _ in range(5)]
    w, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    params_a = [Parameter(B.asarray(w)), Parameter(B.asarray(b))]
    opt_a = make(params_a)

    def steps(opt, params, gs):
        for g in gs:
            opt.zero_grad()
            for p, gi in zip(params, g):
                p.grad += B.asarray(gi)
            opt.step()

    steps(opt_a, params_a, grads[:2])
    state = pickle.loads(pickle.dumps(opt_a.state_dict()))      # survives serialisation
    for buffers in state["state"].values():
        assert all(type(buf) is np.ndarray for buf in buffers)
    assert state["step"] == 2

    params_b = [Parameter(B.asarray(B.to_numpy(p.data))) for p in params_a]
    opt_b = make(params_b)
    opt_b.lr = 123.0                                            # overwritten by the state
    opt_b.load_state_dict(state)
    assert opt_b.lr == opt_a.lr and opt_b.step_count == 2

    steps(opt_a, params_a, grads[2:])
    steps(opt_b, params_b, grads[2:])
    for pa, pb in zip(params_a, params_b):
        np.testing.assert_array_equal(B.to_numpy(pa.data), B.to_numpy(pb.data))


def test_state_dict_is_a_snapshot():
    p = param64([1.0])
    opt = Adam([p], lr=0.1)
    run(opt, p, [[1.0]])
    state = opt.state_dict()
    saved = state["state"]["exp_avg"][0].copy()
    run(opt, p, [[1.0]])
    np.testing.assert_array_equal(state["state"]["exp_avg"][0], saved)
    # and loading does not alias the dict's arrays either
    opt.load_state_dict(state)
    run(opt, p, [[1.0]])
    np.testing.assert_array_equal(state["state"]["exp_avg"][0], saved)


def test_load_state_dict_rejects_mismatches_and_changes_nothing():
    a = Adam([param64([1.0, 2.0]), param64([3.0])], lr=0.1)
    state = a.state_dict()
    other_shapes = Adam([param64([1.0, 2.0, 3.0]), param64([3.0])], lr=0.5)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(3,\) here but \(2,\)"):
        other_shapes.load_state_dict(state)
    assert other_shapes.lr == 0.5
    fewer = Adam([param64([1.0, 2.0])], lr=0.5)
    with pytest.raises(ValueError, match="for 2 parameter"):
        fewer.load_state_dict(state)
    with pytest.raises(ValueError, match="'Adam' optimizer"):
        SGD([param64([1.0, 2.0]), param64([3.0])], lr=0.1).load_state_dict(state)
    with pytest.raises(ValueError, match="not an optimizer state_dict"):
        a.load_state_dict({"exp_avg": []})
    with pytest.raises(ValueError, match="momentum"):
        SGD([param64([1.0])], lr=0.1).load_state_dict(
            SGD([param64([1.0])], lr=0.1, momentum=0.9).state_dict())


# ---------------------------------------------------------------------------------------------
# Validation

@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.0), lambda ps: SGD(ps, lr=-1.0), lambda ps: SGD(ps, lr=float("nan")),
    lambda ps: SGD(ps, lr=0.1, momentum=1.0), lambda ps: SGD(ps, lr=0.1, momentum=-0.1),
    lambda ps: SGD(ps, lr=0.1, weight_decay=-1.0),
    lambda ps: Adam(ps, lr=0.0), lambda ps: Adam(ps, betas=(1.0, 0.999)),
    lambda ps: Adam(ps, betas=(0.5,)), lambda ps: Adam(ps, eps=0.0),
])
def test_bad_hyperparameters_raise(make):
    with pytest.raises(ValueError):
        make([param64([1.0])])


def test_bad_parameter_lists_raise():
    layer = Dense(2, 2)
    with pytest.raises(TypeError, match="parameters()"):
        Adam(layer)
    with pytest.raises(ValueError, match="empty"):
        Adam([])
    with pytest.raises(TypeError, match="not a Parameter"):
        SGD([B.xp.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="more than once"):
        SGD(layer.parameters() * 2, lr=0.1)


def test_optimizer_updates_only_its_own_parameters():
    """An optimizer over G's parameters moves G and never touches D, though the backward pass
    through D left gradients in both (no "freeze D" needed)."""
    g_layer, d_layer = Dense(2, 2), Dense(2, 1)
    g_before = B.to_numpy(g_layer.W.data).copy()
    d_before = B.to_numpy(d_layer.W.data).copy()
    opt = Adam(g_layer.parameters(), lr=0.1)
    d_layer.forward(g_layer.forward(B.randn(3, 2)))
    g_layer.backward(d_layer.backward(B.xp.ones((3, 1), dtype=B.dtype())))
    assert B.to_numpy(d_layer.W.grad).any() and B.to_numpy(g_layer.W.grad).any()
    opt.step()
    assert np.abs(B.to_numpy(g_layer.W.data) - g_before).min() > 0.05      # every weight moved
    np.testing.assert_array_equal(B.to_numpy(d_layer.W.data), d_before)


# ---------------------------------------------------------------------------------------------
# Non-finite gradients are refused

from minigan.nn.activations import LeakyReLU  # noqa: E402
from minigan.nn.module import Module, Sequential  # noqa: E402
from minigan.optim import ClippedAdam, NonFiniteGradientError  # noqa: E402

OPTIMIZERS = {"sgd": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
              "adam": lambda ps: Adam(ps, lr=0.1),
              "clipped": lambda ps: ClippedAdam(ps, clip=0.5, lr=0.1)}


def _snapshot(model, opt):
    return ([B.to_numpy(p.data).copy() for p in model.parameters()],
            {k: [B.to_numpy(a).copy() for a in v] for k, v in opt.state.items()},
            opt.step_count)


def _assert_same(a, b):
    for x, y in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, y)
    for key in a[1]:
        for x, y in zip(a[1][key], b[1][key]):
            np.testing.assert_array_equal(x, y)
    assert a[2] == b[2]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS.keys())
def test_a_non_finite_gradient_is_refused_naming_the_parameter(make, bad):
    model = Sequential(Dense(3, 4), Dense(4, 2))
    opt = make(model.named_parameters("G."))
    run(opt, model[0].W, [np.ones((3, 4))])                    # a first, finite step
    before = _snapshot(model, opt)
    opt.zero_grad()
    model[1].b.grad[1] = bad
    with pytest.raises(NonFiniteGradientError, match=r"parameter 3 \(G\.layers\.1\.b\), shape "
                                                     r"\(2,\), holds 1 NaN or Inf value"):
        opt.step()
    _assert_same(before, _snapshot(model, opt))                # nothing changed
    model[1].b.grad[1] = 0.0
    opt.step()                                                 # a finite gradient goes on


def test_unnamed_parameters_are_named_by_position_and_shape():
    model = Sequential(Dense(3, 4), Dense(4, 2))
    opt = Adam(model.parameters())
    model[0].W.grad[0, 0] = np.nan
    with pytest.raises(NonFiniteGradientError, match=r"gradient of parameter 0, shape \(3, 4\)"):
        opt.step()


def test_huge_finite_gradients_are_not_refused():
    """The check's sum of squares overflows for |g| ~ 1e20; the gradient is finite, so the step
    goes ahead (the search for the culprit finds none)."""
    p = param64([1.0, 2.0])
    opt = SGD([p], lr=1e-300)
    p.grad[...] = B.asarray([1e200, -1e200], dtype=p.data.dtype)
    opt.step()
    np.testing.assert_allclose(B.to_numpy(p.data), [1.0 - 1e-100, 2.0 + 1e-100])


def test_check_finite_false_lets_nan_through():
    p = param64([1.0])
    opt = SGD([p], lr=0.1, check_finite=False)
    p.grad[...] = np.nan
    opt.step()
    assert np.isnan(B.to_numpy(p.data)).all()
    with pytest.raises(TypeError, match="check_finite must be True or False"):
        SGD([p], lr=0.1, check_finite="no")


def test_a_second_optimizer_over_the_same_parameters_leaves_the_first_checking():
    model = Dense(3, 2)
    first = Adam(model.parameters())
    second = SGD(model.parameters(), lr=0.1)                   # takes the gradients over
    for opt in (first, second):
        opt.zero_grad()
        model.W.grad[0, 1] = np.inf
        with pytest.raises(NonFiniteGradientError):
            opt.step()


class NaNInputGradient(Module):
    """Identity forward; backward sends NaN upstream (a stand-in for an overflow in D)."""

    def forward(self, x):
        return self._output(x)

    def backward(self, dy):
        self._check_dy(dy)
        return dy * np.nan


def test_training_reports_a_refused_generator_step_as_divergence():
    from minigan.gan import GAN, TrainingDiverged
    B.seed(0)
    G = Sequential(Dense(1, 4), LeakyReLU(0.2), Dense(4, 1))
    D = Sequential(NaNInputGradient(), Dense(1, 4), LeakyReLU(0.2), Dense(4, 1))
    gan = GAN(G, D, lambda n: B.randn(n, 1), latent_dim=1, batch_size=8)
    before = [B.to_numpy(p.data).copy() for p in G.parameters()]
    with pytest.raises(TrainingDiverged, match=r"iteration 1: the generator step produced NaN "
                                               r"or Inf \(Adam.step: the gradient of parameter 0 "
                                               r"\(G\.layers\.0\.W\)") as info:
        gan.train(3)
    assert info.value.player == "generator" and info.value.iteration == 1
    for p, old in zip(G.parameters(), before):                 # G was never stepped
        np.testing.assert_array_equal(B.to_numpy(p.data), old)


def test_a_non_finite_gradient_is_refused_on_the_device(fake):
    model = Dense(3, 2)
    opt = Adam(model.named_parameters())
    model.forward(B.randn(4, 3))
    model.backward(B.randn(4, 2))
    opt.step()
    model.b.grad[...] = B.xp.asarray(np.array([0.0, np.nan], dtype=np.float32))
    with pytest.raises(NonFiniteGradientError, match=r"parameter 1 \(b\)"):
        opt.step()
