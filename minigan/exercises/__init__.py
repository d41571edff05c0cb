"""Exercises: derive a backward pass, a loss or a closed form yourself, and minigan checks it.

    python -m minigan.exercises list                       the exercises, by chapter
    python -m minigan.exercises init --dir my-exercises    one file per exercise (never overwritten)
    python -m minigan.exercises check [NAME ...] --dir my-exercises
    python -m minigan.exercises hint NAME
    (--lang zh, or MINIGAN_LANG=zh, for Chinese)

The learner's functions are graded with minigan's own layers, losses, optimizer and metrics, and
their gradients also against finite differences of their own forward (``checker``). The exit
status of ``check`` is 0 when every exercise checked passes, 1 otherwise, 2 for a usage error.
"""
from minigan.exercises.catalogue import BY_NAME, EXERCISES, Exercise  # noqa: F401
from minigan.exercises.checker import LoadError, Verdict, check, check_file, load  # noqa: F401
from minigan.exercises.workspace import template, write_workspace  # noqa: F401
