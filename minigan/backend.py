"""The array backend: which array module minigan computes with, in which precision, with which RNG.

Only this module imports numpy or cupy. Everything else in minigan says

    from minigan import backend as B
    y = B.xp.zeros((N, F), dtype=B.dtype())

and reads ``B.xp`` *at call time*, so ``B.use("cupy")`` takes effect everywhere at once.
(``from minigan.backend import xp`` would bind the module that was active at import time and go
stale -- a test enforces the rule.)

    B.use("numpy" | "cupy")      choose the array module (env MINIGAN_BACKEND sets the default)
    B.set_dtype("float32" | "float64")   the floating dtype of new parameters, noise and data
    B.seed(s)                    one generator for initialisation, noise and dropout masks
    B.randn(*shape), B.rand(*shape), B.integers(low, high, size), B.permutation(n)
    B.asarray(x)                 host data -> active backend, in the active float dtype
    B.to_numpy(x)                active backend -> numpy.ndarray (for plots, files, printing)
    B.np                         host NumPy, for host-side work (data files, metrics, plots)
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

#: Host-side NumPy, for code that works on host arrays whatever the backend: file I/O, data loading,
#: metrics and plots on ``to_numpy`` results. Device computation always goes through ``xp``.
np = np

xp = np                      # the active array module: numpy, cupy, or a test double of cupy
_name = "numpy"
_dtype = np.dtype(np.float32)
_seed = 0
_rng = None                  # the host generator, created lazily by rng()

_CUPY_HELP = ("install the CuPy build that matches your CUDA toolkit, e.g. "
              "`pip install cupy-cuda12x` (CUDA 12) or `pip install cupy-cuda11x` (CUDA 11)")


def name() -> str:
    """Name of the active backend: 'numpy' or 'cupy'."""
    return _name


def use(backend: str) -> None:
    """Switch the array module for all of minigan: 'numpy' or 'cupy'.

    Raises RuntimeError saying what is missing if CuPy is not installed or no GPU is visible.
    Parameters created before the switch stay on the old backend: build models after ``use``.
    """
    global xp, _name
    if backend == "numpy":
        xp, _name = np, "numpy"
    elif backend == "cupy":
        try:
            import cupy
        except ImportError as e:
            raise RuntimeError(f"minigan backend 'cupy' requested but CuPy is not installed: "
                               f"{_CUPY_HELP}. ({e})") from None
        try:
            n_gpus = cupy.cuda.runtime.getDeviceCount()
        except Exception as e:  # CUDA driver missing or broken: CuPy raises its own error types
            raise RuntimeError(f"minigan backend 'cupy': CuPy is installed but no CUDA GPU is "
                               f"usable ({type(e).__name__}: {e}). Check `nvidia-smi`, or use the "
                               f"'numpy' backend.") from None
        if n_gpus < 1:
            raise RuntimeError("minigan backend 'cupy': CuPy is installed but no CUDA GPU is "
                               "visible. Use the 'numpy' backend on this machine.")
        xp, _name = cupy, "cupy"
    else:
        raise ValueError(f"unknown minigan backend {backend!r}: expected 'numpy' or 'cupy'")


def _use_module(module, backend_name: str) -> None:
    """Install an arbitrary array module (tests use it for a CuPy stand-in)."""
    global xp, _name
    xp, _name = module, backend_name


def dtype():
    """The active floating dtype (numpy.float32 by default)."""
    return _dtype


def set_dtype(d) -> None:
    """Set the floating dtype of new parameters, noise and data: 'float32' or 'float64'."""
    global _dtype
    if d is None:                          # np.dtype(None) would silently be float64
        raise TypeError("minigan dtype must be 'float32' or 'float64', got None")
    try:
        d = np.dtype(d)
    except TypeError:
        raise TypeError(f"minigan dtype must be 'float32' or 'float64', got {d!r}") from None
    if d not in (np.float32, np.float64):
        raise ValueError(f"minigan dtype must be float32 or float64, got {d}")
    _dtype = d


@contextlib.contextmanager
def precision(d):
    """``with B.precision("float64"):`` -- temporarily change the default float dtype."""
    old = _dtype
    set_dtype(d)
    try:
        yield
    finally:
        set_dtype(old)


# ---------------------------------------------------------------------------------------------
# Random numbers: one host generator (NumPy's PCG64), seeded once, used for init, noise and dropout.
# Draws are made on the host and moved to the active backend. CuPy's own Generator lacks
# permutation() and a restorable state, and a host generator gives the same numbers for a seed on
# either backend; the copy costs little next to a training step.

def seed(s: int) -> None:
    """Reseed minigan's generator. Same seed + same calls -> same numbers, on either backend."""
    global _seed, _rng
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
        raise TypeError(f"seed: s must be an int, got {s!r} ({type(s).__name__}); int(s) would "
                        f"silently drop a fraction")
    if s < 0:
        raise ValueError(f"seed: s must be a non-negative int, got {s}")
    _seed = int(s)
    _rng = np.random.default_rng(_seed)


