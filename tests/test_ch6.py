"""Chapter 6 (FAQ) in --quick mode: it runs end to end and its key numbers hold.

The quick run trains for a few dozen steps only, so the assertions are about what holds whatever
the training: the VAE's gradients are exact, real data score as real data, the Frechet distance
of real digits is the floor, and a generator with a 1D latent space produces a 1D set.
"""
import os

import numpy as np
import pytest

from minigan import backend as B
from notebook import definitions

ch6 = definitions("ch6_faq")                 # the chapter's constants and functions, nothing run


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("ch6_faq")[1]


def test_vae_gradients_are_exact(quick):
    assert quick["vae_gradcheck_gaussian"] < 1e-6
    assert quick["vae_gradcheck_bernoulli"] < 1e-6


def test_real_2d_data_cover_their_modes(quick):
    assert quick["ring_real_modes"] == 8 and quick["grid_real_modes"] == 9
    assert quick["ring_real_high_quality"] > 0.97 and quick["grid_real_high_quality"] > 0.97
    for name in ("ring", "grid"):
        # the VAE reconstructs data points onto their modes far better than its prior samples
        # land on one (Q1), even after a few dozen steps
        assert quick[f"{name}_vae_recon_modes"] > quick[f"{name}_vae_modes"]
        assert quick[f"{name}_vae_recon_high_quality"] > quick[f"{name}_vae_high_quality"] + 0.2


def test_real_digits_are_the_frechet_floor(quick):
    assert quick["digit_classifier_accuracy"] > 0.5
    real = quick["digits_real_fid"]
    assert real >= 0
    for model in ("gan", "vae", "vae_recon"):
        assert quick[f"digits_{model}_fid"] > real
        # barely trained models: less confidently classified, and greyer, than real digits
        assert quick[f"digits_{model}_inception_score"] < quick["digits_real_inception_score"]
        assert quick[f"digits_{model}_grey_fraction"] > quick["digits_real_grey_fraction"]


def test_compute_cost_table(quick):
    table = quick["cost_tables"]["numpy"]
    assert len(table) == len(ch6["QUICK"]["cost_widths"]) * len(ch6["QUICK"]["cost_batches"])
    for row in table:
        assert row["gan_ms"] > 0 and row["vae_ms"] > 0
        # mirrored sizes: a GAN step does about twice the arithmetic of a VAE step
        assert 1.5 < row["gan_flops"] / row["vae_flops"] < 3.0
    assert quick["matmul_peak_gflops"] > 0


def test_a_generator_makes_no_more_dimensions_than_its_latent_space(quick):
    assert quick["square_latent1_dimension"] < 1.3
    assert quick["ring_latent1_dimension"] < 1.3
    assert quick["square_latent2_dimension"] > 1.6
    assert 1.8 < quick["square_data_dimension"] < 2.2
    # a connected G(R^k) cannot avoid the gaps between the ring's modes as the data do
    assert quick["ring_latent1_off_mode_fraction"] > quick["ring_data_off_mode_fraction"]
    assert quick["ring_latent8_off_mode_fraction"] > quick["ring_data_off_mode_fraction"]


def test_figures_written_and_backend_restored(quick):
    assert len(quick["figures"]) == 6
    for path in quick["figures"]:
        assert os.path.getsize(path) > 10_000
    assert B.name() == "numpy" and B.dtype() == np.float32


def test_two_nn_dimension_of_known_sets():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, 1500)
    line = np.stack([t, 2 * t, -t], axis=1)                       # a segment in 3D
    plane = np.concatenate([rng.uniform(0, 1, (1500, 2)), np.zeros((1500, 1))], axis=1)
    cube = rng.uniform(0, 1, (1500, 3))
    assert ch6["two_nn_dimension"](line) == pytest.approx(1.0, abs=0.1)
    assert ch6["two_nn_dimension"](plane) == pytest.approx(2.0, abs=0.2)
    assert ch6["two_nn_dimension"](cube) == pytest.approx(3.0, abs=0.3)


