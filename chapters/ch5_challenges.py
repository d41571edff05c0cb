"""Chapter 5 -- challenges and remedies: instability, saturation, evaluation (and mode collapse).

Mirrors section 5 of the documents (未来发展趋势与挑战): 000 §5 (stability: "model collapse or
vanishing gradients"; evaluation standards unclear), 001 §2.3 and §5 (unstable training,
oscillation, slow convergence, hard evaluation), 002 §7, 003 §5 and its FAQ (FID and IS),
004 §5.2 (unstable training, oscillation, vanishing gradients). The documents name these
problems; this chapter makes each one happen, measures it, and applies a remedy. The theory of
each study sits above the cells that run it: 1. instability, 3. saturation, 4. evaluation.

2. Mode collapse has a file of its own, ``chapters/ch5_mode_collapse.py``: the benchmark of the
   literature (8-Gaussian ring, 5 x 5 grid; PacGAN's models and metric), a table over
   objectives and remedies with PacGAN's published Table 1 beside it, and GAN Lab's views of a
   run.

Errata and imprecisions in the documents' section 5, corrected here:
  * 001 §5 proposes "adaptive learning-rate optimisers" for stability. The Dirac-GAN's
    instability is in the game, not the step size: its linearisation is a rotation with
    purely imaginary eigenvalues, which no step size (not even one per parameter) makes
    convergent for simultaneous gradient descent, and Adam spirals out as well
    (dirac_distance.png); what helps is changing the game (a gradient penalty, instance noise).
  * 001 §5 lists "conditional GANs (CGANs)" under new loss functions *and evaluation metrics*:
    a conditional GAN is a model, not a metric. Metrics are FID and IS (section 4 below).
  * 000 §5 and 004 §5.2 call the problem "vanishing gradients" without saying whose: it is the
    generator's gradient under the minimax (saturating) loss when D is confident (section 3);
    the non-saturating loss, already in Goodfellow et al. (2014), avoids it.
  * "Model collapse" (000 §5, 模型崩溃) is mode collapse: the generator covers few modes of
    the data, measured in chapters/ch5_mode_collapse.py.

Outputs (under --out, default runs/ch5_challenges): dirac_gan.png (the main figure),
dirac_distance.png, saturation.png, evaluation.png.

Run:  python chapters/ch5_challenges.py [--quick] [--seed S] [--ch4-dir DIR]
          [--train-ch4 N] [--out DIR]
"""
# %% Imports and constants
import math
import os
import time
import warnings

import numpy as np

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import checkpoint, plot
from minigan.chapter import ROOT, make_parser, non_negative_int, parse_args, report, show, start
from minigan.classifier import train_classifier
from minigan.data.digits import load_digits
from minigan.data.toy import Gaussian1D
from minigan.dirac import (MODES, dirac_field, dirac_jacobian, dirac_trajectory, field_residual,
                           normal_quantiles, step_map)
from minigan.gan import GAN
from minigan.losses import get_objective, sigmoid
from minigan.metrics import fid_from_features, frechet_distance, inception_score
from minigan.models import (dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator)
from minigan.nn import Dense, LeakyReLU, Sequential, Tanh
from minigan.optim import SGD, Adam

TITLE = "Chapter 5 -- challenges and remedies: instability, saturation, evaluation"

# Dirac-GAN
DIRAC_LR = 0.05                         # h, the SGD step of both players
DIRAC_STEPS, QUICK_DIRAC_STEPS = 1000, 200
DIRAC_START = (1.0, 1.0)                # (theta, psi)
R1_GAMMA = 0.5                          # R1 penalty weight
NOISE_STD = 1.0                         # instance noise: same damping as R1 with gamma = std^2/2
NOISE_POINTS = 64                       # the fixed set of noise values (normal quantiles)
DIRAC_CASES = (                         # (objective, regulariser, label)
    ("minimax", None, "minimax (standard)"),
    ("non-saturating", None, "non-saturating"),
    ("wasserstein", None, "Wasserstein"),
    ("minimax", "r1", f"minimax + R1, gamma = {R1_GAMMA:g}"),
    ("minimax", "noise", f"minimax + instance noise, std = {NOISE_STD:g}"),
)


# %% 1. Instability: the Dirac-GAN
def dirac_regulariser(kind):
    """Keyword arguments of dirac_trajectory / dirac_field for a regulariser name."""
    if kind == "r1":
        return {"gamma": R1_GAMMA}
    if kind == "noise":
        return {"noise": normal_quantiles(NOISE_POINTS, NOISE_STD)}
    return {}


