"""K-fold cross-validation on the training split, then one evaluation on the test split.

    emnist-bench cv --arch cnn --preset best --folds 5 --epochs 15

Every fold trains a fresh model on k-1 folds (early stopping on the held-out fold, best
weights restored) and scores it on the held-out fold. The final model is then trained on the
whole training split for a fixed number of epochs, FINAL_EPOCHS_RULE, and evaluated once on
the test split.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras
import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedShuffleSplit

from benchmark import models
from benchmark.config import RunConfig
from benchmark.data import Dataset
from benchmark.progress import WorkClock
from benchmark.results import RunStore, update_index
from benchmark.training import (
    STDERR,
    TrainingDiverged,
    compile_model,
    fit,
    fresh_state,
    predict,
    scores,
    set_seed,
)

FINAL_EPOCHS_RULE = ("the median over folds of the epoch with the best validation accuracy "
                     "(halves rounded up), trained without early stopping")
HOLDOUT = 0.2  # the share of the training split a one-split search (--folds 1) validates on


def make_splitter(folds: int, seed: int, repeats: int = 1):
    """Shuffled, seeded stratified folds, `repeats` times with a new shuffle each time: the same
    splits for the same seed and data. Folds are numbered 1 .. folds x repeats; the first
    repetition's are exactly StratifiedKFold(folds, shuffle=True, random_state=seed)'s, the
    folds of every run made before repetitions existed (tested). `folds == 1` (a search only:
    cross-validation refuses it) is one stratified holdout split of HOLDOUT."""
    if folds == 1:
        return StratifiedShuffleSplit(n_splits=1, test_size=HOLDOUT, random_state=seed)
    return RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)


def check_folds(y: np.ndarray, folds: int) -> None:
    """Refuse a fold count the data cannot support (every class in every fold; for a holdout,
    every class in the HOLDOUT split).

    Raises:
        ValueError: one sentence saying how many images the smallest class has.
    """
    counts = np.bincount(y)
    counts = counts[counts > 0]
    smallest = int(counts.min())
    if folds >= 2 and smallest < folds:
        raise ValueError(f"the smallest class has {smallest} training images, fewer than the "
                         f"{folds} folds; use fewer folds or a larger --limit")
    if folds == 1 and (smallest < 2 or int(HOLDOUT * len(y)) < len(counts)):
        raise ValueError(f"a {HOLDOUT:.0%} holdout of {len(y)} images cannot hold all {len(counts)} "
                         "classes; use a larger --limit")


def new_model(config: RunConfig, seed: int) -> keras.Model:
    """A freshly built and compiled model, its weights drawn from the given seed."""
    fresh_state()  # this also resets the dtype policy: set it after
    keras.mixed_precision.set_global_policy(config.training.precision)
    set_seed(seed)
    return compile_model(models.build(config.arch, **config.model), config.training)


def cross_validate(config: RunConfig, x: np.ndarray, y: np.ndarray, splitter, *,
                   skip: set[int] = frozenset(),
                   on_fold: Callable[[dict, list[dict]], None] | None = None,
                   on_epoch: Callable[[int, dict], None] | None = None,
                   stream=STDERR,
                   final_model_units: float = 0.0,
                   folds_up_to: int | None = None) -> list[dict]:
    """Train and score one model per fold; return one record per fold run.

    Args:
        config: the run configuration.
        x, y: the training split (uint8 images, integer labels).
        splitter: an sklearn splitter, e.g. make_splitter(5, seed).
        skip: 1-based folds already done (a resumed run).
        on_fold: called with (record, epoch rows) as soon as a fold finishes.
        on_epoch: called with (fold, epoch row) as soon as an epoch ends.
        stream: where progress goes (None: silence); after each fold, the time elapsed and
            an ETA for the folds left and the final model.
        final_model_units: work still to come after the folds, counted in folds, for the ETA
            (the final model counts as one fold: there is no better guess before it runs).
        folds_up_to: run folds 1 .. folds_up_to only (an adaptive ablation's rounds); default
            all of the splitter's.
    """
    splits = list(splitter.split(np.zeros(len(y)), y))
    total = len(splits)
    splits = splits[:folds_up_to] if folds_up_to else splits
    clock = WorkClock(len(splits))
    records = []
    for fold, (train_idx, val_idx) in enumerate(splits, start=1):
        if fold in skip:
            clock.skip()
            continue
        label = f"fold {fold}/{total} "
        start = time.perf_counter()
        model = new_model(config, config.seed + fold)
        extra = {} if on_epoch is None else {"on_epoch": lambda row, f=fold: on_epoch(f, row)}
        result = fit(model, config.training, x[train_idx], y[train_idx],
                     (x[val_idx], y[val_idx]), label=label, stream=stream, **extra)
        accuracy, loss = scores(predict(model, x[val_idx]), y[val_idx])
        record = {"fold": fold, "val_accuracy": accuracy, "val_loss": loss,
                  "best_epoch": result.best_epoch, "epochs_run": result.epochs_run,
                  "train_size": len(train_idx), "val_size": len(val_idx),
                  "seconds": time.perf_counter() - start}
        clock.finished()
        if stream is not None:
            print(f"fold {fold}/{total}: val_accuracy {accuracy:.4f}  "
                  f"best epoch {result.best_epoch}/{result.epochs_run}  "
                  f"{record['seconds']:.0f}s  ({clock.text(extra_units=final_model_units)})",
                  file=stream, flush=True)
        if on_fold is not None:
            on_fold(record, result.history)
        records.append(record)
    return records


def final_epochs(folds: pd.DataFrame) -> int:
    """FINAL_EPOCHS_RULE applied to the folds table."""
    return max(1, math.ceil(float(np.median(folds["best_epoch"]))))


def final_evaluation(config: RunConfig, data: Dataset, epochs: int, stream=STDERR,
                     on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train on the whole training split for `epochs`, then evaluate once on the test split.
    The outcome's "model" is the trained model."""
    start = time.perf_counter()
    model = new_model(config, config.seed)
    result = fit(model, config.training, data.x_train, data.y_train, epochs=epochs,
                 label="final ", stream=stream, on_epoch=on_epoch)
    probs = predict(model, data.x_test)
    accuracy, loss = scores(probs, data.y_test)
    seconds = time.perf_counter() - start
    predicted = probs.argmax(1)
    chars = np.array(data.classes)
    n_classes = len(data.classes)
    cm = confusion_matrix(data.y_test, predicted, labels=np.arange(n_classes))
    support = cm.sum(1)
    per_class = pd.DataFrame({
        "label": np.arange(n_classes), "char": chars, "support": support,
        "correct": np.diag(cm),
        "accuracy": np.divide(np.diag(cm), support, out=np.full(n_classes, np.nan),
                              where=support > 0)})
    wrong = np.flatnonzero(predicted != data.y_test)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]], kind="stable")]
    misclassified = pd.DataFrame({
        "index": wrong, "true": data.y_test[wrong], "predicted": predicted[wrong],
        "true_char": chars[data.y_test[wrong]], "predicted_char": chars[predicted[wrong]],
        "confidence": probs[wrong, predicted[wrong]],
        "p_true": probs[wrong, data.y_test[wrong]]})
    summary = {"accuracy": accuracy, "loss": loss, "final_epochs": epochs,
               "final_epochs_rule": FINAL_EPOCHS_RULE, "n_test": int(len(data.y_test)),
               "n_train": int(len(data.y_train)), "misclassified": int(len(wrong)),
               "seconds": seconds}
    if stream is not None:
        print(f"test: accuracy {accuracy:.4f}  loss {loss:.4f}  "
              f"({len(wrong)} of {len(data.y_test)} misclassified)  {seconds:.0f}s",
              file=stream, flush=True)
    shown = images_to_keep(misclassified)
    return {"summary": summary, "epochs": result.history, "per_class": per_class,
            "confusion": pd.DataFrame(cm, index=chars, columns=chars),
            "misclassified": misclassified, "images": data.x_test[wrong[shown]],
            "image_index": wrong[shown], "model": model}


