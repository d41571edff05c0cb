"""Checkpoints: exact round trips, atomic saves, and clear refusals of wrong or damaged files."""
import os
import zipfile

import numpy as np
import pytest

from minigan import backend as B
from minigan import checkpoint
from minigan.checkpoint import CheckpointError
from minigan.nn.dense import Dense
from minigan.nn.module import Sequential
from minigan.nn.norm import BatchNorm1d
from minigan.optim import SGD, Adam


def make_model(hidden=8):
    return Sequential(Dense(3, hidden), BatchNorm1d(hidden), Dense(hidden, 2))


def train_steps(model, optimizer, steps, seed):
    """A few real steps: forward, backward of a random upstream gradient, update."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        optimizer.zero_grad()
        x = B.asarray(rng.standard_normal((16, 3)))
        model.forward(x)
        model.backward(B.asarray(rng.standard_normal((16, 2))))
        optimizer.step()


@pytest.fixture
def trained():
    """Generator and discriminator stand-ins with Adam state after 3 steps."""
    B.seed(1)
    G, D = make_model(), make_model(hidden=4)
    opt_g, opt_d = Adam(G.parameters()), Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    train_steps(G, opt_g, 3, seed=0)
    train_steps(D, opt_d, 3, seed=1)
    return G, D, opt_g, opt_d


def assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            assert_same_state(a[key], b[key])
        elif isinstance(a[key], list) and a[key] and hasattr(a[key][0], "dtype"):
            for x, y in zip(a[key], b[key]):
                assert x.dtype == y.dtype
                np.testing.assert_array_equal(x, y)
        elif hasattr(a[key], "dtype"):
            assert a[key].dtype == b[key].dtype
            np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a[key] == b[key] and type(a[key]) is type(b[key]), key


def test_round_trip_restores_everything_exactly(tmp_path, trained):
    G, D, opt_g, opt_d = trained
    extra = {"iteration": 3, "history": {"d_loss": [np.float32(1.25), 0.5]},
             "config": {"lr": 2e-4, "betas": (0.5, 0.999), "name": "dcgan", "nothing": None},
             "per_class": {0: 10, 7: 3}, "inf": float("inf"), "odd": {"__tuple__": [1, 2]},
             "samples": np.arange(6, dtype=np.int16).reshape(2, 3)}
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G, "D": D}, {"G": opt_g, "D": opt_d}, extra=extra)
    expected_noise = B.randn(4, 3)                     # what the saved RNG state draws next

    B.seed(99)                                         # fresh objects, other weights, other RNG
    G2, D2 = make_model(), make_model(hidden=4)
    opt_g2, opt_d2 = Adam(G2.parameters()), Adam(D2.parameters(), lr=1e-3, betas=(0.0, 0.9))
    got = checkpoint.load(path, {"G": G2, "D": D2}, {"G": opt_g2, "D": opt_d2})

    samples = got.pop("samples")
    np.testing.assert_array_equal(samples, extra.pop("samples"))
    assert samples.dtype == np.int16
    assert got == extra
    assert type(got["config"]["betas"]) is tuple
    assert type(got["history"]["d_loss"][0]) is np.float32
    for a, b in ((G, G2), (D, D2)):                    # parameters and BatchNorm buffers
        assert_same_state(a.state_dict(), b.state_dict())
    assert_same_state(opt_g.state_dict(), opt_g2.state_dict())
    assert_same_state(opt_d.state_dict(), opt_d2.state_dict())
    np.testing.assert_array_equal(B.randn(4, 3), expected_noise)


def test_resumed_training_continues_identically(tmp_path, trained):
    G, _, opt_g, _ = trained
    checkpoint.save(tmp_path / "ckpt.npz", {"G": G}, {"G": opt_g})
    G2 = make_model()
    opt_g2 = Adam(G2.parameters())
    checkpoint.load(tmp_path / "ckpt.npz", {"G": G2}, {"G": opt_g2})
    train_steps(G, opt_g, 2, seed=5)
    train_steps(G2, opt_g2, 2, seed=5)
    for (name, p), (_, q) in zip(G.named_parameters(), G2.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_rng_can_be_left_alone(tmp_path, trained):
    G, *_ = trained
    checkpoint.save(tmp_path / "ckpt.npz", {"G": G})
    B.seed(5)
    expected = B.randn(3)
    B.seed(5)
    checkpoint.load(tmp_path / "ckpt.npz", {"G": G}, rng=False)
    np.testing.assert_array_equal(B.randn(3), expected)
    assert checkpoint.read(tmp_path / "ckpt.npz")[0]["rng"] is not None


def test_file_layout_is_plain_npz(tmp_path, trained):
    G, _, opt_g, _ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G}, {"G": opt_g}, extra={"iteration": 3})
    with np.load(path, allow_pickle=False) as archive:
        names = set(archive.files)
        np.testing.assert_array_equal(archive["module/G/layers.0.W"], G.layers[0].W.data)
        np.testing.assert_array_equal(archive["module/G/layers.1.running_var"],
                                      G.layers[1].running_var)
        np.testing.assert_array_equal(archive["optimizer/G/state/exp_avg/0"],
                                      opt_g.state["exp_avg"][0])
    assert "metadata" in names
    metadata, _ = checkpoint.read(path)
    architecture = metadata["modules"]["G"]
    assert architecture["repr"] == repr(G)
    assert architecture["parameters"][0] == ["layers.0.W", [3, 8]]
    assert ["layers.1.running_mean", [8]] in architecture["buffers"]
    assert metadata["extra"] == {"iteration": 3} and metadata["optimizers"]["G"]["type"] == "Adam"


def test_load_a_subset_of_the_modules(tmp_path, trained):
    G, D, opt_g, opt_d = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G, "D": D}, {"G": opt_g, "D": opt_d})
    G2 = make_model(hidden=8)
    checkpoint.load(path, {"G": G2})
    np.testing.assert_array_equal(G2.layers[2].W.data, G.layers[2].W.data)
    with pytest.raises(ValueError, match=r"no module 'E' in the checkpoint \(it has \['D', 'G'\]"):
        checkpoint.load(path, {"E": G2})
    with pytest.raises(ValueError, match="optimizer 'G' was Adam when saved, here it is SGD"):
        checkpoint.load(path, {"G": G2}, {"G": SGD(G2.parameters(), lr=0.1)})


# ---------------------------------------------------------------------------------------------
# Atomic saves

def test_failed_rename_keeps_the_old_checkpoint_and_no_temp_file(tmp_path, trained, monkeypatch):
    G, _, opt_g, _ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G}, {"G": opt_g}, extra={"iteration": 1})
    saved = {k: v.copy() for k, v in G.state_dict().items()}
    train_steps(G, opt_g, 1, seed=9)                   # the model moves on ...

    def crash(src, dst):                               # ... and the machine dies mid-save
        raise OSError("simulated crash between write and rename")
    monkeypatch.setattr(checkpoint.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.save(path, {"G": G}, {"G": opt_g}, extra={"iteration": 2})
    monkeypatch.undo()

    assert os.listdir(tmp_path) == ["ckpt.npz"]
    G2 = make_model()
    assert checkpoint.load(path, {"G": G2}, {"G": Adam(G2.parameters())}) == {"iteration": 1}
    assert_same_state(saved, G2.state_dict())


def test_failed_write_keeps_the_old_checkpoint(tmp_path, trained, monkeypatch):
    G, *_ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G}, extra={"iteration": 1})
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoint.np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save(path, {"G": G}, extra={"iteration": 2})
    assert os.listdir(tmp_path) == ["ckpt.npz"] and path.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# Refusals

def test_wrong_architecture_names_the_parameter_and_both_shapes(tmp_path, trained):
    G, D, *_ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G, "D": D})
    G2, D2 = make_model(), make_model(hidden=5)        # D differs: hidden 5 instead of 4
    untouched = {k: v.copy() for k, v in G2.state_dict().items()}
    with pytest.raises(ValueError, match=r"module 'D' parameter 'layers.0.W' has shape \(3, 4\) "
                                         r"in the checkpoint but \(3, 5\) in the model") as info:
        checkpoint.load(path, {"G": G2, "D": D2})
    assert "Dense(3->4)" in str(info.value) and "Dense(3->5)" in str(info.value)
    assert_same_state(untouched, G2.state_dict())      # nothing was loaded
    deeper = Sequential(Dense(3, 8), BatchNorm1d(8), Dense(8, 2), Dense(2, 2))
    with pytest.raises(ValueError, match=r"parameter 'layers.3.W' \(shape \(2, 2\)\) is not in "
                                         r"the checkpoint"):
        checkpoint.load(path, {"G": deeper})
    with pytest.raises(ValueError, match="the checkpoint has parameter 'layers.2.W' that the "
                                         "model lacks"):
        checkpoint.load(path, {"G": Sequential(Dense(3, 8), BatchNorm1d(8))})


@pytest.mark.parametrize("keep", [0.5, 0.9, 30, 0])
def test_truncated_file(tmp_path, trained, keep):
    G, _, opt_g, _ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G}, {"G": opt_g})
    content = path.read_bytes()
    cut = int(len(content) * keep) if isinstance(keep, float) else keep
    path.write_bytes(content[:cut])
    with pytest.raises(CheckpointError, match=str(path)):
        checkpoint.load(path, {"G": make_model()})


def test_corrupted_bytes_are_detected(tmp_path, trained):
    G, *_ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G})
    content = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:             # flip a byte inside one weight matrix
        info = archive.getinfo("module/G/layers.0.W.npy")
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    content[data_start + info.compress_size - 5] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(CheckpointError, match="layers.0.W.*truncated or corrupted"):
        checkpoint.load(path, {"G": make_model()})


class Exploit:
    """Unpickling this would record that code from the file ran."""
    ran = []

    def __reduce__(self):
        return (Exploit.ran.append, ("code from the checkpoint ran",))


def test_pickled_objects_are_refused_without_running_them(tmp_path, trained):
    G, *_ = trained
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G})
    with np.load(path) as archive:
        entries = {k: archive[k] for k in archive.files}
    entries["module/G/layers.0.W"] = np.array([Exploit()], dtype=object)
    np.savez(path, **entries)                           # savez pickles the object array
    with pytest.raises(CheckpointError, match="layers.0.W.*pickled Python objects"):
        checkpoint.load(path, {"G": make_model()})
    assert Exploit.ran == []


def test_not_a_checkpoint(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a minigan checkpoint"):
        checkpoint.load(tmp_path / "other.npz", {})
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        checkpoint.load(tmp_path / "single.npy", {})
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt"):
        checkpoint.load(tmp_path / "notes.txt", {})
    with pytest.raises(FileNotFoundError):
        checkpoint.load(tmp_path / "missing.npz", {})


def test_unstorable_values_are_rejected_before_writing(tmp_path, trained):
    G, *_ = trained
    with pytest.raises(TypeError, match="extra/callback.*function"):
        checkpoint.save(tmp_path / "ckpt.npz", {"G": G}, extra={"callback": print})
    with pytest.raises(TypeError, match="extra/objects.*Python objects"):
        checkpoint.save(tmp_path / "ckpt.npz", {"G": G},
                        extra={"objects": np.array([None, 1], dtype=object)})
    with pytest.raises(ValueError, match="without '/'"):
        checkpoint.save(tmp_path / "ckpt.npz", {"G/1": G})
    assert os.listdir(tmp_path) == []


def test_device_arrays_round_trip(tmp_path):
    """On a device backend (the CuPy double) arrays cross to the host explicitly and back."""
    import fakecupy
    B._use_module(fakecupy, "cupy")                    # conftest restores NumPy afterwards
    B.seed(0)
    G = make_model()
    opt = Adam(G.parameters())
    train_steps(G, opt, 2, seed=0)
    path = tmp_path / "ckpt.npz"
    checkpoint.save(path, {"G": G}, {"G": opt}, extra={"iteration": 2})
    expected_noise = B.to_numpy(B.randn(5))
    G2 = make_model()
    opt2 = Adam(G2.parameters())
    assert checkpoint.load(path, {"G": G2}, {"G": opt2}) == {"iteration": 2}
    np.testing.assert_array_equal(B.to_numpy(B.randn(5)), expected_noise)
    for (name, p), (_, q) in zip(G.named_parameters(), G2.named_parameters()):
        assert isinstance(q.data, fakecupy.ndarray)
        np.testing.assert_array_equal(B.to_numpy(p.data), B.to_numpy(q.data), err_msg=name)
    np.testing.assert_array_equal(B.to_numpy(G.layers[1].running_mean),
                                  B.to_numpy(G2.layers[1].running_mean))
    np.testing.assert_array_equal(B.to_numpy(opt.state["exp_avg_sq"][2]),
                                  B.to_numpy(opt2.state["exp_avg_sq"][2]))


# ---------------------------------------------------------------------------------------------
# All or nothing: a file whose metadata is intact but one array is missing or mis-shaped

def _tiny_gan(seed):
    from minigan.gan import GAN
    from minigan.nn.activations import LeakyReLU
    B.seed(seed)
    G = Sequential(Dense(2, 6), BatchNorm1d(6), LeakyReLU(0.2), Dense(6, 2))
    D = Sequential(Dense(2, 6), LeakyReLU(0.2), Dense(6, 1))
    return GAN(G, D, lambda n: B.randn(n, 2), latent_dim=2, batch_size=8)


def _rewrite(path, out, change):
    """Copy the archive at ``path`` to ``out`` with ``change(arrays)`` applied; the metadata
    entry is copied untouched."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    with open(out, "wb") as f:
        np.savez(f, **arrays)


