"""How to set a GAN's learning rates (chapter 6, Q4; document 004 §6.2, 003 Q1).

Adam (``minigan.optim.Adam``) moves a parameter by about lr per step whatever its betas, since
m_hat / sqrt(v_hat) is a gradient divided by its own running RMS; what sets a GAN's training is
the pair (lr_G, lr_D). Measured on the toy GAN of chapter 6 (``minigan.gan_vs_vae.mlp``) on the
8-Gaussian ring, and on chapter 4's DCGAN on the built-in digits:

    learning_rate_study(settings, seed) -> LearningRateStudy   the lr_G x lr_D grid, the diagonal
                                           lr_G = lr_D over seeds, beta1 0.5 vs 0.9, Adam's
                                           step size against lr and the betas
    dcgan_learning_rate_study(settings, judge, seed) -> DcganStudy   the grid on the DCGAN,
                                           scored through Q1's digit classifier
    estimate_dcgan_seconds(settings, judge, seed)    its cost, from a short timed probe

Every run ends in a *regime*: converged, slow, collapsed (mode collapse) or diverged (NaN, Inf,
or samples that fled the data) -- ``lr_regime``, ``dcgan_regime``.
"""
from __future__ import annotations

import dataclasses
import time

from minigan import backend as B
from minigan import plot
from minigan.data import Ring, load_digits
from minigan.gan import GAN, TrainingDiverged
from minigan.gan_vs_vae import TOY_LATENT_DIM, TOY_LR, TOY_STD, DigitJudge, mlp, score
from minigan.metrics import class_histogram, fid_from_features, precision_recall
from minigan.models import dcgan_discriminator, dcgan_generator
from minigan.optim import Adam

np = B.np                               # host arithmetic on samples and scores

ADAM_BETAS = ((0.5, 0.999), (0.9, 0.999), (0.5, 0.99), (0.0, 0.999), (0.9, 0.9))
BETA1_VALUES = (0.5, 0.9)               # DCGAN's choice and Adam's default, at lr = TOY_LR
CONVERGED_MODES = 7                     # of the ring's 8: at most one mode missing ...
CONVERGED_QUALITY = 0.3                 # ... and >= 30% of the samples within 3 std of a mode
FLED_RADIUS = 2.0                       # median |x| beyond 2 ring radii: the samples fled
REGIMES = {"converged": "C", "slow": "S", "collapsed": "M", "diverged": "D"}   # letters drawn
DCGAN_LATENT_DIM = 100
DCGAN_MIN_DIGIT = 0.03                  # every digit >= 3% of the samples (chapter 4's rule) ...
DCGAN_CONVERGED_FD = 20.0               # ... and FD to held-out digits below this: "converged"


@dataclasses.dataclass(frozen=True)
class Settings:
    """The toy GAN's grid: rates (lr_G and lr_D each), iterations, scored every eval_every on
    samples points; width, batch of G and D; seeds of the diagonal and beta1 runs; adam_rates,
    adam_iterations of the step-size measurement. dcgan_*: the same grid on the DCGAN
    (channels (c0, c1) of G; D mirrors them), and digit_train: its training digits."""

    rates: tuple = (1e-4, 4e-4, 1.6e-3, 6.4e-3, 2.56e-2)
    iterations: int = 3000
    eval_every: int = 250
    width: int = 64
    batch: int = 64
    seeds: int = 3
    samples: int = 1000
    adam_rates: tuple = (1e-4, 1e-3, 1e-2)
    adam_iterations: int = 300
    dcgan_rates: tuple = (5e-5, 2e-4, 8e-4, 3.2e-3)
    dcgan_iterations: int = 600
    dcgan_eval_every: int = 100
    dcgan_channels: tuple = (64, 32)
    dcgan_batch: int = 64
    dcgan_samples: int = 1000
    digit_train: int = 10000


QUICK = Settings(rates=(1e-4, 2.56e-2), iterations=100, eval_every=50, width=32, batch=64,
                 seeds=1, samples=200, adam_rates=(1e-4, 1e-2), adam_iterations=60,
                 dcgan_rates=(2e-4, 3.2e-3), dcgan_iterations=4, dcgan_eval_every=2,
                 dcgan_channels=(8, 4), dcgan_batch=16, dcgan_samples=200, digit_train=500)


