"""Chapter 4 in --quick mode: every example runs, writes its figures, keeps its losses finite, shows
the documents' errata; and a resumed run continues exactly where an uninterrupted one would be,
whether it stopped at the end of an epoch or was interrupted by Ctrl-C in the middle of one."""
import os
import re
import signal

import numpy as np
import pytest

from minigan import chapter, checkpoint
from minigan.gan import GAN


@pytest.fixture(scope="module")
def quick(quick_run):
    """One --quick run of every example (2 epochs each), shared by the tests below."""
    return quick_run("ch4_code_examples")


def ch4(argv):
    """python chapters/ch4_code_examples.py *argv, in this process; returns its result."""
    return chapter.run("ch4_code_examples", argv)


def test_quick_run_of_every_example(quick):
    tmp_path, numbers = quick
    for figure in numbers["figures"]:
        assert os.path.getsize(figure) > 0, figure
    names = {os.path.relpath(f, tmp_path) for f in numbers["figures"]}
    for example in ("dense", "dcgan", "cgan"):
        assert {f"{example}/history.png", f"{example}/grids.gif"} <= names
        assert os.path.exists(tmp_path / example / "epoch_002.png")
        assert os.path.exists(tmp_path / example / "checkpoint.npz")
    assert {"summary.png", "train_step.png"} <= names
    for key, value in numbers.items():
        if key.endswith("losses_finite"):
            assert value is True, key
    assert 0 <= numbers["judge_conv_test_accuracy"] <= 1
    assert 0 <= numbers["judge_mlp_test_accuracy"] <= 1
    assert 0 <= numbers["cgan_label_accuracy"] <= 1
    cgan = numbers["records"]["cgan"].verdict
    assert numbers["cgan_label_accuracy"] == cgan.label_accuracy == min(
        judge["label_accuracy"] for judge in cgan.judges.values())
    assert set(cgan.judges) == {"conv", "mlp"}
    # a smoke test judges no target
    for key in ("dense_target_met", "dcgan_target_met", "cgan_target_met"):
        assert numbers[key] == chapter.NOT_JUDGED, key
    # 4.1: document 003's loop never changes G
    assert numbers["doc003_g_parameter_change"] == 0.0
    # 4.2: document 001's generator makes 16x16 images; 004's leaves [-1, 1] and is 8x8
    assert numbers["doc001_generator_output"] == "1x16x16"
    assert numbers["doc004_generator_output"] == "1x8x8"
    assert numbers["records"]["dcgan"].doc004_fraction_outside_unit_range > 0.05
    # 4.3: BCE on raw outputs leaves G without gradient for fakes scored outside (0, 1);
    # from logits every fake gives one; -log of a raw output <= 0 is NaN
    assert numbers["raw_bce_g_zero_gradient_fraction"] > 0.2
    assert numbers["logits_g_zero_gradient_fraction"] == 0.0
    assert numbers["naive_log_nan_fraction"] > 0.2


def test_bad_arguments_stop_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit):
        ch4(["--quick", "--examples", "dense,wgan", "--out", str(tmp_path)])
    assert "unknown example" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "dense")


def test_resume_continues_exactly_where_an_uninterrupted_run_would_be(quick, tmp_path):
    """1 epoch, stop, --resume to 2 epochs == the 2 epochs of the uninterrupted quick run.

    Each example seeds its own models, so the conditional GAN of the full quick run is the
    uninterrupted reference; the two checkpoints must agree bit for bit.
    """
    straight_out, _ = quick
    common = ["--quick", "--examples", "cgan", "--out", str(tmp_path)]
    ch4(common + ["--epochs", "1"])
    resumed = ch4(common + ["--epochs", "2", "--resume"])
    assert resumed["cgan_losses_finite"]
    assert_same_checkpoint(straight_out / "cgan" / "checkpoint.npz",
                           tmp_path / "cgan" / "checkpoint.npz")


