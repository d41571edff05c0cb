"""minigan.diagnosis: made-up histories of every regime, each regime caused on purpose (alone
and in the regime study), the diagnosis GAN.train prints, and the chapter "What do my losses
mean?" in --quick mode."""
import dataclasses
import math
import os

import numpy as np
import pytest

import fakecupy
from minigan import backend as B
from minigan import diagnosis as dg
from minigan.data import Gaussian1D
from minigan.gan import GAN
from minigan.nn import Dense, Sequential, Tanh

N = 1000                                   # iterations of a made-up history
LOG4 = math.log(4)


def made_up(d_real, d_fake, d_loss, g_loss, noise=0.01, seed=0):
    """A history of N iterations: each entry a constant (or an (N,) curve) plus white noise."""
    rng = np.random.default_rng(seed)
    return {key: list(np.broadcast_to(np.asarray(value, dtype=float), (N,))
                      + noise * rng.standard_normal(N))
            for key, value in (("d_real", d_real), ("d_fake", d_fake), ("d_loss", d_loss),
                               ("g_loss", g_loss))}


def window_median(history, key):
    """The median the diagnosis should read: over the last 20 % (at least 300) iterations."""
    values = np.asarray(history[key])
    return float(np.median(values[-max(300, len(values) // 5):]))


def evidence(diagnosis, quantity):
    """The Evidence of ``diagnosis`` whose quantity starts with ``quantity``."""
    found = [e for e in diagnosis.evidence if e.quantity.startswith(quantity)]
    assert len(found) == 1, (quantity, diagnosis.evidence)
    return found[0]


# ---------------------------------------------------------------------------------------------
# Made-up histories, one per regime

def test_near_equilibrium_reads_theorem_1():
    h = made_up(0.5, 0.5, LOG4, math.log(2))
    d = dg.diagnose(h, "non-saturating")
    assert d.regime == dg.EQUILIBRIUM and not d.alarm
    e = evidence(d, "|median D(x)")
    assert e.value == pytest.approx(abs(window_median(h, "d_real") - 0.5))
    assert e.threshold == dg.EQUILIBRIUM_OUTPUT and e.holds
    e = evidence(d, "|median D loss")
    assert e.value == pytest.approx(abs(window_median(h, "d_loss") / LOG4 - 1))
    assert e.threshold == dg.EQUILIBRIUM_LOSS
    assert d.window == (N - 300 + 1, N)
    assert "ch3_algorithm" in d.chapter and "Theorem 1" in d.chapter


@pytest.mark.parametrize("objective", ["non-saturating", "minimax"])
def test_d_overpowering_g(objective):
    g_loss = 5.0 if objective == "non-saturating" else -0.01
    h = made_up(0.98, 0.02, 0.05, g_loss, noise=0.005)
    d = dg.diagnose(h, objective)
    assert d.regime == dg.D_OVERPOWERS_G and d.alarm
    fake = evidence(d, "median D(G(z))")
    assert fake.value == pytest.approx(window_median(h, "d_fake"))
    assert fake.threshold == dg.D_WINS_OUTPUT and fake.relation == "<" and fake.holds
    loss = evidence(d, "median D loss")
    assert loss.value == pytest.approx(window_median(h, "d_loss"))
    assert loss.threshold == pytest.approx(dg.D_WINS_LOSS * LOG4)
    assert "ch5_challenges" in d.chapter
    if objective == "minimax":                 # the saturating loss: G's gradient vanishes
        assert "vanished" in d.message and "non-saturating" in d.advice
    else:
        assert "lr_d" in d.advice


def test_g_fooling_d():
    h = made_up(0.4, 0.62, 1.6, 0.5)
    d = dg.diagnose(h, "non-saturating")
    assert d.regime == dg.G_FOOLS_D
    margin = evidence(d, "median D(G(z)) - median D(x)")
    assert margin.value == pytest.approx(window_median(h, "d_fake") - window_median(h, "d_real"))
    assert margin.threshold == dg.G_FOOLS_MARGIN and margin.holds
    assert evidence(d, "median D loss").threshold == pytest.approx(LOG4)


def test_oscillation_has_its_period_measured():
    t = np.arange(N)
    wave = 0.2 * np.sin(2 * np.pi * t / 40)
    h = made_up(0.5 + 0.1 * wave, 0.5 - 0.1 * wave, LOG4 + wave, math.log(2) - wave, noise=0.02)
    d = dg.diagnose(h, "non-saturating")
    assert d.regime == dg.OSCILLATING
    assert abs(evidence(d, "period of the").value - 40) <= 1
    r = evidence(d, "its autocorrelation")
    assert r.value > 0.8 and r.threshold == dg.OSCILLATION_AUTOCORRELATION
    amplitude = evidence(d, "its detrended std")
    assert amplitude.value == pytest.approx(0.2 / math.sqrt(2) / LOG4, rel=0.1)
    assert "ch5_challenges" in d.chapter


@pytest.mark.parametrize("case", ["white noise", "a trend", "a curved trend", "a tiny wave",
                                  "step-to-step alternation"])
def test_no_oscillation_without_a_period_that_matters(case):
    t = np.arange(N)
    d_loss = {"white noise": LOG4, "a trend": LOG4 + 0.1 * t / N,
              "a curved trend": LOG4 + 0.3 * np.exp(-t / 300),
              "a tiny wave": LOG4 + 1e-4 * np.sin(2 * np.pi * t / 30),
              # a period of 3 iterations, as a healthy DCGAN with Dropout showed: step noise
              "step-to-step alternation": LOG4 + 0.1 * np.sin(2 * np.pi * t / 3)}[case]
    noise = 1e-6 if case == "a tiny wave" else 0.05
    if case == "step-to-step alternation":
        lag, r, _ = dg.detrended_period(np.asarray(d_loss) + 0.05 * np.random.default_rng(0)
                                        .standard_normal(N))
        assert lag < dg.MIN_PERIOD and r > dg.OSCILLATION_AUTOCORRELATION   # it is periodic
    d = dg.diagnose(made_up(0.5, 0.5, d_loss, math.log(2), noise=noise), "non-saturating")
    assert d.regime == dg.EQUILIBRIUM, d


def test_mode_collapse_from_the_spread_while_the_losses_are_calm():
    h = made_up(0.5, 0.5, LOG4, math.log(2))
    rng = np.random.default_rng(1)
    data = rng.normal(3.0, 0.5, (1000, 1))
    d = dg.diagnose(h, "non-saturating", samples=rng.normal(3.1, 0.05, (1000, 1)), data=data)
    assert d.regime == dg.MODE_COLLAPSE and d.alarm
    spread = evidence(d, "samples' spread")
    assert spread.value == pytest.approx(0.1, rel=0.1) and spread.threshold == dg.COLLAPSE_SPREAD
    assert "ch5_mode_collapse" in d.chapter
    # samples of the data itself: no alarm
    healthy = dg.diagnose(h, "non-saturating", samples=rng.normal(3.0, 0.5, (1000, 1)),
                          data=data)
    assert healthy.regime == dg.EQUILIBRIUM


def test_mode_collapse_from_the_coverage_of_modes():
    """Samples on 3 of a ring's 8 modes spread as widely as the data but cover 3/8 of it."""
    rng = np.random.default_rng(2)
    angles = 2 * np.pi * np.arange(8) / 8
    centres = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    data = centres[rng.integers(0, 8, 2000)] + 0.05 * rng.standard_normal((2000, 2))
    samples = centres[rng.choice([0, 3, 5], 1000)] + 0.05 * rng.standard_normal((1000, 2))
    d = dg.diagnose(made_up(0.5, 0.5, LOG4, math.log(2)), "non-saturating", samples, data)
    assert d.regime == dg.MODE_COLLAPSE
    coverage = evidence(d, "coverage")
    assert coverage.value == pytest.approx(3 / 8, abs=0.05)
    assert coverage.threshold == dg.COLLAPSE_COVERAGE
    assert evidence(d, "precision").value > 0.9
    stats = dg.sample_statistics(samples, data)
    assert stats["spread_ratio"] > dg.COLLAPSE_SPREAD      # the spread alone would miss it


def test_diverging_and_too_early():
    h = made_up(0.5, 0.5, LOG4, math.log(2))
    h["g_loss"][700] = float("nan")
    d = dg.diagnose(h, "non-saturating")
    assert d.regime == dg.DIVERGING and evidence(d, "first iteration").value == 701
    d = dg.diagnose({k: v[:10] for k, v in made_up(0.5, 0.5, LOG4, 0.7).items()})
    assert d.regime == dg.TOO_EARLY and not d.alarm
    samples = np.full((100, 1), np.inf)
    d = dg.diagnose(made_up(0.5, 0.5, LOG4, 0.7), "minimax", samples, np.zeros((100, 1)))
    assert d.regime == dg.DIVERGING


def test_least_squares_and_hinge_read_on_their_own_scales():
    ls = dg.diagnose(made_up(0.5, 0.5, 0.25, 0.125), "least-squares")
    assert ls.regime == dg.EQUILIBRIUM
    assert evidence(ls, "|median D loss").value == pytest.approx(
        abs(window_median(made_up(0.5, 0.5, 0.25, 0.125), "d_loss") / 0.25 - 1))
    hinge = dg.diagnose(made_up(0.0, 0.0, 2.0, 0.0, noise=0.02), "hinge")
    assert hinge.regime == dg.EQUILIBRIUM
    h = made_up(1.5, -1.5, 0.1, 1.5, noise=0.02)
    wins = dg.diagnose(h, "hinge")
    assert wins.regime == dg.D_OVERPOWERS_G
    assert evidence(wins, "median D(G(z))").threshold == pytest.approx(-0.8)   # -1 + 0.1 * 2
    assert evidence(wins, "median D loss").threshold == pytest.approx(0.5)     # 2 / 4


def test_wasserstein_critic_numbers():
    t = np.arange(N) / N
    # the critic's outputs grow without bound (no Lipschitz constraint)
    grow_h = made_up(1 + 200 * t, -1 - 200 * t, -2 - 400 * t, 1 + 200 * t)
    grow = dg.diagnose(grow_h, "wasserstein")
    assert grow.regime == dg.CRITIC_UNBOUNDED and grow.alarm
    growth = evidence(grow, "critic |output| now")
    magnitude = (np.abs(grow_h["d_real"]) + np.abs(grow_h["d_fake"])) / 2
    assert growth.value == pytest.approx(np.median(magnitude[-300:]) / np.median(magnitude[:60]))
    assert growth.threshold == dg.CRITIC_GROWTH
    still = evidence(grow, "critic |output|, 2nd")
    assert still.value == pytest.approx(np.median(magnitude[-150:])
                                        / np.median(magnitude[-300:-150]))
    assert still.threshold == dg.CRITIC_STILL_GROWING
    # the estimate of W, -D loss = f(x) - f(G(z)), falls from 2 to 0.2: closing
    gap = 0.2 + 1.8 * np.exp(-5 * t)
    closing_h = made_up(gap / 2, -gap / 2, -gap, gap / 2)
    closing = dg.diagnose(closing_h, "wasserstein")
    assert closing.regime == dg.EQUILIBRIUM
    ratio = evidence(closing, "estimate of W now")   # the window's median / the first chunk's
    estimate = -np.asarray(closing_h["d_loss"])
    assert ratio.value == pytest.approx(np.median(estimate[-300:]) / np.median(estimate[:60]))
    assert ratio.value == pytest.approx(0.226 / 1.75, abs=0.02)
    assert ratio.threshold == dg.WASSERSTEIN_CLOSED
    # a clipped critic: grown early, then level -- not unbounded
    level = 1 - np.exp(-20 * t)
    assert dg.diagnose(made_up(level, -level, -2 * level, level), "wasserstein").regime != \
        dg.CRITIC_UNBOUNDED
    # a critic separating the samples widely is no failure for a Wasserstein GAN
    apart = dg.diagnose(made_up(1.0, -1.0, -2.0, 1.0), "wasserstein")
    assert apart.regime == dg.LEARNING and not apart.alarm


def test_bad_input_names_the_function_and_argument():
    h = made_up(0.5, 0.5, LOG4, 0.7)
    with pytest.raises(TypeError, match="diagnose: history must be a dict"):
        dg.diagnose([1, 2, 3])
    with pytest.raises(ValueError, match=r"diagnose: history lacks \['g_loss'\]"):
        dg.diagnose({k: v for k, v in h.items() if k != "g_loss"})
    with pytest.raises(ValueError, match="one length"):
        dg.diagnose({**h, "d_loss": h["d_loss"][:-1]})
    with pytest.raises(ValueError, match="diagnose: objective must be one of"):
        dg.diagnose(h, "vanilla")
    with pytest.raises(ValueError, match="samples and data go together"):
        dg.diagnose(h, samples=np.zeros((50, 1)))
    with pytest.raises(ValueError, match="at least 20 examples"):
        dg.diagnose(h, samples=np.zeros((5, 1)), data=np.zeros((50, 1)))
    with pytest.raises(TypeError, match=r"history\['d_real'\] must be numbers"):
        dg.diagnose({**h, "d_real": ["a"] * N})


def test_evidence_and_its_negation():
    e = dg.Evidence("x", 0.3, "<", 0.5)
    assert e.holds and not dg.negated(e).holds and dg.negated(e).relation == ">="
    assert str(e) == "x 0.3 < 0.5"


# ---------------------------------------------------------------------------------------------
# While training

def _small_gan(lr_g=2e-3, lr_d=2e-3, d_steps=5):
    G = Sequential(Dense(1, 32), Tanh(), Dense(32, 1))
    D = Sequential(Dense(1, 16), Tanh(), Dense(16, 16), Tanh(), Dense(16, 1))
    return GAN(G, D, Gaussian1D(3.0, 0.5).sample, latent_dim=1, d_steps=d_steps, batch_size=256,
               lr_g=lr_g, lr_d=lr_d)


def test_train_prints_the_diagnosis_when_it_changes_and_a_summary(capsys):
    gan = _small_gan(lr_g=1e-4, lr_d=5e-3, d_steps=1)       # a too-strong D
    gan.train(300, log_every=100)
    out = capsys.readouterr().out
    assert out.count("iter ") == 3
    assert out.count("  diagnosis: D overpowering G") == 1     # said once, when it began
    assert "diagnosis at iteration 300 (100-300 D overpowering G)" in out
    assert "try: a weaker or slower D" in out
    gan.train(100, log_every=100, diagnose=False)
    assert "diagnosis" not in capsys.readouterr().out
    gan.train(100)                                              # no progress lines: silent
    assert capsys.readouterr().out == ""


def test_monitor_is_quiet_for_an_objective_it_does_not_know():
    monitor = dg.Monitor(object())
    assert monitor.update(made_up(0.5, 0.5, LOG4, 0.7), 100) is None
    assert monitor.summary() is None


def test_the_printed_diagnosis_reads_nothing_more_from_the_device(fake, capsys):
    counts = []
    for diagnose in (False, True):
        B.seed(0)
        gan = _small_gan(d_steps=1)
        counters = fakecupy.reset_counters()
        gan.train(120, log_every=60, diagnose=diagnose)
        counts.append(counters.syncs)
    assert counts[0] == counts[1] > 0
    assert "diagnosis at iteration 120" in capsys.readouterr().out


def test_a_short_healthy_run_raises_no_alarm():
    """Chapter 3's settings (k = 5, Adam 2e-3), 600 iterations: no alarm at any point after the
    first 100 iterations, near equilibrium at the end, with its samples against data too."""
    run = dg.cause("healthy")
    assert isinstance(run, dg.CausedRun) and run.name == "healthy" and run.seed == 0
    assert run.diagnosis.regime == dg.EQUILIBRIUM
    assert run.with_samples.regime == dg.EQUILIBRIUM
    assert not any(verdict.alarm for iteration, verdict in run.timeline if iteration > 100)
    assert run.alarms_after(100) == 0
    assert [i for i, _ in run.timeline] == list(range(50, 601, 50))
    assert len(run.history["d_loss"]) == 600
    assert run.samples.shape == run.data.shape == (dg.NUM_SAMPLES, 1)
    assert [f.name for f in dataclasses.fields(run) if f.repr] == [
        "name", "seed", "experiment", "diagnosis", "with_samples"]   # no arrays in its repr
    assert "array(" not in repr(run) and ", history=" not in repr(run)
    assert repr(run).startswith("CausedRun(name='healthy', seed=0, experiment=")
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.name = "other"
    assert run.window_median("d_fake") == pytest.approx(window_median(run.history, "d_fake"))
    assert "[healthy]" in dg.describe(run) and "near equilibrium" in dg.describe(run)


def test_cause_and_the_study_name_their_bad_arguments():
    with pytest.raises(ValueError, match="cause: name must be one of"):
        dg.cause("unknown")
    with pytest.raises(TypeError, match="regime_study: num_seeds must be an int"):
        dg.regime_study(0, 1.5)
    with pytest.raises(ValueError, match="regime_study: num_seeds must be an int >= 1"):
        dg.regime_study(0, 0)
    with pytest.raises(TypeError, match="regime_study: expected a CausedRun"):
        dg.regime_study(0, 1, runs={"healthy": {"diagnosis": None}})
    with pytest.raises(TypeError, match="describe: expected a CausedRun"):
        dg.describe({"name": "healthy"})
    with pytest.raises(TypeError, match="describe_study: expected a RegimeStudy"):
        dg.describe_study({})


@pytest.fixture(scope="module")
def study():
    """The regime study on quick settings: every experiment once, from seed 0."""
    return dg.regime_study(seed=0, num_seeds=1)


def test_the_study_causes_each_regime_and_diagnoses_it(study):
    assert study.seeds == (0,)
    assert list(study.rows) == list(dg.EXPERIMENTS) == list(study.runs)
    for name, experiment in dg.EXPERIMENTS.items():
        row = study.rows[name]
        assert row.regime == experiment.expected, name
        assert row.regime_with_samples == experiment.expected_with_samples, name
        assert (row.as_intended, row.as_intended_with_samples, row.seeds) == (1, 1, 1), name
        assert row.tally() == "1/1 alone, 1/1 with samples"
        assert study.runs[name].seed == 0 and study.runs[name].diagnosis.regime == row.regime
    assert study.always_as_intended
    assert study.saturating_d_fake < dg.D_WINS_OUTPUT
    assert study.saturating_d_fake == evidence(study.runs["saturating"].diagnosis,
                                               "median D(G(z))").value
    assert study.high_rate_period > 10
    assert study.high_rate_period == evidence(study.runs["high-rate"].diagnosis,
                                              "period of the").value
    assert study.collapsing_spread_ratio < dg.COLLAPSE_SPREAD
    assert study.collapsing_spread_ratio == evidence(study.runs["collapsing"].with_samples,
                                                     "samples' spread").value
    assert study.healthy_alarms == 0
    assert study.critic_examples == {
        "wasserstein, estimate falling from 2 to 0.2": dg.EQUILIBRIUM,
        "wasserstein, critic growing with its weights": dg.CRITIC_UNBOUNDED,
        "hinge, D beyond both margins": dg.D_OVERPOWERS_G}
    table = dg.describe_study(study).splitlines()
    assert len(table) == 1 + len(dg.EXPERIMENTS)
    assert table[1].split()[0] == "healthy" and "near equilibrium 1/1" in table[1]
    assert " runs=" not in repr(study) and repr(study).startswith("RegimeStudy(seeds=(0,), rows=")


def test_the_study_reuses_the_runs_it_is_given(study):
    """Runs passed in are used as they are (the chapter's cells made them); a run from another
    seed is refused."""
    again = dg.regime_study(seed=0, num_seeds=1, runs=study.runs)
    assert all(again.runs[name] is study.runs[name] for name in dg.EXPERIMENTS)
    assert again.rows == study.rows
    with pytest.raises(ValueError, match="regime_study: runs must map an experiment's name to "
                                         "its run from seed 1"):
        dg.regime_study(seed=1, num_seeds=1, runs={"healthy": study.runs["healthy"]})


# ---------------------------------------------------------------------------------------------
# The chapter: every regime caused on purpose, diagnosed as intended

def test_chapter_causes_each_regime_and_diagnoses_it(quick_run, study):
    out, numbers = quick_run("ch6_losses")
    assert [os.path.basename(p) for p in numbers["figures"]] == ["regimes.png", "samples.png"]
    for path in numbers["figures"]:
        assert os.path.dirname(path) == str(out) and os.path.getsize(path) > 1000, path
    for name, experiment in dg.EXPERIMENTS.items():
        assert numbers["regime"][name] == experiment.expected, name
        assert numbers["regime_with_samples"][name] == experiment.expected_with_samples, name
        assert numbers["as_intended"][name] == "1/1 alone, 1/1 with samples", name
    assert numbers["seeds"] == 1
    assert numbers["every_seed_as_intended"] == "not judged in --quick"
    assert numbers["saturating_d_fake"] < dg.D_WINS_OUTPUT
    assert numbers["high_rate_period"] > 10
    assert numbers["collapsing_spread_ratio"] < dg.COLLAPSE_SPREAD
    assert numbers["healthy_alarms"] == 0
    # the report reads the study's fields: the same numbers as the library's study from seed 0
    assert numbers["saturating_d_fake"] == study.saturating_d_fake
    assert numbers["high_rate_period"] == study.high_rate_period
    assert numbers["collapsing_spread_ratio"] == study.collapsing_spread_ratio
    assert numbers["critic_examples"] == study.critic_examples


def test_label_smoothing_moves_the_equilibrium():
    """With real targets 1 - s, D* = (1 - s) p_data / (p_data + p_g): 0.45 at equilibrium for
    s = 0.1, and D's loss there BCE(0.45; 0.9) + BCE(0.45; 0) = 1.3764."""
    from minigan.losses import get_objective
    objective = get_objective("non-saturating", label_smoothing=0.1)
    ref = dg.reference(objective)
    expected = -(0.9 * math.log(0.45) + 0.1 * math.log(0.55)) - math.log(0.55)
    assert ref.d_loss_equilibrium == pytest.approx(expected) and ref.real_target == 0.9
    h = made_up(0.45, 0.45, expected, -math.log(0.45))
    d = dg.diagnose(h, objective)
    assert d.regime == dg.EQUILIBRIUM
    assert evidence(d, "|median D(x) - 0.45|").value == pytest.approx(
        abs(window_median(h, "d_real") - 0.45))


def test_a_saved_run_is_diagnosed_from_its_checkpoint(tmp_path, capsys):
    gan = _small_gan(lr_g=1e-4, lr_d=5e-3, d_steps=1)
    gan.train(200)
    path = tmp_path / "run.npz"
    gan.save_checkpoint(path)
    history = dg.history_from_checkpoint(path)
    assert history == {k: list(v) for k, v in gan.history.items()}
    assert dg.main([str(path), "--every", "100"]) == 0
    out = capsys.readouterr().out
    assert f"{path}: 200 iterations" in out
    assert "iteration 100: D overpowering G" in out
    assert "diagnosis at iteration 200 (100-200 D overpowering G)" in out