def rng():
    """The host numpy.random.Generator behind every draw."""
    global _rng
    if _rng is None:
        _rng = np.random.default_rng(_seed)
    return _rng


def randn(*shape, dtype=None):
    """Standard normal samples of ``shape`` in the active dtype, on the active backend."""
    return xp.asarray(rng().standard_normal(shape, dtype=dtype or _dtype))


def rand(*shape, dtype=None):
    """Uniform [0, 1) samples of ``shape`` in the active dtype, on the active backend."""
    return xp.asarray(rng().random(shape, dtype=dtype or _dtype))


def integers(low: int, high: int, size):
    """Integers uniform in [low, high), on the active backend."""
    return xp.asarray(rng().integers(low, high, size=size))


def permutation(n: int):
    """A random permutation of range(n) (for shuffling minibatches), on the active backend."""
    return xp.asarray(rng().permutation(n))


def get_rng_state() -> dict:
    """The generator's state as plain Python data (for checkpoints)."""
    state = rng().bit_generator.state
    return _to_builtin(state)


def set_rng_state(state: dict) -> None:
    """Restore a state from get_rng_state()."""
    rng().bit_generator.state = state


def _to_builtin(obj):
    if isinstance(obj, dict):
        return {k: _to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


# ---------------------------------------------------------------------------------------------
# Moving data across the host/device edge.

def asarray(x, dtype=None):
    """Host (or device) data -> an array of the active backend, floating data in the active dtype.

    Integer arrays keep their integer dtype unless ``dtype`` is given.
    """
    if dtype is None:
        kind = np.asarray(x).dtype.kind if not is_array(x) else x.dtype.kind
        dtype = _dtype if kind in "fc" or kind == "O" else None
    return xp.asarray(x, dtype=dtype)


def to_numpy(x):
    """Any array (numpy or device) or scalar -> numpy.ndarray on the host."""
    if isinstance(x, np.ndarray) and type(x) is np.ndarray:
        return x
    if hasattr(xp, "asnumpy") and is_array(x):
        return xp.asnumpy(x)
    if hasattr(x, "get"):
        return x.get()
    return np.asarray(x)


def is_array(x) -> bool:
    """True if x is an array of the active backend."""
    return isinstance(x, xp.ndarray)


def scalar(x) -> float:
    """A 0-d array (host or device) -> Python float."""
    return float(to_numpy(x))


def _init_from_env() -> None:
    """MINIGAN_BACKEND and MINIGAN_DTYPE, read at import; a bad value fails the import with the
    error of use() or set_dtype(), its message starting with the variable and its value."""
    backend = os.environ.get("MINIGAN_BACKEND", "")
    d = os.environ.get("MINIGAN_DTYPE", "")
    try:
        variable, value = "MINIGAN_BACKEND", backend
        if backend.strip().lower() not in ("", "numpy"):
            use(backend.strip().lower())
        variable, value = "MINIGAN_DTYPE", d
        if d:
            set_dtype(d)
    except (ValueError, TypeError, RuntimeError) as e:
        raise type(e)(f"environment variable {variable}={value!r}: {e}") from None


_init_from_env()
