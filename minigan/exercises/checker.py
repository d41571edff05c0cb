"""Grade a learner's solution of an exercise with minigan's own layers, losses and gradient checker.

    verdict = check(exercise, learner, lang)        learner: a loaded file (``load``) or any object
                                                     with the exercise's functions as attributes
    verdict = check_file(exercise, workspace, lang) the learner's file in the workspace folder

For every input case of the exercise (float64 host arrays, ``catalogue``):

1. each function the learner wrote is called on copies of the inputs (an empty body: "not
   implemented"; an exception: its type, message, and the learner's file and line; an input
   changed in place: said so);
2. each output is compared with minigan's answer: kind and dtype, shape, then values
   (rel_error = max|a - n| / max(|a| + |n|), at most the exercise's tolerance) -- the first wrong
   output is reported with its worst entry, by how much, how many entries are wrong, and the
   classic mistake that explains it (the exercise's detectors first, then general patterns: a sign,
   a factor N or 1/N, a transpose, a sum left undone over some axes, NaN);
3. each gradient is compared with centred finite differences of the learner's OWN forward
   (``minigan.gradcheck.numerical_gradient``, float64): a backward that matches the reference but
   not the forward it belongs to, or the other way round, is caught, and a backward that is right
   for a wrong forward is told to fix the forward.

A ``Verdict`` holds the status ("pass", "not_implemented", "wrong", "error", "unloadable"), the
lines that explain it and the key of the hint given (``messages.HINTS``), for tests and tools.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import traceback

from minigan import backend as B
from minigan.exercises import messages
from minigan.exercises.catalogue import close
from minigan.gradcheck import numerical_gradient, rel_error

np = B.np


@dataclasses.dataclass
class Verdict:
    name: str
    status: str                    # pass | not_implemented | wrong | error | unloadable
    lines: list
    hint: str | None = None        # the key of the diagnosis given, if any

    @property
    def passed(self) -> bool:
        return self.status == "pass"


class LoadError(Exception):
    """A learner's file that cannot be run: ``line`` (or None) and ``error`` say where and why."""

    def __init__(self, path, line, error):
        super().__init__(f"{path}:{line}: {error}")
        self.path, self.line, self.error = path, line, error


class _Stop(Exception):
    """A verdict reached during the checks."""

    def __init__(self, status, lines, hint=None):
        super().__init__(status)
        self.status, self.lines, self.hint = status, lines, hint


# ---------------------------------------------------------------------------------------------
# Loading a learner's file

def load(path):
    """Run the learner's file ``path`` and return it as a module-like namespace.

    Compiled from source every time (no bytecode cache, so an edit is always seen). Raises
    LoadError with the line and the error for a syntax error or an exception at import.
    """
    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as f:
        source = f.read()
    namespace = {"__name__": "minigan_exercise", "__file__": path}
    try:
        exec(compile(source, path, "exec"), namespace)
    except SyntaxError as e:
        raise LoadError(path, e.lineno, f"SyntaxError: {e.msg}") from None
    except (Exception, SystemExit) as e:
        line, _ = _learner_frame(e, path)
        raise LoadError(path, line, f"{type(e).__name__}: {e}") from None
    return _Namespace(namespace)


class _Namespace:
    def __init__(self, namespace):
        self.__dict__.update(namespace)


def _learner_frame(exc, path):
    """(line, source text) of the deepest frame of exc's traceback in the learner's code.

    The learner's code is the file ``path`` when known, else any file outside NumPy and this
    package (a learner given as functions, as the tests do)."""
    here = os.path.dirname(os.path.abspath(__file__))
    library = os.path.dirname(os.path.abspath(np.__file__))
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if (os.path.abspath(f.filename) == path if path else
                                  not f.filename.startswith((here, library)))]
    if not mine:
        return None, ""
    return mine[-1].lineno, (mine[-1].line or "").strip()


# ---------------------------------------------------------------------------------------------
# Checking

