# %% [markdown]
# # Chapter 5 -- challenges and remedies: instability, saturation, evaluation
#
# Mirrors section 5 of the documents (未来发展趋势与挑战): 000 §5 (stability: "model collapse or
# vanishing gradients"; evaluation standards unclear), 001 §2.3 and §5 (unstable training,
# oscillation, slow convergence, hard evaluation), 002 §7, 003 §5 and its FAQ (FID and IS),
# 004 §5.2 (unstable training, oscillation, vanishing gradients). The documents name these
# problems without showing them. **Why does GAN training fail to converge, why does the
# generator's gradient vanish, and how is a GAN's output measured?** This chapter makes each
# problem happen, measures it, and applies a remedy: 1. instability (``minigan.instability``),
# 3. saturation (``minigan.saturation``), 4. evaluation (``minigan.evaluation``).
# 2. Mode collapse has a file of its own, ``chapters/ch5_mode_collapse.py``.
#
# Errata and imprecisions in the documents' section 5, corrected here:
#   * 001 §5 proposes "adaptive learning-rate optimisers" for stability. The Dirac-GAN's
#     instability is in the game, not the step size: its linearisation is a rotation with
#     purely imaginary eigenvalues, which no step size (not even one per parameter) makes
#     convergent for simultaneous gradient descent, and Adam spirals out as well
#     (dirac_distance.png); what helps is changing the game (a gradient penalty, instance noise).
#   * 001 §5 lists "conditional GANs (CGANs)" under new loss functions *and evaluation metrics*:
#     a conditional GAN is a model, not a metric. Metrics are FID and IS (section 4 below).
#   * 000 §5 and 004 §5.2 call the problem "vanishing gradients" without saying whose: it is the
#     generator's gradient under the minimax (saturating) loss when D is confident (section 3);
#     the non-saturating loss, already in Goodfellow et al. (2014), avoids it.
#   * "Model collapse" (000 §5, 模型崩溃) is mode collapse: the generator covers few modes of
#     the data, measured in chapters/ch5_mode_collapse.py.
#
# What the default run covers: all three studies (1,000 Dirac-GAN steps per case, the saturation
# study, a classifier trained on 6,000 digits for the evaluation) and chapter 4's dense GAN and
# DCGAN scored from chapter 4's full run (runs/ch4_code_examples). Measured on 2 cores: 15 s
# with chapter 4's two generators scored, nothing else running; 90 s (without them) while other
# jobs shared the cores. ``--quick`` (a smoke test: shorter runs, a smaller classifier) takes 9-16 s and
# reads chapter 4's quick run (runs/ch4_code_examples-quick) if it is there.
#
# Outputs (under --out): dirac_gan.png (the main figure), dirac_distance.png, saturation.png,
# evaluation.png.
#
# Run:  python chapters/ch5_challenges.py [--quick] [--seed S] [--ch4-dir DIR] [--train-ch4 N]
#           [--out DIR]

# %% Imports
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import evaluation, instability, saturation

TITLE = "Chapter 5 -- challenges and remedies: instability, saturation, evaluation"

# %% Settings: as a script, the command line; in a notebook, edit `notebook` (e.g. "--seed 1")
parser = chapter.make_parser(TITLE, "ch5_challenges")
parser.add_argument("--ch4-dir", default=None,
                    help="where chapter 4 saved its checkpoints (default: runs/ch4_code_examples, "
                         "or runs/ch4_code_examples-quick with --quick)")
parser.add_argument("--train-ch4", type=chapter.non_negative_int, default=0, metavar="N",
                    help="train a chapter-4 model here for N iterations when its checkpoint "
                         "is missing or refused (default 0: skip it)")
args = chapter.parse_args(parser)
ch4_dir = args.ch4_dir or chapter.default_out("ch4_code_examples", args.quick)
out = chapter.start(args)              # backend, dtype and seed set; the folder for the figures
started = time.perf_counter()
figures = []

