"""A small results folder for the app's tests, written by the real suite on synthetic data.

Two cross-validation runs, a two-trial search, a one-factor ablation and a study (its own
presets and a one-factor ablation): every kind of
folder the app reads, made by `emnist-bench` itself rather than by hand. Building it takes
about half a minute, so it is built once per test session and shared by the app's tests.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmark import cli
from tests.synthetic import write_nist

DONE = ".complete"  # written last: a folder without it is a build that was interrupted
COMMON = ["--folds", "2", "--epochs", "1"]
COMMANDS = [
    ["cv", "--arch", "mlp", "--preset", "best", *COMMON, "--run-id", "mlp-best"],
    ["cv", "--arch", "mlp", "--preset", "baseline", *COMMON, "--run-id", "mlp-baseline"],
    # three epochs a trial: a search of one or two is a test of the suite (selection.py)
    ["tune", "--arch", "mlp", "--max-trials", "2", "--folds", "2", "--epochs", "3",
     "--run-id", "tune-mlp"],
    ["ablate", "--arch", "mlp", "--factors", "activation", *COMMON, "--run-id", "ablate-mlp"],
    ["study", "--arch", "mlp", "--factors", "activation", *COMMON],
]


def results_folder(base: Path) -> Path:
    """`base/results`, built by the suite unless an earlier test of the session built it."""
    results = Path(base) / "results"
    if (Path(base) / DONE).exists():
        return results
    nist = write_nist(Path(base) / "nist", train_per_class=6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMNIST_BENCH_CACHE", str(Path(base) / "cache"))
        patch.delenv("EMNIST_BENCH_RESULTS", raising=False)
        for argv in COMMANDS:
            code = cli.main([*argv, "--data-dir", str(nist), "--results-dir", str(results)])
            assert code == 0, f"emnist-bench {' '.join(argv)} failed with exit code {code}"
    (Path(base) / DONE).write_text(os.environ.get("KERAS_BACKEND", "") + "\n")
    return results


def add_pilots(root: Path) -> None:
    """Beside the main runs of a copy of the fixture: a pilot on fewer images
    (mlp-best-pilot), a bigger run that collapsed in inference mode (mlp-best-collapsed:
    training accuracy 0.7, validation at chance) and a newer search named as a memory test
    (memory-mlp-20-trials), as the committed results have them."""
    def copy(source, name, change):
        shutil.copytree(root / source, root / name)
        config = json.loads((root / name / "config.json").read_text())
        change(config)
        (root / name / "config.json").write_text(json.dumps(config))
        return root / name

    copy("mlp-best", "mlp-best-pilot", lambda c: c["data"].update(n_train_used=100, limit=100))
    collapsed = copy("mlp-best", "mlp-best-collapsed",
                     lambda c: c["run"]["training"].update(epochs=9))
    folds = pd.read_csv(collapsed / "folds.csv").assign(val_accuracy=0.02)
    folds.to_csv(collapsed / "folds.csv", index=False)
    epochs = pd.read_csv(collapsed / "epochs.csv").assign(accuracy=0.7, val_accuracy=0.02)
    epochs.to_csv(collapsed / "epochs.csv", index=False)
    copy("tune-mlp", "memory-mlp-20-trials", lambda c: c.update(created="2099-01-01T00:00:00"))


# Fold scores of a hand-written ablation: under the one rule (adaptive.family, three folds per
# repeat) leaky_relu is better than the baseline and elu equivalent to it.
ABLATION_FOLDS = {"baseline": [0.889, 0.891, 0.890],
                  "activation-leaky_relu": [0.899, 0.900, 0.899],
                  "activation-elu": [0.8891, 0.8909, 0.8902]}


def write_ablation(folder: Path, official: bool = False, given: dict | None = None,
                   rounds: int | None = None) -> Path:
    """An ablations.csv and config.json in the documented layout, for what the synthetic
    fixture cannot show (the official Balanced split, chosen verdicts, an adaptive run).
    `given` (arm -> verdict) writes the verdict columns as benchmark.ablation does, each arm
    undecided's smallest detectable difference 0.0073; without it the table is the one written
    before verdicts had columns (p-values only)."""
    folder.mkdir(parents=True)
    base = sum(ABLATION_FOLDS["baseline"]) / 3
    rows = []
    for arm, folds in ABLATION_FOLDS.items():
        baseline = arm == "baseline"
        mean = sum(folds) / len(folds)
        row = {"factor": "baseline" if baseline else "activation",
               "value": "" if baseline else arm.removeprefix("activation-"),
               "baseline": baseline, "arm": arm, "folds": len(folds),
               "val_accuracy_mean": mean, "val_accuracy_std": 0.001, "test_accuracy": 0.891,
               "delta": mean - base, "p_value": None if baseline else 0.01,
               **{f"fold_{i}": v for i, v in enumerate(folds, start=1)}}
        if given is not None:
            row.update({"ci_low": None if baseline else mean - base - 0.002,
                        "ci_high": None if baseline else mean - base + 0.002,
                        "p_adjusted": None if baseline else 0.02,
                        "p_equivalence": None if baseline else 0.3,
                        "p_equivalence_adjusted": None if baseline else 0.3,
                        "smallest_detectable": None if baseline else 0.0073, "rope": 0.005,
                        "rounds": rounds if rounds and not baseline else None,
                        "verdict": "baseline" if baseline else given[arm]})
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "ablations.csv", index=False)
    config = {"kind": "ablate", "arch": "cnn", "backend": "jax",
              "base": {"model": {"activation": "relu"}, "training": {}, "folds": 3},
              "data": {"split": "balanced", "matches_official_sizes": official,
                       "n_train_used": 112800, "n_test": 18800},
              **({"rope": 0.005, "adaptive_rounds": rounds} if given is not None else {})}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="session")
def app_results(tmp_path_factory) -> Path:
    """The shared results folder (see the module docstring)."""
    return results_folder(tmp_path_factory.getbasetemp() / "app-results")
