# %% [markdown]
# # Chapter 6, FAQ -- What do my losses mean?
#
# The question learners ask most about a running GAN: D's loss went to 0 -- is that good? G's
# loss is 0 -- why? The losses swing -- is it broken? (soumith/ganhacks issues 14, 29, 32 and
# 36; Keras-GAN issues 145, 172, 175 and 227, on what a WGAN critic's loss says.) A GAN's
# losses do not fall to zero when training goes well: the two players pull against each other,
# and what the numbers mean follows from the theory of the earlier chapters.
#
# This FAQ entry (section 6 of the documents, 附录常见问题与解答) answers it with
# experiments.
# ``minigan.diagnosis`` reads a run's history -- D's loss, G's loss, D(x) = mean D on the data
# and D(G(z)) = mean D on the samples, per iteration -- over a recent window, with medians, and
# names the regime the run is in, the numbers it rests on and the thresholds they were compared
# with, what to try, and the chapter that shows why. ``GAN.train(..., log_every=n)`` prints it
# whenever it changes (``diagnose=False`` turns it off), and a summary at the end.
#
# Here each regime is caused on purpose on chapter 3's toy problem (p_data = N(3, 0.5^2), G and
# D small tanh networks): a healthy run, a too-strong D, the saturating loss, a too-high rate,
# a collapsing generator. Each run is diagnosed twice: from its numbers alone (what training
# prints) and with 1,000 samples against 1,000 data points (the mode-collapse check). The
# figure draws each run's curves with the diagnosis of the history so far as the background.
#
# Run:  python chapters/ch6_losses.py [--quick] [--seeds N] [--seed S] [--out DIR]
# ``--quick`` is a smoke test: every experiment once, from --seed (5 s, measured on 2 cores).
# The default (full) run also repeats every experiment over --seeds seeds (default 5: 30 runs,
# 33 s measured on 2 cores shared with other work) and counts how often each is diagnosed as
# intended (``minigan.diagnosis.regime_study``).

# %% Imports and constants
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import diagnosis as dg

TITLE = "Chapter 6, FAQ -- What do my losses mean? A run diagnosed from its own numbers"

# %% Settings: as a script, the command line; in a notebook, `notebook` ("" for the full run)
parser = chapter.make_parser(TITLE, "ch6_losses")
parser.add_argument("--seeds", type=chapter.positive_int, default=None,
                    help=f"seeds per experiment for the tally (default {dg.STUDY_SEEDS}; "
                         f"1 with --quick)")
args = chapter.parse_args(parser, notebook="--quick")
out = chapter.start(args)
num_seeds = args.seeds or (1 if args.quick else dg.STUDY_SEEDS)
start = time.perf_counter()
runs = {}
if args.quick:
    print("--quick: a smoke test -- every experiment once, from --seed; the full run also "
          f"tallies each over {dg.STUDY_SEEDS} seeds")

# %% [markdown]
# ## A healthy run: the numbers of Theorem 1
# Chapter 3, Proposition 1: for a fixed G the best D is D*(x) = p_data(x) / (p_data(x) +
# p_g(x)). Theorem 1: at the game's solution p_g = p_data, so D* = 1/2 everywhere, and D's loss
# -E log D(x) - E log(1 - D(G(z))) is -2 log(1/2) = log 4 = 1.386 (V(D*, G) = -log 4). The
# non-saturating G's loss -E log D(G(z)) is then log 2 = 0.693. So a GAN that has learnt its
# data does not show losses near 0: it shows D(x) ~ D(G(z)) ~ 1/2 and D's loss ~ log 4 --
# "near equilibrium". The same numbers come from a D that has stopped learning, which is why
# the samples are checked too.

# %%
runs["healthy"] = dg.cause("healthy", args.seed)
print(dg.describe(runs["healthy"]), end="\n\n")

# %% [markdown]
# ## A too-strong D, and the saturating loss: "D's loss is 0"
# When D separates the two perfectly, D(x) -> 1 and D(G(z)) -> 0, D's loss -> 0. Chapter 5's
# saturation study shows what that does to G. With the minimax game's saturating loss
# log(1 - D(G(z))), G's gradient with respect to D's logit is D(G(z)) per sample: it vanishes
# as D(G(z)) -> 0, and G's loss reads ~0 -- d2l's "why is my loss of generator 0?". The
# non-saturating loss -log D(G(z)) has gradient 1 - D(G(z)), largest exactly there, so G still
# learns -- unless D is simply too strong for it. First a D twice as wide, 2.5x faster, and a G
# 20x slower; then a D trained alone until it rejects G, followed by plain SGD on the minimax
# game, and the same start with the non-saturating loss.

# %%
for name in ("strong-d", "saturating", "non-saturating"):
    runs[name] = dg.cause(name, args.seed)
    print(dg.describe(runs[name]), end="\n\n")

