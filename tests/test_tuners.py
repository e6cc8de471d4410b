"""Search spaces, HyperModels, the CV-scored search, the ablation and their commands."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import sys

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest

from benchmark import ablation, cv, models, overrides, results, training
from tests.conftest import run_cli
from tuners import search, spaces
from tuners.hypermodels import EmnistHyperModel

ARCHS = ["mlp", "cnn", "resnet"]

# The study's search spaces (benchmark/STUDY.md, "Search spaces"), transcribed independently of
# tuners/spaces.py.
STUDY_SPACES = {
    "mlp": {"hidden_layers": [3, 4, 5], "units": [32, 64, 128],
            "schedule": ["none", "step", "plateau"], "activation": ["relu", "elu", "leaky_relu"],
            "optimizer": ["adam", "sgd", "rmsprop"], "batch_norm": [True, False],
            "regularization": ["l1", "l2", "none"], "dropout": [True, False],
            "augment": [True, False]},
    "cnn": {"channels": [[32, 64], [32, 64, 128]], "kernels_2_layers": [[3, 3], [5, 3]],
            "kernels_3_layers": [[3, 3, 3], [5, 5, 3], [5, 3, 3]],
            "schedule": ["cosine", "step"], "activation": ["relu", "elu", "leaky_relu"],
            "optimizer": ["adam", "sgd", "rmsprop"], "batch_norm": [True, False],
            "regularization": ["l1", "l2", "none"], "dropout": [0.5, 0.0]},
    "resnet": {"blocks": [[2, 2, 2], [3, 3, 3], [1, 2, 3]],
               "schedule": ["cosine", "none", "step", "plateau"],
               "activation": ["leaky_relu", "relu", "elu"], "optimizer": ["adam", "sgd", "rmsprop"],
               "batch_norm": [True, False], "regularization": ["l1", "l2", "none"],
               "dropout": [True, False], "augment": [True, False]},
}


@pytest.mark.parametrize("arch", ARCHS)
def test_space_is_the_studys(arch):
    described = {name: sorted(map(json.dumps, info["values"]))
                 for name, info in spaces.describe(arch).items()}
    assert described == {name: sorted(map(json.dumps, values))
                         for name, values in STUDY_SPACES[arch].items()}


@pytest.mark.parametrize("arch", ARCHS)
def test_space_names_read_from_the_source_are_the_spaces(arch):
    """`--factors` is checked against the space's source before Keras is imported: the names
    must be those the space registers when it runs, in its order."""
    assert spaces.names(arch) == list(spaces.describe(arch))


def computed_space(hp):
    return {name: hp.Choice(name, [1, 2], default=1) for name in ("units", "hidden_layers")}


def delegating_space(hp):
    return computed_space(hp)


def literal_space(hp):
    units = hp.Choice("units", [64, 128], default=128)
    with hp.conditional_scope("units", [64]):
        hp.Boolean(name="augment", default=False)
    return {"units": units}


def test_space_names_come_from_the_source_or_are_left_for_later(monkeypatch):
    from benchmark import architectures

    monkeypatch.setattr(architectures, "_REGISTRY", dict(architectures._REGISTRY))
    mlp = architectures.get("mlp")
    for name in ("computed", "delegating", "literal"):
        architectures.register(dataclasses.replace(mlp, name=name,
                                                   space=f"{__name__}:{name}_space"))
    assert spaces.names("literal") == ["units", "augment"]
    with pytest.raises(ValueError, match="'colour' is not a factor of the literal space"):
        spaces.check_factors("literal", ["units", "colour"])
    for name in ("computed", "delegating"):  # only running the space tells: checked then
        assert spaces.names(name) is None
        spaces.check_factors(name, ["colour"])
        with pytest.raises(ValueError, match=f"'colour' is not a factor of the {name} space"):
            spaces.alternatives(name, ["colour"])


@pytest.mark.parametrize("arch", ARCHS)
def test_default_hyperparameters_build_the_baseline(arch):
    base = overrides.resolve(arch, "baseline")
    config = EmnistHyperModel(base).config(keras_tuner.HyperParameters())
    assert config.model == base.model
    assert config.training == base.training


def test_cnn_every_channel_kernel_combination_builds():
    combos = 0
    for channels in ["32,64", "32,64,128"]:
        key = "kernels_2_layers" if channels == "32,64" else "kernels_3_layers"
        for kernels in STUDY_SPACES["cnn"][key]:
            kernels = ",".join(map(str, kernels))
            settings = spaces.settings("cnn", {"channels": channels, key: kernels})
            assert len(settings["kernels"]) == len(settings["filters"])
            models.build("cnn", **{k: v for k, v in settings.items()
                                   if k in models.defaults("cnn")})
            combos += 1
    assert combos == 5


@pytest.mark.parametrize("layers, dropout", itertools.product([3, 4, 5], [True, False]))
def test_mlp_dropout_follows_the_depth(layers, dropout):
    settings = spaces.settings("mlp", {"hidden_layers": layers, "dropout": dropout})
    assert len(settings["dropout"]) == layers
    assert settings["dropout"][-1] == 0.0
    assert all(r == (0.25 if dropout else 0.0) for r in settings["dropout"][:-1])
    models.build("mlp", **{k: v for k, v in settings.items() if k in models.defaults("mlp")})


@pytest.mark.parametrize("blocks", ["2,2,2", "3,3,3", "1,2,3"])
def test_resnet_blocks_build(blocks):
    settings = spaces.settings("resnet", {"blocks": blocks})
    model = models.build("resnet", **{k: v for k, v in settings.items()
                                      if k in models.defaults("resnet")})
    assert model.output.shape == (None, 47)


def test_settings_refuse_an_unknown_name():
    with pytest.raises(ValueError, match="not a hyperparameter"):
        spaces.settings("mlp", {"colour": "blue"})


def test_alternatives_cover_every_other_value_once():
    arms = spaces.alternatives("mlp")
    expected = sum(len(v) - 1 for v in STUDY_SPACES["mlp"].values())
    assert len(arms) == expected
    assert ("activation", "elu", {"activation": "elu"}) in arms
    cnn = spaces.alternatives("cnn", ["kernels_3_layers"])
    assert [values for _, _, values in cnn] == [
        {"channels": "32,64,128", "kernels_3_layers": "5,5,3"},
        {"channels": "32,64,128", "kernels_3_layers": "5,3,3"}]
    with pytest.raises(ValueError, match="not a factor"):
        spaces.alternatives("cnn", ["colour"])


@pytest.mark.parametrize("arch", ["mlp", "cnn", "resnet"])
def test_every_ablation_arm_resolves_to_a_buildable_configuration(arch):
    """The whole-space ablation that `study` runs: every arm's settings resolve (a parent
    choice that activates a conditional hyperparameter gives it its default)."""
    arms = ablation.plan(overrides.resolve(arch, "baseline"))
    assert len(arms) == 1 + len(spaces.alternatives(arch))
    by_id = {arm["id"]: arm["config"] for arm in arms}
    if arch == "cnn":
        assert by_id["channels-32.64.128"].model["kernels"] == (3, 3, 3)
        assert by_id["channels-32.64.128"].model["filters"] == (32, 64, 128)
        assert by_id["kernels_3_layers-5.5.3"].model["kernels"] == (5, 5, 3)
        assert by_id["kernels_2_layers-5.3"].model["kernels"] == (5, 3)


@pytest.mark.parametrize("epochs, step", [(4, 2), (8, 4), (10, 5), (11, 10), (20, 10), (1, 1)])
def test_a_steplr_arm_decays_within_the_budget(epochs, step):
    """The schedule-step arm keeps the base's step size (10) where the epochs reach it, and
    otherwise decays at half the budget; it is recorded in the arm's overrides."""
    arms = ablation.plan(overrides.resolve("cnn", "baseline", epochs=epochs), ["schedule"])
    arm = {a["id"]: a["config"] for a in arms}["schedule-step"]
    assert arm.training.schedule == "step" and arm.training.step_size == step
    assert ("step_size" in arm.overrides) == (step != 10)
    decays = [training.learning_rate_at(arm.training, e, epochs) for e in range(epochs)]
    assert (len(set(decays)) > 1) == (epochs > 1)


