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


def test_quick_and_full_runs_write_to_their_own_folders(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.delenv(chapter.ARGS_VARIABLE, raising=False)
    quick = chapter.parse_args(parser())                         # a kernel: --quick by default
    assert quick.quick and quick.out == chapter.default_out("ch9_example", True)
    assert quick.out.endswith("ch9_example-quick")
    assert "For the full run set notebook = \"\"" in capsys.readouterr().out
    full = chapter.parse_args(parser(), notebook="")
    assert not full.quick and full.out == chapter.default_out("ch9_example", False)
    assert full.out != quick.out and full.out.endswith("ch9_example")


def test_a_quick_run_is_recorded_marked_and_never_judged(tmp_path, capsys):
    args = chapter.parse_args(parser(), ["--quick", "--out", str(tmp_path / "q")])
    out = chapter.start(args)
    try:
        record = chapter.read_run_record(out)
        assert record["quick"] is True and record["finished"] is False
        assert record["chapter"] == "ch9_example" and "--quick" in record["command"]
        assert chapter.judge(args, True) == chapter.NOT_JUDGED
        assert chapter.title(args, "a title").startswith("[--quick smoke test")
        result = chapter.report({"x": 1.0}, [], args)
        assert chapter.SMOKE_TEST in capsys.readouterr().out and result["x"] == 1.0
        assert chapter.read_run_record(out)["finished"] is True
        assert "a --quick smoke test" in chapter.describe_run(out)
    finally:
        from minigan import plot
        plot.set_banner(None)
    full = chapter.parse_args(parser(), ["--out", str(tmp_path / "f")])
    chapter.start(full)
    assert chapter.judge(full, 1 > 0) is True and chapter.judge(full, 0) is False
    assert chapter.title(full, "a title") == "a title"
    assert "a full run, unfinished" in chapter.describe_run(full.out)
    assert chapter.read_run_record(str(tmp_path)) is None
    assert "unknown" in chapter.describe_run(str(tmp_path))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / chapter.RUN_RECORD).write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a run record"):
        chapter.read_run_record(str(tmp_path / "bad"))


def test_an_empty_or_unwritable_out_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(SystemExit):
        chapter.parse_args(parser(), ["--out", ""])
    args = chapter.parse_args(parser(), ["--out", str(tmp_path / "x")])

    def read_only(*a, **k):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(chapter.os, "makedirs", read_only)
    with pytest.raises(chapter.OutputFolderError, match="Read-only file system"):
        chapter.start(args)
    assert issubclass(chapter.OutputFolderError, chapter.EXPECTED_FAILURES)


def test_settings_with_an_unclosed_quote_are_an_argparse_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.setenv(chapter.ARGS_VARIABLE, "--out 'unclosed")
    with pytest.raises(SystemExit) as stop:
        chapter.parse_args(parser())
    assert stop.value.code == 2
    assert "MINIGAN_ARGS" in capsys.readouterr().err


def test_file_system_failures_are_expected_failures():
    from minigan.plot import FigurePathError
    for kind in (OSError, FileNotFoundError, PermissionError, chapter.OutputFolderError,
                 FigurePathError):
        assert issubclass(kind, chapter.EXPECTED_FAILURES), kind
    assert not issubclass(ValueError, chapter.EXPECTED_FAILURES)    # a bug stays a traceback
