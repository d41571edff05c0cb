"""The README's notebook route, verbatim: the commands of its "Chapters as notebooks" block run
from the repository root convert a chapter and execute it headless in a real Jupyter kernel.

Needs the optional extra (`pip install -e ".[notebook]"`); without it there is nothing of
Jupyter's to run, and the test says so as a skip.
"""
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme_commands():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text[text.index("\n## Chapters as notebooks\n"):]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines()
            if line.strip() and not line.startswith("pip ")]


def test_the_readme_names_the_extra_and_the_commands():
    commands = _readme_commands()
    assert [c.split()[0] for c in commands] == ["jupytext", "jupyter"]
    pyproject = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    extra = re.search(r"^notebook = \[(.*)\]$", pyproject, flags=re.MULTILINE).group(1)
    for package in ("jupytext", "nbconvert", "ipykernel"):
        assert package in extra


def test_the_readme_notebook_commands_run_from_the_root(tmp_path):
    for module in ("jupytext", "nbconvert", "ipykernel"):
        pytest.importorskip(module, reason='the notebook extra: pip install -e ".[notebook]"')
    commands = _readme_commands()
    notebook = shlex.split(commands[1])[-1]
    path = os.path.join(ROOT, notebook)
    bindir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "MINIGAN_ARGS": f"--out {tmp_path}", "MPLBACKEND": "Agg"}
    try:
        for command in commands:
            r = subprocess.run(shlex.split(command), cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 0, (command, r.stderr[-2000:])
        cells = json.load(open(path, encoding="utf-8"))["cells"]
    finally:
        if os.path.exists(path):
            os.remove(path)
    printed = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    assert "Settings: --quick, a smoke test" in printed      # a kernel defaults to the quick run
    assert "--quick: a smoke test" in printed                # and its report says so
    assert os.path.exists(os.path.join(tmp_path, "noise_to_samples.png"))
    record = json.load(open(os.path.join(tmp_path, "run.json"), encoding="utf-8"))
    assert record["quick"] is True and record["finished"] is True
