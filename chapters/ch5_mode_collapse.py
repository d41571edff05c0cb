# %% [markdown]
# # Chapter 5, study 2 -- mode collapse, measured as the literature measures it
#
# Mirrors the documents' section 5 (未来发展趋势与挑战): 000 §5 calls it "model collapse"
# (模型崩溃) -- it is *mode* collapse (模式崩溃): the generator puts its samples on a few of
# the data's modes and ignores the rest -- and 004 §5.2 lists it among GANs' open problems.
# This study makes it happen on the benchmark of the literature, measures it with the
# literature's metric, and sets minigan's numbers beside the published ones.
#
# **The benchmark** (VEEGAN, Srivastava et al., 2017; PacGAN, Lin et al., 2018, Table 1;
# ``minigan.mode_collapse``): a *ring* of 8 Gaussians (centres (cos 2 pi k/8, sin 2 pi k/8),
# std 0.01) and a 5 x 5 *grid* of 25 Gaussians (centres {-4, -2, 0, 2, 4}^2, std 0.05), each
# a fixed training set of 100,000 points. Of 2,500 generated samples, one is *high quality*
# if it lies within 3 std of its nearest mode; a mode is *captured* by one high-quality sample;
# the *reverse KL* compares the histogram of the high-quality samples over the modes with the
# uniform one (0: balanced; log 8 = 2.08 or log 25 = 3.22: everything in one mode).
#
# **Packing** (PacGAN). D judges m samples at once: its input is m samples concatenated, all
# real or all generated (``minigan.nn.Pack``). Lin et al. prove that packing sharpens D's view
# of the *total variation* between the two distributions exactly where a generator misses
# modes: a generator that drops modes of total mass eps is only eps away from the data in total
# variation, but its m-fold product is about 1 - (1 - eps)^m ~ m eps away, so D's signal
# against mode dropping grows with m, while distributions that differ by a spread-out blur do
# not gain as much. A collapsed generator's packs also hold near-copies, which real packs rarely
# do.
#
# **The models** (PacGAN's): G is z in R^2 through hidden blocks of Dense, BatchNorm and ReLU to
# x in R^2; D is maxout layers (Goodfellow et al., 2013; ``minigan.nn.Maxout``: each unit the
# largest of 5 affine pieces) and a linear logit, with Pack(m) first.
#
# **What differs from the paper, and why.** The paper trains G with 4 x 400 units and D with
# 3 x 200 maxout units for 400 epochs (400,000 iterations of batch 100, Adam(1e-4, beta1 0.8)):
# 33 ms a PacGAN2 iteration on two cores (two trials at a time), 3.7 hours a trial. ``--paper``
# runs exactly that (and prints the measured time per trial first). The default run trains
# smaller models (G: 3 x 128 units; D: 3 maxout layers of 64 units on the ring, 128 on the
# grid, 5 pieces) for
# 8,000 (ring) and 12,000 (grid) iterations of 200 packed examples, with Adam(beta1 0.5) at a
# rate that decays to 0 over the run (cosine), the same for every row. Measured while choosing
# it (seed 0, one trial each):
#
# * BatchNorm in G holds the grid back at this budget: PacGAN2 reached 38-54 % high-quality
#   samples after 8,000 iterations with it and 86 % without (the GAN: 78-80 % vs 88 %). Batch
#   statistics of 200 samples fluctuate (the variance by about sqrt(2/200) = 10 %), so in
#   training every batch is rescaled a little differently: at the outer modes (+-4) that is a
#   jitter of 0.1-0.2, as wide as the 3-std disc (0.15) the metric asks for. The grid's G has no
#   BatchNorm; the ring's keeps it, as in the paper.
# * The grid's rate trades sharpness for coverage: at lr 2e-3 PacGAN2 had 93 % high quality
#   but 18 modes; at 1e-3, 25 modes but 65 % after 8,000 iterations and 23 modes at 92 % after
#   12,000 -- hence 1e-3 and 12,000 iterations.
# * Collapse on the ring depends on the training: with the grid's configuration (no BatchNorm,
#   lr 1e-3) the plain GAN captured all 8 ring modes, balanced (97 % high quality, reverse KL
#   0.006); with PacGAN's BatchNorm and lr 2e-3 it kept 6 of them. A table of mode counts says
#   as much about the budget as about the objective -- which is why every row here shares one.
#
# **What the default run covers**: the four rows PacGAN published (GAN, PacGAN2, PacGAN3,
# PacGAN4) on both data sets over 2 seeds -- 16 trials, two at a time on 2 cores -- and GAN Lab's
# views of one ring run: about 15-20 minutes on 2 quiet cores, estimated from the trial times
# measured for the README (49-108 s a ring trial, 132-175 s a grid trial, two at a time).
# ``--all-rows`` adds the ten other rows (objectives, remedies, gradient penalties); it first
# trains each added row for 100 iterations, prints what the added trials will cost on the
# computer it runs on, then trains them. ``--quick`` (a smoke test: GAN and PacGAN2, tiny models, one seed) took
# 9-24 s on 2 cores.
#
# Run:  python chapters/ch5_mode_collapse.py [--quick] [--seeds N] [--all-rows | --rows ROW ...]
#           [--paper] [--workers W] [--seed S] [--out DIR]