# ------------------------------------------------------------------ search on synthetic data


def _base(epochs=1, folds=2):
    config = overrides.resolve("mlp", "baseline", epochs=epochs, folds=folds)
    return overrides.apply(config, {"batch_size": 64, "learning_rate": 0.01})


def _tuner(tmp_path, nist_dataset, max_trials, folds=2, name="random", stream=None):
    oracle = search.make_oracle(name, max_trials=max_trials, epochs=1, seed=0)  # the CLI default
    return search.CVTuner(oracle, EmnistHyperModel(_base(folds=folds)), nist_dataset, folds,
                          tmp_path / "tune", stream=stream)


def test_search_scores_every_trial_on_the_same_folds_and_resumes(tmp_path, nist_dataset):
    trials = search.search(_tuner(tmp_path, nist_dataset, max_trials=2))
    assert len(trials) == 2 and set(trials["status"]) == {"completed"}
    assert (trials["folds"] == 2).all()
    for row in trials.itertuples():
        assert row.score == pytest.approx(np.mean([row.fold_1, row.fold_2]))
    folds = pd.read_csv(tmp_path / "tune" / "trial_folds.csv", dtype={"trial_id": str})
    sizes = folds.groupby("fold")["val_size"].nunique()
    assert (sizes == 1).all(), "every trial must see the same folds"
    assert set(spaces.describe("mlp")) <= set(trials.columns)

    # Same directory, a larger budget: the two finished trials stay, one is added.
    before = (tmp_path / "tune" / "keras_tuner" / "trial_0" / "cv.json").read_text()
    trials = search.search(_tuner(tmp_path, nist_dataset, max_trials=3))
    assert len(trials) == 3 and set(trials["status"]) == {"completed"}
    assert (tmp_path / "tune" / "keras_tuner" / "trial_0" / "cv.json").read_text() == before


