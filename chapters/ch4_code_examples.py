"""Chapter 4 -- the documents' code examples, done right: dense GAN, DCGAN, train step, cGAN.

Mirrors section 4 of the documents (具体代码实例和详细解释说明): 000 §4 (a skeleton
only), 001 §4 (a DCGAN-style Keras model and training loop), 002 §4 (a TensorFlow ``train_step``),
003 §4 (a dense GAN on MNIST) and 004 §4.1-4.2 (a convolutional generator with a ``labels``
argument and a dropout discriminator). Each example is rebuilt from minigan's layers, trained on
handwritten digits, measured, and set beside what the document's version does.

Outputs (under --out, default runs/ch4_code_examples): per example a fixed-noise 10x10 sample
grid after every epoch (epoch_NNN.png) and their animation (grids.gif), the losses and mean D
outputs per iteration (history.png), a checkpoint after every epoch (checkpoint.npz: parameters,
optimizer state, RNG state, iteration, histories); train_step.png for 4.3; summary.png, the
chapter's main figure. --resume continues every example from its checkpoint, exactly where an
uninterrupted run would be; an example without a checkpoint starts fresh and says so, and no
checkpoint at all stops the run with one line (exit status 2): usually a wrong --out.

Run:  python chapters/ch4_code_examples.py [--quick] [--dataset digits|mnist] [--data-dir DIR]
          [--examples dense,dcgan,train_step,cgan] [--epochs N] [--resume] [--seed S] [--out DIR]
MNIST: ``--dataset mnist --data-dir DIR`` reads the IDX files there (downloading them if absent):
the models train on the training split (its first --num-images images) and are judged against the
test split. Where the training split is absent and cannot be downloaded, they train on the test
split, and the run says so in one line. The cGAN's D projects the label onto its features
(Miyato & Koyama, 2018): on MNIST 85.1% -> 91.3% of samples drawn as asked (worst digit 67.7% ->
79.8%) against concatenation, by the stricter of two judges (4.4 below).
Or open it as a notebook and run its cells in order (the settings cell takes the same options;
the cells above it only define).

The full run, measured on 2 cores (seed 0; every verdict the stricter of the two judges):

    data                     time     rarest digit:          cGAN: drawn as asked
                                      dense GAN    DCGAN     all        worst digit
    built-in digits          25 min   6.9%         8.0%      96.4%      92.0%
    MNIST (its test split)   24 min   6.1%         6.8%      91.3%      79.8%

(targets: every digit >= 3%; >= 90% as asked, every digit >= 75%). The judges: 99.7% (CNN) and
99.4% (MLP) on 10,000 fresh built-in digits; 96.9% and 93.6% on 1,000 held-out MNIST images.
With MNIST's training split the models still train on 10,000 images, so the time is the same.
"""
# %% Imports and constants
import argparse
import os
import time

import numpy as np

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import plot
from minigan.classifier import train_classifier
from minigan.data import load_digits, load_mnist
from minigan.gan import GAN
from minigan.losses import get_objective, sigmoid
from minigan.metrics import (class_histogram, fid_from_features,
                             precision_recall_density_coverage)
from minigan.models import (conditional_discriminator, conditional_generator,
                            projection_discriminator,
                            dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator)
from minigan.nn import (BatchNorm2d, ConvTranspose2d, Dense, LeakyReLU, ReLU, Reshape,
                        Sequential, Sigmoid, Tanh)

TITLE = ("Chapter 4 -- the documents' code examples, done right: dense GAN, DCGAN, train step, "
         "cGAN")
EXAMPLES = ("dense", "dcgan", "train_step", "cgan")
LATENT_DIM = 100
NUM_CLASSES = 10
BATCH_SIZE = 64
LR = 2e-4                                   # Adam, beta1 = 0.5 (GAN's default): G, and D in 4.3-4.4
NUM_IMAGES = 10_000                         # training images
EPOCHS = {"dense": 90, "dcgan": 30, "cgan": 10}
LR_D = LR / 2                               # 4.1, 4.2: D learns at half G's rate ...
DENSE_LABEL_SMOOTHING = 0.1                 # ... and 4.1's D with real targets 0.9
TRAIN_STEP_ITERATIONS = 600                 # each of the three runs of 4.3
DOC003_D_STEPS = 300                        # 4.1's erratum: D steps with G never trained
CLASSIFIER_EPOCHS = 8                       # the judges: see "Measured" below
JUDGES = ("conv", "mlp")                    # minigan.classifier's two architectures
HELD_OUT = 0.1                              # MNIST without its training split: judges' hold-out
DIGITS_TEST_SEED = 1000                     # built-in digits: the test set's seed offset
SCORE_SAMPLES = 10_000                      # samples judged per generator; test images too
MIN_CLASS_FRACTION = 0.03                   # 4.1, 4.2: every digit gets at least this share
TARGET_LABEL_ACCURACY = 0.9                 # 4.4: samples drawn as the digit asked for ...
TARGET_MIN_DIGIT_ACCURACY = 0.75            # ... and for every digit at least this
GRID = 10                                   # 10 x 10 sample grids
QUICK = {"num_images": 48, "batch_size": 16, "epochs": 2, "classifier_epochs": 1,
         "score_samples": 200, "train_step_iterations": 4, "doc003_d_steps": 4}


