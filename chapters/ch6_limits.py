# %% [markdown]
# # Chapter 6, Q3 -- can a GAN generate any data?
#
# Mirrors section 6 of the documents (附录常见问题与解答): 000 §6 ("no, only data like the
# training set"), 002 §8 ("any kind, given the right network") and 004 §6.3 ("convolutions
# handle the high dimensionality of images"). The other questions of chapter 6:
# ``ch6_gan_vs_vae.py`` (Q1), ``ch6_compute_cost.py`` (Q2), ``ch6_learning_rates.py`` (Q4).
#
# The generator is a continuous map, so its samples lie on G(R^k): the image of the latent
# space. Two consequences no amount of training can undo:
#   * G(R^k) is connected. A target made of separate pieces (the 8-Gaussian ring) can only be
#     approached by a curve or sheet that also passes through the gaps: some samples always fall
#     between the modes. More latent dimensions make the bridges thinner; they cannot remove them.
#   * G(R^k) has dimension at most k. With a 1D latent space the samples of a 2D target (the
#     uniform square) lie on a curve: their intrinsic dimension is 1, the data's 2.
# 004 §6.3 conflates the two: the layers set how the sheet is shaped, the latent dimension sets
# how many directions it has.
#
# The default run trains Q1's toy GAN (two hidden layers of 128, Adam(1e-3)) for 2,500 steps with
# a 1D and an 8D latent space on the ring and a 1D and a 2D one on the square
# (``minigan.latent_limits``): an estimated 25 s on 2 cores (short runs scaled up); ``--quick``,
# a smoke test, took 2-3 s.
#
# Run:  python chapters/ch6_limits.py [--quick] [--seed S] [--out DIR]

# %% Imports
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import latent_limits

TITLE = "Chapter 6, Q3 -- can a GAN generate any data? What G(latent space) can hold"

# %% Settings: as a script, the command line; in a notebook, edit `notebook` ("" for the full run)
args = chapter.parse_args(chapter.make_parser(TITLE, "ch6_limits"), notebook="--quick")
settings = latent_limits.QUICK if args.quick else latent_limits.Settings()
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures

# %% [markdown]
# ## Measuring dimension and gaps
# The intrinsic dimension of a point cloud is estimated by Two-NN (Facco et al., 2017): for each
# point the ratio mu = r2 / r1 of the distances to its second and first nearest neighbours
# follows P(mu > m) = m^-d on a d-dimensional set, so d = N / sum log mu
# (``latent_limits.two_nn_dimension``). The gaps: the share of samples more than 3 std from
# every mode of the ring (the data themselves: about 1 %).
#
# A 1D curve is not even a stable compromise for the square: every curve has measure zero in it,
# so a discriminator can always separate it from the data (JSD = log 2 for every curve, Arjovsky
# & Bottou, 2017), and training drags it about without settling -- the grey lines in the figure
# are the same curve earlier in training.

# %%
limits = latent_limits.measure(settings, args.seed)
for run in limits.runs:
    print(run)
print(f"data: ring {100 * limits.ring_data_off_mode_fraction:.1f}% off every mode, square "
      f"intrinsic dimension {limits.square_data_dimension:.2f}")
figures = [chapter.show(latent_limits.figure(os.path.join(out, "latent_limits.png"), limits))]

# %% What was measured
numbers = {"limits": limits, "seconds": time.perf_counter() - start}
result = chapter.report(numbers, figures, args)
