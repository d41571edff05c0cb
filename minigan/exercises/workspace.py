"""The learner's workspace: one file per exercise, written once and never overwritten.

    write_workspace(folder, lang) -> [(path, written)]     written False: the file was kept
    template(exercise, lang, folder) -> the text of a fresh exercise file

A fresh file holds the exercise's task (shapes, what to compute, the chapter and section it
belongs to) as its docstring, ``import numpy as np``, and each function to write with its
signature, the shapes in its docstring and an empty body (``raise NotImplementedError``).
"""
from __future__ import annotations

import os

from minigan.exercises import messages
from minigan.exercises.catalogue import EXERCISES


def template(exercise, lang: str, folder: str) -> str:
    """The text of a fresh file for ``exercise`` (valid Python; every function unimplemented)."""
    words = messages.exercise_text(exercise.name, lang)
    where = words["where"].replace("; ", ";\n       ").replace("；", "；\n      ")
    header = messages.text("file_header", lang, number=exercise.number, title=words["title"],
                           where=where)
    footer = messages.text("file_footer", lang, name=exercise.name, workspace=folder)
    parts = [f'"""{header}\n\n{words["task"]}\n\n{footer}\n"""\nimport numpy as np\n']
    for name, args, _ in exercise.functions:
        inputs, _, outputs = words[name].partition("-> ")       # shapes in, shapes out
        doc = f"{inputs.strip()}\n    -> {outputs}\n    " if inputs.strip() else f"-> {outputs}"
        parts.append(f'\ndef {name}({", ".join(args)}):\n    """{doc}"""\n'
                     f'    raise NotImplementedError\n')
    return "\n".join(parts)


def write_workspace(folder: str, lang: str, exercises=EXERCISES) -> list:
    """Create ``folder`` and a file for each exercise that has none; never touch an existing one.

    Returns [(path, written)] in exercise order; written is False for a file that was kept.
    """
    os.makedirs(folder, exist_ok=True)
    done = []
    for exercise in exercises:
        path = os.path.join(folder, exercise.filename)
        try:
            with open(path, "x", encoding="utf-8") as f:       # "x": fails if the file exists
                f.write(template(exercise, lang, folder))
            done.append((path, True))
        except FileExistsError:
            done.append((path, False))
    return done
