"""What do my losses mean? A run diagnosed from its own numbers.

A GAN's losses do not fall to zero when training goes well, so they are hard to read. What they
do say follows from the theory of the chapters. For the minimax and non-saturating games
(chapter 3, Theorem 1) the optimal discriminator is D* = p_data / (p_data + p_g); when
p_g = p_data it is 1/2 everywhere and D's loss, -E log D(x) - E log(1 - D(G(z))), is
log 4 = 1.386. So:

    near equilibrium   D(x) ~ D(G(z)) ~ 1/2, D's loss ~ log 4: D cannot tell the two apart
    D overpowering G   D(G(z)) -> 0 and D's loss -> 0: D rejects every sample. With the
                       saturating loss log(1 - D(G(z))) G's gradient is D(G(z)) per sample and
                       vanishes (chapter 5, study 3); G's loss then reads 0
    G fooling D        D(G(z)) above D(x) and D's loss above log 4: D does worse than a coin
    oscillating        a period in the losses (the autocorrelation of a detrended window)
    mode collapse      the samples spread much less than the data, or cover little of it while
                       they sit on it -- often while D's numbers look calm (chapter 5, study 2)
    diverging          NaN or Inf
    learning           none of these: D ahead of G, G still pulled

The least-squares game has the same D* (targets 0 and 1), so the same reading with D's loss 1/4
at equilibrium; hinge has margins -1 and +1 and D's loss 2 at equilibrium (outputs 0). A
Wasserstein critic's output is no probability: -D's loss estimates W(p_data, p_g) (up to the
critic's Lipschitz constant), so it should fall over training; its level means nothing, and a
critic whose outputs keep growing is not held Lipschitz (``critic unbounded``).

    diagnose(history, objective, samples=None, data=None)  -> Diagnosis (regime, message,
                                                              evidence, advice, chapter)
    timeline(history, objective, every)                    -> [(iteration, Diagnosis)]
    Monitor(objective)                                      GAN.train's printed diagnosis
    replay(history, objective, every)                       what GAN.train would have printed
    python -m minigan.diagnosis CHECKPOINT ...              a saved run's diagnosis over time
    cause(name, seed)                                       a regime caused on purpose (toy 1D)
                                                            -> CausedRun; describe(run) says it
    regime_study(seed, num_seeds)                           every regime caused, over seeds
                                                            -> RegimeStudy; describe_study(study)
    figure(path, runs), samples_figure(path, runs)          curves with the diagnosis marked

Every number is read over a window of the recent history (the last ``WINDOW_FRACTION`` of it,
at least ``MIN_WINDOW`` iterations) with medians, so one noisy batch changes nothing. Each
threshold below is a named constant with the reason for its value. A diagnosis reads the host
lists of ``GAN.history``; GAN.train makes one at each progress line, after the read that line
makes anyway, so nothing more is read from a device.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import operator

from minigan import arguments
from minigan import backend as B
from minigan import checkpoint

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")

# Regimes (the ``regime`` field of a Diagnosis) and their titles.
TOO_EARLY = "too-early"
DIVERGING = "diverging"
D_OVERPOWERS_G = "d-overpowers-g"
CRITIC_UNBOUNDED = "critic-unbounded"
OSCILLATING = "oscillating"
MODE_COLLAPSE = "mode-collapse"
G_FOOLS_D = "g-fools-d"
EQUILIBRIUM = "equilibrium"
LEARNING = "learning"
TITLES = {TOO_EARLY: "too early to tell", DIVERGING: "diverging",
          D_OVERPOWERS_G: "D overpowering G", CRITIC_UNBOUNDED: "critic unbounded",
          OSCILLATING: "oscillating", MODE_COLLAPSE: "mode collapse suspected",
          G_FOOLS_D: "G fooling D", EQUILIBRIUM: "near equilibrium", LEARNING: "learning"}
REGIMES = tuple(TITLES)
#: The regimes that call for a change to the run; the others are what a healthy run shows.
ALARMS = (DIVERGING, D_OVERPOWERS_G, CRITIC_UNBOUNDED, OSCILLATING, MODE_COLLAPSE, G_FOOLS_D)

# --- Thresholds, each with its reason ---------------------------------------------------------
#: Fewer iterations than this: too early to tell (the first steps of any run are a transient).
MIN_ITERATIONS = 50
#: The window is the last fifth of the history: recent enough to follow a change of regime,
#: long enough for medians and a period ...
WINDOW_FRACTION = 0.2
#: ... and at least 300 iterations (all of a shorter history): three periods of 100 iterations.
MIN_WINDOW = 300
#: D overpowers G when the median D(G(z)) is below 0.1 (output scaled so that the fake target is
#: 0 and the real one 1): the saturating loss then pulls G with D(G(z)) < 0.1 per sample, under
#: a ninth of the non-saturating pull 1 - D(G(z)) (chapter 5, study 3) ...
D_WINS_OUTPUT = 0.1
#: ... and D's loss is below a quarter of its equilibrium value (log 4 / 4 = 0.35 for the
#: cross-entropy games: D gives the right class a probability of 0.84 or more on average).
D_WINS_LOSS = 0.25
#: Near equilibrium: both median outputs within 0.1 of 1/2 (scaled as above) ...
EQUILIBRIUM_OUTPUT = 0.1
#: ... and D's median loss within 10 % of its equilibrium value (log 4 +- 0.14); at
#: p_g = p_data no D does better than log 4 on average (Theorem 1), and a D 0.1 off 1/2 loses
#: only 2 % more.
EQUILIBRIUM_LOSS = 0.1
#: G fools D when the median D(G(z)) exceeds the median D(x) by more than 0.05 (scaled) and D's
#: loss is above its equilibrium value: D ranks the fakes as more real than the data and does
#: worse than the constant 1/2.
G_FOOLS_MARGIN = 0.05
#: A period is the highest autocorrelation of the detrended window at a lag past its first
#: negative value; above 0.4 it is not batch noise (white noise over 300 iterations gives
#: autocorrelations of about 1/sqrt(200) = 0.07 up to lag 100, their maximum about 0.2) ...
OSCILLATION_AUTOCORRELATION = 0.4
#: ... with at least three periods in the window ...
MIN_PERIODS = 3
#: ... and a period of at least 8 iterations: a lag of a few iterations is step-to-step noise
#: (one player's update answered by the other's on the next batch; a healthy DCGAN with
#: Dropout showed r = 0.42 at lag 3), not the slow exchange of the lead of an unstable game,
#: whose periods are tens of iterations (60 in chapter 6's too-high-rate run).
MIN_PERIOD = 8
#: ... and a swing that matters: the detrended loss's standard deviation above 5 % of D's loss at
#: equilibrium. A dead D holding 1/2 to 5 digits also "oscillates", by 1e-5; chapter 4's healthy
#: DCGAN and cGAN (every target met) swing by 3-3.5 % at periods of 19-25 iterations now and then;
#: chapter 6's too-high-rate run, by 19 %.
OSCILLATION_AMPLITUDE = 0.05
#: Mode collapse: the samples' spread (sqrt of the trace of their covariance) below half the
#: data's: half the width a generator of the data would have ...
COLLAPSE_SPREAD = 0.5
#: ... or under half the data covered (coverage with k = 5, Naeem et al. 2020: 1 - 2^-5 = 0.97
#: for a generator of the data itself) while at least half the samples lie on the data
#: (precision, k = 3): the samples are good but few kinds -- not a generator still far away.
COLLAPSE_COVERAGE = 0.5
COLLAPSE_PRECISION = 0.5
#: Samples or data needed for the collapse check: fewer than 20 give no meaningful neighbours.
MIN_SAMPLES = 20
#: A Wasserstein critic is unbounded when its outputs' median magnitude over the window is 3x
#: that over the first iterations (a fifth of the window) ...
CRITIC_GROWTH = 3.0
#: ... and still growing: 10 % more in the second half of the window than in the first. A
#: Lipschitz critic's outputs level off once the distance it measures stops growing; an
#: unconstrained one's grow with its weights.
CRITIC_STILL_GROWING = 1.1
#: A Wasserstein run is near equilibrium when -D's loss (the estimate of W; its median over the
#: window) fell to a quarter of its peak (the highest median over chunks of a fifth of the
#: window): the distance it measures closed by three quarters.
WASSERSTEIN_CLOSED = 0.25


@dataclasses.dataclass(frozen=True)
class Reference:
    """What an objective's numbers are at the ends of the game: D's output on the fakes and on
    the data when D wins (``fake_target``, ``real_target``; their midpoint is the equilibrium
    output) and D's loss at equilibrium. None for a Wasserstein critic (no such scale)."""
    fake_target: float
    real_target: float
    d_loss_equilibrium: float
    g_loss_equilibrium: float

    def scaled(self, output: float) -> float:
        """D's output on the scale where the fake target is 0 and the real one 1."""
        return (output - self.fake_target) / (self.real_target - self.fake_target)

    def unscaled(self, value: float) -> float:
        """The inverse of ``scaled``: a threshold in D's own units."""
        return self.fake_target + value * (self.real_target - self.fake_target)


