"""minigan.chapter: where a chapter's settings come from (script, notebook, environment), and
showing a figure inline only where a notebook kernel runs."""
import sys
import types

import pytest

from minigan import chapter


def parser():
    p = chapter.make_parser("A chapter.\n\nMore text.", "ch9_example")
    p.add_argument("--iterations", type=chapter.positive_int, default=7)
    return p


def test_as_a_script_the_command_line_is_read(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["chapters/ch9_example.py", "--iterations", "3",
                                      "--out", str(tmp_path)])
    monkeypatch.setenv(chapter.ARGS_VARIABLE, "--iterations 5")            # ignored here
    args = chapter.parse_args(parser(), notebook="--quick")
    assert args._script and args.iterations == 3 and not args.quick
    assert args._argv == ["--iterations", "3", "--out", str(tmp_path)]


def test_in_a_kernel_the_notebook_string_then_the_environment_is_read(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.delenv(chapter.ARGS_VARIABLE, raising=False)
    args = chapter.parse_args(parser(), notebook=f"--quick --out '{tmp_path}'")
    assert not args._script and args.quick and args.iterations == 7
    monkeypatch.setenv(chapter.ARGS_VARIABLE, "--iterations 5")
    args = chapter.parse_args(parser(), notebook=f"--iterations 2 --out '{tmp_path}'")
    assert args.iterations == 5                                   # the environment comes last
    with pytest.raises(SystemExit):
        chapter.parse_args(parser(), notebook="--iterations 0")


def test_show_displays_only_in_a_kernel(monkeypatch, tmp_path):
    path = str(tmp_path / "figure.png")
    shown = []
    display = types.ModuleType("IPython.display")
    display.Image = lambda filename: ("image", filename)
    display.display = shown.append
    shell = types.SimpleNamespace(kernel=None)
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    assert chapter.show(path) == path and shown == []             # a terminal IPython: no kernel
    shell.kernel = object()
    assert chapter.show(path) == path and shown == [("image", path)]
    monkeypatch.delitem(sys.modules, "IPython")
    assert chapter.show(path) == path and len(shown) == 1         # plain Python


def test_run_names_a_missing_chapter():
    with pytest.raises(ValueError, match="no chapter 'ch9_missing'"):
        chapter.run("ch9_missing")
