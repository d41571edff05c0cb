"""Evaluating a GAN: the Frechet distance and the inception-style score, checked where the answer
is known, and chapter 4's generators scored with them (chapter 5's study 4).

Both measures read a digit classifier trained with minigan (``minigan.classifier``) in place of
Inception-v3: its 128 penultimate features for the Frechet distance (FID's formula, Heusel et
al., 2017), its class probabilities for the score exp(E_x KL(p(y|x) || p(y))). The numbers
compare models measured with the same classifier, not values published for FID or IS.

``evaluation_study`` returns an ``EvaluationStudy``: real vs real, real digits under growing
noise, one digit only, uniform noise, two closed forms of the Frechet distance, its estimate from
samples, and the warning for fewer samples than feature dimensions. ``chapter4_scores`` scores the
generators chapter 4 saved, naming the run that saved them (``minigan.chapter.describe_run``)
and refusing a --quick run's checkpoints where a full run's are asked for.
"""
from __future__ import annotations

import dataclasses
import os
import time
import warnings

from minigan import backend as B
from minigan import chapter, checkpoint, plot
from minigan.classifier import train_classifier
from minigan.data.digits import load_digits
from minigan.gan import GAN
from minigan.metrics import fid_from_features, frechet_distance, inception_score
from minigan.models import (dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator)

np = B.np                     # host arrays: features, probabilities, the closed forms

NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)     # std of Gaussian noise added to real images
GAUSS_DIM = 8                                      # dimension of the closed-form Gaussian checks
ONE_DIGIT = 3                                      # the "collapsed model": real images of a 3


@dataclasses.dataclass(frozen=True)
class Settings:
    """train_images: the classifier's training images; set_size: images per evaluation set
    (more than the 128 feature dimensions); classifier_epochs; chapter4_samples: samples scored
    per chapter-4 generator."""
    train_images: int = 6000
    set_size: int = 2000
    classifier_epochs: int = 3
    chapter4_samples: int = 2000


QUICK = Settings(train_images=1000, set_size=300, classifier_epochs=1, chapter4_samples=500)


@dataclasses.dataclass
class EvaluationStudy:
    """What the evaluation study measured (distances: Frechet distance of classifier features to
    a set of real images; scores: (mean, std over 5 splits) of the inception-style score).

    classifier, features_real (set_size, 128) and train_images are kept to score other
    generators the same way (chapter4_scores)."""
    classifier: object = dataclasses.field(repr=False)
    features_real: object = dataclasses.field(repr=False)
    train_images: object = dataclasses.field(repr=False)
    classifier_accuracy: float
    fid_real_vs_real: float
    fid_noisy: tuple               # one per NOISE_LEVELS
    is_noisy: tuple                # one per NOISE_LEVELS
    fid_monotone_in_noise: bool
    fid_uniform_noise: float
    fid_one_digit: float
    is_real: tuple
    is_one_digit: tuple
    is_uniform_noise: tuple
    fd_diag_exact: float
    fd_diag_rel_error: float
    fd_prop_exact: float
    fd_prop_rel_error: float
    fd_from_samples: float
    few_samples_fid: float
    few_samples_warnings: list