REFERENCES = {
    "minimax": Reference(0.0, 1.0, math.log(4), -math.log(2)),
    "non-saturating": Reference(0.0, 1.0, math.log(4), math.log(2)),
    "least-squares": Reference(0.0, 1.0, 0.25, 0.125),
    "hinge": Reference(-1.0, 1.0, 2.0, 0.0),
    "wasserstein": None,
}


def reference(objective):
    """The Reference of ``objective`` (a name or an Objective): for the cross-entropy games with
    one-sided label smoothing s (``objective.label_smoothing``) D's target on the data is 1 - s,
    its equilibrium output (1 - s) / 2 and its loss there BCE((1-s)/2; 1-s) + BCE((1-s)/2; 0)."""
    name = objective_name(objective)
    smoothing = float(getattr(objective, "label_smoothing", 0.0) or 0.0)
    if name not in ("minimax", "non-saturating") or smoothing == 0.0:
        return REFERENCES[name]
    real, half = 1.0 - smoothing, (1.0 - smoothing) / 2
    d_loss = -(real * math.log(half) + smoothing * math.log(1 - half)) - math.log(1 - half)
    g_loss = -math.log(half) if name == "non-saturating" else math.log(1 - half)
    return Reference(0.0, real, d_loss, g_loss)


CHAPTERS = {
    "theorem1": "chapter 3 (chapters/ch3_algorithm.py), Theorem 1: D* = 1/2 and D's loss log 4 "
                "at p_g = p_data",
    "saturation": "chapter 5, study 3 (chapters/ch5_challenges.py): the saturating loss's "
                  "gradient D(G(z)) vanishes when D rejects the fakes",
    "d_star": "chapter 2 (chapters/ch2_core_concepts.py): D reaches D* only when trained; a G "
              "trained alone runs to D's peak",
    "instability": "chapter 5, study 1 (chapters/ch5_challenges.py): the Dirac-GAN circles its "
                   "equilibrium; a rate too high spirals out",
    "collapse": "chapter 5, study 2 (chapters/ch5_mode_collapse.py): mode collapse measured, "
                "and its remedies (packing, minibatch std)",
    "rates": "chapter 6, Q4 (chapters/ch6_learning_rates.py): how the learning rates decide a "
             "run",
    "losses": "chapter 6, \"What do my losses mean?\" (chapters/ch6_losses.py)",
}


@dataclasses.dataclass(frozen=True)
class Evidence:
    """One number a verdict rests on and the threshold it was compared with: ``value
    relation threshold`` held (relation one of '<', '<=', '>', '>=')."""
    quantity: str
    value: float
    relation: str
    threshold: float

    @property
    def holds(self) -> bool:
        compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
        return bool(compare[self.relation](self.value, self.threshold))

    def __str__(self) -> str:
        return f"{self.quantity} {self.value:.4g} {self.relation} {self.threshold:.4g}"


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """A verdict on a run.

    regime      one of REGIMES (ALARMS are those that call for a change)
    message     what it means, in plain words
    evidence    the Evidence it rests on (numbers and the thresholds they were compared with)
    advice      what to try
    chapter     the chapter that shows why
    window      (first, last) iteration of the history window read (1-based, inclusive)
    objective   the objective's name
    """
    regime: str
    message: str
    evidence: tuple
    advice: str
    chapter: str
    window: tuple
    objective: str

    @property
    def title(self) -> str:
        return TITLES[self.regime]

    @property
    def alarm(self) -> bool:
        return self.regime in ALARMS

    def line(self) -> str:
        """One line: the title and the evidence."""
        return f"{self.title} -- " + ", ".join(str(e) for e in self.evidence)

    def __str__(self) -> str:
        return (f"{self.title} (iterations {self.window[0]}-{self.window[1]}, "
                f"{self.objective}): {self.message}\n  evidence: "
                + "; ".join(str(e) for e in self.evidence)
                + f"\n  try: {self.advice}\n  why: {self.chapter}")


# ---------------------------------------------------------------------------------------------
# The diagnosis

def objective_name(objective) -> str:
    """The name of ``objective`` (a name, or an Objective with ``.name``), checked."""
    name = getattr(objective, "name", objective)
    key = str(name).strip().lower().replace("_", "-") if isinstance(name, str) else None
    if key not in REFERENCES:
        raise ValueError(f"diagnose: objective must be one of {', '.join(REFERENCES)} (or an "
                         f"Objective of that name), got {objective!r}")
    return key


def _history_arrays(history) -> dict:
    """{key: (n,) float64 host array} of a GAN.history-like dict, checked."""
    np = B.np
    if not isinstance(history, dict):
        raise TypeError(f"diagnose: history must be a dict with keys {HISTORY_KEYS} (as "
                        f"GAN.history), got {type(history).__name__}")
    missing = [k for k in HISTORY_KEYS if k not in history]
    if missing:
        raise ValueError(f"diagnose: history lacks {missing}; it needs {HISTORY_KEYS}, one "
                         f"number per iteration each (as GAN.history)")
    arrays = {}
    for key in HISTORY_KEYS:
        try:
            arrays[key] = np.asarray(B.to_numpy(history[key]) if B.is_array(history[key])
                                     else history[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"diagnose: history[{key!r}] must be numbers, got "
                            f"{type(history[key]).__name__}") from None
        if arrays[key].ndim != 1:
            raise ValueError(f"diagnose: history[{key!r}] must be one number per iteration, "
                             f"got shape {arrays[key].shape}")
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) != 1:
        raise ValueError(f"diagnose: the histories must have one length, got "
                         f"{ {k: len(a) for k, a in arrays.items()} }")
    return arrays