def _everything(gan) -> dict:
    """Every array and number a load may change, as host copies."""
    state = {f"G/{k}": B.to_numpy(v).copy() for k, v in gan.generator.state_dict().items()}
    state.update({f"D/{k}": B.to_numpy(v).copy()
                  for k, v in gan.discriminator.state_dict().items()})
    for who, opt in (("G", gan.g_optimizer), ("D", gan.d_optimizer)):
        state[f"opt{who}"] = opt.state_dict()
    state["gan"] = repr(gan.state_dict())
    state["rng"] = repr(B.get_rng_state())
    return state


def _assert_unchanged(before, after):
    assert before.keys() == after.keys()
    for key in before:
        if isinstance(before[key], dict):
            assert_same_state(before[key], after[key])
        elif isinstance(before[key], str):
            assert before[key] == after[key], key
        else:
            np.testing.assert_array_equal(before[key], after[key], err_msg=key)


DAMAGE = (  # (description, change to the arrays, text the error must contain)
    ("missing D weight", lambda a: a.pop("module/D/layers.2.W"), ("module 'D'", "layers.2.W")),
    ("mis-shaped D bias", lambda a: a.update({"module/D/layers.0.b": np.zeros(5, np.float32)}),
     ("module 'D'", "layers.0.b", "(6,)", "(5,)")),
    ("missing G buffer", lambda a: a.pop("module/G/layers.1.running_var"),
     ("module 'G'", "layers.1.running_var")),
    ("text in place of a weight",
     lambda a: a.update({"module/D/layers.0.W": np.full((2, 6), "x")}),
     ("module 'D'", "layers.0.W")),
    ("mis-shaped optimizer moment",
     lambda a: a.update({"optimizer/D/state/exp_avg_sq/2": np.zeros((6, 2), np.float32)}),
     ("optimizer 'D'", "exp_avg_sq[2]")),
    ("missing optimizer moment", lambda a: a.pop("optimizer/G/state/exp_avg/0"),
     ("optimizer/G/state/exp_avg/0",)),
)