def closed_form_checks(rng) -> dict:
    """frechet_distance against two closed forms, and the estimate from samples.

    Diagonal covariances commute: d^2 = ||mu1 - mu2||^2 + sum_i (s1_i - s2_i)^2 (std devs s).
    Proportional covariances S2 = c^2 S1: (S1 S2)^{1/2} = c S1, d^2 = ||dmu||^2 + (1 - c)^2 Tr S1.
    The sample estimate from 20,000 draws of each Gaussian lands near the exact value.
    rng: a numpy Generator. Returns the fd_* fields of EvaluationStudy.
    """
    mu1, mu2 = rng.normal(size=GAUSS_DIM), rng.normal(size=GAUSS_DIM)
    s1, s2 = rng.uniform(0.5, 2.0, GAUSS_DIM), rng.uniform(0.5, 2.0, GAUSS_DIM)
    exact_diag = float(((mu1 - mu2) ** 2).sum() + ((s1 - s2) ** 2).sum())
    diag = frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2))
    A = rng.normal(size=(GAUSS_DIM, GAUSS_DIM))
    S1, c = A @ A.T / GAUSS_DIM + 0.1 * np.eye(GAUSS_DIM), 1.7
    exact_prop = float(((mu1 - mu2) ** 2).sum() + (1 - c) ** 2 * np.trace(S1))
    prop = frechet_distance(mu1, S1, mu2, c * c * S1)
    L1 = np.linalg.cholesky(S1)
    x1 = mu1 + rng.normal(size=(20000, GAUSS_DIM)) @ L1.T
    x2 = mu2 + c * rng.normal(size=(20000, GAUSS_DIM)) @ L1.T
    return {"fd_diag_exact": exact_diag, "fd_diag_rel_error": abs(diag - exact_diag) / exact_diag,
            "fd_prop_exact": exact_prop, "fd_prop_rel_error": abs(prop - exact_prop) / exact_prop,
            "fd_from_samples": fid_from_features(x1, x2)}


def few_samples_warning(features):
    """The Frechet distance of two sets of half as many samples as features (N, F) has
    dimensions, and the warnings fid_from_features gives for it: (value, [messages])."""
    n = features.shape[1] // 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fid_from_features(features[:n], features[n:2 * n])
    return value, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def evaluation_study(settings: Settings = Settings(), seed: int = 0):
    """Train the digit classifier on built-in digits; the Frechet distance and the score on real,
    perturbed and degenerate image sets, and the closed-form checks. Returns the study and the
    classifier's training time in seconds."""
    n_train, n_set = settings.train_images, settings.set_size
    images, labels = load_digits(n_train + 3 * n_set, seed=seed + 500)
    train_x, train_y = images[:n_train], labels[:n_train]
    set_a = images[n_train:n_train + n_set]
    set_b = images[n_train + n_set:n_train + 2 * n_set]
    started = time.perf_counter()
    classifier = train_classifier(train_x, train_y, seed=seed, epochs=settings.classifier_epochs)
    classifier_seconds = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    features_a = classifier.features(set_a)
    fid_noisy, is_noisy = [], []
    for std in NOISE_LEVELS:
        noisy = (set_b + std * rng.standard_normal(set_b.shape)).astype(np.float32)
        fid_noisy.append(fid_from_features(features_a, classifier.features(noisy)))
        is_noisy.append(inception_score(classifier.predict_proba(noisy), splits=5)[0])
    one_class = images[labels == ONE_DIGIT][:n_set]     # one digit only: a collapsed "model"
    uniform_noise = rng.uniform(-1, 1, set_b.shape).astype(np.float32)
    few_value, few_messages = few_samples_warning(features_a)
    study = EvaluationStudy(
        classifier=classifier, features_real=features_a, train_images=train_x,
        classifier_accuracy=classifier.accuracy(images[n_train + 2 * n_set:],
                                                labels[n_train + 2 * n_set:]),
        fid_real_vs_real=fid_from_features(features_a, classifier.features(set_b)),
        fid_noisy=tuple(fid_noisy), is_noisy=tuple(is_noisy),
        fid_monotone_in_noise=bool(np.all(np.diff(fid_noisy) > 0)),
        is_real=inception_score(classifier.predict_proba(set_b), splits=5),
        is_one_digit=inception_score(classifier.predict_proba(one_class), splits=5),
        is_uniform_noise=inception_score(classifier.predict_proba(uniform_noise), splits=5),
        fid_uniform_noise=fid_from_features(features_a, classifier.features(uniform_noise)),
        fid_one_digit=fid_from_features(features_a, classifier.features(one_class)),
        few_samples_fid=few_value, few_samples_warnings=few_messages,
        **closed_form_checks(rng))
    return study, classifier_seconds