def window_size(n: int) -> int:
    """The number of recent iterations a diagnosis reads out of a history of n."""
    return min(n, max(MIN_WINDOW, int(round(WINDOW_FRACTION * n))))


def detrended_period(series):
    """(period, autocorrelation, standard deviation) of a window (n,) after removing its linear
    trend: the lag in [first negative autocorrelation, n / MIN_PERIODS] with the highest
    autocorrelation, or the smallest divisor of it with 90 % of that (the fundamental period,
    not a multiple of it) (r(k) = mean of x_t x_{t+k} over the n - k pairs / mean of x_t^2, so a
    pure sinusoid gives r = 1 at its period). (None, 0.0, std) when there is none."""
    np = B.np
    x = np.asarray(series, dtype=np.float64)
    n = len(x)
    t = np.arange(n, dtype=np.float64)
    x = x - np.polyval(np.polyfit(t, x, 1), t)
    std = float(x.std())
    if n < 2 * MIN_PERIODS or std == 0.0:
        return None, 0.0, std
    spectrum = np.fft.rfft(x, 2 * n)                                # zero-padded: no wrap-around
    r = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    r = r / (n - np.arange(n)) / (r[0] / n)
    negative = np.flatnonzero(r < 0)
    last = n // MIN_PERIODS
    if not negative.size or negative[0] >= last:
        return None, 0.0, std
    lag = int(negative[0] + np.argmax(r[negative[0]:last + 1]))
    for divisor in range(int(negative[0]), lag):      # the fundamental: period p is as
        if lag % divisor == 0 and r[divisor] >= 0.9 * r[lag]:     # correlated at 2p, 3p ...
            lag = divisor
            break
    return lag, float(r[lag]), std


def sample_statistics(samples, data) -> dict:
    """{"spread_ratio", "coverage", "precision"} of generated ``samples`` (M, ...) against
    ``data`` (N, ...) (both flattened to feature vectors): the samples' spread (sqrt of the
    trace of the covariance) over the data's, coverage (k = 5) and precision (k = 3)."""
    np = B.np
    arrays = []
    for name, x in (("samples", samples), ("data", data)):
        x = np.asarray(B.to_numpy(x), dtype=np.float64)
        if x.ndim < 1 or x.shape[0] < MIN_SAMPLES:
            raise ValueError(f"diagnose: {name} must hold at least {MIN_SAMPLES} examples along "
                             f"axis 0, got shape {x.shape}")
        arrays.append(x.reshape(x.shape[0], -1))
    samples, data = arrays
    if samples.shape[1] != data.shape[1]:
        raise ValueError(f"diagnose: samples and data must have the same size per example, got "
                         f"{samples.shape[1]} and {data.shape[1]} values")
    spread = math.sqrt(float(samples.var(axis=0).sum()))
    data_spread = math.sqrt(float(data.var(axis=0).sum()))
    if data_spread == 0.0:
        raise ValueError("diagnose: data has no spread (every example the same)")
    # minigan.metrics sits above minigan.training, which imports this module: imported here
    from minigan.metrics import precision_recall_density_coverage
    metrics = precision_recall_density_coverage(data, samples)
    return {"spread_ratio": spread / data_spread, "coverage": metrics["coverage"],
            "precision": metrics["precision"]}


def diagnose(history, objective="non-saturating", samples=None, data=None) -> Diagnosis:
    """The regime a run is in, from its history (and, optionally, samples against data).

    history     {"d_loss", "g_loss", "d_real", "d_fake": one number per iteration} (GAN.history:
                d_real / d_fake are mean D(x) / D(G(z)), probabilities for the cross-entropy
                games, raw outputs otherwise)
    objective   its objective: a name of minigan.losses.OBJECTIVE_NAMES or an Objective
    samples, data   optional: generated samples (M, ...) and real examples (N, ...), both at
                least MIN_SAMPLES, for the mode-collapse check (flattened; pass features of
                your own -- a classifier's -- for images if pixels are too crude)

    Checks in order: diverging; too early; D overpowering G (a critic unbounded, for the
    Wasserstein objective); mode collapse (samples and data given: the samples are the direct
    evidence, so they come before what the losses suggest); oscillating; G fooling D;
    near equilibrium; else learning. See the module doc and the thresholds above.
    """
    name = objective_name(objective)
    h = _history_arrays(history)
    if (samples is None) != (data is None):
        raise ValueError("diagnose: samples and data go together (the samples' spread and "
                         "coverage are measured against the data); give both or neither")
    n = len(h["d_loss"])
    np = B.np
    w = window_size(n)
    window = (n - w + 1, n)
    ref = reference(objective)
    make = _Verdicts(name, window, ref)

    if not all(np.isfinite(h[k]).all() for k in HISTORY_KEYS):
        finite = np.all(np.isfinite(np.stack([h[k] for k in HISTORY_KEYS])), axis=0)   # (n,)
        first = int(np.flatnonzero(~finite)[0]) + 1
        return make.diverging(Evidence("first iteration with NaN/Inf", first, ">=", 1))
    if samples is not None and not np.isfinite(B.to_numpy(samples)).all():
        return make.diverging(Evidence("non-finite samples", float(
            (~np.isfinite(B.to_numpy(samples))).sum()), ">", 0))
    if n < MIN_ITERATIONS:
        return make.too_early(Evidence("iterations", n, "<", MIN_ITERATIONS))

    recent = {k: v[-w:] for k, v in h.items()}
    median = {k: float(np.median(v)) for k, v in recent.items()}
    if ref is None:
        return _wasserstein(make, h, recent, median, samples, data)

    fake, real = ref.scaled(median["d_fake"]), ref.scaled(median["d_real"])
    loss_eq = ref.d_loss_equilibrium
    fake_e = Evidence("median D(G(z))", median["d_fake"], "<", ref.unscaled(D_WINS_OUTPUT))
    loss_e = Evidence("median D loss", median["d_loss"], "<", D_WINS_LOSS * loss_eq)
    if fake < D_WINS_OUTPUT and median["d_loss"] < D_WINS_LOSS * loss_eq:
        return make.d_overpowers_g(fake_e, loss_e, median)

    if samples is not None:
        collapse = _collapse(samples, data)
        if collapse is not None:
            return make.mode_collapse(collapse, median)

    oscillation = _oscillation(recent, loss_eq)
    if oscillation is not None:
        return make.oscillating(*oscillation)

    margin = Evidence("median D(G(z)) - median D(x)", median["d_fake"] - median["d_real"], ">",
                      G_FOOLS_MARGIN * (ref.real_target - ref.fake_target))
    if fake - real > G_FOOLS_MARGIN and median["d_loss"] > loss_eq:
        return make.g_fools_d(margin, Evidence("median D loss", median["d_loss"], ">", loss_eq))

    near = [Evidence(f"|median {label} - {ref.unscaled(0.5):g}|",
                     abs(median[key] - ref.unscaled(0.5)), "<=",
                     EQUILIBRIUM_OUTPUT * (ref.real_target - ref.fake_target))
            for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))"))]
    near.append(Evidence("|median D loss / equilibrium - 1|", abs(median["d_loss"] / loss_eq - 1),
                         "<=", EQUILIBRIUM_LOSS))
    if all(e.holds for e in near):
        return make.equilibrium(near, median)
    return make.learning([e if e.holds else negated(e) for e in (fake_e, loss_e)]
                         + [negated(e) for e in near if not e.holds], median)


