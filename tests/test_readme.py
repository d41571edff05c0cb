"""The README describes the tree as it is: its layout names every module and package of minigan
and nothing that is gone, and its tour of the chapters has one row per chapter file."""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tracked(folder):
    """Files under ``folder`` (repository-relative) that git tracks; every file there when the
    tree is not a git checkout. Work in progress that is not committed yet does not count."""
    try:
        listed = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = []
    if listed:
        return [path for path in listed if os.path.exists(os.path.join(ROOT, path))]
    return [os.path.relpath(os.path.join(top, name), ROOT)
            for top, _, names in os.walk(os.path.join(ROOT, folder)) for name in names]


def _readme_section(title):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_the_layout_names_every_module_of_minigan_and_nothing_else():
    block = _readme_section("Layout").split("```")[1]
    listed = set(re.findall(r"^  (\w+\.py|\w+/)\s", block, flags=re.MULTILINE))
    present = set()
    for path in _tracked("minigan"):
        parts = path.split("/")[1:]                             # below minigan/
        if len(parts) == 1 and parts[0].endswith(".py") and parts[0] != "__init__.py":
            present.add(parts[0])
        elif len(parts) > 1:
            present.add(parts[0] + "/")
    assert listed, "no minigan/ entries found in the README's layout"
    assert present - listed == set(), "add these to the README's layout"
    assert listed - present == set(), "the README's layout names what is not there"


def test_the_tour_has_one_row_per_chapter():
    table = _readme_section("A tour of the chapters")
    rows = set(re.findall(r"^\| `(ch\d\w*\.py)` \|", table, flags=re.MULTILINE))
    chapters = {os.path.basename(p) for p in _tracked("chapters")
                if re.match(r"ch\d\w*\.py$", os.path.basename(p))}
    assert chapters, "no chapter files found"
    assert rows == chapters
