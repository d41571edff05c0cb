"""Integrity: no code run from a data file, no half-applied step, loads that check every value,
misuse refused in one clear line.

    trial results under --out are JSON and arrays: a crafted pickle runs nothing, a foreign,
    empty, truncated or other trial's file is retrained with a line saying so
    a training iteration, an optimizer step and a load either complete or change nothing
    loads refuse NaN, values beyond float32, negative variances and second moments, negative
    counts, histories of different lengths, data orders that are not permutations, negative
    RNG states
    misuse that would train wrongly without a word is refused: a module twice in a Sequential,
    G and D the same, optimizers swapped or over another model, a replaced parameter,
    lr = nan, a dtype changed mid-run, a zero weight under SpectralNorm, a misspelt Dirac mode
    files: a killed save's temporary file is removed by the next save; temporary names stay
    within the file system's name limit; '' / None / NUL paths are refused
"""
import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

import resume_worker
from minigan import backend as B
from minigan import checkpoint, classifier, densities, metrics, plot, vae
from minigan import mode_collapse as mc
from minigan.data import toy
from minigan.data.digits import load_digits
from minigan.dirac import field_residual, step_map
from minigan.gan import GAN, TrainingDiverged
from minigan.losses import get_objective
from minigan.nn.activations import LeakyReLU
from minigan.nn.dense import Dense
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d
from minigan.nn.spectral import SpectralNorm
from minigan import optim
from minigan.optim import SGD, Adam

NAN, INF = float("nan"), float("inf")


def tiny_gan(seed=0, real=None, objective="non-saturating", d_steps=1, batchnorm=False):
    """A 1D GAN that trains in milliseconds (BatchNorm in both players if asked)."""
    B.seed(seed)
    norm = (lambda: [BatchNorm1d(4)]) if batchnorm else (lambda: [])
    G = Sequential(Dense(1, 4), *norm(), LeakyReLU(0.2), Dense(4, 1))
    D = Sequential(Dense(1, 4), *norm(), LeakyReLU(0.2), Dense(4, 1))
    real = real if real is not None else (lambda n: B.randn(n, 1) * 0.5 + 2.0)
    return GAN(G, D, real, latent_dim=1, batch_size=8, objective=objective, lr_g=2e-3,
               lr_d=2e-3, d_steps=d_steps)


def everything(gan) -> dict:
    """Every number a run holds: parameters, buffers, optimizer states, loop state, RNG."""
    state = {}
    for who, module in (("G", gan.generator), ("D", gan.discriminator)):
        state.update({f"{who}.{k}": B.to_numpy(v).copy() for k, v in module.state_dict().items()})
    for who, opt in (("G", gan.g_optimizer), ("D", gan.d_optimizer)):
        saved = opt.state_dict()
        state[f"{who}.step"] = saved["step"]
        for name, buffers in saved["state"].items():
            state.update({f"{who}.{name}.{i}": b for i, b in enumerate(buffers)})
    loop = gan.state_dict()
    state.update({"iteration": loop["iteration"], "epoch": loop["epoch"],
                  "position": loop["data_position"], "history": loop["history"],
                  "order": None if loop["data_order"] is None else loop["data_order"].copy(),
                  "rng": B.get_rng_state()})
    return state


def assert_same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


# ---------------------------------------------------------------------------------------------
# Trial results: JSON and arrays, never pickles

TINY = mc.Budget(g_hidden=8, g_layers=1, d_hidden=6, d_layers=1, d_pieces=2, batch=12,
                 iterations=2)
TRIAL = ("ring", mc.Setting(), TINY, 0)


class Exploit:
    ran = []

    def __reduce__(self):
        return (Exploit.ran.append, ("unpickled",))


def _write_pickle(path):
    with open(path, "wb") as f:
        pickle.dump({"dataset": "ring", "payload": Exploit()}, f)


def _write_foreign_npz(path):
    with open(path, "wb") as f:
        np.savez(f, weights=np.zeros(3))


def _write_other_trial(path):
    other = mc.train_and_score("grid", mc.Setting(), TINY, 1)
    mc._save_result(path, other)


def _truncate(path):
    mc._save_result(path, mc.train_and_score(*TRIAL))
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


@pytest.mark.parametrize("damage, said", [
    (lambda p: open(p, "wb").close(), "empty, truncated, corrupted or not an .npz"),
    (_truncate, "truncated"),
    (_write_pickle, "not an .npz archive"),
    (_write_foreign_npz, "not a minigan data file"),
    (_write_other_trial, "not this trial's saved result .*data set 'grid', seed 1"),
], ids=["empty", "truncated", "pickle", "foreign npz", "another trial"])
def test_a_bad_trial_file_is_retrained_with_one_line_and_runs_no_code(tmp_path, capsys, damage,
                                                                     said):
    path = mc.trial_path(tmp_path, TRIAL)
    assert path.endswith(".npz")
    damage(path)
    capsys.readouterr()
    result = mc.run_trials([TRIAL], folder=str(tmp_path))[0]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("run_trials: ") and "training" in err[0]
    assert re.search(said, err[0]), err[0]
    assert Exploit.ran == []
    fresh = mc.train_and_score(*TRIAL)
    np.testing.assert_array_equal(result["samples"], fresh["samples"])
    again = mc.run_trials([TRIAL], folder=str(tmp_path))[0]           # now loaded, silently
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(again["samples"], fresh["samples"])
    assert again["setting"] == TRIAL[1] and again["history"] == fresh["history"]


