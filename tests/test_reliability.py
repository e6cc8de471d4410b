"""Reliability: diverging training, busy and unwritable results folders, concurrent writers,
hostile input files."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark import data, results
from tests.conftest import run_cli
from tests.synthetic import idx_images, idx_labels, make_images, write_nist

NAN_SETTINGS = ["--set", "optimizer=sgd", "--set", "learning_rate=1e12", "--set", "batch_norm=false"]


# ------------------------------------------------------------------ diverging training


def test_nan_loss_stops_the_run_names_fold_and_epoch_and_is_recorded(capsys, nist_dir, tmp_path):
    root = tmp_path / "r"
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--folds", "2", "--epochs", "2",
                           *NAN_SETTINGS, "--data-dir", str(nist_dir), "--results-dir", str(root),
                           "--run-id", "nan")
    assert code == 1
    assert err.strip().splitlines()[-1] == \
        "emnist-bench: error: fold 1/2 training loss became nan at epoch 1"
    index = pd.read_csv(root / "runs.csv")
    assert index.loc[0, "status"] == "failed" and "nan at epoch 1" in index.loc[0, "reason"]
    assert json.loads((root / "nan" / "failure.json").read_text())["reason"].startswith("fold 1/2")


@pytest.mark.any_backend
def test_a_failed_run_keeps_finished_folds_and_a_rerun_clears_the_failure(
        capsys, nist_dir, tmp_path, monkeypatch):
    from benchmark import training

    real_fit = training.fit
    calls = {"n": 0}

    def diverge_on_fold_two(model, cfg, *args, label="", **kwargs):
        calls["n"] += 1
        if label.startswith("fold 2/"):
            raise training.TrainingDiverged(f"{label}training loss became inf at epoch 1")
        return real_fit(model, cfg, *args, label=label, **kwargs)

    monkeypatch.setattr(training, "fit", diverge_on_fold_two)
    from benchmark import cv

    monkeypatch.setattr(cv, "fit", diverge_on_fold_two)
    argv = ["cv", "--arch", "mlp", "--folds", "3", "--epochs", "1", "--data-dir", str(nist_dir),
            "--results-dir", str(tmp_path / "r"), "--run-id", "half"]
    code, _, err = run_cli(capsys, *argv)
    assert code == 1 and "fold 2/3 training loss became inf at epoch 1" in err
    run = tmp_path / "r" / "half"
    assert pd.read_csv(run / "folds.csv")["fold"].tolist() == [1]
    monkeypatch.setattr(cv, "fit", real_fit)
    code, _, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert pd.read_csv(run / "folds.csv")["fold"].tolist() == [1, 2, 3]
    assert not (run / "failure.json").exists()
    assert pd.read_csv(tmp_path / "r" / "runs.csv").loc[0, "status"] == "complete"


@pytest.mark.any_backend
def test_ablation_records_a_diverged_arm_and_carries_on(capsys, nist_dir, tmp_path, monkeypatch):
    from benchmark import cv, training

    real_fit = cv.fit

    def sgd_diverges(model, cfg, *args, label="", **kwargs):
        if cfg.optimizer == "sgd":
            raise training.TrainingDiverged(f"{label}training loss became nan at epoch 1")
        return real_fit(model, cfg, *args, label=label, **kwargs)

    monkeypatch.setattr(cv, "fit", sgd_diverges)
    code, out, err = run_cli(capsys, "ablate", "--arch", "mlp", "--factors", "optimizer",
                             "--folds", "2", "--epochs", "1", "--data-dir", str(nist_dir),
                             "--results-dir", str(tmp_path / "r"), "--run-id", "abl")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "r" / "abl" / "ablations.csv").fillna("")
    assert table["value"].tolist() == ["", "sgd", "rmsprop"]
    assert table["status"].tolist() == ["complete", "failed", "complete"]
    assert table.loc[1, "reason"] == "fold 1/2 training loss became nan at epoch 1"
    assert "failed" in out


# ------------------------------------------------------------------ the results folder


@pytest.mark.any_backend
def test_a_run_being_written_by_another_process_is_refused(capsys, nist_dir, tmp_path):
    argv = ["cv", "--arch", "mlp", "--folds", "2", "--epochs", "1", "--data-dir", str(nist_dir),
            "--results-dir", str(tmp_path / "r"), "--run-id", "busy"]
    assert run_cli(capsys, *argv)[0] == 0
    store = results.RunStore(tmp_path / "r", "busy")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import filelock, sys, time; lock = filelock.FileLock(sys.argv[1]); "
         "lock.acquire(); print('locked', flush=True); time.sleep(60)",
         str(store.path(".lock"))], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, _, err = run_cli(capsys, *argv)
    finally:
        holder.kill()
    assert code == 1
    assert "run busy is being written by another process" in err.strip().splitlines()[-1]


def test_unwritable_results_folder_stops_before_loading_or_training(capsys, nist_dir, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--data-dir", str(nist_dir),
                           "--results-dir", str(blocker / "results"))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot be written" in lines[0]


def test_full_disk_stops_before_training(capsys, nist_dir, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 2**20))
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--data-dir", str(nist_dir),
                           "--results-dir", str(tmp_path / "r"))
    assert code == 1 and "only 1 MB free" in err
    assert not (tmp_path / "r" / "runs.csv").exists()


@pytest.mark.any_backend
@pytest.mark.slow
def test_concurrent_writers_leave_a_complete_index_and_intact_tables(tmp_path):
    """Four processes at once in one results folder: two runs of their own, and two that race
    for the same run id (one trains it, the other is refused or finds it complete)."""
    folder = write_nist(tmp_path / "nist")
    root = tmp_path / "r"
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(),
           "EMNIST_BENCH_CACHE": str(tmp_path / "cache")}
    base = [sys.executable, "-m", "benchmark.cli", "cv", "--arch", "mlp", "--folds", "2",
            "--epochs", "1", "--data-dir", str(folder), "--results-dir", str(root)]
    commands = [base + ["--run-id", "one"], base + ["--run-id", "two"],
                base + ["--run-id", "same"], base + ["--run-id", "same"]]
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in commands]
    outcomes = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    assert outcomes[0][0] == 0 and outcomes[1][0] == 0, outcomes
    same = sorted(code for code, _ in outcomes[2:])
    assert same in ([0, 0], [0, 1]), outcomes[2:]
    if same == [0, 1]:
        assert any("being written by another process" in err for _, err in outcomes[2:])
    index = pd.read_csv(root / "runs.csv")
    assert sorted(index["run_id"]) == ["one", "same", "two"]
    assert (index["status"] == "complete").all()
    for run in ("one", "two", "same"):
        assert pd.read_csv(root / run / "folds.csv")["fold"].tolist() == [1, 2]
    assert not list(root.rglob("*.tmp")), "no temporary file may be left behind"


# ------------------------------------------------------------------ hostile input files

FUZZ_EXAMPLES = int(os.environ.get("EMNIST_BENCH_FUZZ_EXAMPLES", "300"))
VALID_IMAGES = idx_images(make_images(np.arange(6) % 47))
VALID_LABELS = idx_labels(np.arange(6) % 47)


def _mutations():
    header_fields = st.tuples(st.sampled_from([2051, 2049, 2050, 0, 2**32 - 1]),
                              st.sampled_from([0, 1, 6, 7, 10**6, 10**9, 2**32 - 1]),
                              st.sampled_from([28, 0, 1, 27, 29, 2**16, 2**32 - 1]),
                              st.sampled_from([28, 0, 27, 2**31]))
    forged = header_fields.flatmap(lambda h: st.binary(max_size=2000).map(
        lambda body: struct.pack(">IIII", *h) + body))
    truncated = st.integers(0, len(VALID_IMAGES)).map(lambda n: VALID_IMAGES[:n])
    flipped = st.tuples(st.integers(0, len(VALID_IMAGES) - 1), st.integers(0, 255)).map(
        lambda t: VALID_IMAGES[:t[0]] + bytes([t[1]]) + VALID_IMAGES[t[0] + 1:])
    padded = st.binary(min_size=1, max_size=100).map(lambda extra: VALID_IMAGES + extra)
    return st.one_of(st.binary(max_size=4000), forged, truncated, flipped, padded)


FUZZ_SEEN = {"images": 0, "labels": 0, "mapping": 0}


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=_mutations(), gz=st.booleans(), cut_gzip=st.integers(0, 40))
@pytest.mark.any_backend
def test_fuzz_image_reader_raises_only_its_own_error(tmp_path_factory, payload, gz, cut_gzip):
    path = tmp_path_factory.mktemp("fuzz") / "images"
    raw = gzip.compress(payload) if gz else payload
    if gz and cut_gzip:
        raw = raw[:-cut_gzip]  # a damaged gzip stream
    path.write_bytes(raw)
    FUZZ_SEEN["images"] += 1
    try:
        images = data.read_idx_images(path)
    except data.DataError as error:
        assert str(path) in str(error) and "\n" not in str(error)
    else:
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from([2049, 2051, 0]), st.sampled_from([0, 6, 7, 10**9, 2**32 - 1]),
              st.binary(max_size=50)).map(lambda t: struct.pack(">II", t[0], t[1]) + t[2]),
    st.integers(0, len(VALID_LABELS)).map(lambda n: VALID_LABELS[:n])), gz=st.booleans())
@pytest.mark.any_backend
def test_fuzz_label_reader_raises_only_its_own_error(tmp_path_factory, payload, gz):
    path = tmp_path_factory.mktemp("fuzz") / "labels"
    path.write_bytes(gzip.compress(payload) if gz else payload)
    FUZZ_SEEN["labels"] += 1
    try:
        labels = data.read_idx_labels(path)
    except data.DataError as error:
        assert str(path) in str(error)
    else:
        assert labels.dtype == np.int32


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.binary(max_size=500),
                      st.lists(st.tuples(st.integers(-5, 300), st.integers(-5, 2**21)),
                               max_size=60).map(lambda rows: "\r\n".join(
                                   f"{a} {b}" for a, b in rows).encode())))
@pytest.mark.any_backend
def test_fuzz_mapping_reader_raises_only_its_own_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "mapping.txt"
    path.write_bytes(text)
    FUZZ_SEEN["mapping"] += 1
    try:
        mapping = data.read_mapping(path)
    except data.DataError as error:
        assert str(path) in str(error)
    else:
        assert mapping and all(isinstance(k, int) for k in mapping)


@pytest.mark.any_backend
def test_fuzz_case_counts_are_reported(record_property):
    """Runs after the fuzz tests (file order): quote how many cases ran."""
    for reader, count in FUZZ_SEEN.items():
        record_property(f"fuzz_{reader}", count)
    print(f"fuzzed cases: {FUZZ_SEEN}")
    assert all(count >= min(FUZZ_EXAMPLES, 50) for count in FUZZ_SEEN.values()), FUZZ_SEEN