IMAGES_PER_PAIR = 6  # misclassified.npz keeps this many images per (true, predicted) pair
MAX_IMAGES = 1500  # and this many in all: a model near chance gets almost every image wrong


def images_to_keep(misclassified: pd.DataFrame) -> np.ndarray:
    """Rows of the misclassified table (most confident first) whose images are stored: the
    first IMAGES_PER_PAIR of each confusion, at most MAX_IMAGES. The CSV keeps every row."""
    rank = misclassified.groupby(["true", "predicted"], sort=False).cumcount().to_numpy()
    return np.flatnonzero(rank < IMAGES_PER_PAIR)[:MAX_IMAGES]


def run(config: RunConfig, data: Dataset, store: RunStore, stream=STDERR, *,
        save_model: bool = False, folds_up_to: int | None = None, test: bool = True,
        take_test: Callable[[int], bool] | None = None) -> dict:
    """Cross-validate and test, resuming at the first unfinished fold; return runs.csv's row.

    The run's folder is locked while this runs (a second process on it gets RunBusy). When the
    loss becomes NaN or infinite, the reason is stored in failure.json, the finished folds stay,
    and TrainingDiverged is raised again for the caller to report. With `save_model`, the final
    model is kept as the run's model.keras (RunStore.save_model). An adaptive ablation runs an
    arm's folds a round at a time (`folds_up_to`, `test=False`), then its final model and test
    once the arm has stopped: the final epochs come from the folds it ran. `take_test`, called
    with those epochs before the final model trains, may store the test itself (a copy of the
    same final model's, `ablate --reuse`) and return True: then nothing trains.
    """
    with store.writing():
        store.clear_failure()
        done = store.done_folds()
        if done and stream is not None:
            print(f"resuming {store.run_id}: folds {sorted(done)} already done", file=stream)
        try:
            cross_validate(config, data.x_train, data.y_train,
                           make_splitter(config.folds, config.seed, config.repeats),
                           skip=done, on_fold=store.add_fold, on_epoch=store.add_epoch,
                           stream=stream, folds_up_to=folds_up_to,
                           final_model_units=1.0 if test and not store.test_done() else 0.0)
            epochs = (final_epochs(store.read_table("folds.csv"))
                      if test and not store.test_done() else None)
            if epochs is not None and not (take_test and take_test(epochs)):
                if stream is not None:
                    print(f"final model: {epochs} epochs on all {len(data.y_train):,} training "
                          "images", file=stream, flush=True)
                outcome = final_evaluation(config, data, epochs, stream,
                                           on_epoch=lambda row: store.add_epoch(0, row))
                if save_model:
                    path = store.save_model(outcome["model"])
                    if stream is not None:
                        print(f"saved the final model as {path}", file=stream, flush=True)
                store.write_test(outcome["summary"], outcome["epochs"], outcome["per_class"],
                                 outcome["confusion"], outcome["misclassified"],
                                 outcome["images"], outcome["image_index"])
            if save_model and not store.path(store.MODEL).exists() and stream is not None:
                print(f"run {store.run_id} was complete before --save-model, so its final "
                      "model was not kept; choose a new --run-id to train one",
                      file=stream, flush=True)
        except TrainingDiverged as error:
            store.write_failure(str(error))
            update_index(store.root)
            raise
    index = update_index(store.root)
    return index[index["run_id"] == store.run_id].iloc[0].to_dict()
