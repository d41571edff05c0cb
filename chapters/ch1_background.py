# %% [markdown]
# # Chapter 1 -- background: noise in, samples out. What "learning a distribution" means.
#
# Mirrors section 1 of the documents (背景介绍): 000 §1, 001 §1, 002 §1, 003 §1, 004 §1.
#
# Run:  python chapters/ch1_background.py [--quick] [--seed S] [--samples N] [--out DIR]
# or open it as a notebook and run its cells in order (the settings cell takes the same options).
# %% Imports and constants
import os

import numpy as np

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import noise_to_samples as nts
from minigan.data import Gaussian1D, Mixture1D

TITLE = "Chapter 1 -- background: noise in, samples out. What \"learning a distribution\" means."
GAUSSIAN = (3.0, 0.5)                     # target of generators 1 and 2: N(3, 0.5^2)
MIXTURE_MEANS, MIXTURE_STD = (-2.0, 2.0), 0.5
SAMPLES, QUICK_SAMPLES = 100_000, 20_000
DX = 0.01
X_EDGES = np.arange(-5.0, 6.0 + DX / 2, DX)

#: (year, what, who, the documents' erratum or "") -- printed below
HISTORY = [
    ("2014", "generative adversarial nets", "Goodfellow et al., NeurIPS 2014", ""),
    ("2014", "conditional GANs", "Mirza & Osindero, arXiv 2014",
     '000 §1 says "2016, Justin Johnson et al."'),
    ("2015", "DCGAN", "Radford, Metz & Chintala, arXiv 2015 / ICLR 2016", '000 §1 says "2017"'),
    ("2017", "WGAN; LSGAN", "Arjovsky, Chintala & Bottou; Mao et al.", ""),
    ("2018", "BigGAN", "Brock, Donahue & Simonyan, arXiv 2018 / ICLR 2019",
     '000 §1 says "2017, Radford et al."'),
]


# %% [markdown]
# History, with the errata of document 000 §1 corrected:
#   2014  Generative adversarial nets -- Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair,
#         Courville, Bengio (NeurIPS 2014).
#   2014  Conditional GANs -- Mirza & Osindero, "Conditional Generative Adversarial Nets" (arXiv
#         2014). [000 §1: "2016, Justin Johnson et al." -- wrong year and authors.]
#   2015  DCGAN -- Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep
#         Convolutional GANs" (arXiv 2015, ICLR 2016). [000 §1: "2017".]
#   2017  WGAN -- Arjovsky, Chintala & Bottou; LSGAN -- Mao et al.
#   2018  BigGAN -- Brock, Donahue & Simonyan, "Large Scale GAN Training for High Fidelity Natural
#         Image Synthesis" (arXiv 2018, ICLR 2019). [000 §1 puts it with DCGAN in "2017", by
#         Radford et al. -- wrong year and authors.]
# Other claims of section 1 worth a caveat: GANs are not limited to images (000, 004), but their
# best-known successes are images; text, being discrete, does not pass gradients through sampling
# (chapter 6).

# %% [markdown]
# A generative model is something we can SAMPLE from. A GAN's generator is a plain function
# G: R^d -> R^n. Feed it noise z ~ p_z (a standard normal here) and its outputs x = G(z) are samples
# of a new distribution p_g, the push-forward of p_z through G:
#
#     P(G(z) in A) = P(z in G^{-1}(A)),
#     p_g(x) = p_z(G^{-1}(x)) / |G'(G^{-1}(x))|          (1D, G monotone: change of variables)
#     p_g(x) = sum over z with G(z) = x of p_z(z) / |G'(z)|   (1D, in general)
#
# Nobody writes p_g down: a GAN only ever draws samples from it. "Learning a distribution" means
# choosing G's parameters so that p_g is close to p_data -- close as measured by a divergence such
# as the Jensen-Shannon divergence JSD(p_data || p_g) (0 when p_g = p_data; log 2 = 0.693 when the
# two do not overlap at all). Chapter 3 shows that the GAN game minimises exactly this JSD.

# %% [markdown]
# This chapter computes p_g of three generators built from minigan layers (as a quadrature over a
# fine grid of z values) and checks them against their targets:
#
#   1. an untrained network Dense(1->16) -> tanh -> Dense(16->1): random weights give some
#      distribution, nothing like the data (JSD near log 2);
#   2. a hand-set affine generator G(z) = 0.5 z + 3 (one Dense(1->1) layer): p_g = N(3, 0.5^2)
#      exactly -- the target, JSD ~ 0;
#   3. a hand-set two-layer generator with 2D noise, Dense(2->2) -> tanh -> Dense(2->1), whose
#      weights make x = 2 tanh(50 z1) + 0.5 z2 (approximately): a steep tanh turns the sign of z1
#      into the choice of a mode, z2 gives the spread -- a two-mode mixture from a single network.

# %% Settings: as a script, the command line; in a notebook, `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch1_background")
parser.add_argument("--samples", type=chapter.positive_int, default=None,
                    help=f"samples drawn from each generator (default {SAMPLES}, "
                         f"{QUICK_SAMPLES} with --quick)")
args = chapter.parse_args(parser, notebook="--quick")
samples = args.samples or (QUICK_SAMPLES if args.quick else SAMPLES)
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures

# %% A short history (corrected where document 000 §1 errs)
for year, what, who, erratum in HISTORY:
    print(f"  {year}  {what:<28} {who}" + (f"   [erratum: {erratum}]" if erratum else ""))

# %% The three generators, measured: p_g by quadrature, the JSD to the target, drawn samples
gaussian = Gaussian1D(*GAUSSIAN)
mixture = Mixture1D(MIXTURE_MEANS, (MIXTURE_STD, MIXTURE_STD))
generators = [
    ("untrained network", nts.untrained_generator(), 1),
    ("hand-set affine: 0.5 z + 3", nts.affine_generator(*GAUSSIAN), 1),
    ("hand-set two-layer, 2D noise", nts.two_mode_generator(MIXTURE_MEANS, MIXTURE_STD), 2),
]
targets = [gaussian, gaussian, mixture]
results = [nts.describe(name, G, latent_dim, target, samples, X_EDGES)
           for (name, G, latent_dim), target in zip(generators, targets)]
for r in results:
    print(r.describe())

# %% The push-forward, drawn: densities, sample histograms, and z -> G(z)
figures = [chapter.show(nts.figure(
    os.path.join(out, "noise_to_samples.png"), generators, results, X_EDGES,
    "noise in, samples out: three generators and the distributions they define"))]


# %% [markdown]
# Training replaces "hand-set" by "found by gradient descent", and the data's density is never
# needed -- only samples of it (chapters 2 and 3).

# %% What was measured
untrained, affine, two_layer = results
numbers = {"samples": samples, "untrained": untrained, "affine": affine, "two_layer": two_layer}
result = chapter.report(numbers, figures, args)
