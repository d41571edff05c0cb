"""The mode-collapse benchmark (minigan.mode_collapse) and chapter 5's mode-collapse study: the
metric on hand-built samples, the remedies' discriminators, trials in parallel, the --quick run."""
import dataclasses
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan import backend as B
from minigan import mode_collapse as mc
from minigan import mode_table as mt
from minigan.gradcheck import check_module
from minigan.metrics import mode_coverage
from minigan.nn import Dense
from minigan.optim import ClippedAdam

TINY = mc.Budget(g_hidden=8, g_layers=2, d_hidden=6, d_layers=2, d_pieces=3, batch=12,
                 lr=1e-3, beta1=0.5, iterations=3, schedule="cosine")


# ---------------------------------------------------------------------------------------------
# The data and the metric on hand-built samples

def test_benchmark_data_sets_are_pacgans():
    ring, grid = mc.make_dataset("ring"), mc.make_dataset("grid")
    angles = 2 * math.pi * np.arange(8) / 8
    np.testing.assert_allclose(ring.centres, np.stack([np.cos(angles), np.sin(angles)], 1),
                               atol=1e-15)
    assert ring.std == 0.01 and grid.std == 0.05
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    assert sorted(map(tuple, grid.centres)) == sorted((a, b) for a in ticks for b in ticks)
    with pytest.raises(ValueError, match="'ring' or 'grid'"):
        mc.make_dataset("moons")