# %% [markdown]
# ## 1. Instability: the Dirac-GAN
# Mescheder, Geiger & Nowozin (2018). Data at 0, a generator with one parameter theta
# (p_g = delta_theta) and a linear discriminator D(x) = psi x. Gradient descent follows the
# vector field v(theta, psi) = (-dL_G/dtheta, -dL_D/dpsi); for the minimax objective
# v = (s(theta psi) psi, -s(theta psi) theta), s the sigmoid. Near the equilibrium (0, 0) every
# unregularised objective is a pure rotation: its Jacobian has eigenvalues +-ic, so
# simultaneous gradient descent spirals OUT (the step map I + hJ has |eigenvalues|
# sqrt(1 + h^2 c^2) > 1) and alternating gradient descent circles for ever. A penalty on D's
# gradient at the data (R1: gamma/2 E |grad_x D(x)|^2 = gamma/2 psi^2 here) or instance noise
# adds damping: eigenvalues (-gamma +- sqrt(gamma^2 - 1)) / 2 and the trajectory converges.
# (The non-saturating field is a rotation only to first order: a fourth-order term pulls a
# far-away start inwards, ever more slowly, and simultaneous steps end on a cycle of radius
# ~sqrt(2h) -- 0.32 for h = 0.05 -- which a start near the equilibrium spirals OUT to;
# alternating steps creep inwards at a sublinear rate.) The trajectories are trained with
# minigan's Dense, losses and SGD (``minigan.dirac``) and checked step by step against the
# closed-form field. The R1 penalty is written out analytically for the linear D (its gradient
# is gamma psi); minigan's general path -- the second backward pass of ``minigan.penalty``,
# run through ``GAN(..., penalty="r1")`` -- follows the same trajectory to rounding (below).

# %% 1. Instability: the Dirac-GAN (minigan.instability)
dirac = instability.dirac_study(instability.QUICK_STEPS if args.quick else instability.STEPS)
figures.append(chapter.show(instability.field_figure(
    os.path.join(out, "dirac_gan.png"), dirac,
    chapter.title(args, f"Dirac-GAN: direction of the gradient field (grey) and {dirac.steps} "
                        f"SGD steps (red, h = {instability.LR:g}) from {instability.START} "
                        f"towards the equilibrium (star)"))))
figures.append(chapter.show(instability.distance_figure(
    os.path.join(out, "dirac_distance.png"), dirac,
    chapter.title(args, "Distance to the equilibrium of every case and scheme"))))
print(instability.linear_table(dirac))
general_r1 = instability.r1_through_the_general_path(dirac.steps)   # GAN(..., penalty="r1")
print(f"R1 through GAN and minigan.penalty's second backward pass: largest deviation from the "
      f"closed form {general_r1.max_deviation:.1e}, final distance "
      f"{general_r1.final_distance:.4f}")

# %% [markdown]
# ## 3. Saturation
# With D(G(z)) = s(l), the minimax generator loss log(1 - D(G(z))) has |dL/dl| = D(G(z)), which
# vanishes when D rejects the fakes -- the "vanishing gradients" of 000 §5 and 004 §5.2; the
# non-saturating loss -log D(G(z)) has |dL/dl| = 1 - D(G(z)). Measured on a generator and a
# discriminator trained to reject it (chapter 3 measures the same on its own pair), and as
# training runs from the same start with the same draws. With SGD the saturating run stalls
# until D's confidence erodes; Adam divides each gradient by its running RMS, so a uniformly
# small gradient still takes full-sized steps and most of the difference disappears.

# %% 3. Saturation (minigan.saturation)
sat = saturation.saturation_study(saturation.QUICK if args.quick else saturation.Settings())
figures.append(chapter.show(saturation.study_figure(
    os.path.join(out, "saturation.png"), sat,
    chapter.title(args, "Saturating log(1 - D(G(z))) vs non-saturating -log D(G(z)): gradients "
                        "as D learns to reject G, and training from one start"))))
print("iterations until mean G(z) is within 2 std of the data mean:",
      ", ".join(f"{opt} {loss} {n}" for (opt, loss), n in sat.steps_to_data.items()))

