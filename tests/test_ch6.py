"""Chapter 6 (FAQ): its library modules, imported, and each chapter file's --quick run.

The quick runs train for a few dozen steps only, so the assertions are about what holds whatever
the training: the VAE's gradients are exact, real data score as real data, the Frechet distance
of real digits is the floor, and a generator with a 1D latent space produces a 1D set. The
numbers are read by name from the records the studies return (``minigan.gan_vs_vae``,
``compute_cost``, ``latent_limits``, ``learning_rates``), which the chapters keep in ``result``.
"""
import os

import numpy as np
import pytest

from minigan import backend as B
from minigan import chapter
from minigan import compute_cost, latent_limits
from minigan import learning_rates as lr
from minigan.data import Ring
from minigan.gan_vs_vae import QUICK, Scored, compare_on_2d, score, vae_gradient_check

CHAPTER_6 = ("ch6_gan_vs_vae", "ch6_compute_cost", "ch6_limits", "ch6_learning_rates")


@pytest.fixture(scope="module")
def gan_vs_vae(quick_run):
    return quick_run("ch6_gan_vs_vae")[1]


# ---------------------------------------------------------------------------------------------
# Q1: GAN vs VAE

def test_vae_gradients_are_exact(gan_vs_vae):
    assert gan_vs_vae["vae_gradients"].gaussian < 1e-6
    assert gan_vs_vae["vae_gradients"].bernoulli < 1e-6


def test_vae_gradient_check_sees_a_wrong_gradient(monkeypatch):
    """The check is not vacuous: a backward that forgets the KL's pull on logvar fails it."""
    from minigan.vae import VAE
    backward = VAE.backward
    monkeypatch.setattr(VAE, "backward",
                        lambda self, dy: backward(self, (dy[0], dy[1], 0 * dy[2])))
    worst = vae_gradient_check(0)
    assert worst.gaussian > 1e-3 and worst.bernoulli > 1e-3


def test_real_2d_data_cover_their_modes(gan_vs_vae):
    ring, grid = gan_vs_vae["ring"], gan_vs_vae["grid"]
    assert ring.real.modes == 8 and grid.real.modes == 9
    assert ring.real.high_quality > 0.97 and grid.real.high_quality > 0.97
    for run in (ring, grid):
        # the VAE reconstructs data points onto their modes far better than its prior samples
        # land on one (Q1), even after a few dozen steps
        assert run.vae_recon.modes > run.vae.modes
        assert run.vae_recon.high_quality > run.vae.high_quality + 0.2


def test_real_digits_are_the_frechet_floor(gan_vs_vae):
    digits = gan_vs_vae["digits"]
    assert digits.classifier_accuracy > 0.5
    assert digits.real.fid >= 0 and digits.real.fid == pytest.approx(digits.judge.real_fd)
    for model in (digits.gan, digits.vae, digits.vae_recon):
        assert model.fid > digits.real.fid
        # barely trained models: less confidently classified, and greyer, than real digits
        assert model.inception_score < digits.real.inception_score
        assert model.grey_fraction > digits.real.grey_fraction


def test_a_seeded_comparison_is_repeatable():
    def run():
        return compare_on_2d("ring", Ring(std=0.05), QUICK, seed=3)
    first, second = run(), run()
    assert repr(first) == repr(second)
    np.testing.assert_array_equal(first.gan.points, second.gan.points)


def test_score_counts_modes_on_known_points():
    ring = Ring(std=0.05)
    on_modes = np.repeat(ring.centres, 3, axis=0)                   # 3 points on each centre
    scored = score(on_modes, ring)
    assert isinstance(scored, Scored)
    assert (scored.modes, scored.high_quality) == (8, 1.0)
    assert scored.reverse_kl == pytest.approx(0.0, abs=1e-12)
    one_mode = score(np.repeat(ring.centres[:1], 10, axis=0), ring)
    assert one_mode.modes == 1 and one_mode.reverse_kl == pytest.approx(np.log(8))


# ---------------------------------------------------------------------------------------------
# Q2: compute cost

