"""The adaptive ablation (`--until-decided`, benchmark/adaptive.py): its stopping rule's error
rates by simulation, its bookkeeping on stored folds, and one real run that resumes."""

import json
import types

import numpy as np
import pandas as pd
import pytest

from benchmark import ablation, adaptive, overrides, results, verdicts
from tests.conftest import run_cli

pytestmark = pytest.mark.any_backend  # statistics and bookkeeping: the same on every backend

TRIALS = 700  # x 3 arms = 2,100 comparisons per scenario
# Three standard errors of a rate of ALPHA over 2,100 comparisons: the simulation's own noise.
SLACK = 3 * np.sqrt(verdicts.ALPHA * (1 - verdicts.ALPHA) / (3 * TRIALS))


@pytest.mark.parametrize("k,rounds", [(3, 4), (5, 3)])
def test_the_rule_keeps_its_error_rates_when_it_looks_after_every_round(k, rounds):
    """Fold scores drawn with the correlation structure of K-fold CV (the Nadeau-Bengio model
    the corrected test assumes), the rule replayed on them: with no difference it seldom says
    better or worse, with a difference at the rope's edge it seldom says equivalent, both
    under ALPHA although it looked up to `rounds` times; and where the truth is clear it stops
    early, spending fewer folds than the uniform budget with the same worst case."""
    null = adaptive.simulate(0.0, k, rounds, trials=TRIALS, seed=1)
    edge = adaptive.simulate(verdicts.ROPE, k, rounds, trials=TRIALS, seed=2)
    assert null["better"] + null["worse"] <= verdicts.ALPHA + SLACK, null
    assert edge["equivalent"] <= verdicts.ALPHA + SLACK, edge
    clear = adaptive.simulate(4 * verdicts.ROPE, k, rounds, trials=100, seed=3)
    assert clear["better"] > 0.95 and clear["folds"] < clear["uniform"], clear


def series(values, start=1):
    return pd.Series(values, index=range(start, start + len(values)), dtype=float)


def test_replay_asks_for_the_next_round_of_the_open_arms_and_the_baseline():
    base = series([0.880, 0.884, 0.878])
    folds = {"baseline": base,
             "far": base + series([0.05, 0.051, 0.049]),  # decided after one round
             "close": base + series([0.004, -0.006, 0.001])}  # open
    state = adaptive.replay(folds, "baseline", 3, rounds=3)
    assert state.results["far"]["verdict"] == "better" and state.results["far"]["rounds"] == 1
    assert state.need == {"baseline": 6, "close": 6} and state.round == 2
    # The next round arrives: the rule replays the first look the same and looks again.
    folds["baseline"] = series([*base, 0.881, 0.879, 0.883])
    folds["close"] = series([*folds["close"], 0.884, 0.875, 0.885])
    again = adaptive.replay(folds, "baseline", 3, rounds=3)
    assert again.results["far"] == state.results["far"]
    assert again.need == {"baseline": 9, "close": 9} and again.round == 3  # still open


def test_an_arm_still_open_at_the_cap_is_undecided():
    rng = np.random.default_rng(0)
    base = series(0.88 + 0.003 * rng.standard_normal(4))
    folds = {"baseline": base, "close": base + series(0.004 + 0.01 * rng.standard_normal(4))}
    state = adaptive.replay(folds, "baseline", 2, rounds=2)
    assert state.done and state.results["close"]["rounds"] == 2
    assert state.results["close"]["verdict"] == "undecided"
    assert adaptive.family(folds, "baseline", 2, rounds=2)["close"] == state.results["close"]


@pytest.mark.slow
def test_an_adaptive_ablation_records_its_rounds_and_resumes_without_training(
        capsys, tmp_path, nist_dir):
    argv = ["ablate", "--arch", "mlp", "--factors", "optimizer", "--folds", "2", "--repeats",
            "2", "--until-decided", "--epochs", "1", "--data-dir", str(nist_dir),
            "--results-dir", str(tmp_path / "r"), "--run-id", "adaptive"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    run = tmp_path / "r" / "adaptive"
    config = json.loads((run / "config.json").read_text())
    assert config["adaptive_rounds"] == 2 and config["rope"] == verdicts.ROPE
    table = pd.read_csv(run / "ablations.csv", keep_default_na=False)
    arms = table[table["arm"] != "baseline"]
    assert set(arms["verdict"]) <= {*verdicts.KINDS, verdicts.NO_TEST}
    for row in arms.itertuples():
        assert row.folds == 2 * int(row.rounds)  # it stopped where its rounds say
    assert table.loc[table["arm"] == "baseline", "folds"].item() == 2 * arms["rounds"].astype(int).max()
    assert (table["status"] == "complete").all()
    # Run again: everything is stored, nothing trains, the verdicts are the same.
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert "epoch 1/1" not in err
    again = pd.read_csv(run / "ablations.csv", keep_default_na=False)
    assert again["verdict"].tolist() == table["verdict"].tolist()


def test_a_decided_arm_trains_no_fold_past_its_verdict(tmp_path, monkeypatch):
    """SGD is far worse after the first round and stops there: its final model must not first
    train the folds of the rounds it no longer needs (cv.run would, asked for all of them).
    RMSprop, noisy, stays open and gets the second round with the baseline."""
    base = overrides.resolve("mlp", "baseline", folds=5, repeats=2, epochs=1)
    arms = ablation.plan(base, ["optimizer"])
    shift = {"baseline": 0.0, "optimizer-sgd": -0.2, "optimizer-rmsprop": 0.0}
    noise = {"baseline": 0.0, "optimizer-sgd": 0.001, "optimizer-rmsprop": 0.01}
    calls = []

    def fake_run(config, data, store, stream=None, *, folds_up_to=None, test=True, **_):
        for fold in range(1, (folds_up_to or config.folds * config.repeats) + 1):
            if fold not in store.done_folds():
                score = 0.8 + shift[store.run_id] + noise[store.run_id] * (-1) ** fold
                store.add_fold({"fold": fold, "val_accuracy": score, "val_loss": 1.0,
                                "best_epoch": 1, "epochs_run": 1, "train_size": 8,
                                "val_size": 2, "seconds": 1.0},
                               [{"epoch": 1, "loss": 1.0, "accuracy": score}])
        if test:
            results.write_json(store.path("test.json"), {"accuracy": 0.8, "loss": 1.0})
        calls.append((store.run_id, folds_up_to, test))
        return {}

    monkeypatch.setattr(ablation.cv, "run", fake_run)
    data = types.SimpleNamespace(fingerprint={"sha256": "0" * 64})
    root = tmp_path / "arms"
    stores = {arm["id"]: ablation.prepare(arm, data, root, {}, None, None, number, len(arms))
              for number, arm in enumerate(arms, start=1)}
    ablation.run_rounds(arms, data, root, stores, None, 2, verdicts.ROPE, tmp_path)
    trained = {arm: len(store.done_folds()) for arm, store in stores.items()}
    assert trained == {"baseline": 10, "optimizer-sgd": 5, "optimizer-rmsprop": 10}
    assert ("optimizer-sgd", 5, True) in calls
