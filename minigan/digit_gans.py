"""Chapter 4's examples: the documents' GANs on handwritten digits, trained, judged and checked.

* ``dense_example``   document 003's dense GAN (sigmoid output, images in [0, 1]), trained
  properly, beside the document's loop (D steps only: G never trained);
* ``dcgan_example``   the DCGAN of documents 001/004 at 28x28, beside the documents' generators;
* ``train_step_example``  document 002's train step: BCE from logits, beside BCE on raw outputs
  (002) and the label-free loss (001), three short runs of the dense GAN from one start;
* ``cgan_example``    a conditional DCGAN whose D projects the label onto its features (Miyato &
  Koyama, 2018) or sees it as ten input maps (the documents' way).

Each trained example draws a fixed-noise 10x10 grid and saves a checkpoint after every epoch
(``train_epochs``; with ``Setup.resume`` it continues exactly where the checkpoint left off), and
is judged by two digit classifiers (``minigan.digit_judges``). Each returns an ``ExampleRun``:
a record of what it measured (a dataclass, fields named as the chapter cites them), its figures
and its training time. ``measure_iteration_seconds`` times a few iterations of each example so
that the time left can be estimated from measurements (``Clock``).
"""
from __future__ import annotations

import dataclasses
import os
import textwrap
import time

from minigan import backend as B
from minigan import plot
from minigan.digit_judges import NUM_CLASSES, Verdict, judge_samples
from minigan.document_errata import (KerasBCEOnRawOutputs, LabelFreeLoss,
                                     document_001_generator, document_004_generator)
from minigan.gan import GAN
from minigan.losses import get_objective, sigmoid
from minigan.models import (conditional_discriminator, conditional_generator,
                            dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator, projection_discriminator)
from minigan.nn import Sequential, Sigmoid

np = B.np                     # host arrays: grids, samples, histories

EXAMPLES = ("dense", "dcgan", "train_step", "cgan")
TRAINED = ("dense", "dcgan", "cgan")            # the examples trained for epochs
LATENT_DIM = 100
LR = 2e-4                     # Adam, beta1 = 0.5 (GAN's default): G, and D in 4.3-4.4
LR_D = LR / 2                 # 4.1, 4.2: D learns at half G's rate ...
DENSE_LABEL_SMOOTHING = 0.1   # ... and 4.1's D with real targets 0.9
GRID = 10                     # 10 x 10 sample grids
MIN_CLASS_FRACTION = 0.03     # 4.1, 4.2: every digit gets at least this share
TARGET_LABEL_ACCURACY = 0.9   # 4.4: samples drawn as the digit asked for ...
TARGET_MIN_DIGIT_ACCURACY = 0.75   # ... and for every digit at least this


