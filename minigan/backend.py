"""The array backend: which array module minigan computes with, in which precision, with which RNG.

Only this module imports numpy or cupy. Everything else in minigan says

    from minigan import backend as B
    y = B.xp.zeros((N, F), dtype=B.dtype())

and reads ``B.xp`` *at call time*, so ``B.use("cupy")`` takes effect everywhere at once.
(``from minigan.backend import xp`` would bind the module that was active at import time and go
stale -- a test enforces the rule.)

    B.use("numpy" | "cupy")      choose the array module (env MINIGAN_BACKEND sets the default)
    B.set_dtype("float32" | "float64")   the floating dtype of new parameters, noise and data
    B.seed(s)                    the seed of initialisation, noise and dropout masks
    B.randn(*shape), B.rand(*shape), B.integers(low, high, size), B.permutation(n)
                                 drawn where the arrays live (host: PCG64; device: a counter-
                                 based generator, minigan.device_random)
    B.get_rng_state(), B.set_rng_state(state)   for checkpoints
    B.check(ok, error)           raise error() unless ok; deferred on a device inside
    B.deferred_checks()          (a training iteration); GAN.flush() reads them later
    B.asarray(x)                 host data -> active backend, in the active float dtype
    B.to_numpy(x)                active backend -> numpy.ndarray (for plots, files, printing)
    B.np                         host NumPy, for host-side work (data files, metrics, plots)
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from minigan import device_random   # imports nothing from minigan (no cycle)

#: Host-side NumPy, for code that works on host arrays whatever the backend: file I/O, data loading,
#: metrics and plots on ``to_numpy`` results. Device computation always goes through ``xp``.
np = np

xp = np                      # the active array module: numpy, cupy, or a test double of cupy
device_random.array_module = lambda: xp      # the device generator computes with xp, read per call
_name = "numpy"
_dtype = np.dtype(np.float32)
_seed = 0
_rng = None                  # the host generator, created lazily by rng()
_deferred = None             # the checks of the deferred_checks() block in progress, else None

_CUPY_HELP = ("install the CuPy package for your CUDA version: `pip install cupy-cuda12x` "
              "(CUDA 12) or `pip install cupy-cuda13x` (CUDA 13); add the `[ctk]` extra, e.g. "
              "`pip install \"cupy-cuda12x[ctk]\"`, on a machine without a CUDA toolkit. CuPy 14 "
              "needs NumPy >= 2; `nvidia-smi` shows the CUDA version the driver supports")

#: CUDA libraries CuPy loads, as they appear in its error messages -> what to tell the user.
_CUDA_LIBRARIES = (("nvrtc", "NVRTC, CUDA's runtime compiler (every elementwise kernel needs it)"),
                   ("cublas", "cuBLAS, CUDA's matrix-product library"),
                   ("curand", "cuRAND, CUDA's random-number library"),
                   ("cudart", "the CUDA runtime library (cudart)"),
                   ("cuda_runtime", "the CUDA runtime library (cudart)"))


def name() -> str:
    """Name of the active backend: 'numpy' or 'cupy'."""
    return _name


def use(backend: str) -> None:
    """Switch the array module for all of minigan: 'numpy' or 'cupy'.

    For 'cupy', first compiles and runs one elementwise kernel and one matrix product on the GPU,
    so that a broken install fails here, with a RuntimeError naming what is missing (CuPy, a GPU,
    a CUDA library) and the pip line that brings it -- never at the first training step, and
    never by falling back to NumPy. Parameters created before the switch stay on the old
    backend: build models after ``use``.
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
                               f"usable ({type(e).__name__}: {e}). Check `nvidia-smi`: a driver "
                               f"older than the CUDA version of the CuPy package fails this way "
                               f"(install the CuPy package of the driver's CUDA version), or use "
                               f"the 'numpy' backend.") from None
        if n_gpus < 1:
            raise RuntimeError("minigan backend 'cupy': CuPy is installed but no CUDA GPU is "
                               "visible. Use the 'numpy' backend on this machine.")
        _probe_gpu(cupy)
        xp, _name = cupy, "cupy"
    else:
        raise ValueError(f"unknown minigan backend {backend!r}: expected 'numpy' or 'cupy'")


def _probe_gpu(cupy) -> None:
    """Run (x * x + 1) @ x on the GPU: NVRTC compiles the elementwise kernel, cuBLAS does the
    product. Raise RuntimeError naming the missing CUDA library if either fails."""
    try:
        x = cupy.arange(4, dtype=cupy.float32).reshape(2, 2)
        product = (x * x + 1.0) @ x
        cupy.cuda.Device().synchronize()
        result = cupy.asnumpy(product)
    except Exception as e:  # CuPy raises CUDA's, NVRTC's and the loader's own error types
        text = f"{type(e).__name__}: {e}"
        missing = [what for key, what in _CUDA_LIBRARIES if key in text.lower()]
        what = (f"{missing[0]} could not be loaded or failed" if missing else
                "a test kernel failed")
        raise RuntimeError(f"minigan backend 'cupy': CuPy sees a GPU, but {what} ({text}). "
                           f"The CuPy wheel alone does not bring CUDA's libraries: "
                           f"{_CUPY_HELP}.") from None
    expected = np.array([[4.0, 7.0], [20.0, 35.0]], dtype=np.float32)
    if not np.array_equal(result, expected):
        raise RuntimeError(f"minigan backend 'cupy': a test product on the GPU gave "
                           f"{result.tolist()}, expected {expected.tolist()}; the CUDA install "
                           f"is broken. {_CUPY_HELP}.")


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
# Random numbers: one seed, and the generator of the side where the arrays live. On the host
# (NumPy) that is NumPy's PCG64; on a device (CuPy) it is minigan.device_random's counter-based
# generator, which computes its numbers on the device -- no draw on the host, no upload per step --
# and whose state (two ints) saves and restores exactly. Both are seeded by ``seed``; the same
# seed gives different numbers on the two backends, the same numbers run after run on each.

