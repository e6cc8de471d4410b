"""Comparisons read from stored folds: backends paired fold by fold (benchmark/parity.py) and
a search's best trial against the best preset (benchmark/best_trials.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmark import best_trials, parity, readers, selection

pytestmark = pytest.mark.any_backend  # reads stored tables only


def write_run(root, run_id, accuracies, backend="jax", preset="best", digest="d1",
              init="torch", **extra):
    """A runs-table row (as readers.scan gives it) with its folds.csv and config.json on disk
    (`init` None: a run from before the setting was recorded)."""
    folder = root / run_id
    folder.mkdir(parents=True)
    model = {} if init is None else {"init": init}
    (folder / "config.json").write_text(json.dumps({"run": {"model": model}}))
    pd.DataFrame({"fold": range(1, len(accuracies) + 1), "val_accuracy": accuracies}).to_csv(
        folder / "folds.csv", index=False)
    row = {"run_id": run_id, "arch": "mlp", "preset": preset, "overrides": "{}",
           "backend": backend, "status": "complete", "collapsed": "", "official": False,
           "n_train": 20000, "folds": 10, "repeats": 1, "folds_done": len(accuracies),
           "epochs": 8, "limit": 20000, "precision": "float32", "seed": 0,
           "created": "2026-12-07", "digest": digest, "data": "bymerge (20,000)",
           "run_dir": str(folder), "cv_mean": float(np.mean(accuracies)), "cv_std": 0.0,
           "test_accuracy": float(np.mean(accuracies)), "seconds": 60.0}
    return {**row, **extra}


def test_backends_equivalent_within_the_rope_and_one_that_is_not(tmp_path):
    rng = np.random.default_rng(0)
    base = 0.80 + rng.normal(0, 0.01, 10)
    runs = pd.DataFrame([
        write_run(tmp_path, "tf", base + rng.normal(0, 0.0005, 10), "tensorflow", seconds=120),
        write_run(tmp_path, "jax", base + rng.normal(0, 0.0005, 10), "jax", seconds=60),
        write_run(tmp_path, "torch", base - 0.03 + rng.normal(0, 0.0005, 10), "torch"),
        # another configuration on one backend only: no parity to test
        write_run(tmp_path, "alone", base, "jax", digest="d2")])
    # A configuration with more images, on two backends: its pair is listed first.
    bigger = [write_run(tmp_path, f"big-{b}", base + rng.normal(0, 0.0005, 10), b, digest="d3",
                        n_train=80000) for b in ("jax", "torch")]
    assert parity.pairs(pd.concat([runs, pd.DataFrame(bigger)]))["digest"].tolist() == [
        "d3", "d1", "d1", "d1"]
    pairs = parity.pairs(runs).set_index(["a", "b"])
    assert len(pairs) == 3  # jax-tensorflow, jax-torch, tensorflow-torch
    assert pairs.loc[("jax", "tensorflow"), "kind"] == "equivalent"
    assert pairs.loc[("jax", "torch"), "kind"] == "better"
    assert pairs.loc[("jax", "torch"), "delta"] == pytest.approx(0.03, abs=0.002)
    summary = parity.summary(parity.pairs(runs)).iloc[0]
    assert "jax vs torch: better" in summary["verdict"]
    assert summary["minutes"].startswith("jax 1.0 (1.0x)") and "tensorflow 2.0 (2.0x)" in (
        summary["minutes"])
    # Three backends all within the rope of each other: equivalent across all three.
    close = write_run(tmp_path, "torch-close", base + rng.normal(0, 0.0005, 10), "torch")
    same = pd.concat([runs.iloc[:2], pd.DataFrame([close])], ignore_index=True)
    assert parity.summary(parity.pairs(same)).iloc[0]["verdict"] == (
        "equivalent across jax, tensorflow, torch")


def test_an_undecided_pair_gets_the_budget_that_would_decide_it(tmp_path):
    rng = np.random.default_rng(1)
    runs = pd.DataFrame([write_run(tmp_path, name, 0.8 + rng.normal(0, 0.01, 3), backend,
                                   folds=3) for name, backend in (("a", "jax"), ("b", "torch"))])
    pair = parity.pairs(runs).iloc[0]
    assert pair["kind"] == "undecided"
    assert "folds x" in pair["to_decide"] or pair["to_decide"].startswith("not reachable")


def write_search(root, name, best_values, score, tuner="random"):
    folder = root / name
    folder.mkdir(parents=True)
    space = {"units": {}, "optimizer": {}}
    (folder / "config.json").write_text(json.dumps({"kind": "tune", "space": space}))
    pd.DataFrame([{"trial_id": "000", "status": "completed", "score": score, **best_values},
                  {"trial_id": "001", "status": "completed", "score": score - 0.1,
                   "units": 64, "optimizer": "adam"}]).to_csv(folder / "trials.csv", index=False)
    return {"id": name, "arch": "mlp", "tuner": tuner, "epochs": 10, "created": name}


def test_each_search_is_paired_with_the_preset_through_the_run_of_its_best_trial(tmp_path):
    best = {"units": 128, "optimizer": "sgd"}
    searches = [write_search(tmp_path, "tune-a", best, 0.84),
                write_search(tmp_path, "tune-b", best, 0.84, "bayesian"),
                write_search(tmp_path, "tune-c", {"units": 256, "optimizer": "sgd"}, 0.85)]
    preset = write_run(tmp_path, "mlp-best", [0.80, 0.81, 0.80, 0.79, 0.80] * 2)
    trial = write_run(tmp_path, "mlp-trial-a", [0.81, 0.82, 0.81, 0.80, 0.815] * 2,
                      preset="trial:tune-a/000", digest="d9")
    other_budget = write_run(tmp_path, "mlp-trial-c", [0.9] * 10, preset="trial:tune-c/000",
                             digest="d8", epochs=3)

    def against(*runs):
        catalog = selection.annotate(readers.Catalog(
            root=str(tmp_path), exists=True, runs=pd.DataFrame(runs), searches=searches))
        return best_trials.against_preset(catalog).set_index("search")

    table = against(preset, trial, other_budget)
    # tune-b found the same configuration as tune-a: the one trial run answers for both.
    assert table.loc["tune-a", "trial_run"] == table.loc["tune-b", "trial_run"] == "mlp-trial-a"
    assert table.loc["tune-a", "preset_run"] == "mlp-best"
    assert table.loc["tune-a", "delta"] == pytest.approx(0.011)
    assert table.loc["tune-a", "kind"] == "better"
    # A main run from before `init` was recorded (Keras's initialisers) is not the trial's
    # pair where a run of the preset as it is now (init=torch) exists on the same folds.
    old = dict(preset, run_id="mlp-best-keras", created="2026-12-08", cv_mean=0.5,
               run_dir=str(write_run(tmp_path, "mlp-best-keras", [0.5] * 10, init=None)["run_dir"]))
    table = against(old, trial, other_budget)
    assert table.loc["tune-a", "preset_run"] == "mlp-best-keras"  # no other: the main run
    assert table.loc["tune-a", "preset_init"] == "keras"
    table = against(old, preset, trial, other_budget)  # the newer `old` is the main run
    assert selection.main_run(selection.annotate(readers.Catalog(
        root=str(tmp_path), exists=True, runs=pd.DataFrame([old, preset]))), "mlp", "best")[
        "run_id"] == "mlp-best-keras"
    assert table.loc["tune-a", "preset_run"] == "mlp-best"
    assert table.loc["tune-a", "preset_init"] == table.loc["tune-a", "trial_init"] == "torch"
    # tune-c's best was only trained at another budget: not paired, the command to pair it.
    assert pd.isna(table.loc["tune-c", "trial_run"])
    assert table.loc["tune-c", "command"] == (
        "emnist-bench cv --from-trial tune-c:000 --folds 10 --repeats 1 --epochs 8 "
        "--backend jax")
