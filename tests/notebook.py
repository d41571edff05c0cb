"""Running a chapter the way a notebook's kernel runs it, without Jupyter.

A chapter file is split at its ``# %%`` lines into cells; each cell is compiled on its own (a cell
holding half a function fails here as it fails in a kernel) and executed in one namespace that,
like a kernel's, has no ``__file__``, with the kernel's ``sys.argv`` and the chapter's folder
as the working directory. The chapter's settings come from the MINIGAN_ARGS environment variable
(``minigan.chapter.parse_args``), as they would for a notebook executed headless.
"""
import os
import re
import sys

import minigan.chapter

KERNEL_ARGV = ["ipykernel_launcher.py", "-f", "/tmp/kernel-0000.json"]
CELL = re.compile(r"^# %%", flags=re.MULTILINE)


def cells(name):
    """The source of each cell of chapters/<name>.py, in order (the text before the first
    ``# %%`` line, the module docstring, is the first cell)."""
    path = os.path.join(minigan.chapter.ROOT, "chapters", f"{name}.py")
    with open(path, encoding="utf-8") as f:
        source = f.read()
    starts = [m.start() for m in CELL.finditer(source)]
    bounds = [0] + starts + [len(source)]
    return [source[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if source[a:b].strip()]


def definitions(name):
    """The namespace of chapter ``name``'s cells above its settings cell (``# %% Settings``):
    its imports, constants and functions, nothing run. A dict."""
    namespace = {"__name__": "__main__"}
    for number, source in enumerate(cells(name), 1):
        if source.startswith("# %% Settings"):
            return namespace
        exec(compile(source, f"<{name} cell {number}>", "exec"), namespace)
    raise ValueError(f"chapters/{name}.py has no '# %% Settings' cell")


def run_as_notebook(name, args, monkeypatch):
    """Execute chapter ``name``'s cells in order in one fresh namespace; returns the namespace.

    args: the chapter's options as one string (e.g. "--quick --out DIR")."""
    monkeypatch.setattr(sys, "argv", list(KERNEL_ARGV))
    monkeypatch.setenv(minigan.chapter.ARGS_VARIABLE, args)
    monkeypatch.chdir(os.path.join(minigan.chapter.ROOT, "chapters"))
    namespace = {"__name__": "__main__"}
    for number, source in enumerate(cells(name), 1):
        code = compile(source, f"<{name} cell {number}>", "exec")
        exec(code, namespace)
    return namespace
