"""Running a GAN for a while: the loop around Algorithm 1, and what can go wrong in it.

``minigan.gan`` holds the algorithm -- batches, one discriminator step, one generator step,
sampling. This module holds the run management, as the base class ``Training`` that ``GAN``
inherits its methods from (one definition, one docstring each):

    train(num_iterations, ...)       iterations, callbacks, progress lines, checkpoints on a
                                     schedule and on Ctrl-C
    flush(), history                 on a device: the numbers and checks not yet read
    save_checkpoint(path, extra)     the whole run in one file, refused for a model holding NaN
    load_checkpoint(path)            or Inf; load_checkpoint continues it

Faults. A NaN or Inf loss, D output or gradient stops training with TrainingDiverged, naming
the iteration, the player, the entry (``entry``: "loss", "D output" or the parameter's name) and
the last finite losses. On the host an iteration is all or nothing: each player's loss and
gradients are checked before its optimizer steps, and when the generator step (or a later
discriminator step) of an iteration fails, the discriminator, both players' BatchNorm statistics,
D's optimizer, the random generator and the position in the data are put back as they were
before the iteration -- so the run can be saved, or continued with a smaller learning rate, from
a consistent state. (On a device the checks are read later, at ``flush()``; by then the models
have taken the later steps too: continue from a checkpoint.) save_checkpoint refuses a model
holding NaN or Inf, so the last good checkpoint is never overwritten. With a checkpoint path,
Ctrl-C lets the iteration in progress finish, saves, and raises TrainingInterrupted (a
KeyboardInterrupt) saying how to continue; a second Ctrl-C stops at once, saving nothing.
"""
from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time

from minigan import arguments
from minigan import backend as B
from minigan import checkpoint
from minigan import diagnosis
from minigan.losses import NonFiniteLogitsError
from minigan.optim import NonFiniteGradientError


class TrainingDiverged(FloatingPointError):
    """A loss or a parameter became NaN or Inf: training stopped and nothing bad was saved.

    ``iteration``: the iteration that failed; ``player``: "discriminator" or "generator";
    ``entry``: what held NaN or Inf -- "loss", "D output", or a parameter's name ("D.layers.0.W"
    for a gradient or a saved weight; None when a device check could not tell);
    ``last_losses``: {"d_loss", "g_loss"} of the last finite iteration (None before the first);
    ``checkpoint_path``: the checkpoint that was kept, if training had one.
    """

    def __init__(self, message, iteration, player, last_losses=None, checkpoint_path=None,
                 entry=None):
        super().__init__(message)
        self.iteration, self.player, self.entry = iteration, player, entry
        self.last_losses, self.checkpoint_path = last_losses, checkpoint_path


