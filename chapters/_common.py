"""What every chapter shares: its command line, the backend session it runs in, and 1D densities.

Every chapter accepts

    --quick            a short run (a few seconds; the tests use it)
    --seed S           seed of minigan's generator (initialisation, noise, data)  [0]
    --backend NAME     numpy | cupy                                               [numpy]
    --dtype NAME       float32 | float64                                          [float32]
    --out DIR          where figures go                                 [runs/<chapter name>]

and is written as

    def main(argv=None) -> dict:
        args = parse_args(make_parser(__doc__, "ch3_algorithm"), argv)
        with session(args) as out:          # backend, dtype and seed set; restored afterwards
            ...                             # prints what it measured and where its figures are
            return numbers

Bad arguments (a non-positive count, an unknown backend, CuPy asked for where it is missing,
an --out that cannot be written, a --data-dir that does not exist) stop with an argparse error
before any work is done. Ctrl-C ends a run with exit status 130 and the command that continues
it (chapters with --resume continue from their last checkpoint).

The second half holds the 1D numerics chapters 1-3 use to turn a generator into a density:
p_g is the push-forward of p_z through G, computed by quadrature over a fine grid of z values.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:                   # `python chapters/chN.py` from anywhere, uninstalled
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402  (chapters may use host NumPy; minigan/ may not)

from minigan import backend as B  # noqa: E402

BACKENDS = ("numpy", "cupy")
DTYPES = ("float32", "float64")


# ---------------------------------------------------------------------------------------------
# Command line

def _int_at_least(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """argparse type: an int >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def make_parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The shared options; a chapter adds its own (e.g. --iterations, type=positive_int)."""
    summary = (doc or name).strip().splitlines()[0]
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=summary)
    parser.add_argument("--quick", action="store_true",
                        help="a short run of a few seconds (used by the tests)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of minigan's random generator (default 0)")
    parser.add_argument("--backend", choices=BACKENDS, default="numpy",
                        help="array backend (default numpy; cupy needs a CUDA GPU)")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="floating dtype of parameters and data (default float32)")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", name),
                        help=f"folder for the figures (default runs/{name})")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """parser.parse_args(argv), plus the checks argparse cannot make itself: CuPy available,
    --out a folder that can be written (nothing is created yet), --data-dir an existing folder.

    The command line is kept (``args._argv``, ``args._prog``) so that an interrupted run can
    say how to continue.
    """
    args = parser.parse_args(argv)
    if args.backend != "numpy":
        previous = B.name()
        try:
            B.use(args.backend)
        except RuntimeError as e:
            parser.error(str(e))
        finally:
            if B.name() != previous:
                B.use(previous)
    problem = unwritable_folder(args.out)
    if problem:
        parser.error(f"argument --out: {problem}")
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and not os.path.isdir(data_dir):
        parser.error(f"argument --data-dir: {data_dir} is not an existing folder; give the "
                     f"folder that holds the data files")
    args._argv = list(sys.argv[1:] if argv is None else argv)
    args._prog = parser.prog
    return args


def unwritable_folder(path):
    """Why ``path`` cannot be used (or created) as a writable folder; None if it can. Creates
    nothing: checks ``path`` if it exists, else its nearest existing parent."""
    path = os.path.abspath(path)
    existing = path
    while not os.path.exists(existing):
        parent = os.path.dirname(existing)
        if parent == existing:               # a root that does not exist (a missing drive)
            return f"cannot create {path}: {existing} does not exist"
        existing = parent
    if not os.path.isdir(existing):
        return (f"{existing} is a file, not a folder" if existing == path else
                f"cannot create {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write into {existing} (permission denied or read-only)"
    return None


def rerun_command(args, resume: bool = False) -> str:
    """This run's command line; with resume, the one that continues it (plus --resume)."""
    argv = [a for a in getattr(args, "_argv", []) if a != "--resume"]
    script = os.path.relpath(os.path.join(ROOT, "chapters", getattr(args, "_prog", "")))
    return shlex.join(["python", script] + argv + (["--resume"] if resume else []))