# ---------------------------------------------------------------------------------------------
# The toy GAN on the ring

@dataclasses.dataclass
class LrRun:
    """One toy-GAN run: its rates, its scores every ``eval_every`` iterations, the final
    precision and recall, and its regime."""

    lr_g: float
    lr_d: float
    beta1: float
    iteration: list = dataclasses.field(default_factory=list)
    modes: list = dataclasses.field(default_factory=list)
    high_quality: list = dataclasses.field(default_factory=list)
    diverged: bool = False
    precision: float = 0.0
    recall: float = 0.0
    median_radius: float = float("inf")          # median |x| of the last samples / ring radius
    regime: str = ""


def lr_run(lr_g, lr_d, beta1, settings: Settings, seed: int) -> LrRun:
    """The toy GAN on the 8-Gaussian ring, G and D with Adam(lr_g / lr_d, (beta1, 0.999)).

    Scored every ``eval_every`` iterations on ``samples`` samples: modes covered and
    high-quality fraction (``mode_coverage``); at the end also improved precision and recall
    (``minigan.metrics.precision_recall``, k = 3) against as many real points.
    """
    data = Ring(std=TOY_STD)
    width, n = settings.width, settings.samples
    B.seed(seed)
    G = mlp([TOY_LATENT_DIM, width, width, 2])
    D = mlp([2, width, width, 1])
    gan = GAN(G, D, data.sample, latent_dim=TOY_LATENT_DIM, batch_size=settings.batch,
              g_optimizer=Adam(G.parameters(), lr=lr_g, betas=(beta1, 0.999)),
              d_optimizer=Adam(D.parameters(), lr=lr_d, betas=(beta1, 0.999)))
    real = B.to_numpy(data.sample(n))
    run = LrRun(lr_g, lr_d, beta1)
    while gan.iteration < settings.iterations:
        try:
            gan.train(min(settings.eval_every, settings.iterations - gan.iteration))
        except TrainingDiverged:
            run.diverged = True
            break
        samples = B.to_numpy(gan.sample(n)).astype(np.float64)
        if not np.isfinite(samples).all():
            run.diverged = True
            break
        scored = score(samples, data)
        run.iteration.append(gan.iteration)
        run.modes.append(scored.modes)
        run.high_quality.append(scored.high_quality)
    if not run.diverged:
        pr = precision_recall(real, samples)
        run.precision, run.recall = pr["precision"], pr["recall"]
        run.median_radius = float(np.median(np.linalg.norm(samples, axis=1)) / data.radius)
    run.regime = lr_regime(run)
    return run


def lr_regime(run: LrRun) -> str:
    """converged: >= 7 of the 8 modes covered and >= 30% of the samples on one; slow: the modes
    reached but the samples still spread between them; collapsed: modes missing (mode collapse,
    including a generator that piles everything on one point off the modes); diverged: NaN or
    Inf, or the samples fled (their median distance from the centre over twice the ring's)."""
    if run.diverged or not run.modes or run.median_radius > FLED_RADIUS:
        return "diverged"
    if run.modes[-1] < CONVERGED_MODES:
        return "collapsed"
    return "converged" if run.high_quality[-1] >= CONVERGED_QUALITY else "slow"


def iterations_to_converge(run: LrRun):
    """The first scored iteration at which the run counted as converged (None: never)."""
    for iteration, modes, quality in zip(run.iteration, run.modes, run.high_quality):
        if modes >= CONVERGED_MODES and quality >= CONVERGED_QUALITY:
            return iteration
    return None