def run_dirac(steps: int):
    """All Dirac-GAN trajectories (float64), their check against the field, the linear analysis.

    Returns {"runs": {(case, mode): path}, "residual": max relative deviation of any step from
    h * field, "wgan_growth": (measured, predicted) radius ratio of simultaneous WGAN,
    "wgan_invariant_drift": max relative change of theta^2 + psi^2 - h theta psi under
    alternating WGAN, "linear": rows of the eigenvalue table}.
    """
    runs, residual = {}, 0.0
    with B.precision("float64"):
        for case, (objective, kind, _) in enumerate(DIRAC_CASES):
            extra = dirac_regulariser(kind)
            for mode in MODES:
                path = dirac_trajectory(*DIRAC_START, objective, DIRAC_LR, steps, mode, **extra)
                runs[case, mode] = path
                residual = max(residual, field_residual(path, objective, DIRAC_LR, mode, **extra))
    wgan_case = [objective for objective, _, _ in DIRAC_CASES].index("wasserstein")
    wgan = runs[wgan_case, "simultaneous"]
    measured = float(np.hypot(*wgan[-1]) / np.hypot(*wgan[0]))
    predicted = (1 + DIRAC_LR ** 2) ** (steps / 2)
    theta, psi = runs[wgan_case, "alternating"].T
    invariant = theta ** 2 + psi ** 2 - DIRAC_LR * theta * psi
    linear = []
    noise_rms = math.sqrt(float((normal_quantiles(NOISE_POINTS, NOISE_STD) ** 2).mean()))
    for objective, kind, label in DIRAC_CASES:
        jacobian = dirac_jacobian(objective, gamma=R1_GAMMA if kind == "r1" else 0.0,
                                  noise_std=noise_rms if kind == "noise" else 0.0)
        eigenvalues = np.linalg.eigvals(jacobian)
        radii = [float(np.abs(np.linalg.eigvals(step_map(jacobian, DIRAC_LR, m))).max())
                 for m in MODES]
        linear.append((label, eigenvalues, *radii))
    with B.precision("float64"):                  # 001 §5's remedy: an adaptive optimiser
        adam = dirac_trajectory(*DIRAC_START, "minimax", DIRAC_LR, steps, "simultaneous",
                                optimizer="adam")
    return {"runs": runs, "adam": adam, "residual": residual,
            "wgan_growth": (measured, predicted),
            "wgan_invariant_drift": float(np.abs(invariant / invariant[0] - 1).max()),
            "linear": linear}


def dirac_figure(path, dirac):
    """Vector field and trajectories: a column per case, a row per update scheme."""
    fig, axes = plot.new_figure(len(DIRAC_CASES), 2, (3.3, 3.75))
    span = 2.0
    grid = np.linspace(-span, span, 15)
    theta, psi = np.meshgrid(grid, grid)
    for case, (objective, kind, label) in enumerate(DIRAC_CASES):
        v_theta, v_psi = dirac_field(theta, psi, objective, **dirac_regulariser(kind))
        length = np.hypot(v_theta, v_psi) + 1e-12           # arrows show the direction only
        for row, mode in enumerate(MODES):
            ax = axes[row, case]
            path_ = dirac["runs"][case, mode]
            ax.quiver(theta, psi, v_theta / length, v_psi / length, color="0.6", angles="xy",
                      scale_units="xy", scale=4.5, width=0.004)
            ax.plot(path_[:, 0], path_[:, 1], color="tab:red", linewidth=1.2)
            ax.plot(*path_[0], "o", color="black", markersize=4)
            ax.plot(*path_[-1], "s", color="tab:red", markersize=4)
            ax.plot(0, 0, "*", color="tab:blue", markersize=10)
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            ax.set_aspect("equal")
            start, end = np.hypot(*path_[0]), np.hypot(*path_[-1])
            ax.set_title(f"{label}\n{mode}: distance {start:.2f} $\\to$ {end:.2g}", fontsize=9)
            ax.set_xlabel(r"$\theta$ (generator)")
            ax.set_ylabel(r"$\psi$ (discriminator)")
    steps = len(dirac["runs"][0, MODES[0]]) - 1
    fig.suptitle(f"Dirac-GAN: direction of the gradient field (grey) and {steps} SGD steps "
                 f"(red, h = {DIRAC_LR:g}) from {DIRAC_START} towards the equilibrium (star)")
    return plot.save(fig, path)


