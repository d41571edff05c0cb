"""What every chapter shares: its settings, the backend it runs on, and how it reports.

A chapter is a file of cells, separated by ``# %%`` lines, that runs top to bottom both as a
script and as a notebook (VS Code, PyCharm and Jupytext read the percent format directly):

    python chapters/ch3_algorithm.py [--quick] [--seed S] [--out DIR] ...

The convention, which every chapter follows:

* Every cell is whole statements at module level: no cell holds part of a function, and the
  chapter's state lives in module-level names (``G``, ``gan``, ``states``, ``figures`` ...) that
  the cells below read. A learner changes a constant or a setting in one cell and re-runs the
  cells below it.
* The first cells import and define constants and the chapter's own functions; they only define
  (a test, or a learner, can run them to get the functions without running the chapter). Then
  one cell, the settings cell, whose first line starts ``# %% Settings``, builds the command
  line and reads it:

      # %% Settings: as a script, the command line; in a notebook, edit `notebook`
      parser = chapter.make_parser(TITLE, "ch3_algorithm")
      parser.add_argument("--iterations", type=chapter.positive_int, default=None)
      args = chapter.parse_args(parser, notebook="--quick")
      out = chapter.start(args)          # backend, dtype and seed set; the output folder made

  As a script, ``parse_args`` reads the command line. Anywhere else -- a notebook's kernel, whose
  ``sys.argv`` is the kernel's own, or a harness executing the cells -- it reads the string
  ``notebook`` (edit it in the cell, e.g. "--quick --seed 1") followed by the environment
  variable ``MINIGAN_ARGS`` (so ``MINIGAN_ARGS="--quick" jupyter nbconvert --execute ...``
  runs a chapter's notebook headless; later options win). Nothing reads ``__file__``.
* The theory sits in ``# %% [markdown]`` cells (comment lines) above the code it explains.
* Each experiment is a cell that calls library or chapter functions and leaves its results in
  named variables; a figure cell saves the figure (Agg, under ``out``) and shows it in a notebook
  (``chapter.show(path)`` displays it inline where IPython runs a kernel, and does nothing in a
  script).
* The last cell prints what was measured and where the figures are, and keeps it in ``result``:

      result = chapter.report(numbers, figures)

``chapter.run(name, argv)`` runs a chapter as its script would, in this process, and returns
its ``result`` (the tests use it); its backend, dtype and ``sys.argv`` are restored afterwards.

Every chapter accepts

    --quick            a smoke test (seconds to a minute; the tests use it), in its own folder
    --seed S           seed of minigan's generator (initialisation, noise, data)  [0]
    --backend NAME     numpy | cupy                                               [numpy]
    --dtype NAME       float32 | float64                                          [float32]
    --out DIR          where figures go      [runs/<chapter name>, runs/<chapter name>-quick]

Bad arguments (a non-positive count, an unknown backend, CuPy asked for where it is missing,
an --out that is empty or cannot be written, a --data-dir that does not exist, notebook
settings or MINIGAN_ARGS with an unclosed quote) stop with an argparse error before any work
is done. Ctrl-C ends a script with exit status 130 and the command that
continues it (chapters with --resume continue from their last checkpoint).

Expected failures -- a bad MINIGAN_BACKEND or MINIGAN_DTYPE, a download that fails or does not
match its checksum, a data file that is missing, damaged or of another kind, a checkpoint that
cannot be loaded or belongs to another run, --resume with nothing to resume, an output folder
on a full disk or a read-only file system, a figure path that is a folder -- end a script with one line on stderr,
``<chapter>.py: error: <what happened and what to do>``, and exit status 2 (as argparse does for
a bad option), not a traceback (``EXPECTED_FAILURES``; a notebook, or ``run``, sees the
exception itself). --resume: ``resumable(args, checkpoints)`` says, for each checkpoint that is
not there, that this part starts fresh; if none is there it stops (exit status 2): resuming a
run that never saved anything is usually a wrong --out.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import runpy
import shlex
import sys


def _launched_as_chapter_script() -> bool:
    """True when this process was started as ``python chapters/<name>.py``."""
    chapters = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "chapters")
    return bool(sys.argv and sys.argv[0]) and \
        os.path.dirname(os.path.abspath(sys.argv[0])) == chapters


try:
    from minigan import backend as B
except (ValueError, TypeError, RuntimeError) as _error:
    # A bad MINIGAN_BACKEND / MINIGAN_DTYPE: a chapter script stops with one line and status 2,
    # as for a bad command-line option (every chapter imports this module first); anywhere else
    # the import fails with the error itself.
    if _launched_as_chapter_script():
        print(f"{os.path.basename(sys.argv[0])}: error: {_error}", file=sys.stderr)
        raise SystemExit(2) from None
    raise
from minigan.checkpoint import CheckpointError
from minigan.plot import FigurePathError
from minigan.data.idx import ChecksumError, DownloadError, IDXFormatError

#: The checkout minigan runs from (holding chapters/ and runs/), else the current folder.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if not os.path.isdir(os.path.join(ROOT, "chapters")):
    ROOT = os.getcwd()

BACKENDS = ("numpy", "cupy")
DTYPES = ("float32", "float64")
#: Options a chapter reads when it is not run as a script, after its settings cell's own.
ARGS_VARIABLE = "MINIGAN_ARGS"
#: What a chapter script reports in one line and exit status 2 instead of a traceback: failures
#: of the machine, the network or the files it was given, not of the code.
#: (OSError covers a missing or unreadable file, a permission denied, a full disk, a read-only
#: file system -- each message names the file.)
EXPECTED_FAILURES = (DownloadError, ChecksumError, IDXFormatError, CheckpointError, OSError,
                     FigurePathError)


class OutputFolderError(OSError):
    """The output folder (--out) cannot be created or written: a read-only file system, a full
    disk. A chapter script reports it in one line with exit status 2."""


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
    """The shared options of chapter ``name`` (its file is chapters/<name>.py), described by the
    first line of ``doc``; a chapter adds its own (e.g. --iterations, type=positive_int)."""
    summary = (doc or name).strip().splitlines()[0]
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=summary)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: a short run that checks the code runs (its numbers "
                             "are not the text's; written to runs/<chapter>-quick)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of minigan's random generator (default 0)")
    parser.add_argument("--backend", choices=BACKENDS, default="numpy",
                        help="array backend (default numpy; cupy needs a CUDA GPU)")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="floating dtype of parameters and data (default float32)")
    parser.add_argument("--out", default=None,
                        help=f"folder for the figures (default runs/{name}, or "
                             f"runs/{name}-quick with --quick)")
    return parser


def default_out(name: str, quick: bool) -> str:
    """Where chapter ``name`` writes when --out is not given: runs/<name> for the full run,
    runs/<name>-quick for a --quick one, so that a smoke test never overwrites what the full run
    measured (nor is read as it)."""
    return os.path.join(ROOT, "runs", name + ("-quick" if quick else ""))


def running_as_script(parser: argparse.ArgumentParser) -> bool:
    """True when this process runs the parser's chapter file as a script (python chapters/...),
    False in a notebook's kernel or a harness executing its cells."""
    return os.path.basename(sys.argv[0] or "") == parser.prog