# %% Imports and constants
import dataclasses
import math
import os
import time

import numpy as np

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import plot
from minigan import mode_collapse as mc
from minigan.metrics import mode_coverage

TITLE = "Chapter 5, study 2: mode collapse on the ring and the grid, beside PacGAN's Table 1"
DATASETS = ("ring", "grid")

# %% [markdown]
# The rows of the table. The first four are the rows PacGAN published; the others change one
# thing of the non-saturating GAN: its objective (minimax, least squares -- Mao et al. 2017,
# hinge -- Lim & Ye 2017, Wasserstein with weight clipping -- Arjovsky et al. 2017, five critic
# steps per generator step) or a remedy (one-sided label smoothing -- Salimans et al. 2016,
# spectral normalisation of D -- Miyato et al. 2018, two time-scales -- Heusel et al. 2017,
# here G learning 4x slower than D, minibatch standard deviation -- Karras et al. 2018).

# %% The rows, PacGAN's published numbers, the budgets
ROWS = {
    "GAN": mc.Setting(),
    "PacGAN2": mc.Setting(pack=2),
    "PacGAN3": mc.Setting(pack=3),
    "PacGAN4": mc.Setting(pack=4),
    "minimax": mc.Setting(objective="minimax"),
    "least-squares": mc.Setting(objective="least-squares"),
    "hinge": mc.Setting(objective="hinge"),
    "Wasserstein + clipping": mc.Setting(objective="wasserstein", clip=0.01, d_steps=5),
    "GAN + label smoothing": mc.Setting(label_smoothing=0.1),
    "GAN + spectral norm": mc.Setting(spectral_norm=True),
    "GAN + two time-scales": mc.Setting(lr_g_factor=0.25),
    "GAN + minibatch std": mc.Setting(minibatch_std=True),
    **mc.PENALTY_ROWS,                   # "WGAN-GP" and "GAN + R1": gradient penalties
}
QUICK_ROWS = ("GAN", "PacGAN2")

# PacGAN (Lin et al., 2018), Table 1: mean and standard error over 10 trials.
# row -> dataset -> (modes, high-quality %, reverse KL), each (mean, standard error)
PUBLISHED = {
    "GAN": {"ring": ((6.3, 0.5), (98.2, 0.2), (0.45, 0.09)),
            "grid": ((17.3, 0.8), (94.8, 0.7), (0.70, 0.07))},
    "PacGAN2": {"ring": ((7.9, 0.1), (95.6, 2.0), (0.07, 0.03)),
                "grid": ((23.8, 0.7), (91.3, 0.8), (0.13, 0.04))},
    "PacGAN3": {"ring": ((7.8, 0.1), (97.7, 0.3), (0.10, 0.02)),
                "grid": ((24.6, 0.4), (94.2, 0.4), (0.06, 0.02))},
    "PacGAN4": {"ring": ((7.8, 0.1), (95.9, 1.4), (0.07, 0.02)),
                "grid": ((24.8, 0.2), (93.6, 0.6), (0.04, 0.01))},
}

# The default budget, per data set (see "What differs from the paper" above for why).
DEFAULT = {"ring": mc.Budget(g_hidden=128, g_layers=3, g_batchnorm=True, d_hidden=64,
                             d_layers=3, d_pieces=5, batch=200, lr=2e-3, beta1=0.5,
                             iterations=8000, schedule="cosine"),
           "grid": mc.Budget(g_hidden=128, g_layers=3, g_batchnorm=False, d_hidden=128,
                             d_layers=3, d_pieces=5, batch=200, lr=1e-3, beta1=0.5,
                             iterations=12000, schedule="cosine")}
