"""Reliability: clear errors on bad input, nothing lost on faults, exact resume.

What is tested elsewhere is not repeated here: shape and dtype errors of single layers
(test_layers, test_conv, test_module, and the random cases of test_fuzz), checkpoint round trips,
refusals of truncated, corrupted, pickled or mismatched files, and a save that fails between
writing and renaming (test_checkpoint), in-process resume (test_resume), downloads that fail or
do not match their checksum (test_idx). This file adds the rest:

    nested Sequentials name the path to the failing layer
    a NaN/Inf loss stops training: iteration, player, last finite losses, usual causes
    a diverged model is never saved over the last good checkpoint
    a process killed in the middle of a save leaves the previous checkpoint loadable
    resume in a NEW process: bit for bit on NumPy, float32 tolerance on the CuPy path
    Ctrl-C (from a callback, or a real SIGINT mid-iteration) saves, says how to continue,
    and the run continues exactly; a second Ctrl-C stops at once and keeps the old checkpoint
    the chapters' harness turns Ctrl-C into exit status 130 and the command that continues
    every chapter refuses bad arguments (counts, backend, --out, --data-dir) before any work
    Ctrl-C during a download leaves no partial file
"""
import math
import glob
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import resume_worker
from minigan import chapter
from minigan import backend as B
from minigan import checkpoint
from minigan.data import idx
from minigan.gan import GAN, TrainingDiverged, TrainingInterrupted
from minigan.losses import get_objective
from minigan.nn.activations import LeakyReLU, Tanh
from minigan.nn.dense import Dense
from minigan.nn.module import Sequential
from minigan.nn.shape import Reshape

WORKER = resume_worker.__file__
CHAPTERS = ("ch1_background", "ch2_core_concepts", "ch3_algorithm", "ch4_code_examples",
            "ch5_challenges", "ch5_mode_collapse", "ch6_gan_vs_vae", "ch6_compute_cost",
            "ch6_limits", "ch6_learning_rates")


def tiny_gan(seed=0, real=None, objective="non-saturating") -> GAN:
    """A 1D GAN small enough to train in milliseconds."""
    B.seed(seed)
    G = Sequential(Dense(1, 4), LeakyReLU(0.2), Dense(4, 1))
    D = Sequential(Dense(1, 4), LeakyReLU(0.2), Dense(4, 1))
    real = real or (lambda n: B.randn(n, 1) * 0.5 + 2.0)
    return GAN(G, D, real, latent_dim=1, batch_size=8, objective=objective, lr_g=2e-3, lr_d=2e-3)


def state_of(path) -> dict:
    """Every array and the metadata of a checkpoint file, as host values."""
    metadata, arrays = checkpoint.read(path)
    return {"arrays": arrays, "rng": metadata["rng"], "extra": metadata["extra"]}


def assert_same_checkpoint(a, b, rtol=0.0, atol=0.0):
    assert sorted(a["arrays"]) == sorted(b["arrays"])
    for key in a["arrays"]:
        if rtol == 0.0 and atol == 0.0:
            np.testing.assert_array_equal(a["arrays"][key], b["arrays"][key], err_msg=key)
        else:
            np.testing.assert_allclose(a["arrays"][key], b["arrays"][key], rtol=rtol, atol=atol,
                                       err_msg=key)
    assert a["rng"] == b["rng"]


# ---------------------------------------------------------------------------------------------
# Shapes

def test_nested_sequentials_name_the_path_to_the_failing_layer():
    decoder = Sequential(Dense(4, 6), Reshape(2, 3), Tanh())
    model = Sequential(Dense(3, 5), LeakyReLU(0.2), decoder)
    with pytest.raises(ValueError, match=r"^Sequential layer 2: Sequential layer 0: Dense\(4->6\) "
                                         r"expects input of shape \(N, 4\), got \(2, 5\)$"):
        model.forward(B.asarray(np.ones((2, 3))))


# ---------------------------------------------------------------------------------------------
# NaN and Inf