def parse_args(parser: argparse.ArgumentParser, argv=None,
               notebook: str = "--quick") -> argparse.Namespace:
    """The chapter's settings: ``argv`` if given, else the command line when run as a script,
    else ``notebook`` followed by the environment variable MINIGAN_ARGS (see the module doc).

    In a notebook's kernel the settings default to ``--quick`` (a smoke test of seconds to a
    minute), and one printed line says how to run the full experiment instead.

    Adds the checks argparse cannot make itself: CuPy available, --out a folder that can be
    written (nothing is created yet), --data-dir an existing folder. The arguments are kept
    (``args._argv``, ``args._prog``) so that an interrupted run can say how to continue, and
    ``args._script`` says whether this is a script run.
    """
    script = argv is None and running_as_script(parser)
    explicit = argv is not None
    if argv is None:
        try:
            argv = (sys.argv[1:] if script else
                    shlex.split(notebook) + shlex.split(os.environ.get(ARGS_VARIABLE, "")))
        except ValueError as e:                  # an unclosed quote
            parser.error(f"the notebook settings {notebook!r} or the environment variable "
                         f"{ARGS_VARIABLE}={os.environ.get(ARGS_VARIABLE, '')!r} cannot be read "
                         f"as options: {e}")
    args = parser.parse_args(argv)
    if not script and not explicit and args.quick:
        name = parser.prog[:-3] if parser.prog.endswith(".py") else parser.prog
        print(f"Settings: --quick, a smoke test (its numbers check that the code runs; they "
              f"are not the text's). For the full run set notebook = \"\" in this cell, or "
              f"run `python chapters/{name}.py`.", flush=True)
    if args.out is None:
        name = parser.prog[:-3] if parser.prog.endswith(".py") else parser.prog
        args.out = default_out(name, args.quick)
    elif not args.out.strip() or "\0" in args.out:
        parser.error(f"argument --out: expected a folder name, got {args.out!r}")
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
    args._argv = list(argv)
    args._prog = parser.prog
    args._script = script
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


