"""The mode-collapse benchmark of the literature: its data, models, training protocol and score.

VEEGAN (Srivastava et al., 2017) and PacGAN (Lin, Khetan, Fanti & Oh, 2018, Table 1) measure
mode collapse on two mixtures of 2D Gaussians with a fixed training set of 100,000 points:

    ring   8 Gaussians, centres (cos 2 pi k / 8, sin 2 pi k / 8), std 0.01
    grid   25 Gaussians, centres {-4, -2, 0, 2, 4}^2, std 0.05

and score 2,500 generated samples with ``minigan.metrics.mode_coverage``: a sample is *high
quality* within 3 std of its nearest centre, a mode is *captured* by one high-quality sample,
and the *reverse KL* compares the high-quality samples' histogram over the modes with the
uniform one.

PacGAN's models: G maps z in R^2, z ~ N(0, I), through 4 hidden layers of 400 units with
BatchNorm and ReLU to x in R^2; D is 3 hidden maxout layers (200 units, 5 pieces) whose input is
m samples concatenated (``minigan.nn.Pack``), then a linear logit. Adam(lr 1e-4, beta1 0.8),
100 packed examples a batch, 400 epochs of the 100,000 points. ``Budget`` holds these numbers
(``PAPER``); a chapter may choose a smaller one.

A ``Setting`` is what a row of a results table changes (objective, packing, a remedy);
``train_and_score`` trains one (data set, setting, budget, seed) and scores it;
``run_trials`` runs many of them, on several processes when asked; ``summarise`` gives the
mean and standard error over trials, as the paper reports them.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import math
import multiprocessing
import os
import sys
import time

from minigan import arguments
from minigan import backend as B
from minigan import checkpoint, ganlab
from minigan.data.toy import Grid, Ring
from minigan.gan import GAN
from minigan.losses import get_objective
from minigan.metrics import mode_coverage, precision_recall_density_coverage
from minigan.nn import BatchNorm1d, Dense, Maxout, MinibatchStdDev, Pack, ReLU, Sequential
from minigan.nn.spectral import SpectralNorm
from minigan.optim import Adam, ClippedAdam
from minigan.penalty import GradientPenalty

TRAIN_POINTS = 100_000          # the fixed training set
NUM_SAMPLES = 2_500             # samples scored per trial
LATENT_DIM = 2                  # z ~ N(0, I_2)


def make_dataset(name: str):
    """The benchmark's mixture called ``name``: "ring" or "grid" (see the module docstring)."""
    if name == "ring":
        return Ring(num_modes=8, radius=1.0, std=0.01)
    if name == "grid":
        return Grid(size=5, spacing=2.0, std=0.05)
    raise ValueError(f"make_dataset: name must be 'ring' or 'grid', got {name!r}")


@dataclasses.dataclass(frozen=True)
class Setting:
    """What one row of a mode-collapse table changes in the non-saturating GAN.

    objective        a name from minigan.losses.OBJECTIVE_NAMES
    pack             m of PacGAN: D judges m samples at once (1: the plain GAN)
    label_smoothing  one-sided: D's real target is 1 - label_smoothing (Salimans et al., 2016)
    spectral_norm    every layer of D spectrally normalised (Miyato et al., 2018)
    minibatch_std    the batch's mean std appended after D's first layer (Karras et al., 2018)
    lr_g_factor, lr_d_factor   the budget's learning rate times these, per player (two
                     time-scales, Heusel et al., 2017: D faster than G)
    clip             WGAN's weight clipping of D to [-clip, clip] after every step (0: none)
    d_steps          discriminator steps per generator step (k of Algorithm 1)
    penalty          a gradient penalty on D (minigan.penalty): "" (none), "r1", "r2" or
                     "wgan-gp", with weight ``penalty_weight`` (gamma or lambda)
    lr, betas        both players' Adam rate and betas, replacing the budget's (0 and (): the
                     budget's lr times the factors above, and (beta1, 0.999)) -- for a row
                     with a published optimiser of its own (WGAN-GP: 1e-4, (0.5, 0.9))

    The fields after d_steps appear in repr() only when set, so a setting without them has the
    repr, and run_trials the file names, it had before they existed.
    """

    objective: str = "non-saturating"
    pack: int = 1
    label_smoothing: float = 0.0
    spectral_norm: bool = False
    minibatch_std: bool = False
    lr_g_factor: float = 1.0
    lr_d_factor: float = 1.0
    clip: float = 0.0
    d_steps: int = 1
    penalty: str = ""
    penalty_weight: float = 0.0
    lr: float = 0.0
    betas: tuple = ()

    def __repr__(self) -> str:
        later = ("penalty", "penalty_weight", "lr", "betas")
        shown = [f for f in dataclasses.fields(self)
                 if f.name not in later or getattr(self, f.name) != f.default]
        return (f"{type(self).__name__}("
                + ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in shown) + ")")