class NonFiniteLossError(FloatingPointError):
    """A player's loss is NaN or Inf; raised before its optimizer steps. ``value``: the loss
    (a float on the host, None on a device where it is read later)."""

    def __init__(self, message, value=None):
        super().__init__(message)
        self.value = value


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped GAN.train. ``checkpoint_path`` holds the run after ``iteration``
    iterations (None if it stopped mid-iteration and nothing could be saved)."""

    def __init__(self, message, iteration, checkpoint_path=None):
        super().__init__(message)
        self.iteration, self.checkpoint_path = iteration, checkpoint_path


def check_loss(loss, where: str) -> None:
    """NonFiniteLossError unless ``loss`` (a float or a 0-d array) is finite; on a device inside
    ``B.deferred_checks()`` the check is kept for ``flush()``. Called before an optimizer step."""
    if B.is_array(loss):
        B.check(B.xp.isfinite(loss), lambda: NonFiniteLossError(
            f"{where}: its loss is {float(loss) if B.on_host() else 'NaN or Inf'}",
            float(loss) if B.on_host() else None))
    elif not math.isfinite(loss):
        raise NonFiniteLossError(f"{where}: its loss is {loss}", loss)


class Training:
    """Run management for a class that provides Algorithm 1 (``minigan.gan.GAN``):

        generator, discriminator, g_optimizer, d_optimizer     the players
        step()                       one iteration (it calls ``_finite_step`` per player step,
                                     and ``_restore(snapshot)`` if the iteration fails)
        iteration, _history, _pending, epoch, data_order, data_position
        state_dict(), prepare_load(state), check_players()

    Everything here is written once: the loop, the deferred reads, the divergence reports and
    the checkpoints.
    """

    # -- the loop --------------------------------------------------------------------------------
    def train(self, num_iterations: int, callbacks=(), log_every: int = 0,
              checkpoint_path=None, checkpoint_every: int = 0,
              checkpoint_extra: dict | None = None, diagnose: bool = True) -> dict:
        """Run ``num_iterations`` iterations; returns ``history``.

        After each iteration every callback is called as ``callback(gan)`` (use
        ``gan.iteration`` to act every n iterations: plots, snapshots, checkpoints).
        ``log_every`` > 0 prints a progress line every that many iterations and at the end.

        With ``checkpoint_path`` the run is saved there (save_checkpoint, with
        ``checkpoint_extra``) every ``checkpoint_every`` iterations (0: never on a schedule), and
        Ctrl-C lets the iteration in progress finish, saves, prints how to continue and raises
        TrainingInterrupted (a KeyboardInterrupt); a second Ctrl-C stops at once, saving nothing.
        A NaN or Inf loss raises TrainingDiverged; the checkpoint already written is kept.
        Every argument is checked, and the players too (``check_players``), before the first
        iteration. On a device the loop reads values back (``flush()``) only to log, to save a
        checkpoint and at the end; callbacks that read ``history`` make a read of their own.
        With ``log_every`` and ``diagnose``, each progress line is followed by the diagnosis of
        the run (minigan.diagnosis) when it changed, and the run ends with a summary; it reads
        the history the progress line has just read.
        """
        where = "GAN.train"
        arguments.integer(num_iterations, "num_iterations", where, minimum=0)
        arguments.integer(log_every, "log_every", where, minimum=0)
        arguments.integer(checkpoint_every, "checkpoint_every", where, minimum=0)
        if callable(callbacks) or isinstance(callbacks, (str, bytes, dict)) \
                or not hasattr(callbacks, "__iter__"):
            raise TypeError(f"{where}: callbacks must be a list of functions callback(gan), got "
                            f"{callbacks!r} ({type(callbacks).__name__}); wrap a single one in "
                            f"a list")
        callbacks = list(callbacks)
        for i, callback in enumerate(callbacks):
            if not callable(callback):
                raise TypeError(f"{where}: callbacks[{i}] is {callback!r} "
                                f"({type(callback).__name__}), not a function callback(gan)")
        if checkpoint_path is not None:
            checked = checkpoint.check_path(checkpoint_path, where)
            if os.path.isdir(checked):
                raise ValueError(f"{where}: checkpoint_path {checked!r} is a folder; give a "
                                 f"file name, e.g. {os.path.join(checked, 'run.npz')!r}")
        if checkpoint_every and checkpoint_path is None:
            raise ValueError(f"{where}: checkpoint_every needs a checkpoint_path to save to")
        if checkpoint_extra is not None and not isinstance(checkpoint_extra, dict):
            raise TypeError(f"{where}: checkpoint_extra must be a dict or None, got "
                            f"{type(checkpoint_extra).__name__}")
        self.check_players(where)
        monitor = diagnosis.Monitor(self.objective) if diagnose and log_every else None
        start, first = time.perf_counter(), self.iteration
        last = first + num_iterations
        in_iteration = False
        with interrupts_deferred(checkpoint_path is not None) as interrupt_pending:
            try:
                for _ in range(num_iterations):
                    in_iteration = True
                    self.step()
                    in_iteration = False
                    for callback in callbacks:
                        callback(self)
                    if checkpoint_every and self.iteration % checkpoint_every == 0:
                        self.save_checkpoint(checkpoint_path, extra=checkpoint_extra)
                    if log_every and (self.iteration % log_every == 0 or self.iteration == last):
                        rate = (self.iteration - first) / max(time.perf_counter() - start, 1e-9)
                        record = {key: values[-1] for key, values in self.history.items()}
                        print(f"iter {self.iteration:>6d}/{last}  D loss {record['d_loss']:.4f}  "
                              f"G loss {record['g_loss']:.4f}  D(x) {record['d_real']:.3f}  "
                              f"D(G(z)) {record['d_fake']:.3f}  {rate:.0f} it/s", flush=True)
                        change = monitor and monitor.update(self.history, self.iteration)
                        if change:
                            print(change, flush=True)
                    if interrupt_pending():
                        raise KeyboardInterrupt
                self.flush()                  # on a device: the checks of the last iterations
                summary = monitor and monitor.summary()
                if summary:
                    print(summary, flush=True)
            except TrainingDiverged as e:
                if checkpoint_path is None or e.checkpoint_path is not None:
                    raise
                kept = (f" The last good checkpoint, {checked}, is kept: load it and "
                        f"continue with a smaller learning rate."
                        if os.path.exists(checkpoint_path) else "")
                raise TrainingDiverged(str(e) + kept, e.iteration, e.player, e.last_losses,
                                       checkpoint_path, e.entry) from None
            except KeyboardInterrupt:
                if checkpoint_path is None:
                    raise
                raise self._interrupted(checked, checkpoint_extra, in_iteration) from None
        return self.history

    # -- one player's step, all or nothing -------------------------------------------------------
    def _finite_step(self, player: str, take_step):
        """Run ``take_step`` (d_step or g_step) -> (its result, deferred checks).

        A NaN or Inf in D's output, the loss or a gradient is TrainingDiverged naming the
        iteration, ``player`` ("discriminator" or "generator") and the entry: raised at once on
        the host (the step checks before its optimizer changes anything); on a device the checks
        stay unread and come back as (ok, error, player) triples for ``flush()``.
        """
        with B.deferred_checks() as checks:
            try:
                result = take_step()
            except (NonFiniteLogitsError, NonFiniteGradientError, FloatingPointError) as e:
                raise self._diverged(player, e) from None
        return result, [(ok, error, player) for ok, error in checks]

    def _snapshot(self):
        """What ``_restore`` needs to undo an iteration on the host (None on a device, where
        the checks are read later): D's parameters, D's optimizer state and both players'
        buffers (BatchNorm statistics), copied by one concatenate into a flat buffer kept
        between iterations, plus D's step count, the random generator and the data position.
        G and its optimizer need nothing: G's step is the iteration's last, and it checks
        before it changes anything. Measured: ~1.5 % of a 64-wide MLP GAN's iteration."""
        if not B.on_host():
            return None
        arrays = self._restorable_arrays()
        key = tuple(map(id, arrays))
        cache = self.__dict__.get("_snapshot_cache")
        if cache is None or cache[0] != key:
            dtype = B.np.result_type(*arrays)
            flat = B.xp.empty(sum(a.size for a in arrays), dtype=dtype)
            cache = self._snapshot_cache = (key, [a.reshape(-1) for a in arrays], flat)
        _, rows, flat = cache
        B.xp.concatenate(rows, out=flat)
        return (arrays, flat, getattr(self.d_optimizer, "step_count", None),
                B.rng().bit_generator.state, self.epoch, self.data_order, self.data_position)

    def _restore(self, snapshot) -> None:
        """Put back what ``_snapshot`` saved: the iteration then never happened."""
        if snapshot is None:
            return
        arrays, flat, step_count, rng_state, *position = snapshot
        offset = 0
        for a in arrays:
            a[...] = flat[offset:offset + a.size].reshape(a.shape)
            offset += a.size
        if step_count is not None:
            self.d_optimizer.step_count = step_count
        B.rng().bit_generator.state = rng_state
        self.epoch, self.data_order, self.data_position = position

    def _restorable_arrays(self) -> list:
        """D's parameter arrays, D's optimizer state arrays, both players' buffers (the modules
        holding them are found once, then read by name: a buffer may be re-bound)."""
        owners = self.__dict__.get("_buffer_owners")
        if owners is None:
            owners = self._buffer_owners = [
                (owner, name) for module in (self.generator, self.discriminator)
                for owner in _modules(module) for name in owner._buffers]
        arrays = [p.data for p in self._d_parameters]
        optimizer = self.d_optimizer
        state = (optimizer.flat_state if getattr(optimizer, "_groups", None)   # a few flat arrays
                 else getattr(optimizer, "state", {}))
        for buffers in state.values():
            arrays += buffers
        arrays += [getattr(owner, name) for owner, name in owners]
        return arrays

    # -- reading a device's numbers --------------------------------------------------------------
    def flush(self) -> None:
        """Read the numbers and checks of the iterations still on the device (none on the host)
        into ``history``, in one transfer each. A failed check raises TrainingDiverged for the
        first iteration and player that produced NaN or Inf; ``history`` keeps the iterations
        before it (the models have taken the later steps too: continue from a checkpoint)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        rows = B.to_numpy(B.xp.stack([values for _, values, _ in pending]))     # (k, 4)
        checks = [check for _, _, iteration_checks in pending for check in iteration_checks]
        verdicts = iter(B.to_numpy(B.xp.stack([ok for ok, *_ in checks])) if checks else ())
        for (iteration, _, iteration_checks), row in zip(pending, rows):
            for (_, error, player), passed in zip(iteration_checks, verdicts):
                if not passed:
                    raise self._diverged(player, error(), iteration)
            for key, value in zip(self._history, row.tolist()):
                self._history[key].append(value)

    @property
    def history(self) -> dict:
        """{"d_loss", "g_loss", "d_real", "d_fake": [float per iteration]} (see the class doc);
        reading it first flushes what is still on the device."""
        self.flush()
        return self._history

    # -- divergence ------------------------------------------------------------------------------
    def _diverged(self, player: str, error: Exception, iteration: int | None = None):
        """The TrainingDiverged for ``error`` (a non-finite check that failed) in the ``player``
        step of ``iteration`` (default: the iteration in progress). The entry comes from the
        error's type and fields, never from its text."""
        if isinstance(error, TrainingDiverged):
            return error
        if isinstance(error, NonFiniteGradientError):
            entry = error.name or (None if error.index is None else f"parameter {error.index}")
            which = ("a parameter" if error.index is None else f"parameter {error.index}"
                     + (f" ({error.name})" if error.name else ""))
            what = f"{error.where or 'the optimizer'}: the gradient of {which}"
        elif isinstance(error, NonFiniteLossError):
            entry = "loss"
            what = f"its loss is {'NaN or Inf' if error.value is None else error.value}"
        elif isinstance(error, NonFiniteLogitsError):
            entry, what = "D output", f"D's output: {error}"
        else:
            entry, what = None, str(error)
        iteration = self.iteration + 1 if iteration is None else iteration
        last, advice = self._divergence_advice()
        return TrainingDiverged(f"training diverged at iteration {iteration}: the {player} step "
                                f"produced NaN or Inf ({what}); {advice}", iteration, player,
                                last, entry=entry)

    def _divergence_advice(self):
        """(last finite losses or None, text naming them and the usual causes of divergence)."""
        if self._history["d_loss"]:
            last = {key: self._history[key][-1] for key in ("d_loss", "g_loss")}
            losses = (f"the last finite losses (iteration {self.iteration}) were D "
                      f"{last['d_loss']:.6g}, G {last['g_loss']:.6g}")
        else:
            last, losses = None, "no iteration had finished yet"
        rates = ", ".join(f"lr_{who}={getattr(opt, 'lr', '?')}"
                          for who, opt in (("d", self.d_optimizer), ("g", self.g_optimizer)))
        return last, (f"{losses}. Usual causes: a learning rate too high ({rates}: try a "
                      f"smaller one); a loss computed on probabilities instead of logits (D must "
                      f"end without a Sigmoid, and the loss must work on logits, as "
                      f"minigan.losses does); NaN or Inf in the training data.")

    def _non_finite_entry(self):
        """'G.<name>' or 'D.<name>' of the first parameter or buffer holding NaN/Inf, or None."""
        for who, module in (("G", self.generator), ("D", self.discriminator)):
            entries = [(name, p.data) for name, p in module.named_parameters()]
            for name, array in entries + list(module.named_buffers()):
                if not bool(B.xp.isfinite(array).all()):
                    return f"{who}.{name}"
        return None

    # -- checkpoints -----------------------------------------------------------------------------
    def save_checkpoint(self, path, extra: dict | None = None) -> None:
        """Write the whole run to one file: both models, both optimizers, minigan's RNG state,
        the loop's state_dict() and ``extra`` (anything minigan.checkpoint stores). Atomic.

        Refuses (TrainingDiverged) to save a model holding NaN or Inf, so a diverged run never
        overwrites the last good checkpoint."""
        checked = checkpoint.check_path(path, "GAN.save_checkpoint")
        if extra is not None and not isinstance(extra, dict):
            raise TypeError(f"GAN.save_checkpoint: extra must be a dict or None, got "
                            f"{type(extra).__name__}")
        bad = self._non_finite_entry()
        if bad is not None:
            player = "generator" if bad.startswith("G.") else "discriminator"
            last, advice = self._divergence_advice()
            raise TrainingDiverged(f"training diverged: {bad} holds NaN or Inf after iteration "
                                   f"{self.iteration}, so the run was not saved to {checked} (a "
                                   f"checkpoint already there is kept); {advice}",
                                   self.iteration, player, last, path, entry=bad)
        checkpoint.save(checked, {"G": self.generator, "D": self.discriminator},
                        {"G": self.g_optimizer, "D": self.d_optimizer},
                        extra={"gan": self.state_dict(), "extra": extra or {}})

    def load_checkpoint(self, path) -> dict:
        """Continue a run saved by save_checkpoint (same architectures); returns its ``extra``.

        Models, optimizers, RNG state, iteration, histories and the position in the data are
        restored, so training on continues exactly as the uninterrupted run would have. All or
        nothing: the file is read and checked whole first -- architectures, every value (finite,
        within the parameters' dtype, variances and second moments >= 0), the loop's state, the
        RNG state, and the dtype the run was saved in against the models' -- a missing,
        mis-shaped or invalid entry raises CheckpointError naming the file, the module and the
        entry, and leaves both models, both optimizers, the loop's state and the random
        generator as they were.
        """
        path = checkpoint.check_path(path, "GAN.load_checkpoint")
        models = {"G": self.generator, "D": self.discriminator}

        def prepare(saved):
            if not isinstance(saved, dict) or "gan" not in saved or "extra" not in saved:
                raise ValueError("not a GAN checkpoint (its extra has no 'gan' and 'extra' "
                                 "entries; it was not written by GAN.save_checkpoint)")
            return self.prepare_load(saved["gan"])
        metadata, _ = checkpoint.read(path)
        here = str(self._d_parameters[0].data.dtype) if self._d_parameters else None
        if here is not None and metadata.get("dtype") != here:
            raise checkpoint.CheckpointError(
                f"{path}: the run was saved in {metadata.get('dtype')}, these models are {here}; "
                f"resume it in the same precision (B.set_dtype({metadata.get('dtype')!r}) before "
                f"building the GAN); nothing was loaded")
        saved = checkpoint.load(path, models, {"G": self.g_optimizer, "D": self.d_optimizer},
                                prepare_extra=prepare)
        return saved["extra"]

    def _interrupted(self, path, extra, in_iteration: bool) -> TrainingInterrupted:
        """Save (unless stopped mid-iteration), print how to continue, return the exception."""
        if in_iteration:
            saved = None
            message = (f"Training interrupted in the middle of iteration {self.iteration + 1}; "
                       f"that state is not saved"
                       + (f" (the earlier checkpoint {path} is kept)" if os.path.exists(path)
                          else ""))
        else:
            self.save_checkpoint(path, extra=extra)
            saved = path
            message = f"Training interrupted after iteration {self.iteration}; saved to {path}"
        if saved is not None or os.path.exists(path):
            message += (". To continue, rerun with --resume (the chapters), or build the same "
                        "GAN, call gan.load_checkpoint(path) and train on.")
        print(message, file=sys.stderr, flush=True)
        return TrainingInterrupted(message, self.iteration, saved)


def _modules(module):
    """``module`` and every module inside it."""
    yield module
    for _, child in module.children():
        yield from _modules(child)


# ---------------------------------------------------------------------------------------------
# Ctrl-C

@contextlib.contextmanager
def interrupts_deferred(enabled: bool):
    """Inside, a first Ctrl-C (SIGINT) is noted instead of raised, so that the iteration in
    progress can finish and be saved; yields a function telling whether one is pending. A second
    Ctrl-C raises KeyboardInterrupt at once. Changes nothing unless ``enabled``, in the main
    thread, with Python's default SIGINT handler installed."""
    pending = []
    if (not enabled or threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield lambda: bool(pending)
        return

    def note(signum, frame):
        if pending:
            raise KeyboardInterrupt
        pending.append(signum)
        print("\nCtrl-C: finishing this iteration, then saving a checkpoint (press Ctrl-C again "
              "to stop at once without saving)", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, note)
    try:
        yield lambda: bool(pending)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
