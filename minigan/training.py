"""Running a GAN for a while: the loop around Algorithm 1, and what can go wrong in it.

``minigan.gan`` holds the algorithm -- batches, one discriminator step, one generator step,
sampling. This module holds the run management ``GAN.train`` and the checkpoint methods hand
their work to:

    train(gan, num_iterations, ...)      iterations, callbacks, progress lines, checkpoints on a
                                         schedule and on Ctrl-C
    finite_step(gan, player, step)       one player's step; NaN or Inf in D's output, the loss
                                         or a gradient -> TrainingDiverged
    save_checkpoint(gan, path, extra)    the whole run in one file, refused for a model holding
                                         NaN or Inf; load_checkpoint(gan, path) continues it

Faults. A NaN or Inf loss (or D output, or a gradient the optimizer refuses -- then no weight
has changed) stops training with TrainingDiverged, naming the iteration, the player and the last
finite losses; save_checkpoint refuses a model holding NaN or Inf, so the last good checkpoint
is never overwritten. With a checkpoint path, Ctrl-C lets the iteration in progress finish,
saves, and raises TrainingInterrupted (a KeyboardInterrupt) saying how to continue; a second
Ctrl-C stops at once, saving nothing.
"""
from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time

from minigan import backend as B
from minigan import checkpoint
from minigan import diagnosis
from minigan.losses import NonFiniteLogitsError
from minigan.optim import NonFiniteGradientError


