"""The offline GPU batch: the runs a lent GPU machine does first, as one resumable script.

    python -m benchmark.gpu_batch wheels .whl                     # where pip can download
    python -m benchmark.gpu_batch run --out "$OUT" --deadline 540  # on the GPU machine
    emnist-bench unpack gpu-batch.tar.gz                          # back home

A GPU machine without a network (the device of README's "On a GPU") has CUDA builds of PyTorch
and JAX, pandas, scikit-learn and SciPy, but not Keras, KerasTuner or TensorFlow. `wheels`
downloads, where pip can reach PyPI, the few pure-Python packages it lacks, at the versions
installed here, for the GPU machine's Python; `run` installs them there (`--no-index`, into a
folder of its own, nothing system-wide) and runs, in this order, each step a separate
`python -m benchmark.cli` process:

1. `bench`: `bench --arch all --backend all --peer` on the device (Keras on each installed
   backend and the plain-PyTorch peer), which also says which backend trains the ResNet fastest;
2. `resnet`: the ResNet study part that matters most, `study --arch resnet --factors
   batch_norm,optimizer,regularization` on every training image, 5 folds x 8 epochs (the
   baseline, which is also the best preset, then the arms of the study's large effects: no
   batch norm, SGD, L1 and L2), on the fastest backend.

Every step resumes what an earlier batch left (the committed ResNet folders are copied into the
batch's results folder first, and `cv`, `ablate` and `study` resume fold by fold). With
`--deadline`, a step still running when the time is up is interrupted like Ctrl-C (its finished
folds are kept) and later steps are skipped, so the archive always comes back: the runs and
bench.csv of the batch's results folder in one .tar.gz (`pack`), plus the log.

This module imports nothing but the standard library: the packages it installs are not
importable until it has installed them.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

# What a CUDA machine with PyTorch, JAX and the scientific stack lacks (the device's KINDS.md
# lists what it has): Keras and KerasTuner with their own small dependencies.
LACKING = ("keras", "keras-tuner", "kt-legacy", "namex", "optree")
# The study's large ResNet effects, which a GPU decides at the preset budget; its sub-point
# effects (blocks, activations, RMSprop, schedules, dropout) need repeats it has no time for.
LARGE_EFFECTS = "batch_norm,optimizer,regularization"
STEPS = ("bench", "resnet")
ARCHIVE = "gpu-batch.tar.gz"
LOG = "gpu-batch.log"
GRACE_SECONDS = 60  # after the interrupt, what a step gets to write its last files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.gpu_batch",
                                     description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    wheels = commands.add_parser("wheels", help="download the wheels a GPU machine lacks")
    wheels.add_argument("folder", help="where the wheels go (e.g. .whl)")
    wheels.add_argument("--python-version", default="3.12",
                        help="the GPU machine's Python (default: 3.12)")
    run = commands.add_parser("run", help="run the batch and pack its results")
    run.add_argument("--data-dir", default="../shared/data/emnist-bymerge-holdout",
                     help="NIST-layout data (default: ../shared/data/emnist-bymerge-holdout)")
    run.add_argument("--split", default="bymerge", help="default: bymerge")
    run.add_argument("--out", default=os.environ.get("OUT") or ".",
                     help="where the archive and the log go (default: $OUT, else .)")
    run.add_argument("--work", default="gpu-results",
                     help="the batch's results folder (default: gpu-results)")
    run.add_argument("--wheels", default=".whl",
                     help="wheels to install first, if the folder exists (default: .whl)")
    run.add_argument("--deadline", type=float,
                     help="seconds: interrupt the step running then, skip the rest, pack")
    run.add_argument("--steps", default=",".join(STEPS),
                     help=f"comma-separated, in order (default: {','.join(STEPS)})")
    run.add_argument("--backend", help="the ResNet's backend (default: bench's fastest, else "
                     "torch)")
    run.add_argument("--folds", type=int, default=5, help="default: 5")
    run.add_argument("--epochs", type=int, default=8, help="default: 8 (the preset's)")
    run.add_argument("--limit", type=int, help="training images (default: all)")
    run.add_argument("--factors", default=LARGE_EFFECTS, help=f"default: {LARGE_EFFECTS}")
    run.add_argument("--bench-seconds", type=float, default=10, help="default: 10")
    args = parser.parse_args(argv)
    return download(args) if args.command == "wheels" else batch(args)


def download(args) -> int:
    """pip download of LACKING at the versions installed here, for the GPU machine."""
    pins = [f"{name}=={metadata.version(name)}" for name in LACKING]
    platforms = [f"--platform=manylinux_2_{n}_x86_64" for n in (28, 27, 17)]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"--python-version={args.python_version}", "--implementation=cp", *platforms,
               "--platform=manylinux2014_x86_64", "-d", args.folder, *pins]
    print(" ".join(command), flush=True)
    return subprocess.call(command)


class Batch:
    """The steps' shared state: where things go, the clock, the log."""

    def __init__(self, args):
        self.args = args
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = Path(args.work)
        self.log = (self.out / LOG).open("a")
        self.start = time.monotonic()
        self.env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.stopped = False

    def say(self, text: str) -> None:
        line = f"[gpu-batch {time.monotonic() - self.start:7.0f}s] {text}"
        print(line, flush=True)
        print(line, file=self.log, flush=True)

    def left(self) -> float | None:
        if self.args.deadline is None:
            return None
        return self.args.deadline - (time.monotonic() - self.start)

    def cli(self, *words: str, bounded: bool = True) -> int:
        """One `python -m benchmark.cli` step, interrupted (SIGINT) at the deadline if
        `bounded` (packing is not: the archive must come back)."""
        command = [sys.executable, "-m", "benchmark.cli", *words]
        self.say("$ " + " ".join(command))
        process = subprocess.Popen(command, env=self.env, stdout=self.log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        left = self.left() if bounded else None
        try:
            code = process.wait(timeout=None if left is None else max(left, 1))
        except subprocess.TimeoutExpired:
            self.say("deadline: interrupting (finished folds are kept)")
            self.stopped = True
            os.killpg(process.pid, signal.SIGINT)
            try:
                code = process.wait(timeout=GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                code = process.wait()
        self.say(f"exit code {code}")
        return code


def install(batch: Batch) -> None:
    """The wheels, if there are any, into a folder of the batch's own on PYTHONPATH."""
    here = str(Path(__file__).resolve().parents[1])
    paths = [here]
    wheels = sorted(Path(batch.args.wheels).glob("*.whl"))
    if wheels:
        site = batch.work.parent / ".gpu-batch-site"
        command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                   "--no-compile", "--upgrade", "--target", str(site), *map(str, wheels)]
        batch.say("$ " + " ".join(command[:9]) + f" ... ({len(wheels)} wheels)")
        subprocess.run(command, check=True, stdout=batch.log, stderr=subprocess.STDOUT)
        paths.insert(0, str(site))
    batch.env["PYTHONPATH"] = os.pathsep.join(
        [*paths, *filter(None, [os.environ.get("PYTHONPATH")])])


def seed_results(batch: Batch) -> None:
    """Copy the committed ResNet folders into the batch's results folder, so its runs resume."""
    batch.work.mkdir(parents=True, exist_ok=True)
    committed = Path(__file__).resolve().parents[1] / "results"
    for folder in sorted(committed.glob("*resnet-*")):
        target = batch.work / folder.name
        if folder.is_dir() and not target.exists():
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.lock", "model.keras"))


def fastest_backend(work: Path) -> str | None:
    """The Keras backend with the most ResNet images/s in the newest bench of `work`."""
    path = work / "bench.csv"
    if not path.exists():
        return None
    rows = list(csv.DictReader(path.open()))
    newest = rows[-1]["bench_id"] if rows else None  # bench.csv grows at the end
    keras_rows = [r for r in rows if r["bench_id"] == newest and r["arch"] == "resnet"
                  and r["backend"] != "pytorch" and r["images_per_second"]]
    if not keras_rows:
        return None
    return max(keras_rows, key=lambda r: float(r["images_per_second"]))["backend"]


def batch(args) -> int:
    run = Batch(args)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        print(f"gpu_batch: error: unknown step {unknown[0]!r}; choose from {', '.join(STEPS)}",
              file=sys.stderr)
        return 2
    install(run)
    seed_results(run)
    results = ["--results-dir", str(run.work)]
    failed = 0
    for step in steps:
        if run.stopped:
            run.say(f"skipped {step}: the deadline has passed")
            continue
        if step == "bench":
            failed |= run.cli("bench", "--arch", "all", "--backend", "all", "--precision",
                              "auto", "--peer", "--seconds", str(args.bench_seconds),
                              *results) != 0
        elif step == "resnet":
            backend = args.backend or fastest_backend(run.work) or "torch"
            data = ["--split", args.split, "--data-dir", args.data_dir,
                    *(["--limit", str(args.limit)] if args.limit else [])]
            failed |= run.cli("study", "--arch", "resnet", "--factors", args.factors,
                              "--folds", str(args.folds), "--epochs", str(args.epochs),
                              "--backend", backend, "--precision", "auto", *data,
                              *results) != 0
    archive = run.out / ARCHIVE
    code = run.cli("pack", str(archive), *results, bounded=False)
    run.say(f"packed {archive} ({archive.stat().st_size if archive.exists() else 0:,} bytes)"
            if code == 0 else "pack failed")
    return 1 if code or (failed and not run.stopped) else 0


if __name__ == "__main__":
    sys.exit(main())
