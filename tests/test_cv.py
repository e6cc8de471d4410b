"""The CV runner, the training core and the results store on tiny synthetic NIST data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmark import cv, overrides, results, training
from benchmark.config import RunConfig, TrainConfig

FOLDS = 3


def small_config(**changed):
    sets = {"units": "16", **changed}
    return overrides.resolve("mlp", "best", sets, folds=FOLDS, seed=3, epochs=2)


def test_run_writes_every_table(nist_dataset, tmp_path):
    config = small_config()
    store = results.RunStore(tmp_path, "run")
    store.write_config({"run": config.to_dict(), "data": nist_dataset.fingerprint,
                        "backend": "any", "digest": config.digest()})
    row = cv.run(config, nist_dataset, store, stream=None)

    folds = store.read_table("folds.csv")
    assert list(folds["fold"]) == [1, 2, 3]
    assert set(results.FOLD_COLUMNS) <= set(folds.columns)
    assert folds["val_size"].sum() == len(nist_dataset.y_train)
    assert folds["val_accuracy"].between(0, 1).all()
    epochs = store.read_table("epochs.csv")
    assert not epochs.duplicated(["fold", "epoch"]).any()
    assert set(epochs["fold"]) == {0, 1, 2, 3}
    assert (epochs.groupby("fold").size().loc[[1, 2, 3]] == folds.set_index("fold")["epochs_run"]).all()

    test = json.loads(store.path("test.json").read_text())
    assert 0 <= test["accuracy"] <= 1 and np.isfinite(test["loss"])
    assert test["final_epochs"] == cv.final_epochs(folds)
    per_class = store.read_table("per_class.csv")
    assert len(per_class) == 47 and per_class["support"].sum() == len(nist_dataset.y_test)
    confusion = pd.read_csv(store.path("confusion.csv"), index_col=0)
    assert confusion.shape == (47, 47)
    assert confusion.to_numpy().sum() == len(nist_dataset.y_test)
    assert np.trace(confusion.to_numpy()) == per_class["correct"].sum()
    wrong = store.read_table("misclassified.csv")
    assert len(wrong) == test["misclassified"] == len(nist_dataset.y_test) - per_class["correct"].sum()
    with np.load(store.path("misclassified.npz"), allow_pickle=False) as arrays:
        assert arrays["images"].shape == (len(wrong), 28, 28)  # tiny data: every image kept
        assert (arrays["index"] == wrong["index"].to_numpy()).all()
        assert (arrays["images"] == nist_dataset.x_test[wrong["index"].to_numpy()]).all()
    assert (wrong["true"] != wrong["predicted"]).all()

    assert row["status"] == "complete" and row["folds_done"] == FOLDS
    index = pd.read_csv(tmp_path / "runs.csv")
    assert list(index["run_id"]) == ["run"]
    assert index.loc[0, "cv_mean"] == pytest.approx(folds["val_accuracy"].mean(), abs=1e-6)


def test_interrupted_run_resumes_without_repeating_a_fold(nist_dataset, tmp_path, monkeypatch):
    config = small_config()
    store = results.RunStore(tmp_path, "resume")
    store.write_config({"run": config.to_dict(), "data": nist_dataset.fingerprint})
    real_add = store.add_fold

    def add_then_stop(record, epochs):
        real_add(record, epochs)
        if record["fold"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(store, "add_fold", add_then_stop)
    with pytest.raises(KeyboardInterrupt):
        cv.run(config, nist_dataset, store, stream=None)
    assert store.done_folds() == {1, 2} and not store.test_done()
    first = store.read_table("folds.csv")

    trained = []
    real_fit = training.fit
    monkeypatch.setattr(cv, "fit", lambda *a, **k: trained.append(k.get("label")) or real_fit(*a, **k))
    monkeypatch.setattr(store, "add_fold", real_add)
    cv.run(config, nist_dataset, store, stream=None)
    assert trained == ["fold 3/3 ", "final "]
    folds = store.read_table("folds.csv")
    assert list(folds["fold"]) == [1, 2, 3]
    pd.testing.assert_frame_equal(folds.iloc[:2], first)
    with pytest.raises(RuntimeError, match="already stored"):
        store.add_fold({"fold": 1}, [])


def test_stored_images_are_the_most_confident_few_of_each_confusion(monkeypatch):
    monkeypatch.setattr(cv, "IMAGES_PER_PAIR", 2)
    monkeypatch.setattr(cv, "MAX_IMAGES", 5)
    table = pd.DataFrame({"true": [0, 0, 0, 1, 0, 2, 2, 3, 4],
                          "predicted": [1, 1, 1, 0, 2, 3, 3, 4, 0]})
    # The third 0 -> 1 is left out (two per pair), then the cap of five ends the list.
    assert cv.images_to_keep(table).tolist() == [0, 1, 3, 4, 5]


def test_same_seed_same_splits(nist_dataset):
    a = list(cv.make_splitter(FOLDS, 7).split(nist_dataset.x_train, nist_dataset.y_train))
    b = list(cv.make_splitter(FOLDS, 7).split(nist_dataset.x_train, nist_dataset.y_train))
    c = list(cv.make_splitter(FOLDS, 8).split(nist_dataset.x_train, nist_dataset.y_train))
    assert all((x[1] == y[1]).all() for x, y in zip(a, b, strict=True))
    assert any((x[1] != y[1]).any() for x, y in zip(a, c, strict=True))
    for _, val in a:  # stratified: every class in every held-out fold
        assert len(np.unique(nist_dataset.y_train[val])) == 47


def test_final_epochs_rule():
    assert cv.final_epochs(pd.DataFrame({"best_epoch": [3, 4, 4, 5, 9]})) == 4
    assert cv.final_epochs(pd.DataFrame({"best_epoch": [3, 4]})) == 4  # 3.5 rounds up
    assert cv.final_epochs(pd.DataFrame({"best_epoch": [1, 1]})) == 1


@pytest.mark.parametrize(("schedule", "expected"), [
    ("none", [0.1, 0.1, 0.1, 0.1]),
    ("step", [0.1, 0.1, 0.05, 0.05]),
    ("cosine", [0.1, 0.1 * (1 + np.cos(np.pi / 4)) / 2, 0.05, 0.1 * (1 + np.cos(3 * np.pi / 4)) / 2]),
])
def test_schedules_follow_pytorch_semantics(schedule, expected):
    cfg = TrainConfig(learning_rate=0.1, schedule=schedule, step_size=2, gamma=0.5)
    assert [training.learning_rate_at(cfg, e, 4) for e in range(4)] == pytest.approx(expected)


def test_schedule_reaches_the_optimizer(nist_dataset):
    config = small_config(schedule="step", step_size="1", gamma="0.5", learning_rate="0.2")
    model = cv.new_model(config, 0)
    result = training.fit(model, config.training, nist_dataset.x_train, nist_dataset.y_train,
                          (nist_dataset.x_test, nist_dataset.y_test), epochs=3, stream=None)
    assert [r["learning_rate"] for r in result.history] == pytest.approx([0.2, 0.1, 0.05])
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(result.history[0])


def test_plateau_schedule_without_validation_monitors_loss(nist_dataset):
    config = small_config(schedule="plateau", optimizer="rmsprop")
    model = cv.new_model(config, 0)
    result = training.fit(model, config.training, nist_dataset.x_train, nist_dataset.y_train,
                          epochs=2, stream=None)
    assert result.epochs_run == 2 and result.best_epoch == 2


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_optimizers_and_augmentation_train(nist_dataset, optimizer):
    config = small_config(optimizer=optimizer, augment="true", momentum="0.9")
    model = cv.new_model(config, 0)
    assert type(model.optimizer).__name__.lower() == optimizer
    result = training.fit(model, config.training, nist_dataset.x_train, nist_dataset.y_train,
                          epochs=1, stream=None)
    assert np.isfinite(result.history[0]["loss"])
    probs = training.predict(model, nist_dataset.x_test)
    assert probs.shape == (len(nist_dataset.y_test), 47) and np.isfinite(probs).all()


def test_mixed_bfloat16_trains_in_bf16_with_float32_probabilities(nist_dataset):
    import keras

    config = overrides.resolve("cnn", "best", {"filters": "4,8,8", "dense_units": "8"}, folds=FOLDS,
                             seed=3, epochs=1, precision="mixed_bfloat16")
    model = cv.new_model(config, 0)
    assert model.get_layer("logits").compute_dtype == "bfloat16"
    assert model.get_layer("logits").variable_dtype == "float32"
    training.fit(model, config.training, nist_dataset.x_train, nist_dataset.y_train, epochs=1, stream=None)
    probs = training.predict(model, nist_dataset.x_test)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-3)
    # The next model of the process is float32 again when its configuration says so.
    assert cv.new_model(small_config(), 0).get_layer("logits").compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_float32_keeps_the_digests_of_runs_made_before_precision_was_a_setting():
    """A committed run's folder name ends in its digest; the code must still compute it."""
    from pathlib import Path

    from benchmark.config import RunConfig, train_config_from_dict

    stored = json.loads((Path(__file__).parents[1] / "results" / "mlp-best-tensorflow-b9f69f00"
                         / "config.json").read_text())
    assert "precision" not in stored["run"]["training"]
    run = {**stored["run"], "training": train_config_from_dict(stored["run"]["training"])}
    config = RunConfig(**run)
    assert config.training.precision == "float32"
    assert config.digest(stored["data"]["sha256"]) == stored["digest"] == "b9f69f00"
    bf16 = RunConfig(**{**run, "training": TrainConfig(**{
        **json.loads(json.dumps(run["training"].__dict__)), "precision": "mixed_bfloat16"})})
    assert bf16.digest(stored["data"]["sha256"]) != stored["digest"]


