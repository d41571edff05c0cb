"""Shared test setup: headless plotting, a clean backend state around every test, and the CuPy
test double as a backend (the ``fake`` fixture)."""
import signal

import matplotlib
import pytest

matplotlib.use("Agg")

# The Ctrl-C tests raise a real SIGINT in this process. A shell starts a background job with
# SIGINT ignored, and Python then keeps it ignored: give the suite Python's usual handler, so
# that those tests mean the same wherever the suite is started.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from minigan import backend as B  # noqa: E402  (after the plotting backend is chosen)


@pytest.fixture(autouse=True)
def _restore_backend():
    """Every test starts on NumPy, float32, seed 0, and leaves it that way."""
    B.use("numpy")
    B.set_dtype("float32")
    B.seed(0)
    yield
    B.use("numpy")
    B.set_dtype("float32")



@pytest.fixture
def fake():
    """The CuPy test double (tests/fakecupy.py) installed as minigan's 'cupy' backend; NumPy
    restored afterwards."""
    import fakecupy
    B._use_module(fakecupy, "cupy")
    B.seed(0)
    yield fakecupy
    B.use("numpy")


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """quick_run(name) -> (out folder, result) of one ``--quick`` script run of chapters/<name>.py
    (minigan.chapter.run), made once per test session and shared by the tests that read it."""
    from minigan import chapter
    runs = {}

    def run(name):
        if name not in runs:
            out = tmp_path_factory.mktemp(name)
            B.use("numpy")
            B.set_dtype("float32")
            runs[name] = out, chapter.run(name, ["--quick", "--out", str(out)])
        return runs[name]
    return run