def test_mode_metrics_collapsed_onto_one_mode():
    data = mc.make_dataset("ring")
    rng = np.random.default_rng(0)
    samples = data.centres[3] + 0.5 * data.std * rng.standard_normal((2500, 2))
    m = mode_coverage(samples, data.centres, data.std)
    assert m["modes_covered"] == 1
    assert m["high_quality_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(8))


def test_mode_metrics_balanced_with_off_mode_samples():
    data = mc.make_dataset("ring")
    on_modes = np.repeat(data.centres, 250, axis=0)                 # 2000 samples, 250 per mode
    off = np.zeros((500, 2))                                        # the centre: far from all
    m = mode_coverage(np.concatenate([on_modes, off]), data.centres, data.std)
    assert m["modes_covered"] == 8
    assert m["high_quality_fraction"] == pytest.approx(0.8)
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(m["counts"], [250] * 8)


@pytest.mark.parametrize("dataset", ["ring", "grid"])
def test_mode_metrics_three_std_threshold_and_skewed_histogram(dataset):
    data = mc.make_dataset(dataset)
    c = data.centres
    inside = c[0] + np.array([2.9 * data.std, 0.0])
    outside = c[1] + np.array([0.0, 3.1 * data.std])
    samples = np.concatenate([np.repeat(inside[None], 3, axis=0), outside[None], c[2:3]])
    m = mode_coverage(samples, c, data.std)
    assert m["modes_covered"] == 2                                  # modes 0 and 2
    assert m["high_quality_fraction"] == pytest.approx(4 / 5)
    p = np.array([3 / 4, 1 / 4])
    assert m["reverse_kl"] == pytest.approx(float((p * np.log(p * len(c))).sum()))


def test_summarise_mean_and_standard_error():
    data = mc.make_dataset("ring")
    good = {"metrics": mode_coverage(np.repeat(data.centres, 10, axis=0), data.centres,
                                     data.std)}
    half = {"metrics": mode_coverage(np.concatenate([data.centres[:4], data.centres[:4] + 1]),
                                     data.centres, data.std)}
    bad = {"metrics": mode_coverage(data.centres[:1] + 1.0, data.centres, data.std)}
    s = mc.summarise([good, half, bad])
    assert s["modes_covered"] == pytest.approx((4.0, 4.0 / math.sqrt(3)))   # 8, 4, 0
    assert s["high_quality_percent"][0] == pytest.approx(50.0)             # 100, 50, 0
    assert s["reverse_kl"] == pytest.approx((math.log(2) / 2, math.log(2) / 2))  # nan left out
    assert mc.summarise([good])["modes_covered"] == (8.0, 0.0)
    assert all(math.isnan(v) for v in mc.summarise([bad])["reverse_kl"])
    with pytest.raises(ValueError, match="no trial"):
        mc.summarise([])


# ---------------------------------------------------------------------------------------------
# The models of the benchmark and the remedies' discriminators

def test_paper_budget_is_pacgans_protocol():
    p = mc.PAPER
    assert (p.g_hidden, p.g_layers, p.d_hidden, p.d_layers, p.d_pieces) == (400, 4, 200, 3, 5)
    assert (p.batch, p.lr, p.beta1, p.schedule) == (100, 1e-4, 0.8, "constant")
    assert p.iterations * p.batch == 400 * mc.TRAIN_POINTS          # 400 epochs
    G, D = mc.build_generator(p), mc.build_discriminator(p, mc.Setting(pack=3))
    assert G.forward(B.randn(5, 2)).shape == (5, 2)
    assert D.forward(B.randn(6, 2)).shape == (2, 1)
    assert D[1].W.shape == (6, 5, 200)                              # 3 samples x 2 coordinates
    assert [type(m).__name__ for m in G.layers[:3]] == ["Dense", "BatchNorm1d", "ReLU"]
    plain = mc.build_generator(mc.Budget(g_hidden=8, g_layers=2, g_batchnorm=False))
    assert [type(m).__name__ for m in plain.layers] == ["Dense", "ReLU"] * 2 + ["Dense"]


@pytest.mark.parametrize("setting", [mc.Setting(), mc.Setting(pack=2), mc.Setting(pack=3),
                                     mc.Setting(minibatch_std=True),
                                     mc.Setting(pack=2, minibatch_std=True, spectral_norm=True)])
def test_discriminators_gradient_check(setting):
    with B.precision("float64"):
        B.seed(4)
        D = mc.build_discriminator(TINY, setting)
        x = B.randn(12, 2)
        D.forward(x)                 # a training-mode pass updates spectral norm's u, v
        D.eval()                     # then u, v stay fixed (treated as constants)
        assert D.forward(x).shape == (12 // setting.pack, 1)
        errors = check_module(D, x)
    assert max(errors.values()) < 1e-6, errors


def test_clipped_adam_clips_after_the_step_and_checks_its_bound():
    layer = Dense(2, 3)
    layer.W.data[...] = 0.5
    optimizer = ClippedAdam(layer.parameters(), clip=0.01, lr=1e-3)
    layer.W.grad[...] = -1.0
    optimizer.step()
    assert float(np.abs(B.to_numpy(layer.W.data)).max()) == pytest.approx(0.01)
    for clip in (0, -1.0, float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="clip must be a positive"):
            ClippedAdam(layer.parameters(), clip=clip)


@pytest.mark.parametrize("setting", [
    mc.Setting(objective="minimax"), mc.Setting(objective="least-squares"),
    mc.Setting(objective="hinge"), mc.Setting(objective="wasserstein", clip=0.01, d_steps=5),
    mc.Setting(label_smoothing=0.1), mc.Setting(spectral_norm=True),
    mc.Setting(lr_g_factor=0.25), mc.Setting(minibatch_std=True), mc.Setting(pack=4)])
def test_every_kind_of_row_trains_and_scores(setting):
    result = mc.train_and_score("grid", setting, TINY, seed=0, num_frames=3)
    assert result["samples"].shape == (mc.NUM_SAMPLES, 2)
    assert np.isfinite(result["samples"]).all()
    assert 0 <= result["metrics"]["modes_covered"] <= 25
    assert [i for i, _ in result["frames"]] == [0, 1, 2, 3]
    assert result["views"] == [] and len(result["history"]["d_loss"]) == TINY.iterations


def test_cosine_schedule_ends_at_zero_and_is_checked():
    B.seed(0)
    gan = mc.build_gan("ring", mc.Setting(), TINY)
    set_rates = mc.learning_rate_schedule(gan, TINY)
    gan.iteration = TINY.iterations // 2 + 0                      # halfway (3 // 2 = 1 of 3)
    set_rates(gan)
    expected = TINY.lr * 0.5 * (1 + math.cos(math.pi * 1 / 3))
    assert gan.g_optimizer.lr == pytest.approx(expected) == gan.d_optimizer.lr
    gan.iteration = TINY.iterations
    set_rates(gan)
    assert gan.g_optimizer.lr == pytest.approx(0.0, abs=1e-20)
    assert mc.learning_rate_schedule(gan, mc.Budget(schedule="constant")) is None
    with pytest.raises(ValueError, match="schedule"):
        mc.learning_rate_schedule(gan, mc.Budget(schedule="linear"))


def test_a_seed_fixes_a_trial_and_processes_change_nothing():
    trials = [("ring", mc.Setting(), TINY, 3), ("grid", mc.Setting(pack=2), TINY, 4)]
    here = mc.run_trials(trials, workers=1)
    again = mc.train_and_score(*trials[0])
    np.testing.assert_array_equal(here[0]["samples"], again["samples"])
    seen = []
    pooled = mc.run_trials(trials, workers=2, on_result=lambda i, r: seen.append(i))
    assert sorted(seen) == [0, 1]
    for a, b in zip(here, pooled):
        assert (a["dataset"], a["setting"], a["seed"]) == (b["dataset"], b["setting"], b["seed"])
        np.testing.assert_array_equal(a["samples"], b["samples"])
    with pytest.raises(ValueError, match="workers must be a positive int"):
        mc.run_trials(trials, workers=0)


def test_saved_trials_are_loaded_not_trained_again(tmp_path, monkeypatch):
    trials = [("ring", mc.Setting(), TINY, 0), ("ring", mc.Setting(pack=2), TINY, 0)]
    first = mc.run_trials(trials, folder=str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(mc.trial_path(tmp_path, t))
                                                  for t in trials)
    other = mc.trial_path(tmp_path, ("ring", mc.Setting(), mc.Budget(iterations=4), 0))
    assert other not in {mc.trial_path(tmp_path, t) for t in trials}    # a budget is part of it

    def must_not_train(*args, **kwargs):
        raise AssertionError("a saved trial was trained again")
    monkeypatch.setattr(mc, "train_and_score", must_not_train)
    seen = []
    again = mc.run_trials(trials, workers=2, folder=str(tmp_path),
                          on_result=lambda i, r: seen.append(i))
    assert seen == [0, 1]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a["samples"], b["samples"])
        assert a["metrics"]["modes_covered"] == b["metrics"]["modes_covered"]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]