class TrainingDiverged(FloatingPointError):
    """A loss or a parameter became NaN or Inf: training stopped and nothing bad was saved.

    ``iteration``: the iteration that failed; ``player``: "discriminator" or "generator";
    ``last_losses``: {"d_loss", "g_loss"} of the last finite iteration (None before the first);
    ``checkpoint_path``: the checkpoint that was kept, if training had one.
    """

    def __init__(self, message, iteration, player, last_losses=None, checkpoint_path=None):
        super().__init__(message)
        self.iteration, self.player = iteration, player
        self.last_losses, self.checkpoint_path = last_losses, checkpoint_path


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped GAN.train. ``checkpoint_path`` holds the run after ``iteration``
    iterations (None if it stopped mid-iteration and nothing could be saved)."""

    def __init__(self, message, iteration, checkpoint_path=None):
        super().__init__(message)
        self.iteration, self.checkpoint_path = iteration, checkpoint_path


# ---------------------------------------------------------------------------------------------
# The loop

def train(gan, num_iterations: int, callbacks=(), log_every: int = 0, checkpoint_path=None,
          checkpoint_every: int = 0, checkpoint_extra: dict | None = None,
          diagnose: bool = True) -> dict:
    """``gan.step()`` ``num_iterations`` times; returns ``gan.history``. See GAN.train.

    On a device the loop reads values back (``gan.flush()``) only to log, to save a checkpoint
    and at the end; callbacks that read ``gan.history`` make a read of their own. With
    ``log_every`` and ``diagnose``, each progress line is followed by the diagnosis of the run
    (minigan.diagnosis) when it changed, and the run ends with a summary; it reads the history
    the progress line has just read."""
    if not isinstance(num_iterations, int) or num_iterations < 0:
        raise ValueError(f"GAN.train: num_iterations must be a non-negative int, got "
                         f"{num_iterations!r}")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(f"GAN.train: checkpoint_every must be a non-negative int, got "
                         f"{checkpoint_every!r}")
    if checkpoint_every and checkpoint_path is None:
        raise ValueError("GAN.train: checkpoint_every needs a checkpoint_path to save to")
    monitor = diagnosis.Monitor(gan.objective) if diagnose and log_every else None
    start, first = time.perf_counter(), gan.iteration
    last = first + num_iterations
    in_iteration = False
    with interrupts_deferred(checkpoint_path is not None) as interrupt_pending:
        try:
            for _ in range(num_iterations):
                in_iteration = True
                gan.step()
                in_iteration = False
                for callback in callbacks:
                    callback(gan)
                if checkpoint_every and gan.iteration % checkpoint_every == 0:
                    save_checkpoint(gan, checkpoint_path, extra=checkpoint_extra)
                if log_every and (gan.iteration % log_every == 0 or gan.iteration == last):
                    rate = (gan.iteration - first) / max(time.perf_counter() - start, 1e-9)
                    record = {key: values[-1] for key, values in gan.history.items()}  # a read
                    print(f"iter {gan.iteration:>6d}/{last}  D loss {record['d_loss']:.4f}  "
                          f"G loss {record['g_loss']:.4f}  D(x) {record['d_real']:.3f}  "
                          f"D(G(z)) {record['d_fake']:.3f}  {rate:.0f} it/s", flush=True)
                    change = monitor and monitor.update(gan.history, gan.iteration)
                    if change:
                        print(change, flush=True)
                if interrupt_pending():
                    raise KeyboardInterrupt
            gan.flush()                   # on a device: the checks of the last iterations
            summary = monitor and monitor.summary()
            if summary:
                print(summary, flush=True)
        except TrainingDiverged as e:
            if checkpoint_path is None or e.checkpoint_path is not None:
                raise
            kept = (f" The last good checkpoint, {os.fspath(checkpoint_path)}, is kept: load "
                    f"it and continue with a smaller learning rate."
                    if os.path.exists(checkpoint_path) else "")
            raise TrainingDiverged(str(e) + kept, e.iteration, e.player, e.last_losses,
                                   checkpoint_path) from None
        except KeyboardInterrupt:
            if checkpoint_path is None:
                raise
            raise _interrupted(gan, checkpoint_path, checkpoint_extra, in_iteration) from None
    return gan.history


# ---------------------------------------------------------------------------------------------
# Non-finite numbers

def finite_step(gan, player: str, take_step):
    """Run ``take_step`` (gan.d_step or gan.g_step) -> (its result, deferred checks).

    A NaN or Inf in D's output, the loss or a gradient is TrainingDiverged naming the iteration
    and ``player`` ("discriminator" or "generator"): raised at once on the host; on a device the
    checks stay unread and come back as (ok, error, player) triples for ``gan.flush()``.
    """
    with B.deferred_checks() as checks:
        try:
            result = take_step()
            loss = result[0] if isinstance(result, tuple) else result
            B.check(B.xp.isfinite(loss) if B.is_array(loss) else math.isfinite(loss),
                    lambda: FloatingPointError(f"its loss is {float(loss)}"))
        except (NonFiniteLogitsError, NonFiniteGradientError, FloatingPointError) as e:
            raise diverged(gan, player, e) from None
    return result, [(ok, error, player) for ok, error in checks]


def diverged(gan, player: str, error: Exception, iteration: int | None = None):
    """The TrainingDiverged for ``error`` (a non-finite check that failed) in the ``player`` step
    of ``iteration`` (default: the iteration in progress)."""
    if isinstance(error, TrainingDiverged):
        return error
    text = str(error)
    what = text.split("; ")[0] if isinstance(error, NonFiniteGradientError) else text.split(". ")[0]
    iteration = gan.iteration + 1 if iteration is None else iteration
    last, advice = _divergence_advice(gan)
    return TrainingDiverged(f"training diverged at iteration {iteration}: the {player} step "
                            f"produced NaN or Inf ({what}); {advice}", iteration, player, last)


def _divergence_advice(gan):
    """(last finite losses or None, text naming them and the usual causes of divergence)."""
    if gan.history["d_loss"]:
        last = {key: gan.history[key][-1] for key in ("d_loss", "g_loss")}
        losses = (f"the last finite losses (iteration {gan.iteration}) were D "
                  f"{last['d_loss']:.6g}, G {last['g_loss']:.6g}")
    else:
        last, losses = None, "no iteration had finished yet"
    rates = ", ".join(f"lr_{who}={getattr(opt, 'lr', '?')}"
                      for who, opt in (("d", gan.d_optimizer), ("g", gan.g_optimizer)))
    return last, (f"{losses}. Usual causes: a learning rate too high ({rates}: try a smaller "
                  f"one); a loss computed on probabilities instead of logits (D must end "
                  f"without a Sigmoid, and the loss must work on logits, as minigan.losses "
                  f"does); NaN or Inf in the training data.")


def _non_finite_entry(gan):
    """'G.<name>' or 'D.<name>' of the first parameter or buffer holding NaN/Inf, or None."""
    for who, module in (("G", gan.generator), ("D", gan.discriminator)):
        entries = [(name, p.data) for name, p in module.named_parameters()]
        for name, array in entries + list(module.named_buffers()):
            if not bool(B.xp.isfinite(array).all()):
                return f"{who}.{name}"
    return None


# ---------------------------------------------------------------------------------------------
# Checkpoints

def save_checkpoint(gan, path, extra: dict | None = None) -> None:
    """Write the whole run to one file: both models, both optimizers, minigan's RNG state,
    gan.state_dict() and ``extra`` (anything minigan.checkpoint stores). Atomic.

    Refuses (TrainingDiverged) to save a model holding NaN or Inf, so a diverged run never
    overwrites the last good checkpoint."""
    bad = _non_finite_entry(gan)
    if bad is not None:
        player = "generator" if bad.startswith("G.") else "discriminator"
        last, advice = _divergence_advice(gan)
        raise TrainingDiverged(f"training diverged: {bad} holds NaN or Inf after iteration "
                               f"{gan.iteration}, so the run was not saved to "
                               f"{os.fspath(path)} (a checkpoint already there is kept); "
                               f"{advice}", gan.iteration, player, last, path)
    checkpoint.save(path, {"G": gan.generator, "D": gan.discriminator},
                    {"G": gan.g_optimizer, "D": gan.d_optimizer},
                    extra={"gan": gan.state_dict(), "extra": extra or {}})


def load_checkpoint(gan, path) -> dict:
    """Continue a run saved by save_checkpoint (same architectures); returns its ``extra``."""
    def prepare(saved):
        if not isinstance(saved, dict) or "gan" not in saved or "extra" not in saved:
            raise ValueError("not a GAN checkpoint (its extra has no 'gan' and 'extra' "
                             "entries; it was not written by GAN.save_checkpoint)")
        return gan.prepare_load(saved["gan"])
    saved = checkpoint.load(path, {"G": gan.generator, "D": gan.discriminator},
                            {"G": gan.g_optimizer, "D": gan.d_optimizer},
                            prepare_extra=prepare)
    return saved["extra"]


# ---------------------------------------------------------------------------------------------
# Ctrl-C

def _interrupted(gan, path, extra, in_iteration: bool) -> TrainingInterrupted:
    """Save (unless stopped mid-iteration), print how to continue, return the exception."""
    path = os.fspath(path)
    if in_iteration:
        saved = None
        message = (f"Training interrupted in the middle of iteration {gan.iteration + 1}; "
                   f"that state is not saved"
                   + (f" (the earlier checkpoint {path} is kept)" if os.path.exists(path)
                      else ""))
    else:
        save_checkpoint(gan, path, extra=extra)
        saved = path
        message = f"Training interrupted after iteration {gan.iteration}; saved to {path}"
    if saved is not None or os.path.exists(path):
        message += (". To continue, rerun with --resume (the chapters), or build the same "
                    "GAN, call gan.load_checkpoint(path) and train on.")
    print(message, file=sys.stderr, flush=True)
    return TrainingInterrupted(message, gan.iteration, saved)


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
