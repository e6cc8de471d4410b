"""Folds and final models an earlier run already trained, copied instead of trained again.

    emnist-bench ablate --arch resnet ... --repeats 2 --until-decided \\
        --reuse ablate-resnet-torch-e6c1a808

A run with more repeats of the same K-fold split trains the same first folds as one with
fewer: a repetition's splits do not depend on how many follow (cv.make_splitter), and a
fold's weights are drawn from the seed and its number. Its final model is the same too when
it trains for the same epochs: it is trained on the whole training split from the run's
seed, whatever the folds. So an arm whose configuration is an earlier run's in all but its
repeats (and its preset's label and overrides, which name it) takes that run's folds and, at
equal final epochs, its test, instead of spending the CPU again.

What was copied is recorded in the arm's config.json (`reused`: the source, its folds, and
whether its test came along); results.recorded_seconds does not count it as trained here.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from benchmark import results
from benchmark.config import RunConfig

TEST_FILES = ("per_class.csv", "confusion.csv", "misclassified.csv", "misclassified.npz")


def same_run(config: RunConfig, data_sha256: str, source: Path, *,
             any_repeats: bool = False) -> dict | None:
    """The source run's config.json when its run is `config` in all but its preset label and
    overrides (which name it) and, with `any_repeats`, its repeats (RunConfig.digest:
    everything that changes the numbers, the data included); None otherwise, or when the source
    has no config."""
    path = Path(source) / "config.json"
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    had = stored.get("run") or {}
    renamed = dataclasses.replace(config, preset=had.get("preset", ""),
                                  overrides=had.get("overrides") or {})
    if any_repeats:
        renamed = dataclasses.replace(renamed, repeats=int(had.get("repeats", 1)))
    return stored if renamed.digest(data_sha256) == stored.get("digest") else None


def copy_folds(source: Path, store: results.RunStore, config: RunConfig,
               data_sha256: str) -> list[int]:
    """Copy into the run `store` the source's finished folds it has not got (their folds.csv
    rows and epochs); return their numbers ([] when the source is not the same run but for its
    repeats, or has nothing new). The store must exist (its config.json written)."""
    if same_run(config, data_sha256, source, any_repeats=True) is None:
        return []
    theirs = results.RunStore(Path(source).parent, Path(source).name)
    folds = theirs.read_table("folds.csv")
    if folds.empty:
        return []
    new = folds[~folds["fold"].isin(store.done_folds())
                & (folds["fold"] <= config.folds * config.repeats)]
    epochs = theirs.read_table("epochs.csv")
    for record in new.to_dict("records"):
        rows = epochs[epochs["fold"] == record["fold"]].drop(columns="fold")
        store.add_fold(record, rows.to_dict("records"))
    copied = sorted(int(f) for f in new["fold"])
    if copied:
        note(store, source, folds=copied)
    return copied


def copy_test(source: Path, store: results.RunStore, config: RunConfig, data_sha256: str,
              epochs: int) -> bool:
    """Copy the source's final model's test into the run `store` when the source is the same
    run but for its repeats and its final model trained for `epochs` epochs too (the only way
    the final model depends on the folds); False, copying nothing, otherwise. test.json goes
    last, as RunStore.write_test writes it."""
    if same_run(config, data_sha256, source, any_repeats=True) is None:
        return False
    test = Path(source) / "test.json"
    if not test.exists() or json.loads(test.read_text()).get("final_epochs") != epochs:
        return False
    theirs = results.RunStore(Path(source).parent, Path(source).name)
    final = theirs.read_table("epochs.csv")
    final = final[final["fold"] == 0].drop(columns="fold") if not final.empty else final
    store.replace_epochs(0, final.to_dict("records"))
    for name in TEST_FILES:
        if (Path(source) / name).exists():
            shutil.copy2(Path(source) / name, store.path(name))
    note(store, source, test=True)
    shutil.copy2(test, store.path("test.json"))
    return True


def note(store: results.RunStore, source: Path, *, folds: list[int] = (),
         test: bool = False) -> None:
    """Record in the store's config.json what came from `source` (its folder under the
    results root, e.g. "ablate-resnet-torch-e6c1a808/arms/baseline")."""
    config = store.read_config()
    name = "/".join(Path(source).parts[-3:]) if Path(source).parent.name == "arms" \
        else Path(source).name
    reused = config.get("reused") or {"from": name, "folds": [], "test": False}
    reused["folds"] = sorted(set(reused["folds"]) | set(folds))
    reused["test"] = bool(reused["test"] or test)
    store.write_config({**config, "reused": reused})