def test_workers_do_not_rerun_the_script_that_starts_them(tmp_path):
    """A chapter calls run_trials at module level: spawned workers must not run it again."""
    script = tmp_path / "script.py"
    script.write_text(
        "from minigan import mode_collapse as mc\n"
        "print('script body ran', flush=True)\n"
        "budget = mc.Budget(g_hidden=4, g_layers=1, d_hidden=4, d_layers=1, d_pieces=2, "
        "batch=8, iterations=2)\n"
        "results = mc.run_trials([('ring', mc.Setting(), budget, s) for s in (0, 1)], workers=2)\n"
        "print('trials', len(results), flush=True)\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("script body ran") == 1 and "trials 2" in run.stdout


# ---------------------------------------------------------------------------------------------
# The study of chapter 5 (minigan.mode_table)

@pytest.mark.parametrize("dataset, modes", [("ring", 8), ("grid", 25)])
def test_the_metric_checked_on_known_answers(dataset, modes):
    checks = mt.check_metric(dataset, seed=0)
    assert (checks.at_centre, checks.at_2_9_std, checks.at_3_1_std) == (1.0, 1.0, 0.0)
    assert checks.num_modes == modes
    assert checks.collapsed["modes_covered"] == 1
    assert checks.collapsed["reverse_kl"] == pytest.approx(math.log(modes))
    assert checks.data["modes_covered"] == modes
    assert checks.data["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert checks.uniform["high_quality_fraction"] < 0.02
    assert f"= log {modes}" in checks.describe()
    again = mt.check_metric(dataset, seed=0)
    for key in ("high_quality_fraction", "reverse_kl"):                     # the seed fixes it
        assert again.data[key] == checks.data[key]
        assert again.uniform[key] == checks.uniform[key]


def _summary(modes, high_quality, reverse_kl=(0.1, 0.01)):
    fidelity = {k: (0.5, 0.0) for k in ("precision", "recall", "density", "coverage")}
    return {"modes_covered": modes, "high_quality_percent": high_quality,
            "reverse_kl": reverse_kl, **fidelity}


def _table(gan_modes=(6.0, 0.5, 17.0, 1.0), pac_modes=(8.0, 0.0, 24.0, 0.5), high=95.0):
    """A Table of rows GAN and PacGAN2, one seed, with given numbers; the GAN's frames start
    far from every mode and end on the first centre."""
    summary = {}
    for row, m in (("GAN", gan_modes), ("PacGAN2", pac_modes)):
        summary[row, "ring"] = _summary((m[0], m[1]), (high, 1.0))
        summary[row, "grid"] = _summary((m[2], m[3]), (high, 1.0))
    results = {}
    for dataset in mt.DATASETS:
        centre = mc.make_dataset(dataset).centres[:1]
        frames = [(0, np.full((500, 2), 50.0)), (3, np.repeat(centre, 500, axis=0))]
        results["GAN", dataset, 0] = {"frames": frames}
    return mt.Table(rows=("GAN", "PacGAN2"), seeds=[0], budgets={}, results=results,
                    summary=summary, published={"PacGAN2": {
                        "ring": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
                        "grid": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04))}},
                    seconds=12.0, trained_seconds=20.0)