# ---------------------------------------------------------------------------------------------
# Chapter 4's generators

CH4_LATENT = 100
CH4_BATCH, CH4_LR = 64, 2e-4            # chapter 4's settings: Adam(2e-4, beta1 = 0.5), batch 64
CH4_MODELS = {      # name -> (generator, discriminator, output range) as chapter 4 builds them
    "dense": (lambda: dense_generator(CH4_LATENT, output="sigmoid"), dense_discriminator,
              "sigmoid"),
    "dcgan": (lambda: dcgan_generator(CH4_LATENT), lambda: dcgan_discriminator(dropout=0.3),
              "tanh"),
}


@dataclasses.dataclass
class ModelScore:
    """One chapter-4 generator scored: where it came from, its Frechet distance to the real
    set's features, and its inception-style score (mean, std over 5 splits)."""
    origin: str
    fid: float
    inception_score: float
    inception_score_std: float


@dataclasses.dataclass
class Chapter4Scores:
    """run: the run that wrote the folder read (chapter.describe_run), or why none was read;
    refused: True when a full run was given a --quick run's folder (nothing scored from it);
    scores: {"dense" | "dcgan": ModelScore} of the generators found or trained."""
    folder: str
    run: str
    refused: bool
    scores: dict


def chapter4_folder_problem(folder: str, quick: bool):
    """Why chapter 4's output in ``folder`` cannot stand for a full run's (None if it can).

    A --quick run (this one) may read anything; a full run refuses a folder whose run record
    says a --quick smoke test wrote it: two epochs of training are not chapter 4's models."""
    if quick:
        return None
    record = chapter.read_run_record(folder)
    if record is not None and record["quick"]:
        return (f"{chapter.describe_run(folder)} is a --quick smoke test: its models are not "
                f"chapter 4's, and a full run does not score them. Run `python "
                f"chapters/ch4_code_examples.py` (its full run writes runs/ch4_code_examples), "
                f"or pass --ch4-dir with a full run's folder or --train-ch4 N")
    return None