def dirac_distance_figure(path, dirac):
    """Distance to the equilibrium against the step, every case and scheme, log scale."""
    fig, axes = plot.new_figure(1, 1, (6.4, 4.2))
    ax = axes[0, 0]
    colours = ("tab:red", "tab:orange", "tab:purple", "tab:green", "tab:blue")
    for case, (_, _, label) in enumerate(DIRAC_CASES):
        for mode, style in zip(MODES, ("-", "--")):
            distance = np.hypot(*dirac["runs"][case, mode].T)
            ax.plot(distance, style, color=colours[case], linewidth=1.3,
                    label=f"{label}, {mode}")
    ax.plot(np.hypot(*dirac["adam"].T), ":", color="black", linewidth=1.5,
            label="minimax, simultaneous, Adam")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$|(\theta, \psi)|$, distance to the equilibrium")
    ax.set_title("Unregularised: spirals out or circles; R1 / instance noise: converges")
    ax.legend(fontsize="x-small", ncol=2)
    return plot.save(fig, path)


# %% 3. Saturating vs non-saturating generator loss
SAT_DATA = (4.0, 0.5)                   # p_data = N(4, 0.5^2); the initial G sits near 0
SAT_BATCH = 256
SAT_D_LR = 5e-3                         # Adam, for D trained alone until it rejects G
SAT_D_STEPS, QUICK_SAT_D_STEPS = 1000, 300
SAT_TRAIN_STEPS, QUICK_SAT_TRAIN_STEPS = 600, 150
SAT_OPTIMIZERS = {"SGD": 0.05, "Adam": 1e-3}     # learning rate of both players
SAT_LOSSES = ("minimax", "non-saturating")


def build_sat_generator():
    """G: z (N, 1) -> x (N, 1), one hidden tanh layer."""
    return Sequential(Dense(1, 16), Tanh(), Dense(16, 1))


def build_sat_discriminator():
    """D: x (N, 1) -> logit (N, 1), one hidden LeakyReLU layer."""
    return Sequential(Dense(1, 32), LeakyReLU(0.2), Dense(32, 1))


def generator_gradient(G, D, z, loss_name: str):
    """(|dL_G/dl| per sample (N,), ||dL_G/d theta_G||) on the batch z for one generator loss.

    The per-sample gradient with respect to D's logit is the loss's gradient times N (the loss
    is a mean); the parameter gradient is pushed through D and G by their backward passes.
    """
    G.zero_grad()
    logits = D.forward(G.forward(z))
    _, d_logits = get_objective(loss_name).g_loss(logits)
    G.backward(D.backward(d_logits))
    per_sample = np.abs(B.to_numpy(d_logits)).reshape(-1) * d_logits.size
    norm = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in G.parameters()))
    return per_sample, norm