_device_rng = None           # the device generator, created lazily by device_rng()


def seed(s: int) -> None:
    """Reseed minigan's generators. Same seed + same calls -> same numbers (on each backend)."""
    global _seed, _rng, _device_rng
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
        raise TypeError(f"seed: s must be an int, got {s!r} ({type(s).__name__}); int(s) would "
                        f"silently drop a fraction")
    if s < 0:
        raise ValueError(f"seed: s must be a non-negative int, got {s}")
    _seed = int(s)
    _rng = np.random.default_rng(_seed)
    _device_rng = None


def rng():
    """The host numpy.random.Generator (the NumPy backend's draws, and host-side sampling)."""
    global _rng
    if _rng is None:
        _rng = np.random.default_rng(_seed)
    return _rng


def device_rng():
    """The device generator (minigan.device_random.DeviceGenerator) a device backend draws with."""
    global _device_rng
    if _device_rng is None:
        _device_rng = device_random.DeviceGenerator(_seed)
    return _device_rng


def on_host() -> bool:
    """True when the active arrays live in host memory (NumPy): reading a value costs nothing."""
    return xp is np


def randn(*shape, dtype=None):
    """Standard normal samples of ``shape`` in the active dtype, on the active backend."""
    dtype = dtype or _dtype
    if on_host():
        return rng().standard_normal(shape, dtype=dtype)
    return device_rng().standard_normal(shape, dtype)


def rand(*shape, dtype=None):
    """Uniform [0, 1) samples of ``shape`` in the active dtype, on the active backend."""
    dtype = dtype or _dtype
    if on_host():
        return rng().random(shape, dtype=dtype)
    return device_rng().random(shape, dtype)


def integers(low: int, high: int, size):
    """Integers uniform in [low, high), on the active backend."""
    if on_host():
        return rng().integers(low, high, size=size)
    return device_rng().integers(low, high, (size,) if isinstance(size, int) else tuple(size))


def permutation(n: int):
    """A random permutation of range(n) (for shuffling minibatches), on the active backend."""
    if on_host():
        return rng().permutation(n)
    return device_rng().permutation(n)


def get_rng_state() -> dict:
    """Both generators' states as plain Python data (for checkpoints):
    {"host": NumPy's PCG64 state, "device": {"key", "counter"}}."""
    return {"host": _to_builtin(rng().bit_generator.state), "device": device_rng().state}


def set_rng_state(state: dict) -> None:
    """Restore a state from get_rng_state() (or a bare PCG64 state, as older checkpoints hold).
    Raises ValueError naming what is wrong, changing nothing."""
    host, device = check_rng_state(state)
    if device is not None:
        device_rng().set_state(device)
    rng().bit_generator.state = host


def check_rng_state(state):
    """Validate a get_rng_state() result without installing it -> (host state, device state or
    None). Raises ValueError naming what is wrong."""
    if isinstance(state, dict) and set(state) == {"host", "device"}:
        host, device = state["host"], state["device"]
    else:
        host, device = state, None
    inner = host.get("state") if isinstance(host, dict) else None
    if isinstance(inner, dict):
        for key, value in inner.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or not 0 <= value < 2 ** 128:
                raise ValueError(f"the host generator's state: {key} must be an int in "
                                 f"[0, 2^128), got {value!r}")
    try:
        np.random.PCG64().state = host
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        raise ValueError(f"the host generator's state is not valid ({type(e).__name__}: "
                         f"{e})") from None
    if device is not None:
        device_random.DeviceGenerator().set_state(device)
    return host, device


def _to_builtin(obj):
    if isinstance(obj, dict):
        return {k: _to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


# ---------------------------------------------------------------------------------------------
# Checks that need a device value. Reading a value from a GPU stalls the host until the GPU has
# caught up (a "sync"); one per check would make a training iteration wait on the GPU a dozen
# times. Inside ``deferred_checks()`` on a device backend a check keeps its verdict on the device
# and the block's owner reads all of them at once (GAN: at logging or checkpoint time). On the
# host, and outside such a block, a check is read at once: the error is raised where it arose.

def check(ok, error) -> None:
    """Raise ``error()`` unless ``ok``.

    ok: a Python bool, or a 0-d boolean array of the active backend (e.g. ``isfinite(x).all()``).
    error: a function of no arguments returning the exception to raise, built only on failure.
    Inside ``deferred_checks()`` on a device backend the pair is recorded instead of read.
    """
    if _deferred is not None and is_array(ok) and not on_host():
        _deferred.append((ok, error))
    elif not bool(ok):
        raise error()


@contextlib.contextmanager
def deferred_checks():
    """``with B.deferred_checks() as checks:`` -- on a device backend, the ``check`` calls made in
    the block append their (ok, error) pairs to ``checks`` instead of reading ``ok``; on the host
    they are read at once and ``checks`` stays empty. ``GAN.flush`` reads a training run's
    checks in one transfer (xp.stack of the verdicts)."""
    global _deferred
    outer, _deferred = _deferred, []
    try:
        yield _deferred
    finally:
        _deferred = outer


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
