"""Chapter 5's mode-collapse table: rows x data sets over seeds, beside PacGAN's Table 1.

``minigan.mode_collapse`` is the benchmark (data, models, one trial, ``run_trials``,
``summarise``); this module is the study built on it:

    check_metric(dataset, seed)      the metric on samples whose answer is known -> MetricCheck
    time_paper_trial(...)            --paper: one PacGAN-sized trial timed, hours per trial
    time_added_rows(...)             the rows beyond PacGAN's: their cost, measured by short probes
    run_table(rows, budgets, seeds, ...)   every (row, data set, seed) trained and scored -> Table
    Table.text()                     the table as text (mean +- standard error, paper lines),
                                     then precision / recall / density / coverage
    samples_figure, samples_gif      the first seed's samples on the modes, at the end and over time
    check_claims(table)              the study's claims about GAN and PacGAN2 -> Claims

Every number a chapter cites is a field of a record (MetricCheck, Table, Claims); their
``numbers()`` give the chapter's report the same names.
"""
from __future__ import annotations

import dataclasses
import math
import time

from minigan import backend as B
from minigan import mode_collapse as mc
from minigan import plot
from minigan.metrics import mode_coverage

DATASETS = ("ring", "grid")


# ---------------------------------------------------------------------------------------------
# The metric, checked on samples whose answer is known

@dataclasses.dataclass
class MetricCheck:
    """mode_coverage on samples whose answer is known, for one data set.

    at_centre, at_2_9_std, at_3_1_std   high-quality fraction of one sample at a mode's centre,
                                        2.9 and 3.1 std away from it (1, 1, 0)
    collapsed    mode_coverage of NUM_SAMPLES copies of one centre (reverse KL log K)
    data         mode_coverage of NUM_SAMPLES samples of the data itself (98.9 % high quality)
    uniform      mode_coverage of NUM_SAMPLES points uniform on a square around the data
    num_modes    K, the data set's number of modes
    """

    dataset: str
    num_modes: int
    at_centre: float
    at_2_9_std: float
    at_3_1_std: float
    collapsed: dict
    data: dict
    uniform: dict

    def describe(self) -> str:
        """One line: what the data itself, uniform points and a collapsed set score."""
        return (f"{self.dataset}: data itself {self.data['modes_covered']} modes, "
                f"{100 * self.data['high_quality_fraction']:.1f}% high quality (expected "
                f"{100 * (1 - math.exp(-4.5)):.1f}%); uniform on a square "
                f"{100 * self.uniform['high_quality_fraction']:.2f}% high quality; one point "
                f"repeated: reverse KL {self.collapsed['reverse_kl']:.3f} = log "
                f"{self.num_modes}")



def check_metric(dataset: str, seed: int) -> MetricCheck:
    """mode_coverage on points whose answer is known (see MetricCheck), for "ring" or "grid".

    Seeds minigan's generator with ``seed`` (the data's samples) and draws the uniform points
    from a NumPy generator seeded with it.
    """
    np = B.np
    data = mc.make_dataset(dataset)
    c, s = data.centres, data.std

    def at(points):
        return mode_coverage(np.asarray(points, dtype=np.float64), c, s)
    B.seed(seed)
    span = 1.35 * float(np.abs(c).max())
    return MetricCheck(
        dataset=dataset, num_modes=len(c),
        at_centre=at([c[0]])["high_quality_fraction"],
        at_2_9_std=at([c[0] + [2.9 * s, 0]])["high_quality_fraction"],
        at_3_1_std=at([c[0] + [3.1 * s, 0]])["high_quality_fraction"],
        collapsed=at(np.repeat(c[:1], mc.NUM_SAMPLES, axis=0)),
        data=at(B.to_numpy(data.sample(mc.NUM_SAMPLES))),
        uniform=at(np.random.default_rng(seed).uniform(-span, span, (mc.NUM_SAMPLES, 2))))


# ---------------------------------------------------------------------------------------------
# What the table will cost