def test_ctrl_c_mid_epoch_saves_and_resume_matches_the_uninterrupted_run(quick, tmp_path,
                                                                        monkeypatch, capsys):
    """A real SIGINT during the generator step of iteration 5 (epoch 2 of 3 steps per epoch): the
    chapter finishes that iteration, saves it with epoch 1's grid, and exits with status 130;
    --resume finishes epoch 2 and ends bit for bit where the uninterrupted quick run ended."""
    straight_out, _ = quick
    common = ["--quick", "--examples", "cgan", "--out", str(tmp_path)]
    g_step = GAN.g_step

    def g_step_with_ctrl_c(gan):
        if gan.iteration == 4:
            signal.raise_signal(signal.SIGINT)
        return g_step(gan)

    monkeypatch.setattr(GAN, "g_step", g_step_with_ctrl_c)
    with pytest.raises(SystemExit) as stop:
        ch4(common + ["--epochs", "2"])
    assert stop.value.code == 130
    assert "--resume" in capsys.readouterr().err
    monkeypatch.undo()
    path = tmp_path / "cgan" / "checkpoint.npz"
    meta, _ = checkpoint.read(path)
    assert meta["extra"]["gan"]["iteration"] == 5                       # mid-epoch 2
    assert len(meta["extra"]["extra"]["frames"]) == 1                   # epoch 1's grid only
    assert not os.path.exists(tmp_path / "cgan" / "epoch_002.png")

    ch4(common + ["--epochs", "2", "--resume"])
    assert_same_checkpoint(straight_out / "cgan" / "checkpoint.npz", path)


def assert_same_checkpoint(path_a, path_b):
    """Two checkpoints agree bit for bit: every array, the RNG state and the extra metadata."""
    meta_a, arrays_a = checkpoint.read(path_a)
    meta_b, arrays_b = checkpoint.read(path_b)
    assert sorted(arrays_a) == sorted(arrays_b)
    assert any(key.startswith("module/G/") for key in arrays_a)
    assert any(key.startswith("optimizer/D/") for key in arrays_a)
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)
    assert meta_a["rng"] == meta_b["rng"]
    assert meta_a["extra"] == meta_b["extra"]          # iteration, histories, data order, grids


# ---------------------------------------------------------------------------------------------
# MNIST's splits and the two judges, on tiny IDX files written here

def write_tiny_mnist(directory, splits=("train", "test"), n=64):
    """Uncompressed IDX files under MNIST's names: digit-like blobs whose position is the label."""
    from minigan.data import idx
    rng = np.random.default_rng(0)
    for split in splits:
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label:8 + 2 * label, 8:20] = 255      # a bar at a label's height
        names = idx.FILES[split]
        idx.write_idx(os.path.join(directory, names[0][:-3]), images)
        idx.write_idx(os.path.join(directory, names[1][:-3]), labels)


def ch4_mnist(tmp_path, data_dir):
    return ch4(["--quick", "--examples", "dcgan", "--dataset", "mnist", "--data-dir",
                str(data_dir), "--out", str(tmp_path / "out")])


def test_mnist_trains_on_the_training_split_and_judges_on_the_test_split(tmp_path, capsys):
    write_tiny_mnist(tmp_path)
    numbers = ch4_mnist(tmp_path, tmp_path)
    assert numbers["split"].startswith("MNIST training split: 48 images")
    out = capsys.readouterr().out
    assert "unavailable" not in out
    # the training time to expect, from timed iterations; every epoch line says what is left
    assert re.search(r"Training time, from dcgan timed for a few iterations each: about \d+ s",
                     out)
    assert re.search(r"\[dcgan\] epoch 1/2 .*\(about \d+ s left for dcgan; about \d+ s of "
                     r"training left in the chapter\)", out)
    for judge in ("conv", "mlp"):                     # two judges, each scored on the test split
        assert 0 <= numbers[f"judge_{judge}_test_accuracy"] <= 1
    dcgan = numbers["records"]["dcgan"].verdict
    assert numbers["dcgan_min_class_fraction"] == min(
        judge["min_class_fraction"] for judge in dcgan.judges.values())


def test_without_the_training_split_mnist_falls_back_to_the_test_split_saying_so(
        tmp_path, capsys, monkeypatch):
    from minigan.data import idx

    def no_network(kind, name, directory):
        raise idx.DownloadError(f"could not download {name} (no network)")

    monkeypatch.setattr(idx, "_download", no_network)
    write_tiny_mnist(tmp_path, splits=("test",))
    numbers = ch4_mnist(tmp_path, tmp_path)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("MNIST's training split is unavailable")]
    assert len(lines) == 1 and "training on the test split's first 48 images" in lines[0]
    assert "DownloadError" in lines[0]
    assert numbers["split"].startswith("MNIST test split")