QUICK = mc.Budget(g_hidden=64, g_layers=2, d_hidden=32, d_layers=2, d_pieces=3, batch=64,
                  lr=3e-3, beta1=0.5, iterations=600, schedule="cosine")
DEFAULT_ROWS = tuple(PUBLISHED)          # the default run: the rows PacGAN published ...
DEFAULT_SEEDS = 2                        # ... over 2 seeds (--all-rows: every row)
PROBE_ITERATIONS = 100                   # --all-rows: each added row timed this long first
NUM_FRAMES, QUICK_FRAMES = 16, 3          # samples kept over training, for the animation
GANLAB_FRAMES, QUICK_GANLAB_FRAMES = 12, 3   # GAN Lab's views of one ring run, for its animation


def budgets_for(args) -> dict:
    """{data set: budget} of a run: PacGAN's with --paper, a few seconds' with --quick, else
    DEFAULT."""
    if args.paper or args.quick:
        return {dataset: mc.PAPER if args.paper else QUICK for dataset in DATASETS}
    return dict(DEFAULT)


def format_table(table: dict, rows, num_seeds: int) -> str:
    """The table as text: per data set, minigan's mean +- standard error over seeds, and under
    each published row PacGAN's own numbers."""
    lines = [f"Mode collapse: mean +- standard error over {num_seeds} seed(s), "
             f"{mc.NUM_SAMPLES} samples each; 'paper' lines: PacGAN, Table 1 (10 trials)"]
    for dataset in DATASETS:
        if not any((row, dataset) in table for row in rows):
            continue
        num_modes = len(mc.make_dataset(dataset).centres)
        header = (f"{dataset:<6}{'row':<24} {'modes (of ' + str(num_modes) + ')':>16} "
                  f"{'high quality %':>16} {'reverse KL':>14}")
        lines += ["", header, "-" * len(header)]
        for row in rows:
            if (row, dataset) not in table:
                continue
            s = table[row, dataset]
            lines.append(f"{'':<6}{row:<24} " + " ".join(
                f"{s[k][0]:>{w}.{d}f} +- {s[k][1]:<{d + 2}.{d}f}"
                for k, w, d in (("modes_covered", 8, 1), ("high_quality_percent", 8, 1),
                                ("reverse_kl", 6, 2))))
            if row in PUBLISHED:
                lines.append(f"{'':<6}{'  paper':<24} " + " ".join(
                    f"{m:>{w}.{d}f} +- {e:<{d + 2}.{d}f}"
                    for (m, e), w, d in zip(PUBLISHED[row][dataset], (8, 8, 6), (1, 1, 2))))
    return "\n".join(lines)


def format_fidelity_table(table: dict, rows) -> str:
    """Precision, recall, density and coverage (k = 3, 3, 5, 5) of the same trials, mean over
    seeds, per data set."""
    keys = ("precision", "recall", "density", "coverage")
    lines = ["Quality and diversity measured apart: improved precision / recall (Kynkaanniemi et "
             "al., 2019), density / coverage (Naeem et al., 2020), 2,500 samples against 2,500 "
             "fresh data points"]
    for dataset in DATASETS:
        header = f"{dataset:<6}{'row':<24}" + "".join(f"{k:>11}" for k in keys)
        lines += ["", header, "-" * len(header)]
        for row in rows:
            if (row, dataset) in table:
                lines.append(f"{'':<6}{row:<24}" + "".join(
                    f"{table[row, dataset][k][0]:>11.3f}" for k in keys))
    return "\n".join(lines)