# ---------------------------------------------------------------------------------------------
# The run

def start(args) -> str:
    """Use args.backend, args.dtype and args.seed from here on; returns the output folder
    (created). As a script, Ctrl-C then ends the run with exit status 130 and the command that
    continues it instead of a traceback (after GAN.train has saved what it could)."""
    if getattr(args, "_script", False):
        sys.excepthook = _script_hook(args, sys.excepthook)
    try:
        os.makedirs(args.out, exist_ok=True)
        write_run_record(args, finished=False)
    except OSError as e:
        raise OutputFolderError(f"--out {args.out}: cannot write there "
                                f"({e.strerror or e}); give a writable folder") from None
    B.use(args.backend)
    B.set_dtype(args.dtype)
    B.seed(args.seed)
    from minigan import plot
    plot.set_banner(SMOKE_TEST if is_quick(args) else None)
    return args.out


# ---------------------------------------------------------------------------------------------
# Quick and full runs, kept apart

#: The file in a chapter's output folder that says which run wrote it.
RUN_RECORD = "run.json"
#: What a --quick run says in place of a verdict on the text's targets.
NOT_JUDGED = "not judged in --quick"
#: The line a --quick run's report and figures carry.
SMOKE_TEST = "--quick: a smoke test; its numbers check that the code runs, not what the text claims"


def is_quick(args) -> bool:
    """True for a --quick run (a smoke test)."""
    return bool(getattr(args, "quick", False))


def write_run_record(args, finished: bool) -> str:
    """Write ``run.json`` into args.out: the chapter, quick or full, the seed, the command and
    whether the run finished. A chapter that reads another chapter's output reads it back
    (``read_run_record``) to name the run it read and to refuse a quick one for a judged claim."""
    import json
    path = os.path.join(args.out, RUN_RECORD)
    record = {"chapter": getattr(args, "_prog", "")[:-3], "quick": is_quick(args),
              "seed": getattr(args, "seed", None), "command": rerun_command(args),
              "finished": bool(finished)}
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    os.replace(temporary, path)
    return path


def read_run_record(folder: str):
    """The run record (a dict, see ``write_run_record``) of a chapter's output folder; None if
    the folder has none (written by no chapter run, or by an older minigan)."""
    import json
    path = os.path.join(folder, RUN_RECORD)
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not a readable run record ({e})") from None
    if not isinstance(record, dict) or not isinstance(record.get("quick"), bool):
        raise ValueError(f"{path}: not a run record (expected an object with 'quick')")
    return record


def describe_run(folder: str) -> str:
    """One phrase naming the run that wrote ``folder``: its command, quick or full."""
    record = read_run_record(folder)
    if record is None:
        return f"{folder} (no {RUN_RECORD}: which run wrote it is unknown)"
    kind = "a --quick smoke test" if record["quick"] else "a full run"
    state = "" if record.get("finished") else ", unfinished"
    return f"{folder} ({kind}{state}: {record.get('command', '?')})"


def judge(args, met) -> object:
    """A target's verdict: ``bool(met)`` in a full run; NOT_JUDGED in a --quick one (a smoke
    test's numbers say nothing about the text's targets)."""
    return NOT_JUDGED if is_quick(args) else bool(met)


def title(args, text: str) -> str:
    """A figure title: ``text`` in a full run; in a --quick run, ``text`` under a first line
    saying it is a smoke test (so no quick figure states the full run's conclusions)."""
    return f"[--quick smoke test, not the text's result]\n{text}" if is_quick(args) else text


def resumable(args, checkpoints: dict) -> dict:
    """With --resume: {part: path} of the checkpoints in ``checkpoints`` ({part: path}) that
    exist, printing for each missing one that the part starts fresh. None at all: raises
    FileNotFoundError (a script stops with one line, status 2), since resuming a run that saved
    nothing usually means a wrong --out. Without --resume: {} (every part starts fresh)."""
    if not getattr(args, "resume", False):
        return {}
    found = {part: path for part, path in checkpoints.items() if os.path.exists(path)}
    if not found:
        raise FileNotFoundError(
            f"--resume: no checkpoint to continue from in {args.out} (looked for "
            f"{', '.join(os.path.relpath(p, args.out) for p in checkpoints.values())}); give the "
            f"--out of the run to continue, or run without --resume to start afresh")
    for part, path in checkpoints.items():
        if part not in found:
            print(f"[{part}] --resume: no checkpoint at {path}; this part starts fresh",
                  flush=True)
    return found


