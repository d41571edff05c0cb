"""The backend: the import rule, choosing numpy/cupy, dtypes, seeding, host transfers."""
import ast
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import fakecupy
from minigan import backend as B

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "minigan"


# ---------------------------------------------------------------------------------------------
# The import rule

def import_violations(source: str, filename: str = "<source>") -> list:
    """Lines of ``source`` that break the rule: no numpy/cupy imports (outside backend.py), and
    no ``from minigan.backend import xp`` (it would bind the module active at import time)."""
    bad = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("numpy", "cupy"):
                    bad.append(f"{filename}:{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.split(".")[0] in ("numpy", "cupy"):
                bad.append(f"{filename}:{node.lineno}: from {module} import ...")
            binds_backend_module = (module.endswith("backend") and
                                    (node.level > 0 or module == "minigan.backend"))
            if binds_backend_module and any(a.name in ("xp", "*") for a in node.names):
                bad.append(f"{filename}:{node.lineno}: from {'.' * node.level}{module} "
                           f"import {', '.join(a.name for a in node.names)}")
    return bad


def test_import_rule_checker_catches_violations():
    source = "\n".join([
        "import numpy as np",
        "import numpy.linalg",
        "from numpy import zeros",
        "import cupy",
        "from cupy.cuda import runtime",
        "from minigan.backend import xp",
        "from .backend import xp",
        "from ..backend import *",
        "def f():",
        "    import numpy",                      # inside a function counts too
        "from minigan import backend as B",      # fine
        "from minigan.backend import dtype",     # fine
        "import numbers, math",                  # fine
    ])
    assert len(import_violations(source)) == 9


def test_library_modules_follow_the_import_rule():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) >= 5 and PACKAGE / "backend.py" in files
    bad = []
    for path in files:
        if path == PACKAGE / "backend.py":
            continue
        bad += import_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not bad, "numpy/cupy imported outside minigan/backend.py:\n" + "\n".join(bad)


# ---------------------------------------------------------------------------------------------
# Choosing the backend

def test_numpy_is_the_default():
    assert B.name() == "numpy" and B.xp is np
    assert B.dtype() == np.float32


def test_cupy_missing_raises_runtime_error_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)           # `import cupy` -> ImportError
    with pytest.raises(RuntimeError, match=r"pip install cupy") as err:
        B.use("cupy")
    assert "not installed" in str(err.value)
    assert B.name() == "numpy" and B.xp is np                 # nothing switched


def test_cupy_without_gpu_raises_runtime_error(monkeypatch):
    class CUDARuntimeError(RuntimeError):
        pass

    def no_driver():
        raise CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError, match="no CUDA GPU") as err:
        B.use("cupy")
    assert "cudaErrorNoDevice" in str(err.value) and "numpy" in str(err.value)
    assert B.xp is np

    fake.cuda.runtime.getDeviceCount = lambda: 0
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        B.use("cupy")
    assert B.xp is np


def test_use_cupy_with_a_usable_cupy_switches_everything(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)       # reports one device
    B.use("cupy")
    assert B.name() == "cupy" and B.xp is fakecupy
    assert isinstance(B.randn(2, 3), fakecupy.ndarray)
    B.use("numpy")
    assert B.xp is np and type(B.randn(2)) is np.ndarray


class _BrokenCuda(types.ModuleType):
    """A CuPy that sees a GPU but whose first kernel fails with ``error`` (as CuPy reports a
    missing NVRTC or cuBLAS: at the first elementwise kernel or matrix product)."""

    def __init__(self, error):
        super().__init__("cupy")
        self.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
        self.float32 = np.float32
        self._error = error

    def arange(self, *args, **kwargs):
        raise self._error


@pytest.mark.parametrize("error,missing", [
    (RuntimeError("CuPy failed to load libnvrtc.so.12: OSError: libnvrtc.so.12: cannot open "
                  "shared object file: No such file or directory"), "NVRTC"),
    (ImportError("libcublas.so.12: cannot open shared object file"), "cuBLAS"),
    (RuntimeError("CUDA_ERROR_ILLEGAL_ADDRESS"), "a test kernel failed"),
])
def test_cupy_with_a_broken_cuda_install_names_what_is_missing(monkeypatch, error, missing):
    """`use` runs a kernel and a product first: a missing CUDA library fails there, named, with
    the pip line that brings it -- not at the first training step, and not silently on NumPy."""
    monkeypatch.setitem(sys.modules, "cupy", _BrokenCuda(error))
    with pytest.raises(RuntimeError) as err:
        B.use("cupy")
    message = str(err.value)
    assert missing in message and str(error) in message
    assert 'pip install "cupy-cuda12x[ctk]"' in message and "cupy-cuda13x" in message
    assert B.xp is np and B.name() == "numpy"


def test_unknown_backend_raises_value_error():
    with pytest.raises(ValueError, match="'numpy' or 'cupy'"):
        B.use("torch")
    assert B.xp is np