# %% Data and the judges
def load_data(args, num_images, test_images):
    """The images every model trains on, and the held-out images they are judged against.

    Returns a Setup with images, labels (the GAN's training data, host arrays in [-1, 1]);
    judge_images, judge_labels (what the judges train on); test_images, test_labels (what no
    model trained on: the judges' accuracy and the reference features); and ``split``, one line.
    MNIST: the training split when it is in --data-dir or can be downloaded; otherwise the test
    split, said in one line, with its last 10% held out for the judges. Built-in digits: a fresh
    draw with another seed is the test set.
    """
    if args.dataset == "digits":
        images, labels = load_digits(num_images, seed=args.seed)
        test = load_digits(test_images, seed=args.seed + DIGITS_TEST_SEED)
        return Setup(images=images, labels=labels, judge_images=images, judge_labels=labels,
                     test_images=test[0], test_labels=test[1],
                     split=f"built-in digits: {num_images} to train on, {test_images} fresh ones "
                           f"(seed {args.seed + DIGITS_TEST_SEED}) to judge against")
    test = load_mnist("mnist", "test", data_dir=args.data_dir)
    try:
        images, labels = load_mnist("mnist", "train", data_dir=args.data_dir)
    except (OSError, ValueError) as e:      # not there and no download (DownloadError), damaged
        images, labels = test[0][:num_images], test[1][:num_images]
        keep = int(round(len(images) * (1 - HELD_OUT)))
        print(f"MNIST's training split is unavailable ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:120]}): training on the test split's first "
              f"{len(images)} images; the judges learn from {keep} of them and are scored on "
              f"the other {len(images) - keep}", flush=True)
        return Setup(images=images, labels=labels, judge_images=images[:keep],
                     judge_labels=labels[:keep], test_images=images[keep:],
                     test_labels=labels[keep:],
                     split=f"MNIST test split (the training split is unavailable): "
                           f"{len(images)} images")
    images, labels = images[:num_images], labels[:num_images]
    return Setup(images=images, labels=labels, judge_images=images, judge_labels=labels,
                 test_images=test[0][:test_images], test_labels=test[1][:test_images],
                 split=f"MNIST training split: {len(images)} images to train on; "
                       f"{min(test_images, len(test[0]))} test-split images to judge against")


def train_judges(data, epochs, seed) -> list:
    """Two digit classifiers that differ in architecture (a small CNN and an MLP), trained on
    data.judge_images: [(name, classifier, accuracy on data.test_images)]."""
    judges = []
    for offset, architecture in enumerate(JUDGES):
        clf = train_classifier(data.judge_images, data.judge_labels, epochs=epochs,
                               seed=seed + offset, architecture=architecture)
        judges.append((architecture, clf, clf.accuracy(data.test_images, data.test_labels)))
    return judges


def judge_samples(setup, samples, requested=None) -> dict:
    """What every judge says about samples (N, 1, 28, 28) in [-1, 1]; the verdict is the
    stricter judge's.

    Per judge: the fraction of samples given to each digit, the rarest digit's share, the mean
    confidence, the Frechet distance of its features to the test images' (NaN with --quick:
    it needs more samples than the 128 feature dimensions); with ``requested`` (the digits a
    conditional G was asked for), the fraction drawn as asked, overall and per digit. For the
    first judge also precision, recall, density and coverage of the features (quality and
    diversity apart, Kynkaanniemi et al., 2019; Naeem et al., 2020). Returns {"judges": {name:
    that dict}, "min_class_fraction", "label_accuracy", "min_digit_accuracy": the stricter
    value of each, "class_fractions" / "per_digit": the stricter judge's}.
    """
    per_judge = {}
    for name, classifier, _ in setup.judges:
        probs = classifier.predict_proba(samples)
        fractions = class_histogram(probs, NUM_CLASSES)
        reference = setup.reference_features[name]
        features = classifier.features(samples) if reference is not None else None
        verdict = {"class_fractions": fractions, "min_class_fraction": float(fractions.min()),
                   "confidence": float(probs.max(axis=1).mean()),
                   "fid": (float("nan") if reference is None
                           else fid_from_features(reference, features))}
        if name == JUDGES[0]:
            verdict.update(precision_recall_density_coverage(reference, features)
                           if reference is not None else
                           dict.fromkeys(("precision", "recall", "density", "coverage"),
                                         float("nan")))
        if requested is not None:
            predicted = probs.argmax(axis=1)
            per_digit = np.array([(predicted[requested == k] == k).mean()
                                  for k in range(NUM_CLASSES)])
            verdict.update(label_accuracy=float((predicted == requested).mean()),
                           per_digit=per_digit, min_digit_accuracy=float(per_digit.min()))
        per_judge[name] = verdict
    key = "label_accuracy" if requested is not None else "min_class_fraction"
    strict = min(per_judge, key=lambda name: per_judge[name][key])
    result = {"judges": per_judge, "strict": strict,
              "class_fractions": per_judge[strict]["class_fractions"],
              "min_class_fraction": min(v["min_class_fraction"] for v in per_judge.values())}
    if requested is not None:
        result.update(per_digit=per_judge[strict]["per_digit"],
                      label_accuracy=per_judge[strict]["label_accuracy"],
                      min_digit_accuracy=min(v["min_digit_accuracy"] for v in per_judge.values()))
    return result


def judged_numbers(prefix, verdict) -> dict:
    """The chapter's numbers for one generator: the stricter verdicts, then each judge's."""
    numbers = {f"{prefix}_min_class_fraction": verdict["min_class_fraction"]}
    if "label_accuracy" in verdict:
        numbers[f"{prefix}_label_accuracy"] = verdict["label_accuracy"]
        numbers[f"{prefix}_min_digit_accuracy"] = verdict["min_digit_accuracy"]
        numbers[f"{prefix}_target_met"] = bool(
            verdict["label_accuracy"] >= TARGET_LABEL_ACCURACY
            and verdict["min_digit_accuracy"] >= TARGET_MIN_DIGIT_ACCURACY)
    else:
        numbers[f"{prefix}_target_met"] = bool(verdict["min_class_fraction"]
                                               >= MIN_CLASS_FRACTION)
    for name, judge in verdict["judges"].items():
        for key in ("min_class_fraction", "label_accuracy", "min_digit_accuracy", "confidence",
                    "fid", "precision", "recall", "density", "coverage"):
            if key in judge:
                numbers[f"{prefix}_{key}_{name}"] = judge[key]
    return numbers