def test_a_nan_loss_stops_training_naming_iteration_player_and_last_losses():
    """Data that turn NaN at the 4th draw: the discriminator step of iteration 4 fails."""
    draws = []

    def real(n):
        draws.append(n)
        x = B.randn(n, 1) + 2.0
        if len(draws) == 4:
            x[3, 0] = float("nan")
        return x

    gan = tiny_gan(real=real)
    with pytest.raises(TrainingDiverged) as info:
        gan.train(10)
    error, message = info.value, str(info.value)
    assert isinstance(error, FloatingPointError)
    assert error.iteration == 4 and error.player == "discriminator"
    assert gan.iteration == 3 and len(gan.history["d_loss"]) == 3      # the history stays finite
    last = {"d_loss": gan.history["d_loss"][-1], "g_loss": gan.history["g_loss"][-1]}
    assert error.last_losses == last and all(math.isfinite(v) for v in last.values())
    assert "iteration 4" in message and "discriminator step" in message
    assert f"D {last['d_loss']:.6g}, G {last['g_loss']:.6g}" in message
    assert "real_logits" in message
    assert "learning rate" in message and "lr_d=0.002" in message and "logits" in message


def test_an_infinite_generator_loss_names_the_generator():
    class InfiniteAtSecondCall:
        """Non-saturating, except that the 2nd generator loss is +inf."""
        name = "non-saturating"

        def __init__(self):
            self.inner, self.g_calls = get_objective("non-saturating"), 0

        def d_loss(self, real_logits, fake_logits):
            return self.inner.d_loss(real_logits, fake_logits)

        def g_loss(self, fake_logits):
            self.g_calls += 1
            value, grad = self.inner.g_loss(fake_logits)
            return (math.inf if self.g_calls == 2 else value), grad

    gan = tiny_gan(objective=InfiniteAtSecondCall())
    with pytest.raises(TrainingDiverged, match=r"iteration 2: the generator step .*its loss is "
                                               r"inf\); the last finite losses \(iteration 1\)"):
        gan.train(5)


def test_a_diverged_model_never_overwrites_the_last_good_checkpoint(tmp_path):
    """A checkpoint every 2 iterations; the generator's weights turn NaN during iteration 4:
    training stops at the scheduled save, and the file still holds iteration 2."""
    path = tmp_path / "run.npz"
    gan = tiny_gan()

    def poison(g):
        if g.iteration == 4:
            g.generator.layers[2].W.data[0, 0] = float("nan")

    with pytest.raises(TrainingDiverged) as info:
        gan.train(10, callbacks=[poison], checkpoint_path=path, checkpoint_every=2)
    message = str(info.value)
    assert "G.layers.2.W holds NaN or Inf after iteration 4" in message
    assert f"not saved to {path}" in message and "learning rate" in message
    assert info.value.player == "generator" and info.value.checkpoint_path == path
    assert os.listdir(tmp_path) == ["run.npz"]
    resumed = tiny_gan(seed=5)
    resumed.load_checkpoint(path)
    assert resumed.iteration == 2
    assert all(bool(np.isfinite(B.to_numpy(p.data)).all())
               for p in resumed.generator.parameters() + resumed.discriminator.parameters())


def test_divergence_during_checkpointed_training_points_at_the_kept_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    calls = []

    def real(n):
        calls.append(n)
        return B.randn(n, 1) + (float("inf") if len(calls) == 5 else 2.0)

    gan = tiny_gan(real=real)
    gan.train(3, checkpoint_path=path, checkpoint_every=3)
    before = path.read_bytes()
    with pytest.raises(TrainingDiverged, match="The last good checkpoint, .*run.npz, is kept"):
        gan.train(3, checkpoint_path=path, checkpoint_every=3)
    assert path.read_bytes() == before
    assert state_of(path)["extra"]["gan"]["iteration"] == 3


# ---------------------------------------------------------------------------------------------
# Checkpoints: a process killed while saving

def run_worker(backend, mode, path):
    return subprocess.run([sys.executable, WORKER, backend, mode, str(path)],
                          capture_output=True, text=True, timeout=120)


def test_a_process_killed_mid_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "run.npz"
    done = run_worker("numpy", "first", path)
    assert done.returncode == 0, done.stderr
    before = path.read_bytes()
    killed = run_worker("numpy", "killed", path)      # dies between write and rename
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert path.read_bytes() == before
    leftovers = [name for name in os.listdir(tmp_path) if name != "run.npz"]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")    # the unfinished new file
    gan = resume_worker.build(seed=3)
    gan.load_checkpoint(path)
    assert gan.iteration == resume_worker.HALF