def negated(evidence: Evidence) -> Evidence:
    """The same comparison the other way round (a threshold that was not crossed)."""
    opposite = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
    return dataclasses.replace(evidence, relation=opposite[evidence.relation])


def _oscillation(recent, scale):
    """(period evidence, autocorrelation evidence, amplitude evidence) of the loss with the
    strongest period, if it oscillates; None otherwise. ``scale``: the amplitude's unit."""
    best = None
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        lag, r, std = detrended_period(recent[key])
        amplitude = std / scale if scale > 0 else 0.0
        if (lag is not None and lag >= MIN_PERIOD and r > OSCILLATION_AUTOCORRELATION
                and amplitude > OSCILLATION_AMPLITUDE and (best is None or r > best[1])):
            best = (label, r, lag, amplitude)
    if best is None:
        return None
    label, r, lag, amplitude = best
    n = len(recent["d_loss"])
    return (Evidence(f"period of the {label} (iterations)", lag, "<=", n // MIN_PERIODS),
            Evidence(f"its autocorrelation at that lag", r, ">", OSCILLATION_AUTOCORRELATION),
            Evidence(f"its detrended std / equilibrium D loss", amplitude, ">",
                     OSCILLATION_AMPLITUDE))


def _collapse(samples, data):
    """The evidence of mode collapse, or None: spread, or coverage with precision."""
    stats = sample_statistics(samples, data)
    spread = Evidence("samples' spread / data's", stats["spread_ratio"], "<", COLLAPSE_SPREAD)
    coverage = Evidence("coverage of the data (k=5)", stats["coverage"], "<", COLLAPSE_COVERAGE)
    precision = Evidence("precision (k=3)", stats["precision"], ">=", COLLAPSE_PRECISION)
    if spread.holds:
        return (spread,)
    if coverage.holds and precision.holds:
        return coverage, precision
    return None


def _wasserstein(make, h, recent, median, samples, data):
    """The Wasserstein critic's reading: its scale, the estimate of W, its trend."""
    np = B.np
    n, w = len(h["d_loss"]), len(recent["d_loss"])
    magnitude = (np.abs(h["d_real"]) + np.abs(h["d_fake"])) / 2                     # (n,)
    chunk = max(MIN_ITERATIONS, w // 5)                   # the first iterations; peaks below
    first = float(np.median(magnitude[:chunk]))
    last = float(np.median(magnitude[-w:]))
    growth = last / first if first > 0 else math.inf
    halves = (float(np.median(magnitude[-w:-(w // 2)])), float(np.median(magnitude[-(w // 2):])))
    growing = halves[1] / halves[0] if halves[0] > 0 else math.inf
    if growth > CRITIC_GROWTH and growing > CRITIC_STILL_GROWING:
        return make.critic_unbounded([
            Evidence("critic |output| now / in the first iterations", growth, ">",
                     CRITIC_GROWTH),
            Evidence("critic |output|, 2nd / 1st half of the window", growing, ">",
                     CRITIC_STILL_GROWING)], last)
    if samples is not None:
        collapse = _collapse(samples, data)
        if collapse is not None:
            return make.mode_collapse(collapse, median)
    oscillation = _oscillation(recent, max(last, 1e-12))
    if oscillation is not None:
        return make.oscillating(*oscillation)
    estimate = -h["d_loss"]                                           # mean f(x) - mean f(G(z))
    now = float(np.median(estimate[-w:]))
    peak = max([float(np.median(estimate[i:i + chunk]))
                for i in range(0, n - chunk + 1, max(1, chunk // 2))] + [now])
    if now < 0 and -now > G_FOOLS_MARGIN * max(last, 1e-12):
        return make.g_fools_d(Evidence("median critic gap f(x) - f(G(z))", now, "<", 0.0),
                              Evidence("critic |output|", last, ">", 0.0))
    ratio = now / peak if peak > 0 else math.inf
    closed = Evidence("estimate of W now / its peak", ratio, "<=", WASSERSTEIN_CLOSED)
    if closed.holds:
        return make.equilibrium([closed, Evidence("peak estimate of W (-D loss)", peak, ">",
                                                  0.0)], median)
    return make.learning([negated(closed)], median)


class _Verdicts:
    """The message, advice and chapter of each regime, for one objective and window."""

    def __init__(self, name: str, window, reference):
        self.name, self.window, self.reference = name, window, reference

    def _make(self, regime, evidence, message, advice, chapter):
        return Diagnosis(regime, message, tuple(evidence), advice, CHAPTERS[chapter],
                         self.window, self.name)

    def too_early(self, evidence):
        return self._make(TOO_EARLY, [evidence], "the first iterations of any run are a "
                          "transient; the numbers mean something after a few dozen",
                          "train on", "losses")

    def diverging(self, evidence):
        return self._make(DIVERGING, [evidence], "the numbers became NaN or Inf: an update was "
                          "too large, or the loss was computed on probabilities instead of "
                          "logits", "a smaller learning rate; keep D's last layer without a "
                          "sigmoid and the loss on logits (minigan.losses does)", "rates")

    def d_overpowers_g(self, fake_e, loss_e, median):
        if self.name == "minimax":
            message = (f"D rejects nearly every sample and, with the saturating loss "
                       f"log(1 - D(G(z))), G's gradient per sample is D(G(z)) = "
                       f"{median['d_fake']:.3g}: it has vanished, so G barely moves (its loss "
                       f"reads {median['g_loss']:.3g}, near 0)")
            advice = ("the non-saturating loss -log D(G(z)) (objective='non-saturating'), "
                      "whose gradient 1 - D(G(z)) is largest exactly here")
            chapter = "saturation"
        elif self.name == "hinge":
            message = ("D puts the fakes beyond the margin -1: the fakes no longer train D, and "
                       "G is pulled by D's slope alone")
            advice = "a slower D (lr_d, fewer D steps), spectral normalisation of D"
            chapter = "instability"
        else:
            message = ("D tells every sample from the data (its loss near 0); G still gets a "
                       "gradient but loses ground (G's loss "
                       f"{median['g_loss']:.3g}, at equilibrium "
                       f"{self.reference.g_loss_equilibrium:.3g})")
            advice = ("a weaker or slower D: lower lr_d, fewer D steps (d_steps), "
                      "one-sided label smoothing, or a larger G")
            chapter = "saturation"
        return self._make(D_OVERPOWERS_G, [fake_e, loss_e], message, advice, chapter)

    def critic_unbounded(self, evidence, magnitude):
        return self._make(CRITIC_UNBOUNDED, evidence, f"the critic's outputs keep growing "
                          f"(now about {magnitude:.3g}): it is not held Lipschitz, so -D's loss "
                          f"estimates no distance and grows with the weights",
                          "clip the critic's weights (ClippedAdam), or spectral normalisation",
                          "collapse")

    def oscillating(self, period, autocorrelation, amplitude):
        return self._make(OSCILLATING, [period, autocorrelation, amplitude],
                          f"the losses swing with a period of about {period.value:g} "
                          f"iterations: the players circle the equilibrium instead of "
                          f"settling into it (gradient play rotates around it)",
                          "a lower learning rate, Adam's beta1 = 0.5 rather than 0.9 "
                          "(Radford et al., 2015), or a regulariser of D (R1, instance noise)",
                          "instability")

    def mode_collapse(self, evidence, median):
        return self._make(MODE_COLLAPSE, evidence, f"the samples cover little of the data while "
                          f"D's numbers look calm (D(x) {median['d_real']:.3g}, D(G(z)) "
                          f"{median['d_fake']:.3g}): G found a few outputs D cannot reject "
                          f"and put everything there", "minibatch discrimination (minibatch "
                          "std), packing D's input (PacGAN), a slower G or more D steps",
                          "collapse")

    def g_fools_d(self, *evidence):
        return self._make(G_FOOLS_D, evidence, "D ranks the samples as more real than the data "
                          "and does worse than a coin: D lags behind G (or G just jumped to "
                          "where D had not looked)", "more D steps (d_steps) or a faster D; "
                          "if it persists, a larger D", "d_star")

    def equilibrium(self, evidence, median):
        if self.name == "wasserstein":
            message = ("the critic's estimate of the Wasserstein distance has mostly closed: "
                       "p_g is near p_data")
        else:
            reference = self.reference
            message = (f"D cannot tell the samples from the data (D(x) {median['d_real']:.3g}, "
                       f"D(G(z)) {median['d_fake']:.3g}, D loss {median['d_loss']:.3g} vs "
                       f"{reference.d_loss_equilibrium:.3g}): what p_g = p_data gives. A D "
                       f"that stopped learning reads the same -- look at the samples")
        return self._make(EQUILIBRIUM, evidence, message, "nothing; check samples (pass "
                          "samples= and data= to diagnose)",
                          "losses" if self.name == "wasserstein" else "theorem1")

    def learning(self, evidence, median):
        if self.name == "wasserstein":
            message = ("the critic's estimate of W has not fallen much from its peak yet; a "
                       "critic that separates the samples is no failure here (its gradient "
                       "does not saturate), but the estimate should fall as G learns")
        else:
            ahead = median["d_real"] >= median["d_fake"]
            message = (f"D(x) {median['d_real']:.3g}, D(G(z)) {median['d_fake']:.3g}: "
                       + ("D is ahead but not overpowering, so G is still pulled" if ahead else
                          "D lags a little behind G, not yet worse than a coin"))
        return self._make(LEARNING, evidence, message, "train on",
                          "losses" if self.name == "wasserstein" else "theorem1")


# ---------------------------------------------------------------------------------------------
# Over a run, and while it trains

def timeline(history, objective="non-saturating", every: int = 100) -> list:
    """[(iteration, Diagnosis)] of the history up to every ``every``-th iteration (and the last):
    what a run printed with log_every=every would have said."""
    every = arguments.integer(every, "every", "timeline", minimum=1)
    h = _history_arrays(history)
    n = len(h["d_loss"])
    points = sorted(set(range(every, n + 1, every)) | ({n} if n else set()))
    return [(i, diagnose({k: v[:i] for k, v in h.items()}, objective)) for i in points]


class Monitor:
    """GAN.train's diagnosis: at each progress line ``update`` says the verdict when it changed
    (None otherwise), ``summary`` sums the run up. An objective it does not know (a custom
    object) turns it off: both return None."""

    def __init__(self, objective):
        try:
            objective_name(objective)
            self.objective = objective
        except ValueError:
            self.objective = None
        self.verdicts = []                     # [(iteration, Diagnosis)]
        self._arrays = None                   # the history so far as host arrays, kept so
                                              # that each update converts only what is new

    def _history(self, history) -> dict:
        """``history`` as {key: (n,) float64 array}, converting only the new entries (all of
        them if the history is not a continuation of the last one, e.g. a checkpoint loaded)."""
        np = B.np
        have = 0 if self._arrays is None else len(self._arrays["d_loss"])
        n = len(history["d_loss"])
        if have and (n < have or any(history[k][have - 1] != self._arrays[k][-1]
                                     for k in HISTORY_KEYS)):
            have = 0
        if have == 0:
            self._arrays = {k: np.zeros(0) for k in HISTORY_KEYS}
        self._arrays = {k: np.concatenate([self._arrays[k],
                                           np.asarray(history[k][have:], dtype=np.float64)])
                        for k in HISTORY_KEYS}
        return self._arrays

    def update(self, history, iteration: int):
        """Diagnose ``history`` (GAN.history) at ``iteration``; the line to print if the regime
        changed (not for "too early"), else None."""
        if self.objective is None:
            return None
        verdict = diagnose(self._history(history), self.objective)
        changed = not self.verdicts or self.verdicts[-1][1].regime != verdict.regime
        self.verdicts.append((iteration, verdict))
        if not changed or verdict.regime == TOO_EARLY:
            return None
        return f"  diagnosis: {verdict.line()}"

    def summary(self):
        """The regimes met so far (iteration spans) and the last verdict in full; None if none."""
        if self.objective is None or not self.verdicts:
            return None
        spans = []
        for i, (iteration, verdict) in enumerate(self.verdicts):
            if i == 0 or verdict.regime != self.verdicts[i - 1][1].regime:
                spans.append([iteration, iteration, verdict.title])
            spans[-1][1] = iteration
        path = "; ".join(f"{a}-{b} {title}" if a != b else f"{a} {title}"
                         for a, b, title in spans)
        return f"diagnosis at iteration {self.verdicts[-1][0]} ({path}):\n{self.verdicts[-1][1]}"


# ---------------------------------------------------------------------------------------------
# Each regime caused on purpose, on chapter 3's toy problem

DATA_MEAN, DATA_STD = 3.0, 0.5          # p_data = N(3, 0.5^2), as in chapter 3
BATCH_SIZE = 256
NUM_SAMPLES = 1000                      # samples and data points for the collapse check


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One run made to show a regime: chapter 3's G (1 -> 32 tanh -> 1) and D (1 -> h tanh -> h
    tanh -> 1, h = d_hidden) on N(3, 0.5^2), with what is changed to cause ``expected``.

    optimizer "adam" (betas (beta1, 0.999)) or "sgd"; pretrain_d: D steps taken alone first,
    so that D starts out rejecting G."""
    cause: str
    expected: str                       # the diagnosis from the history alone
    expected_with_samples: str          # ... and with samples against data
    iterations: int
    objective: str = "non-saturating"
    d_steps: int = 5
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    beta1: float = 0.5
    optimizer: str = "adam"
    d_hidden: int = 16
    pretrain_d: int = 0


EXPERIMENTS = {
    "healthy": Experiment("chapter 3's settings: k = 5 D steps per G step, Adam(2e-3, beta1 "
                          "0.5) for both", EQUILIBRIUM, EQUILIBRIUM, 600),
    "strong-d": Experiment("a too-strong D: 2x wider, 2.5x faster, G 20x slower",
                           D_OVERPOWERS_G, D_OVERPOWERS_G, 300, lr_g=1e-4, lr_d=5e-3,
                           d_hidden=32),
    "saturating": Experiment("the saturating loss log(1 - D(G(z))) after D learnt to reject G "
                             "(500 D steps alone), plain SGD(0.01)", D_OVERPOWERS_G,
                             D_OVERPOWERS_G, 400, objective="minimax", d_steps=1, lr_g=1e-2,
                             lr_d=1e-2, optimizer="sgd", pretrain_d=500),
    "non-saturating": Experiment("the same start and SGD, with the non-saturating loss",
                                 EQUILIBRIUM, MODE_COLLAPSE, 400, d_steps=1, lr_g=1e-2,
                                 lr_d=1e-2, optimizer="sgd", pretrain_d=500),
    "high-rate": Experiment("a too-high rate with heavy momentum: Adam(5e-3, beta1 0.9), k = 1",
                            OSCILLATING, MODE_COLLAPSE, 300, d_steps=1, lr_g=5e-3, lr_d=5e-3,
                            beta1=0.9),
    "collapsing": Experiment("a collapsing generator: G 10x faster than D (1e-2 vs 1e-3), k = 1",
                             EQUILIBRIUM, MODE_COLLAPSE, 600, d_steps=1, lr_g=1e-2, lr_d=1e-3),
}


#: Iterations between the diagnoses of a caused run's timeline (what GAN.train would print with
#: log_every=50).
TIMELINE_EVERY = 50
#: Seeds per experiment in the full regime study (its tally of how often each verdict is the
#: intended one); a --quick run uses one.
STUDY_SEEDS = 5
#: The healthy run's alarms are counted past this iteration (its first steps are a transient).
HEALTHY_TRANSIENT = 100


@dataclasses.dataclass(frozen=True, eq=False)
class CausedRun:
    """One run of ``cause``: EXPERIMENTS[name] trained from ``seed`` and diagnosed.

    diagnosis      from the history alone: what GAN.train prints
    with_samples   given NUM_SAMPLES samples against NUM_SAMPLES data points too
    timeline       ((iteration, Diagnosis), ...) of the history every TIMELINE_EVERY iterations
    history        {"d_loss", "g_loss", "d_real", "d_fake": [float], one per iteration}
    samples        (NUM_SAMPLES, 1) host array: G's samples at the end
    data           (NUM_SAMPLES, 1) host array: points of p_data = N(3, 0.5^2)

    The arrays are left out of its repr; runs compare by identity (an array has no one truth
    value)."""
    name: str
    seed: int
    experiment: Experiment
    diagnosis: Diagnosis
    with_samples: Diagnosis
    timeline: tuple = dataclasses.field(repr=False)
    history: dict = dataclasses.field(repr=False)
    samples: object = dataclasses.field(repr=False)
    data: object = dataclasses.field(repr=False)

    @property
    def spread_ratio(self) -> float:
        """The samples' spread (sqrt of the trace of their covariance) over the data's."""
        return sample_statistics(self.samples, self.data)["spread_ratio"]

    def window_median(self, key: str) -> float:
        """The median of history[key] over the window the diagnosis read."""
        np = B.np
        values = np.asarray(self.history[key], dtype=np.float64)
        return float(np.median(values[-window_size(len(values)):]))

    def alarms_after(self, iteration: int) -> int:
        """How many diagnoses of the timeline after ``iteration`` raised an alarm."""
        return sum(verdict.alarm for i, verdict in self.timeline if i > iteration)


def cause(name: str, seed: int = 0) -> CausedRun:
    """Run EXPERIMENTS[name] from ``seed`` and diagnose it, from its numbers alone and with
    samples against data. Sets minigan's seed (B.seed) to ``seed``."""
    from minigan.data import Gaussian1D                 # minigan.gan imports this module's user
    from minigan.gan import GAN
    from minigan.nn import Dense, Sequential, Tanh
    from minigan.optim import SGD, Adam

    if name not in EXPERIMENTS:
        raise ValueError(f"cause: name must be one of {', '.join(EXPERIMENTS)}, got {name!r}")
    arguments.integer(seed, "seed", "cause", minimum=0)
    e = EXPERIMENTS[name]
    B.seed(seed)
    data = Gaussian1D(DATA_MEAN, DATA_STD)
    G = Sequential(Dense(1, 32), Tanh(), Dense(32, 1))
    D = Sequential(Dense(1, e.d_hidden), Tanh(), Dense(e.d_hidden, e.d_hidden), Tanh(),
                   Dense(e.d_hidden, 1))
    if e.pretrain_d:
        alone = GAN(G, D, data.sample, latent_dim=1, batch_size=BATCH_SIZE, lr_d=5e-3)
        for _ in range(e.pretrain_d):
            alone.d_step()

    def optimizer(module, lr):
        if e.optimizer == "sgd":
            return SGD(module.parameters(), lr=lr)
        return Adam(module.parameters(), lr=lr, betas=(e.beta1, 0.999))

    gan = GAN(G, D, data.sample, latent_dim=1, objective=e.objective, d_steps=e.d_steps,
              batch_size=BATCH_SIZE, g_optimizer=optimizer(G, e.lr_g),
              d_optimizer=optimizer(D, e.lr_d))
    gan.train(e.iterations, diagnose=False)
    history = {k: list(v) for k, v in gan.history.items()}
    samples = B.to_numpy(gan.sample(NUM_SAMPLES))
    real = B.to_numpy(data.sample(NUM_SAMPLES))
    return CausedRun(name=name, seed=seed, experiment=e,
                     diagnosis=diagnose(history, e.objective),
                     with_samples=diagnose(history, e.objective, samples, real),
                     timeline=tuple(timeline(history, e.objective, every=TIMELINE_EVERY)),
                     history=history, samples=samples, data=real)


def describe(run: CausedRun) -> str:
    """What was done to ``run`` and what its diagnosis says from the numbers alone; and with
    samples against data, where that differs."""
    _check_run(run, "describe")
    text = f"[{run.name}] {run.experiment.cause}\nfrom the numbers alone: {run.diagnosis}"
    if run.with_samples.regime != run.diagnosis.regime:
        text += f"\nwith samples against data: {run.with_samples}"
    return text


def _check_run(run, where: str) -> CausedRun:
    if not isinstance(run, CausedRun):
        raise TypeError(f"{where}: expected a CausedRun (what cause() returns), got "
                        f"{type(run).__name__}")
    return run


def critic_examples() -> dict:
    """{label: Diagnosis} of three made-up histories of 600 iterations: a Wasserstein critic
    whose estimate of W falls from 2 to 0.2, one whose outputs grow with its weights (not held
    Lipschitz), and a hinge D beyond both margins (outputs +-1.5)."""
    n = 600
    return {
        "wasserstein, estimate falling from 2 to 0.2": diagnose(
            {"d_real": [0.1 + 0.9 * 0.99 ** i for i in range(n)],
             "d_fake": [-0.1 - 0.9 * 0.99 ** i for i in range(n)],
             "d_loss": [-0.2 - 1.8 * 0.99 ** i for i in range(n)],
             "g_loss": [0.1 + 0.9 * 0.99 ** i for i in range(n)]}, "wasserstein"),
        "wasserstein, critic growing with its weights": diagnose(
            {"d_real": [1 + i for i in range(n)], "d_fake": [-1 - i for i in range(n)],
             "d_loss": [-2 - 2 * i for i in range(n)], "g_loss": [1 + i for i in range(n)]},
            "wasserstein"),
        "hinge, D beyond both margins": diagnose(
            {"d_real": [1.5] * n, "d_fake": [-1.5] * n, "d_loss": [0.05] * n,
             "g_loss": [1.5] * n}, "hinge"),
    }


@dataclasses.dataclass(frozen=True)
class RegimeRow:
    """One experiment of the regime study.

    regime, regime_with_samples     the first seed's diagnosis: from the numbers alone, and
                                    with samples against data
    intended, intended_with_samples the verdicts the experiment was made to show (EXPERIMENTS)
    as_intended, as_intended_with_samples   of ``seeds`` runs, how many were diagnosed so
    """
    name: str
    regime: str
    regime_with_samples: str
    intended: str
    intended_with_samples: str
    as_intended: int
    as_intended_with_samples: int
    seeds: int

    @property
    def always_as_intended(self) -> bool:
        """Every seed diagnosed as intended, from the numbers alone and with samples."""
        return self.as_intended == self.as_intended_with_samples == self.seeds

    def tally(self) -> str:
        """E.g. "5/5 alone, 4/5 with samples"."""
        return (f"{self.as_intended}/{self.seeds} alone, "
                f"{self.as_intended_with_samples}/{self.seeds} with samples")


@dataclasses.dataclass(frozen=True)
class RegimeStudy:
    """Every experiment of EXPERIMENTS caused from ``seeds`` and diagnosed: the numbers of
    chapter 6's "What do my losses mean?".

    seeds                    the seeds each experiment ran from; the first one's runs are ``runs``
    rows                     {experiment name: RegimeRow}, in the order of EXPERIMENTS
    saturating_d_fake        the saturating run's median D(G(z)) over its window (first seed):
                             the saturating loss's gradient per sample
    high_rate_period         the period (iterations) the high-rate run's diagnosis measured
                             (first seed); None if its diagnosis is not "oscillating"
    collapsing_spread_ratio  the collapsing run's samples' spread over the data's (first seed)
    healthy_alarms           alarms in the healthy run's timeline after iteration
                             HEALTHY_TRANSIENT (first seed)
    critic_examples          {label: regime} of critic_examples()
    seconds                  the study's wall time (the runs passed in not counted)
    runs                     {experiment name: CausedRun} of the first seed (not in the repr)
    """
    seeds: tuple
    rows: dict
    saturating_d_fake: float
    high_rate_period: float | None
    collapsing_spread_ratio: float
    healthy_alarms: int
    critic_examples: dict
    seconds: float
    runs: dict = dataclasses.field(repr=False)

    @property
    def always_as_intended(self) -> bool:
        """Every experiment, every seed, diagnosed as intended (alone and with samples)."""
        return all(row.always_as_intended for row in self.rows.values())


def regime_study(seed: int = 0, num_seeds: int = STUDY_SEEDS, runs=None) -> RegimeStudy:
    """Cause every experiment of EXPERIMENTS from seeds seed, ..., seed + num_seeds - 1 and
    diagnose each run (6 runs a seed; 30 took 17 s of CPU on 2 cores).

    runs: {experiment name: CausedRun} already made from ``seed`` (e.g. by a chapter's cells),
    used instead of running those again."""
    import time

    arguments.integer(seed, "seed", "regime_study", minimum=0)
    arguments.integer(num_seeds, "num_seeds", "regime_study", minimum=1)
    runs = dict(runs or {})
    for name, run in runs.items():
        _check_run(run, "regime_study")
        if name not in EXPERIMENTS or run.name != name or run.seed != seed:
            raise ValueError(f"regime_study: runs must map an experiment's name to its run from "
                             f"seed {seed}, got {name!r} -> {run.name!r} from seed {run.seed}")
    start = time.perf_counter()
    seeds = tuple(range(seed, seed + num_seeds))
    rows = {}
    for name, e in EXPERIMENTS.items():
        if name not in runs:
            runs[name] = cause(name, seed)
        verdicts = [(runs[name].diagnosis.regime, runs[name].with_samples.regime)]
        for other in seeds[1:]:
            run = cause(name, other)
            verdicts.append((run.diagnosis.regime, run.with_samples.regime))
        rows[name] = RegimeRow(
            name=name, regime=verdicts[0][0], regime_with_samples=verdicts[0][1],
            intended=e.expected, intended_with_samples=e.expected_with_samples,
            as_intended=sum(alone == e.expected for alone, _ in verdicts),
            as_intended_with_samples=sum(with_samples == e.expected_with_samples
                                         for _, with_samples in verdicts),
            seeds=len(verdicts))
    high_rate = runs["high-rate"].diagnosis
    period = [e.value for e in high_rate.evidence if e.quantity.startswith("period of the")]
    return RegimeStudy(
        seeds=seeds, rows=rows,
        saturating_d_fake=runs["saturating"].window_median("d_fake"),
        high_rate_period=period[0] if high_rate.regime == OSCILLATING else None,
        collapsing_spread_ratio=runs["collapsing"].spread_ratio,
        healthy_alarms=runs["healthy"].alarms_after(HEALTHY_TRANSIENT),
        critic_examples={label: d.regime for label, d in critic_examples().items()},
        seconds=time.perf_counter() - start, runs=runs)


def describe_study(study: RegimeStudy) -> str:
    """The study as a table: per experiment, the intended verdicts and how many seeds gave them,
    from the numbers alone and with samples."""
    if not isinstance(study, RegimeStudy):
        raise TypeError(f"describe_study: expected a RegimeStudy (what regime_study() returns), "
                        f"got {type(study).__name__}")
    lines = [f"{'experiment':<16} {'numbers alone':<34} with samples"]
    for row in study.rows.values():
        alone = f"{TITLES[row.intended]} {row.as_intended}/{row.seeds}"
        with_samples = (f"{TITLES[row.intended_with_samples]} "
                        f"{row.as_intended_with_samples}/{row.seeds}")
        lines.append(f"{row.name:<16} {alone:<34} {with_samples:<34}".rstrip())
    return "\n".join(lines)


REGIME_COLOURS = {TOO_EARLY: "0.85", DIVERGING: "black", D_OVERPOWERS_G: "tab:red",
                  CRITIC_UNBOUNDED: "tab:brown", OSCILLATING: "tab:orange",
                  MODE_COLLAPSE: "tab:purple", G_FOOLS_D: "tab:pink",
                  EQUILIBRIUM: "tab:green", LEARNING: "tab:blue"}


def figure(path, runs, title=None) -> str:
    """One row per CausedRun (of ``cause``): its losses and its mean D outputs per iteration, the
    background coloured by the diagnosis of the history so far (its timeline), the final
    diagnoses (from the numbers alone; with samples) written above. Writes ``path`` (PNG) and
    returns it."""
    import os

    from minigan import plot                                # matplotlib only when drawing
    np = B.np
    runs = [_check_run(run, "figure") for run in runs]
    if not runs:
        raise ValueError("figure: no runs to draw")
    fig, axes = plot.new_figure(2, len(runs), (5.2, 2.2))
    labels = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "D(x)", "d_fake": "D(G(z))"}
    for row, run in enumerate(runs):
        h = run.history
        steps = np.arange(1, len(h["d_loss"]) + 1)
        for column, keys in enumerate((("d_loss", "g_loss"), ("d_real", "d_fake"))):
            ax = axes[row, column]
            previous = 0
            for iteration, verdict in run.timeline:
                ax.axvspan(previous, iteration, color=REGIME_COLOURS[verdict.regime], alpha=0.15,
                           linewidth=0)
                previous = iteration
            for key in keys:
                ax.plot(steps, h[key], linewidth=0.9, label=labels[key])
            ax.legend(fontsize="x-small", loc="upper right")
            ax.tick_params(labelsize="x-small")
        alone, with_samples = run.diagnosis, run.with_samples
        axes[row, 0].set_title(f"{run.name}   numbers alone: {alone.title}",
                               fontsize="small", loc="left", color=REGIME_COLOURS[alone.regime])
        axes[row, 1].set_title(f"with samples: {with_samples.title}", fontsize="small",
                               loc="left", color=REGIME_COLOURS[with_samples.regime])
    axes[-1, 0].set_xlabel("iteration (background: the diagnosis of the numbers so far)",
                           fontsize="small")
    axes[-1, 1].set_xlabel("iteration", fontsize="small")
    handles = [plot_patch(REGIME_COLOURS[r], TITLES[r]) for r in REGIMES if r != DIVERGING]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize="x-small")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.045, 1, 1))
    path = os.fspath(path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def samples_figure(path, runs) -> str:
    """One panel per CausedRun (of ``cause``): a histogram of its samples against the data's density
    N(3, 0.5^2), titled with the samples' spread over the data's. Writes ``path``, returns it."""
    from minigan import plot
    np = B.np
    runs = [_check_run(run, "samples_figure") for run in runs]
    if not runs:
        raise ValueError("samples_figure: no runs to draw")
    fig, axes = plot.new_figure(len(runs), 1, (2.6, 2.2))
    x = np.linspace(-1.0, DATA_MEAN + 5 * DATA_STD, 400)     # G starts near 0: keep it in view
    density = np.exp(-0.5 * ((x - DATA_MEAN) / DATA_STD) ** 2) / (DATA_STD * math.sqrt(2 * np.pi))
    for ax, run in zip(axes[0], runs):
        samples = np.asarray(run.samples, dtype=np.float64).reshape(-1)
        ax.hist(np.clip(samples, x[0], x[-1]), bins=60, range=(x[0], x[-1]), density=True,
                color="tab:green", alpha=0.6, label="samples")
        ax.plot(x, density, color="black", linestyle=":", label="p_data")
        ax.set_title(f"{run.name}: spread {run.spread_ratio:.2f} x data's", fontsize="small",
                     color=REGIME_COLOURS[run.with_samples.regime])
        ax.set_yticks([])
        ax.tick_params(labelsize="x-small")
    axes[0, 0].legend(fontsize="x-small")
    fig.suptitle("The samples at the end (colour: the diagnosis with samples)", fontsize="medium")
    return plot.save(fig, path)


def plot_patch(colour, label):
    """A legend entry: a patch of ``colour`` named ``label``."""
    from matplotlib.patches import Patch
    return Patch(facecolor=colour, alpha=0.3, label=label)


# ---------------------------------------------------------------------------------------------
# A saved run

def history_from_checkpoint(path) -> dict:
    """The history {"d_loss", "g_loss", "d_real", "d_fake": [float]} of a run saved by
    GAN.save_checkpoint (models, optimizers and random state are not touched)."""
    extra = checkpoint.load(path, {}, {}, rng=False)
    if not isinstance(extra, dict) or not isinstance(extra.get("gan"), dict) \
            or "history" not in extra["gan"]:
        raise ValueError(f"history_from_checkpoint: {path} was not written by "
                         f"GAN.save_checkpoint (no gan/history in its extra)")
    return {key: [float(v) for v in values] for key, values in extra["gan"]["history"].items()}


def replay(history, objective="non-saturating", every: int = 0):
    """(Monitor, lines): what GAN.train with log_every=every (default: a tenth of the run)
    would have printed for this history, and the monitor holding the diagnoses."""
    h = _history_arrays(history)
    n = len(h["d_loss"])
    every = arguments.integer(every, "every", "replay", minimum=0) or max(1, n // 10)
    monitor, lines = Monitor(objective), []
    for i in sorted(set(range(every, n + 1, every)) | ({n} if n else set())):
        line = monitor.update({k: v[:i] for k, v in h.items()}, i)
        if line:
            lines.append(f"iteration {i}:{line[len('  diagnosis:'):]}")
    return monitor, lines


def main(argv=None) -> int:
    """python -m minigan.diagnosis CHECKPOINT ... [--objective NAME] [--label-smoothing S]"""
    parser = argparse.ArgumentParser(
        prog="python -m minigan.diagnosis",
        description="Diagnose saved GAN runs (checkpoints of GAN.save_checkpoint) from their "
                    "histories: when the regime changed, and the verdict at the end.")
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files (.npz)")
    parser.add_argument("--objective", default="non-saturating", choices=tuple(REFERENCES),
                        help="the objective the run trained with (default non-saturating)")
    parser.add_argument("--label-smoothing", type=float, default=0.0,
                        help="D's one-sided label smoothing, if it had one (e.g. 0.1)")
    parser.add_argument("--every", type=int, default=0,
                        help="diagnose every that many iterations (default: a tenth of the run)")
    args = parser.parse_args(argv)
    from minigan.losses import get_objective
    try:
        objective = get_objective(args.objective, args.label_smoothing)
    except ValueError as e:
        parser.error(str(e))
    for path in args.checkpoints:
        history = history_from_checkpoint(path)
        monitor, lines = replay(history, objective, args.every)
        print(f"{path}: {len(history['d_loss'])} iterations")
        for line in lines:
            print(f"  {line}")
        summary = monitor.summary()
        print("  " + (summary or "no diagnosis (no iterations)").replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
