"""The offline GPU batch (benchmark/gpu_batch.py), tried on the CPU at a tiny budget."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from benchmark import gpu_batch
from tests.synthetic import write_nist

ROOT = Path(__file__).resolve().parents[1]


def run_batch(tmp_path: Path, *words: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    return subprocess.run([sys.executable, "-m", "benchmark.gpu_batch", "run",
                           "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work"),
                           "--wheels", str(tmp_path / "no-wheels"), *words],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.any_backend
def test_the_batch_runs_the_resnet_study_part_and_packs_one_archive(tmp_path):
    data = write_nist(tmp_path / "nist", split="bymerge", train_per_class=4)
    done = run_batch(tmp_path, "--steps", "resnet", "--data-dir", str(data), "--folds", "2",
                     "--epochs", "1", "--factors", "batch_norm", "--backend",
                     os.environ.get("KERAS_BACKEND", "torch"))
    log = (tmp_path / "out" / gpu_batch.LOG).read_text()
    assert done.returncode == 0, log[-3000:]
    with tarfile.open(tmp_path / "out" / gpu_batch.ARCHIVE) as archive:
        names = archive.getnames()
    new = {n.split("/")[0] for n in names if n.split("/")[0].startswith(("study-resnet-",
                                                                          "ablate-resnet-"))}
    # The study's folder and its ablation (baseline arm copied, the no-batch-norm arm trained),
    # beside the committed ResNet folders the batch copied in to resume from.
    assert any(n.endswith("/study.csv") for n in names)
    assert any("/arms/batch_norm-false/" in n or "/arms/batch_norm" in n for n in names)
    committed = {p.name for p in (ROOT / "results").glob("*resnet-*")}
    assert committed <= {n.split("/")[0] for n in names}
    assert len(new) > len({c for c in committed if c.startswith(("study-", "ablate-"))})
    assert "study --arch resnet --factors batch_norm" in log and "packed" in log


@pytest.mark.any_backend
def test_a_deadline_interrupts_the_step_and_still_packs(tmp_path):
    data = write_nist(tmp_path / "nist", split="bymerge", train_per_class=4)
    done = run_batch(tmp_path, "--steps", "resnet,bench", "--data-dir", str(data),
                     "--deadline", "3", "--backend", "torch")
    log = (tmp_path / "out" / gpu_batch.LOG).read_text()
    assert "deadline: interrupting" in log and "skipped bench" in log
    assert (tmp_path / "out" / gpu_batch.ARCHIVE).stat().st_size > 0
    assert done.returncode == 0, log[-3000:]


def test_an_unknown_step_is_refused_in_one_line(tmp_path):
    done = run_batch(tmp_path, "--steps", "resnet,train-everything")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gpu_batch: error: unknown step 'train-everything'; choose from bench, resnet"]


def test_the_resnet_trains_on_the_backend_the_newest_bench_found_fastest(tmp_path):
    columns = ["bench_id", "arch", "backend", "images_per_second"]
    rows = [("old", "resnet", "tensorflow", "9999"), ("new", "resnet", "torch", "3000"),
            ("new", "resnet", "jax", "4000"), ("new", "resnet", "pytorch", "5000"),
            ("new", "cnn", "torch", "90000")]
    with (tmp_path / "bench.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)
    assert gpu_batch.fastest_backend(tmp_path) == "jax"  # the plain-PyTorch peer is no backend
    assert gpu_batch.fastest_backend(tmp_path / "none") is None