@dataclasses.dataclass(frozen=True)
class Budget:
    """Models, optimiser and length of one trial.

    g_hidden, g_layers        G's hidden width and number of hidden (Dense, BatchNorm, ReLU) blocks
    g_batchnorm               whether those blocks have BatchNorm (PacGAN's do)
    d_hidden, d_layers, d_pieces   D's maxout width, number of maxout layers, pieces per unit
    batch                     packed examples per batch (D sees ``batch`` examples, G makes
                              batch * m samples)
    lr, beta1                 Adam's rate and first-moment decay (beta2 = 0.999)
    iterations                generator steps
    schedule                  "constant", or "cosine": lr * (1 + cos(pi t / T)) / 2 at step t
                              (the rate falls to 0 at the end, which lets G settle on the modes)
    """

    g_hidden: int = 400
    g_layers: int = 4
    g_batchnorm: bool = True
    d_hidden: int = 200
    d_layers: int = 3
    d_pieces: int = 5
    batch: int = 100
    lr: float = 1e-4
    beta1: float = 0.8
    iterations: int = 400 * TRAIN_POINTS // 100
    schedule: str = "constant"


#: PacGAN's published protocol: 400 epochs of 1,000 batches.
PAPER = Budget()

#: Rows with a gradient penalty (minigan.penalty) for a mode-collapse table, beside the
#: Wasserstein critic with weight clipping (Setting(objective="wasserstein", clip=0.01,
#: d_steps=5)). WGAN-GP as Gulrajani et al. (2017) run it on 2-D mixtures (gan_toy.py of their
#: code): five critic steps per generator step, Adam betas (0.5, 0.9) for both players and
#: lambda = 0.1; the rate is the budget's, as for every row. "WGAN-GP, lambda 10": their image
#: setting's lambda at the same rate; "WGAN-GP, lambda 10, rate 1e-4": their image setting whole,
#: which needs far more generator steps than a table's budget gives (chapter 5 shows both).
#: GAN + R1: the non-saturating GAN with R1 on the real batch (Mescheder et al., 2018); gamma =
#: 0.1 suits 2-D data of unit scale (their gamma = 10 is for images of thousands of pixels).
PENALTY_ROWS = {
    "WGAN-GP": Setting(objective="wasserstein", d_steps=5, penalty="wgan-gp",
                       penalty_weight=0.1, betas=(0.5, 0.9)),
    "WGAN-GP, lambda 10": Setting(objective="wasserstein", d_steps=5, penalty="wgan-gp",
                                  penalty_weight=10.0, betas=(0.5, 0.9)),
    "WGAN-GP, lambda 10, rate 1e-4": Setting(objective="wasserstein", d_steps=5,
                                             penalty="wgan-gp", penalty_weight=10.0, lr=1e-4,
                                             betas=(0.5, 0.9)),
    "GAN + R1": Setting(penalty="r1", penalty_weight=0.1),
}


def build_generator(budget: Budget):
    """G: z (N, 2) -> x (N, 2): ``g_layers`` x (Dense, BatchNorm1d, ReLU), then Dense
    (without the BatchNorm1d when ``budget.g_batchnorm`` is False)."""
    layers, width = [], LATENT_DIM
    for _ in range(budget.g_layers):
        norm = [BatchNorm1d(budget.g_hidden)] if budget.g_batchnorm else []
        layers += [Dense(width, budget.g_hidden), *norm, ReLU()]
        width = budget.g_hidden
    return Sequential(*layers, Dense(width, 2))


def build_discriminator(budget: Budget, setting: Setting = Setting()):
    """D: x (N, 2) -> logits (N / m, 1): Pack(m), ``d_layers`` maxout layers, a Dense logit.

    With ``setting.spectral_norm`` every maxout and the logit layer are spectrally normalised;
    with ``setting.minibatch_std`` the batch's spread joins the first layer's output.
    """
    wrap = SpectralNorm if setting.spectral_norm else (lambda layer: layer)
    layers = [Pack(setting.pack)] if setting.pack > 1 else []
    width = 2 * setting.pack
    for i in range(budget.d_layers):
        layers.append(wrap(Maxout(width, budget.d_hidden, budget.d_pieces)))
        width = budget.d_hidden
        if i == 0 and setting.minibatch_std:
            layers.append(MinibatchStdDev())
            width += 1
    return Sequential(*layers, wrap(Dense(width, 1)))