def adam_update_sizes(settings: Settings, seed: int) -> dict:
    """How far one Adam step moves G's parameters, per unit of learning rate.

    For each lr in ``adam_rates`` and each (beta1, beta2) in ADAM_BETAS (and eps = 1e-3 once),
    train the toy GAN for ``adam_iterations`` steps and record the root-mean-square change of G's
    parameters per step, divided by lr; the median over the steps after the first 20.
    Returns {(lr, beta1, beta2, eps): ratio}.
    """
    data = Ring(std=TOY_STD)
    width = settings.width
    variants = [(b1, b2, 1e-8) for b1, b2 in ADAM_BETAS] + [(0.5, 0.999, 1e-3)]
    sizes = {}
    for lr in settings.adam_rates:
        for beta1, beta2, eps in variants:
            B.seed(seed)
            G = mlp([TOY_LATENT_DIM, width, width, 2])
            D = mlp([2, width, width, 1])
            gan = GAN(G, D, data.sample, latent_dim=TOY_LATENT_DIM, batch_size=settings.batch,
                      g_optimizer=Adam(G.parameters(), lr=lr, betas=(beta1, beta2), eps=eps),
                      d_optimizer=Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)))
            before = [np.concatenate([B.to_numpy(p.data).ravel() for p in G.parameters()])]
            ratios = []

            def record(gan, before=before, ratios=ratios, lr=lr):
                now = np.concatenate([B.to_numpy(p.data).ravel()
                                      for p in gan.generator.parameters()])
                ratios.append(float(np.sqrt(np.mean((now - before[0]) ** 2))) / lr)
                before[0] = now
            gan.train(settings.adam_iterations, callbacks=[record])
            sizes[(lr, beta1, beta2, eps)] = float(np.median(ratios[20:]))
    return sizes


@dataclasses.dataclass
class LearningRateStudy:
    """Q4 on the toy GAN. The numbers the text cites:

    regime_counts         {regime: runs of the lr_G x lr_D grid in it}
    diagonal_arrivals     {lr: [iteration each seed's run first counted as converged, or None]}
    beta1_high_quality    {beta1: mean final share of samples on a mode over the seeds}
    adam_step_over_lr_min, _max     RMS step of G's parameters / lr over every (beta1, beta2)
                          and lr tried (eps 1e-8)
    adam_step_spread_over_betas     the largest max/min of that ratio at one lr
    adam_step_growth_with_lr        how much larger the step is at the largest lr tried than at
                          the smallest (betas (0.5, 0.999))
    """

    regime_counts: dict
    diagonal_arrivals: dict
    beta1_high_quality: dict
    adam_step_over_lr_min: float
    adam_step_over_lr_max: float
    adam_step_spread_over_betas: float
    adam_step_growth_with_lr: float
    rates: tuple = dataclasses.field(repr=False, default=())
    grid: dict = dataclasses.field(repr=False, default_factory=dict)       # (lr_g, lr_d) -> run
    diagonal: dict = dataclasses.field(repr=False, default_factory=dict)   # lr -> [run per seed]
    beta1: dict = dataclasses.field(repr=False, default_factory=dict)      # beta1 -> [run]
    adam: dict = dataclasses.field(repr=False, default_factory=dict)       # adam_update_sizes
    seconds: float = dataclasses.field(repr=False, default=0.0)


def learning_rate_study(settings: Settings, seed: int) -> LearningRateStudy:
    """The lr_G x lr_D grid (one run each), the diagonal lr_G = lr_D over ``seeds`` seeds (the
    grid's run is the first), beta1 0.5 vs 0.9 at TOY_LR, Adam's steps."""
    rates = settings.rates
    start = time.perf_counter()
    grid = {(lr_g, lr_d): lr_run(lr_g, lr_d, 0.5, settings, seed)
            for lr_g in rates for lr_d in rates}
    diagonal = {lr: [grid[(lr, lr)]] + [lr_run(lr, lr, 0.5, settings, seed + s)
                                        for s in range(1, settings.seeds)]
                for lr in rates}
    beta1 = {b: [lr_run(TOY_LR, TOY_LR, b, settings, seed + s) for s in range(settings.seeds)]
             for b in BETA1_VALUES}
    adam = adam_update_sizes(settings, seed)
    plain = [key for key in adam if key[3] == 1e-8]                  # eps at its default
    by_rate = [[adam[k] for k in plain if k[0] == lr] for lr in settings.adam_rates]
    low, high = min(settings.adam_rates), max(settings.adam_rates)
    return LearningRateStudy(
        regime_counts={r: sum(run.regime == r for run in grid.values()) for r in REGIMES},
        diagonal_arrivals={lr: [iterations_to_converge(r) for r in runs]
                           for lr, runs in diagonal.items()},
        beta1_high_quality={b: float(np.mean([r.high_quality[-1] if r.modes else 0.0
                                              for r in runs])) for b, runs in beta1.items()},
        adam_step_over_lr_min=min(adam[key] for key in plain),
        adam_step_over_lr_max=max(adam[key] for key in plain),
        adam_step_spread_over_betas=max(max(steps) / min(steps) for steps in by_rate),
        adam_step_growth_with_lr=(adam[(high, 0.5, 0.999, 1e-8)] * high
                                  / (adam[(low, 0.5, 0.999, 1e-8)] * low)),
        rates=rates, grid=grid, diagonal=diagonal, beta1=beta1, adam=adam,
        seconds=time.perf_counter() - start)