def test_a_saved_trial_round_trips_every_entry(tmp_path):
    trial = ("ring", mc.Setting(label_smoothing=0.1), TINY, 2, 2, 1)
    first = mc.run_trials([trial], folder=str(tmp_path))[0]
    again = mc.run_trials([trial], folder=str(tmp_path))[0]
    assert again["setting"] == first["setting"] and isinstance(again["setting"], mc.Setting)
    assert again["history"] == first["history"] and again["seconds"] == first["seconds"]
    assert [i for i, _ in again["frames"]] == [i for i, _ in first["frames"]]
    for (_, a), (_, b) in zip(first["frames"], again["frames"]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first["metrics"]["counts"], again["metrics"]["counts"])
    for key in ("modes_covered", "high_quality_fraction"):
        assert first["metrics"][key] == again["metrics"][key]
    assert first["fidelity"] == again["fidelity"]
    np.testing.assert_array_equal(first["views"][0]["d_map"], again["views"][0]["d_map"])


# ---------------------------------------------------------------------------------------------
# No half-applied step

class FailingAt:
    """Non-saturating, except that chosen calls return an infinite loss (finite gradients).
    GAN calls d_loss twice per D step (the real term, then the fake term whose value counts):
    D step s fails with d_call = 2 s."""
    name = "non-saturating"
    outputs_probability = True

    def __init__(self, d_call=None, g_call=None):
        self.inner, self.d_call, self.g_call = get_objective("non-saturating"), d_call, g_call
        self.d_calls = self.g_calls = 0

    def d_loss(self, real_logits, fake_logits):
        self.d_calls += 1
        value, grad_real, grad_fake = self.inner.d_loss(real_logits, fake_logits)
        return (INF if self.d_calls == self.d_call else value), grad_real, grad_fake

    def g_loss(self, fake_logits):
        self.g_calls += 1
        value, grad = self.inner.g_loss(fake_logits)
        return (INF if self.g_calls == self.g_call else value), grad


@pytest.mark.parametrize("d_steps, d_call, g_call, player", [
    (1, 6, None, "discriminator"),       # D's loss infinite: D's optimizer must not step
    (1, None, 3, "generator"),           # G's step fails after D's step of the iteration
    (2, 12, None, "discriminator"),      # the second D step of iteration 3 fails
], ids=["D loss", "G loss after D stepped", "second D step"])
def test_a_failed_iteration_leaves_everything_as_it_was(d_steps, d_call, g_call, player):
    gan = tiny_gan(objective=FailingAt(d_call, g_call), d_steps=d_steps, batchnorm=True)
    gan.train(2)
    before = everything(gan)
    with pytest.raises(TrainingDiverged) as info:
        gan.step()
    assert info.value.iteration == 3 and info.value.player == player
    assert info.value.entry == "loss" and "its loss is inf" in str(info.value)
    assert_same(everything(gan), before)
    # the next iteration is exactly the one an unbroken run takes (minigan's generator is
    # global: keep this run's state while the reference run draws)
    rng = B.get_rng_state()
    reference = tiny_gan(objective=FailingAt(), d_steps=d_steps, batchnorm=True)
    reference.train(3)
    expected = everything(reference)
    B.set_rng_state(rng)
    gan.objective.d_call = gan.objective.g_call = None
    gan.step()
    assert_same(everything(gan), expected)


def test_a_nan_training_batch_does_not_poison_batchnorm_statistics():
    draws = []

    def real(n):
        draws.append(n)
        x = B.randn(n, 1) + 2.0
        if len(draws) == 3:
            x[0, 0] = NAN
        return x

    gan = tiny_gan(real=real, batchnorm=True)
    gan.train(2)
    before = everything(gan)
    with pytest.raises(TrainingDiverged, match="iteration 3: the discriminator step"):
        gan.step()
    assert_same(everything(gan), before)
    out = gan.discriminate(B.randn(5, 1))
    assert np.isfinite(B.to_numpy(out)).all()


def test_a_failed_iteration_can_be_saved_and_resumed(tmp_path):
    gan = tiny_gan(objective=FailingAt(g_call=2))
    gan.train(1)
    with pytest.raises(TrainingDiverged):
        gan.step()
    gan.save_checkpoint(tmp_path / "run.npz")
    resumed = tiny_gan(seed=9)
    resumed.load_checkpoint(tmp_path / "run.npz")
    assert_same(everything(resumed), everything(gan))