def test_compute_cost_quick_run(quick_run):
    result = quick_run("ch6_compute_cost")[1]
    table = result["cost_tables"]["numpy"]
    assert len(table) == len(compute_cost.QUICK.widths) * len(compute_cost.QUICK.batches)
    for row in table:
        assert row.gan_ms > 0 and row.vae_ms > 0
        # mirrored sizes: a GAN step does about twice the arithmetic of a VAE step
        assert 1.5 < row.gan_flops / row.vae_flops < 3.0
    assert result["matmul_peak_gflops"] > 0
    assert 1.5 < result["gan_over_vae_flops"] < 3.0


def test_numpy_and_cupy_side_by_side_report(tmp_path):
    """The two-backend table and figure (what a GPU machine prints), from made-up timings."""
    def rows(scale):
        return [compute_cost.StepTime(width=w, batch=n, gan_ms=scale * w * n / 100,
                                      vae_ms=scale * w * n / 200, gan_gflops=10.0 / scale,
                                      vae_gflops=8.0 / scale, gan_flops=2, vae_flops=1)
                for w in (32, 64) for n in (16, 64)]
    cost = compute_cost.ComputeCost(tables={"numpy": rows(1.0), "cupy": rows(0.1)},
                                    peaks={"numpy": 100.0, "cupy": 10000.0}, cupy_missing=None)
    printed = compute_cost.format_table(cost)
    assert "time per training step on cupy" in printed
    assert "speed-up" in printed and "10.0" in printed              # numpy ms / cupy ms
    assert cost.largest("numpy").width == 64 and cost.largest("numpy").batch == 64
    assert cost.smallest("cupy").width == 32 and cost.smallest("cupy").batch == 16
    path = compute_cost.figure(tmp_path / "cost.png", cost)
    assert os.path.getsize(path) > 10_000


# ---------------------------------------------------------------------------------------------
# Q3: what a generator cannot produce

def test_a_generator_makes_no_more_dimensions_than_its_latent_space(quick_run):
    limits = quick_run("ch6_limits")[1]["limits"]
    assert limits.square_latent1.dimension < 1.3
    assert limits.ring_latent1.dimension < 1.3
    assert limits.square_latent2.dimension > 1.6
    assert 1.8 < limits.square_data_dimension < 2.2
    # a connected G(R^k) cannot avoid the gaps between the ring's modes as the data do
    assert limits.ring_latent1.off_mode_fraction > limits.ring_data_off_mode_fraction
    assert limits.ring_latent8.off_mode_fraction > limits.ring_data_off_mode_fraction
    assert [(r.target, r.latent_dim) for r in limits.runs] == list(latent_limits.RUNS)
    assert len(limits.ring_latent1.earlier_sweeps) >= 1 and limits.ring_latent8.sweep is None


def test_two_nn_dimension_of_known_sets():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, 1500)
    line = np.stack([t, 2 * t, -t], axis=1)                       # a segment in 3D
    plane = np.concatenate([rng.uniform(0, 1, (1500, 2)), np.zeros((1500, 1))], axis=1)
    cube = rng.uniform(0, 1, (1500, 3))
    assert latent_limits.two_nn_dimension(line) == pytest.approx(1.0, abs=0.1)
    assert latent_limits.two_nn_dimension(plane) == pytest.approx(2.0, abs=0.2)
    assert latent_limits.two_nn_dimension(cube) == pytest.approx(3.0, abs=0.3)
    with pytest.raises(ValueError, match="two_nn_dimension: points must be"):
        latent_limits.two_nn_dimension(np.zeros(5))


# ---------------------------------------------------------------------------------------------
# Q4: learning rates

@pytest.fixture(scope="module")
def learning_rates(quick_run):
    return quick_run("ch6_learning_rates")[1]


def test_adams_betas_do_not_set_its_step_size(learning_rates):
    """004 §6.2 says to tune beta1, beta2 and eps "to get different learning rates". Every
    (beta1, beta2) tried moves G's parameters by about lr per step (RMS), within a factor of 3 of
    each other, while a 100x larger lr makes the steps more than 30x larger."""
    study = learning_rates["learning_rates"]
    assert 0.2 < study.adam_step_over_lr_min and study.adam_step_over_lr_max < 2.0
    assert study.adam_step_spread_over_betas < 3.0
    assert study.adam_step_growth_with_lr > 30


