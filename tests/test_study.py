"""`emnist-bench study`: both presets and the ablation in one resumable command."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark import results
from tests.conftest import run_cli


@pytest.mark.any_backend
def test_study_runs_both_presets_and_the_ablation_then_resumes(capsys, nist_dir, tmp_path):
    root = tmp_path / "results"
    argv = ["study", "--arch", "mlp", "--factors", "activation", "--folds", "2", "--epochs", "1",
            "--data-dir", str(nist_dir), "--results-dir", str(root)]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    (study_dir,) = root.glob("study-mlp-*")
    table = pd.read_csv(study_dir / "study.csv")
    assert table["part"].tolist() == ["baseline", "best", "ablation"]
    assert (table["status"] == "complete").all()
    runs = pd.read_csv(root / "runs.csv")
    cv_parts = table.set_index("part").loc[["baseline", "best"], "run_id"]
    assert set(cv_parts) <= set(runs["run_id"])
    assert runs.set_index("run_id").loc[list(cv_parts), "preset"].tolist() == ["baseline", "best"]
    ablation = pd.read_csv(root / table.set_index("part").loc["ablation", "run_id"] / "ablations.csv")
    assert len(ablation) == 1 + 2  # the baseline and activation's two other values
    assert table.set_index("part").loc["ablation", "arms_complete"] == 3
    assert "study part 3/3: ablation" in err
    # Each part's seconds are what its runs recorded (folds and final fit), not wall time.
    baseline = root / cv_parts["baseline"]
    recorded = (pd.read_csv(baseline / "folds.csv")["seconds"].sum()
                + json.loads((baseline / "test.json").read_text())["seconds"])
    assert table.set_index("part").loc["baseline", "seconds"] == pytest.approx(recorded, rel=1e-4)
    assert study_dir.name in out
    # The ablation's baseline arm is the baseline part's run, copied, not trained again.
    arm = root / table.set_index("part").loc["ablation", "run_id"] / "arms" / "baseline"
    assert json.loads((arm / "config.json").read_text())["copied_from"] == cv_parts["baseline"]
    assert (arm / "folds.csv").read_text() == (baseline / "folds.csv").read_text()
    assert f"arm 1/3: baseline copied from {cv_parts['baseline']}" in err
    assert err.count("fold 1/2: val_accuracy") == 2 + 2  # the presets, then two arms
    arms = [f for f in arm.parent.iterdir() if f.is_dir() and f.name != "baseline"]  # copy: 0
    trained = sum(pd.read_csv(f / "folds.csv")["seconds"].sum()
                  + json.loads((f / "test.json").read_text())["seconds"] for f in arms)
    assert table.set_index("part").loc["ablation", "seconds"] == pytest.approx(trained, rel=1e-4)

    # The same command again: nothing is trained twice and the wall times stay as they were.
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    again = pd.read_csv(study_dir / "study.csv")
    pd.testing.assert_series_equal(again["seconds"], table["seconds"])
    assert "is already complete" in err and "epoch 1/1" not in err


def test_study_refuses_an_unknown_architecture_or_factor(capsys, nist_dir, tmp_path):
    root = tmp_path / "results"
    code, _, err = run_cli(capsys, "study", "--arch", "vit", "--data-dir", str(nist_dir),
                           "--results-dir", str(root))
    assert code == 2 and "unknown architecture 'vit'" in err
    code, _, err = run_cli(capsys, "study", "--arch", "all", "--factors", "colour",
                           "--data-dir", str(nist_dir), "--results-dir", str(root))
    assert code == 2 and "colour" in err and err.count("\n") == 1
    assert not root.exists()


@pytest.mark.any_backend
def test_part_seconds_add_every_invocations_folds_and_count_a_shared_run_once(tmp_path):
    """A part resumed over several invocations has all its finished folds counted; the
    ResNet's best part, which shares the baseline's run, adds nothing."""
    run = tmp_path / "resnet-baseline-x"
    run.mkdir()
    (run / "folds.csv").write_text("fold,val_accuracy,seconds\n1,0.5,100\n2,0.5,120\n3,0.5,80\n")
    (run / "test.json").write_text('{"accuracy": 0.5, "seconds": 50}')
    arm = tmp_path / "ablate-resnet-x" / "arms" / "baseline"
    arm.mkdir(parents=True)
    (arm / "folds.csv").write_text("fold,val_accuracy,seconds\n1,0.5,10\n")
    assert results.parts_seconds(tmp_path, ["resnet-baseline-x", "resnet-baseline-x",
                                            "ablate-resnet-x", float("nan")]) == [350, 0, 10, 0]