def interrupted_message(args) -> str:
    """What a chapter prints when Ctrl-C stops it: the command that continues (or reruns) it."""
    if hasattr(args, "resume"):
        advice = f"To continue from its last checkpoint, run:\n  {rerun_command(args, True)}"
    else:
        advice = f"This chapter has no --resume; to run it again:\n  {rerun_command(args)}"
    return f"\nInterrupted (Ctrl-C). {advice}"


def _script_hook(args, previous):
    """An excepthook: an uncaught Ctrl-C prints interrupted_message and exits with status 130;
    an uncaught EXPECTED_FAILURES error prints one line and exits with status 2."""
    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            print(interrupted_message(args), file=sys.stderr, flush=True)
            status = 130
        elif issubclass(kind, EXPECTED_FAILURES):
            message = " ".join(str(value).split())          # one line
            print(f"{getattr(args, '_prog', 'chapter')}: error: {message}", file=sys.stderr,
                  flush=True)
            status = 2
        else:
            return previous(kind, value, traceback)
        sys.stdout.flush()
        os._exit(status)           # an uncaught exception would otherwise end with status 1
    hook.args = args
    return hook


@contextlib.contextmanager
def session(args):
    """``start(args)`` for a block, from a function: yields the output folder.

    The previous backend and dtype are restored afterwards, so a function running a chapter can
    be called from tests or a notebook without leaving its settings behind. Ctrl-C inside the
    block ends the run with exit status 130 (SystemExit) and the command that continues it.
    """
    previous_backend, previous_dtype = B.name(), B.dtype()
    os.makedirs(args.out, exist_ok=True)
    try:
        B.use(args.backend)
        B.set_dtype(args.dtype)
        B.seed(args.seed)
        yield args.out
    except KeyboardInterrupt:
        print(interrupted_message(args), file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    finally:
        B.use(previous_backend)
        B.set_dtype(previous_dtype)


def report(numbers: dict, figures: list, args=None) -> dict:
    """Print the measured numbers and the figure paths, one per line, after a blank line.

    With ``args``: a --quick run's report opens with SMOKE_TEST, and the run record in args.out
    is marked finished. Returns the numbers with the figure paths added under "figures": what a
    chapter keeps in ``result`` (the tests read it)."""
    print()
    if args is not None:
        if is_quick(args):
            print(f"  {SMOKE_TEST}")
        write_run_record(args, finished=True)
    width = max(len(k) for k in numbers) if numbers else 0
    for key, value in numbers.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        print(f"  {key:<{width}}  {shown}")
    for path in figures:
        print(f"  figure: {path}")
    return {**numbers, "figures": figures}


def show(path: str) -> str:
    """Display the saved figure ``path`` inline when running in a notebook's kernel; returns
    ``path``. In a script (or anywhere without an IPython kernel) it does nothing."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        from IPython.display import Image, display
        display(Image(filename=path) if path.endswith((".png", ".gif")) else path)
    return path


def run(name: str, argv=()) -> dict:
    """Run chapters/<name>.py as ``python chapters/<name>.py *argv`` would, in this process;
    returns its ``result``. Ctrl-C ends it with SystemExit(130) and the command that continues
    it, as in a script. The backend, dtype, sys.argv and sys.excepthook are restored afterwards.
    """
    path = os.path.join(ROOT, "chapters", f"{name}.py")
    if not os.path.isfile(path):
        raise ValueError(f"chapter.run: no chapter {name!r} ({path} does not exist)")
    saved = sys.argv, sys.excepthook, B.name(), B.dtype()
    sys.argv = [path, *argv]
    try:
        namespace = runpy.run_path(path, run_name="__main__")
    except KeyboardInterrupt:
        hook = sys.excepthook
        if getattr(hook, "args", None) is None:
            raise
        print(interrupted_message(hook.args), file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    finally:
        sys.argv, sys.excepthook = saved[0], saved[1]
        B.use(saved[2])
        B.set_dtype(saved[3])
        from minigan import plot
        plot.set_banner(None)
    return namespace["result"]