def check_file(exercise, workspace, lang=None) -> Verdict:
    """Load ``workspace/<exercise file>`` and check it; a missing or broken file is a verdict."""
    lang = messages.language(lang)
    path = os.path.join(workspace, exercise.filename)
    if not os.path.isfile(path):
        return Verdict(exercise.name, "unloadable",
                       [messages.text("missing_file", lang, path=path, workspace=workspace)])
    try:
        learner = load(path)
    except LoadError as e:
        return Verdict(exercise.name, "unloadable",
                       [messages.text("import_error", lang, path=path, line=e.line, error=e.error)])
    return check(exercise, learner, lang)


def check(exercise, learner, lang=None) -> Verdict:
    """Check the learner's functions (attributes of ``learner``) against minigan's answers."""
    lang = messages.language(lang)
    path = getattr(learner, "__file__", None)
    for name, args, _ in exercise.functions:
        if not callable(getattr(learner, name, None)):
            return Verdict(exercise.name, "unloadable",
                           [messages.text("missing_function", lang, path=path or "the solution",
                                          function=name, args=", ".join(args))])
    try:
        with _host_float64(), np.errstate(all="ignore"):
            cases = exercise.cases(np.random.default_rng(exercise.number))
            for number, case in enumerate(cases, 1):
                where = _case_label(case, number, len(cases), lang)
                _check_case(exercise, learner, case, where, path, lang)
    except _Stop as stop:
        return Verdict(exercise.name, stop.status, stop.lines, stop.hint)
    return Verdict(exercise.name, "pass", [])


@contextlib.contextmanager
def _host_float64():
    """NumPy, float64 and minigan's RNG state as they were, whatever the caller had chosen."""
    xp, name = B.xp, B.name()
    B._use_module(np, "numpy")
    state = B.get_rng_state()
    try:
        with B.precision("float64"):
            yield
    finally:
        B.set_rng_state(state)
        B._use_module(xp, name)


def _case_label(case, number, total, lang):
    """" (case 2 of 2: stride=1, padding=0)" -- empty when the exercise has one case."""
    if total == 1:
        return ""
    shown = ", ".join(f"{k}={v}" for k, v in case.items()
                      if isinstance(v, (int, float, str)) and k not in ("n", "seed"))
    return messages.text("case_with" if shown else "case", lang, number=number, total=total,
                         label=shown)


def _check_case(ex, learner, case, where, path, lang):
    want = ex.reference({k: _copy(v) for k, v in case.items()})
    got, todo = {}, None
    for name, args, outputs in ex.functions:
        try:
            result = _call(learner, name, args, case, path, lang)
        except NotImplementedError:
            todo = todo or name
            continue
        got.update(_unpack(result, name, outputs, lang))
    if todo and not got:
        raise _Stop("not_implemented", [messages.text("not_implemented", lang, function=todo)])
    for output in ex.outputs:
        if output in got:
            _compare(ex, learner, case, output, got, want[output], where, path, lang)
    if todo:
        raise _Stop("not_implemented", [messages.text("not_implemented", lang, function=todo)])
    for output, wrt in ex.gradients.items():
        rel, index, numeric = _finite_differences(ex, learner, case, output, got, wrt, path, lang)
        if not rel <= ex.tolerance:
            analytic = np.asarray(got[output], dtype=np.float64)
            raise _Stop("wrong", [messages.text(
                "fd_mismatch", lang, output=output, case=where, function=_producer(ex),
                rel=rel, index=_index(index, analytic.shape), got=analytic.reshape(-1)[index],
                numeric=numeric.reshape(-1)[index]), _hint_line("fd_mismatch", lang, {})],
                "fd_mismatch")


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _call(learner, name, args, case, path, lang):
    """learner.<name>(*copies of the case's inputs); an exception becomes a verdict."""
    inputs = [_copy(case[a]) for a in args]
    try:
        result = getattr(learner, name)(*inputs)
    except NotImplementedError:
        raise
    except Exception as e:
        line, code = _learner_frame(e, path)
        error = f"{type(e).__name__}: {e}"
        if line is None:                    # raised by the call itself: a wrong signature
            raise _Stop("error", [messages.text("exception_in_call", lang, function=name,
                                                error=error, args=", ".join(args))]) from None
        raise _Stop("error", [messages.text("exception", lang, function=name, error=error,
                                            path=path or "?", line=line, code=code)]) from None
    for a, value in zip(args, inputs):
        if isinstance(value, np.ndarray) and not np.array_equal(value, case[a], equal_nan=True):
            raise _Stop("wrong", [messages.text("modified_input", lang, function=name, name=a)])
    return result


