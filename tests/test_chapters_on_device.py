"""The chapters run with ``--backend cupy``, on the CuPy test double standing in for CuPy.

``B.use("cupy")`` imports ``cupy``; here that import finds fakecupy, which fails where a GPU
would (a host array mixed in, an implicit conversion, a name CuPy lacks). Chapter code has its
own ways to trip on a device -- ``np.mean`` of a list of device values, a plot of a device
array -- that the library's tests cannot see.

A run on the double costs about 2.3x the NumPy run, so the suite runs the chapters that train
the DCGAN and the conditional GAN and the two short ones (about 40 s on 2 cores); set
``MINIGAN_DEVICE_CHAPTERS=all`` to run all seven (about 150 s).
"""
import os
import sys

import pytest

import fakecupy
from minigan import backend as B
from minigan import chapter

ALL = ["ch1_background", "ch2_core_concepts", "ch3_algorithm", "ch4_code_examples",
       "ch5_challenges", "ch5_mode_collapse", "ch6_gan_vs_vae", "ch6_compute_cost",
       "ch6_limits", "ch6_learning_rates"]
DEFAULT = ["ch1_background", "ch2_core_concepts", "ch4_code_examples"]
CHAPTERS = ALL if os.environ.get("MINIGAN_DEVICE_CHAPTERS", "").lower() == "all" else DEFAULT


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_quick_run_on_the_cupy_double(name, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    fakecupy.reset_counters()
    try:
        result = chapter.run(name, ["--quick", "--backend", "cupy", "--out", str(tmp_path)])
    finally:
        B.use("numpy")
    assert fakecupy.counters.operations > 100, "the run went through the double"
    assert result["figures"] and all(os.path.getsize(path) > 1000 for path in result["figures"])