def test_learning_rate_grid_gives_every_pair_a_regime(learning_rates):
    study = learning_rates["learning_rates"]
    assert sum(study.regime_counts.values()) == len(lr.QUICK.rates) ** 2
    assert set(study.regime_counts) == set(lr.REGIMES)
    assert set(study.diagonal_arrivals) == set(lr.QUICK.rates)
    assert "dcgan_learning_rates" not in learning_rates            # behind --dcgan-grid


def test_regimes_of_made_up_runs():
    def run(modes, quality, median_radius=1.0, **changes):
        return lr.LrRun(lr_g=1e-3, lr_d=1e-3, beta1=0.5, iteration=[250, 500][:len(modes)],
                        modes=modes, high_quality=quality, median_radius=median_radius,
                        **changes)
    assert lr.lr_regime(run([8, 8], [0.1, 0.5])) == "converged"
    assert lr.iterations_to_converge(run([8, 8], [0.1, 0.5])) == 500
    assert lr.lr_regime(run([8, 8], [0.5, 0.1])) == "slow"
    assert lr.iterations_to_converge(run([8, 8], [0.5, 0.1])) == 250
    assert lr.lr_regime(run([8, 3], [0.5, 0.9])) == "collapsed"   # on a mode, but 5 modes gone
    assert lr.lr_regime(run([8, 0], [0.5, 0.0])) == "collapsed"   # piled up off the modes
    assert lr.lr_regime(run([8, 8], [0.5, 0.5], median_radius=3.0)) == "diverged"
    assert lr.lr_regime(run([], [], diverged=True)) == "diverged"
    assert lr.iterations_to_converge(run([], [])) is None


def test_dcgan_regimes_of_made_up_runs():
    def run(fd, rarest, diverged=False):
        return lr.DcganRun(lr_g=2e-4, lr_d=2e-4, fd=fd, rarest_digit=rarest, diverged=diverged)
    threshold = lr.DCGAN_CONVERGED_FD
    assert lr.dcgan_regime(run([90.0, threshold], [0.0, 0.05])) == "converged"
    assert lr.dcgan_regime(run([90.0, threshold + 1], [0.0, 0.05])) == "slow"
    assert lr.dcgan_regime(run([5.0, 5.0], [0.05, 0.02])) == "collapsed"   # sharp, a digit gone
    assert lr.dcgan_regime(run([], [], diverged=True)) == "diverged"
    assert lr.dcgan_regime(run([5.0], [0.05], diverged=True)) == "diverged"


def test_dcgan_grid_behind_its_flag_prints_its_cost_first(tmp_path, capsys):
    result = chapter.run("ch6_learning_rates", ["--quick", "--dcgan-grid", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    announced = printed.index("--dcgan-grid: 4 runs of 4 iterations, about ")
    assert announced < printed.index("Q4 on the DCGAN: regime")
    study = result["dcgan_learning_rates"]
    assert sum(study.regime_counts.values()) == len(lr.QUICK.dcgan_rates) ** 2
    for rate in lr.QUICK.dcgan_rates:
        assert study.diagonal_fd[rate] > study.real_fd > 0
    assert result["dcgan_estimated_seconds"] > 0
    assert os.path.getsize(tmp_path / "learning_rates_dcgan.png") > 10_000


# ---------------------------------------------------------------------------------------------
# Every file

@pytest.mark.parametrize("name, count", [("ch6_gan_vs_vae", 2), ("ch6_compute_cost", 1),
                                         ("ch6_limits", 1), ("ch6_learning_rates", 1)])
def test_figures_written_and_backend_restored(name, count, quick_run):
    out, result = quick_run(name)
    assert len(result["figures"]) == count
    for path in result["figures"]:
        assert os.path.getsize(path) > 10_000 and os.path.dirname(path) == str(out)
    assert B.name() == "numpy" and B.dtype() == np.float32


@pytest.mark.parametrize("name", CHAPTER_6)
def test_opening_states_the_question_and_settings_come_early(name):
    path = os.path.join(chapter.ROOT, "chapters", f"{name}.py")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    assert lines[0] == "# %% [markdown]" and "?" in lines[1] and "Chapter 6, Q" in lines[1]
    settings = [i for i, line in enumerate(lines) if line.startswith("# %% Settings")]
    assert len(settings) == 1 and settings[0] < 60
    assert len(lines) <= 400
    assert not any(line.startswith("def ") for line in lines), "machinery lives in minigan/"
