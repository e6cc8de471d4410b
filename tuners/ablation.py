"""The study's one-factor-at-a-time ablation, with a paired test so fold noise is visible.

From the baseline (every hyperparameter at its default), each factor of the search space is
changed to each of its other values, one at a time. Every arm is cross-validated on the same
folds (the same splitter seed, the same per-fold weight seeds), then trained once on the whole
training split and evaluated on the test split (benchmark.cv.run). The baseline is trained
once and shared by every factor.

`delta` is the mean over folds of (arm - baseline) validation accuracy on the same fold, with
its 95% interval (`ci_low`, `ci_high`); `p_value` is the corrected resampled t-test of those
per-fold pairs (benchmark/paired.py: the folds' training sets overlap, which the plain paired
t-test ignores; its p-value is kept as `p_plain`), and `p_adjusted` the Benjamini-Hochberg
adjustment of `p_value` across the ablation's arms, which the verdicts read. With 5 folds a
difference must be large and consistent fold after fold to be called real; the report's
tenth-of-a-point differences usually are not.

An arm that switches to StepLR keeps the base's step size (the study's MLP: 10 epochs) where
the budget reaches it; at a budget that never would (the CNN study's 4 epochs, the ResNet
preset's 8), its step size becomes half the epochs, so the arm tests a learning rate that
decays rather than a constant one. The arm's config.json records the step size it used.

Each arm is an ordinary run folder under results/<run-id>/arms/<arm-id>/, so an interrupted
ablation resumes fold by fold. results/<run-id>/ablations.csv has one row per arm.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from benchmark import cv, paired, presets, results
from benchmark.config import RunConfig
from benchmark.data import Dataset
from benchmark.progress import WorkClock
from benchmark.training import STDERR, TrainingDiverged
from tuners import spaces

TEST_NAME = paired.TEST_NAME


def arm_id(factor: str, value) -> str:
    """A folder name for an arm, e.g. "activation-elu" or "kernels_3_layers-5.5.3"."""
    text = f"{factor}-{value}".replace(",", ".")
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def plan(base: RunConfig, factors: list[str] | None = None) -> list[dict]:
    """The arms: the baseline first, then each factor's other values.

    Raises:
        ValueError: a factor that is not in the architecture's space.
    """
    arms = [{"factor": "baseline", "value": "", "baseline": True, "values": {},
             "id": "baseline"}]
    for factor, value, values in spaces.alternatives(base.arch, factors):
        arms.append({"factor": factor, "value": value, "baseline": False, "values": values,
                     "id": arm_id(factor, value)})
    for arm in arms:
        settings = spaces.settings(base.arch, arm["values"])
        step = step_within(base.training.step_size, base.training.epochs)
        if arm["values"].get("schedule") == "step" and step != base.training.step_size:
            settings["step_size"] = step
        arm["config"] = presets.apply(base, settings, label=f"ablation:{arm['id']}")
    return arms


def step_within(step_size: int, epochs: int) -> int:
    """The StepLR step size an arm uses: the base's, unless the budget never reaches it;
    then half the epochs (at least 1), so the rate decays at least once."""
    return step_size if step_size < epochs else max(1, epochs // 2)


def run_arms(arms: list[dict], data: Dataset, run_dir: Path, stamp: dict,
             stream=STDERR, finished: dict[str, Path] | None = None) -> pd.DataFrame:
    """Cross-validate and test every arm (resuming finished folds); return ablations.csv.

    `finished` maps an arm id to a finished cv run of the same model, training, folds, seed
    and data (the study's baseline part for the baseline arm): that arm is copied from it,
    not trained again; the copy's config.json names the run (`copied_from`).
    """
    root = Path(run_dir) / "arms"
    clock = WorkClock(len(arms))
    for number, arm in enumerate(arms, start=1):
        store = results.RunStore(root, arm["id"])
        config = arm["config"]
        digest = config.digest(data.fingerprint["sha256"])
        source = (finished or {}).get(arm["id"])
        if not store.exists() and source and copy_finished(Path(source), store, arm, digest, data):
            if stream is not None:
                print(f"arm {number}/{len(arms)}: {arm['id']} copied from {Path(source).name} "
                      "(the same configuration, folds and data)", file=stream, flush=True)
        if store.exists() and not store.test_done() and store.read_config().get("digest") != digest:
            raise ValueError(f"arm {arm['id']} of {Path(run_dir).name} was started with another "
                             f"configuration; delete {root / arm['id']} to run it again")
        if not store.exists():
            store.write_config({"kind": "cv", "run": config.to_dict(), "digest": digest,
                                "data": data.fingerprint, "ablation_factor": arm["factor"],
                                "ablation_value": str(arm["value"]), **stamp,
                                "final_epochs_rule": cv.FINAL_EPOCHS_RULE})
        if store.test_done():  # finished by an earlier invocation
            clock.skip()
        else:
            if stream is not None:
                what = "baseline" if arm["baseline"] else f"{arm['factor']} = {arm['value']}"
                print(f"arm {number}/{len(arms)}: {what}  ({clock.text()})", file=stream,
                      flush=True)
            try:
                row = cv.run(config, data, store, stream)
                line = results.collapse_warning(f"arm {arm['id']}", row, arm["factor"])
                if line:
                    print(line, file=sys.stderr, flush=True)
            except TrainingDiverged as error:  # recorded in the arm's failure.json; go on
                if stream is not None:
                    print(f"arm {arm['id']} failed: {error}", file=stream, flush=True)
            clock.finished()
        table = summarise(arms, root)
        results.write_csv(Path(run_dir) / "ablations.csv", table)
    return table


def copy_finished(source: Path, store: results.RunStore, arm: dict, digest: str,
                  data: Dataset) -> bool:
    """Copy a finished run's tables into the arm's folder if it is the arm's run in all but its
    name: the arm's configuration under the run's preset label and overrides has the run's
    digest (RunConfig.digest: everything that changes the numbers, the data included). False,
    copying nothing, otherwise. config.json goes last, so a copy cut short is made again; it
    keeps the source's provenance and says where it came from."""
    if not (source / "test.json").exists() or not (source / "config.json").exists():
        return False
    stored = json.loads((source / "config.json").read_text())
    had = stored.get("run") or {}
    renamed = dataclasses.replace(arm["config"], preset=had.get("preset", ""),
                                  overrides=had.get("overrides") or {})
    if renamed.digest(data.fingerprint["sha256"]) != stored.get("digest"):
        return False
    store.dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in (".csv", ".json", ".npz") and path.name != "config.json":
            shutil.copy2(path, store.path(path.name))
    store.write_config({**stored, "run": arm["config"].to_dict(), "digest": digest,
                        "copied_from": source.name, "ablation_factor": arm["factor"],
                        "ablation_value": str(arm["value"])})
    return True


def summarise(arms: list[dict], root: Path) -> pd.DataFrame:
    """ablations.csv from the arms' folders: one row per arm with delta, its interval and the
    paired test's p-values (corrected, plain, and adjusted across the arms)."""
    def folds_of(arm):
        table = results.RunStore(root, arm["id"]).read_table("folds.csv")
        return table.set_index("fold")["val_accuracy"].sort_index() if not table.empty else None

    base = folds_of(arms[0])
    k = (results.RunStore(root, arms[0]["id"]).read_config().get("run") or {}).get("folds", 5)
    rows = []
    for arm in arms:
        store = results.RunStore(root, arm["id"])
        accs = folds_of(arm)
        test = json.loads(store.path("test.json").read_text()) if store.test_done() else {}
        failure = store.read_failure() if store.dir.exists() else None
        status = "complete" if test else ("failed" if failure else "incomplete")
        row = {"factor": arm["factor"], "value": arm["value"], "baseline": arm["baseline"],
               "arm": arm["id"], "status": status, "reason": failure or "",
               "folds": 0 if accs is None else len(accs),
               "val_accuracy_mean": None, "val_accuracy_std": None,
               "test_accuracy": test.get("accuracy"), "collapsed": "", "delta": None, "ci_low": None,
               "ci_high": None, "p_value": None, "p_plain": None, "p_adjusted": None,
               "test": TEST_NAME}
        if accs is not None:
            row["val_accuracy_mean"] = float(accs.mean())
            row["collapsed"] = results.index_row(store)["collapsed"]
            row["val_accuracy_std"] = float(accs.std(ddof=1)) if len(accs) > 1 else None
            for fold, acc in accs.items():
                row[f"fold_{fold}"] = float(acc)
            if base is not None:
                test = paired.compare(accs, base, k)
                row["delta"] = test["delta"]
                if not arm["baseline"]:
                    row.update({key: test[key]
                                for key in ("ci_low", "ci_high", "p_value", "p_plain")})
        rows.append(row)
    adjusted = paired.adjust([row["p_value"] for row in rows])
    for row, p in zip(rows, adjusted, strict=True):
        row["p_adjusted"] = p
    return pd.DataFrame(rows)


def resummarise(run_dir: Path) -> pd.DataFrame:
    """Rewrite an ablation's ablations.csv from its arms' stored folds (the arms as the table
    lists them), e.g. after the paired test changed; nothing is trained."""
    table = pd.read_csv(Path(run_dir) / "ablations.csv", dtype={"value": str},
                        keep_default_na=False)
    arms = [{"factor": r["factor"], "value": r["value"],
             "baseline": str(r["baseline"]).lower() == "true", "id": r["arm"]}
            for _, r in table.iterrows()]
    table = summarise(arms, Path(run_dir) / "arms")
    results.write_csv(Path(run_dir) / "ablations.csv", table)
    return table