def build_gan(dataset: str, setting: Setting, budget: Budget, train_points=None) -> GAN:
    """The GAN of one trial, built from minigan's current seed (call ``B.seed`` first).

    train_points: the fixed training set (TRAIN_POINTS, 2); drawn from the data set if None.
    """
    if train_points is None:
        train_points = make_dataset(dataset).sample(TRAIN_POINTS)
    G, D = build_generator(budget), build_discriminator(budget, setting)
    betas = tuple(setting.betas) or (budget.beta1, 0.999)
    lr = setting.lr or budget.lr
    lr_g, lr_d = lr * setting.lr_g_factor, lr * setting.lr_d_factor
    d_optimizer = (ClippedAdam(D.parameters(), clip=setting.clip, lr=lr_d, betas=betas)
                   if setting.clip else Adam(D.parameters(), lr=lr_d, betas=betas))
    return GAN(G, D, train_points, latent_dim=LATENT_DIM, batch_size=budget.batch * setting.pack,
               objective=get_objective(setting.objective,
                                       label_smoothing=setting.label_smoothing),
               d_steps=setting.d_steps, d_optimizer=d_optimizer,
               g_optimizer=Adam(G.parameters(), lr=lr_g, betas=betas),
               penalty=(GradientPenalty(setting.penalty, setting.penalty_weight)
                        if setting.penalty else None))


def learning_rate_schedule(gan: GAN, budget: Budget):
    """A GAN.train callback that sets both optimizers' rates for the next step (cosine decay),
    or None for a constant rate."""
    if budget.schedule == "constant":
        return None
    if budget.schedule != "cosine":
        raise ValueError(f"Budget.schedule must be 'constant' or 'cosine', got "
                         f"{budget.schedule!r}")
    base = {opt: opt.lr for opt in (gan.g_optimizer, gan.d_optimizer)}

    def set_rates(g):
        factor = 0.5 * (1 + math.cos(math.pi * min(g.iteration / budget.iterations, 1.0)))
        for opt, lr in base.items():
            opt.lr = lr * factor
    return set_rates


def generated_samples(gan: GAN, n: int = NUM_SAMPLES):
    """n samples of G in eval mode (BatchNorm's running statistics): host float64 (n, 2)."""
    return B.to_numpy(gan.sample(n)).astype(B.np.float64)