def run_saturation(quick: bool):
    """D learns to reject a fixed G; then both losses train copies of the pair.

    Returns {"probe": rows (mean D(G(z)), D(G(z)) per sample, {loss: per-sample |dL/dl|},
    {loss: ||grad||}) during D's training, "identity_error": max |measured - analytic|
    per-sample gradient, "curves": {(optimizer, loss): (iterations, mean G(z), D(G(z)))},
    "d_fake_start": D(G(z)) where the training runs start}.
    """
    data = Gaussian1D(*SAT_DATA)
    G, D = build_sat_generator(), build_sat_discriminator()
    critic = GAN(G, D, data.sample, latent_dim=1, batch_size=SAT_BATCH, lr_d=SAT_D_LR)
    z = B.randn(SAT_BATCH, 1)                               # one fixed probe batch
    d_steps = QUICK_SAT_D_STEPS if quick else SAT_D_STEPS
    probe, identity_error = [], 0.0
    for step in range(d_steps + 1):
        if step % (d_steps // 10) == 0:
            d_fake = B.to_numpy(sigmoid(D.forward(G.forward(z)))).reshape(-1).astype(np.float64)
            per_sample, norms = {}, {}
            for name in SAT_LOSSES:
                per_sample[name], norms[name] = generator_gradient(G, D, z, name)
            identity_error = max(identity_error,
                                 float(np.abs(per_sample["minimax"] - d_fake).max()),
                                 float(np.abs(per_sample["non-saturating"] - (1 - d_fake)).max()))
            probe.append((float(d_fake.mean()), d_fake, per_sample, norms))
        if step < d_steps:
            critic.d_step()
    start_g, start_d = G.state_dict(), D.state_dict()
    curves = {}
    steps = QUICK_SAT_TRAIN_STEPS if quick else SAT_TRAIN_STEPS
    probe_z = B.randn(512, 1)
    for optimizer, lr in SAT_OPTIMIZERS.items():
        for name in SAT_LOSSES:
            G2, D2 = build_sat_generator(), build_sat_discriminator()
            G2.load_state_dict(start_g)
            D2.load_state_dict(start_d)
            make = SGD if optimizer == "SGD" else Adam
            state = B.get_rng_state()                       # the same noise for every run
            gan = GAN(G2, D2, data.sample, latent_dim=1, objective=name, batch_size=SAT_BATCH,
                      g_optimizer=make(G2.parameters(), lr=lr),
                      d_optimizer=make(D2.parameters(), lr=lr))
            means = [float(B.to_numpy(G2.forward(probe_z)).mean())]
            gan.train(steps, callbacks=[lambda g: means.append(
                float(B.to_numpy(g.generator.forward(probe_z)).mean()))])
            curves[optimizer, name] = (np.arange(steps + 1), np.array(means),
                                       np.array(gan.history["d_fake"]))
            B.set_rng_state(state)
    return {"probe": probe, "identity_error": identity_error, "curves": curves,
            "d_fake_start": probe[-1][0]}


def saturation_figure(path, sat):
    """(a) per-sample gradients, (b) parameter-gradient norms, (c, d) training from one start."""
    fig, axes = plot.new_figure(4, 1, (4.3, 3.7))
    colours = {"minimax": "tab:red", "non-saturating": "tab:blue"}
    ax = axes[0, 0]
    d = np.logspace(-4, 0, 400)[:-1]
    ax.plot(d, d, color=colours["minimax"], label="saturating, analytic: D(G(z))")
    ax.plot(d, 1 - d, color=colours["non-saturating"],
            label="non-saturating, analytic: 1 - D(G(z))")
    for mean, d_fake, per_sample, _ in sat["probe"]:
        for name in SAT_LOSSES:
            ax.plot(d_fake[::8], per_sample[name][::8], "o", markerfacecolor="none",
                    markeredgecolor="black", markersize=4, markeredgewidth=0.6)
    ax.plot([], [], "o", markerfacecolor="none", markeredgecolor="black", markersize=4,
            label="measured (minigan.losses, x N)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("D(G(z)) of a sample")
    ax.set_ylabel(r"$|\partial L_G / \partial l|$ per sample")
    ax.set_title("(a) per sample")
    ax.legend(fontsize="x-small")

    ax = axes[0, 1]
    means = np.array([row[0] for row in sat["probe"]])
    for name, label in zip(SAT_LOSSES, ("saturating", "non-saturating")):
        ax.plot(means, [row[3][name] for row in sat["probe"]], "o-", color=colours[name],
                label=f"{label}, measured")
    ns = np.array([row[3]["non-saturating"] for row in sat["probe"]])
    ax.plot(means, ns * means / (1 - means), "--", color="black",
            label="predicted: non-sat. x D/(1 - D)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mean D(G(z)) while D learns to reject G")
    ax.set_ylabel(r"$\|\partial L_G / \partial \theta_G\|$")
    ax.set_title("(b) the generator's parameter gradient")
    ax.legend(fontsize="x-small")

    for column, (key, ylabel) in enumerate((("mean", "mean of G(z)"),
                                            ("d_fake", "D(G(z)) on the batch")), start=2):
        ax = axes[0, column]
        for (optimizer, name), (its, mean_gz, d_fake) in sat["curves"].items():
            values = mean_gz if key == "mean" else d_fake
            x = its if key == "mean" else its[1:]
            ax.plot(x, values, "-" if optimizer == "SGD" else ":", color=colours[name],
                    linewidth=1.4, label=f"{optimizer}, {name}")
        if key == "mean":
            ax.axhline(SAT_DATA[0], color="black", linewidth=0.8, linestyle="--",
                       label="data mean")
        else:
            ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(ylabel)
        ax.set_title(f"({'c' if key == 'mean' else 'd'}) training from the same start")
        ax.legend(fontsize="x-small")
    fig.suptitle("Saturating log(1 - D(G(z))) vs non-saturating -log D(G(z)): "
                 "a confident D silences only the first")
    return plot.save(fig, path)


def first_arrival(curve, target: float, tolerance: float) -> int:
    """First iteration at which |curve - target| <= tolerance (len(curve) if never)."""
    hits = np.flatnonzero(np.abs(curve - target) <= tolerance)
    return int(hits[0]) if hits.size else len(curve)


# %% 4. Evaluation: Frechet distance and inception-style score from a digit classifier
EVAL_TRAIN, QUICK_EVAL_TRAIN = 6000, 1000          # classifier training images
EVAL_SET, QUICK_EVAL_SET = 2000, 300               # images per evaluation set (> 128 features)
EVAL_CLASSIFIER_EPOCHS, QUICK_EVAL_CLASSIFIER_EPOCHS = 3, 1
NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)     # std of Gaussian noise added to real images
GAUSS_DIM = 8                                      # dimension of the closed-form Gaussian checks


def closed_form_checks(rng):
    """frechet_distance against two closed forms, and the estimate from samples.

    Diagonal covariances commute: d^2 = ||mu1 - mu2||^2 + sum_i (s1_i - s2_i)^2 (std devs s).
    Proportional covariances S2 = c^2 S1: (S1 S2)^{1/2} = c S1, d^2 = ||dmu||^2 + (1 - c)^2 Tr S1.
    The sample estimate from 20,000 draws of each Gaussian lands near the exact value.
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
    """The warning fid_from_features gives with fewer samples than feature dimensions."""
    n = features.shape[1] // 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fid_from_features(features[:n], features[n:2 * n])
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return value, messages


def run_evaluation(quick: bool, seed: int):
    """Train the digit classifier; FID and IS sanity checks on real and perturbed digits."""
    n_train = QUICK_EVAL_TRAIN if quick else EVAL_TRAIN
    n_set = QUICK_EVAL_SET if quick else EVAL_SET
    images, labels = load_digits(n_train + 3 * n_set, seed=seed + 500)
    train_x, train_y = images[:n_train], labels[:n_train]
    set_a = images[n_train:n_train + n_set]
    set_b = images[n_train + n_set:n_train + 2 * n_set]
    started = time.perf_counter()
    classifier = train_classifier(train_x, train_y, seed=seed,
                                  epochs=QUICK_EVAL_CLASSIFIER_EPOCHS if quick
                                  else EVAL_CLASSIFIER_EPOCHS)
    classifier_seconds = time.perf_counter() - started
    rng = np.random.default_rng(seed)
    features_a = classifier.features(set_a)
    fid_real = fid_from_features(features_a, classifier.features(set_b))
    noisy_fid, noisy_is = [], []
    for std in NOISE_LEVELS:
        noisy = (set_b + std * rng.standard_normal(set_b.shape)).astype(np.float32)
        noisy_fid.append(fid_from_features(features_a, classifier.features(noisy)))
        noisy_is.append(inception_score(classifier.predict_proba(noisy), splits=5)[0])
    one_class = images[labels == 3][:n_set]             # one digit only: a collapsed "model"
    uniform_noise = rng.uniform(-1, 1, set_b.shape).astype(np.float32)
    scores = {
        "is_real": inception_score(classifier.predict_proba(set_b), splits=5),
        "is_one_digit": inception_score(classifier.predict_proba(one_class), splits=5),
        "is_uniform_noise": inception_score(classifier.predict_proba(uniform_noise), splits=5),
        "fid_uniform_noise": fid_from_features(features_a, classifier.features(uniform_noise)),
        "fid_one_digit": fid_from_features(features_a, classifier.features(one_class)),
    }
    warned_value, warning_messages = few_samples_warning(features_a)
    return {"classifier": classifier, "features_a": features_a, "train_images": train_x,
            "accuracy": classifier.accuracy(images[n_train + 2 * n_set:],
                                            labels[n_train + 2 * n_set:]),
            "classifier_seconds": classifier_seconds, "fid_real": fid_real,
            "noisy_fid": noisy_fid, "noisy_is": noisy_is, **scores,
            "few_samples_fid": warned_value, "few_samples_warnings": warning_messages,
            **closed_form_checks(rng)}


def evaluation_figure(path, ev, model_scores):
    """FID and IS against added noise, with the reference scores and chapter 4's models."""
    fig, axes = plot.new_figure(2, 1, (5.0, 3.8))
    ax = axes[0, 0]
    ax.plot(NOISE_LEVELS, ev["noisy_fid"], "o-", color="tab:red", label="real + noise vs real")
    ax.axhline(ev["fid_real"], color="black", linestyle=":", label="real vs real")
    ax.axhline(ev["fid_one_digit"], color="gray", linestyle="-.", label="real, one digit only")
    ax.axhline(ev["fid_uniform_noise"], color="gray", linestyle=":",
               label="uniform noise images")
    for name, score in model_scores.items():
        ax.axhline(score["fid"], linestyle="--", linewidth=1.3, label=f"chapter 4 {name}",
                   color="tab:blue" if name == "dcgan" else "tab:green")
    ax.set_yscale("log")
    ax.set_xlabel("std of Gaussian noise added to the images (pixels in [-1, 1])")
    ax.set_ylabel("Frechet distance of classifier features")
    ax.set_title("Frechet distance (FID formula) grows with the damage")
    ax.legend(fontsize="small")
    ax = axes[0, 1]
    ax.plot(NOISE_LEVELS, ev["noisy_is"], "o-", color="tab:red", label="real + noise")
    ax.axhline(ev["is_real"][0], color="black", linestyle=":", label="real")
    ax.axhline(ev["is_one_digit"][0], color="gray", linestyle="-.", label="real, one digit only")
    ax.axhline(ev["is_uniform_noise"][0], color="gray", linestyle=":",
               label="uniform noise images")
    for name, score in model_scores.items():
        ax.axhline(score["is"], linestyle="--", linewidth=1, label=f"chapter 4 {name}",
                   color="tab:blue" if name == "dcgan" else "tab:green")
    ax.set_ylim(0, 10.5)
    ax.set_xlabel("std of Gaussian noise added to the images")
    ax.set_ylabel("inception-style score (max 10)")
    ax.set_title("Inception-style score: confident and varied")
    ax.legend(fontsize="small")
    return plot.save(fig, path)


CH4_LATENT = 100
CH4_SAMPLES = 2000
CH4_BATCH, CH4_LR = 64, 2e-4            # chapter 4's settings: Adam(2e-4, beta1 = 0.5), batch 64
CH4_MODELS = {      # name -> (generator, discriminator, output range) as chapter 4 builds them
    "dense": (lambda: dense_generator(CH4_LATENT, output="sigmoid"), dense_discriminator,
              "sigmoid"),
    "dcgan": (lambda: dcgan_generator(CH4_LATENT), lambda: dcgan_discriminator(dropout=0.3),
              "tanh"),
}


def chapter4_generator(name: str, folder: str, train_iterations: int, images, seed: int):
    """Chapter 4's trained generator ``name``: from its checkpoint, or trained here.

    The checkpoint is <folder>/<name>/checkpoint.npz, written by chapters/ch4_code_examples.py.
    Without it, and with train_iterations > 0, chapter 4's architecture is trained here for
    that many iterations (far fewer than chapter 4 runs: a weaker model). Returns
    (G or None, where it came from).
    """
    build_g, build_d, output = CH4_MODELS[name]
    path = os.path.join(folder, name, "checkpoint.npz")
    G = build_g()
    if os.path.exists(path):
        checkpoint.load(path, {"G": G}, rng=False)
        return G, path
    if train_iterations <= 0:
        print(f"chapter 4's {name} model: no checkpoint at {path} (run `python "
              f"chapters/ch4_code_examples.py` first, or pass --train-ch4 N)")
        return None, None
    B.seed(seed + 40)
    G = build_g()
    data = (images + 1) / 2 if output == "sigmoid" else images
    gan = GAN(G, build_d(), B.asarray(data), latent_dim=CH4_LATENT, batch_size=CH4_BATCH,
              objective="non-saturating", lr_g=CH4_LR, lr_d=CH4_LR)
    gan.train(train_iterations, log_every=max(1, train_iterations // 4))
    return G, f"trained here for {train_iterations} iterations"


def chapter4_scores(ev, folder: str, train_iterations: int, seed: int) -> dict:
    """FID and IS of chapter 4's generators (see chapter4_generator), on CH4_SAMPLES samples.

    Samples of the sigmoid generator are mapped to [-1, 1] for the classifier.
    Returns {name: {"fid", "is", "is_std"}} for the models found or trained.
    """
    scores = {}
    classifier = ev["classifier"]
    for name, (_, _, output) in CH4_MODELS.items():
        G, origin = chapter4_generator(name, folder, train_iterations, ev["train_images"], seed)
        if G is None:
            continue
        G.eval()
        B.seed(seed + 4)
        samples = np.concatenate([B.to_numpy(G.forward(B.randn(500, CH4_LATENT)))
                                  for _ in range(CH4_SAMPLES // 500)])
        if output == "sigmoid":
            samples = 2 * samples - 1
        mean_is, std_is = inception_score(classifier.predict_proba(samples), splits=5)
        scores[name] = {"fid": fid_from_features(ev["features_a"], classifier.features(samples)),
                        "is": mean_is, "is_std": std_is}
        print(f"chapter 4's {name} model ({origin}): FID {scores[name]['fid']:.2f}, "
              f"IS {mean_is:.2f} +- {std_is:.2f}")
    return scores


# %% Settings: as a script, the command line; in a notebook, edit `notebook` (e.g. "--quick")
parser = make_parser(TITLE, "ch5_challenges")
parser.add_argument("--ch4-dir", default=os.path.join(ROOT, "runs", "ch4_code_examples"),
                    help="where chapter 4 saved its checkpoints (scored in the full run)")
parser.add_argument("--train-ch4", type=non_negative_int, default=0, metavar="N",
                    help="train a chapter-4 model here for N iterations when its checkpoint "
                         "is missing (default 0: skip it)")
args = parse_args(parser, notebook="--quick")
out = start(args)              # backend, dtype and seed set; the folder for the figures
started = time.perf_counter()
numbers, figures = {}, []

# %% [markdown]
# ## 1. Instability: the Dirac-GAN
# Mescheder, Geiger & Nowozin (2018). Data at 0, a generator with
# one parameter theta (p_g = delta_theta) and a linear discriminator D(x) = psi x. Gradient
# descent follows the vector field v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi); for the
# minimax objective v = (s(theta psi) psi, -s(theta psi) theta), s the sigmoid. Near the
# equilibrium (0, 0) every unregularised objective is a pure rotation: its Jacobian has
# eigenvalues +-ic, so simultaneous gradient descent spirals OUT (the step map I + hJ has
# |eigenvalues| sqrt(1 + h^2 c^2) > 1) and alternating gradient descent circles for ever. A
# penalty on D's gradient at the data (R1: gamma/2 E |grad_x D(x)|^2 = gamma/2 psi^2 here) or
# instance noise adds damping: eigenvalues (-gamma +- sqrt(gamma^2 - 1)) / 2 and the
# trajectory converges. (The non-saturating field is a rotation only to first order: a
# fourth-order term pulls a far-away start inwards, ever more slowly, and simultaneous steps
# end on a cycle of radius ~sqrt(2h) -- 0.32 for h = 0.05 -- which a start near the
# equilibrium spirals OUT to; alternating steps creep inwards at a sublinear rate.)
# The trajectories are trained with minigan's Dense, losses and SGD
# (``minigan.dirac``) and checked step by step against the closed-form field. The R1 penalty
# is written out analytically for the linear D (its gradient is gamma psi): a penalty on a
# gradient in general needs double backpropagation, which minigan's layers do not do.

# %% 1. Instability: the Dirac-GAN
dirac = run_dirac(QUICK_DIRAC_STEPS if args.quick else DIRAC_STEPS)
figures.append(show(dirac_figure(os.path.join(out, "dirac_gan.png"), dirac)))
figures.append(show(dirac_distance_figure(os.path.join(out, "dirac_distance.png"), dirac)))
print("Dirac-GAN near the equilibrium: eigenvalues of the Jacobian and spectral radius "
      "of one step")
print(f"  {'case':<38} {'eigenvalues':<26} {'simultaneous':>12} {'alternating':>12}")
for label, eigenvalues, simultaneous, alternating in dirac["linear"]:
    shown = ", ".join(f"{e.real:+.3f}{e.imag:+.3f}i" for e in eigenvalues)
    print(f"  {label:<38} {shown:<26} {simultaneous:12.6f} {alternating:12.6f}")
final = {}                                   # e.g. "minimax+r1_alternating": distance
for (case, mode), path_ in dirac["runs"].items():
    objective, kind, _ = DIRAC_CASES[case]
    key = objective if kind is None else f"{objective}+{kind}"
    final[f"{key}_{mode}"] = float(np.hypot(*path_[-1]))
numbers.update({
    "dirac_field_residual": dirac["residual"],
    "dirac_wgan_growth": dirac["wgan_growth"][0],
    "dirac_wgan_growth_predicted": dirac["wgan_growth"][1],
    "dirac_wgan_invariant_drift": dirac["wgan_invariant_drift"],
    **{f"dirac_final_distance_{k}": v for k, v in final.items()},
    "dirac_final_distance_minimax_adam": float(np.hypot(*dirac["adam"][-1])),
})

# %% [markdown]
# ## 3. Saturation
# With D(G(z)) = s(l), the minimax generator loss log(1 - D(G(z))) has
# |dL/dl| = D(G(z)), which vanishes when D rejects the fakes -- the "vanishing gradients" of
# 000 §5 and 004 §5.2; the non-saturating loss -log D(G(z)) has |dL/dl| = 1 - D(G(z)).
# Measured on a generator and a discriminator trained to reject it, and as training runs
# from the same start. With SGD the saturating run stalls until D's confidence erodes; Adam
# divides each gradient by its running RMS, so a uniformly small gradient still takes
# full-sized steps and most of the difference disappears.

# %% 3. Saturation
sat = run_saturation(args.quick)
figures.append(show(saturation_figure(os.path.join(out, "saturation.png"), sat)))
first, last = sat["probe"][0], sat["probe"][-1]
numbers.update({
    "sat_grad_identity_error": sat["identity_error"],
    "sat_d_fake_start": sat["d_fake_start"],
    "sat_norm_saturating_before": first[3]["minimax"],
    "sat_norm_saturating_after": last[3]["minimax"],
    "sat_norm_nonsaturating_before": first[3]["non-saturating"],
    "sat_norm_nonsaturating_after": last[3]["non-saturating"],
})
for (optimizer, name), (_, mean_gz, _) in sat["curves"].items():
    numbers[f"sat_reach_data_{optimizer}_{name}"] = first_arrival(
        mean_gz, SAT_DATA[0], 2 * SAT_DATA[1])

# %% [markdown]
# ## 4. Evaluation
# The Frechet distance between Gaussians fitted to features of real and
# generated images (FID's formula, Heusel et al., 2017),
#
#     d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2}),
#
# with the matrix square root from NumPy's eigendecomposition (``minigan.metrics``), and an
# inception-style score exp(E_x KL(p(y|x) || p(y))), both from a digit classifier trained with
# minigan (``minigan.classifier``) instead of Inception-v3: the numbers compare models measured
# with the same classifier, not values published for FID/IS. Sanity checks: real vs real ~ 0,
# the closed form between two Gaussians, a distance that grows with added noise, and a warning
# when there are fewer samples than feature dimensions. The full run also scores chapter 4's
# dense GAN and DCGAN, loaded from chapter 4's checkpoints (runs/ch4_code_examples/), or,
# with --train-ch4 N where a checkpoint is missing, trained here for N iterations.

# %% 4. Evaluation
ev = run_evaluation(args.quick, args.seed)
model_scores = {} if args.quick else chapter4_scores(ev, args.ch4_dir, args.train_ch4,
                                                         args.seed)
figures.append(show(evaluation_figure(os.path.join(out, "evaluation.png"), ev,
                                     model_scores)))
for message in ev["few_samples_warnings"][:1]:   # one per feature set; same text
    print(f"\nwarning, as expected: {message}")
numbers.update({
    "classifier_accuracy": ev["accuracy"],
    "classifier_seconds": ev["classifier_seconds"],
    "fid_real_vs_real": ev["fid_real"],
    **{f"fid_noise_{std:g}": v for std, v in zip(NOISE_LEVELS, ev["noisy_fid"])},
    "fid_monotone_in_noise": bool(np.all(np.diff(ev["noisy_fid"]) > 0)),
    "fid_uniform_noise": ev["fid_uniform_noise"],
    "fid_one_digit": ev["fid_one_digit"],
    "is_real": ev["is_real"][0], "is_real_std": ev["is_real"][1],
    "is_one_digit": ev["is_one_digit"][0],
    "is_uniform_noise": ev["is_uniform_noise"][0],
    **{f"is_noise_{std:g}": v for std, v in zip(NOISE_LEVELS, ev["noisy_is"])},
    "fd_diag_rel_error": ev["fd_diag_rel_error"],
    "fd_prop_rel_error": ev["fd_prop_rel_error"],
    "fd_prop_exact": ev["fd_prop_exact"], "fd_from_samples": ev["fd_from_samples"],
    "few_samples_warned": bool(ev["few_samples_warnings"]),
    **{f"ch4_{name}_{key}": value for name, score in model_scores.items()
       for key, value in score.items()},
})


# %% What was measured
numbers["seconds"] = time.perf_counter() - started
result = report(numbers, figures)
