"""KerasTuner's distributed mode on loopback: a chief oracle and two workers, one trials.csv."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import keras
import pandas as pd
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.any_backend
@pytest.mark.slow
def test_chief_and_two_workers_run_every_trial_exactly_once(tmp_path, nist_dir):
    results = tmp_path / "results"
    command = [sys.executable, "-m", "benchmark.cli", "tune", "--arch", "mlp", "--tuner", "random",
               "--max-trials", "4", "--folds", "2", "--epochs", "1", "--data-dir", str(nist_dir),
               "--results-dir", str(results), "--run-id", "dist"]
    port = str(free_port())
    procs = {}
    for role in ("chief", "tuner0", "tuner1"):
        env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(),
               "KERASTUNER_TUNER_ID": role, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": port, "EMNIST_BENCH_CACHE": str(tmp_path / "cache")}
        procs[role] = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
    outputs = {}
    try:
        for role, proc in procs.items():
            outputs[role], _ = proc.communicate(timeout=420)
    finally:
        for proc in procs.values():
            proc.kill()
    for role, proc in procs.items():
        assert proc.returncode == 0, f"{role} failed:\n{outputs.get(role, '')[-3000:]}"

    trials = pd.read_csv(results / "dist" / "trials.csv", dtype={"trial_id": str})
    assert len(trials) == 4 and trials["trial_id"].is_unique
    assert set(trials["status"]) == {"completed"}
    assert (trials["folds"] == 2).all()
    # every trial ran once, on a worker (the chief only serves the oracle)
    assert trials["ran_by"].isin(["tuner0", "tuner1"]).all(), trials["ran_by"].tolist()
    for trial_id in trials["trial_id"]:
        record = json.loads((results / "dist" / "keras_tuner" / f"trial_{trial_id}" /
                             "cv.json").read_text())
        assert len(record["ran_by"]) == 1 and len(record["folds"]) == 2