def test_every_committed_run_keeps_its_digest():
    """The digest's one rule (config.UNRECORDED_BEFORE) keeps every stored cv run and ablation
    arm resumable, whatever defaults changed since (the presets' `init` among them)."""
    from pathlib import Path

    from benchmark.config import RunConfig, train_config_from_dict

    root = Path(__file__).parents[1] / "results"
    checked = 0
    for path in sorted([*root.glob("*/config.json"), *root.glob("*/arms/*/config.json")]):
        stored = json.loads(path.read_text())
        if stored.get("kind") != "cv" or "run" not in stored or "digest" not in stored:
            continue
        run = {**stored["run"], "training": train_config_from_dict(stored["run"]["training"])}
        assert RunConfig(**run).digest(stored["data"]["sha256"]) == stored["digest"], path
        checked += 1
    assert checked >= 50


def test_presets_start_as_the_study_did_and_keras_init_is_one_setting_away():
    """The study's PyTorch initialisation in every preset; `--set init=keras` gives the
    configuration, and so the digest, that runs made before the change recorded."""
    from benchmark import architectures

    for arch in architectures.names():
        for preset in architectures.get(arch).presets:
            assert overrides.resolve(arch, preset).model["init"] == "torch"
    keras_init = overrides.resolve("mlp", "best", {"init": "keras"}, folds=5, seed=0)
    values = keras_init.to_dict()
    del values["model"]["init"]  # a run stored before `init` existed
    older = RunConfig(**{**values, "training": keras_init.training})
    assert keras_init.digest() == older.digest()
    assert overrides.resolve("mlp", "best", folds=5, seed=0).digest() != keras_init.digest()