def draw_samples(axes, by_key, rows, seed, frame=None):
    """Samples (green) on the modes (red x): a column per row of the table, a line per data set
    (axes: (len(DATASETS), len(rows))), the trial of ``seed``; ``frame``: an index into its
    frames over training (None: the final 2,500 samples)."""
    for i, dataset in enumerate(DATASETS):
        data = mc.make_dataset(dataset)
        span = float(np.abs(data.centres).max()) * 1.35
        for j, row in enumerate(rows):
            ax = axes[i, j]
            result = by_key.get((row, dataset, seed))
            ax.set_xticks([])
            ax.set_yticks([])
            if result is None:
                ax.set_axis_off()
                continue
            if frame is None:
                points, m = result["samples"], result["metrics"]
                label = f"{m['modes_covered']} modes, {100 * m['high_quality_fraction']:.0f}% hq"
            else:
                iteration, points = result["frames"][frame]
                label = f"iteration {iteration}"
            ax.scatter(points[:, 0], points[:, 1], s=1.5, alpha=0.4, color="tab:green",
                       rasterized=True)
            ax.scatter(data.centres[:, 0], data.centres[:, 1], s=14, marker="x",
                       color="tab:red", linewidths=0.9)
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            ax.set_aspect("equal")
            ax.set_title(f"{dataset}: {row}\n{label}", fontsize=7)


# %% [markdown]
# ## Settings
# As a script, the command line; in a notebook, edit the string (e.g. "--seeds 5") and re-run
# the cells below. ``--workers`` runs the trials on that many processes (the trials are
# independent: two cores train two at a time). Every finished trial is saved under
# ``<out>/trials``; run the same command again after an interruption and the saved trials are
# loaded instead of trained (a changed setting or budget is a different trial).

# %% Settings: as a script, the command line; in a notebook, edit `notebook` (e.g. "--seeds 3")
parser = chapter.make_parser(TITLE, "ch5_mode_collapse")
parser.add_argument("--seeds", type=chapter.positive_int, default=None,
                    help=f"trials (seeds) per row and data set (default {DEFAULT_SEEDS}, "
                         f"1 with --quick)")
parser.add_argument("--paper", action="store_true",
                    help="PacGAN's architecture and budget exactly (hours per trial); the rows "
                         "PacGAN published")
parser.add_argument("--rows", nargs="+", choices=tuple(ROWS), default=None, metavar="ROW",
                    help="train only these rows of the table (default: the rows PacGAN "
                         "published; with --quick, GAN and PacGAN2)")
parser.add_argument("--all-rows", action="store_true",
                    help="every row of the table: PacGAN's and the ten objectives, remedies "
                         "and penalties (their cost, measured here, is printed first)")
parser.add_argument("--workers", type=chapter.positive_int, default=None,
                    help="processes training trials at once (default: the number of cores, "
                         "1 with --quick)")
args = chapter.parse_args(parser)
if args.all_rows and args.rows:
    parser.error("argument --all-rows: not allowed with --rows (choose one)")
out = chapter.start(args)
budgets = budgets_for(args)
rows = (tuple(args.rows) if args.rows else tuple(ROWS) if args.all_rows else
        QUICK_ROWS if args.quick else DEFAULT_ROWS)
num_seeds = args.seeds or (1 if args.quick else DEFAULT_SEEDS)
seeds = [args.seed + i for i in range(num_seeds)]
workers = args.workers or (1 if args.quick else min(os.cpu_count() or 1, 8))
figures, numbers = [], {}

# %% [markdown]
# ## The metric, checked on samples whose answer is known
# A sample at a mode's centre is high quality; one 2.9 std away is, 3.1 std is not; 2,500
# copies of one point capture 1 mode with reverse KL log(K); samples of the data itself are
# high quality with probability 1 - exp(-9/2) = 98.9 % (the 3-std disc of a 2D Gaussian) and
# capture every mode; points uniform on a square around the data are almost never high quality.

# %%
metric_checks = {}
for dataset in DATASETS:
    data = mc.make_dataset(dataset)
    c, s = data.centres, data.std
    at = lambda points: mode_coverage(np.asarray(points, dtype=np.float64), c, s)
    B.seed(args.seed)
    span = 1.35 * float(np.abs(c).max())
    metric_checks[dataset] = {
        "at_centre": at([c[0]])["high_quality_fraction"],
        "at_2.9_std": at([c[0] + [2.9 * s, 0]])["high_quality_fraction"],
        "at_3.1_std": at([c[0] + [3.1 * s, 0]])["high_quality_fraction"],
        "collapsed": at(np.repeat(c[:1], mc.NUM_SAMPLES, axis=0)),
        "data": at(B.to_numpy(data.sample(mc.NUM_SAMPLES))),
        "uniform": at(np.random.default_rng(args.seed).uniform(-span, span,
                                                                (mc.NUM_SAMPLES, 2))),
    }
    checks = metric_checks[dataset]
    print(f"{dataset}: data itself {checks['data']['modes_covered']} modes, "
          f"{100 * checks['data']['high_quality_fraction']:.1f}% high quality (expected "
          f"{100 * (1 - math.exp(-4.5)):.1f}%); uniform on a square "
          f"{100 * checks['uniform']['high_quality_fraction']:.2f}% high quality; one point "
          f"repeated: reverse KL {checks['collapsed']['reverse_kl']:.3f} = log "
          f"{len(c)}")
    numbers.update({
        **{f"{dataset}_{key}": checks[key] for key in ("at_centre", "at_2.9_std", "at_3.1_std")},
        f"{dataset}_data_high_quality": checks["data"]["high_quality_fraction"],
        f"{dataset}_data_modes": checks["data"]["modes_covered"],
        f"{dataset}_uniform_high_quality": checks["uniform"]["high_quality_fraction"],
        f"{dataset}_collapsed_reverse_kl": checks["collapsed"]["reverse_kl"],
    })