def _unpack(result, name, outputs, lang):
    """The return value of a learner's function -> {output name: value}."""
    if result is None:
        raise _Stop("not_implemented", [messages.text("returned_none", lang, function=name)])
    if len(outputs) == 1:
        return {outputs[0]: result}
    if not isinstance(result, (tuple, list)) or len(result) != len(outputs):
        got = (f"{len(result)} values" if isinstance(result, (tuple, list)) else
               type(result).__name__)
        raise _Stop("wrong", [messages.text("bad_return", lang, function=name, count=len(outputs),
                                            names=", ".join(outputs), got=got)])
    return dict(zip(outputs, result))


def _producer(ex):
    """The name of the learner's function that returns the objective (a layer's y, a loss)."""
    return next(name for name, _, outs in ex.functions if ex.objective[0] in outs)


def _hint_line(key, lang, fields):
    return messages.text("hint_line", lang, key=key, text=messages.hint(key, lang, **fields))


def _index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if len(shape) else ()


# -- one output against the reference ---------------------------------------------------------

def _compare(ex, learner, case, output, got_all, want, where, path, lang):
    """Raise _Stop("wrong", ...) unless the learner's ``output`` equals ``want``."""
    want = np.asarray(want)
    try:
        got = np.asarray(got_all[output])
    except Exception:
        got = np.asarray(None, dtype=object)
    if want.ndim == 0 and got.size == 1:           # a loss returned as a (1,) array is fine
        got = got.reshape(())
    if got.dtype.kind not in "biuf":
        raise _Stop("wrong", [messages.text("not_numeric", lang, output=output,
                                            got=type(got_all[output]).__name__)])
    if not _dtype_ok(got, want):
        key = "float32" if got.dtype == np.float32 else "wrong_dtype"
        raise _Stop("wrong", [messages.text("wrong_dtype", lang, output=output, case=where,
                                            got=got.dtype, want=_dtype_wanted(want)),
                              _hint_line(key, lang, {})], key)
    exact = want.dtype.kind != "f"
    if got.shape == want.shape and (np.array_equal(got, want) if exact else
                                    np.isfinite(got).all() and
                                    rel_error(got, want) <= ex.tolerance):
        return
    key, fields = _diagnose(ex, case, output, got, want)
    if got.shape != want.shape:
        line = messages.text("wrong_shape", lang, output=output, case=where, got=got.shape,
                             want=want.shape)
    else:
        line = _value_line(output, got, want, exact, where, lang, ex.tolerance)
    lines = [line]
    if output == ex.objective[0] and ex.gradients and got.shape == want.shape:
        lines += _consistency_note(ex, learner, case, got_all, path, lang)
    lines.append(_hint_line(key, lang, fields))
    raise _Stop("wrong", lines, key)


def _dtype_ok(got, want):
    if want.dtype.kind == "f":
        return got.dtype == np.float64
    if want.dtype.kind == "b":
        return got.dtype.kind == "b"
    return got.dtype.kind in "iu"


def _dtype_wanted(want):
    return {"f": "float64", "b": "bool"}.get(want.dtype.kind, "int")


def _value_line(output, got, want, exact, where, lang, tolerance):
    if exact:
        wrong = got != want
        flat = int(np.flatnonzero(wrong)[0])
        return messages.text("wrong_exact", lang, output=output, case=where,
                             count=int(wrong.sum()), size=want.size,
                             index=_index(flat, want.shape),
                             got=got.reshape(-1)[flat], want=want.reshape(-1)[flat])
    got, want = got.astype(np.float64), want.astype(np.float64)
    if want.ndim == 0:
        return messages.text("wrong_scalar", lang, output=output, case=where, got=float(got),
                             want=float(want), diff=float(abs(got - want)))
    diff = np.abs(got - want)
    bad = ~np.isfinite(got)
    flat = int(np.flatnonzero(bad)[0]) if bad.any() else int(diff.argmax())
    scale = max(1e-300, float((np.abs(want) + np.abs(np.nan_to_num(got))).max()))
    count = int((bad | (diff > tolerance * scale)).sum())
    return messages.text("wrong_entry", lang, output=output, case=where,
                         index=_index(flat, want.shape), got=got.reshape(-1)[flat] + 0.0,
                         want=want.reshape(-1)[flat] + 0.0, diff=diff.reshape(-1)[flat],
                         count=count, size=want.size, rel=rel_error(np.nan_to_num(got), want))