# %% [markdown]
# From the same rejected start, the non-saturating G escapes (D's numbers return to 1/2) --
# and its samples show what the numbers cannot: with plain SGD the generator has narrowed to
# a spike under the data's mode. D(x) ~ D(G(z)) ~ 1/2 only says D cannot tell the two apart
# *where it looks*.

# %% [markdown]
# ## A too-high rate: the losses swing
# Gradient play does not descend to a saddle point, it rotates around it: chapter 5's
# Dirac-GAN circles its equilibrium, and spirals out when the steps are too large. In a real
# run this shows as a period in the losses. Here Adam's rate is 2.5x the healthy one and
# beta1 is 0.9 (Radford et al., 2015, saw oscillation at 0.9 and chose 0.5): the momentum
# carries each player past the other. The diagnosis removes the window's linear trend and looks
# for an autocorrelation peak (three periods at least, and a swing above 2 % of log 4).

# %%
runs["high-rate"] = dg.cause("high-rate", args.seed)
print(dg.describe(runs["high-rate"]), end="\n\n")

# %% [markdown]
# ## A collapsing generator: calm losses, few samples
# Chapter 2 trained G alone against a fixed D: G ran to D's peak and collapsed there. Here G
# takes 10x larger steps than D (k = 1): G keeps jumping to wherever D is highest before D can
# reshape itself, and ends as a narrow spike that D can no longer tell from the data *there*.
# D's numbers sit at 1/2 -- they look exactly like equilibrium. Only the samples tell: their
# spread (sqrt of the trace of the covariance) against the data's, and how much of the data
# they cover (coverage, Naeem et al. 2020) while lying on it (precision). Chapter 5's second
# study measures collapse on the 8-Gaussian ring and its remedies.

# %%
runs["collapsing"] = dg.cause("collapsing", args.seed)
print(dg.describe(runs["collapsing"]), end="\n\n")

# %% [markdown]
# ## The curves, with the diagnosis marked
# Left: the losses; right: D(x) and D(G(z)). The background is the diagnosis of the history up
# to each point (every 50 iterations), as the training loop would print it; the title on the
# right is the final verdict with the samples. Below them, each run's samples against p_data:
# the runs whose numbers read "near equilibrium" but whose samples are a spike.

# %%
figures = [chapter.show(dg.figure(os.path.join(out, "regimes.png"), runs.values(),
                                  title=chapter.title(args, "What do my losses mean? Each "
                                                            "regime caused on purpose"))),
           chapter.show(dg.samples_figure(os.path.join(out, "samples.png"), runs.values()))]

# %% [markdown]
# ## Wasserstein and hinge: what a critic's numbers mean instead
# A Wasserstein critic's output is no probability and has no 1/2: D's loss mean f(G(z)) -
# mean f(x) is minus the critic's estimate of W(p_data, p_g) (times its Lipschitz constant), so
# it should *rise towards 0* as G learns, and its level means nothing by itself (G's loss
# -mean f(G(z)) even less: f can shift). A critic that separates the samples is no failure --
# its gradient does not saturate -- but outputs that keep growing mean the critic is not held
# Lipschitz (clip its weights or normalise it). Hinge has margins: D's loss is 2 at equilibrium
# (outputs 0) and 0 when D puts the data beyond +1 and the samples beyond -1. The tests feed
# ``diagnose`` made-up histories of each; here one of each, read aloud.

# %%
for label, verdict in dg.critic_examples().items():
    print(f"[{label}] {verdict}", end="\n\n")

# %% [markdown]
# ## How reliable is each verdict? (the full run: every experiment over several seeds)
# A diagnosis is a rule of thumb with thresholds (``minigan.diagnosis``, each with its reason).
# The full run repeats each experiment from --seeds seeds and counts how often the numbers
# alone, and the numbers with samples, give the intended verdict. Measured with the default
# (seeds 0-4): every experiment as intended in 5 of 5 seeds, both ways.

# %%
study = dg.regime_study(args.seed, num_seeds, runs=runs)
print(dg.describe_study(study))

# %% What was measured
numbers = {
    "seeds": len(study.seeds),
    "regime": {name: row.regime for name, row in study.rows.items()},
    "regime_with_samples": {name: row.regime_with_samples for name, row in study.rows.items()},
    "as_intended": {name: row.tally() for name, row in study.rows.items()},
    "every_seed_as_intended": chapter.judge(args, study.always_as_intended),
    "saturating_d_fake": study.saturating_d_fake,
    "high_rate_period": study.high_rate_period,
    "collapsing_spread_ratio": study.collapsing_spread_ratio,
    "healthy_alarms": study.healthy_alarms,
    "critic_examples": study.critic_examples,
    "seconds": time.perf_counter() - start,
}
result = chapter.report(numbers, figures, args)