def time_paper_trial(seed: int, workers: int, num_trials: int) -> float:
    """Seconds a PacGAN-sized PacGAN2 trial (``mc.PAPER``) takes here: 200 iterations timed on
    the ring, as the table runs them (on min(workers, 2) processes), scaled. Prints what
    ``num_trials`` such trials mean on ``workers`` processes."""
    probe = dataclasses.replace(mc.PAPER, iterations=200)
    probe_seconds = mc.run_trials([("ring", mc.Setting(pack=2), probe, seed)],
                                  workers=min(workers, 2))[0]["seconds"]
    per_trial = probe_seconds / probe.iterations * mc.PAPER.iterations
    print(f"--paper: {per_trial / 3600:.1f} hours per PacGAN2 trial measured here "
          f"({1000 * probe_seconds / probe.iterations:.1f} ms an iteration x "
          f"{mc.PAPER.iterations} iterations); {num_trials} trials "
          f"on {workers} process(es)", flush=True)
    return per_trial


def time_added_rows(added: dict, budgets: dict, seed: int, num_seeds: int, workers: int,
                    probe_iterations: int = 100) -> float:
    """Seconds of training the rows ``added`` ({name: Setting}) will take over ``num_seeds``
    seeds on both data sets with ``budgets`` ({data set: Budget}): each (row, data set) trained
    ``probe_iterations`` iterations, timed and scaled. Prints the estimate."""
    probes = mc.run_trials([(dataset, setting, dataclasses.replace(
        budgets[dataset], iterations=probe_iterations), seed)
        for setting in added.values() for dataset in DATASETS], workers=workers)
    added_seconds = num_seeds * sum(r["seconds"] / probe_iterations
                                    * budgets[r["dataset"]].iterations for r in probes)
    print(f"The {len(added)} rows beyond PacGAN's ({', '.join(added)}): "
          f"{len(added) * len(DATASETS) * num_seeds} trials, about {added_seconds / 60:.0f} min "
          f"of training measured here ({probe_iterations} iterations of each, scaled), "
          f"{added_seconds / 60 / workers:.0f} min on {workers} process(es)", flush=True)
    return added_seconds


# ---------------------------------------------------------------------------------------------
# The table

@dataclasses.dataclass
class Table:
    """Every (row, data set) of a mode-collapse table over seeds.

    rows        the row names, in order; seeds: the trials' seeds; budgets: {data set: Budget}
    results     {(row, data set, seed): mc.train_and_score's result}
    summary     {(row, data set): mc.summarise over the seeds}: "modes_covered",
                "high_quality_percent", "reverse_kl", "precision", "recall", "density",
                "coverage", each (mean, standard error)
    published   {row: {data set: ((mean, error) x 3)}}: the paper's numbers, printed beside
    seconds     wall time of the table; trained_seconds: the trials' training time summed
                (saved trials included); workers: the processes that trained them
    """

    rows: tuple
    seeds: list
    budgets: dict
    results: dict = dataclasses.field(repr=False)
    summary: dict = dataclasses.field(default_factory=dict)
    published: dict = dataclasses.field(default_factory=dict)
    seconds: float = dataclasses.field(default=0.0, repr=False)
    trained_seconds: float = dataclasses.field(default=0.0, repr=False)
    workers: int = 1

    def mean(self, row: str, dataset: str, column: str) -> float:
        """The mean over seeds of ``column`` ("modes_covered", "high_quality_percent",
        "reverse_kl", "precision", "recall", "density", "coverage") of one row on one data set."""
        return self.summary[row, dataset][column][0]

    def text(self) -> str:
        """The table, then the precision / recall table, as printed and saved."""
        return (format_table(self.summary, self.rows, len(self.seeds), self.published)
                + "\n\n" + format_fidelity_table(self.summary, self.rows))

    def timing_line(self) -> str:
        """How long the table took, and its trials' training in all."""
        return (f"({len(self.results)} trials in {self.seconds:.0f} s on {self.workers} "
                f"process(es); their training took {self.trained_seconds:.0f} s in all, saved "
                f"trials included)")

    def write(self, path: str) -> None:
        """The table as text in ``path`` (mode_table.txt), with its times and budgets."""
        with open(path, "w") as f:
            f.write(self.text() + f"\n({len(self.results)} trials in {self.seconds:.0f} s; "
                    f"training {self.trained_seconds:.0f} s in all; {self.budgets})\n")

    def start_and_end(self, row: str, seed: int) -> dict:
        """The row's first and last kept frame (500 samples) of the trial of ``seed``, scored:
        {data set: {"start"|"trained": mode_coverage}}."""
        out = {}
        for dataset in DATASETS:
            data = mc.make_dataset(dataset)
            kept = self.results[row, dataset, seed]["frames"]
            out[dataset] = {when: mode_coverage(points, data.centres, data.std)
                            for when, (_, points) in (("start", kept[0]), ("trained", kept[-1]))}
        return out