@dataclasses.dataclass(frozen=True)
class Settings:
    """How long each example runs: num_images training images in batches of batch_size;
    epochs per trained example; the judges' classifier_epochs; score_samples samples judged per
    generator (and test images); train_step_iterations for each of 4.3's three runs;
    doc003_d_steps D steps of document 003's loop."""
    num_images: int = 10_000
    batch_size: int = 64
    epochs: tuple = (("dense", 90), ("dcgan", 30), ("cgan", 10))
    classifier_epochs: int = 8
    score_samples: int = 10_000
    train_step_iterations: int = 600
    doc003_d_steps: int = 300

    def epochs_of(self, name: str) -> int:
        return dict(self.epochs)[name]

    def iterations(self, name: str) -> int:
        """Training iterations of example ``name`` (4.3: its three runs together)."""
        if name == "train_step":
            return 3 * self.train_step_iterations
        return self.epochs_of(name) * (self.num_images // self.batch_size)


FULL = Settings()
QUICK = Settings(num_images=48, batch_size=16, epochs=(("dense", 2), ("dcgan", 2), ("cgan", 2)),
                 classifier_epochs=1, score_samples=200, train_step_iterations=4,
                 doc003_d_steps=4)


@dataclasses.dataclass
class Setup:
    """What every example needs: the data (minigan.digit_judges.DigitData), the judges, the
    settings, the output folder, the seed, whether to resume from checkpoints, the cGAN's
    conditioning ("projection" | "concat"), the fixed noise (100, LATENT_DIM) of the grids and
    the clock that estimates the time left."""
    data: object
    judges: list
    settings: Settings
    out: str
    seed: int
    resume: bool = False
    conditioning: str = "projection"
    fixed_noise: object = None
    clock: object = None
    penalty: object = None           # a minigan.penalty.GradientPenalty on the DCGAN's D, or None

    @property
    def steps_per_epoch(self) -> int:
        return len(self.data.images) // self.settings.batch_size


@dataclasses.dataclass
class ExampleRun:
    """One example's record (what it measured), figures (paths) and training seconds."""
    record: object
    figures: list
    seconds: float


# ---------------------------------------------------------------------------------------------
# The models of each example, and the time they take

def _dense_gan(setup, smoothing=True, objective=None, lr_d=LR_D, sigmoid_output=True):
    images = (setup.data.images + 1) / 2 if sigmoid_output else setup.data.images
    G = dense_generator(LATENT_DIM, output="sigmoid") if sigmoid_output else \
        dense_generator(LATENT_DIM)
    objective = objective or get_objective("non-saturating",
                                           DENSE_LABEL_SMOOTHING if smoothing else 0.0)
    return GAN(G, dense_discriminator(), B.asarray(images), latent_dim=LATENT_DIM,
               batch_size=setup.settings.batch_size, objective=objective, lr_g=LR, lr_d=lr_d)


def _dcgan(setup):
    return GAN(dcgan_generator(LATENT_DIM), dcgan_discriminator(dropout=0.3),
               B.asarray(setup.data.images), latent_dim=LATENT_DIM,
               batch_size=setup.settings.batch_size, objective="non-saturating", lr_g=LR,
               lr_d=LR_D, penalty=setup.penalty)


def _cgan(setup):
    G = conditional_generator(LATENT_DIM, NUM_CLASSES)
    D = (projection_discriminator(NUM_CLASSES, dropout=0.3) if setup.conditioning == "projection"
         else conditional_discriminator(NUM_CLASSES, dropout=0.3))
    return GAN(G, D, B.asarray(setup.data.images),
               latent_dim=LATENT_DIM, batch_size=setup.settings.batch_size,
               objective="non-saturating", lr_g=LR, lr_d=LR, labels=setup.data.labels,
               num_classes=NUM_CLASSES)


BUILDERS = {"dense": _dense_gan, "dcgan": _dcgan, "cgan": _cgan,
            "train_step": lambda setup: _dense_gan(setup, sigmoid_output=False, lr_d=LR)}


def measure_iteration_seconds(setup, names, iterations: int = 5) -> dict:
    """{name: seconds per training iteration} of each example in ``names``: the median over
    ``iterations`` iterations (one D step, one G step) of fresh models, after one untimed one
    (the median, so that a burst of other work on the computer does not set the estimate). Each
    timed iteration ends by reading G's loss back, so a device's queued work is counted. Leaves
    minigan's random stream as it found it (the examples' numbers do not change)."""
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 1:
        raise ValueError(f"measure_iteration_seconds: iterations must be a positive int, got "
                         f"{iterations!r}")
    unknown = [name for name in names if name not in BUILDERS]
    if unknown:
        raise ValueError(f"measure_iteration_seconds: unknown example(s) {unknown}; expected "
                         f"names from {EXAMPLES}")
    state = B.get_rng_state()
    seconds = {}
    try:
        for name in names:
            gan = BUILDERS[name](setup)
            times = []
            for _ in range(iterations + 1):                # the first: allocations, first calls
                start = time.perf_counter()
                gan.d_step()
                B.to_numpy(gan.g_step())
                times.append(time.perf_counter() - start)
            seconds[name] = float(np.median(times[1:]))
    finally:
        B.set_rng_state(state)
    return seconds


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class Clock:
    """Estimates of the training time left: the example in progress by its own measured rate
    (seconds per iteration so far), the examples still to come by the rate measured for each
    (``measure_iteration_seconds``). Judging and figures are not included."""

    def __init__(self, settings: Settings, names, measured: dict):
        self.iterations = {name: settings.iterations(name) for name in EXAMPLES if name in names}
        self.measured = dict(measured)

    def total(self) -> float:
        """Seconds of training of every example, at the measured rates."""
        return sum(self.iterations[n] * self.measured[n] for n in self.iterations)

    def plan(self) -> str:
        """One line per example: its iterations, the measured rate, the estimated time."""
        lines = [f"Training time, from {', '.join(self.iterations)} timed for a few iterations "
                 f"each: about {_duration(self.total())} in all (judging comes on top)"]
        for name, its in self.iterations.items():
            lines.append(f"  {name:<10} {its:>6} iterations x {1000 * self.measured[name]:7.1f} "
                         f"ms = {_duration(its * self.measured[name])}")
        return "\n".join(lines)

    def line(self, name: str, iterations_done: int, iterations_timed: int, seconds: float) -> str:
        """'about 3 min left for dcgan; about 21 min of training left in the chapter' after
        ``iterations_done`` of example ``name``, the last ``iterations_timed`` of which took
        ``seconds``."""
        rate = seconds / max(iterations_timed, 1)
        left = max(self.iterations[name] - iterations_done, 0) * rate
        names = list(self.iterations)
        later = names[names.index(name) + 1:]
        chapter_left = left + sum(self.iterations[n] * self.measured[n] for n in later)
        return (f"about {_duration(left)} left for {name}; about {_duration(chapter_left)} of "
                f"training left in the chapter")


# ---------------------------------------------------------------------------------------------
# Training with per-epoch grids and checkpoints

def train_epochs(name, gan, setup, grid_samples, value_range=(-1.0, 1.0)) -> dict:
    """Train example ``name`` for its epochs; after each: a fixed-noise grid (PNG) and a
    checkpoint in <out>/<name>/.

    grid_samples() -> the (100, 1, 28, 28) grid images of the current G (fixed inputs, eval
    mode: drawing them takes nothing from the random stream). With setup.resume and a checkpoint
    in the example's folder, training continues from it: models, optimizers, RNG state,
    iteration, histories and the grids so far. Returns {"frames", "figures", "seconds"}.
    """
    epochs, steps = setup.settings.epochs_of(name), setup.steps_per_epoch
    folder = os.path.join(setup.out, name)
    path = os.path.join(folder, "checkpoint.npz")
    frames = []
    if setup.resume and os.path.exists(path):
        frames = list(gan.load_checkpoint(path)["frames"])
        print(f"[{name}] resumed from {path}: iteration {gan.iteration}, epoch {len(frames)}")
    start, first_iteration = time.perf_counter(), gan.iteration
    for epoch in range(len(frames) + 1, epochs + 1):
        # Ctrl-C mid-epoch saves a checkpoint (with the grids so far); --resume finishes the epoch
        gan.train(epoch * steps - gan.iteration, checkpoint_path=path,
                  checkpoint_extra={"frames": frames})
        frames.append(B.to_numpy(grid_samples()))
        plot.image_grid(os.path.join(folder, f"epoch_{epoch:03d}.png"), frames[-1], nrow=GRID,
                        value_range=value_range, title=f"{name}, epoch {epoch}")
        gan.save_checkpoint(path, extra={"frames": frames})
        h = gan.history
        recent = slice(-steps, None)
        eta = setup.clock.line(name, gan.iteration, gan.iteration - first_iteration,
                               time.perf_counter() - start)
        print(f"[{name}] epoch {epoch}/{epochs}  D loss {np.mean(h['d_loss'][recent]):.3f}  "
              f"G loss {np.mean(h['g_loss'][recent]):.3f}  D(x) {np.mean(h['d_real'][recent]):.2f}"
              f"  D(G(z)) {np.mean(h['d_fake'][recent]):.2f}  ({eta})", flush=True)
    seconds = time.perf_counter() - start

    def draw(ax, item):
        epoch, frame = item
        ax.imshow(plot.tile(frame, GRID, value_range), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(f"{name}, epoch {epoch}")
        ax.axis("off")

    figures = [plot.history(os.path.join(folder, "history.png"), gan.history,
                            title=f"{name}: losses and mean D outputs"),
               plot.save_gif(os.path.join(folder, "grids.gif"), list(enumerate(frames, 1)), draw,
                             fps=2, size=(4.0, 4.3))]
    return {"frames": frames, "figures": figures, "seconds": seconds}


def sample_images(gan, n, labels=None):
    """n samples of gan's generator as a host array, 1000 at a time (eval mode)."""
    return B.to_numpy(gan.sample(n, labels=labels, chunk_size=1000))


def all_finite(history) -> bool:
    """Every D and G loss of the history is finite."""
    return bool(all(np.isfinite(history[key]).all() for key in ("d_loss", "g_loss")))


# ---------------------------------------------------------------------------------------------
# 4.1 The dense GAN of document 003

@dataclasses.dataclass
class DenseRecord:
    """4.1: the corrected dense GAN's verdict and whether its losses stayed finite; document
    003's loop: the largest change of any G parameter (0: G never trained), D's mean outputs
    on its last real and fake batches, and its samples' confidence and Frechet distance by the
    first judge. target_met: every digit >= MIN_CLASS_FRACTION of the samples."""
    verdict: Verdict
    target_met: bool
    losses_finite: bool
    doc003_g_parameter_change: float
    doc003_d_real: float
    doc003_d_fake: float
    doc003_confidence: float
    doc003_fid: float
    final_grid: object = dataclasses.field(repr=False)


def dense_example(setup: Setup) -> ExampleRun:
    """Document 003 §4's dense GAN (sigmoid output, images in [0, 1]), trained properly, and the
    document's loop run as written."""
    settings = setup.settings
    # Document 003's loop: D steps only; G is never trained against D
    B.seed(setup.seed + 41)
    G0, D0 = dense_generator(LATENT_DIM, output="sigmoid"), dense_discriminator()
    untouched = {name: p.data.copy() for name, p in G0.named_parameters()}
    doc003 = GAN(G0, D0, B.asarray((setup.data.images + 1) / 2), latent_dim=LATENT_DIM,
                 batch_size=settings.batch_size)
    for _ in range(settings.doc003_d_steps):
        _, real_logits, fake_logits = doc003.d_step()
    g_change = max(float(abs(p.data - untouched[name]).max()) for name, p in G0.named_parameters())
    doc003_score = judge_samples(setup.judges,
                                 2 * sample_images(doc003, settings.score_samples) - 1)
    first = doc003_score.judges[setup.judges[0].name]

    # The corrected version
    B.seed(setup.seed + 1)
    gan = _dense_gan(setup)
    fixed_z = B.asarray(setup.fixed_noise)
    trained = train_epochs("dense", gan, setup, lambda: gan.sample(GRID * GRID, z=fixed_z),
                           value_range=(0.0, 1.0))
    verdict = judge_samples(setup.judges, 2 * sample_images(gan, settings.score_samples) - 1)
    record = DenseRecord(
        verdict=verdict, target_met=verdict.min_class_fraction >= MIN_CLASS_FRACTION,
        losses_finite=all_finite(gan.history), doc003_g_parameter_change=g_change,
        doc003_d_real=float(B.to_numpy(sigmoid(real_logits)).mean()),
        doc003_d_fake=float(B.to_numpy(sigmoid(fake_logits)).mean()),
        doc003_confidence=first["confidence"], doc003_fid=first["fid"],
        final_grid=2 * trained["frames"][-1] - 1)
    return ExampleRun(record, trained["figures"], trained["seconds"])


# ---------------------------------------------------------------------------------------------
# 4.2 DCGAN (documents 001 and 004)

@dataclasses.dataclass
class DCGANRecord:
    """4.2: the DCGAN's verdict (target_met: every digit >= MIN_CLASS_FRACTION), whether its
    losses stayed finite; the documents' generators: the image shape of 001's and 004's
    ("CxHxW"), the fraction of 004's pixels outside [-1, 1] and its range; and
    ignored_labels_accuracy: how often this unconditional G draws a digit asked for at random
    (document 004's unused ``labels`` argument)."""
    verdict: Verdict
    target_met: bool
    losses_finite: bool
    doc001_generator_output: str
    doc004_generator_output: str
    doc004_fraction_outside_unit_range: float
    doc004_output_min: float
    doc004_output_max: float
    ignored_labels_accuracy: float
    final_grid: object = dataclasses.field(repr=False)


def dcgan_example(setup: Setup) -> ExampleRun:
    """DCGAN at 28x28 (D as document 004's, with Dropout(0.3)), and the documents' generators."""
    settings = setup.settings
    z = B.randn(settings.batch_size, LATENT_DIM)
    doc001_shape = tuple(document_001_generator(LATENT_DIM).forward(z).shape)
    doc004_images = B.to_numpy(document_004_generator(LATENT_DIM).forward(z))

    B.seed(setup.seed + 2)
    gan = _dcgan(setup)
    fixed_z = B.asarray(setup.fixed_noise)
    trained = train_epochs("dcgan", gan, setup, lambda: gan.sample(GRID * GRID, z=fixed_z))
    samples = sample_images(gan, settings.score_samples)
    verdict = judge_samples(setup.judges, samples)
    # Document 004's `labels` argument, never used: ask this unconditional G for random digits
    requested = np.random.default_rng(setup.seed).integers(0, NUM_CLASSES, len(samples))
    record = DCGANRecord(
        verdict=verdict, target_met=verdict.min_class_fraction >= MIN_CLASS_FRACTION,
        losses_finite=all_finite(gan.history),
        doc001_generator_output="x".join(str(s) for s in doc001_shape[1:]),
        doc004_generator_output="x".join(str(s) for s in doc004_images.shape[1:]),
        doc004_fraction_outside_unit_range=float((np.abs(doc004_images) > 1).mean()),
        doc004_output_min=float(doc004_images.min()),
        doc004_output_max=float(doc004_images.max()),
        ignored_labels_accuracy=judge_samples(setup.judges, samples, requested).label_accuracy,
        final_grid=trained["frames"][-1])
    return ExampleRun(record, trained["figures"], trained["seconds"])


# ---------------------------------------------------------------------------------------------
# 4.3 The train step: BCE from logits, and the documents' two versions

@dataclasses.dataclass
class TrainStepRun:
    """One of 4.3's runs: D's mean probability on real and fake images, its real-vs-fake
    accuracy, the fraction of fakes that give G no gradient at all, the first judge's
    confidence and Frechet distance, and whether the losses stayed finite."""
    label: str
    d_real: float
    d_fake: float
    d_accuracy: float
    g_zero_gradient_fraction: float
    confidence: float
    fid: float
    losses_finite: bool
    grid: object = dataclasses.field(repr=False)
    history: dict = dataclasses.field(repr=False)


@dataclasses.dataclass
class TrainStepRecord:
    """4.3: naive_log_nan_fraction, the fraction of D's initial outputs on real images <= 0
    (where log of the raw output is NaN), and the three runs: logits (BCE from logits, right),
    raw_bce (document 002), label_free (document 001)."""
    naive_log_nan_fraction: float
    logits: TrainStepRun
    raw_bce: TrainStepRun
    label_free: TrainStepRun


TRAIN_STEPS = (    # (field, label, objective, D's output -> probability, D ends in a sigmoid)
    ("logits", "BCE from logits (right)", "non-saturating", sigmoid, False),
    ("raw_bce", "002: BCE on raw outputs", KerasBCEOnRawOutputs(),
     lambda o: B.xp.clip(o, 0, 1), False),
    ("label_free", "001: label-free loss", LabelFreeLoss(), lambda o: o, True),
)


def _eval_outputs(D, x):
    """D's outputs (N, 1) on x in eval mode (no dropout)."""
    with D.eval_mode():
        return D.forward(x)


def train_step_example(setup: Setup) -> ExampleRun:
    """Three short runs of the dense GAN (tanh) from the same start, one per train step."""
    settings = setup.settings
    B.seed(setup.seed + 3)
    start_G, start_D = dense_generator(LATENT_DIM), dense_discriminator()
    real = B.asarray(setup.data.images[:settings.score_samples])
    initial_outputs = B.to_numpy(_eval_outputs(start_D, real))          # before any training
    runs = {}
    start = time.perf_counter()
    for number, (field, label, objective, probability, sigmoid_output) in enumerate(
            TRAIN_STEPS, 1):
        B.seed(setup.seed + 30)
        G, D = dense_generator(LATENT_DIM), dense_discriminator()
        G.load_state_dict(start_G.state_dict())
        D.load_state_dict(start_D.state_dict())
        if sigmoid_output:
            D = Sequential(*D.layers, Sigmoid())
        gan = GAN(G, D, B.asarray(setup.data.images), latent_dim=LATENT_DIM,
                  batch_size=settings.batch_size, objective=objective, lr_g=LR, lr_d=LR)
        gan.train(settings.train_step_iterations)
        done = number * settings.train_step_iterations
        print(f"[train_step] {label}: {settings.train_step_iterations} iterations  ("
              f"{setup.clock.line('train_step', done, done, time.perf_counter() - start)})",
              flush=True)
        fake = gan.sample(settings.score_samples, chunk_size=1000)
        fake_outputs = _eval_outputs(D, fake)
        d_real = B.to_numpy(probability(_eval_outputs(D, real)))
        d_fake = B.to_numpy(probability(fake_outputs))
        _, grad_fake = gan.objective.g_loss(fake_outputs)       # dL_G / d(D's output), per fake
        score = judge_samples(setup.judges, B.to_numpy(fake)).judges[setup.judges[0].name]
        runs[field] = TrainStepRun(
            label=label, d_real=float(d_real.mean()), d_fake=float(d_fake.mean()),
            d_accuracy=float(((d_real > 0.5).mean() + (d_fake <= 0.5).mean()) / 2),
            g_zero_gradient_fraction=float((B.to_numpy(grad_fake) == 0).mean()),
            confidence=score["confidence"], fid=score["fid"],
            losses_finite=all_finite(gan.history), grid=B.to_numpy(fake[:GRID * GRID]),
            history=gan.history)
    record = TrainStepRecord(naive_log_nan_fraction=float((initial_outputs <= 0).mean()), **runs)
    figure = train_step_figure(os.path.join(setup.out, "train_step.png"), record,
                               settings.train_step_iterations)
    return ExampleRun(record, [figure], time.perf_counter() - start)


def train_step_figure(path, record: TrainStepRecord, iterations: int) -> str:
    """Per run: its samples, and D's mean outputs on real and fake batches over training."""
    runs = [record.logits, record.raw_bce, record.label_free]
    fig, axes = plot.new_figure(len(runs), 2, (4.0, 3.6))
    for column, run in enumerate(runs):
        ax = axes[0, column]
        ax.imshow(plot.tile(run.grid, GRID, (-1.0, 1.0)), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(f"{run.label}\nconfidence {run.confidence:.2f}, FD {run.fid:.1f}",
                     fontsize="small")
        ax.axis("off")
        ax = axes[1, column]
        steps = np.arange(1, len(run.history["d_loss"]) + 1)
        ax.plot(steps, run.history["d_real"], color="black", linewidth=1, label="mean D(x)")
        ax.plot(steps, run.history["d_fake"], color="tab:green", linewidth=1,
                label="mean D(G(z))")
        ax.set_xlabel("iteration")
        ax.set_title(f"D accuracy real vs fake {run.d_accuracy:.2f}; G gets no gradient "
                     f"from {100 * run.g_zero_gradient_fraction:.0f}% of fakes",
                     fontsize="x-small")
        ax.legend(fontsize="x-small")
    fig.suptitle(f"4.3  the train step: {iterations} iterations of the dense GAN from the same "
                 f"start (D outputs: probability; raw output for 002)")
    return plot.save(fig, path)


# ---------------------------------------------------------------------------------------------
# 4.4 The conditional GAN

@dataclasses.dataclass
class CGANRecord:
    """4.4: the verdict with the digits asked for (label_accuracy, min_digit_accuracy,
    per_digit), target_met (>= TARGET_LABEL_ACCURACY as asked, every digit >=
    TARGET_MIN_DIGIT_ACCURACY), whether its losses stayed finite, and the conditioning."""
    verdict: Verdict
    target_met: bool
    losses_finite: bool
    conditioning: str
    final_grid: object = dataclasses.field(repr=False)


def cgan_example(setup: Setup) -> ExampleRun:
    """DCGAN with the label concatenated to z; D sees it as ten constant maps (``concat``) or
    projects it onto its image features (``projection``, Miyato & Koyama, 2018)."""
    settings = setup.settings
    B.seed(setup.seed + 4)
    gan = _cgan(setup)
    grid_z = B.asarray(np.tile(setup.fixed_noise[:GRID], (GRID, 1)))      # column j: noise j
    grid_labels = np.repeat(np.arange(GRID), GRID)                         # row i: digit i
    trained = train_epochs("cgan", gan, setup,
                           lambda: gan.sample(GRID * GRID, z=grid_z, labels=grid_labels))
    requested = np.arange(settings.score_samples) % NUM_CLASSES
    verdict = judge_samples(setup.judges, sample_images(gan, settings.score_samples,
                                                        labels=requested), requested)
    record = CGANRecord(
        verdict=verdict, losses_finite=all_finite(gan.history), conditioning=setup.conditioning,
        target_met=(verdict.label_accuracy >= TARGET_LABEL_ACCURACY
                    and verdict.min_digit_accuracy >= TARGET_MIN_DIGIT_ACCURACY),
        final_grid=trained["frames"][-1])
    return ExampleRun(record, trained["figures"], trained["seconds"])


# ---------------------------------------------------------------------------------------------
# The chapter's main figure

def summary_figure(path: str, records: dict, dataset: str, title=None) -> str:
    """Top: the last fixed-noise grid of each trained example in ``records`` ({name: record});
    bottom: what the stricter judge says. The title is wrapped to the figure's width."""
    shown = [name for name in TRAINED if name in records]
    if not shown:
        raise ValueError(f"summary_figure: no trained example among {list(records)}")
    panel_width = 4.2
    fig, axes = plot.new_figure(len(shown), 2, (panel_width, 3.9))
    titles = {"dense": "4.1 dense GAN (003)", "dcgan": "4.2 DCGAN (001/004)",
              "cgan": "4.4 conditional GAN: row i = digit i"}
    for column, name in enumerate(shown):
        record = records[name]
        ax = axes[0, column]
        ax.imshow(plot.tile(record.final_grid, GRID, (-1.0, 1.0)), cmap="gray",
                  vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(titles[name], fontsize="small")
        ax.axis("off")
        ax = axes[1, column]
        if name == "cgan":
            ax.bar(range(NUM_CLASSES), 100 * record.verdict.per_digit, color="tab:purple")
            ax.axhline(100 * TARGET_LABEL_ACCURACY, color="black", linestyle=":", linewidth=1)
            ax.set_ylabel("% classified as the requested digit")
            ax.set_ylim(0, 100)
            ax.axhline(100 * TARGET_MIN_DIGIT_ACCURACY, color="gray", linestyle="--",
                       linewidth=0.8)
            ax.set_title(f"{100 * record.verdict.label_accuracy:.1f}% of samples are the "
                         f"requested digit\n(target >= {100 * TARGET_LABEL_ACCURACY:.0f}%, every "
                         f"digit >= {100 * TARGET_MIN_DIGIT_ACCURACY:.0f}%)", fontsize="small")
        else:
            fractions = record.verdict.class_fractions
            ax.bar(range(NUM_CLASSES), 100 * fractions)
            ax.axhline(100 * MIN_CLASS_FRACTION, color="black", linestyle=":", linewidth=1)
            ax.axhline(10, color="gray", linestyle="--", linewidth=0.8)
            ax.set_ylabel("% of samples classified as the digit")
            ax.set_title(f"rarest digit {int(fractions.argmin())}: {100 * fractions.min():.1f}% "
                         f"(target >= {100 * MIN_CLASS_FRACTION:.0f}%)", fontsize="small")
        ax.set_xticks(range(NUM_CLASSES))
        ax.set_xlabel("digit")
    text = title or (f"Section 4's examples rebuilt in minigan, trained on {dataset} (samples "
                     f"scored by the stricter of two digit classifiers)")
    # about 9 characters of a 12-point title per inch of figure: wrap within the width
    width = int(9 * panel_width * len(shown))
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.splitlines()))
    return plot.save(fig, path)