def test_the_table_as_text_and_as_numbers(tmp_path):
    table = _table()
    text = table.text()
    assert "over 1 seed(s)" in text and "modes (of 8)" in text and "modes (of 25)" in text
    assert "     6.0 +- 0.5   " in text and "    17.0 +- 1.0   " in text    # the GAN's modes
    assert "23.8 +- 0.7" in text and text.count("  paper") == 2    # PacGAN2's paper lines only
    assert "precision" in text and "0.500" in text
    assert table.mean("GAN", "ring", "modes_covered") == 6.0
    assert table.mean("PacGAN2", "grid", "high_quality_percent") == 95.0
    start_and_end = table.start_and_end("GAN", 0)
    assert start_and_end["ring"]["start"]["modes_covered"] == 0
    assert start_and_end["ring"]["trained"]["modes_covered"] == 1
    assert start_and_end["grid"]["trained"]["high_quality_fraction"] == 1.0
    assert table.seconds == 12.0 and table.trained_seconds == 20.0
    assert "seconds" not in repr(table) and "results" not in repr(table)   # the same every run
    table.write(str(tmp_path / "mode_table.txt"))
    saved = (tmp_path / "mode_table.txt").read_text()
    assert saved.startswith(text) and "(2 trials in 12 s; training 20 s in all" in saved


def test_the_claims_hold_and_fail_as_the_numbers_say():
    claims = mt.check_claims(_table())
    assert dataclasses.astuple(claims) == (True, True, True, True) and claims.all_hold
    assert claims.describe().count("holds:") == 4
    claims = mt.check_claims(_table(gan_modes=(8.0, 0.0, 17.0, 1.0), pac_modes=(7.5, 0.5, 24.0,
                                                                                0.5), high=89.0))
    assert dataclasses.astuple(claims) == (False, False, True, False) and not claims.all_hold
    assert "FAILS: PacGAN2 captures >= 7.8 of 8 ring modes" in claims.describe()
    table = dataclasses.replace(_table(), rows=("GAN",))
    with pytest.raises(ValueError, match="check_claims: the table needs the rows"):
        mt.check_claims(table)