def format_rate_grid(title: str, grid: dict, rates, cell, width: int) -> str:
    """``title`` and the lr_G x lr_D table of ``grid`` (rows lr_G, columns lr_D): each run's
    regime letter and ``cell(run)``, in columns ``width`` characters wide."""
    lines = [title, "lr_G \\ lr_D " + "".join(f"{lr:>{width}.1e}" for lr in rates)]
    for lr_g in rates:
        cells = [f"{REGIMES[grid[(lr_g, lr_d)].regime]} {cell(grid[(lr_g, lr_d)])}"
                 for lr_d in rates]
        lines.append(f"{lr_g:>11.1e} " + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def format_study(study: LearningRateStudy) -> str:
    """The grid, the diagonal's and beta1's convergence, and Adam's step sizes, as text."""
    lines = [format_rate_grid(
        "Q4: regime after training (rows lr_G, columns lr_D; C converged, S slow, M mode "
        "collapse, D diverged), modes covered / precision / recall", study.grid, study.rates,
        lambda run: f"{run.modes[-1] if run.modes else 0}/8 "
                    f"{run.precision:.2f}/{run.recall:.2f}", 18)]
    for lr, arrivals in study.diagonal_arrivals.items():
        lines.append(f"lr_G = lr_D = {lr:.1e}: converged at iteration "
                     + ", ".join("never" if a is None else str(a) for a in arrivals))
    for b, runs in study.beta1.items():
        arrivals = [iterations_to_converge(r) for r in runs]
        lines.append(f"beta1 = {b}: converged at iteration "
                     + ", ".join("never" if a is None else str(a) for a in arrivals)
                     + "; final high-quality fraction "
                     + ", ".join(f"{r.high_quality[-1]:.2f}" for r in runs if r.high_quality)
                     + "; modes " + ", ".join(str(r.modes[-1]) for r in runs if r.modes))
    ratios = list(study.adam.values())
    lines.append(f"Adam: RMS update per step / lr between {min(ratios):.2f} and "
                 f"{max(ratios):.2f} over every (beta1, beta2, eps) and lr tried")
    return "\n".join(lines)


def figure(path, study: LearningRateStudy) -> str:
    """Precision and recall over the lr grid (regime letters), convergence against lr on the
    diagonal, beta1 0.5 vs 0.9, and Adam's step size against lr for several betas."""
    rates = study.rates
    fig, axes = plot.new_figure(3, 2, (4.4, 3.9))
    for ax, key, title in ((axes[0, 0], "precision", "precision (fidelity)"),
                           (axes[0, 1], "recall", "recall (diversity)")):
        values = np.array([[getattr(study.grid[(g, d)], key) for d in rates] for g in rates])
        image = ax.imshow(values, origin="lower", cmap="viridis", vmin=0, vmax=1)
        fig.colorbar(image, ax=ax, fraction=0.046)
        for i, g in enumerate(rates):
            for j, d in enumerate(rates):
                run = study.grid[(g, d)]
                mode_count = run.modes[-1] if run.modes else 0
                ax.text(j, i, f"{REGIMES[run.regime]}\n{mode_count}/8", ha="center",
                        va="center", fontsize=7, color="white" if values[i, j] < 0.6 else "black")
        labels = [f"{lr:.2g}" for lr in rates]
        ax.set_xticks(range(len(rates)), labels, fontsize=7)
        ax.set_yticks(range(len(rates)), labels, fontsize=7)
        ax.set_xlabel("lr_D")
        ax.set_ylabel("lr_G")
        ax.set_title(f"{title}; C/S/M/D and modes", fontsize=9)
    ax = axes[0, 2]
    never = 1.08 * max(max(run.iteration, default=1) for runs in study.diagonal.values()
                       for run in runs)
    for lr, arrivals in study.diagonal_arrivals.items():
        for k, arrival in enumerate(arrivals):
            ax.scatter(lr * (1 + 0.06 * (k - 1)), never if arrival is None else arrival,
                       marker="x" if arrival is None else "o", s=30,
                       color="tab:red" if arrival is None else "tab:blue")
    ax.axhline(never, color="0.6", linewidth=0.8)
    ax.text(min(rates), never, " never (x)", va="bottom", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("lr_G = lr_D")
    ax.set_ylabel("iterations until converged (C)")
    ax.set_title("003 Q1 'a higher rate trains faster': iterations to converge", fontsize=9)
    ax = axes[1, 0]
    for colour, (b, runs) in zip(("tab:green", "tab:red"), study.beta1.items()):
        for k, run in enumerate(runs):
            ax.plot(run.iteration, run.high_quality, color=colour, linewidth=1,
                    label=f"beta1 = {b}" if k == 0 else None)
    ax.axhline(CONVERGED_QUALITY, color="0.5", linestyle=":", linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("fraction of samples on a mode")
    ax.set_title(f"Adam's beta1 at lr = {TOY_LR:g}", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    variants = sorted({key[1:] for key in study.adam})
    for variant in variants:
        lrs = sorted(lr for (lr, *rest) in study.adam if tuple(rest) == variant)
        steps = [study.adam[(lr, *variant)] * lr for lr in lrs]
        ax.plot(lrs, steps, marker="o", linewidth=1,
                label=f"betas ({variant[0]}, {variant[1]})" + (f", eps {variant[2]:g}"
                                                               if variant[2] != 1e-8 else ""))
    lrs = np.array(sorted({key[0] for key in study.adam}))
    ax.plot(lrs, lrs, color="black", linestyle="--", linewidth=1, label="step = lr")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate lr")
    ax.set_ylabel("RMS change of G's parameters per step")
    ax.set_title("Adam's step against lr, for several betas", fontsize=9)
    ax.legend(fontsize=6)
    axes[1, 2].axis("off")
    axes[1, 2].text(0, 0.5, "regimes over the grid:\n" + "\n".join(
        f"  {letter} {r}: {study.regime_counts[r]}" for r, letter in REGIMES.items())
        + f"\n\nC: >= {CONVERGED_MODES}/8 modes, >= {100 * CONVERGED_QUALITY:.0f}% on a mode\n"
        "S: modes reached, samples still spread\nM: modes missing (mode collapse)\n"
        "D: NaN, or the samples fled the data", fontsize=8, va="center")
    fig.suptitle("Q4  how to set a GAN's learning rates (004 §6.2): the toy GAN on the "
                 "8-Gaussian ring", fontsize=11)
    return plot.save(fig, path)


# ---------------------------------------------------------------------------------------------
# The same grid on chapter 4's DCGAN

@dataclasses.dataclass
class DcganRun:
    """One DCGAN run: its rates, FD to held-out digits and the rarest digit's share every
    ``dcgan_eval_every`` iterations, four samples, its regime."""

    lr_g: float
    lr_d: float
    iteration: list = dataclasses.field(default_factory=list)
    fd: list = dataclasses.field(default_factory=list)
    rarest_digit: list = dataclasses.field(default_factory=list)
    diverged: bool = False
    samples: object = dataclasses.field(repr=False, default=None)    # (4, 1, 28, 28) or None
    regime: str = ""


def _dcgan(lr_g, lr_d, images, settings: Settings, seed: int) -> GAN:
    B.seed(seed)
    c0, c1 = settings.dcgan_channels
    G = dcgan_generator(DCGAN_LATENT_DIM, channels=(c0, c1))
    D = dcgan_discriminator(channels=(c1, c0))
    return GAN(G, D, images, latent_dim=DCGAN_LATENT_DIM, batch_size=settings.dcgan_batch,
               g_optimizer=Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999)),
               d_optimizer=Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999)))