# %% Training with per-epoch grids and checkpoints
#: Matrix-product GFLOP of one iteration at batch 64 (3 D passes forward and back, G twice
#: forward and once back): what the estimate of the time left scales by for an example that has
#: not run yet. 4.3 runs the dense GAN three times.
STEP_GFLOP = {"dense": 1.37, "dcgan": 11.35, "train_step": 1.37, "cgan": 12.4}


class Progress:
    """Estimates of the time left, for the example in progress and for the whole chapter.

    The example's own rate (seconds per iteration so far) prices its remaining iterations; the
    examples still to come are priced at the same seconds per GFLOP (STEP_GFLOP), so the
    chapter's estimate firms up as the run goes on.
    """

    def __init__(self, examples, epochs, steps_per_epoch, train_step_iterations):
        self.iterations = {name: (3 * train_step_iterations if name == "train_step" else
                                  epochs[name] * steps_per_epoch)
                           for name in EXAMPLES if name in examples}
        self.seconds_per_gflop = None

    def line(self, name, iterations_done, iterations_timed, seconds) -> str:
        """'about 3 min left for dcgan, 21 min for the chapter' after ``iterations_done`` of
        example ``name``, the last ``iterations_timed`` of which took ``seconds``."""
        rate = seconds / max(iterations_timed, 1)
        self.seconds_per_gflop = rate / STEP_GFLOP[name]
        left = max(self.iterations[name] - iterations_done, 0) * rate
        later = list(self.iterations)[list(self.iterations).index(name) + 1:]
        chapter_left = left + sum(self.iterations[n] * STEP_GFLOP[n] * self.seconds_per_gflop
                                  for n in later)
        return (f"about {_minutes(left)} left for {name}, {_minutes(chapter_left)} for the "
                f"chapter")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def train_epochs(name, gan, setup, epochs, grid_samples, value_range=(-1.0, 1.0)) -> dict:
    """Train ``epochs`` epochs; after each: a fixed-noise grid (PNG) and a checkpoint.

    grid_samples() -> the (100, 1, 28, 28) grid images of the current G (fixed inputs, eval
    mode: drawing them takes nothing from the random stream). With setup.resume and a checkpoint
    in the example's folder, training continues from it: models, optimizers, RNG state,
    iteration, histories and the grids so far. Returns {"frames", "figures", "seconds"}.
    """
    folder = os.path.join(setup.out, name)
    path = os.path.join(folder, "checkpoint.npz")
    frames = []
    if setup.resume and os.path.exists(path):
        frames = list(gan.load_checkpoint(path)["frames"])
        print(f"[{name}] resumed from {path}: iteration {gan.iteration}, epoch {len(frames)}")
    start, first_iteration = time.perf_counter(), gan.iteration
    for epoch in range(len(frames) + 1, epochs + 1):
        # Ctrl-C mid-epoch saves a checkpoint (with the grids so far); --resume finishes the epoch
        gan.train(epoch * setup.steps_per_epoch - gan.iteration, checkpoint_path=path,
                  checkpoint_extra={"frames": frames})
        frames.append(B.to_numpy(grid_samples()))
        plot.image_grid(os.path.join(folder, f"epoch_{epoch:03d}.png"), frames[-1], nrow=GRID,
                        value_range=value_range, title=f"{name}, epoch {epoch}")
        gan.save_checkpoint(path, extra={"frames": frames})
        h = gan.history
        recent = slice(-setup.steps_per_epoch, None)
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
    return bool(all(np.isfinite(history[key]).all() for key in ("d_loss", "g_loss")))


# %% 4.1 The dense GAN of document 003
def dense_example(setup) -> dict:
    """Document 003 §4's dense GAN (sigmoid output, images in [0, 1]), trained properly."""
    images01 = (setup.images + 1) / 2                                   # [0, 1], as 003 does

    # Document 003's loop: D steps only; G is never trained against D
    B.seed(setup.seed + 41)
    G0, D0 = dense_generator(LATENT_DIM, output="sigmoid"), dense_discriminator()
    untouched = {name: p.data.copy() for name, p in G0.named_parameters()}
    doc003 = GAN(G0, D0, B.asarray(images01), latent_dim=LATENT_DIM, batch_size=setup.batch_size)
    for _ in range(setup.doc003_d_steps):
        _, real_logits, fake_logits = doc003.d_step()
    g_change = max(float(abs(p.data - untouched[name]).max()) for name, p in G0.named_parameters())
    doc003_samples = 2 * sample_images(doc003, setup.score_samples) - 1
    doc003_score = judge_samples(setup, doc003_samples)

    # The corrected version
    B.seed(setup.seed + 1)
    G, D = dense_generator(LATENT_DIM, output="sigmoid"), dense_discriminator()
    gan = GAN(G, D, B.asarray(images01), latent_dim=LATENT_DIM, batch_size=setup.batch_size,
              objective=get_objective("non-saturating", DENSE_LABEL_SMOOTHING),
              lr_g=LR, lr_d=LR_D)
    fixed_z = B.asarray(setup.fixed_noise)
    trained = train_epochs("dense", gan, setup, setup.epochs["dense"],
                           lambda: gan.sample(GRID * GRID, z=fixed_z), value_range=(0.0, 1.0))
    samples = 2 * sample_images(gan, setup.score_samples) - 1           # the judges' [-1, 1]
    score = judge_samples(setup, samples)
    return {"score": score, "final_grid": 2 * trained["frames"][-1] - 1,
            "figures": trained["figures"],
            "numbers": {
                **judged_numbers("dense", score),
                "dense_losses_finite": all_finite(gan.history),
                "dense_train_seconds": trained["seconds"],
                "doc003_g_parameter_change": g_change,
                "doc003_d_real": float(B.to_numpy(sigmoid(real_logits)).mean()),
                "doc003_d_fake": float(B.to_numpy(sigmoid(fake_logits)).mean()),
                "doc003_confidence": doc003_score["judges"][JUDGES[0]]["confidence"],
                "doc003_fid": doc003_score["judges"][JUDGES[0]]["fid"]}}