def train_and_score(dataset: str, setting: Setting, budget: Budget, seed: int,
                    num_frames: int = 0, num_views: int = 0) -> dict:
    """Train one trial and score it.

    Returns {"dataset", "setting", "seed", "metrics" (mode_coverage of NUM_SAMPLES samples),
    "fidelity" (precision, recall, density, coverage of the samples against as many fresh real
    points: minigan.metrics.precision_recall_density_coverage), "samples" (NUM_SAMPLES, 2) host
    float64, "seconds", "history" (GAN.history), "frames": [(iteration, samples (500, 2))] at
    ``num_frames`` evenly spaced iterations (and the start), "views": GAN Lab's views
    (``minigan.ganlab.snapshot``) at ``num_views`` evenly spaced iterations (and the start)}.
    The run is fixed by ``seed``: data, initialisation and noise all come from minigan's
    generator seeded with it (the views draw nothing from it).
    """
    B.seed(seed)
    data = make_dataset(dataset)
    train_points = data.sample(TRAIN_POINTS)
    gan = build_gan(dataset, setting, budget, train_points)
    callbacks = [c for c in (learning_rate_schedule(gan, budget),) if c is not None]
    frames, views = [], []
    if num_frames:
        every = max(1, budget.iterations // num_frames)
        frames.append((0, generated_samples(gan, 500)))
        callbacks.append(lambda g: frames.append((g.iteration, generated_samples(g, 500)))
                         if g.iteration % every == 0 else None)
    if num_views:
        span = 1.6 * float(B.np.abs(data.centres).max())
        look = {"real": train_points[:500], "z": ganlab.fixed_noise(300, LATENT_DIM, seed=seed),
                "bounds": (-span, span, -span, span), "resolution": 60}
        views_every = max(1, budget.iterations // num_views)
        views.append(ganlab.snapshot(gan, **look))
        callbacks.append(lambda g: views.append(ganlab.snapshot(g, **look))
                         if g.iteration % views_every == 0 else None)
    started = time.perf_counter()
    gan.train(budget.iterations, callbacks=callbacks)
    seconds = time.perf_counter() - started
    samples = generated_samples(gan)
    real = B.to_numpy(data.sample(NUM_SAMPLES)).astype(B.np.float64)     # after training
    return {"dataset": dataset, "setting": setting, "seed": seed, "samples": samples,
            "metrics": mode_coverage(samples, data.centres, data.std), "seconds": seconds,
            "fidelity": precision_recall_density_coverage(real, samples), "frames": frames,
            "views": views, "history": {k: list(v) for k, v in gan.history.items()}}


def _trial(arguments):
    """train_and_score(*arguments) on NumPy in float32: the work of one process of the pool."""
    B.use("numpy")
    B.set_dtype("float32")
    return train_and_score(*arguments)


@contextlib.contextmanager
def _single_threaded_blas():
    """Environment for worker processes: one BLAS/OpenMP thread each (set before they import
    NumPy), so that k processes on k cores do not oversubscribe them."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: "1" for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _main_script_hidden():
    """While the block runs, new spawned processes do not re-run the calling script.

    A spawned process imports the parent's ``__main__`` -- by its ``__spec__``, else its
    ``__file__`` -- before it runs a task. A chapter is a script whose cells run as they are
    imported, so each worker would run the whole chapter again; the workers need only
    minigan.mode_collapse, which they import themselves.
    """
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__spec__", "__file__")
             if main is not None and hasattr(main, name)}
    try:
        if "__spec__" in saved:
            main.__spec__ = None
        if "__file__" in saved:
            del main.__file__
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


def trial_path(folder, trial) -> str:
    """Where run_trials keeps the result of ``trial`` in ``folder``: the data set, the seed and a
    digest of every argument, so that a changed setting or budget is never mistaken for it."""
    digest = hashlib.sha1(repr(tuple(trial)).encode()).hexdigest()[:16]
    return os.path.join(folder, f"{trial[0]}-seed{trial[3]}-{digest}.npz")


#: What a saved trial is called in its file (minigan.checkpoint.save_data's ``kind``).
TRIAL_KIND = "mode-collapse-trial"
_RESULT_KEYS = ("dataset", "setting", "seed", "samples", "metrics", "seconds", "fidelity",
                "frames", "views", "history")


def _save_result(path, result) -> None:
    """Write one trial's result atomically as JSON and arrays (minigan.checkpoint.save_data:
    loading it runs no code); the Setting is stored as its fields."""
    stored = dict(result, setting=dataclasses.asdict(result["setting"]))
    checkpoint.save_data(path, stored, TRIAL_KIND)


def _load_result(path, trial):
    """The result of ``trial`` saved by _save_result, or None if there is none.

    A file that is not such a result -- empty, truncated, foreign, of another trial, or missing
    an entry -- is not used: a line on stderr says so and the trial is trained again (its result
    then replaces the file)."""
    if not os.path.exists(path):
        old = os.path.splitext(path)[0] + ".pkl"         # what earlier versions wrote
        if os.path.exists(old):
            print(f"run_trials: {old} is a pickle, which minigan no longer loads (unpickling "
                  f"can run code); training the trial again", file=sys.stderr, flush=True)
        return None
    try:
        result = checkpoint.load_data(path, TRIAL_KIND)
    except checkpoint.CheckpointError as e:
        print(f"run_trials: {e}; training the trial again", file=sys.stderr, flush=True)
        return None
    try:
        _check_result(result, trial)
    except (ValueError, TypeError) as e:
        print(f"run_trials: {path}: not this trial's saved result ({e}); training it again",
              file=sys.stderr, flush=True)
        return None
    result["setting"] = Setting(**result["setting"])
    return result


def _check_result(result, trial) -> None:
    """Raise ValueError unless ``result`` (as load_data returns it) is the result of ``trial``."""
    if not isinstance(result, dict) or any(key not in result for key in _RESULT_KEYS):
        raise ValueError(f"expected a dict with entries {', '.join(_RESULT_KEYS)}")
    fields = {f.name for f in dataclasses.fields(Setting)}
    setting = result["setting"]
    if not isinstance(setting, dict) or set(setting) != fields:
        raise ValueError("its setting is not a Setting's fields")
    saved = (result["dataset"], Setting(**setting), result["seed"])
    if saved != (trial[0], trial[1], trial[3]):
        raise ValueError(f"it holds data set {saved[0]!r}, seed {saved[2]!r}, {saved[1]}")
    samples = result["samples"]
    if (not isinstance(samples, B.np.ndarray) or samples.ndim != 2 or samples.shape[1] != 2
            or samples.dtype.kind != "f"):
        raise ValueError("its samples are not an (n, 2) float array")
    for group, keys in (("metrics", ("modes_covered", "high_quality_fraction", "reverse_kl")),
                        ("fidelity", ("precision", "recall", "density", "coverage"))):
        if not isinstance(result[group], dict) or any(k not in result[group] for k in keys):
            raise ValueError(f"its {group} lack one of {', '.join(keys)}")


def run_trials(trials, workers: int = 1, on_result=None, folder=None) -> list:
    """Run ``trials`` -- tuples of train_and_score's arguments -- and return their results in
    the same order.

    workers > 1 runs them on that many fresh processes (each single-threaded, on NumPy in
    float32); trials are independent, so this is the same computation, ``workers`` times as
    fast on as many cores. workers == 1 runs them here, on the active backend.
    ``on_result(index, result)`` is called as each trial finishes (e.g. to print a line).
    With ``folder`` every finished trial is saved there (``trial_path``) and a trial already
    saved is loaded instead of trained: a long table stopped half-way continues where it was.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"run_trials: workers must be a positive int, got {workers!r}")
    if on_result is not None and not callable(on_result):
        raise TypeError(f"run_trials: on_result must be a function on_result(index, result), "
                        f"got {on_result!r}")
    if folder is not None:                  # checked before any trial runs, not after the first
        folder = arguments.path(folder, "folder", "run_trials")
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise ValueError(f"run_trials: folder {folder!r} is a file, not a folder")
        existing = folder
        while existing and not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.access(existing or ".", os.W_OK | os.X_OK):
            raise PermissionError(f"run_trials: cannot write trial results under {folder!r} "
                                  f"({existing or '.'!r} is not writable)")
    trials = [tuple(t) for t in trials]
    results = [None] * len(trials)

    def finished(i, result, loaded=False):
        results[i] = result
        if folder is not None and not loaded:
            _save_result(trial_path(folder, trials[i]), result)
        if on_result:
            on_result(i, result)

    todo = []
    for i, trial in enumerate(trials):
        saved = None if folder is None else _load_result(trial_path(folder, trial), trial)
        if saved is None:
            todo.append(i)
        else:
            finished(i, saved, loaded=True)
    if workers == 1 or not todo:
        for i in todo:
            finished(i, train_and_score(*trials[i]))
        return results
    with _single_threaded_blas(), _main_script_hidden(), concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_trial, trials[i]): i for i in todo}
        for future in concurrent.futures.as_completed(futures):
            finished(futures[future], future.result())
    return results


