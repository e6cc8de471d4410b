"""Runs that learned nothing are named as such (results.collapsed): chance-level accuracy or a
loss that exploded without becoming NaN, in runs.csv, on the console, in the ablation table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark import results, runs

pytestmark = pytest.mark.any_backend  # bookkeeping only


def test_the_rule_by_hand():
    chance = 1 / 47
    assert results.collapsed(0.053, 2.0, 47) == "collapsed: chance level"  # MLP without BN
    assert results.collapsed(0.072, 3.5, 47) == ""  # a weak ResNet, 3.4x chance: not flagged
    assert results.collapsed(3 * chance - 1e-9, 1.0, 47) == "collapsed: chance level"
    assert results.collapsed(3 * chance, 1.0, 47) == ""
    # --set learning_rate=1e9: loss near 5e9 at chance accuracy, and no NaN.
    assert results.collapsed(0.02, 5e9, 47) == "collapsed: loss exploded"
    assert results.collapsed(0.8, 10 * math.log(47) + 1, 47) == "collapsed: loss exploded"
    assert results.collapsed(0.8, 0.7, 47) == ""
    assert results.collapsed(None, None, None) == "" and results.collapsed(0.01, None, 0) == ""


def write_run(root, name, accuracies, losses):
    store = results.RunStore(root, name)
    store.write_config({"run": {"arch": "mlp", "folds": len(accuracies)},
                        "data": {"n_classes": 47}})
    for fold, (acc, loss) in enumerate(zip(accuracies, losses, strict=True), start=1):
        store.add_fold({"fold": fold, "val_accuracy": acc, "val_loss": loss, "best_epoch": 1,
                        "epochs_run": 1, "train_size": 10, "val_size": 5, "seconds": 1.0},
                       [{"epoch": 1, "loss": loss, "accuracy": acc}])
    return store


def test_runs_csv_and_the_console_name_a_collapsed_run(tmp_path, capsys):
    write_run(tmp_path, "fine", [0.80, 0.82], [0.6, 0.5])
    write_run(tmp_path, "chance", [0.05, 0.04], [3.8, 3.9])
    write_run(tmp_path, "exploded", [0.02, 0.03], [4.8e9, 5.1e9])
    index = results.update_index(tmp_path).set_index("run_id")["collapsed"].fillna("")
    assert index.to_dict() == {"fine": "", "chance": "collapsed: chance level",
                               "exploded": "collapsed: loss exploded"}
    runs.warn_collapsed("chance", {"collapsed": "collapsed: chance level", "cv_mean": 0.045})
    runs.warn_collapsed("fine", {"collapsed": "", "cv_mean": 0.81})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("emnist-bench: warning: chance collapsed")
    assert pd.read_csv(tmp_path / "runs.csv").columns.tolist() == results.INDEX_COLUMNS
