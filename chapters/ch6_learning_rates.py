# %% [markdown]
# # Chapter 6, Q4 -- how should the learning rate be adjusted while training a GAN?
#
# Mirrors section 6 of the documents (附录常见问题与解答): 004 §6.2 ("use Adam and tune
# its beta1, beta2 and epsilon to get different learning rates") and 003 §6 Q1 ("a higher learning
# rate speeds training up"). The other questions of chapter 6: ``ch6_gan_vs_vae.py`` (Q1),
# ``ch6_compute_cost.py`` (Q2), ``ch6_limits.py`` (Q3).
#
# 004's answer is an erratum. Adam (Kingma & Ba, 2015; ``minigan.optim.Adam``) moves a parameter by
#
#     m <- beta1 m + (1 - beta1) g,      v <- beta2 v + (1 - beta2) g^2,
#     theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)      (m_hat, v_hat: bias-corrected)
#
# and m_hat / sqrt(v_hat) is a gradient divided by its own running RMS: a number of order one.
# The step is about lr whatever the betas; beta1 and beta2 set how many steps the two averages
# remember (about 1 / (1 - beta): 2 steps for 0.5, 10 for 0.9, 1,000 for 0.999), and eps only
# matters for gradients as small as itself. The learning rate is lr. What does set a GAN's
# training is the pair (lr_G, lr_D).
#
# The default run measures both on the toy GAN of Q1 on the 8-Gaussian ring
# (``minigan.learning_rates``): a 5 x 5 grid of (lr_G, lr_D), the diagonal lr_G = lr_D and beta1
# 0.5 vs 0.9 over three seeds, and Adam's step size against lr and the betas: an estimated 2
# minutes on 2 cores (short runs scaled up); ``--quick``, a smoke test, took 3-5 s.
# ``--dcgan-grid`` adds the same grid on chapter 4's DCGAN (16 runs; 703 s measured on 2 cores),
# printing its estimated cost first.
#
# Run:  python chapters/ch6_learning_rates.py [--quick] [--dcgan-grid] [--seed S] [--out DIR]

# %% Imports
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import gan_vs_vae as gv
from minigan import learning_rates

TITLE = "Chapter 6, Q4 -- how should the learning rate be adjusted? lr_G, lr_D and Adam's betas"
DCGAN_GRID_MEASURED = "703 s for the 16 runs on 2 cores (seed 0)"

# %% Settings: as a script, the command line; in a notebook, edit `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch6_learning_rates")
parser.add_argument("--dcgan-grid", action="store_true",
                    help=f"also run the learning-rate grid on chapter 4's DCGAN (measured: "
                         f"{DCGAN_GRID_MEASURED}; the estimate for this run is printed first)")
args = chapter.parse_args(parser, notebook="--quick")
settings = learning_rates.QUICK if args.quick else learning_rates.Settings()
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures
figures = []

# %% [markdown]
# ## The toy GAN: lr_G x lr_D, the diagonal, beta1, Adam's step
# The toy GAN of Q1 (the 8-Gaussian ring, widths 64, batch 64, 3,000 iterations) over a grid of
# both rates, one run each, scored every 250 iterations by the modes covered and the fraction of
# samples on a mode, and at the end by improved precision and recall. A run ends *converged*
# (>= 7 modes, >= 30 % of the samples on one), *slow*, *collapsed* (modes missing) or
# *diverged* (NaN, or the samples fled). Measured (seed 0):
#   * it converges in a band -- lr_G from 4e-4 to 6.4e-3, with lr_D from a quarter of lr_G to
#     16 times it (9 of the 25 runs);
#   * a generator 4x or more faster than its discriminator collapses: 0 or 1 modes, its samples
#     piled up off the modes (lr_G >= 1.6e-3 against a slower D);
#   * the reverse extreme collapses too: lr_G = 1e-4 against a D 16x or more faster keeps 2-3
#     modes, with precision 0.50-0.77 but recall 0.17-0.33 -- fidelity without diversity;
#   * lr_G = 2.56e-2 collapses whatever lr_D; 1e-4 on both is too slow (every mode reached, 4%
#     of the samples on one after 3,000 iterations). No run produced NaN: Adam bounds its step
#     by about lr, so here a rate that is too high shows as mode collapse, not as divergence.
# 003 Q1's "a higher learning rate speeds training up", with lr_G = lr_D over three seeds: the
# runs converge after 1,750-2,000 iterations at 4e-4 and 1,000-1,250 at 1.6e-3 -- faster, as
# claimed -- but after 1,750-2,250 at 6.4e-3, and never at 2.56e-2 (collapse) or 1e-4 (too
# slow). Faster up to a point, then slower, then not at all.
# beta1 at lr = 1e-3 (three seeds): 0.5 -- the value DCGAN (Radford et al., 2015) chose --
# converges after 1,000-1,500 iterations, Adam's default 0.9 after 2,000-2,500; both end with
# every mode covered and 60-72 % of the samples on a mode.
# Adam's step (``adam_update_sizes``): over (beta1, beta2) = (0, 0.999), (0.5, 0.99),
# (0.5, 0.999), (0.9, 0.9), (0.9, 0.999), G's parameters move by 0.40 to 1.34 times lr per step
# (RMS), at most 2.5x apart at any one rate, while lr from 1e-4 to 1e-2 makes the step 55x
# larger. eps = 1e-3 halves the step at lr = 1e-3, because it is then comparable to the
# gradients' RMS: it damps small gradients, a different thing from a learning rate.
#
# The two time-scale update rule (Heusel et al., 2017) gives D the larger rate; chapter 5's
# mode-collapse table has it as the row "GAN + two time-scales" (chapters/ch5_mode_collapse.py).