def summarise(results) -> dict:
    """Mean and standard error over trials of the three metrics, as PacGAN's Table 1 gives them.

    results: train_and_score results (or any dicts with a "metrics" entry from mode_coverage).
    Returns {"modes_covered", "high_quality_percent", "reverse_kl": (mean, standard error)},
    and the same for "precision", "recall", "density", "coverage" when the results hold them;
    the standard error is std / sqrt(n) with the n - 1 (sample) std, 0 for a single trial.
    The reverse KL is undefined for a trial without one high-quality sample: such trials are
    left out of its mean (nan when every trial is).
    """
    np = B.np
    if not results:
        raise ValueError("summarise: no trial results given")
    out = {}
    columns = [("modes_covered", "metrics", "modes_covered", 1),
               ("high_quality_percent", "metrics", "high_quality_fraction", 100),
               ("reverse_kl", "metrics", "reverse_kl", 1)]
    if all("fidelity" in r for r in results):
        columns += [(key, "fidelity", key, 1)
                    for key in ("precision", "recall", "density", "coverage")]
    for name, group, key, scale in columns:
        values = np.array([r[group][key] for r in results], dtype=np.float64) * scale
        values = values[np.isfinite(values)]
        if values.size == 0:
            out[name] = (math.nan, math.nan)
            continue
        error = values.std(ddof=1) / math.sqrt(values.size) if values.size > 1 else 0.0
        out[name] = (float(values.mean()), float(error))
    return out