def test_holdout_search_with_one_fold(tmp_path, nist_dataset):
    trials = search.search(_tuner(tmp_path, nist_dataset, max_trials=1, folds=1))
    assert trials["folds"].tolist() == [1] and trials["score_std"].tolist() == [0.0]


@pytest.mark.any_backend  # the search's bookkeeping: the same on every backend
def test_an_epoch_budget_stops_hyperband_after_more_than_one_pass(tmp_path, nist_dataset):
    """Hyperband at 3 epochs and factor 3 makes 6 trials a pass, 12 epochs a fold; at 2 folds
    a budget of 30 epochs takes it into a second pass, and stops it within one trial of 30."""
    def tuner():
        oracle = search.make_oracle("hyperband", max_trials=1, epochs=3, seed=0,
                                    until_budget=True)
        return search.CVTuner(oracle, EmnistHyperModel(_base(epochs=3)), nist_dataset, 2,
                              tmp_path / "tune", stream=log, epoch_budget=30)

    log = io.StringIO()
    trials = search.search(tuner())
    spent = tuner().epochs_spent()
    folds = pd.read_csv(tmp_path / "tune" / "trial_folds.csv", dtype={"trial_id": str})
    largest = folds.groupby("trial_id")["epochs_run"].sum().max()  # the most one trial trains
    assert spent == folds["epochs_run"].sum() and spent >= 30 > spent - largest
    assert len(trials) > 6  # more than one pass of the brackets
    assert "search stopped: the trials have trained" in log.getvalue()
    assert "/30 epochs of the budget, ETA" in log.getvalue()  # the ETA counts the budget
    again = search.search(tuner())  # a rerun starts nothing
    assert len(again) == len(trials) and tuner().epochs_spent() == spent


@pytest.mark.any_backend
@pytest.mark.parametrize("name", ["bayesian", "grid", "hyperband"])
def test_other_stock_oracles_run(tmp_path, nist_dataset, name):
    trials = search.search(_tuner(tmp_path, nist_dataset, max_trials=2, name=name))
    assert len(trials) >= 1 and (trials["status"] == "completed").any()