@pytest.mark.parametrize("make", [lambda ps: Adam(ps, lr=0.1),
                                  lambda ps: SGD(ps, lr=0.1, momentum=0.9)], ids=["Adam", "SGD"])
def test_an_optimizer_step_on_a_read_only_parameter_changes_nothing(make):
    model = Dense(2, 3)
    opt = make(model.named_parameters())
    for p in model.parameters():
        p.grad[...] = 1.0
    opt.step()
    before = opt.state_dict()
    data = [p.data.copy() for p in model.parameters()]
    model.b.data.flags.writeable = False
    with pytest.raises(ValueError, match=r"\.step: parameter 1 \(b\) is read-only.*nothing was "
                                         r"changed"):
        opt.step()
    after = opt.state_dict()
    assert after["step"] == before["step"]
    for name in before["state"]:
        for a, b in zip(before["state"][name], after["state"][name]):
            np.testing.assert_array_equal(a, b)
    for p, d in zip(model.parameters(), data):
        np.testing.assert_array_equal(p.data, d)


# ---------------------------------------------------------------------------------------------
# Loads check every value before changing anything

def _module_state(change):
    model = Sequential(Dense(2, 3), BatchNorm1d(3))
    state = {k: B.to_numpy(v).copy() for k, v in model.state_dict().items()}
    change(state)
    return model, state


def _set(state, key, value):
    state[key] = state[key].astype(np.float64)
    state[key].flat[0] = value


MODULE_POISON = (   # (id, change to a state_dict, message)
    ("NaN weight", lambda s: _set(s, "layers.0.W", NAN), r"'layers\.0\.W' holds 1 NaN or Inf"),
    ("inf bias", lambda s: _set(s, "layers.0.b", -INF), r"'layers\.0\.b' holds 1 NaN or Inf"),
    ("beyond float32", lambda s: _set(s, "layers.0.W", 1e39),
     r"'layers\.0\.W' holds 1e\+39, beyond the range of float32"),
    ("negative running var", lambda s: _set(s, "layers.1.running_var", -0.5),
     r"'layers\.1\.running_var' holds a negative value \(-0\.5\)"),
    ("NaN running mean", lambda s: _set(s, "layers.1.running_mean", NAN),
     r"'layers\.1\.running_mean' holds 1 NaN"),
)


@pytest.mark.parametrize("change, pattern", [c[1:] for c in MODULE_POISON],
                         ids=[c[0] for c in MODULE_POISON])
def test_module_loads_refuse_poisoned_values_and_change_nothing(change, pattern):
    model, state = _module_state(change)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"Sequential\.load_state_dict: entry " + pattern):
        model.load_state_dict(state)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def _optimizer_state(kind, change):
    model = Dense(2, 3)
    opt = Adam(model.parameters(), lr=0.1) if kind == "Adam" else \
        SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad[...] = 0.5
    opt.step()
    state = opt.state_dict()
    change(state)
    return opt, state


OPTIMIZER_POISON = (
    ("Adam negative second moment", "Adam",
     lambda s: s["state"]["exp_avg_sq"][0].__setitem__((0, 0), -1.0),
     r"exp_avg_sq\[0\] holds a negative value"),
    ("Adam NaN first moment", "Adam",
     lambda s: s["state"]["exp_avg"][1].__setitem__(0, NAN), r"exp_avg\[1\] holds 1 NaN"),
    ("SGD NaN momentum", "SGD",
     lambda s: s["state"]["momentum_buffer"][0].__setitem__((1, 1), NAN),
     r"momentum_buffer\[0\] holds 1 NaN"),
    ("Adam negative step", "Adam", lambda s: s.__setitem__("step", -1),
     r"step must be a non-negative int, got -1"),
    ("Adam lr nan", "Adam", lambda s: s["hyperparameters"].__setitem__("lr", NAN),
     r"lr must be a finite number"),
)


@pytest.mark.parametrize("kind, change, pattern", [c[1:] for c in OPTIMIZER_POISON],
                         ids=[c[0] for c in OPTIMIZER_POISON])
def test_optimizer_loads_refuse_poisoned_values_and_change_nothing(kind, change, pattern):
    opt, state = _optimizer_state(kind, change)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=pattern):
        opt.load_state_dict(state)
    after = opt.state_dict()
    assert after["step"] == before["step"] and after["hyperparameters"] == before["hyperparameters"]
    for name in before["state"]:
        for a, b in zip(before["state"][name], after["state"][name]):
            np.testing.assert_array_equal(a, b)


def _array_gan(n=16):
    B.seed(0)
    data = B.randn(n, 1)
    return GAN(Sequential(Dense(1, 4), LeakyReLU(0.2), Dense(4, 1)),
               Sequential(Dense(1, 4), LeakyReLU(0.2), Dense(4, 1)), data, latent_dim=1,
               batch_size=4)