# %% 4.2 DCGAN (documents 001 and 004)
def document_001_generator():
    """Document 001 §4's generator in minigan layers: 4x4 -> 8x8 -> 16x16 (k=4, s=2, 'same').

    Its last layer is a stride-1 'same' transposed convolution; Keras pads a 4-wide kernel
    asymmetrically there, which symmetric padding cannot express, so a 3-wide kernel stands in
    for it: either way it keeps the size at 16x16.
    """
    return Sequential(Dense(LATENT_DIM, 4 * 4 * 256), ReLU(), Dense(4 * 4 * 256, 4 * 4 * 128),
                      ReLU(), Dense(4 * 4 * 128, 4 * 4 * 64), ReLU(), Reshape(64, 4, 4),
                      ConvTranspose2d(64, 128, 4, stride=2, padding=1), BatchNorm2d(128), ReLU(),
                      ConvTranspose2d(128, 256, 4, stride=2, padding=1), BatchNorm2d(256), ReLU(),
                      ConvTranspose2d(256, 1, 3, stride=1, padding=1), Tanh())


def document_004_generator():
    """Document 004 §4.1's generator: three ConvTranspose(4, 2, 'same') + BatchNorm + LeakyReLU.

    It is applied to z directly; as a (100, 1, 1) map that gives 2x2 -> 4x4 -> 8x8, and the last
    block ends in BatchNorm + LeakyReLU(0.2), not tanh.
    """
    return Sequential(Reshape(LATENT_DIM, 1, 1),
                      ConvTranspose2d(LATENT_DIM, 256, 4, stride=2, padding=1), BatchNorm2d(256),
                      LeakyReLU(0.2),
                      ConvTranspose2d(256, 128, 4, stride=2, padding=1), BatchNorm2d(128),
                      LeakyReLU(0.2),
                      ConvTranspose2d(128, 1, 4, stride=2, padding=1), BatchNorm2d(1),
                      LeakyReLU(0.2))


def dcgan_example(setup) -> dict:
    """DCGAN at 28x28 (D as document 004's, with Dropout(0.3)), and the documents' generators."""
    z = B.randn(setup.batch_size, LATENT_DIM)
    doc001_shape = tuple(document_001_generator().forward(z).shape)
    doc004_images = B.to_numpy(document_004_generator().forward(z))
    doc004_outside = float((np.abs(doc004_images) > 1).mean())

    B.seed(setup.seed + 2)
    G, D = dcgan_generator(LATENT_DIM), dcgan_discriminator(dropout=0.3)
    gan = GAN(G, D, B.asarray(setup.images), latent_dim=LATENT_DIM, batch_size=setup.batch_size,
              objective="non-saturating", lr_g=LR, lr_d=LR_D)
    fixed_z = B.asarray(setup.fixed_noise)
    trained = train_epochs("dcgan", gan, setup, setup.epochs["dcgan"],
                           lambda: gan.sample(GRID * GRID, z=fixed_z))
    samples = sample_images(gan, setup.score_samples)
    score = judge_samples(setup, samples)
    # Document 004's `labels` argument, never used: ask this unconditional G for random digits
    requested = np.random.default_rng(setup.seed).integers(0, NUM_CLASSES, len(samples))
    ignored_labels_accuracy = judge_samples(setup, samples, requested)["label_accuracy"]
    return {"score": score, "final_grid": trained["frames"][-1], "figures": trained["figures"],
            "ignored_labels_accuracy": ignored_labels_accuracy,
            "numbers": {
                **judged_numbers("dcgan", score),
                "dcgan_losses_finite": all_finite(gan.history),
                "dcgan_train_seconds": trained["seconds"],
                "doc001_generator_output": "x".join(str(s) for s in doc001_shape[1:]),
                "doc004_generator_output": "x".join(str(s) for s in doc004_images.shape[1:]),
                "doc004_fraction_outside_unit_range": doc004_outside,
                "doc004_output_min": float(doc004_images.min()),
                "doc004_output_max": float(doc004_images.max())}}


# %% 4.3 The train step: BCE from logits, and the documents' two versions
class KerasBCEOnRawOutputs:
    """Document 002 §4: ``binary_crossentropy(targets, outputs)`` on D's raw outputs o.

    Keras computes p = clip(o, eps, 1 - eps), eps = 1e-7, and -[t log p + (1 - t) log(1 - p)];
    the gradient passes the clip only where eps < o < 1 - eps and is exactly 0 elsewhere.
    """

    name = "bce-on-raw-outputs"
    EPS = 1e-7

    def _bce(self, outputs, target: float):
        p = B.xp.clip(outputs, self.EPS, 1 - self.EPS)
        value = -float((target * B.xp.log(p) + (1 - target) * B.xp.log(1 - p)).mean())
        inside = ((outputs > self.EPS) & (outputs < 1 - self.EPS)).astype(outputs.dtype)
        grad = (p - target) / (p * (1 - p))                          # d/dp of the BCE
        grad *= inside / outputs.size
        return value, grad

    def d_loss(self, real_outputs, fake_outputs):
        real_value, grad_real = self._bce(real_outputs, 1.0)
        fake_value, grad_fake = self._bce(fake_outputs, 0.0)
        return real_value + fake_value, grad_real, grad_fake

    def g_loss(self, fake_outputs):
        return self._bce(fake_outputs, 1.0)


