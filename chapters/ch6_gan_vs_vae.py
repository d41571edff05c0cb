# %% [markdown]
# # Chapter 6, Q1 -- how do GANs differ from VAEs?
#
# Mirrors section 6 of the documents (附录常见问题与解答): 000 §6 ("what is the difference
# between a GAN and other generative models?"), 001 §6.1 and 004 §6.1. The documents answer in
# a sentence; here the answer is measured. Chapter 6 takes the FAQ's questions one file each:
#
#     ch6_gan_vs_vae.py      Q1  GAN vs VAE on the same data, with the same layers (this file)
#     ch6_compute_cost.py    Q2  how much compute a GAN needs
#     ch6_limits.py          Q3  what a GAN cannot generate
#     ch6_learning_rates.py  Q4  how to set the learning rates
#
# Both a GAN and a VAE are generators x = f(z) of noise z ~ N(0, I) built from the same layers;
# they differ in the signal that trains f. A GAN's generator G never sees a data point: it
# follows the gradient of a discriminator D trained to tell G(z) from data,
#
#     min_G max_D  E_x log D(x) + E_z log(1 - D(G(z))).
#
# A variational autoencoder (Kingma & Welling, 2014; ``minigan.vae``) adds an encoder
# q(z|x) = N(mu(x), diag exp(logvar(x))) and minimises, per data point, the negative ELBO
#
#     E_{z ~ q(z|x)} [-log p(x|z)] + KL(q(z|x) || N(0, I))   >=  -log p(x),
#
# a reconstruction error plus a pull of every code towards the prior.
#
# The default run trains a GAN and a VAE of the same widths for the same steps on two 2D
# mixtures (3,000 steps each) and on the built-in digits (2,000 steps each); the machinery is
# ``minigan.gan_vs_vae``: an estimated 1 minute on 2 cores (short runs scaled up); ``--quick``,
# a smoke test, took 9-20 s on 2 cores shared with other work.
#
# Run:  python chapters/ch6_gan_vs_vae.py [--quick] [--seed S] [--out DIR]

# %% Imports
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import gan_vs_vae as gv
from minigan.data import Grid, Ring

TITLE = "Chapter 6, Q1 -- how do GANs differ from VAEs? The same layers, data and steps"

# %% Settings: as a script, the command line; in a notebook, edit `notebook` ("" for the full run)
args = chapter.parse_args(chapter.make_parser(TITLE, "ch6_gan_vs_vae"), notebook="--quick")
settings = gv.QUICK if args.quick else gv.Settings()
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures
figures = []

# %% [markdown]
# ## The VAE's gradients, checked like every layer's
# ``VAE.forward(x)`` returns the decoder's output f, mu and logvar at one draw of
# eps ~ N(0, I), z = mu + exp(logvar / 2) eps; ``minigan.vae.negative_elbo`` is a loss of them
# (value and gradient); ``VAE.backward`` takes that gradient through the decoder, the
# reparameterisation (dz/dmu = 1, dz/dlogvar = (z - mu) / 2) and the encoder. In float64, with
# eps held fixed, each gradient is compared with centred finite differences
# (``minigan.gradcheck``): a correct derivation agrees to about 1e-9.

# %%
gradients = gv.vae_gradient_check(args.seed)
print(gradients)

# %% [markdown]
# ## GAN vs VAE on two 2D mixtures
# The 8-Gaussian ring and a 3 x 3 grid of Gaussians (std 0.05). The VAE's encoder has D's layers
# (two hidden layers of 128, 2 * 2 outputs), its decoder G's; both models train 3,000 steps of
# batch 256 with Adam(1e-3). Scored by ``minigan.metrics.mode_coverage``: a point within 3 std of
# a mode is "on" it. Measured (seed 0):
#   * The VAE reconstructs every mode -- its loss punishes each data point it cannot
#     reconstruct -- but its encoder puts the modes' codes in separate clusters, and the prior's
#     mass between the clusters decodes to points between the modes: few of its samples land on
#     a mode (8 % on the ring, 4 % on the grid).
#   * Most of the GAN's samples land on a mode (83 % on the ring, 67 % on the grid), joined by
#     thin bridges -- its generator is a continuous map too (Q3, ``ch6_limits.py``). No term of
#     its loss asks it to cover every mode, though; chapter 5 shows it dropping some.

# %%
ring = gv.compare_on_2d("ring", Ring(std=gv.TOY_STD), settings, args.seed)
grid = gv.compare_on_2d("grid", Grid(size=3, std=gv.TOY_STD), settings, args.seed + 1)
for run in (ring, grid):
    print(run)
figures.append(chapter.show(gv.figure_2d(os.path.join(out, "gan_vs_vae_2d.png"), [ring, grid])))

# %% [markdown]
# ## GAN vs VAE on digits
# Document 003's dense GAN (narrower: hidden widths 128 and 256) against a dense VAE of the same
# widths with a Bernoulli likelihood, 2,000 steps of batch 64 on 10,000 built-in digits. A digit
# classifier trained on the same digits scores each set of images: the Frechet distance (FD) of
# its features to 2,000 held-out digits (real digits: the floor), the inception score, the digits
# drawn, and the share of grey pixels (blur). In the full run the VAE's samples are blurred
# (more grey pixels) and the GAN's strokes crisper, with the smaller FD.
#
# 001 §6.1 says the other models "learn a representation or compression of the data" while a
# GAN learns the distribution: a VAE is a generative model of p(x) just as much -- its decoder is
# a generator fed with prior noise -- and the experiment draws new samples from both.

# %%
digits = gv.compare_on_digits(settings, args.seed)
print(digits)
figures.append(chapter.show(gv.figure_digits(os.path.join(out, "gan_vs_vae_digits.png"),
                                             digits)))

# %% What was measured
numbers = {"vae_gradients": gradients, "ring": ring, "grid": grid, "digits": digits,
           "digits_gan_seconds": digits.gan_seconds, "digits_vae_seconds": digits.vae_seconds,
           "seconds": time.perf_counter() - start}
result = chapter.report(numbers, figures, args)