LOOP_POISON = (   # (id, change to GAN.state_dict(), exception, message)
    ("negative iteration", lambda s: s.__setitem__("iteration", -1), ValueError,
     r"iteration must be an int >= 0, got -1"),
    ("float iteration", lambda s: s.__setitem__("iteration", 2.5), TypeError,
     r"iteration must be an int, got 2\.5"),
    ("negative epoch", lambda s: s.__setitem__("epoch", -3), ValueError, r"epoch must be an int"),
    ("histories of different lengths", lambda s: s["history"]["g_loss"].pop(), ValueError,
     r"the histories have different lengths"),
    ("NaN in a history", lambda s: s["history"]["d_loss"].__setitem__(0, NAN), ValueError,
     r"history\['d_loss'\]\[0\] must be a finite number"),
    ("order not a permutation", lambda s: s["data_order"].__setitem__(0, s["data_order"][1]),
     ValueError, r"data_order is not a permutation of this GAN's 16 training examples"),
    ("another number of examples", lambda s: s.__setitem__("data_order", np.arange(20)),
     ValueError, r"data_order is not a permutation of this GAN's 16 training examples \(it has 20 "
     r"entries\)"),
    ("position beyond the data", lambda s: s.__setitem__("data_position", 17), ValueError,
     r"data_position 17 is beyond the 16 training examples"),
    ("another number of examples, before the first batch",
     lambda s: s.update(num_examples=20, data_order=None), ValueError,
     r"the run had num_examples=20, this GAN has num_examples=16; resume it on the same "
     r"training data"),
    ("a conditional run", lambda s: s.__setitem__("num_classes", 10), ValueError,
     r"the run had num_classes=10, this GAN has num_classes=None; a conditional and an "
     r"unconditional GAN"),
)


@pytest.mark.parametrize("change, error, pattern", [c[1:] for c in LOOP_POISON],
                         ids=[c[0] for c in LOOP_POISON])
def test_gan_state_loads_refuse_bad_values_and_change_nothing(change, error, pattern):
    gan = _array_gan()
    gan.train(3)
    state = gan.state_dict()
    change(state)
    before = everything(gan)
    with pytest.raises(error, match=r"GAN\.load_state_dict: " + pattern):
        gan.load_state_dict(state)
    assert_same(everything(gan), before)


def test_a_function_fed_gan_refuses_a_data_order():
    gan, source = tiny_gan(), _array_gan()
    source.train(2)
    with pytest.raises(ValueError, match="draws real batches from a function"):
        gan.load_state_dict(source.state_dict())


@pytest.mark.parametrize("rng", [
    {"host": {"bit_generator": "PCG64", "state": {"state": -1, "inc": 1}, "has_uint32": 0,
              "uinteger": 0}, "device": {"key": 0, "counter": 0}},
    {"host": B.get_rng_state()["host"], "device": {"key": 1, "counter": -5}},
], ids=["host", "device"])
def test_a_negative_rng_state_is_refused_in_one_line(tmp_path, rng):
    with pytest.raises(ValueError, match=r"state.* must be an int in \[0, 2\^(128|64)\), got -"):
        B.check_rng_state(rng)


def _poison_checkpoint(path, change):
    """Rewrite an .npz checkpoint with change(metadata, arrays) applied."""
    metadata, arrays = checkpoint.read(path)
    change(metadata, arrays)
    arrays["metadata"] = np.array(json.dumps(metadata))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


CHECKPOINT_POISON = (
    ("NaN weight", lambda m, a: a["module/D/layers.0.W"].__setitem__((0, 0), NAN),
     r"module 'D': .*'layers\.0\.W' holds 1 NaN"),
    ("negative second moment",
     lambda m, a: a["optimizer/G/state/exp_avg_sq/0"].__setitem__((0, 0), -2.0),
     r"optimizer 'G': .*exp_avg_sq\[0\] holds a negative value"),
    ("negative iteration", lambda m, a: m["extra"]["gan"].__setitem__("iteration", -4),
     r"iteration must be an int >= 0"),
    ("negative RNG state",
     lambda m, a: m["rng"]["host"]["state"].__setitem__("inc", -7),
     r"random generator's state is not valid"),
    ("another dtype", lambda m, a: m.__setitem__("dtype", "float64"),
     r"saved in float64, these models are float32"),
)


@pytest.mark.parametrize("change, pattern", [c[1:] for c in CHECKPOINT_POISON],
                         ids=[c[0] for c in CHECKPOINT_POISON])
def test_checkpoint_loads_refuse_poison_and_change_nothing(tmp_path, change, pattern):
    path = tmp_path / "run.npz"
    source = tiny_gan()
    source.train(3)
    source.save_checkpoint(path)
    _poison_checkpoint(path, change)
    gan = tiny_gan(seed=4)
    gan.train(1)
    before = everything(gan)
    with pytest.raises(checkpoint.CheckpointError, match=pattern):
        gan.load_checkpoint(path)
    assert_same(everything(gan), before)