def test_store_refuses_paths_outside_results(tmp_path):
    for bad in ["../x", "a/b", "..", "", ".hidden"]:
        with pytest.raises(ValueError):
            results.RunStore(tmp_path, bad)


def test_index_skips_a_broken_run(nist_dataset, tmp_path):
    good = results.RunStore(tmp_path, "good")
    good.write_config({"run": {"arch": "mlp"}, "data": nist_dataset.fingerprint})
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    table = results.update_index(tmp_path)
    assert list(table["run_id"]) == ["good"] and table.loc[0, "status"] == "started"


@pytest.mark.slow
@pytest.mark.real_data
def test_the_quick_cnn_run_is_not_at_chance_with_the_studys_initialisation(capsys, tmp_path):
    """Issue 27's first run: the CNN best preset, 2 folds x 3 epochs of 3,000 real images.
    With Keras's initialisation its folds validated at 0.02 to 0.13 (chance: 0.021), inference
    mode lagging a model that trained to 0.79; with the study's (the presets' now), 0.24 to 0.43
    on each backend, and the final model tests at about 0.75."""
    from pathlib import Path

    from tests.conftest import real_sample_dir, run_cli

    sample = real_sample_dir()
    if sample is None:
        pytest.skip("needs the real EMNIST Balanced sample (../shared/data or $EMNIST_BENCH_DATA)")
    code, out, err = run_cli(capsys, "cv", "--arch", "cnn", "--preset", "best", "--folds", "2",
                             "--epochs", "3", "--limit", "3000", "--data-dir", str(sample),
                             "--results-dir", str(tmp_path), "--quiet")
    assert code == 0, err
    (run,) = Path(tmp_path).glob("cnn-best-*")
    assert json.loads((run / "config.json").read_text())["run"]["model"]["init"] == "torch"
    folds = pd.read_csv(run / "folds.csv")
    assert (folds["val_accuracy"] > 0.15).all(), folds["val_accuracy"].tolist()
    assert "collapsed" not in err
