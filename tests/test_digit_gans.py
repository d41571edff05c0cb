"""Chapter 4's machinery, imported: the judges' verdicts (minigan.digit_judges), the documents'
losses (minigan.document_errata), the time estimates and the summary figure (minigan.digit_gans).
The chapter's own --quick run is tests/test_ch4.py."""
import numpy as np
import pytest

from minigan import backend as B
from minigan import digit_gans as dg
from minigan import digit_judges
from minigan.digit_judges import Judge, judge_samples
from minigan.document_errata import (KerasBCEOnRawOutputs, LabelFreeLoss,
                                     document_001_generator, document_004_generator)
from minigan.gradcheck import check_function


class FixedClassifier:
    """A stand-in judge: sample i gets the class probabilities probs[i]; features are the
    probabilities themselves."""

    def __init__(self, probs):
        self.probs = np.asarray(probs, dtype=np.float64)

    def predict_proba(self, samples):
        return self.probs[:len(samples)]

    def features(self, samples):
        return self.probs[:len(samples)]


def one_hot(classes):
    probs = np.full((len(classes), 10), 0.01)
    probs[np.arange(len(classes)), classes] = 0.91
    return probs


def test_the_verdict_is_the_stricter_judges():
    n = 100
    lenient = np.arange(n) % 10                          # every digit 10%
    strict = np.where(np.arange(n) < 50, 1, np.arange(n) % 10)   # digit 1 takes half
    judges = [Judge("conv", FixedClassifier(one_hot(lenient)), 1.0),
              Judge("mlp", FixedClassifier(one_hot(strict)), 1.0)]
    verdict = judge_samples(judges, np.zeros((n, 1, 28, 28)))
    assert verdict.strict == "mlp"
    fractions = np.bincount(strict, minlength=10) / n
    np.testing.assert_allclose(verdict.class_fractions, fractions)
    assert verdict.min_class_fraction == pytest.approx(fractions.min())
    assert verdict.judges["conv"]["min_class_fraction"] == pytest.approx(0.1)
    assert np.isnan(verdict.judges["conv"]["fid"])             # no reference features
    assert verdict.label_accuracy is None
    # asked for digit i % 10: the lenient judge sees every sample drawn as asked
    asked = judge_samples(judges, np.zeros((n, 1, 28, 28)), requested=lenient)
    assert asked.judges["conv"]["label_accuracy"] == 1.0
    assert asked.label_accuracy == pytest.approx((strict == lenient).mean())
    assert asked.min_digit_accuracy == pytest.approx(0.5)          # digits 0, 2-9: 5 of 10
    assert asked.per_digit[1] == 1.0
    assert "mlp" in digit_judges.verdict_table("cgan", asked)


def test_load_digit_data_rejects_an_unknown_dataset():
    with pytest.raises(ValueError, match="load_digit_data: dataset must be"):
        digit_judges.load_digit_data("cifar", None, 0, 10, 10)


def test_the_documents_losses_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    keras, label_free = KerasBCEOnRawOutputs(), LabelFreeLoss()
    with B.precision("float64"):
        inside = B.asarray(rng.uniform(0.05, 0.95, (8, 1)))
        other = B.asarray(rng.uniform(0.05, 0.95, (8, 1)))
        for loss in (keras, label_free):
            assert check_function(loss.g_loss, inside) < 1e-6
            assert check_function(lambda x: loss.d_loss(x, other)[:2], inside) < 1e-6   # real
            assert check_function(lambda x: loss.d_loss(other, x)[::2], inside) < 1e-6  # fake
        # outside (eps, 1 - eps) the clip passes no gradient: G learns nothing from that fake
        outside = B.asarray(np.array([[-0.5], [1.5], [0.5]]))
        _, grad = keras.g_loss(outside)
        assert grad[0, 0] == 0 and grad[1, 0] == 0 and grad[2, 0] != 0


def test_the_documents_generators_make_the_wrong_images():
    z = B.randn(2, dg.LATENT_DIM)
    assert document_001_generator().forward(z).shape == (2, 1, 16, 16)
    assert document_004_generator().forward(z).shape == (2, 1, 8, 8)


def test_the_clock_prices_each_example_at_its_own_measured_rate():
    settings = dg.Settings(num_images=640, batch_size=64, train_step_iterations=100)
    clock = dg.Clock(settings, ("dense", "dcgan", "train_step"),
                     {"dense": 0.01, "dcgan": 0.2, "train_step": 0.02})
    # dense 90 x 10, dcgan 30 x 10, train_step 3 x 100 iterations
    assert clock.total() == pytest.approx(900 * 0.01 + 300 * 0.2 + 300 * 0.02)
    # half-way through dense at 0.03 s an iteration (slower than measured): its own rate
    line = clock.line("dense", 450, 450, 450 * 0.03)
    assert line == ("about 14 s left for dense; about 80 s of training left in the chapter")
    assert "dcgan" in clock.plan() and "300 iterations" in clock.plan()


def test_measuring_iterations_leaves_the_random_stream_alone():
    data = digit_judges.DigitData(images=np.zeros((32, 1, 28, 28), np.float32),
                                  labels=np.arange(32) % 10, judge_images=None,
                                  judge_labels=None, test_images=None, test_labels=None,
                                  split="zeros")
    setup = dg.Setup(data=data, judges=[], settings=dg.QUICK, out="unused", seed=0)
    B.seed(5)
    before = B.get_rng_state()
    seconds = dg.measure_iteration_seconds(setup, ("dense", "cgan"), iterations=2)
    assert set(seconds) == {"dense", "cgan"} and all(s > 0 for s in seconds.values())
    assert B.get_rng_state() == before
    with pytest.raises(ValueError, match="unknown example"):
        dg.measure_iteration_seconds(setup, ("wgan",))


def test_a_one_column_summary_keeps_its_title_inside_the_figure(tmp_path):
    """The two-line title of a single example's summary is wrapped to the figure's width."""
    from minigan import plot
    verdict = judge_samples([Judge("conv", FixedClassifier(one_hot(np.arange(20) % 10)), 1.0)],
                            np.zeros((20, 1, 28, 28)), requested=np.arange(20) % 10)
    record = dg.CGANRecord(verdict=verdict, target_met=True, losses_finite=True,
                           conditioning="projection",
                           final_grid=np.zeros((100, 1, 28, 28), np.float32))
    saved = {}
    original = plot.save

    def keep(fig, path, dpi=100):
        saved["fig"] = fig
        return original(fig, path, dpi)
    try:
        plot.save = keep
        dg.summary_figure(str(tmp_path / "summary.png"), {"cgan": record}, "MNIST",
                          "[--quick smoke test, not the text's result]\nSection 4's examples "
                          "rebuilt in minigan, trained on MNIST (samples scored by the stricter "
                          "of two digit classifiers)")
    finally:
        plot.save = original
    fig = saved["fig"]
    renderer = fig.canvas.get_renderer()
    box = fig._suptitle.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    with pytest.raises(ValueError, match="summary_figure: no trained example"):
        dg.summary_figure(str(tmp_path / "none.png"), {}, "MNIST")
