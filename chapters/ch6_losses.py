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
# ``--quick`` is a smoke test: every experiment once, from --seed (seconds). The full run also
# repeats every experiment over --seeds seeds (default 5) and counts how often each is
# diagnosed as intended.

# %% Imports and constants
import os
import time

from minigan import chapter
from minigan import diagnosis as dg

TITLE = "Chapter 6, FAQ -- What do my losses mean? A run diagnosed from its own numbers"
DEFAULT_SEEDS = 5


def show_run(run):
    """Print what was done and what the diagnosis says, from the numbers and with samples."""
    print(f"\n[{run['name']}] {run['experiment'].cause}")
    print(f"from the numbers alone: {run['diagnosis']}")
    if run["with_samples"].regime != run["diagnosis"].regime:
        print(f"with samples against data: {run['with_samples']}")


# %% Settings: as a script, the command line; in a notebook, edit `notebook` (e.g. "--quick")
parser = chapter.make_parser(TITLE, "ch6_losses")
parser.add_argument("--seeds", type=chapter.positive_int, default=None,
                    help=f"seeds per experiment for the tally (default {DEFAULT_SEEDS}; "
                         f"1 with --quick)")
args = chapter.parse_args(parser, notebook="--quick")
out = chapter.start(args)
num_seeds = args.seeds or (1 if args.quick else DEFAULT_SEEDS)
start = time.perf_counter()
runs = {}
if args.quick:
    print("--quick: a smoke test -- every experiment once, from --seed; the full run also "
          f"tallies each over {DEFAULT_SEEDS} seeds")

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
show_run(runs["healthy"])

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
    show_run(runs[name])

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
show_run(runs["high-rate"])

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
show_run(runs["collapsing"])

# %% [markdown]
# ## The curves, with the diagnosis marked
# Left: the losses; right: D(x) and D(G(z)). The background is the diagnosis of the history up
# to each point (every 50 iterations), as the training loop would print it; the title on the
# right is the final verdict with the samples. Below them, each run's samples against p_data:
# the runs whose numbers read "near equilibrium" but whose samples are a spike.

# %%
figures = [chapter.show(dg.figure(os.path.join(out, "regimes.png"), runs.values(),
                                  title="What do my losses mean? Each regime caused on purpose")),
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
critic_examples = {
    "wasserstein, estimate falling from 2 to 0.2": dg.diagnose(
        {"d_real": [0.1 + 0.9 * 0.99 ** i for i in range(600)],
         "d_fake": [-0.1 - 0.9 * 0.99 ** i for i in range(600)],
         "d_loss": [-0.2 - 1.8 * 0.99 ** i for i in range(600)],
         "g_loss": [0.1 + 0.9 * 0.99 ** i for i in range(600)]}, "wasserstein"),
    "wasserstein, critic growing with its weights": dg.diagnose(
        {"d_real": [1 + i for i in range(600)], "d_fake": [-1 - i for i in range(600)],
         "d_loss": [-2 - 2 * i for i in range(600)], "g_loss": [1 + i for i in range(600)]},
        "wasserstein"),
    "hinge, D beyond both margins": dg.diagnose(
        {"d_real": [1.5] * 600, "d_fake": [-1.5] * 600, "d_loss": [0.05] * 600,
         "g_loss": [1.5] * 600}, "hinge"),
}
for label, verdict in critic_examples.items():
    print(f"\n[{label}] {verdict}")

# %% [markdown]
# ## How reliable is each verdict? (the full run: every experiment over several seeds)
# A diagnosis is a rule of thumb with thresholds (``minigan.diagnosis``, each with its reason).
# The full run repeats each experiment from --seeds seeds and counts how often the numbers
# alone, and the numbers with samples, give the intended verdict.

# %%
tally = {}
for name in dg.EXPERIMENTS:
    if name not in runs:
        runs[name] = dg.cause(name, args.seed)
    verdicts = [(runs[name]["diagnosis"].regime, runs[name]["with_samples"].regime)]
    for seed in range(args.seed + 1, args.seed + num_seeds):
        run = dg.cause(name, seed)
        verdicts.append((run["diagnosis"].regime, run["with_samples"].regime))
    e = dg.EXPERIMENTS[name]
    tally[name] = (sum(v[0] == e.expected for v in verdicts),
                   sum(v[1] == e.expected_with_samples for v in verdicts), len(verdicts))
print(f"\n{'experiment':<16} {'numbers alone':<34} {'with samples':<34}")
for name, (alone, with_samples, total) in tally.items():
    e = dg.EXPERIMENTS[name]
    print(f"{name:<16} {dg.TITLES[e.expected] + f' {alone}/{total}':<34} "
          f"{dg.TITLES[e.expected_with_samples] + f' {with_samples}/{total}':<34}")

# %% What was measured
numbers = {"seeds": num_seeds}
for name, run in runs.items():
    numbers[f"{name}_regime"] = run["diagnosis"].regime
    numbers[f"{name}_with_samples"] = run["with_samples"].regime
    numbers[f"{name}_as_intended"] = f"{tally[name][0]}/{tally[name][2]} alone, " \
                                     f"{tally[name][1]}/{tally[name][2]} with samples"
numbers["saturating_d_fake"] = runs["saturating"]["diagnosis"].evidence[0].value
numbers["high-rate_period"] = runs["high-rate"]["diagnosis"].evidence[0].value
numbers["collapsing_spread_ratio"] = dg.sample_statistics(runs["collapsing"]["samples"],
                                                          runs["collapsing"]["data"])[
    "spread_ratio"]
numbers["healthy_alarms"] = sum(verdict.alarm for iteration, verdict
                                in runs["healthy"]["timeline"] if iteration > 100)
numbers["critic_examples"] = {label: v.regime for label, v in critic_examples.items()}
numbers["seconds"] = time.perf_counter() - start
result = chapter.report(numbers, figures)