def run_table(rows: dict, budgets: dict, seeds, workers: int = 1, num_frames: int = 0,
              folder=None, published=None) -> Table:
    """Train and score every row ({name: mc.Setting}) on both data sets for every seed, with
    ``budgets`` ({data set: mc.Budget}), on ``workers`` processes; each trial keeps
    ``num_frames`` frames of samples. Prints a line before and one per finished trial.
    ``folder``: where run_trials saves (and finds) the trials. ``published``: the paper's
    numbers for some rows (see Table)."""
    seeds = list(seeds)
    trials = [(dataset, setting, budgets[dataset], seed, num_frames)      # the table's first
              for setting in rows.values() for dataset in DATASETS        # rows finish first
              for seed in seeds]
    names = {(dataset, setting): row for dataset in DATASETS for row, setting in rows.items()}
    print(f"\nMode collapse: {len(rows)} rows x {len(DATASETS)} data sets x {len(seeds)} "
          f"seed(s) = {len(trials)} trials "
          f"({', '.join(f'{d}: {b.iterations}' for d, b in budgets.items())} "
          f"iterations), on {workers} process(es)", flush=True)

    def print_trial(index, result):
        m = result["metrics"]
        print(f"  {result['dataset']:<5} {names[result['dataset'], result['setting']]:<24} seed "
              f"{result['seed']}: {m['modes_covered']:>2d} modes, "
              f"{100 * m['high_quality_fraction']:5.1f}% high quality, reverse KL "
              f"{m['reverse_kl']:.3f}  ({result['seconds']:.0f} s)", flush=True)

    started = time.perf_counter()
    results = mc.run_trials(trials, workers=workers, on_result=print_trial, folder=folder)
    seconds = time.perf_counter() - started
    by_key = {(names[r["dataset"], r["setting"]], r["dataset"], r["seed"]): r for r in results}
    summary = {(row, dataset): mc.summarise([by_key[row, dataset, seed] for seed in seeds])
               for row in rows for dataset in DATASETS}
    return Table(rows=tuple(rows), seeds=seeds, budgets=dict(budgets), results=by_key,
                 summary=summary, published=dict(published or {}), seconds=seconds,
                 trained_seconds=sum(r["seconds"] for r in results), workers=workers)


def format_table(summary: dict, rows, num_seeds: int, published=None) -> str:
    """The table as text: per data set, minigan's mean +- standard error over seeds
    (``summary``: {(row, data set): mc.summarise}), and under each published row the paper's
    own numbers (``published``: {row: {data set: ((mean, error) x 3)}})."""
    published = published or {}
    lines = [f"Mode collapse: mean +- standard error over {num_seeds} seed(s), "
             f"{mc.NUM_SAMPLES} samples each; 'paper' lines: PacGAN, Table 1 (10 trials)"]
    for dataset in DATASETS:
        if not any((row, dataset) in summary for row in rows):
            continue
        num_modes = len(mc.make_dataset(dataset).centres)
        header = (f"{dataset:<6}{'row':<24} {'modes (of ' + str(num_modes) + ')':>16} "
                  f"{'high quality %':>16} {'reverse KL':>14}")
        lines += ["", header, "-" * len(header)]
        for row in rows:
            if (row, dataset) not in summary:
                continue
            s = summary[row, dataset]
            lines.append(f"{'':<6}{row:<24} " + " ".join(
                f"{s[k][0]:>{w}.{d}f} +- {s[k][1]:<{d + 2}.{d}f}"
                for k, w, d in (("modes_covered", 8, 1), ("high_quality_percent", 8, 1),
                                ("reverse_kl", 6, 2))))
            if row in published:
                lines.append(f"{'':<6}{'  paper':<24} " + " ".join(
                    f"{m:>{w}.{d}f} +- {e:<{d + 2}.{d}f}"
                    for (m, e), w, d in zip(published[row][dataset], (8, 8, 6), (1, 1, 2))))
    return "\n".join(lines)


def format_fidelity_table(summary: dict, rows) -> str:
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
            if (row, dataset) in summary:
                lines.append(f"{'':<6}{row:<24}" + "".join(
                    f"{summary[row, dataset][k][0]:>11.3f}" for k in keys))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Samples on the modes

