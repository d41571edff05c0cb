"""Chapter 5: the Dirac-GAN against its closed form, Frechet distance known answers, and the
chapter's --quick run (mode collapse: tests/test_mode_collapse.py)."""
import json
import math
import os
import warnings

import numpy as np
import pytest

from minigan import backend as B
from minigan import evaluation, instability
from minigan.dirac import (DIRAC_OBJECTIVES, MODES, DiracGenerator, dirac_field,
                           dirac_jacobian, dirac_trajectory, field_residual,
                           linear_discriminator, normal_quantiles, step_map)
from minigan.metrics import fid_from_features, frechet_distance


LR = 0.05


# ---------------------------------------------------------------------------------------------
# Dirac-GAN

@pytest.mark.parametrize("objective", DIRAC_OBJECTIVES)
@pytest.mark.parametrize("mode", MODES)
def test_dirac_trajectory_follows_the_closed_form_field(objective, mode):
    with B.precision("float64"):
        path = dirac_trajectory(1.0, 0.5, objective, LR, 60, mode)
    assert path.shape == (61, 2)
    assert field_residual(path, objective, LR, mode) < 1e-12
    # the check can fail: the other scheme's prediction is wrong by O(h^2)
    other = MODES[1 - MODES.index(mode)]
    assert field_residual(path, objective, LR, other) > 1e-4


@pytest.mark.parametrize("extra", [{"gamma": 0.5}, {"noise": np.array([-1.0, -0.3, 0.3, 1.0])}])
def test_dirac_regularised_trajectory_follows_the_field_and_converges(extra):
    with B.precision("float64"):
        for mode in MODES:
            path = dirac_trajectory(1.0, 1.0, "minimax", LR, 400, mode, **extra)
            assert field_residual(path, "minimax", LR, mode, **extra) < 1e-12
            assert np.hypot(*path[-1]) < 0.1 * np.hypot(*path[0])


def test_dirac_unregularised_does_not_converge():
    with B.precision("float64"):
        for objective in ("minimax", "wasserstein"):
            for mode in MODES:
                path = dirac_trajectory(1.0, 1.0, objective, LR, 400, mode)
                distance = np.hypot(path[:, 0], path[:, 1])
                assert distance[-1] > 0.95 * distance[0]
                if mode == "simultaneous":
                    assert distance[-1] > distance[0]                  # spirals out


def test_dirac_wasserstein_known_answers():
    """Simultaneous: radius x sqrt(1 + h^2) per step. Alternating: theta^2 + psi^2 - h theta psi
    is conserved."""
    with B.precision("float64"):
        sim = dirac_trajectory(0.3, -0.7, "wasserstein", LR, 100, "simultaneous")
        alt = dirac_trajectory(0.3, -0.7, "wasserstein", LR, 100, "alternating")
    radius = np.hypot(sim[:, 0], sim[:, 1])
    np.testing.assert_allclose(radius, radius[0] * (1 + LR ** 2) ** (np.arange(101) / 2),
                               rtol=1e-12)
    q = alt[:, 0] ** 2 + alt[:, 1] ** 2 - LR * alt[:, 0] * alt[:, 1]
    np.testing.assert_allclose(q, q[0], rtol=1e-12)


@pytest.mark.parametrize("objective", DIRAC_OBJECTIVES)
def test_dirac_jacobian_matches_finite_differences(objective):
    noise = normal_quantiles(32, 0.8)
    noise_std = math.sqrt(float((noise ** 2).mean()))      # the set's own second moment
    for extra, gamma, std in (({}, 0.0, 0.0), ({"gamma": 0.3}, 0.3, 0.0),
                              ({"noise": noise}, 0.0, noise_std)):
        h = 1e-6
        numeric = np.empty((2, 2))
        for j, (dt, dp) in enumerate(((h, 0.0), (0.0, h))):
            plus = dirac_field(np.array(dt), np.array(dp), objective, **extra)
            minus = dirac_field(np.array(-dt), np.array(-dp), objective, **extra)
            numeric[:, j] = [(plus[i] - minus[i]) / (2 * h) for i in range(2)]
        expected = dirac_jacobian(objective, gamma, std if objective != "wasserstein" else 0.0)
        np.testing.assert_allclose(numeric, expected, atol=1e-8)


