"""Cross-validated hyperparameter search with KerasTuner's own tuners, oracles and files.

KerasTuner scores a trial on one validation split; here `CVTuner.run_trial` (KerasTuner's
documented extension point, as in its SklearnTuner) scores it by the mean validation accuracy
over K stratified folds, the same folds for every trial. The oracle (random, bayesian,
hyperband, grid) is KerasTuner's, and so are the project directory, the trial files, resuming
(`overwrite=False`) and distributed search (KERASTUNER_TUNER_ID / _ORACLE_IP / _ORACLE_PORT).

Hyperband and CV: Hyperband's budget is epochs. A trial it schedules with "tuner/epochs" = e
trains every one of the K folds from scratch for e epochs (no weights are carried over between
rounds), so a Hyperband search costs about K times its single-split budget.

Files in results/<run-id>/: config.json, trials.csv (one row per trial), trial_folds.csv (one
row per trial x fold) and keras_tuner/ (KerasTuner's project: oracle.json, trial_*/trial.json,
plus our trial_*/cv.json with the per-fold records); with --save-model, final.json and
model.keras (the best trial trained on the whole training split; see final_model).
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import time
from pathlib import Path

import keras_tuner
import numpy as np
import pandas as pd
import psutil
from keras_tuner.engine import base_tuner
from keras_tuner.src import utils as kt_utils

from benchmark import best_trials, cv, results
from benchmark.data import Dataset
from benchmark.progress import WorkClock, duration
from benchmark.training import STDERR, TrainingDiverged
from tuners import spaces
from tuners.hypermodels import EmnistHyperModel


def _save_json_atomically(path, obj) -> str:
    """KerasTuner's utils.save_json, but written to a temporary file and renamed into place.

    KerasTuner 1.4.8 (the version this was checked against; pyproject.toml bounds it) writes
    oracle.json and trial.json in place; a process killed mid-write left a truncated
    oracle.json that a reader (or the resumed search) could not parse
    (tests/test_interruption.py found it). The rename makes every state file old or new.
    tests/test_tuners.py fails once KerasTuner's own writing is atomic: then drop this.
    """
    text = json.dumps(obj)
    results.atomic_write(Path(path), text)
    return text


@contextlib.contextmanager
def atomic_state_files():
    """Write KerasTuner's state files atomically for the duration (our searches only: the
    stock writer is back afterwards). Stateful.save and Tuner.save call utils.save_json by
    name, so that name is swapped."""
    stock = kt_utils.save_json
    kt_utils.save_json = _save_json_atomically
    try:
        yield
    finally:
        kt_utils.save_json = stock

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
TUNERS = ("random", "bayesian", "hyperband", "grid")
PROJECT = "keras_tuner"


def make_oracle(name: str, *, max_trials: int, epochs: int, seed: int,
                until_budget: bool = False) -> keras_tuner.Oracle:
    """A stock KerasTuner oracle by name. Hyperband ignores max_trials: its budget is epochs,
    one pass of its brackets, or (`until_budget`) as many passes as the search's epoch budget
    (CVTuner's `epoch_budget`) allows."""
    # KerasTuner treats seed 0 as "no seed" (a random one), so --seed s is oracle seed s + 1.
    common = {"objective": OBJECTIVE, "seed": seed + 1,
              # a diverged trial is recorded as failed and the search goes on
              "max_consecutive_failed_trials": max(3, max_trials)}
    if name == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    if name == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    if name == "grid":
        return keras_tuner.oracles.GridSearchOracle(max_trials=max_trials, **common)
    if name == "hyperband":
        return keras_tuner.oracles.HyperbandOracle(
            max_epochs=epochs, factor=3, hyperband_iterations=None if until_budget else 1,
            **common)
    raise ValueError(f"unknown tuner {name!r}; choose from {', '.join(TUNERS)}")


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


class MemoryBudgetReached(Exception):
    """Raised between trials when the process has grown past its budget.

    TensorFlow keeps the graphs it traced for every model trained in a process, about 15 MB
    per MLP fit here, even after keras.backend.clear_session() and gc.collect() (a long-known
    TensorFlow issue, e.g. tensorflow/tensorflow#61791); JAX and PyTorch stay flat. Everything
    a search has done is on disk by then, so `emnist-bench tune` answers this by starting
    itself again, which resumes the search with a fresh process.
    """


class EpochBudgetSpent(Exception):
    """Raised before a trial would start once the search's trials have trained its epoch
    budget (CVTuner's `epoch_budget`): the search stops there, and a rerun starts nothing."""


class CVTuner(base_tuner.BaseTuner):
    """A KerasTuner tuner whose trials are scored by K-fold cross-validation.

    Args:
        oracle: a stock KerasTuner oracle (see make_oracle).
        hypermodel: an EmnistHyperModel.
        data: the dataset; trials train and validate on its training split only.
        folds: K (1 = holdout); the base configuration's `repeats` repeats the K folds, and a
            trial's score is the mean over all of them.
        run_dir: results/<run-id>; KerasTuner's project lives in run_dir/keras_tuner.
        stream: where progress lines go (None: silent).
        max_growth_mb: raise MemoryBudgetReached after a trial once resident memory has grown
            by more than this since the first trial ended (None: never).
        epoch_budget: start no trial once the trials have trained this many epochs in all,
            summed over their folds (`epochs_spent`); None: the oracle's own end. The trial
            that crosses it finishes, so a search spends at most one trial more.
    """

    def __init__(self, oracle, hypermodel: EmnistHyperModel, data: Dataset, folds: int,
                 run_dir: Path, stream=STDERR, max_growth_mb: float | None = None,
                 epoch_budget: int | None = None, **kwargs):
        with atomic_state_files():
            super().__init__(oracle=oracle, hypermodel=hypermodel, directory=str(run_dir),
                             project_name=PROJECT, overwrite=False, **kwargs)
        self.data, self.folds, self.run_dir, self.stream = data, folds, Path(run_dir), stream
        self.splitter = cv.make_splitter(folds, hypermodel.base.seed, hypermodel.base.repeats)
        self.max_growth_mb = max_growth_mb
        self.epoch_budget = epoch_budget
        self._rss_after_first: float | None = None
        # Trials found finished (a resumed search) count as done, not as time spent, in the ETA.
        # A distributed worker's oracle is a client that holds no trials (and no `trials`).
        # With an epoch budget the trial count is not the end (the budget is): no count, and
        # the ETA comes from the epochs still to train (progress_text).
        self.clock = WorkClock(None if epoch_budget else getattr(self.oracle, "max_trials", None))
        for trial in getattr(self.oracle, "trials", {}).values():
            if trial.status in ("COMPLETED", "FAILED", "INVALID"):
                self.clock.skip()
        self._budget_from = (time.perf_counter(), self.epochs_spent()) if epoch_budget else None

    def _say(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)

    def epochs_spent(self) -> int:
        """The epochs every trial has trained so far, summed over its folds (its cv.json)."""
        return sum(int(fold["epochs_run"]) for path in (self.run_dir / PROJECT).glob("trial_*/cv.json")
                   for fold in (_read_json(path) or {"folds": []})["folds"])

    def progress_text(self) -> str:
        """The clock's "elapsed, ETA", or with an epoch budget the epochs spent of it and an
        ETA at this invocation's pace."""
        if self._budget_from is None:
            return self.clock.text()
        start, before = self._budget_from
        spent = self.epochs_spent()
        text = self.clock.text() + f", {spent:,}/{self.epoch_budget:,} epochs of the budget"
        if spent > before:
            pace = (time.perf_counter() - start) / (spent - before)
            text += f", ETA {duration(pace * max(self.epoch_budget - spent, 0))}"
        return text

    def pre_create_trial(self):
        if self.epoch_budget is not None and (spent := self.epochs_spent()) >= self.epoch_budget:
            raise EpochBudgetSpent(f"the trials have trained {spent:,} epochs, the budget is "
                                   f"{self.epoch_budget:,}")

    def trial_name(self, trial) -> str:
        """How every progress line of a trial names it: "trial 2/10 (id 01)", its place in the
        search and the id that trials.csv and `cv --from-trial RUN:ID` use; "trial id 01" where
        the search has no trial count (Hyperband, a distributed worker)."""
        total = self.clock.total
        if total and trial.trial_id.isdigit():
            return f"trial {int(trial.trial_id) + 1}/{total} (id {trial.trial_id})"
        return f"trial id {trial.trial_id}"

    def run_trial(self, trial, *args, **kwargs) -> dict:
        hp = trial.hyperparameters
        config = self.hypermodel.config(hp)  # resolved once: every fold trains this
        record_path = Path(self.get_trial_dir(trial.trial_id)) / "cv.json"
        record = _read_json(record_path) or {"folds": []}
        done = {r["fold"] for r in record["folds"]}
        # Which tuner ran the trial (KERASTUNER_TUNER_ID in a distributed search): a trial that
        # ran twice would show two entries here.
        record.setdefault("ran_by", []).append(self.tuner_id)
        results.write_json(record_path, record)
        chosen = {k: v for k, v in hp.values.items() if hp.is_active(k) and not k.startswith("tuner/")}
        name = self.trial_name(trial)
        self._say(f"{name}: "
                  + " ".join(f"{k}={v}" for k, v in chosen.items())
                  + (f" (resuming after folds {sorted(done)})" if done else "")
                  + f"  ({self.progress_text()})")
        start = time.perf_counter()

        def keep(fold_record, _history):
            record["folds"].append(fold_record)
            results.write_json(record_path, record)

        try:
            cv.cross_validate(config, self.data.x_train, self.data.y_train, self.splitter,
                              skip=done, on_fold=keep, stream=self.stream)
        except TrainingDiverged as error:
            self.clock.finished()
            record.update(status="failed", reason=str(error), rss_mb=rss_mb(),
                          seconds=time.perf_counter() - start)
            results.write_json(record_path, record)
            self._say(f"{name} failed: {error}")
            raise keras_tuner.errors.FailedTrialError(str(error)) from None
        scores = [r["val_accuracy"] for r in sorted(record["folds"], key=lambda r: r["fold"])]
        mean = float(np.mean(scores))
        std = float(statistics.stdev(scores)) if len(scores) > 1 else 0.0
        record.update(status="completed", score=mean, score_std=std, rss_mb=rss_mb(),
                      settings=json.loads(json.dumps(self.hypermodel.space(hp))),
                      seconds=time.perf_counter() - start)
        results.write_json(record_path, record)
        self.clock.finished()
        self._say(f"{name}: cv val_accuracy {mean:.4f} ± {std:.4f} over "
                  f"{len(scores)} fold(s)  {record['seconds']:.0f}s  rss {record['rss_mb']:.0f} MB"
                  f"  ({self.progress_text()})")
        return {"val_accuracy": mean}

    def on_trial_end(self, trial):
        super().on_trial_end(trial)  # the oracle records the trial and the tuner state is saved
        write_tables(self.run_dir, self.hypermodel.base.arch)
        now = rss_mb()
        if self._rss_after_first is None:
            self._rss_after_first = now  # imports and first tracing are paid by now
        elif self.max_growth_mb is not None and now - self._rss_after_first > self.max_growth_mb:
            raise MemoryBudgetReached(
                f"resident memory grew by {now - self._rss_after_first:.0f} MB since the first "
                f"trial (limit {self.max_growth_mb:.0f} MB)")

    def on_search_end(self):
        super().on_search_end()
        write_tables(self.run_dir, self.hypermodel.base.arch)

    def save_model(self, trial_id, model, step=0):
        """Trials keep their scores, not their weights: the best one is retrained by `cv`."""

    def load_model(self, trial):
        raise NotImplementedError("emnist-bench keeps no trial weights; run `emnist-bench cv "
                                  "--from-trial` to train the best configuration")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


TRIAL_COLUMNS = ["trial_id", "status", "score", "score_std", "folds", "seconds", "rss_mb",
                 "reason", "ran_by"]


def trials_frames(run_dir: Path, arch: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trials, trial_folds) read back from KerasTuner's trial files and our cv.json files."""
    names = list(spaces.describe(arch))
    rows, fold_rows = [], []
    for trial_dir in sorted((Path(run_dir) / PROJECT).glob("trial_*")):
        trial = _read_json(trial_dir / "trial.json")
        if trial is None:
            continue
        record = _read_json(trial_dir / "cv.json") or {"folds": []}
        folds = sorted(record["folds"], key=lambda r: r["fold"])
        values = trial.get("hyperparameters", {}).get("values", {})
        status = str(trial.get("status", "")).lower()
        reason = ""
        if status in ("failed", "invalid"):
            lines = [ln for ln in str(trial.get("message") or "").splitlines() if ln.strip()]
            reason = record.get("reason") or (lines[-1] if lines else "")
        scores = [r["val_accuracy"] for r in folds]
        row = {"trial_id": trial["trial_id"], "status": status,
               "score": trial.get("score") if status == "completed" else None,
               "score_std": record.get("score_std",
                                       statistics.stdev(scores) if len(scores) > 1 else None),
               "folds": len(folds), "seconds": record.get("seconds"),
               "rss_mb": record.get("rss_mb"), "reason": reason,
               "ran_by": " ".join(record.get("ran_by", []))}
        for name in names:
            row[name] = values.get(name)
        for key in ("tuner/epochs", "tuner/bracket", "tuner/round"):
            if key in values:
                row[key.replace("/", "_")] = values[key]
        for r in folds:
            row[f"fold_{r['fold']}"] = r["val_accuracy"]
            fold_rows.append({"trial_id": trial["trial_id"], **r})
        rows.append(row)
    trials = pd.DataFrame(rows, columns=None if rows else TRIAL_COLUMNS + names)
    return trials, pd.DataFrame(fold_rows)


def write_tables(run_dir: Path, arch: str) -> pd.DataFrame:
    """Rewrite trials.csv and trial_folds.csv (atomically) from the trial files."""
    with results.locked(Path(run_dir) / ".tables.lock"):  # workers share the folder
        trials, folds = trials_frames(run_dir, arch)
        results.write_csv(Path(run_dir) / "trials.csv", trials)
        results.write_csv(Path(run_dir) / "trial_folds.csv", folds)
    return trials


def best_trial(run_dir: Path) -> pd.Series:
    """The completed trial with the highest mean CV accuracy."""
    path = Path(run_dir) / "trials.csv"
    if not path.is_file():
        raise ValueError(f"{path} does not exist; run `emnist-bench tune` first")
    best = best_trials.best_trial(Path(run_dir))
    if best is None:
        raise ValueError(f"{path} has no completed trial yet")
    return best


def trial_values(row: pd.Series, arch: str) -> dict:
    """A trials.csv row's hyperparameter values, typed back to the space's values."""
    values = {}
    for name in spaces.describe(arch):
        value = row.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue  # inactive conditional hyperparameter
        candidates = {str(v).lower(): v for v in _raw_values(arch, name)}
        key = str(value).lower()
        if key not in candidates:
            try:
                key = str(type(next(iter(candidates.values())))(float(value))).lower()
            except (TypeError, ValueError):
                pass
        if key not in candidates:
            raise ValueError(f"trial value {name}={value!r} is not in the {arch} space")
        values[name] = candidates[key]
    return values


def _raw_values(arch: str, name: str) -> list:
    for h in spaces.hyperparameters(arch).space:
        if h.name == name:
            return spaces._values(h)
    return []


def search(tuner: CVTuner) -> pd.DataFrame:
    """Run (or resume) the search, to the oracle's end or the tuner's epoch budget; return
    trials.csv's table."""
    with atomic_state_files():
        try:
            tuner.search(verbose=0)
        except EpochBudgetSpent as reason:
            tuner._say(f"search stopped: {reason}")
    return write_tables(tuner.run_dir, tuner.hypermodel.base.arch)


def final_model(tuner: CVTuner) -> dict:
    """The best trial trained once on the whole training split, for the median of its folds'
    best epochs (cv.FINAL_EPOCHS_RULE), evaluated once on the test split and kept as the
    search's model.keras; final.json says which trial and how it scored. A rerun with the same
    best trial and its model present does nothing.

    Raises:
        ValueError: no trial has completed.
    """
    best = tuner.oracle.get_best_trials(1)
    if not best:
        raise ValueError("no trial has completed, so there is no best trial to train")
    trial = best[0]
    store = results.RunStore(tuner.run_dir.parent, tuner.run_dir.name)
    path = store.path("final.json")
    kept = _read_json(path)
    if kept and kept.get("trial_id") == trial.trial_id and store.path(store.MODEL).exists():
        return kept
    record = _read_json(Path(tuner.get_trial_dir(trial.trial_id)) / "cv.json") or {"folds": []}
    epochs = cv.final_epochs(pd.DataFrame(record["folds"]))
    hm: EmnistHyperModel = tuner.hypermodel
    if tuner.stream is not None:
        print(f"best trial (id {trial.trial_id}): the final model, {epochs} epochs on all "
              f"{len(tuner.data.y_train):,} training images", file=tuner.stream, flush=True)
    outcome = cv.final_evaluation(hm.config(trial.hyperparameters), tuner.data, epochs,
                                  tuner.stream)
    store.save_model(outcome["model"])
    final = {**outcome["summary"], "trial_id": trial.trial_id, "model": store.MODEL}
    results.write_json(path, final)
    return final


def summary_line(trials: pd.DataFrame) -> str:
    done = trials[trials["status"] == "completed"]
    if done.empty:
        return f"{len(trials)} trial(s), none completed"
    best = done.sort_values("score", ascending=False).iloc[0]
    return (f"{len(trials)} trial(s), {len(done)} completed; best trial {best['trial_id']}: "
            f"cv val_accuracy {best['score']:.4f} ± {best['score_std'] or 0:.4f}")