def chapter4_generator(name: str, folder, train_iterations: int, images, seed: int):
    """Chapter 4's trained generator ``name``: from <folder>/<name>/checkpoint.npz (folder None:
    none read), or, with
    train_iterations > 0 where that is missing, chapter 4's architecture trained here for that
    many iterations on ``images`` (N, 1, 28, 28) in [-1, 1] (far fewer than chapter 4 runs: a
    weaker model). Returns (G or None, where it came from)."""
    build_g, build_d, output = CH4_MODELS[name]
    path = None if folder is None else os.path.join(folder, name, "checkpoint.npz")
    G = build_g()
    if path is not None and os.path.exists(path):
        checkpoint.load(path, {"G": G}, rng=False)
        return G, path
    if train_iterations <= 0:
        return None, f"no checkpoint at {path}" if path else "no checkpoint read"
    B.seed(seed + 40)
    G = build_g()
    data = (images + 1) / 2 if output == "sigmoid" else images
    gan = GAN(G, build_d(), B.asarray(data), latent_dim=CH4_LATENT, batch_size=CH4_BATCH,
              objective="non-saturating", lr_g=CH4_LR, lr_d=CH4_LR)
    gan.train(train_iterations, log_every=max(1, train_iterations // 4))
    return G, f"trained here for {train_iterations} iterations"


def chapter4_scores(study: EvaluationStudy, folder: str, quick: bool, train_iterations: int,
                    seed: int, samples: int) -> Chapter4Scores:
    """The Frechet distance and score of chapter 4's dense GAN and DCGAN, ``samples`` samples
    each (chapter4_generator says where each comes from); the sigmoid generator's samples are
    mapped to [-1, 1] for the classifier. Prints one line per model and which run it read."""
    problem = chapter4_folder_problem(folder, quick)
    if problem is not None:
        print(f"chapter 4's models: refused: {problem}", flush=True)
        if train_iterations <= 0:
            return Chapter4Scores(folder=folder, run=problem, refused=True, scores={})
        run, read = problem, None                          # train here instead
    else:
        run = (chapter.describe_run(folder) if os.path.isdir(folder)
               else f"{folder} (not there: chapter 4 has not written it)")
        read = folder
        print(f"chapter 4's models: reading {run}", flush=True)
    scores = {}
    for name, (_, _, output) in CH4_MODELS.items():
        G, origin = chapter4_generator(name, read, train_iterations, study.train_images, seed)
        if G is None:
            print(f"chapter 4's {name} model: {origin} (run `python "
                  f"chapters/ch4_code_examples.py{' --quick' if quick else ''}` first, or pass "
                  f"--train-ch4 N)", flush=True)
            continue
        G.eval()
        B.seed(seed + 4)
        drawn = np.concatenate([B.to_numpy(G.forward(B.randn(min(500, samples), CH4_LATENT)))
                                for _ in range(max(1, samples // 500))])
        if output == "sigmoid":
            drawn = 2 * drawn - 1
        mean_is, std_is = inception_score(study.classifier.predict_proba(drawn), splits=5)
        scores[name] = ModelScore(
            origin=origin, inception_score=mean_is, inception_score_std=std_is,
            fid=fid_from_features(study.features_real, study.classifier.features(drawn)))
        print(f"chapter 4's {name} model ({origin}): FID {scores[name].fid:.2f}, "
              f"IS {mean_is:.2f} +- {std_is:.2f}", flush=True)
    return Chapter4Scores(folder=folder, run=run, refused=problem is not None, scores=scores)


def evaluation_figure(path: str, study: EvaluationStudy, model_scores: dict, title: str) -> str:
    """FID and IS against added noise, with the reference scores and chapter 4's models
    ({name: ModelScore})."""
    fig, axes = plot.new_figure(2, 1, (5.0, 3.8))
    ax = axes[0, 0]
    ax.plot(NOISE_LEVELS, study.fid_noisy, "o-", color="tab:red", label="real + noise vs real")
    ax.axhline(study.fid_real_vs_real, color="black", linestyle=":", label="real vs real")
    ax.axhline(study.fid_one_digit, color="gray", linestyle="-.", label="real, one digit only")
    ax.axhline(study.fid_uniform_noise, color="gray", linestyle=":",
               label="uniform noise images")
    for name, score in model_scores.items():
        ax.axhline(score.fid, linestyle="--", linewidth=1.3, label=f"chapter 4 {name}",
                   color="tab:blue" if name == "dcgan" else "tab:green")
    ax.set_yscale("log")
    ax.set_xlabel("std of Gaussian noise added to the images (pixels in [-1, 1])")
    ax.set_ylabel("Frechet distance of classifier features")
    ax.set_title("Frechet distance (FID formula) against the damage")
    ax.legend(fontsize="small")
    ax = axes[0, 1]
    ax.plot(NOISE_LEVELS, study.is_noisy, "o-", color="tab:red", label="real + noise")
    ax.axhline(study.is_real[0], color="black", linestyle=":", label="real")
    ax.axhline(study.is_one_digit[0], color="gray", linestyle="-.", label="real, one digit only")
    ax.axhline(study.is_uniform_noise[0], color="gray", linestyle=":",
               label="uniform noise images")
    for name, score in model_scores.items():
        ax.axhline(score.inception_score, linestyle="--", linewidth=1, label=f"chapter 4 {name}",
                   color="tab:blue" if name == "dcgan" else "tab:green")
    ax.set_ylim(0, 10.5)
    ax.set_xlabel("std of Gaussian noise added to the images")
    ax.set_ylabel("inception-style score (max 10)")
    ax.set_title("Inception-style score: confident and varied")
    ax.legend(fontsize="small")
    fig.suptitle(title)
    return plot.save(fig, path)