@pytest.mark.any_backend
def test_a_diverged_trial_is_recorded_as_failed_and_the_search_goes_on(tmp_path, nist_dataset, monkeypatch):
    real_fit = training.fit
    calls = {"n": 0}

    def sometimes_nan(model, cfg, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise training.TrainingDiverged("training loss became nan at epoch 1")
        return real_fit(model, cfg, *args, **kwargs)

    monkeypatch.setattr(cv, "fit", sometimes_nan)  # what every fold of a trial trains with
    log = io.StringIO()
    trials = search.search(_tuner(tmp_path, nist_dataset, max_trials=3, stream=log))
    assert trials["status"].tolist().count("failed") == 1
    assert trials["status"].tolist().count("completed") == 2
    failed = trials[trials["status"] == "failed"].iloc[0]
    assert "nan" in failed["reason"]
    # Every line of a trial names it the same way: its place in the search and its id.
    lines = [line for line in log.getvalue().splitlines() if line.startswith("trial")]
    for number, trial_id in enumerate(trials["trial_id"].astype(str), start=1):
        name = f"trial {number}/3 (id {trial_id})"
        own = [line for line in lines if line.startswith(name)]
        assert len(own) == 2, lines  # the start and the end (scored or failed)
        assert own[0].startswith(f"{name}: ") and own[1].startswith((f"{name}: cv ",
                                                                      f"{name} failed: "))
    assert len(lines) == 6, lines


@pytest.mark.any_backend
def test_trial_values_round_trip_through_the_csv(tmp_path, nist_dataset):
    search.search(_tuner(tmp_path, nist_dataset, max_trials=2))
    best = search.best_trial(tmp_path / "tune")
    values = search.trial_values(best, "mlp")
    assert set(values) == set(spaces.describe("mlp"))
    spaces.settings("mlp", values)


def test_memory_does_not_grow_from_trial_to_trial(tmp_path, nist_dataset):
    """Keras state (and JAX's compiled functions) are cleared between trials: on JAX and
    PyTorch, RSS does not climb over seven trials.
    TensorFlow keeps its traced graphs (~15 MB per fit); there the tuner reports it (next test)
    and the command restarts itself (test_tune_restarts_itself_past_its_memory_budget)."""
    if keras.backend.backend() == "tensorflow":
        pytest.skip("TensorFlow retains traced graphs per fit; covered by the restart tests")
    trials = search.search(_tuner(tmp_path, nist_dataset, max_trials=7, folds=1))
    rss = trials.sort_values("trial_id")["rss_mb"].tolist()
    # The first models of a new kind cost a one-off step; after that no trend, only the
    # allocator's ups and downs (without the clearing, JAX grew about 60 MB per trial: the
    # last three would sit some 180 MB above trials 2-4).
    assert max(rss[-3:]) - max(rss[1:4]) < 100, rss


@pytest.mark.any_backend
def test_tuner_stops_between_trials_past_its_memory_budget(tmp_path, nist_dataset, monkeypatch):
    readings = iter([1000.0, 1000.0] + [1600.0] * 20)  # run_trial and on_trial_end read it
    monkeypatch.setattr(search, "rss_mb", lambda: next(readings))
    tuner = _tuner(tmp_path, nist_dataset, max_trials=4, folds=2)
    tuner.max_growth_mb = 500
    with pytest.raises(search.MemoryBudgetReached, match="grew by 600 MB"):
        search.search(tuner)
    trials = search.write_tables(tmp_path / "tune", "mlp")
    assert trials["status"].tolist() == ["completed", "completed"]  # both kept on disk
    assert len(search.search(_tuner(tmp_path, nist_dataset, max_trials=4, folds=2))) == 4


@pytest.mark.any_backend
@pytest.mark.slow
def test_tune_restarts_itself_past_its_memory_budget(tmp_path, nist_dir):
    """With a 1 MB budget the command restarts after every trial and still runs each once."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    done = subprocess.run(
        [sys.executable, "-m", "benchmark.cli", "tune", "--arch", "mlp", "--max-trials", "3",
         "--folds", "1", "--epochs", "1", "--max-memory-growth", "1", "--data-dir", str(nist_dir),
         "--results-dir", str(tmp_path / "r"), "--run-id", "restart"],
        env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "restarting the process" in done.stderr
    trials = pd.read_csv(tmp_path / "r" / "restart" / "trials.csv")
    assert len(trials) == 3 and set(trials["status"]) == {"completed"}
    assert (trials["ran_by"] == "tuner0").all()


# ------------------------------------------------------------------ ablation


@pytest.mark.any_backend
def test_ablation_shares_the_baseline_and_pairs_the_folds(tmp_path, nist_dataset):
    base = _base(folds=3)
    arms = ablation.plan(base, ["activation"])
    assert [a["id"] for a in arms] == ["baseline", "activation-elu", "activation-leaky_relu"]
    table = ablation.run_arms(arms, nist_dataset, tmp_path / "abl", stamp={}, stream=None)
    assert table["baseline"].tolist() == [True, False, False]
    assert table.loc[0, "delta"] == 0
    for row in table.iloc[1:].itertuples():
        diffs = [getattr(row, f"fold_{k}") - table.loc[0, f"fold_{k}"] for k in (1, 2, 3)]
        assert row.delta == pytest.approx(np.mean(diffs))
        assert 0 <= row.p_value <= 1 and 0 <= row.test_accuracy <= 1
        assert row.p_value >= row.p_plain  # the correction only widens the variance
        assert row.p_adjusted >= row.p_value and row.ci_low <= row.delta <= row.ci_high
    # A second ablation over another factor reuses the trained baseline folder.
    baseline_folds = (tmp_path / "abl" / "arms" / "baseline" / "folds.csv").read_text()
    ablation.run_arms(ablation.plan(base, ["batch_norm"]), nist_dataset, tmp_path / "abl", {}, None)
    assert (tmp_path / "abl" / "arms" / "baseline" / "folds.csv").read_text() == baseline_folds


def test_an_arm_started_with_another_configuration_is_refused_not_mixed(tmp_path, nist_dataset):
    """An unfinished arm whose stored configuration is not the plan's (a rule changed between
    invocations) is refused in one line, its folds kept, instead of finished with new settings."""
    arms = ablation.plan(_base(folds=2), ["schedule"])
    arm_dir = tmp_path / "abl" / "arms" / "schedule-step"
    results.RunStore(arm_dir.parent, "schedule-step").write_config(
        {"kind": "cv", "run": {}, "digest": "0ld0ld00"})
    (arm_dir / "folds.csv").write_text("fold,val_accuracy\n1,0.5\n")
    with pytest.raises(ValueError, match="schedule-step .* was started with another configuration"):
        ablation.run_arms(arms[1:], nist_dataset, tmp_path / "abl", stamp={}, stream=None)
    assert (arm_dir / "folds.csv").read_text() == "fold,val_accuracy\n1,0.5\n"


@pytest.mark.any_backend
def test_identical_fold_scores_give_one_answer_everywhere(tmp_path, nist_dataset):
    from benchmark import claims, paired, verdicts

    base = _base(folds=2)
    arms = ablation.plan(base, ["augment"])[:1]
    twin = dict(arms[0], id="twin", factor="twin", baseline=False)
    table = ablation.run_arms([arms[0], twin], nist_dataset, tmp_path / "abl", {}, None)
    assert table.loc[1, "delta"] == 0 and pd.isna(table.loc[1, "p_value"])
    assert pd.isna(table.loc[1, "p_adjusted"]) and pd.isna(table.loc[1, "p_plain"])
    folds = pd.Series(table.loc[1, ["fold_1", "fold_2"]].to_numpy(float), index=[1, 2])
    test = paired.compare(folds, folds.copy(), 2)  # what the report's claims use
    assert test["delta"] == 0 and test["p_value"] is None
    assert table.loc[1, "verdict"] == verdicts.NO_TEST  # what the app and the report read
    judged = claims.judge([{"ours": "", "verdict": "", "_test": test,  # the report's claims
                            "_family": "twin"}])
    assert judged[0]["verdict"].startswith("no difference")
    shifted = paired.compare(folds + 0.01, folds, 2)  # the same difference on every fold
    assert shifted["delta"] == pytest.approx(0.01) and shifted["p_value"] is None


# ------------------------------------------------------------------ commands


def test_spaces_json(capsys):
    code, out, _ = run_cli(capsys, "spaces", "--arch", "cnn", "--json")
    assert code == 0
    assert json.loads(out) == STUDY_SPACES["cnn"]


@pytest.mark.parametrize("argv, message", [
    (["tune", "--arch", "mlp", "--tuner", "genetic"], "--tuner"),
    (["tune", "--arch", "mlp", "--max-trials", "0"], "--max-trials"),
    (["tune", "--arch", "mlp", "--folds", "0"], "--folds"),
    (["ablate", "--arch", "cnn", "--factors", "colour"], "not a factor"),
    (["ablate", "--arch", "mlp", "--folds", "1"], "--folds"),
    (["ablate", "--arch", "mlp", "--reuse", "nothing-here"], "--reuse"),
    (["spaces", "--arch", "vit"], "unknown architecture"),
    (["cv", "--from-trial", "nothing-here"], "--from-trial"),
])
def test_tuner_commands_refuse_bad_input(capsys, tmp_path, nist_dir, argv, message):
    code, _, err = run_cli(capsys, *argv, *(["--data-dir", str(nist_dir), "--results-dir",
                                             str(tmp_path / "r")] if argv[0] != "spaces" else []))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err


@pytest.mark.any_backend
def test_tune_then_cv_from_the_best_trial(capsys, tmp_path, nist_dir, monkeypatch):
    results_dir = ["--results-dir", str(tmp_path / "r")]
    argv = ["tune", "--arch", "mlp", "--max-trials", "2", "--folds", "2", "--epochs", "1",
            "--run-id", "search", "--data-dir", str(nist_dir), "--limit", "188", "--seed", "3"]
    # config.json records the command from sys.argv, as the console script gives it.
    monkeypatch.setattr(sys, "argv", ["emnist-bench", *argv])
    code, out, err = run_cli(capsys, *argv, *results_dir)
    assert code == 0, err
    trials = pd.read_csv(tmp_path / "r" / "search" / "trials.csv")
    assert len(trials) == 2
    config = json.loads((tmp_path / "r" / "search" / "config.json").read_text())
    assert config["kind"] == "tune" and config["data"]["n_train"] == 282

    # No --data-dir, --limit or --seed: the search's, not a download of the default split.
    monkeypatch.delenv("EMNIST_BENCH_DATA", raising=False)
    code, out, err = run_cli(capsys, "cv", "--from-trial", "search", "--folds", "2",
                             "--epochs", "1", "--run-id", "from-best", *results_dir)
    assert code == 0, err
    stored = json.loads((tmp_path / "r" / "from-best" / "config.json").read_text())
    run = stored["run"]
    best = trials.sort_values("score", ascending=False).iloc[0]
    assert run["preset"] == f"trial:search/{best['trial_id']}"
    assert run["model"]["units"] == best["units"]
    assert run["training"]["optimizer"] == best["optimizer"]
    assert (run["limit"], run["seed"], run["split"]) == (188, 3, "balanced")
    assert stored["data"]["sha256"] == config["data"]["sha256"]
    assert stored["data"]["n_train_used"] == 188


def test_from_trial_takes_the_searchs_data_options_unless_given(nist_dir):
    from benchmark import cli, commands
    from benchmark.arguments import UsageError

    search = {"kind": "tune", "arch": "mlp", "base": {"split": "letters", "limit": 500, "seed": 3},
              "command": f"emnist-bench tune --arch mlp --data-dir {nist_dir} --limit 500"}

    def options(*argv, searched=search):
        args = cli.build_parser().parse_args(["cv", *argv])
        commands.data_options(args, searched)
        return args.data_dir, args.split, args.limit, args.seed

    assert options("--from-trial", "s") == (str(nist_dir), "letters", 500, 3)
    assert options("--from-trial", "s", "--seed", "0", "--limit", "9") == (
        str(nist_dir), "letters", 9, 0)
    assert options("--from-trial", "s", "--data-dir", "x", "--split", "digits") == (
        "x", "digits", 500, 3)
    assert options("--arch", "mlp", searched=None) == (None, "balanced", None, 0)
    gone = {**search, "command": "emnist-bench tune --arch mlp --data-dir=/nowhere/at/all"}
    with pytest.raises(UsageError, match="/nowhere/at/all, which is not a folder here"):
        options("--from-trial", "s", searched=gone)
    no_dir = {**search, "command": "emnist-bench tune --arch mlp"}  # $EMNIST_BENCH_DATA or TFDS
    assert options("--from-trial", "s", searched=no_dir) == (None, "letters", 500, 3)


@pytest.mark.any_backend
def test_ablate_prints_the_adjusted_p_and_its_verdict(capsys, tmp_path, nist_dir):
    from benchmark import verdicts

    code, out, err = run_cli(capsys, "ablate", "--arch", "mlp", "--factors", "batch_norm",
                             "--folds", "3", "--epochs", "1", "--data-dir", str(nist_dir),
                             "--results-dir", str(tmp_path / "r"), "--run-id", "abl")
    assert code == 0, err
    row = pd.read_csv(tmp_path / "r" / "abl" / "ablations.csv").iloc[1]
    line = next(line for line in out.splitlines() if line.startswith("batch_norm"))
    p = "-" if pd.isna(row["p_adjusted"]) else f"{row['p_adjusted']:.3f}"
    verdict = verdicts.verdict_text(row)
    assert f"  p_adjusted {p}  {verdict}  " in line, line


def test_same_seed_same_trials(tmp_path, nist_dataset):
    first = search.search(_tuner(tmp_path / "a", nist_dataset, max_trials=2, folds=1))
    second = search.search(_tuner(tmp_path / "b", nist_dataset, max_trials=2, folds=1))
    names = list(spaces.describe("mlp"))
    assert first[names].astype(str).values.tolist() == second[names].astype(str).values.tolist()


@pytest.mark.any_backend
def test_kerastuner_still_writes_its_state_files_in_place(tmp_path, monkeypatch):
    """tuners.search swaps KerasTuner's save_json for an atomic one during our searches. When
    this fails, KerasTuner's stock writer no longer opens the file itself for writing (it has
    turned atomic, or moved): drop search._save_json_atomically and this test."""
    from keras_tuner.src import backend as kt_backend
    from keras_tuner.src import utils as kt_utils

    opened = []
    stock_file = kt_backend.io.File

    def spy(path, mode="r", *args, **kwargs):
        opened.append((str(path), mode))
        return stock_file(path, mode, *args, **kwargs)

    monkeypatch.setattr(kt_backend.io, "File", spy)
    target = tmp_path / "oracle.json"
    kt_utils.save_json(str(target), {"a": 1})
    assert opened == [(str(target), "w")]  # in place: a kill mid-write truncates it
    assert kt_utils.save_json is not search._save_json_atomically  # swapped only during searches
    with search.atomic_state_files():
        assert kt_utils.save_json is search._save_json_atomically


@pytest.mark.any_backend
def test_from_trial_names_a_padded_trial_by_its_number(tmp_path):
    from benchmark import cli, commands

    search = tmp_path / "search"
    search.mkdir()
    values = {"hidden_layers": 3, "units": 128, "schedule": "none", "activation": "relu",
              "optimizer": "sgd", "batch_norm": True, "regularization": "l1", "dropout": False,
              "augment": False}
    pd.DataFrame([{"trial_id": "000", "status": "completed", "score": 0.8, **values},
                  {"trial_id": "001", "status": "completed", "score": 0.7,
                   **values, "units": 64}]).to_csv(search / "trials.csv", index=False)
    for given, units in (("search:1", 64), ("search:001", 64), ("search:0", 128)):
        args = cli.build_parser().parse_args(["cv", "--from-trial", given,
                                              "--results-dir", str(tmp_path)])
        config = commands.config_from_trial(args, {"arch": "mlp"})
        assert config.model["units"] == units
        assert config.preset == f"trial:search/{'001' if units == 64 else '000'}"