# %% [markdown]
# ## 4. Evaluation
# The Frechet distance between Gaussians fitted to features of real and generated images (FID's
# formula, Heusel et al., 2017),
#
#     d^2 = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2}),
#
# with the matrix square root from NumPy's eigendecomposition (``minigan.metrics``), and an
# inception-style score exp(E_x KL(p(y|x) || p(y))), both from a digit classifier trained with
# minigan (``minigan.classifier``) instead of Inception-v3: the numbers compare models measured
# with the same classifier, not values published for FID/IS. Sanity checks: real vs real ~ 0,
# the closed form between two Gaussians, a distance that grows with added noise, and a warning
# when there are fewer samples than feature dimensions. Then chapter 4's dense GAN and DCGAN,
# loaded from chapter 4's checkpoints: the run that wrote them is named, and a full run refuses
# a --quick run's (two epochs are not chapter 4's models); with --train-ch4 N, a missing or
# refused model is trained here for N iterations instead.

# %% 4. Evaluation (minigan.evaluation)
settings = evaluation.QUICK if args.quick else evaluation.Settings()
ev, classifier_seconds = evaluation.evaluation_study(settings, args.seed)
ch4 = evaluation.chapter4_scores(ev, ch4_dir, args.quick, args.train_ch4, args.seed,
                                 settings.chapter4_samples)
figures.append(chapter.show(evaluation.evaluation_figure(
    os.path.join(out, "evaluation.png"), ev, ch4.scores,
    chapter.title(args, "Frechet distance and inception-style score of a digit classifier's "
                        "features"))))
for message in ev.few_samples_warnings[:1]:     # one per feature set; the same text
    print(f"\nwarning, as expected: {message}")

# %% What was measured
numbers = {
    "dirac_field_residual": dirac.field_residual,
    "dirac_wgan_growth": dirac.wgan_growth,
    "dirac_wgan_growth_predicted": dirac.wgan_growth_predicted,
    "dirac_wgan_invariant_drift": dirac.wgan_invariant_drift,
    "dirac_final_distance": {f"{key}, {mode}": round(d, 6)
                             for (key, mode), d in dirac.final_distance.items()},
    "dirac_final_distance_adam": dirac.final_distance_adam,
    "dirac_r1_general_path_deviation": general_r1.max_deviation,
    "sat_grad_identity_error": sat.rejection.identity_error,
    "sat_d_fake_start": sat.rejection.d_fake_end,
    "sat_norm_saturating_before": sat.norm_saturating_before,
    "sat_norm_saturating_after": sat.norm_saturating_after,
    "sat_norm_nonsaturating_before": sat.norm_nonsaturating_before,
    "sat_norm_nonsaturating_after": sat.norm_nonsaturating_after,
    "sat_steps_to_data": {f"{opt}, {loss}": n for (opt, loss), n in sat.steps_to_data.items()},
    "classifier_accuracy": ev.classifier_accuracy,
    "classifier_seconds": classifier_seconds,
    "fid_real_vs_real": ev.fid_real_vs_real,
    "fid_noisy": dict(zip(evaluation.NOISE_LEVELS, ev.fid_noisy)),
    "fid_monotone_in_noise": ev.fid_monotone_in_noise,
    "fid_uniform_noise": ev.fid_uniform_noise,
    "fid_one_digit": ev.fid_one_digit,
    "is_real": ev.is_real[0], "is_one_digit": ev.is_one_digit[0],
    "is_uniform_noise": ev.is_uniform_noise[0],
    "fd_diag_rel_error": ev.fd_diag_rel_error, "fd_prop_rel_error": ev.fd_prop_rel_error,
    "fd_prop_exact": ev.fd_prop_exact, "fd_from_samples": ev.fd_from_samples,
    "few_samples_warned": bool(ev.few_samples_warnings),
    "ch4_run": ch4.run,
    "ch4_scores": {name: f"FID {s.fid:.2f}, IS {s.inception_score:.2f} ({s.origin})"
                   for name, s in ch4.scores.items()},
    "seconds": time.perf_counter() - started,
}
result = chapter.report(numbers, figures, args)
result.update(dirac=dirac, general_r1=general_r1, saturation=sat, evaluation=ev, chapter4=ch4)