@pytest.mark.parametrize("what, change, shown", DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_failed_load_changes_nothing_and_names_file_module_and_entry(tmp_path, what, change,
                                                                       shown):
    saved = _tiny_gan(seed=0)
    saved.train(2)
    good = tmp_path / "good.npz"
    saved.save_checkpoint(good)
    bad = tmp_path / "bad.npz"
    _rewrite(good, bad, change)
    gan = _tiny_gan(seed=1)
    gan.train(3)                                  # a different state from the file's
    before = _everything(gan)
    with pytest.raises(CheckpointError) as info:
        gan.load_checkpoint(bad)
    message = str(info.value)
    assert str(bad) in message, message
    for text in shown:
        assert text in message, (what, message)
    _assert_unchanged(before, _everything(gan))
    gan.load_checkpoint(good)                     # and the model still loads a good file
    np.testing.assert_array_equal(B.to_numpy(gan.discriminator[2].W.data),
                                  B.to_numpy(saved.discriminator[2].W.data))


def test_a_failed_load_of_the_loop_state_changes_no_module(tmp_path):
    saved = _tiny_gan(seed=0)
    path = tmp_path / "bad_loop.npz"
    state = saved.state_dict()
    state["history"] = {"d_loss": []}             # not the loop's history keys
    checkpoint.save(path, {"G": saved.generator, "D": saved.discriminator},
                    {"G": saved.g_optimizer, "D": saved.d_optimizer},
                    extra={"gan": state, "extra": {}})
    gan = _tiny_gan(seed=1)
    gan.train(1)
    before = _everything(gan)
    with pytest.raises(CheckpointError, match="history"):
        gan.load_checkpoint(path)
    _assert_unchanged(before, _everything(gan))
