"""Training core: optimizers, epoch-wise LR schedules, augmentation, early stopping, fit.

Schedules follow PyTorch's semantics, as the study used them: the learning rate is set once
per epoch (StepLR, CosineAnnealingLR over the run's epochs) or cut on a val_loss plateau.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from benchmark import augmentation, tf_input
from benchmark.config import TrainConfig
from benchmark.progress import BatchProgress


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class FitResult:
    """What one fit produced: a row per epoch and the epoch whose weights were kept."""

    history: list[dict]  # epoch, loss, accuracy, val_loss, val_accuracy, learning_rate, seconds
    best_epoch: int  # 1-based; the weights of this epoch are the model's weights now
    epochs_run: int


def fresh_state() -> None:
    """Drop what earlier models left behind: Keras's global state and, on JAX, the compiled
    functions of models that no longer exist (JAX keeps them otherwise: about 60 MB per MLP
    trial). TensorFlow keeps its traced graphs whatever we do; see tuners.search."""
    keras.backend.clear_session()
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and the backend once."""
    keras.utils.set_random_seed(seed)


def make_optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    """The optimizer named by the configuration."""
    if cfg.optimizer == "adam":
        return keras.optimizers.Adam(cfg.learning_rate)
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum)
    if cfg.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(cfg.learning_rate)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def learning_rate_at(cfg: TrainConfig, epoch: int, epochs: int) -> float:
    """The learning rate of a 0-based epoch for the epoch-wise schedules (step, cosine, none)."""
    lr0 = cfg.learning_rate
    if cfg.schedule == "step":
        return lr0 * cfg.gamma ** (epoch // cfg.step_size)
    if cfg.schedule == "cosine":
        return cfg.min_learning_rate + (lr0 - cfg.min_learning_rate) * (
            1 + math.cos(math.pi * epoch / max(epochs, 1))
        ) / 2
    return lr0


def schedule_callbacks(cfg: TrainConfig, epochs: int, has_validation: bool) -> list:
    """Stock Keras callbacks that apply the configured LR schedule."""
    if cfg.schedule in ("step", "cosine"):
        return [keras.callbacks.LearningRateScheduler(
            lambda epoch: float(learning_rate_at(cfg, epoch, epochs)))]
    if cfg.schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if has_validation else "loss",
            factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=1e-7)]
    return []


def compile_model(model: keras.Model, cfg: TrainConfig) -> keras.Model:
    """Compile a model for training with the configured optimizer."""
    model.compile(optimizer=make_optimizer(cfg), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time (a default bound at import would go stale)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


STDERR = _CurrentStderr()


class EpochLog(keras.callbacks.Callback):
    """Record one row per epoch (with the learning rate used), print a progress line, and
    hand each row to `on_epoch` as soon as the epoch ends (the results store writes it)."""

    def __init__(self, epochs: int, label: str = "", stream=STDERR,
                 on_epoch: Callable[[dict], None] | None = None):
        super().__init__()
        self.epochs, self.label, self.stream, self.on_epoch = epochs, label, stream, on_epoch
        self.rows: list[dict] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch + 1, "loss": logs.get("loss"), "accuracy": logs.get("accuracy"),
               "val_loss": logs.get("val_loss"), "val_accuracy": logs.get("val_accuracy"),
               "learning_rate": self._lr, "seconds": time.perf_counter() - self._start}
        self.rows.append(row)
        if self.on_epoch is not None:
            self.on_epoch(row)
        if self.stream is not None:
            val = ""
            if row["val_accuracy"] is not None:
                val = f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}"
            print(f"  {self.label}epoch {epoch + 1}/{self.epochs}  loss {row['loss']:.4f}  "
                  f"acc {row['accuracy']:.4f}{val}  lr {self._lr:.2e}  {row['seconds']:.1f}s",
                  file=self.stream, flush=True)
        if not math.isfinite(row["loss"] if row["loss"] is not None else float("nan")):
            self.model.stop_training = True


def fit(model: keras.Model, cfg: TrainConfig, x: np.ndarray, y: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None = None, *, epochs: int | None = None,
        label: str = "", stream=STDERR,
        on_epoch: Callable[[dict], None] | None = None) -> FitResult:
    """Train a compiled model; with validation data, stop early and keep the best weights.

    Args:
        model: a model returned by compile_model.
        cfg: the training configuration.
        x, y: uint8 images (N, 28, 28) and integer labels.
        validation: held-out (x, y), used for early stopping and ReduceLROnPlateau.
        epochs: overrides cfg.epochs (the final model trains for the folds' best epoch).
        label: prefix of the progress lines, e.g. "fold 2/5 ".
        stream: where progress goes (a bar inside each epoch, a line after it); None for
            silence.
        on_epoch: called with each epoch's row as soon as the epoch ends.

    Raises:
        TrainingDiverged: the training loss became NaN or infinite.
    """
    epochs = epochs or cfg.epochs
    log = EpochLog(epochs, label, stream, on_epoch)
    # The schedule runs first so the log records the learning rate each epoch really used;
    # the bar closes before the log prints the epoch's line.
    callbacks = [*schedule_callbacks(cfg, epochs, validation is not None), log]
    if stream is not None:
        callbacks.insert(-1, BatchProgress(label, epochs, len(x), cfg.batch_size, stream))
    if validation is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=cfg.patience,
            restore_best_weights=True))
    backend = keras.backend.backend()
    if validation is not None and backend == "tensorflow":
        validation = tf_input.validation_batches(*validation, cfg.batch_size)
    if cfg.augment:  # the seed comes from NumPy, which set_seed seeded for this run
        batches = augmentation.batches(cfg, x, y, int(np.random.randint(2**31 - 8)), backend)
        model.fit(batches, epochs=epochs, validation_data=validation, verbose=0,
                  callbacks=callbacks, shuffle=False)  # the pipeline shuffles
    elif backend == "tensorflow":  # one iterator for the whole fit (tf_input)
        batches = tf_input.training_batches(x, y, cfg.batch_size,
                                            int(np.random.randint(2**31 - 8)))
        model.fit(batches, steps_per_epoch=tf_input.steps(len(x), cfg.batch_size),
                  epochs=epochs, validation_data=validation, verbose=0, callbacks=callbacks,
                  shuffle=False)  # the dataset shuffles
    else:
        model.fit(x, y, batch_size=cfg.batch_size, epochs=epochs, validation_data=validation,
                  shuffle=True, verbose=0, callbacks=callbacks)
    bad = [r["epoch"] for r in log.rows if not math.isfinite(r["loss"])]
    if bad:
        raise TrainingDiverged(f"{label}training loss became {log.rows[bad[0] - 1]['loss']} "
                               f"at epoch {bad[0]}")
    if validation is not None:
        best = max(log.rows, key=lambda r: r["val_accuracy"])["epoch"]
    else:
        best = len(log.rows)
    return FitResult(history=log.rows, best_epoch=best, epochs_run=len(log.rows))


def predict(model: keras.Model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities for uint8 images, as float32."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def scores(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of predicted probabilities."""
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return float(np.mean(probs.argmax(1) == y)), float(-np.mean(np.log(p_true)))
