"""Interruption: SIGKILL `cv`, `tune`, `ablate` and `study` at random points, several times in
a row, rerunning the same command each time; the final tables equal an uninterrupted run's.

While the killed processes run, a reader thread keeps parsing every CSV and JSON of the
results folder: it must never see a half-written file (every write is a rename of a finished
temporary file).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
import pandas as pd
import pytest

BACKEND = keras.backend.backend()
KILLS = int(os.environ.get("EMNIST_BENCH_KILLS", "3"))
BUDGET = ["--folds", "2", "--epochs", "2", "--seed", "3"]
COMMANDS = {
    "cv": ["cv", "--arch", "mlp", "--preset", "best", *BUDGET],
    "tune": ["tune", "--arch", "mlp", "--max-trials", "3", *BUDGET],
    "ablate": ["ablate", "--arch", "mlp", "--factors", "activation", *BUDGET],
    "study": ["study", "--arch", "mlp", "--factors", "batch_norm", *BUDGET],
}
# Columns that measure the run rather than its results: wall times, dates, who ran it.
VOLATILE = {"seconds", "created", "ran_by", "code_version", "time", "epoch_seconds", "rss_mb"}
# Tables whose rows a rerun must neither lose nor repeat, with the key of a row.
KEYS = {"folds.csv": ["fold"], "epochs.csv": ["fold", "epoch"], "trials.csv": ["trial_id"],
        "trial_folds.csv": ["trial_id", "fold"], "ablations.csv": ["arm"], "study.csv": ["part"],
        "runs.csv": ["run_id"]}


def command(argv, data, results):
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "PYTHONUNBUFFERED": "1"}
    return ([sys.executable, "-m", "benchmark.cli", *argv, "--data-dir", str(data),
             "--results-dir", str(results)], env)


class Reader(threading.Thread):
    """Parses every table of a results folder, over and over, until stopped."""

    def __init__(self, root: Path):
        super().__init__(daemon=True)
        self.root, self.reads, self.torn = root, 0, []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            for path in list(self.root.rglob("*")):
                if path.name.startswith(".") or path.suffix not in (".csv", ".json"):
                    continue
                try:
                    text = path.read_text()
                except FileNotFoundError:
                    continue
                try:
                    if path.suffix == ".json":
                        json.loads(text)
                    elif text.strip():
                        frame = pd.read_csv(path)
                        assert len(frame.columns) > 1 or path.name == "confusion.csv"
                    else:
                        raise ValueError("empty file")
                    self.reads += 1
                except Exception as error:  # noqa: BLE001 - any failure to parse is the finding
                    self.torn.append(f"{path.relative_to(self.root)}: {error}")
            time.sleep(0.02)


def kill_at_random_point(cmd, env, rng: random.Random, lines_seen: int) -> tuple[int, int]:
    """Start the command, SIGKILL it after a random number of its progress lines plus a random
    delay; return (exit code, lines it printed)."""
    target = rng.randint(1, max(2, lines_seen))
    delay = rng.uniform(0.0, 1.0)
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    printed = 0
    for _ in proc.stderr:
        printed += 1
        if printed >= target:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            break
    proc.stderr.close()
    return proc.wait(timeout=600), printed


def tables(root: Path) -> dict[str, pd.DataFrame]:
    """Every results table, keyed by its path inside the results folder, volatile columns out."""
    found = {}
    for path in sorted(root.rglob("*.csv")):
        frame = pd.read_csv(path)
        found[str(path.relative_to(root))] = frame.drop(
            columns=[c for c in frame.columns if c in VOLATILE])
    for path in sorted(root.rglob("test.json")):
        summary = json.loads(path.read_text())
        found[str(path.relative_to(root))] = pd.DataFrame(
            [{k: v for k, v in summary.items() if k not in VOLATILE}])
    return found


@pytest.mark.slow
# Resuming cv depends on each backend restoring its state exactly; the other commands add
# bookkeeping on top of it that is the same on every backend (CI runs those on one).
@pytest.mark.parametrize("name", [name if name == "cv" else pytest.param(
    name, marks=pytest.mark.any_backend) for name in COMMANDS])
def test_repeated_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path, nist_dir, name):
    os.environ["EMNIST_BENCH_CACHE"] = str(tmp_path / "cache")
    cmd, env = command(COMMANDS[name], nist_dir, tmp_path / "whole")
    whole = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert whole.returncode == 0, whole.stderr
    lines = whole.stderr.count("\n")

    root = tmp_path / "killed"
    cmd, env = command(COMMANDS[name], nist_dir, root)
    rng = random.Random(f"{name}-{BACKEND}")
    reader = Reader(root)
    reader.start()
    kills = 0
    try:
        for _ in range(KILLS):
            code, _ = kill_at_random_point(cmd, env, rng, lines)
            kills += code == -signal.SIGKILL
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    finally:
        reader.stopped.set()
        reader.join()
    assert final.returncode == 0, final.stderr
    assert kills >= 1
    assert reader.reads > 0 and reader.torn == [], reader.torn

    expected, got = tables(tmp_path / "whole"), tables(root)
    assert sorted(got) == sorted(expected)
    for path, frame in got.items():
        key = KEYS.get(Path(path).name)
        if key:
            assert not frame.duplicated(key).any(), f"{path}: a row written twice"
        # Same seed, same code: the same numbers to float precision, row for row.
        pd.testing.assert_frame_equal(frame, expected[path], check_exact=False, rtol=1e-5,
                                      atol=1e-6, obj=path)
