"""Runs that collapsed are named as such, with what happened (results.collapsed): "did not learn"
(training accuracy at chance too), "inference mode" (it learned in training mode but predicts at
chance in inference mode) or "loss exploded", in runs.csv, on the console and in the ablation
table; runs.csv rows written before the kinds were told apart still read."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmark import commands, readers, results

pytestmark = pytest.mark.any_backend  # bookkeeping only


def test_the_rule_by_hand():
    chance = 1 / 47
    # The MLP without batch norm: training accuracy at chance too.
    assert results.collapsed(0.053, 2.0, 47, train_accuracy=0.047) == results.DID_NOT_LEARN
    # The quick CNN pilot: 0.70 in training mode, 0.048 in inference mode.
    assert results.collapsed(0.048, 1.5, 47, train_accuracy=0.70) == results.INFERENCE_MODE
    assert results.collapsed(0.053, 2.0, 47) == results.CHANCE_LEVEL  # no training accuracy
    assert results.collapsed(0.072, 3.5, 47, train_accuracy=0.70) == ""  # 3.4x chance: weak
    assert results.collapsed(3 * chance - 1e-9, 1.0, 47, 0.5) == results.INFERENCE_MODE
    assert results.collapsed(3 * chance, 1.0, 47, 0.01) == ""
    # --set learning_rate=1e9: loss near 5e9 at chance accuracy, and no NaN.
    assert results.collapsed(0.02, 5e9, 47, 0.02) == results.LOSS_EXPLODED
    assert results.collapsed(0.8, 10 * math.log(47) + 1, 47) == results.LOSS_EXPLODED
    assert results.collapsed(0.8, 0.7, 47, 0.9) == ""
    assert results.collapsed(None, None, None) == "" and results.collapsed(0.01, None, 0) == ""


def write_run(root, name, accuracies, losses, train=None):
    """A run folder with one epoch per fold: validation `accuracies`, training `losses` and
    training accuracies `train` (the validation ones when not given)."""
    store = results.RunStore(root, name)
    store.write_config({"run": {"arch": "mlp", "folds": len(accuracies)},
                        "data": {"n_classes": 47}})
    train = train or accuracies
    for fold, (acc, loss, fit) in enumerate(zip(accuracies, losses, train, strict=True), start=1):
        store.add_fold({"fold": fold, "val_accuracy": acc, "val_loss": loss, "best_epoch": 1,
                        "epochs_run": 1, "train_size": 10, "val_size": 5, "seconds": 1.0},
                       [{"epoch": 1, "loss": loss, "accuracy": fit, "val_accuracy": acc}])
    return store


def test_runs_csv_says_what_happened(tmp_path):
    write_run(tmp_path, "fine", [0.80, 0.82], [0.6, 0.5])
    write_run(tmp_path, "chance", [0.05, 0.04], [3.8, 3.9])
    write_run(tmp_path, "inference", [0.05, 0.04], [1.4, 1.5], train=[0.70, 0.69])
    write_run(tmp_path, "exploded", [0.02, 0.03], [4.8e9, 5.1e9])
    # One lucky fold out of three is not a model that works: the median fold decides.
    write_run(tmp_path, "one-lucky-fold", [0.055, 0.130, 0.030], [1.2, 1.1, 1.1],
              train=[0.69, 0.70, 0.71])
    index = results.update_index(tmp_path).set_index("run_id")
    assert index["collapsed"].fillna("").to_dict() == {
        "fine": "", "chance": results.DID_NOT_LEARN, "inference": results.INFERENCE_MODE,
        "exploded": results.LOSS_EXPLODED, "one-lucky-fold": results.INFERENCE_MODE}
    assert index.loc["inference", "train_accuracy"] == pytest.approx(0.695)
    assert pd.read_csv(tmp_path / "runs.csv").columns.tolist() == results.INDEX_COLUMNS


def test_the_warning_gives_the_advice_of_its_kind(tmp_path):
    inference = {"collapsed": results.INFERENCE_MODE, "cv_mean": 0.0343, "train_accuracy": 0.79}
    line = results.collapse_warning("cnn-best-tensorflow-x", inference)
    assert line.startswith("emnist-bench: warning: cnn-best-tensorflow-x collapsed: inference "
                           "mode (CV 0.0343, training accuracy 0.7900): ")
    assert "running statistics" in line and "--set init=torch" in line
    assert "\n" not in line and "factor" not in line
    stuck = results.collapse_warning("x", {"collapsed": results.DID_NOT_LEARN, "cv_mean": 0.05,
                                           "train_accuracy": 0.04})
    assert "did not learn" in stuck and "learning rate" in stuck and "init" not in stuck
    arm = results.collapse_warning("arm batch_norm-False", {"collapsed": results.DID_NOT_LEARN},
                                   factor="batch_norm")
    assert arm.endswith("its delta says nothing about batch_norm alone")
    old = results.collapse_warning("x", {"collapsed": "collapsed: chance level", "cv_mean": 0.05})
    assert "learned nothing" in old  # a row written before the kinds were told apart
    assert results.collapse_warning("x", {"collapsed": "", "cv_mean": 0.81}) == ""
    assert results.collapse_warning("x", {"collapsed": float("nan")}) == ""  # an empty cell


def test_a_plain_cv_run_is_never_told_about_a_factor(capsys):
    """The console's warning after `emnist-bench cv` (commands.warn_collapsed): what happened and
    the advice for it, never "the factor it changed" (an ablation arm's wording)."""
    commands.warn_collapsed("cnn-best", {"collapsed": results.INFERENCE_MODE, "cv_mean": 0.0343,
                                     "train_accuracy": 0.79})
    commands.warn_collapsed("fine", {"collapsed": "", "cv_mean": 0.81})
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("emnist-bench: warning: cnn-best collapsed")
    assert "factor" not in err[0] and "inference mode" in err[0]


def test_old_wording_still_reads_as_collapsed(tmp_path):
    """runs.csv and ablations.csv rows from before the kinds (\"collapsed: chance level\") are
    still collapsed to every reader; an arm with a folder is diagnosed afresh."""
    for flag in ("collapsed: chance level", "collapsed: loss exploded", results.DID_NOT_LEARN,
                 results.INFERENCE_MODE):
        assert results.is_collapsed(flag)
    for empty in ("", None, float("nan")):
        assert not results.is_collapsed(empty)
    ablation = tmp_path / "ablate-mlp"
    write_run(ablation / "arms", "batch_norm-False", [0.05, 0.04], [3.8, 3.9])
    pd.DataFrame([{"factor": "batch_norm", "value": "False", "baseline": False,
                   "arm": "batch_norm-False", "collapsed": "collapsed: chance level"}]).to_csv(
        ablation / "ablations.csv", index=False)
    assert readers.arm_collapsed(ablation, "batch_norm-False") == results.DID_NOT_LEARN