class LabelFreeLoss:
    """Document 001 §4: D's loss mean D(G(z)) + mean D(x), G's loss -mean D(G(z)).

    D(x) is the output of D's final sigmoid (its last layer is Dense(1, sigmoid)), so this loss
    works on probabilities o in (0, 1): every output has gradient 1/n for D, -1/n for G.
    """

    name = "label-free"

    def d_loss(self, real_outputs, fake_outputs):
        value = float(fake_outputs.mean()) + float(real_outputs.mean())
        return (value, B.xp.full_like(real_outputs, 1.0 / real_outputs.size),
                B.xp.full_like(fake_outputs, 1.0 / fake_outputs.size))

    def g_loss(self, fake_outputs):
        return (-float(fake_outputs.mean()),
                B.xp.full_like(fake_outputs, -1.0 / fake_outputs.size))


TRAIN_STEPS = (    # (key, label, objective, D's output -> probability, D ends in a sigmoid)
    ("logits", "BCE from logits (right)", "non-saturating", sigmoid, False),
    ("raw_bce", "002: BCE on raw outputs", KerasBCEOnRawOutputs(),
     lambda o: B.xp.clip(o, 0, 1), False),
    ("label_free", "001: label-free loss", LabelFreeLoss(), lambda o: o, True),
)


def eval_outputs(D, x):
    """D's outputs (N, 1) on x in eval mode (no dropout)."""
    with D.eval_mode():
        return D.forward(x)


def train_step_example(setup) -> dict:
    """Three short runs of the dense GAN (tanh) from the same start, one per train step."""
    B.seed(setup.seed + 3)
    start_G, start_D = dense_generator(LATENT_DIM), dense_discriminator()
    real = B.asarray(setup.images[:setup.score_samples])
    initial_outputs = B.to_numpy(eval_outputs(start_D, real))          # before any training
    numbers = {"naive_log_nan_fraction": float((initial_outputs <= 0).mean())}
    runs = {}
    start = time.perf_counter()
    for number, (key, label, objective, probability, sigmoid_output) in enumerate(TRAIN_STEPS, 1):
        B.seed(setup.seed + 30)
        G, D = dense_generator(LATENT_DIM), dense_discriminator()
        G.load_state_dict(start_G.state_dict())
        D.load_state_dict(start_D.state_dict())
        if sigmoid_output:
            D = Sequential(*D.layers, Sigmoid())
        gan = GAN(G, D, B.asarray(setup.images), latent_dim=LATENT_DIM, batch_size=setup.batch_size,
                  objective=objective, lr_g=LR, lr_d=LR)
        gan.train(setup.train_step_iterations)
        done = number * setup.train_step_iterations
        print(f"[train_step] {label}: {setup.train_step_iterations} iterations  ("
              f"{setup.clock.line('train_step', done, done, time.perf_counter() - start)})",
              flush=True)
        fake = gan.sample(setup.score_samples, chunk_size=1000)
        fake_outputs = eval_outputs(D, fake)
        d_real = B.to_numpy(probability(eval_outputs(D, real)))
        d_fake = B.to_numpy(probability(fake_outputs))
        _, g_grad = gan.objective.g_loss(fake_outputs)        # dL_G / d(D's output), per fake
        score = judge_samples(setup, B.to_numpy(fake))["judges"][JUDGES[0]]
        runs[label] = run = {
            "history": gan.history, "grid": B.to_numpy(fake[:GRID * GRID]),
            "d_real": float(d_real.mean()), "d_fake": float(d_fake.mean()),
            "d_accuracy": float(((d_real > 0.5).mean() + (d_fake <= 0.5).mean()) / 2),
            "g_zero_gradient_fraction": float((B.to_numpy(g_grad) == 0).mean()),
            "finite": all_finite(gan.history), **score}
        numbers.update({f"{key}_d_real": run["d_real"], f"{key}_d_fake": run["d_fake"],
                        f"{key}_d_accuracy": run["d_accuracy"],
                        f"{key}_g_zero_gradient_fraction": run["g_zero_gradient_fraction"],
                        f"{key}_confidence": run["confidence"], f"{key}_fid": run["fid"],
                        f"{key}_losses_finite": run["finite"]})
    figure = _train_step_figure(os.path.join(setup.out, "train_step.png"), runs,
                                setup.train_step_iterations)
    return {"numbers": numbers, "figures": [figure]}