def _diagnose(ex, case, output, got, want):
    """(hint key, its fields): the exercise's classic mistakes first, then general patterns."""
    for key, name, test in ex.detectors:
        if name == output:
            try:
                found = test(case, got, want)
            except Exception:        # a mistake model that does not apply to this answer
                found = False
            if found:
                return key, {}
    return _pattern(got, want, case.get("n"))


def _pattern(got, want, n):
    """A general pattern relating a wrong answer to the right one -> (key, fields)."""
    got, want = got.astype(np.float64), want.astype(np.float64)
    if got.shape != want.shape:
        if got.ndim == 2 and got.shape == want.shape[::-1] and close(got.T, want):
            return "transposed", {}
        if want.ndim == 0 and got.size > 1 and close(got.mean(), want):
            return "not_reduced", {}
        for axes in itertools.combinations(range(got.ndim), max(0, got.ndim - want.ndim)):
            summed = got.sum(axis=axes)
            if axes and summed.shape == want.shape and close(summed, want):
                return "not_summed", {"axes": axes}
        return ("wrong_layout" if got.size == want.size else "wrong_shape"), {}
    if not np.isfinite(got).all():
        return "not_finite", {}
    if np.abs(got).max(initial=0.0) <= 1e-12 * np.abs(want).max(initial=0.0):
        return "zero", {}
    norm = float((want * want).sum())
    if norm > 0:
        factor = float((got * want).sum()) / norm
        if close(got, factor * want) and not close(factor, 1.0):
            if close(factor, -1.0):
                return "sign", {}
            if n and close(factor, n):
                return "missing_1_over_n", {"factor": factor, "n": n}
            if n and close(factor, 1.0 / n):
                return "extra_1_over_n", {"n": n}
            return "scaled", {"factor": factor}
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(got, want.T):
        return "transposed", {}
    return "unknown", {}


# -- gradients against finite differences of the learner's own forward ---------------------

def _objective(ex, learner, case, path, lang):
    """The scalar whose gradients the learner returned, computed with the learner's functions."""
    output, weights = ex.objective
    name = _producer(ex)
    args, outs = next((a, o) for n, a, o in ex.functions if n == name)
    value = _unpack(_call(learner, name, args, case, path, lang), name, outs, lang)[output]
    value = np.asarray(value, dtype=np.float64)
    return float((value * case[weights]).sum()) if weights else float(value)


def _finite_differences(ex, learner, case, output, got, wrt, path, lang):
    """(rel_error, worst flat index, numeric gradient) of the learner's ``output`` against
    centred differences of the learner's objective with respect to the input ``wrt``."""
    analytic = np.asarray(got[output], dtype=np.float64)
    numeric = B.to_numpy(numerical_gradient(lambda: _objective(ex, learner, case, path, lang),
                                            case[wrt]))
    if analytic.shape != numeric.shape or not np.isfinite(analytic).all():
        return float("inf"), 0, numeric
    return rel_error(analytic, numeric), int(np.abs(analytic - numeric).argmax()), numeric


def _consistency_note(ex, learner, case, got, path, lang):
    """When the forward is wrong: do the learner's gradients at least match that forward?"""
    outputs = [output for output in ex.gradients if output in got]
    worst = 0.0
    try:
        for output in outputs:
            rel, _, _ = _finite_differences(ex, learner, case, output, got, ex.gradients[output],
                                            path, lang)
            if not rel <= ex.tolerance:                  # NaN included
                return []
            worst = max(worst, rel)
    except _Stop:
        return []
    if not outputs:
        return []
    return [messages.text("fd_consistent", lang, output=", ".join(outputs), rel=worst,
                          function=_producer(ex))]
