"""Progress on long work: the bar inside an epoch, bounded plain lines in logs, ETAs, --quiet,
and epoch rows that reach epochs.csv as each epoch ends."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

import pandas as pd
import pytest

from benchmark import cv, overrides, progress, results
from tests.conftest import REPO, run_cli

BAR_WITH_ETA = re.compile(r"\d+%\|.*\|.*\[\d\d:\d\d<\d\d:\d\d, .*img/s, batch \d+/\d+\]")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progress.time, "perf_counter", fake)
    return fake


class Terminal(io.StringIO):
    def isatty(self):
        return True


def drive(callback, clock, batches: int, seconds_per_batch: float) -> None:
    callback.on_epoch_begin(0)
    for batch in range(batches):
        clock.now += seconds_per_batch
        callback.on_train_batch_end(batch)
    callback.on_epoch_end(0)


def test_a_log_gets_plain_lines_at_a_bounded_rate(clock):
    log = io.StringIO()
    bar = progress.BatchProgress("fold 2/5 ", 3, images=100 * 128, batch_size=128, stream=log,
                                 interval=30)
    drive(bar, clock, batches=100, seconds_per_batch=1.0)  # a 100 s epoch
    lines = log.getvalue().splitlines()
    assert len(lines) == 3  # at 30, 60 and 90 s: never more than one per interval
    assert "\r" not in log.getvalue()
    assert lines[0].startswith("  fold 2/5 epoch 1/3")
    assert "batch 30/100" in lines[0] and "img/s" in lines[0]
    assert "[00:30<01:10" in lines[0]  # elapsed < ETA of the epoch


def test_a_short_epoch_in_a_log_prints_no_line(clock):
    log = io.StringIO()
    bar = progress.BatchProgress("", 1, images=1000, batch_size=100, stream=log, interval=30)
    drive(bar, clock, batches=10, seconds_per_batch=0.1)
    assert log.getvalue() == ""


def test_a_terminal_gets_a_live_bar_that_clears_itself():
    screen = Terminal()
    bar = progress.BatchProgress("fold 1/2 ", 2, images=1000, batch_size=100, stream=screen)
    bar.on_epoch_begin(0)
    for batch in range(10):
        bar.on_train_batch_end(batch)
    bar._bar.refresh()
    drawn = screen.getvalue()
    assert "\r" in drawn and "fold 1/2 epoch 1/2" in drawn and "batch 10/10" in drawn
    bar.on_epoch_end(0)
    assert bar._bar is None


def test_work_clock_eta_counts_only_work_done_here(clock):
    progress.command_started()
    work = progress.WorkClock(5)
    assert work.text() == "elapsed 00:00"  # nothing finished yet: no guess
    work.skip()  # found done by an earlier invocation: no time spent on it
    clock.now += 20
    work.finished()
    clock.now += 20
    work.finished()
    assert work.text() == "elapsed 00:40, ETA 00:40"  # 20 s a unit, 2 units left
    assert work.text(extra_units=1) == "elapsed 00:40, ETA 01:00"
    assert progress.WorkClock(None).text().startswith("elapsed")


def test_elapsed_counts_from_the_start_of_the_command_in_every_trial_or_arm(clock):
    progress.command_started(clock.now - 30)  # Keras took 30 s to import
    first = progress.WorkClock(2)  # e.g. the folds of a first trial or arm
    clock.now += 10
    first.finished()
    assert first.text() == "elapsed 00:40, ETA 00:10"
    clock.now += 10
    first.finished()
    second = progress.WorkClock(2)  # the next trial's folds: a new ETA, the same elapsed
    clock.now += 20
    second.finished()
    assert second.text() == "elapsed 01:10, ETA 00:20"


def test_epoch_rows_reach_epochs_csv_as_each_epoch_ends(nist_dir, tmp_path, monkeypatch):
    from benchmark import data

    dataset = data.load("balanced", nist_dir)
    config = overrides.resolve("mlp", "best", {"units": "16"}, folds=2, seed=1, epochs=3)
    store = results.RunStore(tmp_path, "run")
    store.write_config({"run": config.to_dict(), "digest": config.digest()})
    # An interrupted attempt at fold 1 left three epoch rows behind, one of them stale.
    for epoch in (1, 2, 3):
        store.add_epoch(1, {"epoch": epoch, "loss": 9.0, "accuracy": 0.0, "val_loss": 9.0,
                            "val_accuracy": 0.0, "learning_rate": 0.1, "seconds": 1.0})
    seen = []
    add_fold = results.RunStore.add_fold

    def spy(self, record, epochs):
        table = self.read_table("epochs.csv")  # before the fold's commit: already written
        seen.append(table[table["fold"] == record["fold"]]["epoch"].tolist())
        add_fold(self, record, epochs)

    monkeypatch.setattr(results.RunStore, "add_fold", spy)
    cv.run(config, dataset, store, stream=None)
    folds = store.read_table("folds.csv").set_index("fold")
    assert seen == [list(range(1, folds.loc[f, "epochs_run"] + 1)) for f in (1, 2)]
    epochs = store.read_table("epochs.csv")
    assert not epochs.duplicated(["fold", "epoch"]).any()
    assert (epochs["loss"] != 9.0).all()  # the interrupted attempt's rows are gone


def test_quiet_prints_no_progress_and_changes_no_result(capsys, nist_dir, tmp_path):
    outcomes = {}
    for quiet in (False, True):
        root = tmp_path / ("quiet" if quiet else "loud")
        argv = ["cv", "--arch", "mlp", "--set", "units=16", "--folds", "2", "--epochs", "2",
                "--data-dir", str(nist_dir), "--results-dir", str(root), "--run-id", "r"]
        code, out, err = run_cli(capsys, *argv, *(["--quiet"] if quiet else []))
        bad, _, bad_err = run_cli(capsys, *argv, "--folds", "1", *(["--quiet"] if quiet else []))
        folds = pd.read_csv(root / "r" / "folds.csv")
        outcomes[quiet] = (code, out.replace(str(root), "ROOT"), bad, bad_err,
                           folds[["fold", "val_accuracy", "best_epoch"]])
        if quiet:  # nothing but a warning (a run that learned nothing says so, --quiet or not)
            assert [line for line in err.splitlines()
                    if not line.startswith("emnist-bench: warning: ")] == []
        else:
            assert "fold 2/2:" in err and "ETA" in err
    loud, quiet = outcomes[False], outcomes[True]
    assert loud[:4] == quiet[:4]  # exit codes, results line, the bad-input error
    assert loud[2] == 2 and "--folds" in loud[3]
    pd.testing.assert_frame_equal(loud[4], quiet[4])


def cnn_cv(sample, root) -> list[str]:
    """A CNN run whose epochs outlast the bar's redraw interval (0.5 s) even on a CPU with
    native bfloat16, where 2,000 images at batch 128 trained in under 0.5 s and the bar never
    redrew with an ETA: the whole sample (4,560 images a fold), batch 32."""
    return [sys.executable, "-m", "benchmark.cli", "cv", "--arch", "cnn", "--preset", "best",
            "--folds", "2", "--epochs", "1", "--batch-size", "32", "--data-dir", str(sample),
            "--results-dir", str(root)]


@pytest.mark.slow
@pytest.mark.real_data
def test_cnn_cv_under_a_terminal_shows_a_live_bar_with_eta(real_sample, tmp_path):
    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(cnn_cv(real_sample, tmp_path / "r"), cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=child, stderr=child)
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert proc.wait(timeout=600) == 0
    screen = b"".join(chunks).decode(errors="replace")
    for label in ("fold 1/2 epoch 1/1:", "fold 2/2 epoch 1/1:", "final epoch 1/1:"):
        redraws = [part for part in screen.split("\r") if part.startswith(label)]
        assert any(BAR_WITH_ETA.search(part) for part in redraws), (label, screen[-3000:])


@pytest.mark.slow
@pytest.mark.real_data
def test_cnn_cv_into_a_log_writes_bounded_plain_lines(real_sample, tmp_path):
    env = {**os.environ, "EMNIST_BENCH_PROGRESS_INTERVAL": "0.5"}
    log = tmp_path / "cv.log"
    with open(log, "w") as out:
        done = subprocess.run(cnn_cv(real_sample, tmp_path / "r"), cwd=REPO, env=env,
                              stdout=out, stderr=subprocess.STDOUT, timeout=600)
    text = log.read_text()
    assert done.returncode == 0, text[-3000:]
    assert "\r" not in text
    epochs = pd.read_csv(next((tmp_path / "r").glob("*/epochs.csv")))
    for row in epochs.itertuples():
        label = f"fold {row.fold}/2 epoch {row.epoch}/" if row.fold else f"final epoch {row.epoch}/"
        plain = [line for line in text.splitlines()
                 if line.startswith("  " + label) and "img/s" in line]
        assert len(plain) <= row.seconds / 0.5 + 1, (label, plain)  # one per half second
        if row.seconds > 1.5:
            assert plain, (label, text[-3000:])
