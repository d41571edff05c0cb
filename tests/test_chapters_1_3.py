"""Chapters 1-3 in --quick mode: they run, write their figures, and measure what the theory says.

The tolerances hold for any seed (checked over many seeds when they were set); the tests use the
default seed to keep the suite fast.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan import backend as B
from minigan import chapter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _figures_written(numbers, out):
    assert numbers["figures"], "a chapter must save figures"
    for path in numbers["figures"]:
        assert os.path.dirname(path) == str(out)
        assert os.path.getsize(path) > 1000, path


def test_chapter1_generators_and_their_distributions(quick_run):
    out, numbers = quick_run("ch1_background")
    _figures_written(numbers, out)
    n = numbers["samples"]
    # an untrained network's samples sit near 0, far from N(3, 0.5^2)
    assert numbers["untrained"].jsd > 0.5
    # the hand-set affine generator IS the target: JSD ~ 0, sample moments within 6 s.e.
    assert numbers["affine"].jsd < 1e-3
    assert abs(numbers["affine"].sample_mean - 3.0) < 6 * 0.5 / math.sqrt(n)
    assert abs(numbers["affine"].sample_std - 0.5) < 6 * 0.5 / math.sqrt(2 * n)
    # the hand-set two-layer network makes the two-mode mixture
    assert numbers["two_layer"].jsd < 1e-2
    assert abs(numbers["two_layer"].sample_mean) < 6 * numbers["two_layer"].target_std / math.sqrt(n)
    assert abs(numbers["two_layer"].sample_std / numbers["two_layer"].target_std - 1) < 0.03


def test_chapter2_discriminator_reaches_d_star_and_generator_alone_collapses(quick_run):
    out, numbers = quick_run("ch2_core_concepts")
    _figures_written(numbers, out)
    # Proposition 1: D -> D* = p_data / (p_data + p_g) where 99% of the mass is
    assert numbers["max_abs_d_minus_d_star"] < 0.05
    assert numbers["region_lo"] < -4 and numbers["region_hi"] > 4.5
    # D's loss settles at its minimum log 4 - 2 JSD (a minibatch estimate: noisy)
    assert abs(numbers["d_loss_end"] - numbers["d_loss_min"]) < 0.03
    # G alone runs to D's peak and collapses there; the JSD gets worse, D then rejects it
    assert numbers["g_std_after"] < 0.05
    assert abs(numbers["g_mean_after"] - numbers["d_peak"]) < 0.1
    assert numbers["jsd_after_g_alone"] > numbers["jsd_before"] + 0.1
    assert numbers["d_fake_after_g_alone"] > 0.6
    assert numbers["d_fake_after_d_retrained"] < numbers["d_fake_after_g_alone"] - 0.2


def test_chapter3_algorithm1_theorem1_and_convergence(quick_run):
    out, numbers = quick_run("ch3_algorithm")
    _figures_written(numbers, out)
    assert {os.path.basename(p) for p in numbers["figures"]} >= {
        "figure1.png", "training.gif", "theorem1.png", "generator_losses.png"}
    # Theorem 1: V(D*, G) = -log 4 + 2 JSD at every checkpoint of training
    assert numbers["max_theorem1_gap"] < 1e-3
    assert len(numbers["checkpoints"]) >= 5
    for state in numbers["checkpoints"].values():
        assert state["v_star"] >= -math.log(4) - 1e-9          # C(G) >= -log 4
        assert state["v_trained"] <= state["v_star"] + 1e-3   # Proposition 1: D* maximises V
    # the generator converges: mean and std within 5% of the data's, C(G) near -log 4
    assert numbers["mean_rel_error"] < 0.05
    assert numbers["std_rel_error"] < 0.05
    assert numbers["final_jsd"] < 0.02
    # saturating vs non-saturating: the gradient per sample at D(G(z)) = 0.01
    assert numbers["grad_saturating_at_0.01"] == pytest.approx(0.01, rel=1e-3)
    assert numbers["grad_nonsaturating_at_0.01"] == pytest.approx(0.99, rel=1e-3)
    assert numbers["initial_d_fake"] < 0.1
    assert numbers["g_grad_norm_nonsaturating"] > 10 * numbers["g_grad_norm_saturating"]


@pytest.mark.parametrize("name, argv", [
    ("ch1_background", ["--samples", "0"]),
    ("ch1_background", ["--backend", "tpu"]),
    ("ch2_core_concepts", ["--d-steps", "-3"]),
    ("ch3_algorithm", ["--iterations", "0"]),
    ("ch3_algorithm", ["--seed", "-1"]),
    ("ch3_algorithm", ["--dtype", "float16"]),
])
def test_bad_arguments_stop_before_any_work(name, argv, tmp_path, capsys):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as stop:
        chapter.run(name, argv + ["--quick", "--out", str(out)])
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists()


def test_settings_are_restored_and_float64_works(tmp_path):
    numbers = chapter.run("ch1_background", ["--quick", "--dtype", "float64", "--seed", "3",
                                             "--out", str(tmp_path)])
    assert numbers["affine"].jsd < 1e-3
    assert B.dtype() == np.float32 and B.name() == "numpy"


def test_runs_as_a_script_from_the_repo_root(tmp_path):
    result = subprocess.run([sys.executable, "chapters/ch1_background.py", "--quick",
                             "--samples", "2000", "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "noise_to_samples.png" in result.stdout
    assert (tmp_path / "noise_to_samples.png").exists()


def test_a_chapter_runs_on_a_device_backend(tmp_path, monkeypatch):
    """--backend cupy on the CuPy stand-in: no host array may meet a device array. (The
    training loop itself is checked on the stand-in in test_gan.py.)"""
    import fakecupy
    use = B.use

    def use_double(name):
        if name == "cupy":
            B._use_module(fakecupy, "cupy")
        else:
            use(name)
    monkeypatch.setattr(B, "use", use_double)
    numbers = chapter.run("ch1_background", ["--quick", "--backend", "cupy", "--samples", "500",
                                             "--out", str(tmp_path)])
    _figures_written(numbers, tmp_path)
    assert B.name() == "numpy"
