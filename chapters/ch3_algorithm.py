# %% [markdown]
# # Chapter 3 -- the algorithm and its mathematics: min_G max_D V(D, G), Algorithm 1, Theorem 1.
#
# Mirrors section 3 of the documents (核心算法原理和具体操作步骤以及数学模型公式详细讲解): 000 §3,
# 001 §3.1-3.3, 002 §2-§4 (the minimax formula and the five-step procedure), 003 §3.1-3.3,
# 004 §3.1-3.3.
#
# Run:  python chapters/ch3_algorithm.py [--quick] [--seed S] [--iterations N] [--out DIR]
# or open it as a notebook and run its cells in order (the settings cell takes the same options).
# %% Imports and constants
import math
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import plot, saturation
from minigan import theorem1 as t1
from minigan.data import Gaussian1D
from minigan.densities import latent_quadrature
from minigan.gan import GAN

TITLE = ("Chapter 3 -- the algorithm and its mathematics: min_G max_D V(D, G), Algorithm 1, "
         "Theorem 1")
DATA_MEAN, DATA_STD = 3.0, 0.5          # p_data = N(3, 0.5^2)
BATCH_SIZE = 256                        # m
D_STEPS = 5                             # k
LR, FINAL_LR = 2e-3, 2e-5               # Adam; constant for the first half, then decayed
ITERATIONS, QUICK_ITERATIONS = 3000, 1000
FIGURE1_ITERATION = 300                 # the "(a) near convergence" state of Figure 1
FIGURE1_D_STEPS, FIGURE1_G_STEPS = 300, 10   # panel (b): D alone; panel (c): G alone
SATURATION_D_STEPS = 200                # D trained alone against the initial G
# G, D (t1.build_generator, t1.build_discriminator): tanh networks of 32 and 16 hidden units;
# densities and integrals on a grid of bins 0.01 wide (t1.DX)


# %% [markdown]
# The game. A generator G pushes noise z ~ p_z forward to samples x = G(z) with density p_g; a
# discriminator D(x) in (0, 1) is the probability that x came from the data. The value
#
#     V(D, G) = E_{x ~ p_data} [log D(x)] + E_{z ~ p_z} [log(1 - D(G(z)))]
#
# is maximised by D and minimised by G:  min_G max_D V(D, G).
#
# Proposition 1 (the optimal discriminator). For a fixed G the integrand
# p_data(x) log D + p_g(x) log(1 - D) is maximised pointwise by
#
#     D*(x) = p_data(x) / (p_data(x) + p_g(x)).
#
# Theorem 1 (what G minimises). Substituting D* gives the generator's criterion
#
#     C(G) = V(D*, G) = -log 4 + 2 JSD(p_data || p_g),
#     JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m),  m = (p + q) / 2,
#
# so C(G) >= -log 4, with equality exactly when p_g = p_data (then D* = 1/2 everywhere).
# This chapter checks it numerically: p_g is computed as the push-forward of p_z through the
# trained network (a quadrature over 50 000 values of z), V(D*, G) is integrated directly (the
# data term over x, the generator term over z), the JSD is integrated separately
# (``minigan.metrics.jensen_shannon``), and the two sides agree to 1e-3 at every checkpoint --
# in fact to round-off: on a grid the identity holds term by term once both densities carry
# unit mass, so the check confirms the algebra of Theorem 1 and that the quadrature keeps all of
# p_g's mass. Alongside, V(D, G) with the trained D stays below V(D*, G) (Proposition 1).

# %% Settings: as a script, the command line; in a notebook, `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch3_algorithm")
parser.add_argument("--iterations", type=chapter.positive_int, default=None,
                    help=f"generator steps (default {ITERATIONS}, {QUICK_ITERATIONS} with --quick)")
args = chapter.parse_args(parser, notebook="--quick")
iterations = args.iterations or (QUICK_ITERATIONS if args.quick else ITERATIONS)
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures


# %% [markdown]
# Algorithm 1 (Goodfellow et al., 2014): each iteration takes k discriminator steps -- a minibatch
# of m real points and m noise samples, ascend 1/m sum [log D(x) + log(1 - D(G(z)))] -- and then
# one generator step on fresh noise. ``minigan.gan.GAN`` is that loop. Here k = 5: with D close to
# D* the generator follows the gradient of the JSD (Theorem 1) instead of circling the equilibrium.

# %% Algorithm 1, measured at checkpoints (minigan.theorem1.measure, by a Recorder)
data = Gaussian1D(DATA_MEAN, DATA_STD)
G, D = t1.build_generator(), t1.build_discriminator()
gan = GAN(G, D, data.sample, latent_dim=1, noise="normal", objective="non-saturating",
          d_steps=D_STEPS, batch_size=BATCH_SIZE, lr_g=LR, lr_d=LR)
