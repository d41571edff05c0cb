"""Shared test setup: headless plotting, and a clean backend state around every test."""
import os
import sys

import matplotlib
import pytest

matplotlib.use("Agg")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from minigan import backend as B  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_backend():
    """Every test starts on NumPy, float32, seed 0, and leaves it that way."""
    B.use("numpy")
    B.set_dtype("float32")
    B.seed(0)
    yield
    B.use("numpy")
    B.set_dtype("float32")