def draw_samples(axes, results: dict, rows, seed: int, frame=None) -> None:
    """Samples (green) on the modes (red x): a column per row of the table, a line per data set
    (axes: (len(DATASETS), len(rows))), the trial of ``seed`` in ``results`` ({(row, data set,
    seed): result}); ``frame``: an index into its frames over training (None: the final 2,500
    samples)."""
    np = B.np
    for i, dataset in enumerate(DATASETS):
        data = mc.make_dataset(dataset)
        span = float(np.abs(data.centres).max()) * 1.35
        for j, row in enumerate(rows):
            ax = axes[i, j]
            result = results.get((row, dataset, seed))
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


def samples_figure(path: str, table: Table) -> str:
    """The final samples of the table's first seed, a panel per (data set, row); saved."""
    fig, axes = plot.new_figure(len(table.rows), len(DATASETS), (2.1, 2.3))
    draw_samples(axes, table.results, table.rows, table.seeds[0])
    fig.suptitle(f"Samples (green) on the modes (red x)\nseed {table.seeds[0]}, "
                 f"ring {table.budgets['ring'].iterations}, grid "
                 f"{table.budgets['grid'].iterations} iterations", fontsize=9)
    return plot.save(fig, path)


def samples_gif(path: str, table: Table) -> str:
    """The same panels over training (the kept frames of the table's first seed); saved."""
    first = table.results[table.rows[0], DATASETS[0], table.seeds[0]]
    return plot.save_gif(
        path, range(len(first["frames"])),
        lambda axes, frame: draw_samples(axes, table.results, table.rows, table.seeds[0],
                                         frame),
        fps=3, size=(2.1, 2.3), dpi=50, panels=(len(table.rows), len(DATASETS)))


# ---------------------------------------------------------------------------------------------
# The study's claims

@dataclasses.dataclass
class Claims:
    """What the study claims of the plain GAN and PacGAN2 (means over the seeds), each a bool.

    sharp                  GAN and PacGAN2 reach 90 % high quality on both data sets
    pacgan2_ring_modes     PacGAN2 captures >= 7.8 of 8 ring modes
    pacgan2_grid_modes     PacGAN2 captures >= 23 of 25 grid modes
    gan_fewer_modes        GAN captures fewer modes than PacGAN2 on both
    """

    sharp: bool
    pacgan2_ring_modes: bool
    pacgan2_grid_modes: bool
    gan_fewer_modes: bool

    TEXT = {"sharp": "GAN and PacGAN2 reach 90% high quality on both data sets",
            "pacgan2_ring_modes": "PacGAN2 captures >= 7.8 of 8 ring modes",
            "pacgan2_grid_modes": "PacGAN2 captures >= 23 of 25 grid modes",
            "gan_fewer_modes": "GAN captures fewer modes than PacGAN2 on both"}

    @property
    def all_hold(self) -> bool:
        return all(dataclasses.astuple(self))

    def describe(self) -> str:
        """A line per claim: holds or FAILS."""
        return "\n".join(f"  {'holds' if getattr(self, name) else 'FAILS'}: {text}"
                         for name, text in self.TEXT.items())


def check_claims(table: Table) -> Claims:
    """The claims of Claims, read from a table with the rows "GAN" and "PacGAN2"."""
    if not {"GAN", "PacGAN2"} <= set(table.rows):
        raise ValueError(f"check_claims: the table needs the rows 'GAN' and 'PacGAN2', has "
                         f"{list(table.rows)}")
    s = table.summary
    gan_ring, gan_grid = s["GAN", "ring"], s["GAN", "grid"]
    pac_ring, pac_grid = s["PacGAN2", "ring"], s["PacGAN2", "grid"]
    return Claims(
        sharp=min(x["high_quality_percent"][0]
                  for x in (gan_ring, gan_grid, pac_ring, pac_grid)) >= 90,
        pacgan2_ring_modes=pac_ring["modes_covered"][0] >= 7.8,
        pacgan2_grid_modes=pac_grid["modes_covered"][0] >= 23,
        gan_fewer_modes=(gan_ring["modes_covered"][0] < pac_ring["modes_covered"][0]
                         and gan_grid["modes_covered"][0] < pac_grid["modes_covered"][0]))