# %%
study = learning_rates.learning_rate_study(settings, args.seed)
print(learning_rates.format_study(study))
figures.append(chapter.show(learning_rates.figure(os.path.join(out, "learning_rates.png"),
                                                  study)))

# %% [markdown]
# ## The same grid on chapter 4's DCGAN (``--dcgan-grid``)
# Convolutional G and D, document 004's dropout, half chapter 4's channels, (64, 32), on the
# built-in digits, 600 iterations of batch 64 per run, scored by Q1's digit classifier: the
# Frechet distance (FD) of its features to held-out digits (real digits: 2.5) and the rarest
# digit's share. C: every digit >= 3 % and FD <= 20; S: every digit >= 3 %, FD higher; M: a digit
# under 3 %; D: NaN.
# Measured (seed 0; 703 s for the 16 runs on 2 cores): no run reaches FD 20 in 600 iterations --
# chapter 4 trains this model for 4,680 -- so the grid shows how fast each pair makes progress,
# and which pairs fail outright:
#   * lr_G = 5e-5 fails whatever lr_D: against a D at 2e-4 or faster, D wins and G's samples stay
#     grey blots (FD 597-741); at 5e-5 on both, both crawl (FD 204);
#   * a D at 5e-5 against a faster G does no better: FD 191-607, a digit under 1 % of samples;
#   * on the diagonal lr_G = lr_D the FD after 600 iterations falls with the rate -- 204 (5e-5),
#     60 (2e-4, DCGAN's rate), 46 (8e-4), 25 (3.2e-3) -- so 003 Q1's "a higher rate trains
#     faster" holds for this model's first epochs up to the highest rate tried, where the toy GAN
#     above already collapsed at 2.56e-2; off the diagonal, lr_D = 4 lr_G (8e-4 / 3.2e-3: FD 25.7)
#     is as fast. No run produced NaN: as on the toy GAN, Adam keeps each step near lr.
# What a fast start leaves after many epochs is not measured here; chapter 4 trains with DCGAN's
# 2e-4 for G and 1e-4 for D, which it measured to cover every digit.

# %%
dcgan_study = None
if args.dcgan_grid:
    judge = gv.digit_judge(gv.QUICK if args.quick else gv.Settings(), args.seed)
    estimate = learning_rates.estimate_dcgan_seconds(settings, judge, args.seed)
    print(f"--dcgan-grid: {len(settings.dcgan_rates) ** 2} runs of {settings.dcgan_iterations} "
          f"iterations, about {estimate:.0f} s here (from a timed probe; the full grid "
          f"measured {DCGAN_GRID_MEASURED})", flush=True)
    dcgan_study = learning_rates.dcgan_learning_rate_study(settings, judge, args.seed)
    print(learning_rates.format_dcgan_study(dcgan_study))
    figures.append(chapter.show(learning_rates.figure_dcgan(
        os.path.join(out, "learning_rates_dcgan.png"), dcgan_study)))
else:
    print(f"The DCGAN grid is not part of the default run ({DCGAN_GRID_MEASURED}); add "
          f"--dcgan-grid to run it.")

# %% What was measured
numbers = {"learning_rates": study, "lr_study_seconds": study.seconds}
if dcgan_study is not None:
    numbers.update(dcgan_learning_rates=dcgan_study, dcgan_lr_study_seconds=dcgan_study.seconds,
                   dcgan_estimated_seconds=estimate)
numbers["seconds"] = time.perf_counter() - start
result = chapter.report(numbers, figures, args)
