"""minigan.saturation: the saturating vs non-saturating study that chapters 3 and 5 share."""
import numpy as np
import pytest

from minigan import backend as B
from minigan import saturation
from minigan.data.toy import Gaussian1D
from minigan.gradcheck import numerical_gradient, rel_error
from minigan.losses import get_objective


def test_per_sample_gradients_are_d_and_one_minus_d():
    d = np.array([1e-4, 0.01, 0.3, 0.5, 0.9, 0.999])
    with B.precision("float64"):
        np.testing.assert_allclose(saturation.per_sample_gradient(d, "minimax"), d, rtol=1e-9)
        np.testing.assert_allclose(saturation.per_sample_gradient(d, "non-saturating"), 1 - d,
                                   rtol=1e-9)


@pytest.mark.parametrize("bad, message", [
    ((np.array([0.5]), "hinge"), "objective must be one of"),
    ((np.array([0.0, 0.5]), "minimax"), r"values in \(0, 1\)"),
    ((np.array([]), "minimax"), "non-empty"),
])
def test_per_sample_gradient_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=f"per_sample_gradient: .*{message}"):
        saturation.per_sample_gradient(*bad)


@pytest.mark.parametrize("objective", saturation.LOSSES)
def test_generator_gradient_matches_finite_differences(objective):
    """G's parameter gradient through D (float64) against centred differences of the loss."""
    with B.precision("float64"):
        B.seed(3)
        G, D = saturation.small_generator(), saturation.small_discriminator()
        z = B.randn(16, 1)
        per_sample, norm = saturation.generator_gradient(G, D, z, objective)

        def loss():
            return float(get_objective(objective).g_loss(D.forward(G.forward(z)))[0])

        squares = 0.0
        for p in G.parameters():
            analytic = p.grad.copy()
            numeric = numerical_gradient(loss, p.data)
            assert rel_error(analytic, numeric) < 1e-6
            squares += float((analytic ** 2).sum())
        assert norm == pytest.approx(np.sqrt(squares), rel=1e-12)
        d_fake = 1 / (1 + np.exp(-B.to_numpy(D.forward(G.forward(z))).reshape(-1)))
        expected = d_fake if objective == "minimax" else 1 - d_fake
        np.testing.assert_allclose(per_sample, expected, rtol=1e-9)


def test_reject_a_confident_d_silences_only_the_saturating_loss():
    B.seed(0)
    G, D = saturation.small_generator(), saturation.small_discriminator()
    data = Gaussian1D(4.0, 0.5)
    rejection = saturation.reject(G, D, data.sample, d_steps=300, batch_size=128, lr=5e-3,
                                  probe_every=100)
    np.testing.assert_array_equal(rejection.steps, [0, 100, 200, 300])
    assert rejection.d_fake.shape == (4, 128) and rejection.per_sample["minimax"].shape == (4, 128)
    assert rejection.identity_error < 1e-6
    assert rejection.d_fake_end < 0.05 < rejection.mean_d_fake[0]
    assert rejection.norms["minimax"][-1] < 0.3 * rejection.norms["minimax"][0]
    assert rejection.norms["non-saturating"][-1] > 3 * rejection.norms["non-saturating"][0]
    with pytest.raises(ValueError, match="reject: probe_every must be a positive int"):
        saturation.reject(G, D, data.sample, d_steps=3, batch_size=8, lr=1e-3, probe_every=0)


def test_training_from_the_same_start_uses_the_same_draws():
    """Both losses share D's loss, so with the same start and the same draws their first
    iteration's D step sees the same batches and leaves the same mean D(G(z)); then G's steps
    differ and so do the curves."""
    B.seed(1)
    G, D = saturation.small_generator(), saturation.small_discriminator()
    data = Gaussian1D(4.0, 0.5)
    training = saturation.train_from_same_start(
        G, D, saturation.small_generator, saturation.small_discriminator, data.sample, steps=20,
        batch_size=32, learning_rates={"SGD": 0.05, "Adam": 1e-3})
    assert set(training.mean_gz) == {(o, loss) for o in ("SGD", "Adam")
                                     for loss in saturation.LOSSES}
    minimax, nonsat = training.mean_gz["SGD", "minimax"], training.mean_gz["SGD", "non-saturating"]
    assert minimax.shape == (21,) and training.d_fake["SGD", "minimax"].shape == (20,)
    assert minimax[0] == nonsat[0]                                   # the shared start
    assert training.d_fake["SGD", "minimax"][0] == training.d_fake["SGD", "non-saturating"][0]
    assert not np.array_equal(minimax, nonsat)
    assert training.first_arrival("SGD", "minimax", 100.0, 0.1) == 21       # never: len + 0
    assert training.first_arrival("SGD", "minimax", float(minimax[0]), 1e-9) == 0
    with pytest.raises(ValueError, match="optimizer must be one of"):
        saturation.train_from_same_start(G, D, saturation.small_generator,
                                         saturation.small_discriminator, data.sample, 1, 8,
                                         {"RMSprop": 0.1})


def test_the_study_and_its_figures(tmp_path):
    B.seed(0)
    study = saturation.saturation_study(saturation.Settings(d_steps=100, train_steps=30))
    assert study.norm_saturating_after < study.norm_saturating_before
    assert study.norm_nonsaturating_after > study.norm_nonsaturating_before
    assert set(study.steps_to_data) == {(o, loss) for o in ("SGD", "Adam")
                                        for loss in saturation.LOSSES}
    for path in (saturation.study_figure(str(tmp_path / "a.png"), study, "title"),
                 saturation.losses_figure(str(tmp_path / "b.png"), study.rejection, "title")):
        assert (tmp_path / path.split("/")[-1]).stat().st_size > 1000
