"""Digit data for chapter 4's GANs, and the two classifiers that judge what the GANs draw.

``load_digit_data`` gives the images a GAN trains on and the held-out images it is judged against
(built-in rendered digits, or MNIST's training and test splits). ``train_judges`` trains two digit
classifiers that differ in architecture (``minigan.classifier``: a small CNN and an MLP);
``judge_samples`` says what each judge makes of generated samples (N, 1, 28, 28) in [-1, 1] --
the share of each digit, the Frechet distance of its features to the test images', precision,
recall, density and coverage (Kynkaanniemi et al., 2019; Naeem et al., 2020), and for a
conditional generator the fraction drawn as asked -- and the verdict is the stricter judge's.
A judge is itself a trained model, so a figure near a target says as much about the judges as
about the generator.
"""
from __future__ import annotations

import dataclasses

from minigan import backend as B
from minigan.classifier import train_classifier
from minigan.data import load_digits, load_mnist
from minigan.metrics import class_histogram, fid_from_features, precision_recall_density_coverage

np = B.np                     # host arrays: images, labels, probabilities, features

NUM_CLASSES = 10
JUDGES = ("conv", "mlp")      # minigan.classifier's two architectures
HELD_OUT = 0.1                # MNIST without its training split: the judges' hold-out
DIGITS_TEST_SEED = 1000       # built-in digits: the test set's seed offset
FIDELITY_KEYS = ("precision", "recall", "density", "coverage")


@dataclasses.dataclass
class DigitData:
    """images, labels: the GANs' training data (host, images (N, 1, 28, 28) in [-1, 1]);
    judge_images, judge_labels: what the judges train on; test_images, test_labels: what no
    model trained on (the judges' accuracy and the reference features); split: one line."""
    images: object = dataclasses.field(repr=False)
    labels: object = dataclasses.field(repr=False)
    judge_images: object = dataclasses.field(repr=False)
    judge_labels: object = dataclasses.field(repr=False)
    test_images: object = dataclasses.field(repr=False)
    test_labels: object = dataclasses.field(repr=False)
    split: str


def load_digit_data(dataset: str, data_dir, seed: int, num_images: int,
                    test_images: int) -> DigitData:
    """The images every model trains on, and the held-out images they are judged against.

    dataset "digits": ``num_images`` built-in digits (seed ``seed``) and a fresh draw of
    ``test_images`` with another seed as the test set. "mnist": the IDX files in ``data_dir``
    (downloaded if absent): the training split's first ``num_images`` images, judged against the
    test split's first ``test_images``; where the training split is unavailable, the test
    split's first ``num_images`` images, said in one printed line, with its last 10% held out
    for the judges.
    """
    if dataset not in ("digits", "mnist"):
        raise ValueError(f"load_digit_data: dataset must be 'digits' or 'mnist', got "
                         f"{dataset!r}")
    if dataset == "digits":
        images, labels = load_digits(num_images, seed=seed)
        test = load_digits(test_images, seed=seed + DIGITS_TEST_SEED)
        return DigitData(images=images, labels=labels, judge_images=images, judge_labels=labels,
                         test_images=test[0], test_labels=test[1],
                         split=f"built-in digits: {num_images} to train on, {test_images} fresh "
                               f"ones (seed {seed + DIGITS_TEST_SEED}) to judge against")
    test = load_mnist("mnist", "test", data_dir=data_dir)
    try:
        images, labels = load_mnist("mnist", "train", data_dir=data_dir)
    except (OSError, ValueError) as e:      # not there and no download (DownloadError), damaged
        images, labels = test[0][:num_images], test[1][:num_images]
        keep = int(round(len(images) * (1 - HELD_OUT)))
        print(f"MNIST's training split is unavailable ({type(e).__name__}: "
              f"{str(e).splitlines()[0][:120]}): training on the test split's first "
              f"{len(images)} images; the judges learn from {keep} of them and are scored on "
              f"the other {len(images) - keep}", flush=True)
        return DigitData(images=images, labels=labels, judge_images=images[:keep],
                         judge_labels=labels[:keep], test_images=images[keep:],
                         test_labels=labels[keep:],
                         split=f"MNIST test split (the training split is unavailable): "
                               f"{len(images)} images")
    images, labels = images[:num_images], labels[:num_images]
    return DigitData(images=images, labels=labels, judge_images=images, judge_labels=labels,
                     test_images=test[0][:test_images], test_labels=test[1][:test_images],
                     split=f"MNIST training split: {len(images)} images to train on; "
                           f"{min(test_images, len(test[0]))} test-split images to judge "
                           f"against")


@dataclasses.dataclass
class Judge:
    """A digit classifier (``minigan.classifier``), its architecture's name, its accuracy on the
    test images, and its features of the test images (None: too few to fit a Gaussian to)."""
    name: str
    classifier: object = dataclasses.field(repr=False)
    test_accuracy: float = float("nan")
    reference_features: object = dataclasses.field(default=None, repr=False)


