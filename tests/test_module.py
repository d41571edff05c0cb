"""The Module / Sequential contract: parameter order, gradients, modes, state dicts, errors."""
import numpy as np
import pytest

from minigan import backend as B
from minigan.gradcheck import check_module
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.dense import Dense
from minigan.nn.dropout import Dropout
from minigan.nn.module import Module, Parameter, Sequential
from minigan.nn.norm import BatchNorm1d, BatchNorm2d
from minigan.nn.shape import Flatten, Reshape


def data(*shape, seed=1):
    return B.asarray(np.random.default_rng(seed).standard_normal(shape))


def small_model():
    return Sequential(Dense(3, 4), BatchNorm1d(4), LeakyReLU(0.2), Dropout(0.25), Dense(4, 2),
                      Tanh())


class TwoBranch(Module):
    """Parameters, a child module and a list of children, assigned in that order."""

    def __init__(self):
        super().__init__()
        self.scale = Parameter(B.xp.ones((2,), dtype=B.dtype()))
        self.body = Sequential(Dense(2, 3), BatchNorm1d(3))
        self.heads = [Dense(3, 1), Dense(3, 2, bias=False)]

    def forward(self, x):          # only its parameters matter here
        return x

    def backward(self, dout):
        return dout


def test_parameter_order_and_names():
    model = small_model()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.1.weight", "layers.1.bias",
                     "layers.4.W", "layers.4.b"]
    assert [p for p in model.parameters()] == [p for _, p in model.named_parameters()]
    assert model.parameters()[0] is model[0].W
    nested = TwoBranch()
    assert [n for n, _ in nested.named_parameters()] == [
        "scale", "body.layers.0.W", "body.layers.0.b", "body.layers.1.weight", "body.layers.1.bias",
        "heads.0.W", "heads.0.b", "heads.1.W"]
    assert [n for n, _ in nested.named_buffers()] == ["body.layers.1.running_mean",
                                                      "body.layers.1.running_var"]


def test_parameter_grad_matches_data():
    p = Parameter(B.xp.ones((3, 2), dtype=B.dtype()))
    assert p.grad.shape == (3, 2) and p.grad.dtype == np.float32 and not p.grad.any()
    assert p.shape == (3, 2)


