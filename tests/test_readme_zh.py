"""README.zh-CN.md stays in step with the code: every chapter file it names exists, every
function it names is defined there or importable from minigan, every figure it names is written
by a chapter on the same line, and every option in its commands is one the chapter accepts."""
import ast
import importlib
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.zh-CN.md")
CHAPTER_PATH = re.compile(r"chapters/[A-Za-z0-9_]+\.py")
FUNCTION = re.compile(r"`([A-Za-z_][A-Za-z0-9_.]*)\(\)`")         # `name()` or `minigan.m.name()`
FIGURE = re.compile(r"`([A-Za-z0-9_]+\.(?:png|gif))`")
COMMAND = re.compile(r"python (chapters/[A-Za-z0-9_]+\.py)([^`\n#]*)")     # to the closing `
COMMON_OPTIONS = os.path.join(ROOT, "minigan", "chapter.py")       # --quick, --seed, --out, ...


def readme_lines():
    with open(README, encoding="utf-8") as f:
        return list(enumerate(f.read().splitlines(), 1))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def top_level_names(path) -> set:
    tree = ast.parse(read(path))
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def importable(dotted: str) -> bool:
    """minigan.module[.submodule].attribute[.attribute] resolves."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        return True
    return False


def test_the_readme_exists_and_is_linked_from_the_english_one():
    assert os.path.exists(README)
    head = read("README.md").splitlines()[:5]
    assert any("README.zh-CN.md" in line for line in head), "README.md must link it at the top"


def test_every_chapter_file_exists():
    paths = {path for _, line in readme_lines() for path in CHAPTER_PATH.findall(line)}
    assert len(paths) >= 6, "the guide should name all six chapters"
    missing = sorted(p for p in paths if not os.path.exists(os.path.join(ROOT, p)))
    assert not missing, f"README.zh-CN.md names chapter files that do not exist: {missing}"


def test_every_function_is_defined_where_the_line_says():
    problems, checked = [], 0
    for number, line in readme_lines():
        chapters = [p for p in CHAPTER_PATH.findall(line) if os.path.exists(os.path.join(ROOT, p))]
        defined = set().union(*(top_level_names(p) for p in chapters)) if chapters else set()
        for name in FUNCTION.findall(line):
            checked += 1
            if name.startswith("minigan."):
                if not importable(name):
                    problems.append(f"line {number}: {name} is not importable")
            elif "." in name:
                problems.append(f"line {number}: {name}: write minigan.<module>.<name>")
            elif not chapters:
                problems.append(f"line {number}: {name}() is on a line naming no chapter file")
            elif name not in defined:
                problems.append(f"line {number}: {name}() is not defined in {', '.join(chapters)}")
    assert checked >= 15, f"only {checked} function references found: the pattern broke?"
    assert not problems, "README.zh-CN.md is out of step with the code:\n" + "\n".join(problems)


def test_every_figure_is_written_by_a_chapter_the_line_names():
    problems, checked = [], 0
    current_chapters = []
    for number, line in readme_lines():
        chapters = CHAPTER_PATH.findall(line)
        if line.startswith("**"):                       # an errata heading sets the chapter
            current_chapters = chapters
        chapters = chapters or current_chapters
        for figure in FIGURE.findall(line):
            checked += 1
            modules = [f"minigan/{m}.py" for m in re.findall(r"minigan\.(\w+)\.", line)]
            sources = [read(p) for p in chapters + modules if os.path.exists(os.path.join(ROOT, p))]
            if not any(f'"{figure}"' in source for source in sources):
                problems.append(f"line {number}: {figure} is not written by {chapters or '?'}")
    assert checked >= 10
    assert not problems, "README.zh-CN.md names figures no chapter writes:\n" + "\n".join(problems)


def test_every_command_option_is_accepted():
    common = read(os.path.relpath(COMMON_OPTIONS, ROOT))
    problems, commands = [], 0
    for number, line in readme_lines():
        for path, options in COMMAND.findall(line):
            commands += 1
            source = read(path) if os.path.exists(os.path.join(ROOT, path)) else ""
            for option in re.findall(r"--[a-z][a-z0-9-]*", options):
                if f'"{option}"' not in source and f'"{option}"' not in common:
                    problems.append(f"line {number}: {path} takes no {option}")
            examples = re.search(r"--examples[ =]([A-Za-z0-9_,]+)", options)
            if examples:
                # EXAMPLES: in the chapter, or in a minigan module the chapter imports
                imported = re.findall(r"^from minigan import (\w+)", source, flags=re.MULTILINE)
                candidates = [source] + [read(f"minigan/{m}.py") for m in imported
                                         if os.path.exists(os.path.join(ROOT, "minigan", m + ".py"))]
                known = next((ast.literal_eval(node.value) for text in candidates
                              for node in ast.parse(text).body
                              if isinstance(node, ast.Assign)
                              and any(getattr(t, "id", "") == "EXAMPLES" for t in node.targets)),
                             ())
                assert known, f"{path}: no EXAMPLES found"
                for name in examples.group(1).split(","):
                    if name not in known:
                        problems.append(f"line {number}: {path} has no example {name!r}")
    assert commands >= 8
    assert not problems, "README.zh-CN.md has commands the chapters refuse:\n" + "\n".join(problems)


@pytest.mark.parametrize("heading", ["背景介绍", "核心概念与联系",
                                     "核心算法原理和具体操作步骤以及数学模型公式详细讲解",
                                     "具体代码实例和详细解释说明", "未来发展趋势与挑战",
                                     "附录常见问题与解答"])
def test_the_documents_own_headings_are_used(heading):
    text = read("README.zh-CN.md")
    assert heading in text
    seeds = os.path.join(ROOT, "..", "shared", "seeds")
    if os.path.isdir(seeds):                           # the documents sit beside the checkout
        corpus = "".join(read(os.path.join(seeds, name)) for name in sorted(os.listdir(seeds))
                         if name.endswith(".txt"))
        assert heading in corpus