# ---------------------------------------------------------------------------------------------
# Misuse that would train wrongly without a word

def _replaced_parameter():
    gan = tiny_gan()
    gan.generator.layers[0].W = type(gan.generator.layers[0].W)(B.randn(1, 4))
    gan.train(1)


def _lr_nan():
    gan = tiny_gan()
    gan.d_optimizer.lr = NAN


def _dtype_changed():
    gan = tiny_gan()
    with B.precision("float64"):
        gan.train(1)


def _shared_layer():
    shared = Dense(4, 1)
    G = Sequential(Dense(1, 4), shared)
    D = Sequential(Dense(1, 4), shared)
    GAN(G, D, lambda n: B.randn(n, 1), latent_dim=1)


def _swapped():
    G, D = Dense(1, 1), Dense(1, 1)
    GAN(G, D, lambda n: B.randn(n, 1), latent_dim=1, g_optimizer=Adam(D.parameters()),
        d_optimizer=Adam(G.parameters()))


def _other_model():
    G, D = Dense(1, 1), Dense(1, 1)
    GAN(G, D, lambda n: B.randn(n, 1), latent_dim=1, g_optimizer=Adam(Dense(1, 1).parameters()))


def _one_optimizer():
    G, D = Dense(1, 1), Dense(1, 1)
    opt = Adam(G.parameters())
    GAN(G, D, lambda n: B.randn(n, 1), latent_dim=1, g_optimizer=opt, d_optimizer=opt)


def _zero_weight():
    layer = Dense(3, 2)
    layer.W.data[...] = 0
    SpectralNorm(layer)


def _zero_later():
    sn = SpectralNorm(Dense(3, 2))
    sn.layer.W.data[...] = 0
    sn.forward(B.randn(2, 3))


MISUSE = (   # (id, call, exception, message)
    ("a module twice in a Sequential",
     lambda: Sequential(Dense(2, 2), *([LeakyReLU(0.2)] * 2)), ValueError,
     r"Sequential: the same LeakyReLU\(0\.2\) object is at 1 and at 2; a module caches one "
     r"forward"),
    ("a module twice, nested", lambda: (lambda d: Sequential(d, Sequential(LeakyReLU(0.2), d)))(
        Dense(2, 2)), ValueError, r"same Dense\(2->2\) object is at 0 and at 1\.layers\.1"),
    ("G and D the same", lambda: (lambda m: GAN(m, m, lambda n: B.randn(n, 1), latent_dim=1))(
        Dense(1, 1)), ValueError, r"GAN: generator and discriminator are the same object"),
    ("a layer shared by G and D", _shared_layer, ValueError,
     r"GAN: the generator and the discriminator share 2 parameter"),
    ("optimizers swapped", _swapped, ValueError,
     r"GAN: g_optimizer holds the discriminator's parameters \(are g_optimizer and d_optimizer "
     r"swapped\?\)"),
    ("optimizer over another model", _other_model, ValueError,
     r"GAN: g_optimizer holds 2 parameter\(s\) that are not the generator's"),
    ("one optimizer for both", _one_optimizer, ValueError,
     r"g_optimizer and d_optimizer are the same object"),
    ("parameter replaced after the optimizer", _replaced_parameter, ValueError,
     r"GAN\.train: g_optimizer holds 1 parameter\(s\) that are not the generator's .*replaced "
     r"after the optimizer was built"),
    ("lr = nan", _lr_nan, ValueError, r"Adam: lr must be a finite number, got nan"),
    ("lr = '0.1'", lambda: setattr(Adam(Dense(1, 1).parameters()), "lr", "0.1"), TypeError,
     r"Adam: lr must be a number, got '0\.1'"),
    ("dtype changed mid-run", _dtype_changed, TypeError,
     r"GAN\.step: the backend's dtype is float64 but this GAN was built in float32"),
    ("SpectralNorm of a zero weight", _zero_weight, ValueError,
     r"SpectralNorm: Dense\(3->2\) has an all-zero weight"),
    ("SpectralNorm weight zeroed later", _zero_later, ValueError,
     r"estimated spectral norm of the weight is 0\.0"),
    ("Dirac mode misspelt", lambda: field_residual(np.zeros((3, 2)), mode="simultanous"),
     ValueError, r"field_residual: mode must be one of \('simultaneous', 'alternating'\), got "
                 r"'simultanous'"),
    ("Dirac step_map mode", lambda: step_map(np.eye(2), 0.1, "alternate"), ValueError,
     r"step_map: mode must be one of"),
)


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in MISUSE],
                         ids=[c[0] for c in MISUSE])