def _train_step_figure(path, runs, iterations):
    fig, axes = plot.new_figure(len(runs), 2, (4.0, 3.6))
    for column, (label, run) in enumerate(runs.items()):
        ax = axes[0, column]
        ax.imshow(plot.tile(run["grid"], GRID, (-1.0, 1.0)), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_title(f"{label}\nconfidence {run['confidence']:.2f}, FD {run['fid']:.1f}",
                     fontsize="small")
        ax.axis("off")
        ax = axes[1, column]
        steps = np.arange(1, len(run["history"]["d_loss"]) + 1)
        ax.plot(steps, run["history"]["d_real"], color="black", linewidth=1, label="mean D(x)")
        ax.plot(steps, run["history"]["d_fake"], color="tab:green", linewidth=1,
                label="mean D(G(z))")
        ax.set_xlabel("iteration")
        ax.set_title(f"D accuracy real vs fake {run['d_accuracy']:.2f}; G gets no gradient "
                     f"from {100 * run['g_zero_gradient_fraction']:.0f}% of fakes",
                     fontsize="x-small")
        ax.legend(fontsize="x-small")
    fig.suptitle(f"4.3  the train step: {iterations} iterations of the dense GAN from the same "
                 f"start (D outputs: probability; raw output for 002)")
    return plot.save(fig, path)


# %% 4.4 The conditional GAN
def cgan_example(setup, unconditional_accuracy=None) -> dict:
    """DCGAN with the label concatenated to z; D sees it as ten constant maps (``concat``) or
    projects it onto its image features (``projection``, Miyato & Koyama, 2018)."""
    B.seed(setup.seed + 4)
    G = conditional_generator(LATENT_DIM, NUM_CLASSES)
    D = (projection_discriminator(NUM_CLASSES, dropout=0.3) if setup.conditioning == "projection"
         else conditional_discriminator(NUM_CLASSES, dropout=0.3))
    gan = GAN(G, D, B.asarray(setup.images), latent_dim=LATENT_DIM, batch_size=setup.batch_size,
              objective="non-saturating", lr_g=LR, lr_d=LR,
              labels=setup.labels, num_classes=NUM_CLASSES)
    grid_z = B.asarray(np.tile(setup.fixed_noise[:GRID], (GRID, 1)))      # column j: noise j
    grid_labels = np.repeat(np.arange(GRID), GRID)                         # row i: digit i
    trained = train_epochs("cgan", gan, setup, setup.epochs["cgan"],
                           lambda: gan.sample(GRID * GRID, z=grid_z, labels=grid_labels))
    requested = np.arange(setup.score_samples) % NUM_CLASSES
    samples = sample_images(gan, setup.score_samples, labels=requested)
    score = judge_samples(setup, samples, requested)
    numbers = {**judged_numbers("cgan", score),
               "cgan_losses_finite": all_finite(gan.history),
               "cgan_train_seconds": trained["seconds"]}
    if unconditional_accuracy is not None:
        numbers["doc004_unused_labels_accuracy"] = unconditional_accuracy
    return {"per_digit": score["per_digit"], "final_grid": trained["frames"][-1],
            "figures": trained["figures"], "numbers": numbers}


# %% The chapter's main figure
def summary_figure(path, results, dataset):
    """Top: the last fixed-noise grid of each trained example; bottom: what the classifier says."""
    shown = [name for name in ("dense", "dcgan", "cgan") if name in results]
    fig, axes = plot.new_figure(len(shown), 2, (4.2, 3.9))
    titles = {"dense": "4.1 dense GAN (003)", "dcgan": "4.2 DCGAN (001/004)",
              "cgan": "4.4 conditional GAN: row i = digit i"}
    for column, name in enumerate(shown):
        ax = axes[0, column]
        ax.imshow(plot.tile(results[name]["final_grid"], GRID, (-1.0, 1.0)), cmap="gray",
                  vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(titles[name], fontsize="small")
        ax.axis("off")
        ax = axes[1, column]
        if name == "cgan":
            ax.bar(range(NUM_CLASSES), 100 * results[name]["per_digit"], color="tab:purple")
            ax.axhline(100 * TARGET_LABEL_ACCURACY, color="black", linestyle=":", linewidth=1)
            ax.set_ylabel("% classified as the requested digit")
            ax.set_ylim(0, 100)
            ax.axhline(100 * TARGET_MIN_DIGIT_ACCURACY, color="gray", linestyle="--",
                       linewidth=0.8)
            ax.set_title(f"{100 * results[name]['numbers']['cgan_label_accuracy']:.1f}% of "
                         f"samples are the requested digit\n(target >= "
                         f"{100 * TARGET_LABEL_ACCURACY:.0f}%, every digit >= "
                         f"{100 * TARGET_MIN_DIGIT_ACCURACY:.0f}%)", fontsize="small")
        else:
            fractions = results[name]["score"]["class_fractions"]
            ax.bar(range(NUM_CLASSES), 100 * fractions)
            ax.axhline(100 * MIN_CLASS_FRACTION, color="black", linestyle=":", linewidth=1)
            ax.axhline(10, color="gray", linestyle="--", linewidth=0.8)
            ax.set_ylabel("% of samples classified as the digit")
            ax.set_title(f"rarest digit {int(fractions.argmin())}: {100 * fractions.min():.1f}% "
                         f"(target >= {100 * MIN_CLASS_FRACTION:.0f}%)", fontsize="small")
        ax.set_xticks(range(NUM_CLASSES))
        ax.set_xlabel("digit")
    separator = " " if len(shown) == 3 else "\n"               # narrower figures: two lines
    fig.suptitle(f"Section 4's examples rebuilt in minigan, trained on {dataset}{separator}"
                 f"(samples scored by the stricter of two digit classifiers)")
    return plot.save(fig, path)


# %% The chapter's settings: what every example needs
class Setup:
    """What every example needs: data, the classifier, settings, the output folder."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def examples_list(text: str) -> tuple:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in EXAMPLES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown example(s) {unknown}: choose from "
                                         f"{', '.join(EXAMPLES)}")
    return names


# %% Settings: as a script, the command line; in a notebook, edit `notebook` (e.g. "--quick")
parser = chapter.make_parser(TITLE, "ch4_code_examples")
parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                    help="built-in digits (default) or MNIST's 10k test images")
parser.add_argument("--data-dir", default=None,
                    help="folder with MNIST's IDX files (t10k-images-idx3-ubyte.gz, ...)")
parser.add_argument("--examples", type=examples_list, default=EXAMPLES,
                    help=f"comma-separated subset of {','.join(EXAMPLES)} (default: all)")
parser.add_argument("--epochs", type=chapter.positive_int, default=None,
                    help="epochs of every trained example (default: dense "
                         f"{EPOCHS['dense']}, dcgan {EPOCHS['dcgan']}, cgan {EPOCHS['cgan']})")
parser.add_argument("--num-images", type=chapter.positive_int, default=None,
                    help=f"training images (default {NUM_IMAGES}; --quick: "
                         f"{QUICK['num_images']})")
parser.add_argument("--conditioning", choices=("projection", "concat"), default="projection",
                    help="how the cGAN's D sees the label: projected onto its features "
                         "(default) or as ten input maps (the documents' way)")
parser.add_argument("--resume", action="store_true",
                    help="continue each example from its checkpoint in --out (one without "
                         "starts fresh; none at all is an error)")
args = chapter.parse_args(parser, notebook="")
quick = args.quick
num_images = args.num_images or (QUICK["num_images"] if quick else NUM_IMAGES)
epochs = {name: args.epochs or (QUICK["epochs"] if quick else default)
          for name, default in EPOCHS.items()}
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures
# --resume: each trained example continues from its checkpoint; one without starts fresh (said
# so), and none at all stops the run (a wrong --out, most likely)
chapter.resumable(args, {name: os.path.join(out, name, "checkpoint.npz")
                         for name in args.examples if name in EPOCHS})


# %% [markdown]
# Every example trains with Algorithm 1 (``minigan.gan.GAN``) on the cross-entropy game
#
#     D minimises  -E_x log D(x) - E_z log(1 - D(G(z))),      D(x) = sigmoid(l(x))
#     G minimises  -E_z log D(G(z))                           (the non-saturating loss)
#
# computed from D's logits l (``minigan.losses``: log D = log_sigmoid(l), never log(sigmoid(l))),
# with Adam(lr = 2e-4, beta1 = 0.5), batches of 64. In 4.1 and 4.2 the discriminator learns at
# half that rate (below).

# %% [markdown]
# Measured, not eyeballed: two digit classifiers that differ in architecture
# (``minigan.classifier``: a small CNN and an MLP), trained with minigan on this run's training
# images, each with its accuracy on test images no model trained on, label 10,000 samples of
# each generator; every verdict is the stricter judge's, and each judge's figures are reported.
# Beside the Frechet distance of each judge's features, precision and recall (is each sample
# near real images? is each real image near some sample?) and density and coverage separate
# quality from diversity: a sharp generator that drops a digit loses recall and coverage, not
# precision; blurry samples lose precision and density. Dense GAN and DCGAN: every digit must
# get at least 3% of the samples (no collapse onto a few digits). A judge is itself a trained
# model, and generated digits lie a little off the data, where classifiers disagree most: twelve
# CNN judges (seeds 0-3, trained 3, 8 or 15 epochs, 95.2-97.9% held out on MNIST) gave the rarest
# digit of one DCGAN's 10,000 samples 3.4% to 7.0% of them, and the commonest 12.5% to 21%. A
# figure near 3% is a statement about the judges as much as about the generator. Conditional GAN:
# the fraction of samples classified as the digit they were conditioned on (target >= 90%, and
# >= 75% for every digit).

# %% The training images, and the two classifiers that judge every generator
score_samples = QUICK["score_samples"] if quick else SCORE_SAMPLES
data = load_data(args, num_images, score_samples)
images, labels = data.images, data.labels
print(data.split)
batch_size = QUICK["batch_size"] if quick else BATCH_SIZE
if len(images) < batch_size:
    parser.error(f"need at least {batch_size} training images, got {len(images)}")
judges = train_judges(data, QUICK["classifier_epochs"] if quick else CLASSIFIER_EPOCHS,
                      args.seed)
setup = Setup(
    images=images, labels=labels, out=out, seed=args.seed, resume=args.resume,
    judges=judges, epochs=epochs, score_samples=score_samples, conditioning=args.conditioning,
    batch_size=batch_size, steps_per_epoch=len(images) // batch_size,
    reference_features={name: None if quick else clf.features(data.test_images)
                        for name, clf, _ in judges},
    fixed_noise=np.random.default_rng(args.seed).standard_normal(
        (GRID * GRID, LATENT_DIM)).astype(B.dtype()),
    train_step_iterations=(QUICK["train_step_iterations"] if quick
                           else TRAIN_STEP_ITERATIONS),
    doc003_d_steps=QUICK["doc003_d_steps"] if quick else DOC003_D_STEPS,
    clock=Progress(args.examples, epochs, len(images) // batch_size,
                   QUICK["train_step_iterations"] if quick else TRAIN_STEP_ITERATIONS))
numbers = {"dataset": args.dataset, "training_images": len(images), "split": data.split,
           **{f"judge_{name}_test_accuracy": accuracy for name, _, accuracy in judges}}
for name, _, accuracy in judges:
    print(f"judge '{name}': {100 * accuracy:.1f}% of {len(data.test_labels)} test images "
          f"classified right")
results = {}


# %% [markdown]
# 4.1 Dense GAN (document 003 §4). G: z (100) -> 256 -> 512 -> 1024 -> 784, sigmoid output, the
#     images scaled to [0, 1] as the document does; D: 784 -> 512 -> 256 -> 1. Trained properly:
#     each iteration updates D on a real and a fake batch, then G through D. Not in the document,
#     and needed: BatchNorm + LeakyReLU in G, LeakyReLU + Dropout(0.3) in D, and a discriminator
#     held back -- half the generator's learning rate and one-sided label smoothing (real target
#     0.9, Salimans et al., 2016). With both players at 2e-4 this G hops from digit to digit and
#     keeps dropping the thin ones (1, 4, 7) for the whole run; held back, D leaves G time to cover
#     every digit, but slowly: on MNIST the rarest digit swung between 0.1% and 6% of the samples
#     over the first 45 epochs (seeds 0, 1, 2) and was at 4.7-7.2% at epochs 60, 75 and 90. The run
#     is 90 epochs (14,040 iterations; an epoch of this model takes a few seconds).
#     Erratum: the document's loop trains D with ``train_on_batch`` and then calls
#     ``loss.backward()`` on the average of D's two Keras loss values -- a PyTorch call on a
#     number that has no path to G's weights -- so G is never trained against D. Run here: the
#     same D steps, G left alone; D wins (D(x) -> 1, D(G(z)) -> 0) and G's samples stay noise.

# %% Run 4.1 The dense GAN of document 003
if "dense" in args.examples:
    results["dense"] = dense_example(setup)
    for path in results["dense"]["figures"]:
        chapter.show(path)


# %% [markdown]
# 4.2 DCGAN (documents 001 §4 and 004 §4.1-4.2; Radford et al., 2015). G: z -> Dense -> reshape
#     (128, 7, 7) -> ConvTranspose(4, 2, 1) + BatchNorm + ReLU -> (64, 14, 14) -> ConvTranspose ->
#     tanh (1, 28, 28); D: Conv(4, 2, 1) + LeakyReLU(0.2) + Dropout(0.3) twice (document 004's
#     discriminator) -> Dense logit. Weights N(0, 0.02). D learns at half G's rate here too, and
#     the run is 30 epochs (4,680 iterations): on MNIST a DCGAN trained for 8-12 epochs still
#     makes blotchy digits, and one digit (a 1 or a 6, depending on the seed) gets under 3% of the
#     samples; in a run with seed 1 the rarest digit had 1.9-2.7% of them at epochs 6-12 and
#     3.5-4.3% at epochs 15-30 (5.0% after the chapter's full run with --seed 1).
#     Errata: document 001's generator starts from a 4x4 map and doubles it twice: its images are
#     16x16, not MNIST's 28x28 (7 -> 14 -> 28 needs a 7x7 start); document 004's generator ends in
#     BatchNorm + LeakyReLU instead of tanh, so its "images" are unbounded and not in the data's
#     range. Both are built below and measured.

# %% Run 4.2 DCGAN (documents 001 and 004)
if "dcgan" in args.examples:
    results["dcgan"] = dcgan_example(setup)
    for path in results["dcgan"]["figures"]:
        chapter.show(path)


# %% [markdown]
# 4.3 The train step (document 002 §4). The right step is BCE from logits
#     (``from_logits=True``, which the document declares and then does not use) with Adam. Two
#     short runs show what the documents' versions do instead:
#       * document 002: ``binary_crossentropy`` on D's raw outputs. Keras clips them to
#         [1e-7, 1 - 1e-7] before taking logs, and a clip has zero gradient outside that
#         interval: a real image scored below 0 or a fake scored above 1 teaches D nothing, and G
#         gets no gradient at all from a fake that D scores below 0 -- exactly the fakes G most
#         needs to improve. In the run, D soon scores real images above 1 and fakes below 0,
#         where the loss is flat; from then on G gets no gradient from almost all of its samples
#         and its images stay noise. (Without the clip, log of an output <= 0 is NaN: at the
#         start that is nearly every real image.)
#       * document 001: discriminator "loss" = mean D(G(z)) + mean D(x), generator loss =
#         -mean D(G(z)). There are no labels: D pushes its output towards 0 on real and fake
#         images alike, so it learns nothing that tells them apart (its real-vs-fake accuracy
#         ends at 50%), and G follows a signal that carries no information about the data.

# %% Run 4.3 The train step: BCE from logits, and the documents' two versions
if "train_step" in args.examples:
    results["train_step"] = train_step_example(setup)
    for path in results["train_step"]["figures"]:
        chapter.show(path)


# %% [markdown]
# 4.4 Conditional GAN (Mirza & Osindero, 2014). Both players see the label y:
#         V(D, G) = E_{x,y} log D(x | y) + E_{z,y} log(1 - D(G(z | y) | y)).
#     G gets [z, onehot(y)]; D gets the image plus ten constant maps, map k filled with
#     [y = k] (``minigan.models.condition_noise`` / ``condition_images``). Erratum: document 004's
#     generator takes ``labels`` and never uses them; such a generator draws the requested digit
#     one time in ten (measured with the unconditional DCGAN of 4.2).
#     Concatenation leaves D to discover what the label maps mean, and on MNIST it does so only in
#     part: the default D here is a projection discriminator (Miyato & Koyama, 2018;
#     ``minigan.nn.Projection``), logit = w.phi(x) + b + v_y.phi(x), which asks "a real image of
#     digit y?" directly. Measured, 10 epochs (1,560 iterations), seed 0, the stricter judge:
#
#         D sees the label as        MNIST (its test split, 10k)      built-in digits (10k)
#         ten input maps (concat)    85.1% as asked, worst digit 67.7%   96.6%, worst 89.8%
#         projection (default)       91.3% as asked, worst digit 79.8%   96.4%, worst 92.0%
#
#     (targets: >= 90%, every digit >= 75%; FID of the CNN judge's features 57.7 -> 42.0 on
#     MNIST). ``--conditioning concat`` runs the documents' way.

# %% Run 4.4 The conditional GAN
if "cgan" in args.examples:
    results["cgan"] = cgan_example(setup, results.get("dcgan", {}).get("ignored_labels_accuracy"))
    for path in results["cgan"]["figures"]:
        chapter.show(path)

# %% The chapter's main figure, and what was measured
figures = []
for example in results.values():
    numbers.update(example["numbers"])
    figures += example["figures"]
if any(name in results for name in ("dense", "dcgan", "cgan")):
    figures.insert(0, chapter.show(summary_figure(
        os.path.join(out, "summary.png"), results,
        "built-in digits" if args.dataset == "digits" else "MNIST")))
numbers["seconds"] = time.perf_counter() - start
result = chapter.report(numbers, figures)