# ---------------------------------------------------------------------------------------------
# dtype

def test_dtype_switching():
    B.set_dtype("float64")
    assert B.dtype() == np.float64
    assert B.randn(3).dtype == np.float64 and B.rand(3).dtype == np.float64
    assert B.asarray([1.0, 2.0]).dtype == np.float64
    B.set_dtype(np.float32)
    assert B.randn(3).dtype == np.float32 and B.asarray([1.0]).dtype == np.float32
    for bad in ("float16", "int32", "complex64"):
        with pytest.raises(ValueError, match="float32 or float64"):
            B.set_dtype(bad)
    assert B.dtype() == np.float32


def test_precision_context_restores_even_after_an_error():
    with B.precision("float64"):
        assert B.dtype() == np.float64
    assert B.dtype() == np.float32
    with pytest.raises(KeyError):
        with B.precision("float64"):
            raise KeyError("boom")
    assert B.dtype() == np.float32


def test_asarray_dtypes():
    assert B.asarray(np.arange(3)).dtype.kind == "i"                 # integers stay integers
    assert B.asarray(np.arange(3), dtype=np.float32).dtype == np.float32
    assert B.asarray(np.ones(2, dtype=np.float64)).dtype == np.float32   # floats: active dtype


# ---------------------------------------------------------------------------------------------
# Random numbers

def test_seed_reproducibility():
    B.seed(7)
    a = (B.randn(4, 2), B.rand(3), B.integers(0, 10, size=5), B.permutation(6))
    B.seed(7)
    b = (B.randn(4, 2), B.rand(3), B.integers(0, 10, size=5), B.permutation(6))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    B.seed(8)
    assert not np.array_equal(B.randn(4, 2), a[0])


def test_random_ranges_and_types():
    B.seed(0)
    u = B.rand(1000)
    assert u.min() >= 0 and u.max() < 1
    k = B.integers(3, 6, size=1000)
    assert set(np.unique(k)) == {3, 4, 5}
    assert sorted(B.permutation(10).tolist()) == list(range(10))


def test_rng_state_round_trip():
    B.seed(3)
    B.randn(5)
    state = B.get_rng_state()
    assert isinstance(state, dict)
    first = B.randn(5)
    B.randn(7)
    B.set_rng_state(state)
    np.testing.assert_array_equal(B.randn(5), first)


# ---------------------------------------------------------------------------------------------
# Host transfers

def test_to_numpy_and_scalar():
    a = np.arange(3.0)
    assert B.to_numpy(a) is a
    assert type(B.to_numpy([1, 2])) is np.ndarray
    assert B.to_numpy(2.5).shape == ()
    assert B.scalar(np.float32(1.5)) == 1.5 and type(B.scalar(np.array(2.0))) is float


def test_to_numpy_of_a_device_array():
    B._use_module(fakecupy, "cupy")
    d = B.asarray([1.0, 2.0])
    assert isinstance(d, fakecupy.ndarray)
    host = B.to_numpy(d)
    assert type(host) is np.ndarray and host.tolist() == [1.0, 2.0] and host.dtype == np.float32
    assert B.scalar(d.sum()) == 3.0
    B.use("numpy")
    assert B.to_numpy(d).tolist() == [1.0, 2.0]          # a stray device array still converts


def test_is_array():
    assert B.is_array(np.zeros(2)) and not B.is_array([0.0]) and not B.is_array(1.0)


# ---------------------------------------------------------------------------------------------
# MINIGAN_BACKEND / MINIGAN_DTYPE, read at import (each in a fresh interpreter)

def run_python(code: str, **env_vars) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIGAN_")}
    env.update(env_vars)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_env_default_is_numpy():
    r = run_python("from minigan import backend as B; print(B.name(), B.dtype())")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["numpy", "float32"]


def test_env_selects_backend_and_dtype():
    code = ("import sys, fakecupy; sys.modules['cupy'] = fakecupy\n"
            "from minigan import backend as B\n"
            "print(B.name(), B.xp.__name__, B.dtype(), type(B.randn(2)).__name__)")
    r = run_python(code, MINIGAN_BACKEND="cupy", MINIGAN_DTYPE="float64")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["cupy", "fakecupy", "float64", "DeviceArray"]
    r = run_python("from minigan import backend as B; print(B.name())", MINIGAN_BACKEND=" NumPy ")
    assert r.stdout.split() == ["numpy"], r.stderr


def test_env_asking_for_missing_cupy_fails_at_import_saying_what_to_install():
    code = "import sys; sys.modules['cupy'] = None\nimport minigan.backend"
    r = run_python(code, MINIGAN_BACKEND="cupy")
    assert r.returncode != 0
    assert "RuntimeError" in r.stderr and "pip install cupy" in r.stderr


def test_env_unknown_backend_fails_at_import():
    r = run_python("import minigan.backend", MINIGAN_BACKEND="jax")
    assert r.returncode != 0 and "ValueError" in r.stderr and "unknown minigan backend" in r.stderr
