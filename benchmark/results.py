"""The results store: one folder per run, documented tables, every write atomic.

Layout (every column is documented in results/README.md):

    results/runs.csv                 one row per run (rebuilt from the run folders)
    results/<run-id>/config.json     the resolved configuration, data fingerprint, versions
    results/<run-id>/folds.csv       one row per finished fold
    results/<run-id>/epochs.csv      one row per fold x epoch (fold 0 = the final model),
                                     written as each epoch ends
    results/<run-id>/test.json       the final model on the test split
    results/<run-id>/per_class.csv, confusion.csv, misclassified.csv, misclassified.npz
    results/<run-id>/model.keras     the final model, with --save-model (never committed)
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import filelock
import numpy as np
import pandas as pd

# Folders of results/ that are not runs: the report's figures and the operator profiles.
FIGURES = "figures"
PROFILES = "profiles"
NOT_RUNS = (FIGURES, PROFILES)

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
FOLD_COLUMNS = ["fold", "val_accuracy", "val_loss", "best_epoch", "epochs_run", "train_size",
                "val_size", "seconds"]
INDEX_COLUMNS = ["run_id", "arch", "preset", "overrides", "backend", "split", "official_sizes",
                 "n_train", "n_test", "limit", "folds", "repeats", "folds_done", "epochs", "batch_size",
                 "seed", "cv_mean", "cv_std", "train_accuracy", "test_accuracy", "test_loss",
                 "final_epochs",
                 "seconds", "status", "collapsed", "created", "code_version", "reason"]
# A run whose median fold accuracy stays under this many times chance (1 / classes), or whose
# training loss ends above this many times a uniform guess's (ln classes), has collapsed: its
# numbers say nothing about its settings. 3x chance: the MLP without batch norm (0.053 for 47
# classes) is flagged, and so is the 2,000-image ResNet at 3 epochs (folds 0.055, 0.130, 0.030:
# the median, not the mean of 0.072, because one lucky fold is not a model that works).
COLLAPSED_CHANCE_TIMES = 3.0
EXPLODED_LOSS_TIMES = 10.0
# What runs.csv's `collapsed` says, and the advice each kind gets on the console
# (collapse_warning). Training accuracy tells the first two apart: under the same 3x chance,
# the model did not learn at all; above it, it learned in training mode but predicts at chance
# in inference mode, where batch norm uses its running statistics, which lag the weights for
# the first few hundred steps (more so from Keras's initialisation than from PyTorch's).
DID_NOT_LEARN = "collapsed: did not learn"
INFERENCE_MODE = "collapsed: inference mode"
LOSS_EXPLODED = "collapsed: loss exploded"
CHANCE_LEVEL = "collapsed: chance level"  # written before training accuracy was read: either kind
COLLAPSE_ADVICE = {
    DID_NOT_LEARN: "training accuracy stayed near chance too: it did not learn at these "
                   "settings (look at the learning rate, the optimizer and batch norm)",
    INFERENCE_MODE: "it learned in training mode but predicts at chance in inference mode "
                    "(batch norm's running statistics lag the weights after too few steps): "
                    "train for more steps (more images or epochs), or start from the study's "
                    "initialisation (--set init=torch, the presets' default)",
    LOSS_EXPLODED: "its training loss grew past 10x a uniform guess's: lower the learning rate",
    CHANCE_LEVEL: "it learned nothing at this setting",
}


def default_root() -> Path:
    """The results folder: $EMNIST_BENCH_RESULTS, else ./results."""
    return Path(os.environ.get("EMNIST_BENCH_RESULTS", "results"))


def check_run_id(run_id: str) -> str:
    """Refuse a run id that is not a plain folder name (no paths, no dot-dot)."""
    if not RUN_ID.match(run_id) or run_id in (".", ".."):
        raise ValueError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-'")
    return run_id


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write a file so that a reader sees either the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for reading by all
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: object) -> None:
    """Atomically write pretty JSON."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=_plain) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Atomically write a CSV without the index."""
    atomic_write(path, frame.to_csv(index=False, float_format="%.6g"))


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class RunBusy(OSError):
    """Another process is writing the same run folder."""


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True, busy_message: str = ""):
    """An exclusive lock on `path` for the duration (filelock: flock on POSIX, msvcrt on
    Windows).

    wait=False raises RunBusy at once when another process holds it. The lock goes with the
    process, so a killed writer never leaves a stale lock behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(path, timeout=-1 if wait else 0, thread_local=False)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RunBusy(busy_message or f"{path} is locked by another process") from None
    try:
        yield
    finally:
        lock.release()


MIN_FREE_MB = 50  # refuse to start a run on a disk with less room than this


def check_writable(root: Path | str) -> None:
    """Fail before any training when the results folder cannot be written or the disk is full.

    Raises:
        OSError: with a one-sentence message naming the folder.
    """
    root = Path(root)
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # probe the nearest folder that exists; create nothing yet
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"{existing} is a file")
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test-"):
            pass
    except OSError as error:
        raise OSError(f"results folder {root} cannot be written ({error.strerror or error})") from None
    free = shutil.disk_usage(existing).free / 2**20
    if free < MIN_FREE_MB:
        raise OSError(f"results folder {root} has only {free:.0f} MB free; "
                      f"at least {MIN_FREE_MB} MB are needed")


def config_record(kind: str, *, digest: str, data: dict, stamp: dict, **fields) -> dict:
    """A results folder's config.json, the one way every command writes it: the kind of run
    ("cv", "tune", "ablate", "study"), its own fields, the data it read (Dataset.fingerprint),
    how it was made (provenance.stamp) and the digest a resume compares (RunConfig.digest)."""
    return {"kind": kind, **fields, "data": data, **stamp, "digest": digest}


class RunStore:
    """Reads and writes one run's folder; a fold is finished once it is in folds.csv."""

    def __init__(self, root: Path | str, run_id: str):
        self.root = Path(root)
        self.run_id = check_run_id(run_id)
        self.dir = self.root / run_id

    def path(self, name: str) -> Path:
        return self.dir / name

    def exists(self) -> bool:
        return self.path("config.json").exists()

    def read_config(self) -> dict:
        return json.loads(self.path("config.json").read_text())

    def write_config(self, config: dict) -> None:
        write_json(self.path("config.json"), config)

    def read_table(self, name: str) -> pd.DataFrame:
        """A CSV of the run, or an empty frame when it is not written yet."""
        path = self.path(name)
        return pd.read_csv(path) if path.exists() else pd.DataFrame()

    def done_folds(self) -> set[int]:
        folds = self.read_table("folds.csv")
        return set() if folds.empty else {int(f) for f in folds["fold"]}

    def add_fold(self, record: dict, epochs: list[dict]) -> None:
        """Store a finished fold: its epochs first, then its row in folds.csv (the commit)."""
        fold = int(record["fold"])
        if fold in self.done_folds():
            raise RuntimeError(f"fold {fold} of run {self.run_id} is already stored")
        self.replace_epochs(fold, epochs)
        folds = self.read_table("folds.csv")
        row = pd.DataFrame([{c: record.get(c) for c in FOLD_COLUMNS}])
        folds = row if folds.empty else pd.concat([folds, row], ignore_index=True)
        write_csv(self.path("folds.csv"), folds.sort_values("fold"))

    def add_epoch(self, fold: int, row: dict) -> None:
        """Store one epoch's row as soon as it ends, so a run's curves can be followed while it
        trains (rows of an interrupted attempt from this epoch on are replaced)."""
        self._write_epochs(fold, [row], from_epoch=row["epoch"])

    def replace_epochs(self, fold: int, epochs: list[dict]) -> None:
        """Store a fold's epochs (0: the final model's), replacing any it had."""
        self._write_epochs(fold, epochs, from_epoch=1)

    def _write_epochs(self, fold: int, rows: list[dict], from_epoch: int) -> None:
        # Rows of an earlier, interrupted attempt at this fold from `from_epoch` on are dropped
        # first, so a resumed fold never leaves an epoch twice.
        table = self.read_table("epochs.csv")
        if not table.empty:
            table = table[(table["fold"] != fold) | (table["epoch"] < from_epoch)]
        new = pd.DataFrame([{"fold": fold, **row} for row in rows])
        table = new if table.empty else pd.concat([table, new], ignore_index=True)
        write_csv(self.path("epochs.csv"), table.sort_values(["fold", "epoch"]))

    MODEL = "model.keras"

    def save_model(self, model) -> Path:
        """Keep a trained model as the run's model.keras (Keras's own format and layers, so plain
        Keras loads it; never committed, see .gitignore), written whole or not at all."""
        # Imported here: the store is read by the app and the report, which never need Keras.
        from benchmark.models import export

        path = self.path(self.MODEL)
        partial = self.path(".partial-model.keras")  # Keras insists on the .keras suffix
        try:
            export.plain_keras(model).save(partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def test_done(self) -> bool:
        return self.path("test.json").exists()

    def writing(self):
        """Hold the run's lock while training: a second process on the same run is refused."""
        return locked(self.path(".lock"), wait=False,
                      busy_message=f"run {self.run_id} is being written by another process; "
                                   "wait for it or choose another --run-id")

    def write_failure(self, reason: str) -> None:
        """Record why the run stopped (e.g. the loss became NaN); finished folds are kept."""
        write_json(self.path("failure.json"), {
            "reason": reason, "when": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    def read_failure(self) -> str | None:
        path = self.path("failure.json")
        return json.loads(path.read_text())["reason"] if path.exists() else None

    def clear_failure(self) -> None:
        self.path("failure.json").unlink(missing_ok=True)

    def write_test(self, summary: dict, epochs: list[dict], per_class: pd.DataFrame,
                   confusion: pd.DataFrame, misclassified: pd.DataFrame,
                   images: np.ndarray, image_index: np.ndarray) -> None:
        """Store the final model's evaluation; test.json is written last (the commit).
        `images` are the test images numbered `image_index`, some of the misclassified ones."""
        self.replace_epochs(0, epochs)
        write_csv(self.path("per_class.csv"), per_class)
        confusion_text = confusion.to_csv(index=True, index_label="true")
        atomic_write(self.path("confusion.csv"), confusion_text)
        write_csv(self.path("misclassified.csv"), misclassified)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=images.astype(np.uint8),
                            index=np.asarray(image_index, dtype=np.int64))
        atomic_write(self.path("misclassified.npz"), buffer.getvalue())
        write_json(self.path("test.json"), summary)


def collapsed(accuracy: float | None, last_loss: float | None, n_classes: int | None,
              train_accuracy: float | None = None) -> str:
    """runs.csv's `collapsed` for a run: LOSS_EXPLODED, DID_NOT_LEARN, INFERENCE_MODE, or ""
    for a run that learned. `accuracy` is the median fold's validation accuracy (else the test
    accuracy), `last_loss` the worst last training loss, `train_accuracy` the last epochs'
    training accuracy (training_accuracy); without it a run at chance is CHANCE_LEVEL."""
    if not n_classes:
        return ""
    if last_loss is not None and last_loss == last_loss and \
            last_loss > EXPLODED_LOSS_TIMES * math.log(n_classes):
        return LOSS_EXPLODED
    chance = COLLAPSED_CHANCE_TIMES / n_classes
    if accuracy is None or accuracy != accuracy or accuracy >= chance:
        return ""
    if train_accuracy is None or train_accuracy != train_accuracy:
        return CHANCE_LEVEL
    return DID_NOT_LEARN if train_accuracy < chance else INFERENCE_MODE


def is_collapsed(flag) -> bool:
    """True for a `collapsed` value that names a collapse (any kind, old wording included);
    False for "", None and NaN (an empty CSV cell)."""
    return isinstance(flag, str) and flag.startswith("collapsed")


def collapse_warning(name: str, row: dict, factor: str | None = None) -> str:
    """The console's one line for a collapsed run or ablation arm ("" when it learned): what
    happened, with the advice for its kind (COLLAPSE_ADVICE). Only an arm (`factor` given) is
    told that its delta says nothing about its factor alone."""
    flag = row.get("collapsed")
    if not is_collapsed(flag):
        return ""
    scores = [f"{label} {value:.4f}" for label, value in
              (("CV", row.get("cv_mean")), ("training accuracy", row.get("train_accuracy")))
              if isinstance(value, (int, float)) and value == value]
    advice = COLLAPSE_ADVICE.get(flag, COLLAPSE_ADVICE[CHANCE_LEVEL])
    if factor is not None:
        advice += f"; its delta says nothing about {factor} alone"
    return (f"emnist-bench: warning: {name} {flag}"
            + (f" ({', '.join(scores)})" if scores else "") + f": {advice}")


def training_accuracy(epochs: pd.DataFrame) -> float | None:
    """The training accuracy of each fold's last epoch in epochs.csv, averaged over the
    cross-validation folds (the final model's when no fold has an epoch); None without one."""
    if epochs.empty or "accuracy" not in epochs:
        return None
    last = epochs.groupby("fold")["accuracy"].last().dropna()
    folds = last[last.index > 0]
    chosen = folds if len(folds) else last
    return float(chosen.mean()) if len(chosen) else None


def fold_series(folds: pd.DataFrame) -> pd.Series:
    """A folds.csv table as its validation accuracy per fold number, in fold order (empty
    before the first fold): what a paired test of two runs or arms reads."""
    if folds.empty:
        return pd.Series(dtype=float)
    return folds.set_index("fold")["val_accuracy"].sort_index()


def recorded_seconds(run_dir: Path) -> float:
    """The training seconds a run (and an ablation's arms) recorded: every finished fold in
    folds.csv and the final fit in test.json. Work lost to a kill mid-fold is not in them, and
    an arm copied from another run (`copied_from`: a study's baseline) was not trained here,
    nor were the folds and test an arm took from an earlier run (`reused`: benchmark/reuse.py)."""
    total = 0.0
    for folder in [Path(run_dir), *sorted(Path(run_dir).glob("arms/*"))]:
        path = folder / "config.json"
        config = json.loads(path.read_text()) if path.exists() else {}
        if folder != Path(run_dir) and config.get("copied_from"):
            continue
        reused = config.get("reused") or {}
        folds = folder / "folds.csv"
        table = pd.read_csv(folds) if folds.exists() and folds.stat().st_size else pd.DataFrame()
        if "seconds" in table:
            trained = ~table["fold"].isin(reused.get("folds") or [])
            total += float(table.loc[trained, "seconds"].sum())
        test = folder / "test.json"
        if test.exists() and not reused.get("test"):
            total += float(json.loads(test.read_text()).get("seconds") or 0.0)
    return total


def parts_seconds(root: Path, run_ids) -> list[float]:
    """recorded_seconds of each study part's run (results/<run_id>), a run shared by two
    parts (the ResNet's presets) counted for the first; 0 for a part without a run."""
    seen, seconds = set(), []
    for run_id in run_ids:
        fresh = isinstance(run_id, str) and run_id and run_id not in seen
        seconds.append(recorded_seconds(Path(root) / run_id) if fresh else 0.0)
        seen.add(run_id)
    return seconds


def index_row(store: RunStore) -> dict:
    """One runs.csv row summarising a run folder (missing parts left empty)."""
    config = store.read_config()
    run, data = config.get("run", {}), config.get("data", {})
    training = run.get("training", {})
    folds = store.read_table("folds.csv")
    test = json.loads(store.path("test.json").read_text()) if store.test_done() else {}
    accs = folds["val_accuracy"] if not folds.empty else pd.Series(dtype=float)
    seconds = float(folds["seconds"].sum()) if not folds.empty else 0.0
    done = len(folds)
    failure = store.read_failure()
    status = "complete" if test else ("failed" if failure else ("running" if done else "started"))
    epochs = store.read_table("epochs.csv")
    # The worst fold's (or the final model's) training loss at its last epoch.
    last_loss = (float(epochs.groupby("fold")["loss"].last().max())
                 if "loss" in epochs and len(epochs) else None)
    train_accuracy = training_accuracy(epochs)
    accuracy = float(accs.median()) if done else test.get("accuracy")
    return {
        "run_id": store.run_id, "arch": run.get("arch"), "preset": run.get("preset"),
        "overrides": json.dumps(run.get("overrides") or {}, sort_keys=True),
        "backend": config.get("backend"), "split": data.get("split"),
        "official_sizes": data.get("matches_official_sizes"), "n_train": data.get("n_train_used"),
        "n_test": data.get("n_test"), "limit": data.get("limit"), "folds": run.get("folds"),
        "repeats": run.get("repeats", 1), "folds_done": done, "epochs": training.get("epochs"),
        "batch_size": training.get("batch_size"), "seed": run.get("seed"),
        "cv_mean": float(accs.mean()) if done else None,
        "cv_std": float(accs.std(ddof=1)) if done > 1 else None,
        "train_accuracy": train_accuracy, "test_accuracy": test.get("accuracy"), "test_loss": test.get("loss"),
        "final_epochs": test.get("final_epochs"),
        "seconds": seconds + float(test.get("seconds", 0.0)), "status": status,
        "collapsed": collapsed(accuracy, last_loss, data.get("n_classes"), train_accuracy),
        "created": config.get("created"), "code_version": config.get("code_version"),
        "reason": failure if not test else None,
    }


def update_index(root: Path | str) -> pd.DataFrame:
    """Rebuild results/runs.csv from the run folders; a broken run is skipped, not fatal."""
    root = Path(root)
    with locked(root / ".runs.lock"):  # two writers never interleave their scan and write
        return _rebuild_index(root)


def _rebuild_index(root: Path) -> pd.DataFrame:
    rows = []
    for config in sorted(root.glob("*/config.json")):
        try:
            if json.loads(config.read_text()).get("kind", "cv") != "cv":
                continue  # tune and ablate folders have their own tables
            rows.append(index_row(RunStore(root, config.parent.name)))
        except (ValueError, OSError, json.JSONDecodeError, pd.errors.ParserError, KeyError):
            continue
    table = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    write_csv(root / "runs.csv", table)
    return table