quadrature = latent_quadrature("normal", 1)
checkpoints = sorted({c for c in (0, 10, 50, 100, FIGURE1_ITERATION, 500, iterations // 4,
                                  iterations // 2, iterations) if c <= iterations})
recorder = t1.Recorder(G, D, data, quadrature, checkpoints,      # measurements, model copies,
                       frame_every=max(1, iterations // (8 if args.quick else 30)))  # frames
recorder(gan)
train_start = time.perf_counter()
gan.train(iterations, callbacks=[t1.lr_schedule(iterations, LR, FINAL_LR), recorder],
          log_every=max(1, iterations // 5))
train_seconds = time.perf_counter() - train_start
states, models = recorder.states, recorder.models
final = states[iterations]

# %% Theorem 1 at every checkpoint
print(t1.checkpoint_table(states))

# %% Figure 1, (a)-(d): a state near convergence, D trained towards D*, G updated, the end
it_a = min(FIGURE1_ITERATION, iterations)
G_a, D_a = models[it_a]
steps = t1.figure1_steps(G_a, D_a, data, quadrature, FIGURE1_D_STEPS, FIGURE1_G_STEPS,
                         BATCH_SIZE, LR)
figures = [chapter.show(plot.figure_1d(os.path.join(out, "figure1.png"), [
    t1.panel(states[it_a], G_a, data, f"(a) iteration {it_a}"),
    t1.panel(steps.d_trained, G_a, data, "(b) D trained towards D*", with_d_star=True),
    t1.panel(steps.g_updated, steps.generator, data, f"(c) after {FIGURE1_G_STEPS} G steps"),
    t1.panel(final, G, data, f"(d) iteration {iterations}")],
    title="Goodfellow et al. (2014), Figure 1, redrawn with this chapter's networks",
    ymax=t1.YMAX))]

# %% Four chosen iterations, the Theorem-1 curve, the losses, and an animation
shown = sorted({0, min(50, iterations), min(100, iterations), iterations})
figures.append(chapter.show(plot.figure_1d(
    os.path.join(out, "training_panels.png"),
    [t1.panel(states[it], models[it][0], data, f"iteration {it}") for it in shown],
    title="p_data, p_g and D(x) during training", ymax=t1.YMAX)))
figures.append(chapter.show(t1.theorem1_figure(os.path.join(out, "theorem1.png"), states)))
figures.append(chapter.show(plot.history(
    os.path.join(out, "history.png"), gan.history,
    title=f"Algorithm 1 on N({DATA_MEAN:g}, {DATA_STD:g}^2), k = {D_STEPS}")))
figures.append(chapter.show(t1.training_gif(os.path.join(out, "training.gif"), recorder.frames,
                                            data, fps=3 if args.quick else 6)))


# %% [markdown]
# Two generator losses. The minimax game has G minimise log(1 - D(G(z))) ("saturating"): its
# gradient with respect to D's logit l is -D(G(z)), which vanishes when D confidently rejects the
# fakes -- exactly the situation at the start of training. The paper's remedy, G maximising
# log D(G(z)) ("non-saturating"), has the same fixed point and gradient -(1 - D(G(z))) there.

# %% Saturating vs non-saturating generator loss (minigan.saturation, shared with chapter 5)
G0 = t1.clone(t1.build_generator, models[0][0])
D0 = t1.clone(t1.build_discriminator, models[0][1])
rejection = saturation.reject(G0, D0, data.sample, d_steps=SATURATION_D_STEPS,  # D alone
                              batch_size=BATCH_SIZE, lr=LR, probe_every=SATURATION_D_STEPS)
figures.append(chapter.show(saturation.losses_figure(
    os.path.join(out, "generator_losses.png"), rejection,
    chapter.title(args, "The two generator losses, and where a D trained against the initial G "
                        "puts the fakes"))))
grad_at_0_01 = {name: float(saturation.per_sample_gradient([0.01], name)[0])
                for name in saturation.LOSSES}


# %% [markdown]
# Errata in the documents, corrected here:
#   * 001 §3.2 writes the generator's step as max_G V(D, G): the generator MINIMISES V (in practice
#     it maximises log D(G(z)), the non-saturating loss); 001 §3.3's min_D of -V is the same as
#     max_D V and is right.
#   * 002 §3 lists the generator's update before the discriminator's; Algorithm 1 first takes k
#     discriminator steps, then one generator step (002 §4's code updates both at once).
#   * 003 §3.3 calls training "maximising the maximum entropy": the game minimises the
#     Jensen-Shannon divergence between p_data and p_g (Theorem 1); no entropy is maximised.
#   * 004 §3.3 writes "G(z) = D(G(z))" and "D(x) = G(z)": G maps noise to samples, D maps samples
#     to a probability; neither equals the other. Its "max_D min_G" swaps the order of the game.

# %% What was measured
numbers = {
    "iterations": iterations,
    "train_seconds": train_seconds,
    "seconds": time.perf_counter() - start,
    "data_mean": DATA_MEAN, "data_std": DATA_STD,
    "final_mean": final.mean, "final_std": final.std,
    "mean_rel_error": abs(final.mean - DATA_MEAN) / DATA_MEAN,
    "std_rel_error": abs(final.std - DATA_STD) / DATA_STD,
    "final_v_star": final.v_star, "final_jsd": final.jsd,
    "minus_log4": -math.log(4),
    "max_theorem1_gap": max(s.gap for s in states.values()),
    "max_v_trained_excess": max(s.v_trained - s.v_star for s in states.values()),
    "grad_saturating_at_0.01": grad_at_0_01["minimax"],
    "grad_nonsaturating_at_0.01": grad_at_0_01["non-saturating"],
    "initial_d_fake": rejection.d_fake_end,
    "g_grad_norm_saturating": float(rejection.norms["minimax"][-1]),
    "g_grad_norm_nonsaturating": float(rejection.norms["non-saturating"][-1]),
}
result = chapter.report(numbers, figures, args)
result["checkpoints"] = {it: s.cited() for it, s in states.items()}