# %% [markdown]
# ## The table
# Every row on both data sets, ``num_seeds`` trials each, the same budget for every row. With
# ``--paper`` a trial of PacGAN's own size is timed first and its time per trial printed.

# %%
if args.paper:
    probe = dataclasses.replace(mc.PAPER, iterations=200)
    probe_seconds = mc.run_trials([("ring", mc.Setting(pack=2), probe, args.seed)],  # as the
                                  workers=min(workers, 2))[0]["seconds"]            # table runs
    per_trial = probe_seconds / probe.iterations * mc.PAPER.iterations
    print(f"--paper: {per_trial / 3600:.1f} hours per PacGAN2 trial measured here "
          f"({1000 * probe_seconds / probe.iterations:.1f} ms an iteration x "
          f"{mc.PAPER.iterations} iterations); {len(rows) * len(DATASETS) * num_seeds} trials "
          f"on {workers} process(es)", flush=True)
    numbers["paper_seconds_per_trial"] = per_trial
added = [row for row in rows if row not in DEFAULT_ROWS]
if added and not args.quick and not args.paper:            # what the rows beyond PacGAN's cost
    probes = mc.run_trials([(dataset, ROWS[row], dataclasses.replace(
        budgets[dataset], iterations=PROBE_ITERATIONS), args.seed)
        for row in added for dataset in DATASETS], workers=workers)
    added_seconds = num_seeds * sum(r["seconds"] / PROBE_ITERATIONS
                                    * budgets[r["dataset"]].iterations for r in probes)
    print(f"The {len(added)} rows beyond PacGAN's ({', '.join(added)}): "
          f"{len(added) * len(DATASETS) * num_seeds} trials, about {added_seconds / 60:.0f} min of training measured here "
          f"({PROBE_ITERATIONS} iterations of each, scaled), {added_seconds / 60 / workers:.0f}"
          f" min on {workers} process(es)", flush=True)
    numbers["added_rows_estimated_seconds"] = added_seconds

num_frames = QUICK_FRAMES if args.quick else NUM_FRAMES
trials = [(dataset, ROWS[row], budgets[dataset], seed, num_frames)       # the table's first
          for row in rows for dataset in DATASETS for seed in seeds]     # rows finish first
names = {(dataset, ROWS[row]): row for dataset in DATASETS for row in rows}
print(f"\nMode collapse: {len(rows)} rows x {len(DATASETS)} data sets x {num_seeds} seed(s) = "
      f"{len(trials)} trials ({', '.join(f'{d}: {b.iterations}' for d, b in budgets.items())} "
      f"iterations), on {workers} process(es)",
      flush=True)


def print_trial(index, result):
    m = result["metrics"]
    print(f"  {result['dataset']:<5} {names[result['dataset'], result['setting']]:<24} seed "
          f"{result['seed']}: {m['modes_covered']:>2d} modes, "
          f"{100 * m['high_quality_fraction']:5.1f}% high quality, reverse KL "
          f"{m['reverse_kl']:.3f}  ({result['seconds']:.0f} s)", flush=True)


started = time.perf_counter()
results = mc.run_trials(trials, workers=workers, on_result=print_trial,
                        folder=os.path.join(out, "trials"))
table_seconds = time.perf_counter() - started
by_key = {(names[r["dataset"], r["setting"]], r["dataset"], r["seed"]): r for r in results}
table = {(row, dataset): mc.summarise([by_key[row, dataset, seed] for seed in seeds])
         for row in rows for dataset in DATASETS}
