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

import functools
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from benchmark import adaptive, cv, overrides, paired, results, reuse, verdicts
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
        arm["config"] = overrides.apply(base, settings, label=f"ablation:{arm['id']}")
    return arms


def step_within(step_size: int, epochs: int) -> int:
    """The StepLR step size an arm uses: the base's, unless the budget never reaches it;
    then half the epochs (at least 1), so the rate decays at least once."""
    return step_size if step_size < epochs else max(1, epochs // 2)


def run_arms(arms: list[dict], data: Dataset, run_dir: Path, stamp: dict,
             stream=STDERR, finished: dict[str, Path] | None = None, *,
             rounds: int | None = None, rope: float = verdicts.ROPE,
             reuse_from: Path | None = None) -> pd.DataFrame:
    """Cross-validate and test every arm (resuming finished folds); return ablations.csv.

    `finished` maps an arm id to a finished cv run of the same model, training, folds, seed
    and data (the study's baseline part for the baseline arm): that arm is copied from it,
    not trained again; the copy's config.json names the run (`copied_from`).

    `rounds` (adaptive, `--until-decided`): the arms run a repeat of K folds at a time, up to
    `rounds` repeats (their configs' repeats), and an arm stops, then trains its final model and
    test, as soon as its verdict is decided (benchmark/adaptive.py); None runs every fold.

    `reuse_from` (`--reuse`): an earlier ablation's folder; an arm takes the folds and test
    its namesake there trained with the same configuration but for its repeats
    (benchmark/reuse.py).
    """
    root = Path(run_dir) / "arms"
    stores = {arm["id"]: prepare(arm, data, root, stamp, stream, (finished or {}).get(arm["id"]),
                                 number, len(arms))
              for number, arm in enumerate(arms, start=1)}
    sources = {}
    if reuse_from is not None:
        for arm in arms:
            source = Path(reuse_from) / "arms" / arm["id"]
            sources[arm["id"]] = source
            if stores[arm["id"]].test_done():
                continue
            with stores[arm["id"]].writing():
                copied = reuse.copy_folds(source, stores[arm["id"]], arm["config"],
                                          data.fingerprint["sha256"])
            if copied and stream is not None:
                print(f"arm {arm['id']}: folds {copied} taken from {Path(reuse_from).name} "
                      "(the same configuration but for its repeats)", file=stream, flush=True)
    train = functools.partial(train_arm, sources=sources, data_sha256=data.fingerprint["sha256"])
    if rounds is None:
        clock = WorkClock(len(arms))
        for number, arm in enumerate(arms, start=1):
            if stores[arm["id"]].test_done():  # finished by an earlier invocation
                clock.skip()
                continue
            if stream is not None:
                what = "baseline" if arm["baseline"] else f"{arm['factor']} = {arm['value']}"
                print(f"arm {number}/{len(arms)}: {what}  ({clock.text()})", file=stream,
                      flush=True)
            train(arm, data, stores[arm["id"]], stream)
            clock.finished()
            table = summarise(arms, root, rope=rope)
            results.write_csv(Path(run_dir) / "ablations.csv", table)
    else:
        run_rounds(arms, data, root, stores, stream, rounds, rope, Path(run_dir), train)
    table = summarise(arms, root, rope=rope, rounds=rounds)
    results.write_csv(Path(run_dir) / "ablations.csv", table)
    return table


def prepare(arm: dict, data: Dataset, root: Path, stamp: dict, stream, source: Path | None,
            number: int, count: int) -> results.RunStore:
    """The arm's run folder: copied from a finished run that is the same (copy_finished), or
    with its config.json written; refused when it was started with another configuration."""
    store = results.RunStore(root, arm["id"])
    config = arm["config"]
    digest = config.digest(data.fingerprint["sha256"])
    if not store.exists() and source and copy_finished(Path(source), store, arm, digest, data):
        if stream is not None:
            print(f"arm {number}/{count}: {arm['id']} copied from {Path(source).name} "
                  "(the same configuration, folds and data)", file=stream, flush=True)
    if store.exists() and not store.test_done() and store.read_config().get("digest") != digest:
        raise ValueError(f"arm {arm['id']} of {root.parent.name} was started with another "
                         f"configuration; delete {root / arm['id']} to run it again")
    if not store.exists():
        store.write_config(results.config_record(
            "cv", digest=digest, data=data.fingerprint, stamp=stamp, run=config.to_dict(),
            ablation_factor=arm["factor"], ablation_value=str(arm["value"]),
            final_epochs_rule=cv.FINAL_EPOCHS_RULE))
    return store


def train_arm(arm: dict, data: Dataset, store: results.RunStore, stream, *,
              folds_up_to: int | None = None, test: bool = True,
              sources: dict[str, Path] | None = None, data_sha256: str = "") -> None:
    """Cross-validate (and test) one arm; a diverged arm is recorded in its failure.json and
    the ablation goes on. With a source for the arm (`sources`, run_arms's `reuse_from`), its
    test is copied from there instead of trained, where the final model is the same."""
    source = (sources or {}).get(arm["id"])

    def take_test(epochs: int) -> bool:
        taken = reuse.copy_test(source, store, arm["config"], data_sha256, epochs)
        if taken and stream is not None:
            print(f"arm {arm['id']}: its final model ({epochs} epoch"
                  f"{'s' if epochs != 1 else ''}) and test taken from "
                  f"{source.parent.parent.name} (the same configuration but for its "
                  "repeats)", file=stream, flush=True)
        return taken

    try:
        row = cv.run(arm["config"], data, store, stream, folds_up_to=folds_up_to, test=test,
                     take_test=take_test if source is not None else None)
        if test:
            line = results.collapse_warning(f"arm {arm['id']}", row, arm["factor"])
            if line:
                print(line, file=sys.stderr, flush=True)
    except TrainingDiverged as error:
        if stream is not None:
            print(f"arm {arm['id']} failed: {error}", file=stream, flush=True)


def run_rounds(arms: list[dict], data: Dataset, root: Path, stores: dict, stream,
               rounds: int, rope: float, run_dir: Path, train=train_arm) -> None:
    """The adaptive loop: replay the stopping rule on the stored folds, test the arms it
    stopped, train the next round of the open ones (and the baseline), until none is open.
    A stopped arm's final model trains on the folds its verdict read and no more: its
    rounds x K (what cv.run would otherwise do is finish every fold of the cap first)."""
    k = arms[0]["config"].folds
    by_id = {arm["id"]: arm for arm in arms}
    while True:
        failed = {a for a, store in stores.items() if store.exists() and store.read_failure()}
        if "baseline" in failed:
            raise TrainingDiverged(f"the baseline failed: {stores['baseline'].read_failure()}")
        scores = {a: fold_scores(stores[a]) for a in by_id if a not in failed}
        state = adaptive.replay(scores, "baseline", k, rounds, rope)
        for arm_id, result in state.results.items():
            if not stores[arm_id].test_done():
                if stream is not None:
                    print(f"arm {arm_id}: {verdicts.text(result)} after {result['rounds']} "
                          f"round(s) of {k} folds; its final model and test", file=stream,
                          flush=True)
                train(by_id[arm_id], data, stores[arm_id], stream,
                      folds_up_to=int(result["rounds"]) * k)
        if state.done:
            break
        open_arms = [a for a in state.need if a != "baseline"]
        if stream is not None:
            print(f"round {state.round}/{rounds}: {len(open_arms)} arm(s) still open "
                  f"({', '.join(open_arms)}), and the baseline", file=stream, flush=True)
        for arm_id, n in state.need.items():
            train(by_id[arm_id], data, stores[arm_id], stream, folds_up_to=n, test=False)
        results.write_csv(run_dir / "ablations.csv",
                          summarise(arms, root, rope=rope, rounds=rounds))
    if not stores["baseline"].test_done():  # on the folds the last round gave it
        train(by_id["baseline"], data, stores["baseline"], stream,
              folds_up_to=max(len(fold_scores(stores["baseline"])), k))


def fold_scores(store: results.RunStore) -> pd.Series:
    """An arm's validation accuracy per fold number (empty before its first fold)."""
    return results.fold_series(store.read_table("folds.csv") if store.exists() else pd.DataFrame())


def copy_finished(source: Path, store: results.RunStore, arm: dict, digest: str,
                  data: Dataset) -> bool:
    """Copy a finished run's tables into the arm's folder if it is the arm's run in all but its
    name: the arm's configuration under the run's preset label and overrides has the run's
    digest (RunConfig.digest: everything that changes the numbers, the data included). False,
    copying nothing, otherwise. config.json goes last, so a copy cut short is made again; it
    keeps the source's provenance and says where it came from."""
    stored = reuse.same_run(arm["config"], data.fingerprint["sha256"], source)
    if stored is None or not (source / "test.json").exists():
        return False
    store.dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in (".csv", ".json", ".npz") and path.name != "config.json":
            shutil.copy2(path, store.path(path.name))
    store.write_config({**stored, "run": arm["config"].to_dict(), "digest": digest,
                        "copied_from": source.name, "ablation_factor": arm["factor"],
                        "ablation_value": str(arm["value"])})
    return True


def summarise(arms: list[dict], root: Path, *, rope: float = verdicts.ROPE,
              rounds: int | None = None) -> pd.DataFrame:
    """ablations.csv from the arms' folders: one row per arm with delta, its interval, the
    paired test's p-values (corrected, plain, adjusted across the arms), the equivalence
    test's, the smallest detectable difference and the verdict (adaptive.family: the one rule
    the claims, the report and the app read too)."""
    base_store = results.RunStore(root, arms[0]["id"])
    k = (base_store.read_config().get("run") or {}).get("folds", 5)
    scores = {arm["id"]: fold_scores(results.RunStore(root, arm["id"])) for arm in arms}
    judged = adaptive.family(scores, arms[0]["id"], k, rounds, rope)
    rows = []
    for arm in arms:
        store = results.RunStore(root, arm["id"])
        accs = scores[arm["id"]]
        test = json.loads(store.path("test.json").read_text()) if store.test_done() else {}
        failure = store.read_failure() if store.dir.exists() else None
        status = "complete" if test else ("failed" if failure else "incomplete")
        row = {"factor": arm["factor"], "value": arm["value"], "baseline": arm["baseline"],
               "arm": arm["id"], "status": status, "reason": failure or "",
               "folds": len(accs), "val_accuracy_mean": None, "val_accuracy_std": None,
               "test_accuracy": test.get("accuracy"), "collapsed": "", "delta": None,
               "ci_low": None, "ci_high": None, "p_value": None, "p_plain": None,
               "p_adjusted": None, "p_equivalence": None, "p_equivalence_adjusted": None,
               "smallest_detectable": None, "rope": rope, "rounds": None,
               "verdict": "baseline" if arm["baseline"] else verdicts.NO_TEST,
               "test": TEST_NAME}
        if not accs.empty:
            row["val_accuracy_mean"] = float(accs.mean())
            row["collapsed"] = results.index_row(store)["collapsed"]
            row["val_accuracy_std"] = float(accs.std(ddof=1)) if len(accs) > 1 else None
            for fold, acc in accs.items():
                row[f"fold_{fold}"] = float(acc)
            if not arm["baseline"] and arm["id"] in judged:
                row.update({key: judged[arm["id"]].get(key) for key in (
                    "delta", "ci_low", "ci_high", "p_value", "p_plain", "p_adjusted",
                    "p_equivalence", "p_equivalence_adjusted", "smallest_detectable",
                    "rounds", "verdict")})
            elif arm["baseline"]:
                row["delta"] = 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def resummarise(run_dir: Path) -> pd.DataFrame:
    """Rewrite an ablation's ablations.csv from its arms' stored folds (the arms as the table
    lists them), e.g. after the paired test changed; nothing is trained."""
    table = pd.read_csv(Path(run_dir) / "ablations.csv", dtype={"value": str},
                        keep_default_na=False)
    arms = [{"factor": r["factor"], "value": r["value"],
             "baseline": str(r["baseline"]).lower() == "true", "id": r["arm"]}
            for _, r in table.iterrows()]
    config = json.loads((Path(run_dir) / "config.json").read_text())
    table = summarise(arms, Path(run_dir) / "arms", rope=config.get("rope") or verdicts.ROPE,
                      rounds=config.get("adaptive_rounds"))
    results.write_csv(Path(run_dir) / "ablations.csv", table)
    return table