def _score_digits(run: DcganRun, samples, judge: DigitJudge, iteration: int) -> None:
    histogram = class_histogram(judge.classifier.predict_proba(samples), 10)
    run.iteration.append(iteration)
    run.fd.append(fid_from_features(judge.reference_features, judge.classifier.features(samples)))
    run.rarest_digit.append(float(histogram.min()))


def dcgan_lr_run(lr_g, lr_d, images, settings: Settings, judge: DigitJudge,
                 seed: int) -> DcganRun:
    """Chapter 4's DCGAN (``minigan.models``, document 004's dropout D; channels
    ``dcgan_channels``) on ``images`` (N, 1, 28, 28) in [-1, 1], G and D with
    Adam(lr_g / lr_d, (0.5, 0.999)).

    Scored every ``dcgan_eval_every`` iterations on ``dcgan_samples`` samples by ``judge``'s
    classifier: the Frechet distance (FD) of its features to the held-out digits' and the share
    of the rarest digit.
    """
    gan = _dcgan(lr_g, lr_d, images, settings, seed)
    run = DcganRun(lr_g, lr_d)
    while gan.iteration < settings.dcgan_iterations:
        try:
            gan.train(min(settings.dcgan_eval_every, settings.dcgan_iterations - gan.iteration))
        except TrainingDiverged:
            run.diverged = True
            break
        samples = B.to_numpy(gan.sample(settings.dcgan_samples))
        if not np.isfinite(samples).all():
            run.diverged = True
            break
        _score_digits(run, samples, judge, gan.iteration)
    run.samples = samples[:4] if not run.diverged else None
    run.regime = dcgan_regime(run)
    return run