table_text = format_table(table, rows, num_seeds) + "\n\n" + format_fidelity_table(table, rows)
print()
print(table_text)
trained_seconds = sum(r["seconds"] for r in results)
print(f"({len(trials)} trials in {table_seconds:.0f} s on {workers} process(es); their training "
      f"took {trained_seconds:.0f} s in all, saved trials included)")
with open(os.path.join(out, "mode_table.txt"), "w") as f:
    f.write(table_text + f"\n({len(trials)} trials in {table_seconds:.0f} s; training "
            f"{trained_seconds:.0f} s in all; {budgets})\n")
for row in rows:
    for dataset in DATASETS:
        for key, (mean, error) in table[row, dataset].items():
            numbers[f"{dataset}_{row}_{key}"] = mean
for dataset in DATASETS if "GAN" in rows else ():   # where training started and ended (first
    data = mc.make_dataset(dataset)                   # seed, 500 samples)
    kept = by_key["GAN", dataset, seeds[0]]["frames"]
    for when, (_, points) in (("start", kept[0]), ("trained", kept[-1])):
        m = mode_coverage(points, data.centres, data.std)
        numbers[f"{dataset}_GAN_{when}_modes"] = m["modes_covered"]
        numbers[f"{dataset}_GAN_{when}_high_quality"] = m["high_quality_fraction"]
numbers["table_seconds"] = table_seconds
numbers["trials_training_seconds"] = trained_seconds

# %% [markdown]
# ## What each measure catches
# * *Modes captured* counts the modes with at least one good sample: it sees a generator that
#   drops modes, but not one that puts 99 % of its samples on one mode and 1 % on the rest.
# * *Reverse KL* of the high-quality histogram sees exactly that imbalance, but is blind to how
#   many samples are bad (it looks at the good ones only).
# * *High quality* is the fraction of samples near a mode: fidelity, blind to diversity (all
#   samples on one mode score 100 %).
# * *Precision* (fraction of samples inside the real data's k-nearest-neighbour balls) is
#   fidelity too, without knowing the modes, so it works on features of images, where no mode
#   list exists; *recall* (fraction of real points inside the generated samples' balls) is
#   diversity. A few generated outliers inflate recall: their k-NN balls are huge and swallow
#   real points.
# * *Density* counts how many real balls a sample falls in (not just whether), so it rewards
#   crowding the densest modes and is robust to one real outlier; *coverage* uses balls around
#   real points only, so generated outliers cannot fake diversity. Mode collapse shows as high
#   precision / density with low recall / coverage; a blurred generator as the reverse.

# %% [markdown]
# ## Samples on the modes
# The first seed of every row, at the end of training (``mode_samples.png``) and over training
# (``mode_samples.gif``): the plain GAN drops modes or piles its samples on a few of them;
# packing spreads them over all of them.

# %%
fig, axes = plot.new_figure(len(rows), len(DATASETS), (2.1, 2.3))
draw_samples(axes, by_key, rows, seeds[0])
fig.suptitle(f"Samples (green) on the modes (red x)\nseed {seeds[0]}, "
             f"ring {budgets['ring'].iterations}, grid {budgets['grid'].iterations} iterations",
             fontsize=9)
figures.append(chapter.show(plot.save(fig, os.path.join(out, "mode_samples.png"))))
frames = range(len(by_key[rows[0], DATASETS[0], seeds[0]]["frames"]))
figures.append(chapter.show(plot.save_gif(
    os.path.join(out, "mode_samples.gif"), frames,
    lambda axes, frame: draw_samples(axes, by_key, rows, seeds[0], frame),
    fps=3, size=(2.1, 2.3), dpi=50, panels=(len(rows), len(DATASETS)))))

# %% [markdown]
# ## Inside one run: GAN Lab's views
# The plain GAN on the ring, trained again with the same seed and budget (the views change
# nothing in the run: the same samples as the table's first seed), seen
# the way GAN Lab (Kahng et al., 2018) shows a GAN: the generator's manifold (a grid over the 2D
# noise warped by G; a cell's shade is the noise mass it carries over its area), D's decision
# map, and at each generated sample the direction -dL_G/dx in which the generator's loss pushes
# it -- computed by D's own backward pass. The manifold tears between the modes: the cells that
# stretch across a gap carry little mass, which is what "high quality" measures.