def test_numpy_and_cupy_side_by_side_report(tmp_path, capsys):
    """The two-backend table and figure (what a GPU machine prints), from made-up timings."""
    def rows(scale):
        return [{"width": w, "batch": n, "gan_ms": scale * w * n / 100,
                 "vae_ms": scale * w * n / 200, "gan_gflops": 10.0 / scale,
                 "vae_gflops": 8.0 / scale, "gan_flops": 2.0, "vae_flops": 1.0}
                for w in (32, 64) for n in (16, 64)]
    cost = {"tables": {"numpy": rows(1.0), "cupy": rows(0.1)},
            "peaks": {"numpy": 100.0, "cupy": 10000.0}, "cupy_missing": None}
    ch6["print_cost_table"](cost)
    printed = capsys.readouterr().out
    assert "time per training step on cupy" in printed
    assert "speed-up" in printed and "10.0" in printed              # numpy ms / cupy ms
    path = ch6["figure_cost"](tmp_path / "cost.png", cost)
    assert os.path.getsize(path) > 10_000


def test_adams_betas_do_not_set_its_step_size(quick):
    """004 §6.2 says to tune beta1, beta2 and eps "to get different learning rates". Every
    (beta1, beta2) tried moves G's parameters by about lr per step (RMS), within a factor of 3 of
    each other, while a 100x larger lr makes the steps more than 30x larger."""
    assert 0.2 < quick["adam_step_over_lr_min"] and quick["adam_step_over_lr_max"] < 2.0
    assert quick["adam_step_spread_over_betas"] < 3.0
    assert quick["adam_step_growth_with_lr"] > 30


def test_learning_rate_grid_gives_every_pair_a_regime(quick):
    rates = ch6["QUICK"]["lr_grid"]
    assert sum(quick[f"lr_grid_{regime}"] for regime in ch6["REGIMES"]) == len(rates) ** 2


def test_regimes_of_made_up_runs():
    def run(modes, quality, **changes):
        return {"iteration": [250, 500][:len(modes)], "modes": modes, "high_quality": quality,
                "diverged": False, "median_radius": 1.0, **changes}
    regime, arrival = ch6["lr_regime"], ch6["iterations_to_converge"]
    assert regime(run([8, 8], [0.1, 0.5])) == "converged"
    assert arrival(run([8, 8], [0.1, 0.5])) == 500
    assert regime(run([8, 8], [0.5, 0.1])) == "slow" and arrival(run([8, 8], [0.5, 0.1])) == 250
    assert regime(run([8, 3], [0.5, 0.9])) == "collapsed"      # on a mode, but 5 modes gone
    assert regime(run([8, 0], [0.5, 0.0])) == "collapsed"      # piled up off the modes
    assert regime(run([8, 8], [0.5, 0.5], median_radius=3.0)) == "diverged"
    assert regime(run([], [], diverged=True)) == "diverged" and arrival(run([], [])) is None


def test_dcgan_learning_rate_grid_gives_every_pair_a_regime(quick):
    rates = ch6["QUICK"]["dcgan_lr_grid"]
    assert sum(quick[f"dcgan_lr_grid_{regime}"] for regime in ch6["REGIMES"]) == len(rates) ** 2
    for lr in rates:
        assert quick[f"dcgan_lr_equal_{lr:.1e}_fd"] > 0


def test_dcgan_regimes_of_made_up_runs():
    def run(fd, rarest, diverged=False):
        return {"fd": fd, "rarest_digit": rarest, "diverged": diverged}
    regime, threshold = ch6["dcgan_regime"], ch6["DCGAN_CONVERGED_FD"]
    assert regime(run([90.0, threshold], [0.0, 0.05])) == "converged"
    assert regime(run([90.0, threshold + 1], [0.0, 0.05])) == "slow"
    assert regime(run([5.0, 5.0], [0.05, 0.02])) == "collapsed"     # sharp, but a digit gone
    assert regime(run([], [], diverged=True)) == "diverged"
    assert regime(run([5.0], [0.05], diverged=True)) == "diverged"
