"""--save-model: the final model as results/<run-id>/model.keras, reloadable with Keras on the
backend that trained it and on the other two (the CI runs this file on each backend, so every
saver-loader pair is checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from benchmark import data
from tests.conftest import REPO, run_cli

BACKEND = keras.backend.backend()
LOAD = """
import sys, numpy as np, keras
import benchmark.models  # registers the suite's custom layers
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[3], np.asarray(model.predict(np.load(sys.argv[2]), verbose=0), "float32"))
"""


def predictions_on(backend: str, model: str, images: str, out) -> np.ndarray:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", LOAD, model, images, str(out)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(out)


@pytest.mark.slow
def test_cv_saves_a_model_that_reloads_on_every_backend(capsys, nist_dir, tmp_path):
    # The CNN's best preset uses both custom layers (fused batch norm, block pooling).
    code, _, err = run_cli(capsys, "cv", "--arch", "cnn", "--preset", "best", "--folds", "2",
                           "--epochs", "1", "--precision", "float32", "--save-model",
                           "--data-dir", str(nist_dir), "--results-dir", str(tmp_path / "r"),
                           "--run-id", "kept")
    assert code == 0, err
    run = tmp_path / "r" / "kept"
    path = run / "model.keras"
    assert path.is_file() and not list(run.glob(".partial-model*"))
    test = data.load("balanced", nist_dir).x_test
    np.save(tmp_path / "x_test.npy", test)
    probs = {b: predictions_on(b, str(path), str(tmp_path / "x_test.npy"), tmp_path / f"{b}.npy")
             for b in ("tensorflow", "jax", "torch")}
    y_test = data.load("balanced", nist_dir).y_test
    accuracy = float(np.mean(probs[BACKEND].argmax(1) == y_test))
    assert accuracy == pytest.approx(json.loads((run / "test.json").read_text())["accuracy"])
    for backend, p in probs.items():
        np.testing.assert_allclose(p, probs[BACKEND], atol=1e-4, err_msg=backend)


@pytest.mark.any_backend
def test_tune_saves_its_best_trial_once(capsys, nist_dir, tmp_path):
    argv = ["tune", "--arch", "mlp", "--max-trials", "2", "--folds", "2", "--epochs", "1",
            "--save-model", "--data-dir", str(nist_dir), "--results-dir", str(tmp_path),
            "--run-id", "search"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    run = tmp_path / "search"
    final = json.loads((run / "final.json").read_text())
    trials = pd.read_csv(run / "trials.csv", dtype={"trial_id": str})
    best = trials.sort_values("score", ascending=False).iloc[0]
    assert final["trial_id"] == best["trial_id"] and f"best trial {final['trial_id']}" in out
    folds = pd.read_csv(run / "trial_folds.csv", dtype={"trial_id": str})
    best_epochs = folds[folds["trial_id"] == final["trial_id"]]["best_epoch"]
    assert final["final_epochs"] == int(np.ceil(np.median(best_epochs)))
    model = keras.saving.load_model(run / "model.keras")
    dataset = data.load("balanced", nist_dir)
    accuracy = np.mean(model.predict(dataset.x_test, verbose=0).argmax(1) == dataset.y_test)
    assert accuracy == pytest.approx(final["accuracy"])
    kept = (run / "model.keras").stat().st_mtime_ns
    code, _, err = run_cli(capsys, *argv)  # same best trial, model present: nothing retrained
    assert code == 0 and "the final model" not in err
    assert (run / "model.keras").stat().st_mtime_ns == kept