# %%
lab_num_views = QUICK_GANLAB_FRAMES if args.quick else GANLAB_FRAMES
lab_trial = ("ring", ROWS["GAN"], budgets["ring"], seeds[0], num_frames, lab_num_views)
lab = mc.run_trials([lab_trial], workers=min(workers, 2), folder=os.path.join(out, "trials"))[0]
lab_iterations = budgets["ring"].iterations
figures.append(chapter.show(plot.gan_lab_figure(
    os.path.join(out, "gan_lab_ring.png"), lab["views"][-1], lab["history"],
    title=f"GAN on the ring after {lab_iterations} iterations: manifold, D, -dL_G/dx")))
figures.append(chapter.show(plot.gan_lab_gif(os.path.join(out, "gan_lab_ring.gif"),
                                             lab["views"], lab["history"])))
if ("GAN", "ring", seeds[0]) in by_key:
    numbers["gan_lab_same_as_table_trial"] = bool(
        (lab["samples"] == by_key["GAN", "ring", seeds[0]]["samples"]).all())

# %% [markdown]
# ## What the table says
# Read it row against row and against the paper's lines. Measured with the default budget (the
# README records the runs, made with --all-rows; the rows PacGAN published over 3 seeds, the
# others over 2):
#
# * The plain GAN collapses on both data sets while its samples stay sharp: 7 of 8 ring modes and
#   12 of 25 grid modes, 93 % high quality (precision and density near 1, recall and coverage
#   lower). Packing two samples brings back every mode in every seed (8 and 25) at 91-93 %.
# * PacGAN3 and PacGAN4 capture (nearly) every mode too, but within this budget they do not
#   become sharp on the grid (13-53 % high quality): their samples still lie along the lines
#   between the modes (``mode_samples.png``), which their low precision and density beside a high
#   recall say as well. The paper trains 33 times longer.
# * The saturating minimax loss collapses hardest on the ring (1-2 of 8 modes, reverse KL near
#   log 8; 22-23 of 25 on the grid): its gradient vanishes where D rejects the samples
#   (``ch5_challenges.py``, saturation).
# * Wasserstein with weight clipping spreads over the modes (7-8 and 19-23) but puts only 2-9 %
#   of its samples within 3 std of one: a critic whose every weight is clipped to 0.01 stays too
#   smooth to pull samples into discs 0.03 (ring) or 0.15 (grid) wide -- the weakness that made
#   Gulrajani et al. (2017) replace clipping by a gradient penalty.
# * Spectral normalisation of D is the strongest single remedy here after packing (8 and 25
#   modes in both seeds, nearly balanced), at 84-93 % high quality. One-sided label smoothing
#   leaves the GAN's collapse as it was (7 ring modes, 10-12 grid modes); minibatch standard
#   deviation helps a little on the grid (14-21 modes) and not on the ring (6-8, one seed
#   blurred); two time-scales (G 4x slower) keeps every ring mode at 71-75 % but collapses on
#   the grid (11-12 modes) within the same number of generator steps.
#
# The checks below are the claims of this study; a full run (2 seeds by default) prints whether
# each holds.

# %%
if not args.quick and not args.paper and {"GAN", "PacGAN2"} <= set(rows):
    gan_ring, gan_grid = table["GAN", "ring"], table["GAN", "grid"]
    pac_ring, pac_grid = table["PacGAN2", "ring"], table["PacGAN2", "grid"]
    claims = {
        "GAN and PacGAN2 reach 90% high quality on both data sets": min(
            s["high_quality_percent"][0] for s in (gan_ring, gan_grid, pac_ring, pac_grid)) >= 90,
        "PacGAN2 captures >= 7.8 of 8 ring modes": pac_ring["modes_covered"][0] >= 7.8,
        "PacGAN2 captures >= 23 of 25 grid modes": pac_grid["modes_covered"][0] >= 23,
        "GAN captures fewer modes than PacGAN2 on both": (
            gan_ring["modes_covered"][0] < pac_ring["modes_covered"][0]
            and gan_grid["modes_covered"][0] < pac_grid["modes_covered"][0]),
    }
    for claim, holds in claims.items():
        print(f"  {'holds' if holds else 'FAILS'}: {claim}")
    numbers["claims_hold"] = all(claims.values())

result = chapter.report(numbers, figures, args)