def test_dirac_step_maps_spectral_radius():
    """Unregularised: simultaneous > 1, alternating = 1; with R1: both < 1."""
    rotation = dirac_jacobian("minimax")
    assert np.abs(np.linalg.eigvals(step_map(rotation, LR, "simultaneous"))).max() == \
        pytest.approx(math.sqrt(1 + LR ** 2 / 4), rel=1e-12)
    assert np.abs(np.linalg.eigvals(step_map(rotation, LR, "alternating"))).max() == \
        pytest.approx(1.0, rel=1e-12)
    damped = dirac_jacobian("minimax", gamma=0.5)
    for mode in MODES:
        assert np.abs(np.linalg.eigvals(step_map(damped, LR, mode))).max() < 1


def test_dirac_modules():
    with B.precision("float64"):
        G, D = DiracGenerator(0.7), linear_discriminator(-1.5)
        x = G.forward(B.xp.zeros((3, 1)))
        np.testing.assert_array_equal(x, np.full((3, 1), 0.7))
        np.testing.assert_allclose(D.forward(x), np.full((3, 1), -1.05))
        G.backward(B.xp.array([[1.0], [2.0], [0.5]]))
        assert float(G.theta.grad[0]) == pytest.approx(3.5)
    with pytest.raises(ValueError, match="objective"):
        dirac_field(0.0, 0.0, "hinge")
    with pytest.raises(ValueError, match="mode"):
        dirac_trajectory(1.0, 1.0, "minimax", mode="sideways")
    with pytest.raises(ValueError, match="optimizer"):
        dirac_trajectory(1.0, 1.0, "minimax", optimizer="rmsprop")
    with pytest.raises(RuntimeError, match="before forward"):
        DiracGenerator().backward(B.xp.ones((1, 1), dtype=B.dtype()))


