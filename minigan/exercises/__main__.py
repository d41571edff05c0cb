"""python -m minigan.exercises {list, init, check, hint}: see ``minigan.exercises``.

``main(argv) -> exit status``: 0 all checked pass (or nothing to check), 1 some fail, 2 a usage
error (one line on stderr).
"""
from __future__ import annotations

import argparse
import os
import sys

from minigan.exercises import messages
from minigan.exercises.catalogue import BY_NAME, EXERCISES
from minigan.exercises.checker import check_file
from minigan.exercises.workspace import write_workspace

DEFAULT_WORKSPACE = "minigan-exercises"


class UsageError(Exception):
    """A command line that cannot be run: exit status 2, one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m minigan.exercises",
                     description="Derive it yourself, and minigan checks your answer.")
    parser.add_argument("--lang", choices=messages.LANGUAGES, default=None,
                        help="language of prompts, hints and verdicts (default: $MINIGAN_LANG "
                             "or en)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="list the exercises")
    for name, text in (("init", "write the workspace (existing files are kept)"),
                       ("check", "check one, several or all exercises")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--dir", default=DEFAULT_WORKSPACE,
                         help=f"the workspace folder (default: {DEFAULT_WORKSPACE})")
        if name == "check":
            sub.add_argument("names", nargs="*", metavar="NAME",
                             help="exercise names or numbers (default: all)")
    sub = commands.add_parser("hint", help="hints for one exercise, gentle first")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("level", nargs="?", type=int, default=1,
                     help="how many hints to show (default 1; they get more explicit)")
    for sub in commands.choices.values():
        sub.add_argument("--lang", choices=messages.LANGUAGES, default=argparse.SUPPRESS)
    return parser


def _exercise(name: str, lang: str):
    """An exercise by name or number ("batchnorm", "5", "05")."""
    if name.isdigit() and 1 <= int(name) <= len(EXERCISES):
        return EXERCISES[int(name) - 1]
    if name in BY_NAME:
        return BY_NAME[name]
    raise UsageError(messages.text("unknown_exercise", lang, name=name))


def _title(exercise, lang: str) -> str:
    title = messages.exercise_text(exercise.name, lang)["title"]
    return f"{exercise.number:02d} {exercise.name}: {title}"


def _list(lang: str) -> int:
    print(messages.text("list_header", lang))
    for exercise in EXERCISES:
        print(f"  {_title(exercise, lang)}")
        print(f"      {messages.exercise_text(exercise.name, lang)['where']}")
    return 0


def _init(folder: str, lang: str) -> int:
    for path, written in write_workspace(folder, lang):
        print(messages.text("wrote" if written else "kept", lang, path=path))
    print(messages.text("workspace_ready", lang, workspace=folder))
    return 0


def _check(folder: str, names: list, lang: str) -> int:
    exercises = [_exercise(name, lang) for name in names] or list(EXERCISES)
    if not os.path.isdir(folder):
        raise UsageError(messages.text("no_workspace", lang, workspace=folder))
    passed = 0
    for exercise in exercises:
        verdict = check_file(exercise, folder, lang)
        passed += verdict.passed
        label = {"pass": "pass", "not_implemented": "todo"}.get(verdict.status, "fail")
        print(f"[{messages.text(label, lang)}] {_title(exercise, lang)}")
        for line in verdict.lines:
            print("    " + line.replace("\n", "\n    "))
    print(messages.text("summary", lang, passed=passed, total=len(exercises)))
    return 0 if passed == len(exercises) else 1


def _hint(name: str, level: int, lang: str) -> int:
    exercise = _exercise(name, lang)
    words = messages.exercise_text(exercise.name, lang)
    print(messages.text("hints_header", lang, number=exercise.number, name=exercise.name,
                        title=words["title"]))
    for i, text in enumerate(words["hints"][:max(1, level)], 1):
        print(f"  {i}. {text}")
    if level < len(words["hints"]):
        print(messages.text("more_hints", lang, name=exercise.name, level=max(1, level) + 1))
    return 0


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]) and return its exit status."""
    try:
        args = _parser().parse_args(argv)
        try:
            lang = messages.language(args.lang)
        except ValueError as e:                     # MINIGAN_LANG set to something unknown
            raise UsageError(str(e)) from None
        if args.command == "list":
            return _list(lang)
        if args.command == "init":
            return _init(args.dir, lang)
        if args.command == "check":
            return _check(args.dir, args.names, lang)
        return _hint(args.name, args.level, lang)
    except UsageError as e:
        print(f"python -m minigan.exercises: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:                          # `... check | head`: stop quietly
        sys.stdout = None
        sys.exit(1)