def dcgan_regime(run: DcganRun) -> str:
    """converged: every digit >= 3% of the samples and FD <= DCGAN_CONVERGED_FD; slow: every
    digit drawn but the samples still far from digits; collapsed: a digit under 3% (mode
    collapse); diverged: NaN or Inf."""
    if run.diverged or not run.fd:
        return "diverged"
    if run.rarest_digit[-1] < DCGAN_MIN_DIGIT:
        return "collapsed"
    return "converged" if run.fd[-1] <= DCGAN_CONVERGED_FD else "slow"


def dcgan_images(settings: Settings, seed: int):
    """The DCGAN's training digits: Q1's (``digit_train`` of seed ``seed``), in [-1, 1]."""
    return B.asarray(load_digits(settings.digit_train, seed=seed)[0])


def estimate_dcgan_seconds(settings: Settings, judge: DigitJudge, seed: int,
                           probe_iterations: int = 10) -> float:
    """Seconds the DCGAN grid will take here: ``probe_iterations`` timed iterations and one
    timed scoring of one run, scaled to every run's iterations and scorings (after one
    untimed iteration, which warms the buffers)."""
    images = dcgan_images(settings, seed)
    rate = settings.dcgan_rates[0]
    gan = _dcgan(rate, rate, images, settings, seed)
    gan.train(1)
    start = time.perf_counter()
    gan.train(probe_iterations)
    per_iteration = (time.perf_counter() - start) / probe_iterations
    start = time.perf_counter()
    _score_digits(DcganRun(rate, rate), B.to_numpy(gan.sample(settings.dcgan_samples)), judge, 0)
    per_score = time.perf_counter() - start
    scorings = -(-settings.dcgan_iterations // settings.dcgan_eval_every)
    runs = len(settings.dcgan_rates) ** 2
    return runs * (settings.dcgan_iterations * per_iteration + scorings * per_score)


@dataclasses.dataclass
class DcganStudy:
    """Q4 on the DCGAN. regime_counts: {regime: runs of the grid in it}; diagonal_fd: {lr: the
    final FD of the run with lr_G = lr_D = lr}; real_fd: real digits' FD (the floor)."""

    regime_counts: dict
    diagonal_fd: dict
    real_fd: float
    rates: tuple = dataclasses.field(repr=False, default=())
    grid: dict = dataclasses.field(repr=False, default_factory=dict)    # (lr_g, lr_d) -> run
    seconds: float = dataclasses.field(repr=False, default=0.0)


def dcgan_learning_rate_study(settings: Settings, judge: DigitJudge, seed: int) -> DcganStudy:
    """The lr_G x lr_D grid of ``dcgan_rates`` on the DCGAN, one run each (seed ``seed``)."""
    rates = settings.dcgan_rates
    start = time.perf_counter()
    images = dcgan_images(settings, seed)
    grid = {(lr_g, lr_d): dcgan_lr_run(lr_g, lr_d, images, settings, judge, seed)
            for lr_g in rates for lr_d in rates}
    return DcganStudy(
        regime_counts={r: sum(run.regime == r for run in grid.values()) for r in REGIMES},
        diagonal_fd={lr: grid[(lr, lr)].fd[-1] if grid[(lr, lr)].fd else float("nan")
                     for lr in rates},
        real_fd=judge.real_fd, rates=rates, grid=grid, seconds=time.perf_counter() - start)


def format_dcgan_study(study: DcganStudy) -> str:
    return format_rate_grid(
        "Q4 on the DCGAN: regime (rows lr_G, columns lr_D), FD to held-out digits / share of "
        "the rarest digit", study.grid, study.rates,
        lambda run: f"{run.fd[-1]:.1f}/{run.rarest_digit[-1]:.2f}" if run.fd else "-", 16)


def figure_dcgan(path, study: DcganStudy) -> str:
    """FD and the rarest digit's share over the DCGAN's lr grid (regime letters), FD over
    training on the diagonal lr_G = lr_D, and four samples of every run."""
    rates, grid = study.rates, study.grid
    fig, axes = plot.new_figure(4, 1, (4.4, 4.2))
    labels = [f"{lr:.2g}" for lr in rates]
    panels = ((axes[0, 0], "fd", "FD to held-out digits (log colour)"),
              (axes[0, 1], "rarest_digit", "share of the rarest digit"))
    for ax, key, title in panels:
        values = np.array([[getattr(grid[(g, d)], key)[-1] if getattr(grid[(g, d)], key)
                            else np.nan for d in rates] for g in rates])
        if key == "fd":                 # from real digits' FD (best) to 100 (no digits)
            values = np.log10(np.maximum(values, 1e-3))
            limits = (np.log10(study.real_fd), 2.0)
        else:                           # from none of the samples to a fair 10% each
            limits = (0.0, 0.1)
        image = ax.imshow(values, origin="lower", cmap="viridis_r" if key == "fd" else "viridis",
                          vmin=limits[0], vmax=limits[1])
        fig.colorbar(image, ax=ax, fraction=0.046,
                     label="log10 FD" if key == "fd" else "fraction of samples")
        for i, g in enumerate(rates):
            for j, d in enumerate(rates):
                run = grid[(g, d)]
                series = getattr(run, key)
                text = REGIMES[run.regime]
                if series:
                    text += f"\n{series[-1]:.1f}" if key == "fd" else f"\n{series[-1]:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white")
        ax.set_xticks(range(len(rates)), labels, fontsize=7)
        ax.set_yticks(range(len(rates)), labels, fontsize=7)
        ax.set_xlabel("lr_D")
        ax.set_ylabel("lr_G")
        ax.set_title(title, fontsize=9)
    ax = axes[0, 2]
    for lr in rates:
        run = grid[(lr, lr)]
        if run.fd:
            ax.plot(run.iteration, run.fd, marker="o", markersize=3, linewidth=1,
                    label=f"lr_G = lr_D = {lr:.2g} ({REGIMES[run.regime]})")
    ax.axhline(DCGAN_CONVERGED_FD, color="0.5", linestyle=":", linewidth=1)
    ax.axhline(study.real_fd, color="black", linestyle="--", linewidth=0.8, label="real digits")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("FD to held-out digits")
    ax.set_title("FD over training on the diagonal lr_G = lr_D", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[0, 3]
    for i, g in enumerate(rates):
        for j, d in enumerate(rates):
            run = grid[(g, d)]
            if run.samples is None:
                ax.text(j, i, "NaN", ha="center", va="center", fontsize=8)
            else:
                ax.imshow(plot.tile(run.samples, 2, (-1.0, 1.0)), cmap="gray", vmin=0,
                          vmax=1, extent=(j - 0.45, j + 0.45, i - 0.45, i + 0.45))
    ax.set_xlim(-0.5, len(rates) - 0.5)
    ax.set_ylim(-0.5, len(rates) - 0.5)
    ax.set_xticks(range(len(rates)), labels, fontsize=7)
    ax.set_yticks(range(len(rates)), labels, fontsize=7)
    ax.set_xlabel("lr_D")
    ax.set_ylabel("lr_G")
    ax.set_title("four samples of each run", fontsize=9)
    fig.suptitle("Q4 on chapter 4's DCGAN (built-in digits; C converged, S slow, M a digit "
                 f"under {100 * DCGAN_MIN_DIGIT:.0f}%, D diverged)", fontsize=11)
    return plot.save(fig, path)