# ---------------------------------------------------------------------------------------------
# Resume in a new process

def device_backend() -> str:
    """'cupy' where a GPU is usable, else the CuPy stand-in (the same code path, on the CPU)."""
    try:
        B.use("cupy")
    except RuntimeError:
        return "fakecupy"
    finally:
        B.use("numpy")
    return "cupy"


@pytest.mark.parametrize("backend", ["numpy", "device"])
def test_resume_in_a_new_process_matches_the_uninterrupted_run(tmp_path, backend):
    """2*HALF iterations here == HALF in one process, save, load in another, HALF more."""
    backend = device_backend() if backend == "device" else backend
    resume_worker.use_backend(backend)
    straight = resume_worker.build(seed=0)
    straight.train(2 * resume_worker.HALF)
    straight.save_checkpoint(tmp_path / "straight.npz")
    B.use("numpy")

    path = tmp_path / "split.npz"
    for mode in ("first", "resume"):
        done = run_worker(backend, mode, path)
        assert done.returncode == 0, done.stderr
    a, b = state_of(tmp_path / "straight.npz"), state_of(path)
    assert b["extra"]["gan"]["iteration"] == 2 * resume_worker.HALF
    assert b["extra"]["gan"]["epoch"] >= 2                  # crossed epoch boundaries
    if backend == "numpy":
        assert_same_checkpoint(a, b)                        # bit for bit
        assert a["extra"] == b["extra"]
    else:                                                   # GPU reductions may reorder sums
        assert_same_checkpoint(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a["extra"]["gan"]["history"]["d_loss"],
                                   b["extra"]["gan"]["history"]["d_loss"], rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Ctrl-C

def test_ctrl_c_saves_says_how_to_continue_and_the_run_continues_exactly(tmp_path, capsys):
    straight = tiny_gan()
    straight.train(8)

    path = tmp_path / "run.npz"
    gan = tiny_gan()

    def press_ctrl_c(g):
        if g.iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as info:
        gan.train(8, callbacks=[press_ctrl_c], checkpoint_path=path)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.iteration == 3 and info.value.checkpoint_path == str(path)
    err = capsys.readouterr().err
    assert f"interrupted after iteration 3; saved to {path}" in err and "--resume" in err
    assert "load_checkpoint" in err

    resumed = tiny_gan(seed=11)
    resumed.load_checkpoint(path)
    resumed.train(5)
    for p, q in zip(straight.generator.parameters() + straight.discriminator.parameters(),
                    resumed.generator.parameters() + resumed.discriminator.parameters()):
        np.testing.assert_array_equal(B.to_numpy(p.data), B.to_numpy(q.data))
    assert resumed.history == straight.history

    plain = tiny_gan()                                       # no checkpoint path: nothing saved
    with pytest.raises(KeyboardInterrupt) as info:
        plain.train(8, callbacks=[press_ctrl_c])
    assert not isinstance(info.value, TrainingInterrupted)


def test_a_real_sigint_mid_iteration_lets_the_iteration_finish_then_saves(tmp_path):
    """SIGINT arrives inside D's forward pass of iteration 2: iteration 2 still completes (both
    players step), then the run is saved and stopped; Python's handler is back afterwards."""
    path = tmp_path / "run.npz"
    gan = tiny_gan()
    forward = gan.discriminator.forward
    calls = []

    def forward_with_sigint(x):
        calls.append(gan.iteration)
        if len(calls) == 4:                                  # iteration 2's first D forward
            signal.raise_signal(signal.SIGINT)
        return forward(x)

    gan.discriminator.forward = forward_with_sigint
    with pytest.raises(TrainingInterrupted):
        gan.train(6, checkpoint_path=path)
    assert gan.iteration == 2 and len(gan.history["g_loss"]) == 2
    assert state_of(path)["extra"]["gan"]["iteration"] == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_sigint_stops_at_once_and_keeps_the_earlier_checkpoint(tmp_path, capsys):
    path = tmp_path / "run.npz"
    gan = tiny_gan()
    gan.train(2, checkpoint_path=path, checkpoint_every=2)
    before = path.read_bytes()
    forward = gan.discriminator.forward

    def forward_with_two_sigints(x):
        signal.raise_signal(signal.SIGINT)                   # noted: finish the iteration ...
        signal.raise_signal(signal.SIGINT)                   # ... no: stop now
        return forward(x)

    gan.discriminator.forward = forward_with_two_sigints
    with pytest.raises(TrainingInterrupted) as info:
        gan.train(4, checkpoint_path=path, checkpoint_every=2)
    assert info.value.checkpoint_path is None and gan.iteration == 2
    assert path.read_bytes() == before
    err = capsys.readouterr().err
    assert "in the middle of iteration 3; that state is not saved" in err
    assert f"the earlier checkpoint {path} is kept" in err


def test_the_chapter_harness_exits_130_with_the_command_that_continues(tmp_path, capsys):
    for has_resume in (True, False):
        parser = chapter.make_parser("A chapter.", "ch4_code_examples")
        if has_resume:
            parser.add_argument("--resume", action="store_true")
        argv = ["--quick", "--out", str(tmp_path / "out dir")]
        args = chapter.parse_args(parser, argv)
        try:
            with chapter.session(args):
                B.set_dtype("float64")
                raise TrainingInterrupted("stopped", 3, str(tmp_path / "run.npz"))
        except SystemExit as stop:
            assert stop.code == 130
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C went through the harness instead of ending the run")
        assert B.dtype() == np.float32                      # settings restored
        err = capsys.readouterr().err
        script = os.path.relpath(os.path.join(chapter.ROOT, "chapters", "ch4_code_examples.py"))
        command = f"python {script} --quick --out '{tmp_path / 'out dir'}'"
        if has_resume:
            assert f"To continue from its last checkpoint, run:\n  {command} --resume\n" in err
        else:
            assert f"has no --resume; to run it again:\n  {command}\n" in err


# ---------------------------------------------------------------------------------------------
# Command lines

BAD_ARGUMENTS = [(name, argv, "--backend") for name in CHAPTERS
                 for argv in (["--backend", "tpu"],)] + [
    ("ch4_code_examples", ["--epochs", "0"], "--epochs"),
    ("ch4_code_examples", ["--epochs", "-2"], "--epochs"),
    ("ch4_code_examples", ["--num-images", "0"], "--num-images"),
    ("ch4_code_examples", ["--dataset", "mnist", "--data-dir", "{tmp}/no/such/folder"],
     "--data-dir"),
    ("ch5_mode_collapse", ["--seeds", "0"], "--seeds"),
    ("ch6_gan_vs_vae", ["--seed", "-4"], "--seed"),
] + [(name, ["--out", "{tmp}/a_file/figures"], "--out") for name in CHAPTERS]


@pytest.mark.parametrize("name, argv, option", BAD_ARGUMENTS,
                         ids=[f"{c} {' '.join(a)}".replace("{tmp}", "")
                              for c, a, _ in BAD_ARGUMENTS])
def test_chapters_refuse_bad_arguments_before_any_work(name, argv, option, tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "never")]
    with pytest.raises(SystemExit) as stop:
        chapter.run(name, argv + ["--quick"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument " + option in err and err.startswith("usage:")
    assert sorted(os.listdir(tmp_path)) == ["a_file"]      # nothing created


def test_an_unwritable_output_folder_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(chapter.os, "access", lambda path, mode: False)
    with pytest.raises(SystemExit) as stop:
        chapter.run("ch3_algorithm", ["--quick", "--out", str(tmp_path / "figures")])
    assert stop.value.code == 2
    assert f"argument --out: cannot write into {tmp_path}" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# Data

def test_ctrl_c_during_a_download_leaves_no_partial_file(tmp_path, monkeypatch):
    def half_then_ctrl_c(url, out, timeout=60.0):
        out.write(b"\x1f\x8b" + bytes(100))
        raise KeyboardInterrupt

    monkeypatch.setattr(idx, "_fetch_url", half_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        idx.load_mnist("mnist", "test", data_dir=tmp_path / "cache")
    assert os.listdir(tmp_path / "cache") == []


# ---------------------------------------------------------------------------------------------
# Arguments: a bad value of the right or wrong type is refused by minigan, naming the function,
# the argument and the value -- never accepted in silence, never a message from NumPy or Python

from minigan import losses, metrics  # noqa: E402
from minigan.data.toy import GaussianMixture, Grid, Mixture1D, Ring, TwoMoons  # noqa: E402
from minigan.nn.conv import Conv2d, ConvTranspose2d  # noqa: E402
from minigan.nn.dropout import Dropout  # noqa: E402
from minigan.nn.minibatch import MinibatchStdDev  # noqa: E402
from minigan.nn.norm import BatchNorm1d  # noqa: E402
from minigan.optim import SGD, Adam  # noqa: E402

NAN = float("nan")


def _params():
    return Dense(2, 2).parameters()


def _bad_d_gan():
    B.seed(0)
    G = Sequential(Dense(1, 4), LeakyReLU(0.2), Dense(4, 1))
    return GAN(G, Sequential(Dense(1, 4), Dense(4, 2)), lambda n: B.randn(n, 1), latent_dim=1,
               batch_size=8)


ARGUMENT_CASES = (   # (id, call, exception, regex the message must match)
    ("Conv2d kernel float", lambda: Conv2d(1, 1, 3.0), ValueError,
     r"Conv2d: kernel_size must be an int or a pair of ints, got 3\.0"),
    ("ConvTranspose2d stride str", lambda: ConvTranspose2d(1, 1, 3, stride="2"), ValueError,
     r"ConvTranspose2d: stride must be an int or a pair of ints, got '2'"),
    ("Adam betas scalar", lambda: Adam(_params(), betas=0.9), TypeError,
     r"Adam: betas must be a pair .* got 0\.9 \(float\)"),
    ("Adam beta nan", lambda: Adam(_params(), betas=(NAN, 0.9)), ValueError,
     r"Adam: betas\[0\] must be a finite number, got nan"),
    ("Adam eps str", lambda: Adam(_params(), eps="1e-8"), TypeError,
     r"Adam: eps must be a number, got '1e-8' \(str\)"),
    ("SGD momentum str", lambda: SGD(_params(), lr=0.1, momentum="0.9"), TypeError,
     r"SGD: momentum must be a number, got '0\.9'"),
    ("Dropout str", lambda: Dropout("0.5"), TypeError, r"Dropout: p must be a number, got '0\.5'"),
    ("Dropout 1", lambda: Dropout(1.0), ValueError, r"Dropout: p must be in \[0, 1\), got 1\.0"),
    ("LeakyReLU nan", lambda: LeakyReLU(NAN), ValueError,
     r"LeakyReLU: negative_slope must be a finite number, got nan"),
    ("sample -1", lambda: tiny_gan().sample(-1), ValueError,
     r"GAN\.sample: n must be an int >= 1, got -1"),
    ("sample 2.5", lambda: tiny_gan().sample(2.5), TypeError,
     r"GAN\.sample: n must be an int, got 2\.5 \(float\)"),
    ("seed float", lambda: B.seed(1.7), TypeError, r"seed: s must be an int, got 1\.7"),
    ("seed negative", lambda: B.seed(-3), ValueError, r"seed: s must be a non-negative int"),
    ("set_dtype None", lambda: B.set_dtype(None), TypeError,
     r"dtype must be 'float32' or 'float64', got None"),
    ("set_dtype int", lambda: B.set_dtype("int32"), ValueError,
     r"dtype must be float32 or float64, got int32"),
    ("latent_dim bool", lambda: GAN(Dense(1, 1), Dense(1, 1), lambda n: B.randn(n, 1),
                                    latent_dim=True), ValueError,
     r"GAN: latent_dim must be a positive int or a tuple of them, got True"),
    ("objective not one", lambda: GAN(Dense(1, 1), Dense(1, 1), lambda n: B.randn(n, 1),
                                      latent_dim=1, objective=3), TypeError,
     r"GAN: objective must be one of .* got 3 \(int\)"),
    ("objective unknown name", lambda: GAN(Dense(1, 1), Dense(1, 1), lambda n: B.randn(n, 1),
                                           latent_dim=1, objective="wgan-gp"), ValueError,
     r"unknown GAN objective 'wgan-gp'"),
    ("D output (N, 2)", lambda: _bad_d_gan().train(1), ValueError,
     r"GAN: the discriminator must output one logit per example, shape \(N, 1\), got \(8, 2\)"),
    ("real sampler batch", lambda: tiny_gan(real=lambda n: B.randn(n + 1, 1)).train(1),
     ValueError, r"GAN: the real sampler was asked for 8 examples and returned shape \(9, 1\)"),
    ("bce NaN targets", lambda: losses.bce_with_logits(B.xp.zeros((3, 1), dtype="float32"),
                                                       B.asarray(np.full((3, 1), NAN))),
     ValueError, r"bce_with_logits: targets must be probabilities in \[0, 1\]; 3 are NaN"),
    ("bce target 2", lambda: losses.bce_with_logits(B.xp.zeros((3, 1), dtype="float32"), 2.0),
     ValueError, r"bce_with_logits: targets must be in \[0, 1\], got 2\.0"),
    ("bce target array -1", lambda: losses.bce_with_logits(
        B.xp.zeros((3, 1), dtype="float32"), B.asarray(np.array([[0.0], [-1.0], [1.0]]))),
     ValueError, r"0 are NaN and 1 lie outside \[0, 1\]"),
    ("frechet non-symmetric", lambda: metrics.frechet_distance(
        np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2)),
     ValueError, r"frechet_distance: sigma1 is not symmetric"),
    ("frechet non-PSD", lambda: metrics.frechet_distance(
        np.zeros(2), np.eye(2), np.zeros(2), np.diag([1.0, -0.5])),
     ValueError, r"frechet_distance: sigma2 is not positive semi-definite \(smallest eigenvalue "
                 r"-0\.5"),
    ("frechet NaN mean", lambda: metrics.frechet_distance(
        np.array([0.0, NAN]), np.eye(2), np.zeros(2), np.eye(2)),
     ValueError, r"frechet_distance: mu1 holds 1 NaN or Inf value"),
    ("FID NaN features", lambda: metrics.fid_from_features(
        np.r_[np.random.default_rng(0).standard_normal((9, 2)), [[NAN, 0.0]]],
        np.random.default_rng(1).standard_normal((10, 2))),
     ValueError, r"fid_from_features: f_real holds 1 NaN or Inf value"),
    ("mode_coverage NaN samples", lambda: metrics.mode_coverage(
        np.array([[0.0, NAN]]), np.zeros((1, 2)), 0.1),
     ValueError, r"mode_coverage: samples holds 1 NaN or Inf value"),
    ("mode_coverage std nan", lambda: metrics.mode_coverage(np.zeros((1, 2)), np.zeros((1, 2)),
                                                            NAN),
     ValueError, r"mode_coverage: std must be a finite number, got nan"),
    ("jensen_shannon Inf", lambda: metrics.jensen_shannon(
        np.array([0.5, np.inf]), np.array([0.5, 0.5]), 1.0),
     ValueError, r"jensen_shannon: p holds 1 NaN or Inf value"),
    ("jensen_shannon dx str", lambda: metrics.jensen_shannon(np.ones(2) / 2, np.ones(2) / 2, "1"),
     TypeError, r"jensen_shannon: dx \(the grid cell size\) must be a number, got '1'"),
    ("mixture NaN weight", lambda: Mixture1D(weights=(NAN, 1.0)), ValueError,
     r"Mixture1D: weights must be 2 non-negative finite numbers"),
    ("mixture Inf std", lambda: GaussianMixture([[0.0]], [np.inf]), ValueError,
     r"GaussianMixture: standard deviations must be positive finite numbers"),
    ("moons NaN noise", lambda: TwoMoons(NAN), ValueError,
     r"TwoMoons: noise must be a finite number, got nan"),
    ("ring modes float", lambda: Ring(num_modes=8.5), TypeError,
     r"Ring: num_modes must be an int, got 8\.5"),
    ("grid spacing 0", lambda: Grid(spacing=0), ValueError, r"Grid: spacing must be positive"),
    ("mixture std str", lambda: GaussianMixture([[0.0]], ["1"]), TypeError,
     r"GaussianMixture: stds must be numbers, got \['1'\]"),
    ("Dense bias str", lambda: Dense(3, 4, bias="no"), TypeError,
     r"Dense: bias must be True or False, got 'no'"),
    ("Conv2d bias int", lambda: Conv2d(1, 1, 3, bias=1), TypeError,
     r"Conv2d: bias must be True or False, got 1"),
    ("BatchNorm momentum str", lambda: BatchNorm1d(4, momentum="x"), TypeError,
     r"BatchNorm1d: momentum must be a number, got 'x'"),
    ("BatchNorm eps nan", lambda: BatchNorm1d(4, eps=NAN), ValueError,
     r"BatchNorm1d: eps must be a finite number, got nan"),
    ("MinibatchStdDev eps str", lambda: MinibatchStdDev(eps="x"), TypeError,
     r"MinibatchStdDev: eps must be a number, got 'x'"),
    ("inception splits float", lambda: metrics.inception_score(np.full((4, 2), 0.5), splits=1.5),
     TypeError, r"inception_score: splits must be an int, got 1\.5"),
    ("GAN real None", lambda: GAN(Dense(1, 1), Dense(1, 1), None, latent_dim=1), TypeError,
     r"GAN: real must be a function n -> n real examples, or an array of training data, got "
     r"None"),
)


@pytest.mark.parametrize("call, error, pattern", [c[1:] for c in ARGUMENT_CASES],
                         ids=[c[0] for c in ARGUMENT_CASES])
def test_bad_arguments_are_refused_naming_argument_and_value(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_a_batchnorm_channel_whose_float32_variance_overflows_gives_nan_not_zeros():
    bn = BatchNorm1d(2)
    x = B.asarray(np.array([[1e20, 1.0], [-1e20, 2.0], [3e19, 3.0]], dtype=np.float32))
    y = B.to_numpy(bn.forward(x))
    assert np.isnan(y[:, 0]).all()                      # the loss checks then stop training
    np.testing.assert_allclose(y[:, 1], [-1.2247, 0.0, 1.2247], atol=1e-3)


@pytest.mark.parametrize("what", ["size", "labels"])
def test_load_mnist_refuses_idx_files_of_another_kind(tmp_path, what):
    images = np.zeros((3, 32, 32) if what == "size" else (3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 12 if what == "labels" else 3], dtype=np.uint8)
    idx.write_idx(tmp_path / "t10k-images-idx3-ubyte", images)
    idx.write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels)
    pattern = (r"t10k-images-idx3-ubyte holds images of shape \(32, 32\), not 28x28"
               if what == "size" else r"t10k-labels-idx1-ubyte holds labels from 1 to 12; mnist "
                                      r"labels are 0\.\.9")
    with pytest.raises(idx.IDXFormatError, match=pattern):
        idx.load_mnist("mnist", "test", data_dir=tmp_path, download=False, verify=False)


# ---------------------------------------------------------------------------------------------
# Chapter scripts: an expected failure is one line on stderr and exit status 2, no traceback

FAKE_CHAPTER = """
from minigan import chapter
from minigan.data import idx
parser = chapter.make_parser("A chapter.", "fake_chapter")
args = chapter.parse_args(parser)
chapter.start(args)
if args.quick:
    raise idx.DownloadError("could not download t10k-images-idx3-ubyte.gz (no network)")
1 / 0
"""


def run_script(argv, cwd=None, **env_vars):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGAN_")}
    env.update(env_vars)
    return subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def _expect_one_line(r, *texts):
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for text in texts:
        assert text in lines[0], r.stderr


def test_a_bad_environment_variable_stops_a_chapter_script_in_one_line(tmp_path):
    script = os.path.join(chapter.ROOT, "chapters", "ch1_background.py")
    r = run_script([script, "--quick", "--out", str(tmp_path)], MINIGAN_BACKEND="bogus")
    _expect_one_line(r, "ch1_background.py: error: environment variable MINIGAN_BACKEND='bogus'",
                     "expected 'numpy' or 'cupy'")
    # A library user: the first import of the backend (every module of minigan that computes
    # imports it) fails with the error itself, naming the variable.
    for statement in ("import minigan.backend", "from minigan import nn", "import minigan.gan"):
        r = run_script(["-c", statement], MINIGAN_BACKEND="bogus")
        assert r.returncode == 1 and "Traceback" in r.stderr and "ValueError" in r.stderr
        assert "MINIGAN_BACKEND='bogus'" in r.stderr
    # Every chapter imports minigan.chapter first, so that it can say this in one line.
    for path in sorted(glob.glob(os.path.join(chapter.ROOT, "chapters", "ch*.py"))):
        with open(path, encoding="utf-8") as f:
            imports = [line for line in f if line.startswith(("from minigan", "import minigan"))]
        assert imports and imports[0].startswith("from minigan import chapter"), path


def test_a_damaged_data_file_stops_a_chapter_script_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in idx.FILES["test"]:
        (data / name).write_bytes(b"\x1f\x8b not really gzip")
    script = os.path.join(chapter.ROOT, "chapters", "ch4_code_examples.py")
    r = run_script([script, "--quick", "--dataset", "mnist", "--data-dir", str(data),
                    "--out", str(tmp_path / "out")])
    _expect_one_line(r, "ch4_code_examples.py: error: ", "t10k-images-idx3-ubyte.gz: MD5")


def test_resume_with_no_checkpoint_at_all_stops_in_one_line(tmp_path):
    script = os.path.join(chapter.ROOT, "chapters", "ch4_code_examples.py")
    r = run_script([script, "--quick", "--resume", "--examples", "dense,cgan",
                    "--out", str(tmp_path)])
    _expect_one_line(r, "error: --resume: no checkpoint to continue from in",
                     "dense/checkpoint.npz, cgan/checkpoint.npz")


def test_a_failed_download_stops_a_script_in_one_line_and_other_errors_keep_the_traceback(
        tmp_path):
    script = tmp_path / "fake_chapter.py"
    script.write_text(FAKE_CHAPTER)
    r = run_script([str(script), "--quick", "--out", str(tmp_path / "out")], cwd=chapter.ROOT)
    _expect_one_line(r, "fake_chapter.py: error: could not download t10k-images-idx3-ubyte.gz")
    r = run_script([str(script), "--out", str(tmp_path / "out")], cwd=chapter.ROOT)
    assert r.returncode == 1 and "Traceback" in r.stderr and "ZeroDivisionError" in r.stderr


def test_resumable_says_which_parts_start_fresh(tmp_path, capsys):
    parser = chapter.make_parser("A chapter.", "ch4_code_examples")
    parser.add_argument("--resume", action="store_true")
    args = chapter.parse_args(parser, ["--resume", "--out", str(tmp_path)])
    (tmp_path / "a.npz").write_bytes(b"")
    found = chapter.resumable(args, {"a": str(tmp_path / "a.npz"), "b": str(tmp_path / "b.npz")})
    assert found == {"a": str(tmp_path / "a.npz")}
    assert capsys.readouterr().out == f"[b] --resume: no checkpoint at {tmp_path / 'b.npz'}; " \
                                      f"this part starts fresh\n"
    args = chapter.parse_args(parser, ["--out", str(tmp_path)])
    assert chapter.resumable(args, {"b": str(tmp_path / "b.npz")}) == {}


def test_a_figure_path_that_is_a_folder_stops_a_chapter_script_in_one_line(tmp_path):
    (tmp_path / "noise_to_samples.png").mkdir()
    script = os.path.join(chapter.ROOT, "chapters", "ch1_background.py")
    r = run_script([script, "--quick", "--out", str(tmp_path)], MPLBACKEND="Agg")
    _expect_one_line(r, "ch1_background.py: error: plot.save:", "is a folder")


def test_chapter_options_that_would_be_ignored_or_unreadable_are_refused(tmp_path):
    script = os.path.join(chapter.ROOT, "chapters", "ch4_code_examples.py")
    r = run_script([script, "--quick", "--data-dir", str(tmp_path), "--out", str(tmp_path)])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "--data-dir: only read with --dataset mnist" in r.stderr
    r = run_script([script, "--quick", "--out", ""])
    assert r.returncode == 2 and "argument --out: expected a folder name" in r.stderr
    r = run_script([script, "--quick", "--penalty-weight", "3", "--out", str(tmp_path)])
    assert r.returncode == 2 and "--penalty-weight given without --penalty" in r.stderr
