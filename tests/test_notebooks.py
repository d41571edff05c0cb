"""Every chapter runs top to bottom as a notebook: cell by cell, in one namespace, with a kernel's
sys.argv and no __file__ (tests/notebook.py), in quick mode, with no Jupyter package.

Each cell holds whole statements, the settings come from the notebook's side (not the kernel's
command line), the chapter's state is left in module-level names, and the run measures what the
same chapter measures as a script with the same settings.
"""
import os

import pytest

from notebook import cells, run_as_notebook

#: The chapters that follow minigan.chapter's convention (chapter 5 joins when it does).
CHAPTERS = ["ch1_background", "ch2_core_concepts", "ch3_algorithm", "ch4_code_examples",
            "ch5_challenges", "ch5_mode_collapse", "ch6_gan_vs_vae", "ch6_compute_cost",
            "ch6_limits", "ch6_learning_rates", "ch6_losses"]
#: Numbers that measure time and so differ between two runs.
TIMINGS = ("seconds", "_ms", "gflops", "fraction_of_peak", "over_vae", "cost_tables")


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_cell_is_whole_statements(name):
    sources = cells(name)
    assert len(sources) >= 5, "a chapter is a sequence of cells"
    for number, source in enumerate(sources, 1):
        compile(source, f"<{name} cell {number}>", "exec")     # SyntaxError if a cell is half a def
    text = "".join(sources)
    assert "__file__" not in text and "sys.path" not in text
    assert "def main(" not in text, "the chapter's state lives at module level, not in main()"


@pytest.mark.parametrize("name", CHAPTERS)
def test_a_chapter_runs_as_a_notebook_and_measures_what_the_script_does(name, tmp_path,
                                                                         monkeypatch, quick_run):
    namespace = run_as_notebook(name, f"--quick --out {tmp_path}", monkeypatch)
    monkeypatch.undo()
    notebook = namespace["result"]
    assert namespace["args"].quick and not namespace["args"]._script
    assert {os.path.dirname(path) for path in notebook["figures"]} <= {str(tmp_path)} | {
        os.path.join(str(tmp_path), d) for d in os.listdir(tmp_path)}
    for path in notebook["figures"]:
        assert os.path.getsize(path) > 1000, path
    _, script = quick_run(name)                       # python chapters/<name>.py --quick
    assert sorted(script) == sorted(notebook)
    for key, value in script.items():
        if key == "figures" or any(word in key for word in TIMINGS):
            continue
        assert repr(notebook[key]) == repr(value), key
