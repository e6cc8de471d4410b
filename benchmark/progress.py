"""Progress on long work: a bar inside every epoch, elapsed time and an ETA around it.

Inside an epoch, `BatchProgress` shows tqdm's bar (images and batches done, images/s, ETA)
when the stream is a terminal; when it is not (a log file, a pipe), the same figures as one
plain line at most every PLAIN_INTERVAL seconds, so logs stay readable. Around the epochs, `WorkClock`
gives the "elapsed, ETA" of folds, ablation arms and search trials: elapsed since the command
started (every line of a command on one clock, however many trials or arms it runs), and the
ETA of the work the line counts (a fold's: the folds left in its run, arm or trial, and the
final model where there is one; an arm's: the ablation's arms left; a trial's: the search's
trials left) from the units of it this process has finished so far. Everything here writes to
a stream; None means silence (`--quiet`).
"""

from __future__ import annotations

import os
import threading
import time

import keras
from tqdm import tqdm

# Seconds between plain progress lines when the stream is no terminal (a log file, a pipe).
PLAIN_INTERVAL = float(os.environ.get("EMNIST_BENCH_PROGRESS_INTERVAL") or 30)


def is_terminal(stream) -> bool:
    """True when `stream` (or the file it forwards to) is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


# When the command started, a time.perf_counter() reading: every "elapsed" counts from it.
# The commands set it (command_started); until then, from the import of this module.
_command_start = time.perf_counter()


def command_started(at: float | None = None) -> None:
    """Count every "elapsed" from `at` (a time.perf_counter() reading taken as the command
    started, before Keras was imported), or from now."""
    global _command_start
    _command_start = time.perf_counter() if at is None else at


def duration(seconds: float) -> str:
    """e.g. "05:07" or "1:02:03" (tqdm's own format)."""
    return tqdm.format_interval(max(0.0, seconds))


class WorkClock:
    """Time elapsed since the command started, and an ETA for `total` units of work (folds,
    arms, trials).

    The ETA is the mean time of the units this process has finished (timed from this clock's
    creation) times the units left; units found already done (a resumed run) count as done but
    not as time spent.
    """

    def __init__(self, total: int | None):
        self.total = total
        self.start = time.perf_counter()
        self.worked = 0  # units finished by this process
        self.skipped = 0  # units that were already done

    def finished(self) -> None:
        self.worked += 1

    def skip(self) -> None:
        self.skipped += 1

    def text(self, extra_units: float = 0.0) -> str:
        """ "elapsed 03:10, ETA 12:40"; `extra_units` adds work beyond the counted units (the
        final model after the folds)."""
        now = time.perf_counter()
        text = f"elapsed {duration(now - _command_start)}"
        if self.total is not None and self.worked:
            left = self.total - self.worked - self.skipped + extra_units
            text += f", ETA {duration((now - self.start) / self.worked * max(left, 0.0))}"
        return text


class BatchProgress(keras.callbacks.Callback):
    """A progress bar (terminal) or bounded plain lines (log) for every epoch of a fit.

    Args:
        label: what is training, e.g. "fold 2/5 ".
        epochs: the fit's epochs.
        images: training images per epoch.
        batch_size: images per step.
        stream: where to write; the bar is drawn only when it is a terminal.
        interval: seconds between plain lines (no terminal).
    """

    # Keras may call on_train_batch_end from a worker thread (JAX): we only count batches.
    async_safe = True

    def __init__(self, label: str, epochs: int, images: int, batch_size: int, stream,
                 interval: float = PLAIN_INTERVAL):
        super().__init__()
        self.label, self.epochs, self.images, self.batch_size = label, epochs, images, batch_size
        self.stream, self.interval = stream, interval
        self.steps = -(-images // batch_size)  # batches per epoch, the last one ragged
        self.terminal = is_terminal(stream)
        self._lock = threading.Lock()
        self._bar = None

    def _desc(self) -> str:
        return f"{self.label}epoch {self._epoch + 1}/{self.epochs}"

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._done, self._batches = epoch, 0, 0
        self._start = self._last = time.perf_counter()
        if self.terminal:
            self._bar = tqdm(total=self.images, desc=self._desc(), unit="img", unit_scale=True,
                             file=self.stream, leave=False, dynamic_ncols=True, mininterval=0.5)

    def on_train_batch_end(self, batch, logs=None):
        with self._lock:
            step = min(self.batch_size, self.images - self._done)
            self._done += step
            self._batches += 1
            batches = f"batch {self._batches}/{self.steps}"
            if self._bar is not None:
                self._bar.set_postfix_str(batches, refresh=False)  # drawn with the next update
                self._bar.update(step)
                return
            now = time.perf_counter()
            if now - self._last < self.interval:
                return
            self._last = now
            meter = tqdm.format_meter(self._done, self.images, now - self._start, unit="img",
                                      unit_scale=True, ncols=0)
            print(f"  {self._desc()}  {meter}  {batches}", file=self.stream, flush=True)

    def on_epoch_end(self, epoch, logs=None):
        with self._lock:
            if self._bar is not None:
                self._bar.close()  # the epoch's summary line takes its place
                self._bar = None

    on_train_end = on_epoch_end  # a fit stopped mid-epoch leaves no bar behind
