"""Argument checks shared by public functions and constructors.

Each check returns the value as a plain Python int or float, or raises with a message naming
the function, the argument, what it expects and what it got:

    TypeError   the value is not of the expected kind (a string, None, a bool for a count)
    ValueError  it is of the right kind but out of range, or NaN/Inf

This module imports nothing from minigan (it sits beside ``backend`` on the lowest floor).
"""
from __future__ import annotations

import math
import numbers
import os


def integer(value, name: str, where: str, minimum: int | None = None) -> int:
    """An int (bool refused; NumPy integers accepted), at least ``minimum`` if given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be an int, got {value!r} "
                        f"({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def real(value, name: str, where: str, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number (bool refused; NumPy scalars accepted) in the range given, e.g.
    ``real(p, "p", "Dropout", 0, 1, high_open=True)`` for [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, got {value!r} "
                        f"({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        if high is None:
            expected = ("positive" if low == 0 and low_open else
                        f"{'>' if low_open else '>='} {low:g}")
        elif low is None:
            expected = f"{'<' if high_open else '<='} {high:g}"
        else:
            expected = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                        f"{')' if high_open else ']'}")
        raise ValueError(f"{where}: {name} must be {expected}, got {value!r}")
    return v


def path(value, name: str, where: str) -> str:
    """A file path as a str (os.PathLike and bytes accepted): TypeError for None or another
    kind, ValueError for an empty path, a NUL byte, or one ending in a separator (a folder)."""
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{where}: {name} must be a str or os.PathLike, got {value!r} "
                        f"({type(value).__name__})")
    value = os.fspath(value)
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not value:
        raise ValueError(f"{where}: {name} is empty; give a file name")
    if "\0" in value:
        raise ValueError(f"{where}: {name} {value!r} holds a NUL byte")
    if value.endswith(os.sep) or (os.altsep and value.endswith(os.altsep)):
        raise ValueError(f"{where}: {name} {value!r} names a folder, not a file")
    return value