def test_zero_grad_clears_every_gradient():
    model = small_model()
    y = model.forward(data(5, 3))
    model.backward(B.xp.ones_like(y))
    assert all(p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


def test_gradients_accumulate_over_backward_calls():
    with B.precision("float64"):
        model = small_model()
        x1, x2 = data(5, 3, seed=1), data(6, 3, seed=2)
        g1, g2 = data(5, 2, seed=3), data(6, 2, seed=4)
        singles = []
        for x, g in ((x1, g1), (x2, g2)):
            model.zero_grad()
            B.seed(0)
            model.forward(x)
            model.backward(g)
            singles.append([p.grad.copy() for p in model.parameters()])
        model.zero_grad()
        for x, g in ((x1, g1), (x2, g2)):                 # D on real, then D on fake
            B.seed(0)
            model.forward(x)
            model.backward(g)
        for p, a, b in zip(model.parameters(), *singles):
            np.testing.assert_allclose(B.to_numpy(p.grad), B.to_numpy(a + b), rtol=1e-12)


def test_train_and_eval_propagate_to_every_submodule():
    model = TwoBranch()
    modules = [model, model.body, *model.body.layers, *model.heads]
    assert all(m.training for m in modules)
    assert model.eval() is model
    assert not any(m.training for m in modules)
    model.train()
    assert all(m.training for m in modules)


def test_sequential_forward_and_backward_chain_the_layers():
    with B.precision("float64"):
        model = Sequential(Dense(4, 12), Reshape(3, 2, 2), BatchNorm2d(3), LeakyReLU(0.2),
                           Flatten(), Dense(12, 2), Tanh())
        assert len(model) == 7 and isinstance(model[2], BatchNorm2d)
        x = data(3, 4)
        y = x
        for layer in model.layers:
            y = layer.forward(y)
        np.testing.assert_array_equal(B.to_numpy(model.forward(x)), B.to_numpy(y))
        errors = check_module(model, x)
        assert max(errors.values()) < 1e-6, errors


def sgd_steps(model, steps=3):
    """A few training steps so parameters and BatchNorm buffers move away from their init."""
    for step in range(steps):
        y = model.forward(data(8, 3, seed=10 + step))
        model.zero_grad()
        model.backward(y)
        for p in model.parameters():
            p.data -= 0.1 * p.grad


def test_state_dict_round_trip_includes_batchnorm_buffers():
    B.seed(1)
    trained = small_model()
    sgd_steps(trained)
    state = trained.state_dict()
    assert set(state) == {n for n, _ in trained.named_parameters()} | {
        "layers.1.running_mean", "layers.1.running_var"}
    assert B.to_numpy(state["layers.1.running_var"]).std() > 0     # buffers really moved
    B.seed(2)
    fresh = small_model()
    fresh.load_state_dict(state)
    for (name, a), (_, b) in zip(trained.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(B.to_numpy(a), B.to_numpy(b), err_msg=name)
    x = data(4, 3, seed=5)
    trained.eval()
    fresh.eval()
    np.testing.assert_array_equal(B.to_numpy(trained.forward(x)), B.to_numpy(fresh.forward(x)))


def test_state_dict_holds_copies_and_loads_from_host_arrays():
    model = small_model()
    state = model.state_dict()
    before = B.to_numpy(state["layers.0.W"]).copy()
    model[0].W.data += 1.0
    model[1].running_mean += 1.0
    np.testing.assert_array_equal(B.to_numpy(state["layers.0.W"]), before)
    assert not state["layers.1.running_mean"].any()
    weights = model[0].W.data
    model.load_state_dict({k: B.to_numpy(v) for k, v in state.items()})   # e.g. read from a file
    assert model[0].W.data is weights                                     # written in place
    np.testing.assert_array_equal(B.to_numpy(model[0].W.data), before)
    assert not model[1].running_mean.any()


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update({"layers.4.W": np.zeros((5, 2), np.float32)}),
     r"'layers\.4\.W' has shape \(4, 2\) in this model but \(5, 2\) in the state"),
    (lambda s: s.update({"layers.1.running_var": np.zeros(3, np.float32)}),
     r"'layers\.1\.running_var' has shape \(4,\).*\(3,\)"),
    (lambda s: s.pop("layers.1.bias"), r"missing entry 'layers\.1\.bias'"),
    (lambda s: s.pop("layers.1.running_mean"), r"missing entry 'layers\.1\.running_mean'"),
    (lambda s: s.update({"layers.9.W": np.zeros(1, np.float32)}),
     r"unexpected entry 'layers\.9\.W'"),
])
def test_load_state_dict_rejects_mismatches_and_writes_nothing(edit, message):
    model = small_model()
    state = {k: B.to_numpy(v) + 1.0 for k, v in model.state_dict().items()}
    edit(state)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(B.to_numpy(value), B.to_numpy(before[name]), err_msg=name)


def test_sequential_errors_name_the_failing_position():
    model = Sequential(Dense(3, 4), LeakyReLU(), Dense(5, 2))
    with pytest.raises(ValueError, match=r"Sequential layer 2: Dense\(5->2\) expects input of "
                                         r"shape \(N, 5\), got \(2, 4\)"):
        model.forward(data(2, 3))
    with pytest.raises(TypeError, match=r"Sequential layer 0: Dense\(3->4\)"):
        model.forward(B.xp.ones((2, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="item 1 is int"):
        Sequential(Dense(3, 4), 5)
    with pytest.raises(RuntimeError, match="before forward"):
        Sequential(Dense(3, 4), LeakyReLU()).backward(data(2, 4))
    expected = "Sequential(\n  (0) Dense(3->4)\n  (1) Tanh()\n)"
    assert repr(Sequential(Dense(3, 4), Tanh())) == expected


def test_a_module_without_both_passes_cannot_be_built():
    class ForwardOnly(Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="ForwardOnly.*backward"):
        ForwardOnly()


def test_eval_mode_switches_every_layer_and_restores_the_previous_mode():
    model = small_model()
    with model.eval_mode() as inside:
        assert inside is model
        assert not any(layer.training for layer in model.layers)
    assert all(layer.training for layer in model.layers)
    model.eval()
    with model.eval_mode():
        pass
    assert not model.training                                        # was eval: stays eval
    model.train()
    with pytest.raises(RuntimeError, match="inside"):
        with model.eval_mode():
            raise RuntimeError("inside")
    assert all(layer.training for layer in model.layers)             # restored after an error
