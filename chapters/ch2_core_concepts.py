# %% [markdown]
# # Chapter 2 -- core concepts: the two players, each player's loss, and the optimal discriminator.
#
# Mirrors section 2 of the documents (核心概念与联系): 000 §2, 001 §2.1-2.2, 002 §2, 003 §2.1,
# 004 §2.1-2.3.
#
# Run:  python chapters/ch2_core_concepts.py [--quick] [--seed S] [--out DIR]
# or open it as a notebook and run its cells in order (the settings cell takes the same options).
# %% Imports and constants
import os

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import two_players as tp
from minigan.data import Mixture1D

TITLE = ("Chapter 2 -- core concepts: the two players, each player's loss, and the optimal "
         "discriminator")
DATA_MEANS, DATA_STD = (-2.0, 2.0), 0.5       # p_data = 1/2 N(-2, 0.5^2) + 1/2 N(2, 0.5^2)
G_SCALE, G_SHIFT = 2.0, 0.3                   # the fixed generator x = 2 z + 0.3
BATCH_SIZE = 256
LR_D, FINAL_LR_D = 1e-2, 2e-5                 # Adam; constant for half the steps, then decayed
D_STEPS, QUICK_D_STEPS = 8000, 3000
LR_G, G_STEPS = 2e-2, 500                     # part 2: the generator alone
REPAIR_STEPS = 300                            # part 2: D trained again on the collapsed G
# D (tp.build_discriminator): two tanh layers of 32 units; densities and D(x) on a grid of
# bins 0.005 wide over [-7, 7] (tp.X)


# %% [markdown]
# The players. The generator G maps noise z ~ p_z to a sample x = G(z); the samples have a density
# p_g. The discriminator D maps a sample x to D(x) in (0, 1), its belief that x is real. Here D is
# a network whose last layer outputs a logit l, and D(x) = sigmoid(l).
#
# The discriminator's loss is binary cross-entropy with label 1 for data and 0 for samples of G:
#
#     L_D = -E_{x ~ p_data} log D(x) - E_{z ~ p_z} log(1 - D(G(z))) = -V(D, G).
#
# For a fixed G, minimising it pointwise gives (Proposition 1 of Goodfellow et al., 2014)
#
#     D*(x) = p_data(x) / (p_data(x) + p_g(x)),
#     min_D L_D = -V(D*, G) = log 4 - 2 JSD(p_data || p_g).

# %% Settings: as a script, the command line; in a notebook, `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch2_core_concepts")
parser.add_argument("--d-steps", type=chapter.positive_int, default=None,
                    help=f"discriminator steps in part 1 (default {D_STEPS}, "
                         f"{QUICK_D_STEPS} with --quick)")
parser.add_argument("--g-steps", type=chapter.positive_int, default=G_STEPS,
                    help=f"generator steps in part 2 (default {G_STEPS})")
args = chapter.parse_args(parser, notebook="--quick")
d_steps = args.d_steps or (QUICK_D_STEPS if args.quick else D_STEPS)
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures
data = Mixture1D(DATA_MEANS, (DATA_STD, DATA_STD))


# %% [markdown]
# Part 1 trains D alone against a fixed, hand-set generator (x = 2 z + 0.3, so p_g = N(0.3, 2^2)
# exactly) and a two-mode data distribution, and measures max |D(x) - D*(x)| over the interval
# holding 99% of the mass of (p_data + p_g) / 2: below 0.05. Its loss settles at log 4 - 2 JSD.

# %% Part 1: D alone against a fixed generator -> D* (minigan.two_players.d_alone)
G = tp.affine_generator(G_SCALE, G_SHIFT)
D = tp.build_discriminator()
part1 = tp.d_alone(G, D, data, d_steps, BATCH_SIZE, LR_D, FINAL_LR_D)
print(f"part 1: D trained alone for {d_steps} steps against G(z) = {G_SCALE} z + {G_SHIFT}")
print(f"  max |D - D*| on [{part1.lo:.2f}, {part1.hi:.2f}] (99% of the mass): "
      f"{part1.d_error:.4f}")
print(f"  D loss (mean of the last 10%) {part1.d_loss_end:.4f}; its minimum "
      f"log 4 - 2 JSD = {part1.d_loss_min:.4f}")

# %% D against D*, and D's loss settling at log 4 - 2 JSD
figures = [chapter.show(tp.d_star_figure(os.path.join(out, "d_star.png"), part1))]


# %% [markdown]
# The generator's loss is -E_z log D(G(z)) (the non-saturating form; the minimax form is
# E_z log(1 - D(G(z))), see chapter 3). Part 2 trains G alone against the fixed, trained D: every
# sample is pushed uphill on D, so all of them run to the point where D is largest -- p_g collapses
# onto one mode, and JSD(p_data || p_g) gets WORSE. D(G(z)) is high, so G "wins" -- until D is
# trained again and rejects the collapsed samples. Neither player can be trained alone: the game
# needs the alternation of Algorithm 1 (chapter 3).

# %% Part 2: G alone against the fixed, trained D -> collapse onto D's peak
part2 = tp.g_alone(G, D, data, part1, args.g_steps, BATCH_SIZE, LR_G)
print(f"part 2: G trained alone for {args.g_steps} steps against that D")
print(f"  p_g: N({G_SHIFT}, {G_SCALE}^2) -> N({part2.mean:.3f}, {part2.std:.4f}^2); "
      f"D is largest at x = {part2.d_peak:.3f}")
print(f"  JSD(p_data || p_g): {part1.jsd:.4f} -> {part2.jsd:.4f}; "
      f"mean D(G(z)) = {part2.d_fake:.3f}")

# %% ... and D, trained again, rejects the collapsed samples
part3 = tp.d_again(G, D, data, part2, REPAIR_STEPS, BATCH_SIZE, LR_D / 3)
print(f"  after {REPAIR_STEPS} more D steps: mean D(G(z)) = {part3.d_fake:.3f}")
figures.append(chapter.show(tp.g_alone_figure(os.path.join(out, "generator_alone.png"), part1,
                                              part2, part3)))


# %% [markdown]
# Errata in the documents, corrected here:
#   * 004 §2.1: "the generator's output is the product of a noise matrix and an image-feature
#     matrix" -- the output is G(z), a learned nonlinear function of the noise, not a product.
#   * 004 §3.3: "G(z) = D(G(z))" and "D(x) = G(z)" -- G maps noise to samples and D maps samples to
#     a probability; the losses compare D's outputs on real and generated samples.
#   * 000 §3: "the generator's loss is the discriminator's output" -- it is log(1 - D(G(z)))
#     (minimax) or -log D(G(z)) (non-saturating), a function of D's output on the fakes.
#   * 001 §2.1 and 004 §2.2 describe D's input as "the generated and the real data" together: D
#     sees one sample at a time and outputs one probability for it; real and generated batches
#     enter its loss with different labels.

# %% What was measured
numbers = {
    "d_steps": d_steps,
    "max_abs_d_minus_d_star": part1.d_error,
    "region_lo": part1.lo, "region_hi": part1.hi,
    "d_loss_end": part1.d_loss_end, "d_loss_min": part1.d_loss_min,
    "jsd_before": part1.jsd, "jsd_after_g_alone": part2.jsd,
    "g_mean_after": part2.mean, "g_std_after": part2.std, "d_peak": part2.d_peak,
    "d_fake_after_g_alone": part2.d_fake, "d_fake_after_d_retrained": part3.d_fake,
}
result = chapter.report(numbers, figures, args)
