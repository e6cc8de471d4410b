"""--save-model: the final model as results/<run-id>/model.keras, made of Keras's own layers, so
that plain Keras loads it on the backend that trained it and on the other two, where this
package cannot be imported (the CI runs this file on each backend, so every saver-loader pair is
checked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import keras
import numpy as np
import pandas as pd
import pytest

from benchmark import data, models, results
from benchmark.models import export
from benchmark.models.block_max_pooling import BlockMaxPooling2D
from benchmark.models.fused_batch_norm import FusedBatchNormalization
from tests.conftest import run_cli
from tests.synthetic import make_images

BACKEND = keras.backend.backend()
BACKENDS = ("tensorflow", "jax", "torch")
# Run with `python -S` and only the installed packages on the path: the editable install's .pth
# (the finder that makes `benchmark` importable from anywhere) is never read, and the working
# directory is an empty folder, so this is Keras as a user without this package has it.
PLAIN_LOAD = """
import sys
try:
    import benchmark  # noqa: F401
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("benchmark is importable in the plain-Keras process")
import numpy as np, keras
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[3], np.asarray(model.predict(np.load(sys.argv[2]), verbose=0), "float32"))
assert not [name for name in sys.modules if name.split(".")[0] in ("benchmark", "tuners")]
"""


def predictions_on(backend: str, model, images, folder) -> np.ndarray:
    """The model file's predictions on the .npy `images` in a fresh plain-Keras process."""
    plain = folder / f"plain-{backend}"
    plain.mkdir()
    paths = sysconfig.get_paths()
    site = os.pathsep.join(dict.fromkeys((paths["purelib"], paths["platlib"])))
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": site}
    out = plain / "predictions.npy"
    done = subprocess.run([sys.executable, "-S", "-c", PLAIN_LOAD, str(model), str(images),
                           str(out)], cwd=plain, env=env, capture_output=True, text=True,
                          timeout=600)  # a cold import of a backend on a busy CI machine
    assert done.returncode == 0, f"{backend}: {done.stderr[-3000:]}"
    return np.load(out)


@pytest.mark.slow
def test_a_saved_model_loads_and_predicts_the_same_in_plain_keras_on_every_backend(tmp_path):
    # A tiny CNN has both of the suite's layers, batch norm after a conv and after a Dense.
    model = models.build("cnn", filters=(4, 8), dense_units=8)
    ours = {type(layer) for layer in model.layers}
    assert {FusedBatchNormalization, BlockMaxPooling2D} <= ours
    labels = np.arange(16) % 47
    images = make_images(labels)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, batch_size=8, epochs=1, verbose=0)  # moving statistics move
    store = results.RunStore(tmp_path, "run")
    store.dir.mkdir()
    path = store.save_model(model)
    np.save(tmp_path / "images.npy", images[:6])
    expected = np.asarray(model.predict(images[:6], verbose=0), "float32")
    for backend in BACKENDS:
        got = predictions_on(backend, path, tmp_path / "images.npy", tmp_path)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=backend)
    loaded = keras.saving.load_model(path)
    assert all(export.keras_class(layer) is type(layer) for layer in loaded.layers)
    assert loaded.compiled


def test_a_layer_with_no_keras_equivalent_is_refused():
    class Doubled(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2

    with pytest.raises(TypeError, match="no Keras equivalent"):
        export.keras_class(Doubled(name="doubled"))
    assert export.keras_class(FusedBatchNormalization()) is keras.layers.BatchNormalization
    assert export.keras_class(BlockMaxPooling2D(2)) is keras.layers.MaxPooling2D
    assert export.keras_class(keras.layers.Dense(2)) is keras.layers.Dense


@pytest.mark.slow
def test_cv_saves_a_model_that_reloads_on_every_backend(capsys, nist_dir, tmp_path):
    # The CNN's best preset trains with both of the suite's layers (fused batch norm, block
    # pooling); the file holds Keras's own, which a process without this package loads.
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
    probs = {b: predictions_on(b, path, tmp_path / "x_test.npy", tmp_path) for b in BACKENDS}
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
    assert all(export.keras_class(layer) is type(layer) for layer in model.layers)
    dataset = data.load("balanced", nist_dir)
    accuracy = np.mean(model.predict(dataset.x_test, verbose=0).argmax(1) == dataset.y_test)
    assert accuracy == pytest.approx(final["accuracy"])
    kept = (run / "model.keras").stat().st_mtime_ns
    code, _, err = run_cli(capsys, *argv)  # same best trial, model present: nothing retrained
    assert code == 0 and "the final model" not in err
    assert (run / "model.keras").stat().st_mtime_ns == kept