def test_normal_quantiles():
    q = normal_quantiles(4, 2.0)
    np.testing.assert_allclose(q, -q[::-1], atol=1e-12)
    # Phi^{-1}(0.875) = 1.1503493803760079
    assert q[-1] == pytest.approx(2.0 * 1.1503493803760079, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Frechet distance and the evaluation's sanity checks

def test_frechet_real_vs_real_noise_monotone_and_warning():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(6, 6))
    features = rng.normal(size=(4000, 6)) @ mixing
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-9)
    halves = fid_from_features(features[:2000], features[2000:])
    distances = [fid_from_features(features[:2000],
                                   features[2000:] + s * rng.normal(size=(2000, 6)))
                 for s in (1.0, 2.0, 4.0, 8.0)]
    assert halves < 0.2 * distances[0]
    assert np.all(np.diff(distances) > 0)
    with pytest.warns(UserWarning, match="fewer|singular|samples"):
        fid_from_features(features[:5], features[5:10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fid_from_features(features[:100], features[100:200])        # enough samples: silent
    mu = np.zeros(3)
    assert frechet_distance(mu, np.eye(3), mu + 2, 4 * np.eye(3)) == pytest.approx(12 + 3)


# ---------------------------------------------------------------------------------------------
# minigan.instability: the chapter's Dirac-GAN study

def test_dirac_study_records_what_the_text_cites():
    study = instability.dirac_study(200)
    assert study.field_residual < 1e-12
    assert study.wgan_growth == pytest.approx(study.wgan_growth_predicted, rel=1e-12)
    assert study.wgan_invariant_drift < 1e-12
    start = math.hypot(*instability.START)
    assert set(study.final_distance) == {(case.key, mode) for case in instability.CASES
                                         for mode in MODES}
    assert study.final_distance["minimax", "simultaneous"] > start
    assert study.final_distance["wasserstein", "simultaneous"] > start
    assert study.final_distance["minimax+r1", "simultaneous"] < 0.2 * start
    assert study.final_distance["minimax+noise", "alternating"] < 0.2 * start
    assert study.final_distance_adam > start                      # Adam spirals out too
    rows = {row.label: row for row in study.linear}
    assert rows["minimax (standard)"].radius_simultaneous > 1
    assert rows["minimax (standard)"].radius_alternating == pytest.approx(1.0, rel=1e-12)
    assert rows[instability.CASES[3].label].radius_simultaneous < 1
    assert "eigenvalues" in instability.linear_table(study)
    with pytest.raises(ValueError, match="dirac_study: steps must be a positive int"):
        instability.dirac_study(0)


# ---------------------------------------------------------------------------------------------
# minigan.evaluation: which run of chapter 4 is read

def _write_run_record(folder, quick):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps({
        "chapter": "ch4_code_examples", "quick": quick, "seed": 0, "finished": True,
        "command": "python chapters/ch4_code_examples.py" + (" --quick" if quick else "")}))


def test_a_full_run_refuses_chapter_4s_quick_output_and_a_quick_run_reads_it(tmp_path):
    quick_folder, full_folder = tmp_path / "ch4-quick", tmp_path / "ch4"
    _write_run_record(quick_folder, quick=True)
    _write_run_record(full_folder, quick=False)
    problem = evaluation.chapter4_folder_problem(str(quick_folder), quick=False)
    assert "a --quick smoke test" in problem and "not chapter 4's" in problem
    assert evaluation.chapter4_folder_problem(str(quick_folder), quick=True) is None
    assert evaluation.chapter4_folder_problem(str(full_folder), quick=False) is None
    assert evaluation.chapter4_folder_problem(str(tmp_path / "absent"), quick=False) is None


def test_chapter4_scores_name_the_run_read_and_score_its_checkpoints(tmp_path, capsys):
    from minigan import checkpoint
    study, _ = evaluation.evaluation_study(evaluation.Settings(
        train_images=200, set_size=400, classifier_epochs=1), seed=0)
    folder = tmp_path / "ch4"
    _write_run_record(folder, quick=False)
    G = evaluation.CH4_MODELS["dcgan"][0]()
    (folder / "dcgan").mkdir()
    checkpoint.save(str(folder / "dcgan" / "checkpoint.npz"), {"G": G})
    scores = evaluation.chapter4_scores(study, str(folder), quick=False, train_iterations=0,
                                        seed=0, samples=500)
    assert not scores.refused and "a full run" in scores.run
    assert set(scores.scores) == {"dcgan"}                      # no dense checkpoint: skipped
    assert np.isfinite(scores.scores["dcgan"].fid) and scores.scores["dcgan"].fid > 0
    assert 1.0 <= scores.scores["dcgan"].inception_score <= 10.0
    out = capsys.readouterr().out
    assert "reading " + str(folder) in out and "chapter 4's dense model: no checkpoint" in out
    _write_run_record(folder, quick=True)                        # now a quick run wrote it
    refused = evaluation.chapter4_scores(study, str(folder), quick=False, train_iterations=0,
                                         seed=0, samples=500)
    assert refused.refused and refused.scores == {}
    assert "refused" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# The chapter

def test_chapter5_quick(quick_run):
    _, result = quick_run("ch5_challenges")                 # shared with the notebook test
    dirac, sat, ev = result["dirac"], result["saturation"], result["evaluation"]
    assert result["dirac_field_residual"] == dirac.field_residual < 1e-12
    assert dirac.final_distance["minimax+r1", "simultaneous"] < 0.2 * math.hypot(1.0, 1.0)
    # saturation: per-sample gradients are D and 1 - D; a confident D silences the minimax G
    assert sat.rejection.identity_error < 1e-6
    assert sat.rejection.d_fake_end < 0.05
    assert sat.norm_saturating_after < 0.3 * sat.norm_saturating_before
    assert sat.norm_nonsaturating_after > 3 * sat.norm_nonsaturating_before
    assert sat.steps_to_data["SGD", "non-saturating"] < sat.steps_to_data["SGD", "minimax"]
    # evaluation sanity checks
    assert ev.fid_monotone_in_noise
    assert ev.fid_real_vs_real < 0.2 * ev.fid_noisy[-1]
    assert ev.fid_uniform_noise > ev.fid_noisy[-1]
    assert ev.fd_diag_rel_error < 1e-10 and ev.fd_prop_rel_error < 1e-10
    assert ev.fd_from_samples == pytest.approx(ev.fd_prop_exact, rel=0.05)
    assert ev.few_samples_warnings
    assert ev.is_one_digit[0] < 2.0 < ev.is_real[0] <= 10.0
    # chapter 4's quick run is the one a quick run reads, and it is named
    assert result["chapter4"].folder.endswith("ch4_code_examples-quick")
    assert result["ch4_run"].startswith(result["chapter4"].folder)
    for path in result["figures"]:
        assert os.path.getsize(path) > 0
