"""`ablate --reuse`: an ablation with more repeats takes the folds and tests an earlier one
trained with the same configuration, trains only the rest, and says so (benchmark/reuse.py)."""

import dataclasses
import json

import pandas as pd
import pytest

from benchmark import overrides, readers, results, reuse
from tests.conftest import run_cli

pytestmark = pytest.mark.any_backend  # bookkeeping on top of training the other tests cover


def test_only_the_repeats_may_differ(tmp_path):
    config = overrides.resolve("mlp", "baseline", folds=2, repeats=1, epochs=1)
    store = results.RunStore(tmp_path, "earlier")
    store.write_config({"run": config.to_dict(), "digest": config.digest("sha")})
    more = dataclasses.replace(config, repeats=3)
    assert reuse.same_run(more, "sha", store.dir, any_repeats=True)
    assert reuse.same_run(more, "sha", store.dir) is None  # what a study's copy asks
    assert reuse.same_run(config, "sha", store.dir)
    other = overrides.apply(config, {"learning_rate": 0.01}, label="lr")
    assert reuse.same_run(other, "sha", store.dir, any_repeats=True) is None
    assert reuse.same_run(config, "other data", store.dir, any_repeats=True) is None
    assert reuse.same_run(config, "sha", tmp_path / "missing", any_repeats=True) is None


@pytest.mark.slow
def test_an_adaptive_ablation_reuses_an_earlier_ones_folds_and_tests(capsys, tmp_path, nist_dir):
    common = ["ablate", "--arch", "mlp", "--factors", "optimizer", "--folds", "2", "--epochs",
              "1", "--data-dir", str(nist_dir), "--results-dir", str(tmp_path / "r")]
    code, _, err = run_cli(capsys, *common, "--run-id", "first")
    assert code == 0, err
    code, out, err = run_cli(capsys, *common, "--repeats", "2", "--until-decided",
                             "--reuse", "first", "--run-id", "second")
    assert code == 0, err
    assert "fold 1/4 epoch" not in err and "fold 2/4 epoch" not in err  # none trained again
    assert "final model:" not in err  # every final model trained 1 epoch, as the first run's did
    first, second = tmp_path / "r" / "first" / "arms", tmp_path / "r" / "second" / "arms"
    table = pd.read_csv(tmp_path / "r" / "second" / "ablations.csv")
    assert (table["status"] == "complete").all()
    for row in table[~table["baseline"]].itertuples():  # said once a round, not again for the test
        assert err.count(f"resuming {row.arm}:") == row.rounds, err
    for arm in table["arm"]:
        theirs, ours = (pd.read_csv(d / arm / "folds.csv") for d in (first, second))
        assert ours[ours["fold"] <= 2].equals(theirs)
        config = json.loads((second / arm / "config.json").read_text())
        assert config["reused"] == {"from": f"first/arms/{arm}", "folds": [1, 2], "test": True}
        assert (second / arm / "test.json").read_text() == (first / arm / "test.json").read_text()
        final = pd.read_csv(second / arm / "epochs.csv").query("fold == 0")
        assert len(final) == 1
    trained = sum(pd.read_csv(second / arm / "folds.csv").query("fold > 2")["seconds"].sum()
                  for arm in table["arm"])
    assert results.recorded_seconds(tmp_path / "r" / "second") == pytest.approx(trained)
    # What the report and the app's ablation page say of it.
    assert readers.reused_text(tmp_path / "r" / "second").startswith(
        "Folds 1-2 of 3 arms and the final models and tests of 3 were taken from `first`")
    assert readers.reused_text(tmp_path / "r" / "first") == ""
    # Again: everything is stored; nothing trains or is copied twice.
    code, _, err = run_cli(capsys, *common, "--repeats", "2", "--until-decided",
                           "--reuse", "first", "--run-id", "second")
    assert code == 0, err
    assert "epoch 1/1" not in err and "taken from" not in err
