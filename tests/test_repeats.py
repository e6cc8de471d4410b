"""--repeats: R repetitions of stratified K-fold (RepeatedStratifiedKFold), numbered 1 .. R x K,
resumable fold by fold like one K-fold; R = 1 keeps every earlier run's folds and digest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from benchmark import cv, overrides
from tests.conftest import run_cli

pytestmark = pytest.mark.any_backend  # splits and bookkeeping; training is tested elsewhere


def test_one_repeat_is_the_old_k_fold_and_more_repeats_reshuffle():
    y = np.random.default_rng(0).integers(0, 5, 300)
    old = list(StratifiedKFold(5, shuffle=True, random_state=3).split(np.zeros(300), y))
    new = list(cv.make_splitter(5, 3).split(np.zeros(300), y))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(old, new, strict=True))
    three = list(cv.make_splitter(5, 3, repeats=3).split(np.zeros(300), y))
    assert len(three) == 15
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(old, three[:5], strict=True))
    for r in (1, 2):  # each repetition covers every image once, in other folds
        folds = three[5 * r:5 * r + 5]
        assert sorted(np.concatenate([f[1] for f in folds]).tolist()) == list(range(300))
        assert not np.array_equal(folds[0][1], old[0][1])


def test_repeats_one_keeps_the_digest_and_more_change_it():
    one = overrides.resolve("mlp", "best", folds=5, seed=0)
    assert one.repeats == 1  # the committed runs' digests are checked in test_cv.py
    assert overrides.resolve("mlp", "best", folds=5, seed=0, repeats=1).digest() == one.digest()
    assert overrides.resolve("mlp", "best", folds=5, seed=0, repeats=3).digest() != one.digest()


def test_cv_with_repeats_writes_r_times_k_folds_and_resumes(capsys, nist_dir, tmp_path):
    argv = ["cv", "--arch", "mlp", "--set", "units=8", "--folds", "2", "--repeats", "2",
            "--epochs", "1", "--data-dir", str(nist_dir), "--results-dir", str(tmp_path),
            "--run-id", "rep"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert "2 folds x 2 repeats" in err and "fold 4/4" in err
    folds = pd.read_csv(tmp_path / "rep" / "folds.csv")
    assert folds["fold"].tolist() == [1, 2, 3, 4]
    config = json.loads((tmp_path / "rep" / "config.json").read_text())
    assert config["run"]["repeats"] == 2
    assert pd.read_csv(tmp_path / "runs.csv").loc[0, "repeats"] == 2
    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and "already complete" in err


@pytest.mark.parametrize("argv, message", [
    (["cv", "--arch", "mlp", "--repeats", "0"], "--repeats must be at least 1"),
    (["tune", "--arch", "mlp", "--folds", "1", "--repeats", "2"], "--repeats needs K-fold"),
])
def test_bad_repeats_are_one_line(capsys, nist_dir, tmp_path, argv, message):
    code, _, err = run_cli(capsys, *argv, "--data-dir", str(nist_dir),
                           "--results-dir", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