def test_run_table_is_run_trials_summarised(capsys, tmp_path):
    rows = {"GAN": mc.Setting(), "PacGAN2": mc.Setting(pack=2)}
    budgets = {"ring": TINY, "grid": TINY}
    table = mt.run_table(rows, budgets, [0], num_frames=2, folder=str(tmp_path))
    printed = capsys.readouterr().out
    assert "2 rows x 2 data sets x 1 seed(s) = 4 trials" in printed
    assert printed.count(" seed 0: ") == 4
    assert set(table.results) == {(r, d, 0) for r in rows for d in mt.DATASETS}
    direct = mc.run_trials([("grid", mc.Setting(pack=2), TINY, 0, 2)])[0]
    np.testing.assert_array_equal(table.results["PacGAN2", "grid", 0]["samples"],
                                  direct["samples"])
    assert table.summary["PacGAN2", "grid"] == mc.summarise([direct])
    assert len(os.listdir(tmp_path)) == 4                      # every trial saved
    assert set(table.start_and_end("GAN", 0)) == set(mt.DATASETS)


def test_the_cost_probes_time_short_runs_and_scale_them(capsys, monkeypatch):
    seconds = mt.time_added_rows({"hinge": mc.Setting(objective="hinge")},
                                 {"ring": TINY, "grid": TINY}, seed=0, num_seeds=3, workers=1,
                                 probe_iterations=2)
    printed = capsys.readouterr().out
    assert seconds > 0
    assert "The 1 rows beyond PacGAN's (hinge): 6 trials, about" in printed
    assert "(2 iterations of each, scaled)" in printed
    monkeypatch.setattr(mc, "PAPER", dataclasses.replace(TINY, iterations=1000))
    per_trial = mt.time_paper_trial(seed=0, workers=1, num_trials=8)
    printed = capsys.readouterr().out
    assert per_trial > 0 and "hours per PacGAN2 trial" in printed and "x 1000 iterations" in printed
    assert "; 8 trials on 1 process(es)" in printed


# ---------------------------------------------------------------------------------------------
# The chapter

def test_chapter5_mode_collapse_quick(quick_run):
    out, numbers = quick_run("ch5_mode_collapse")            # shared with the notebook test
    for dataset, modes in (("ring", 8), ("grid", 25)):
        # the yardsticks: the data itself, uniform points, a collapsed set
        checks = numbers["metric_checks"][dataset]
        assert checks.num_modes == modes and checks.data["modes_covered"] == modes
        assert checks.data["high_quality_fraction"] == pytest.approx(1 - math.exp(-4.5),
                                                                     abs=0.01)
        assert checks.uniform["high_quality_fraction"] < 0.02
        assert checks.collapsed["reverse_kl"] == pytest.approx(math.log(modes))
        assert checks.at_centre == 1.0 and checks.at_2_9_std == 1.0 and checks.at_3_1_std == 0.0
    # a short training run spreads the samples from the untrained G's clump over the ring's modes
    table = numbers["table"]
    start_and_end = table.start_and_end("GAN", table.seeds[0])["ring"]
    assert start_and_end["start"]["modes_covered"] == 0
    assert start_and_end["trained"]["modes_covered"] >= 3
    assert numbers["claims"] is None                     # a --quick run judges no claim
    assert numbers["gan_lab_same_as_table_trial"]        # looking at a run does not change it
    text = (out / "mode_table.txt").read_text()
    assert "PacGAN2" in text and "paper" in text and "23.8 +- 0.7" in text
    for path in numbers["figures"]:
        assert os.path.getsize(path) > 0


def test_all_rows_and_rows_together_stop_before_any_work(tmp_path, capsys):
    from minigan import chapter
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as stop:
        chapter.run("ch5_mode_collapse", ["--all-rows", "--rows", "GAN", "--out", str(out)])
    assert stop.value.code == 2
    assert "--all-rows: not allowed with --rows" in capsys.readouterr().err
    assert not out.exists()