@contextlib.contextmanager
def session(args):
    """Use args.backend, args.dtype and args.seed inside the block; yields the output folder.

    The previous backend and dtype are restored afterwards, so a chapter's main() can be called
    from tests or a notebook without leaving its settings behind. Ctrl-C inside the block (after
    GAN.train has saved what it could) ends the run with exit status 130 and the command that
    continues it (``--resume``, for a chapter that has it).
    """
    previous_backend, previous_dtype = B.name(), B.dtype()
    os.makedirs(args.out, exist_ok=True)
    try:
        B.use(args.backend)
        B.set_dtype(args.dtype)
        B.seed(args.seed)
        yield args.out
    except KeyboardInterrupt:
        if hasattr(args, "resume"):
            advice = f"To continue from its last checkpoint, run:\n  {rerun_command(args, True)}"
        else:
            advice = f"This chapter has no --resume; to run it again:\n  {rerun_command(args)}"
        print(f"\nInterrupted (Ctrl-C). {advice}", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    finally:
        B.use(previous_backend)
        B.set_dtype(previous_dtype)


def report(numbers: dict, figures: list) -> dict:
    """Print the measured numbers and the figure paths, one per line, after a blank line.

    Returns the numbers with the figure paths added under "figures": what a chapter's main()
    returns (the tests read it)."""
    print()
    width = max(len(k) for k in numbers) if numbers else 0
    for key, value in numbers.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    for path in figures:
        print(f"  figure: {path}")
    return {**numbers, "figures": figures}


# ---------------------------------------------------------------------------------------------
# 1D densities on a grid

def gaussian_pdf(x, mean=0.0, std=1.0):
    """N(x; mean, std^2) for host arrays."""
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def latent_quadrature(noise: str, latent_dim: int = 1, points_per_axis: int = 50_000):
    """A grid of noise values and their probability masses, for integrals over p_z.

    Returns (z, weights): z (M, latent_dim) host float64, weights (M,) summing to 1, with
    M = points_per_axis ** latent_dim, so that E_z f(z) ~= sum_j weights_j f(z_j).
    noise "normal": midpoints of [-8, 8] weighted by N(0, 1) (mass beyond 8 sd is ~1e-15);
    "uniform": midpoints of [-1, 1], equal weights.
    """
    if latent_dim not in (1, 2):
        raise ValueError(f"latent_quadrature: latent_dim must be 1 or 2, got {latent_dim}")
    half = 8.0 if noise == "normal" else 1.0
    edges = np.linspace(-half, half, points_per_axis + 1)
    axis = (edges[:-1] + edges[1:]) / 2
    mass = gaussian_pdf(axis) if noise == "normal" else np.ones_like(axis)
    mass /= mass.sum()
    if latent_dim == 1:
        return axis[:, None], mass
    z1, z2 = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([z1.ravel(), z2.ravel()], axis=1), np.outer(mass, mass).ravel()


def push_forward(x, weights, edges):
    """The density p_g of x = G(z), z ~ p_z, on the uniform bins ``edges``.

    x: (M,) host images G(z_j) of the quadrature points z_j, weights: (M,) their masses (from
    latent_quadrature). Each point's mass is shared between the two nearest bin centres in
    proportion to its closeness (a linear, "cloud-in-cell" deposit): unlike a plain histogram
    of grid points this shows no aliasing stripes. Returns p_g: (len(edges) - 1,), with
    sum(p_g) * dx = the mass inside the grid. ``at_points`` is the matching read-out.
    """
    bins = len(edges) - 1
    left, frac = _linear_bins(edges, x)
    mass = np.zeros(bins)
    for index, share in ((left, 1 - frac), (left + 1, frac)):
        inside = (index >= 0) & (index < bins)
        mass += np.bincount(index[inside], weights=weights[inside] * share[inside],
                            minlength=bins)
    return mass / (edges[1] - edges[0])


def at_points(values, edges, x):
    """Bin values read at the points x, with the weights push_forward deposited them with.

    values: (bins,) on the grid; x: (M,). Then sum_j weights_j at_points(f, edges, x)_j equals
    sum_i f_i p_g,i dx for p_g = push_forward(x, weights, edges): an expectation over z is the
    same number as the integral over x on the grid. A zero share contributes 0 even where f is
    -inf (0 log 0 = 0).
    """
    bins = len(edges) - 1
    left, frac = _linear_bins(edges, x)
    total = np.zeros(len(x))
    for index, share in ((left, 1 - frac), (left + 1, frac)):
        use = (index >= 0) & (index < bins) & (share > 0)
        total[use] += share[use] * values[index[use]]
    return total


def _linear_bins(edges, x):
    """(left, frac): x lies between the centres of bins left and left + 1, frac of the way."""
    position = (x - edges[0]) / (edges[1] - edges[0]) - 0.5     # 0 at the first bin centre
    left = np.floor(position).astype(np.int64)
    return left, position - left


def images(module, z):
    """module.forward on host values z (M, d) -> host float64 (M,) (a 1D output per row)."""
    return B.to_numpy(module.forward(B.asarray(z))).astype(np.float64).reshape(-1)


def optimal_discriminator(p_data, p_g):
    """D*(x) = p_data / (p_data + p_g)  (Proposition 1); 1/2 where both densities vanish."""
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def log_optimal_discriminator(p_data, p_g):
    """(log D*(x), log(1 - D*(x))) = (log p_data - log(p_data + p_g), log p_g - log(...)).

    Computed from the logs of the densities, so a ratio that rounds to 0 or 1 still has a finite
    log; -inf where the numerator density is 0 (such points carry no weight in V).
    """
    total = p_data + p_g
    log_total = np.log(total, out=np.zeros_like(total), where=total > 0)
    log_p = np.log(p_data, out=np.full_like(total, -np.inf), where=p_data > 0)
    log_q = np.log(p_g, out=np.full_like(total, -np.inf), where=p_g > 0)
    return log_p - log_total, log_q - log_total


def mass_interval(x, density, mass: float = 0.99):
    """(lo, hi): the central interval of a density on the grid x holding ``mass`` of it."""
    cdf = np.cumsum(density)
    cdf /= cdf[-1]
    tail = (1 - mass) / 2
    return float(np.interp(tail, cdf, x)), float(np.interp(1 - tail, cdf, x))