def test_misuse_is_refused_in_one_clear_line(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


# ---------------------------------------------------------------------------------------------
# Arguments of the loop

TRAIN_ARGUMENTS = (
    ("num_iterations True", dict(num_iterations=True), TypeError,
     r"GAN\.train: num_iterations must be an int, got True"),
    ("num_iterations -1", dict(num_iterations=-1), ValueError,
     r"num_iterations must be an int >= 0"),
    ("log_every -1", dict(log_every=-1), ValueError, r"GAN\.train: log_every must be an int >= 0"),
    ("log_every float", dict(log_every=1.5), TypeError, r"log_every must be an int, got 1\.5"),
    ("log_every str", dict(log_every="10"), TypeError, r"log_every must be an int, got '10'"),
    ("checkpoint_every True", dict(checkpoint_every=True, checkpoint_path="x.npz"), TypeError,
     r"checkpoint_every must be an int, got True"),
    ("callbacks a function", dict(callbacks=print), TypeError,
     r"callbacks must be a list of functions callback\(gan\), got <built-in function print>"),
    ("callbacks item", dict(callbacks=[print, 3]), TypeError,
     r"callbacks\[1\] is 3 \(int\), not a function"),
    ("checkpoint_path ''", dict(checkpoint_path=""), ValueError, r"GAN\.train: path is empty"),
    ("checkpoint_path NUL", dict(checkpoint_path="a\0b.npz"), ValueError, r"holds a NUL byte"),
    ("checkpoint_path int", dict(checkpoint_path=3), TypeError,
     r"path must be a str or os\.PathLike, got 3"),
    ("checkpoint_extra list", dict(checkpoint_path="x.npz", checkpoint_extra=[1]), TypeError,
     r"checkpoint_extra must be a dict or None, got list"),
)


@pytest.mark.parametrize("kwargs, error, pattern", [c[1:] for c in TRAIN_ARGUMENTS],
                         ids=[c[0] for c in TRAIN_ARGUMENTS])
def test_train_refuses_bad_arguments_before_the_first_iteration(kwargs, error, pattern):
    gan = tiny_gan()
    with pytest.raises(error, match=pattern):
        gan.train(**{"num_iterations": 1, **kwargs})
    assert gan.iteration == 0


# ---------------------------------------------------------------------------------------------
# Files

@pytest.mark.parametrize("path, error, pattern", [
    ("", ValueError, r"checkpoint\.save: path is empty"),
    (None, TypeError, r"checkpoint\.save: path must be a str or os\.PathLike, got None"),
    ("run\0.npz", ValueError, r"checkpoint\.save: path 'run\\x00\.npz' holds a NUL byte"),
], ids=["empty", "None", "NUL"])
def test_save_paths_are_checked_in_one_line(path, error, pattern):
    with pytest.raises(error, match=pattern):
        checkpoint.save(path, {"G": Dense(1, 1)})


def test_a_save_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder; give the checkpoint a file name"):
        checkpoint.save(tmp_path, {"G": Dense(1, 1)})
    with pytest.raises(ValueError, match="GAN.train: checkpoint_path .* is a folder"):
        tiny_gan().train(1, checkpoint_path=tmp_path)


def test_a_killed_saves_temporary_file_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "run.npz"
    worker = resume_worker.__file__
    done = subprocess.run([sys.executable, worker, "numpy", "first", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    killed = subprocess.run([sys.executable, worker, "numpy", "killed", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9
    left = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(left) == 1
    # another file's leftovers and a live process's temporary file are not touched
    mine = tmp_path / f"{checkpoint._temporary_prefix(str(path))}{os.getpid()}.abcdefgh.tmp"
    other = tmp_path / f"{checkpoint._temporary_prefix(str(tmp_path / 'b.npz'))}1.x.tmp"
    mine.write_bytes(b"")
    other.write_bytes(b"")
    checkpoint.save(path, {"G": Dense(1, 1)})
    assert sorted(os.listdir(tmp_path)) == sorted(["run.npz", mine.name, other.name])


def test_temporary_names_stay_within_the_name_limit(tmp_path, monkeypatch):
    name = "r" * 250 + ".npz"                       # 254 bytes: a legal name
    seen = []
    original = checkpoint.os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        original(src, dst)
    monkeypatch.setattr(checkpoint.os, "replace", spy)
    checkpoint.save(tmp_path / name, {"G": Dense(1, 1)})
    assert os.listdir(tmp_path) == [name] and len(seen[0]) <= 255
    checkpoint.load(tmp_path / name, {"G": Dense(1, 1)})


def test_data_files_are_checked_like_checkpoints(tmp_path):
    path = tmp_path / "x.npz"
    checkpoint.save_data(path, {"a": np.arange(3), "b": (1, "two", [3.5, None])}, "thing")
    tree = checkpoint.load_data(path, "thing")
    assert tree["b"] == (1, "two", [3.5, None])
    np.testing.assert_array_equal(tree["a"], np.arange(3))
    with pytest.raises(checkpoint.CheckpointError, match=r"holds 'thing' version 1, expected "
                                                         r"'other'"):
        checkpoint.load_data(path, "other")
    checkpoint.save(tmp_path / "c.npz", {"G": Dense(1, 1)})
    with pytest.raises(checkpoint.CheckpointError, match="not a minigan data file"):
        checkpoint.load_data(tmp_path / "c.npz", "thing")


# ---------------------------------------------------------------------------------------------
# Adam on flat buffers: the same numbers as parameter by parameter

@pytest.mark.parametrize("block", [optim.BLOCK, 7], ids=["default blocks", "blocks of 7"])
def test_adam_on_flat_buffers_gives_the_numbers_of_the_per_parameter_update(monkeypatch, block):
    monkeypatch.setattr(optim, "BLOCK", block)           # 7: parameters split across blocks

    def run(flat: bool):
        B.seed(3)
        model = Sequential(Dense(3, 5), LeakyReLU(0.2), Dense(5, 2))
        opt = Adam(model.parameters(), lr=1e-2, betas=(0.5, 0.999))
        if not flat:
            monkeypatch.setattr(opt, "_update_all", lambda: False)
        for step in range(4):
            opt.zero_grad()
            for p in model.parameters():
                p.grad[...] = B.randn(*p.grad.shape)
            opt.step()
        return [B.to_numpy(p.data).copy() for p in model.parameters()], opt.state_dict()

    (flat_params, flat_state), (loop_params, loop_state) = run(True), run(False)
    for a, b in zip(flat_params, loop_params):
        np.testing.assert_array_equal(a, b)
    for name in flat_state["state"]:
        for a, b in zip(flat_state["state"][name], loop_state["state"][name]):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# Arguments refused in minigan's words, not NumPy's (or not at all)

def _gan():
    return tiny_gan()


def _vae():
    return vae.VAE(Dense(2, 4), Dense(1, 2), latent_dim=1)


def _vae_train(**kwargs):
    vae.train(_vae(), B.randn(16, 2), **{"num_iterations": 1, "batch_size": 4, **kwargs})


ARGUMENTS = (   # (id, call, exception, message)
    ("sample chunk 0", lambda: _gan().sample(10, chunk_size=0), ValueError,
     r"GAN\.sample: chunk_size must be an int >= 1, got 0"),
    ("sample chunk -2", lambda: _gan().sample(10, chunk_size=-2), ValueError,
     r"GAN\.sample: chunk_size must be an int >= 1, got -2"),
    ("sample chunk float", lambda: _gan().sample(10, chunk_size=2.5), TypeError,
     r"GAN\.sample: chunk_size must be an int, got 2\.5"),
    ("sample z list", lambda: _gan().sample(2, z=[[0.1], [0.2]]), TypeError,
     r"GAN\.sample: z must be a numpy\.ndarray, got list; convert it with B\.asarray\(z\)"),
    ("discriminate list", lambda: _gan().discriminate([[0.1]]), TypeError,
     r"GAN\.discriminate: x must be a numpy\.ndarray, got list"),
    ("discriminate chunk 0", lambda: _gan().discriminate(B.randn(3, 1), chunk_size=0),
     ValueError, r"GAN\.discriminate: chunk_size must be an int >= 1, got 0"),
    ("load_digits True", lambda: load_digits(True),
     TypeError, r"load_digits: n must be an int, got True \(bool\)"),
    ("load_digits seed float",
     lambda: load_digits(10, seed=1.5), TypeError,
     r"load_digits: seed must be an int, got 1\.5"),
    ("Mixture1D stds length", lambda: toy.Mixture1D(
        means=(-2.0, 2.0), stds=(0.5,)), ValueError,
     r"Mixture1D: stds must be one number or 2 \(one per mode\), got 1"),
    ("GaussianMixture stds length", lambda: toy.GaussianMixture(
        [[0, 0], [1, 1]], [0.1, 0.2, 0.3]), ValueError,
     r"GaussianMixture: stds must be one number or 2"),
    ("classifier float labels", lambda: classifier.train_classifier(
        B.randn(4, 1, 28, 28), np.zeros(4), epochs=1), TypeError,
     r"train_classifier: labels must be integers 0\.\.9, got dtype float64"),
    ("classifier uint8 images", lambda: classifier.train_classifier(
        np.zeros((4, 1, 28, 28), np.uint8), np.zeros(4, int), epochs=1), TypeError,
     r"train_classifier: images must be floating point in \[-1, 1\], got dtype uint8"),
    ("classifier epochs -1", lambda: classifier.train_classifier(
        B.randn(4, 1, 28, 28), np.zeros(4, int), epochs=-1), ValueError,
     r"train_classifier: epochs must be an int >= 0, got -1"),
    ("class_histogram NaN rows", lambda: metrics.class_histogram(
        np.vstack([np.eye(3), np.full((1, 3), NAN)]), 3), ValueError,
     r"class_histogram: 1 row\(s\) of the probabilities hold NaN or Inf \(the first: row 3\)"),
    ("FID of 0-d features", lambda: metrics.fid_from_features(
        np.zeros(()), np.zeros(())), ValueError,
     r"fid_from_features expects \(N1, D\) and \(N2, D\) feature matrices with the same D >= 1"),
    ("FID of overflowing features", lambda: metrics.fid_from_features(
        np.arange(10.0)[:, None] * np.full((10, 2), 1e200), np.ones((10, 2))), ValueError,
     r"feature_statistics: features deviate from their mean by up to .*overflows float64"),
    ("plot path without extension", lambda: plot.image_grid(
        "figure", np.zeros((4, 1, 8, 8))), ValueError,
     r"plot\.save: path 'figure' has no extension; use one of .*\.png"),
    ("save_gif no frames", lambda: plot.save_gif(
        "a.gif", [], lambda ax, f: None), ValueError, r"save_gif: no frames to animate"),
    ("save_gif fps 0", lambda: plot.save_gif(
        "a.gif", [1], lambda ax, f: None, fps=0), ValueError, r"save_gif: fps must be positive"),
    ("save_gif png", lambda: plot.save_gif(
        "a.png", [1], lambda ax, f: None), ValueError, r"save_gif: path 'a\.png' has the "
                                                        r"extension \.png; use one of \.gif"),
    ("tile empty value range", lambda: plot.tile(
        np.zeros((4, 1, 8, 8)), value_range=(1, 1)), ValueError,
     r"tile: value_range must have lo < hi, got \(1, 1\)"),
    ("gaussian_pdf std 0", lambda: densities.gaussian_pdf(
        np.zeros(3), 0.0, 0.0), ValueError, r"gaussian_pdf: std must be a positive finite number"),
    ("push_forward decreasing edges", lambda: densities.push_forward(
        np.zeros(3), np.ones(3), np.array([2.0, 1.0, 0.0])), ValueError,
     r"push_forward: edges must be finite and increasing"),
    ("at_points uneven edges", lambda: densities.at_points(
        np.ones(2), np.array([0.0, 1.0, 3.0]), np.zeros(3)), ValueError,
     r"at_points: edges must be equally spaced"),
    ("VAE negative iterations", lambda: _vae_train(num_iterations=-1), ValueError,
     r"vae\.train: num_iterations must be an int >= 0, got -1"),
    ("VAE batch 0", lambda: _vae_train(batch_size=0), ValueError,
     r"vae\.train: batch_size must be an int >= 1, got 0"),
    ("VAE data list", lambda: vae.train(_vae(), [[0.0, 1.0]], 1),
     TypeError, r"vae\.train: data must be an array of the active backend"),
)


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in ARGUMENTS],
                         ids=[c[0] for c in ARGUMENTS])
def test_arguments_are_refused_in_one_clear_line(call, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=pattern):
        call()
    assert os.listdir(tmp_path) == []                # nothing written


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    checkpoint.save(path, {"G": Dense(1, 1)})
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoint.np, "savez", disk_full)
    with pytest.raises(OSError, match=r"cannot write .*run\.npz: No space left on device; a file "
                                      r"already there is kept unchanged") as info:
        checkpoint.save(path, {"G": Dense(1, 1)})
    assert info.value.errno == 28
    assert os.listdir(tmp_path) == ["run.npz"] and path.read_bytes() == before


def test_a_read_only_folder_is_named_before_any_trial_runs(tmp_path, monkeypatch):
    # the permission as the system reports it (tests may run as root, who may write anywhere)
    monkeypatch.setattr(mc.os, "access", lambda path, mode: path != str(tmp_path))
    monkeypatch.setattr(mc, "train_and_score", lambda *a: pytest.fail("a trial ran"))
    with pytest.raises(PermissionError, match=r"run_trials: cannot write trial results under "
                                              r".*trials' \('.*' is not writable\)"):
        mc.run_trials([TRIAL], folder=str(tmp_path / "trials"))


def test_run_trials_checks_its_folder_and_callback_first(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="run_trials: folder .*file' is a file, not a folder"):
        mc.run_trials([TRIAL], folder=str(tmp_path / "file"))
    with pytest.raises(TypeError, match="run_trials: on_result must be a function"):
        mc.run_trials([TRIAL], on_result=3)
    with pytest.raises(ValueError, match="run_trials: folder is empty"):
        mc.run_trials([TRIAL], folder="")



def test_a_figure_that_cannot_be_written_names_the_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(Figure, "savefig", disk_full)
    with pytest.raises(OSError, match=r"plot\.save: cannot write .*grid\.png: No space left"):
        plot.image_grid(tmp_path / "grid.png", np.zeros((4, 1, 8, 8)))


def test_an_old_pickled_trial_is_not_loaded_and_says_so(tmp_path, capsys):
    old = mc.trial_path(tmp_path, TRIAL)[:-len(".npz")] + ".pkl"
    _write_pickle(old)
    mc.run_trials([TRIAL], folder=str(tmp_path))
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"run_trials: {old} is a pickle, which minigan no longer loads (unpickling "
                   f"can run code); training the trial again"]
    assert Exploit.ran == []
