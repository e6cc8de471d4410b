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
    ["tune", "--arch", "mlp", "--max-trials", "2", *COMMON, "--run-id", "tune-mlp"],
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


@pytest.fixture(scope="session")
def app_results(tmp_path_factory) -> Path:
    """The shared results folder (see the module docstring)."""
    return results_folder(tmp_path_factory.getbasetemp() / "app-results")