def train_judges(data: DigitData, epochs: int, seed: int, with_features: bool = True) -> list:
    """Two digit classifiers of different architecture (JUDGES), trained on data.judge_images
    for ``epochs`` epochs: [Judge]. with_features: keep each judge's features of the test images
    (the Frechet distance and precision/recall need them; they need more images than the 128
    feature dimensions)."""
    judges = []
    for offset, architecture in enumerate(JUDGES):
        clf = train_classifier(data.judge_images, data.judge_labels, epochs=epochs,
                               seed=seed + offset, architecture=architecture)
        judges.append(Judge(name=architecture, classifier=clf,
                            test_accuracy=clf.accuracy(data.test_images, data.test_labels),
                            reference_features=(clf.features(data.test_images) if with_features
                                                else None)))
    return judges


@dataclasses.dataclass
class Verdict:
    """What the judges say about one generator's samples; every headline value is the stricter
    judge's (``strict``).

    class_fractions: (10,) share of the samples given to each digit (the strict judge's);
    min_class_fraction: the rarest digit's share, the smaller over the judges. With the digits
    a conditional G was asked for: label_accuracy (fraction drawn as asked), per_digit (10,),
    min_digit_accuracy (the worst digit, the smaller over the judges). judges: {name: {
    "class_fractions", "min_class_fraction", "confidence", "fid", and for the first judge
    "precision", "recall", "density", "coverage"; with requested digits also "label_accuracy",
    "per_digit", "min_digit_accuracy"}} (fid etc. NaN without reference features)."""
    strict: str
    min_class_fraction: float
    class_fractions: object = dataclasses.field(repr=False)
    judges: dict = dataclasses.field(repr=False)
    label_accuracy: float | None = None
    min_digit_accuracy: float | None = None
    per_digit: object = dataclasses.field(default=None, repr=False)


def judge_samples(judges: list, samples, requested=None) -> Verdict:
    """The verdict of ``judges`` ([Judge]) on samples (N, 1, 28, 28) in [-1, 1] (host);
    requested: (N,) digits a conditional generator was asked for, or None."""
    per_judge = {}
    for judge in judges:
        probs = judge.classifier.predict_proba(samples)
        fractions = class_histogram(probs, NUM_CLASSES)
        reference = judge.reference_features
        features = judge.classifier.features(samples) if reference is not None else None
        verdict = {"class_fractions": fractions, "min_class_fraction": float(fractions.min()),
                   "confidence": float(probs.max(axis=1).mean()),
                   "fid": (float("nan") if reference is None
                           else fid_from_features(reference, features))}
        if judge.name == JUDGES[0]:
            verdict.update(precision_recall_density_coverage(reference, features)
                           if reference is not None else
                           dict.fromkeys(FIDELITY_KEYS, float("nan")))
        if requested is not None:
            predicted = probs.argmax(axis=1)
            per_digit = np.array([(predicted[requested == k] == k).mean()
                                  for k in range(NUM_CLASSES)])
            verdict.update(label_accuracy=float((predicted == requested).mean()),
                           per_digit=per_digit, min_digit_accuracy=float(per_digit.min()))
        per_judge[judge.name] = verdict
    key = "label_accuracy" if requested is not None else "min_class_fraction"
    strict = min(per_judge, key=lambda name: per_judge[name][key])
    result = Verdict(strict=strict, class_fractions=per_judge[strict]["class_fractions"],
                     min_class_fraction=min(v["min_class_fraction"] for v in per_judge.values()),
                     judges=per_judge)
    if requested is not None:
        result.per_digit = per_judge[strict]["per_digit"]
        result.label_accuracy = per_judge[strict]["label_accuracy"]
        result.min_digit_accuracy = min(v["min_digit_accuracy"] for v in per_judge.values())
    return result


def verdict_table(name: str, verdict: Verdict) -> str:
    """Each judge's figures for generator ``name``, one line per judge."""
    lines = [f"[{name}] judged by each classifier (the verdict is the stricter one's, "
             f"'{verdict.strict}'):"]
    for judge, v in verdict.judges.items():
        parts = [f"rarest digit {100 * v['min_class_fraction']:.1f}%",
                 f"confidence {v['confidence']:.3f}", f"FD {v['fid']:.2f}"]
        if "label_accuracy" in v:
            parts += [f"as asked {100 * v['label_accuracy']:.1f}%",
                      f"worst digit {100 * v['min_digit_accuracy']:.1f}%"]
        parts += [f"{key} {v[key]:.3f}" for key in FIDELITY_KEYS if key in v]
        lines.append(f"  {judge:<5} " + ", ".join(parts))
    return "\n".join(lines)
