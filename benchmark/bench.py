"""Steady-state training throughput per backend and precision: `emnist-bench bench`.

    emnist-bench bench --arch all --backend all --precision auto --peer
    emnist-bench bench --arch cnn --backend jax --batch-size 256 --json

Every configuration (architecture x backend x precision, and the plain-PyTorch peer) runs in
a fresh worker process (benchmark.workers), because Keras picks its backend once per process and so that each peak
memory belongs to one configuration alone. A worker builds the `best` preset, trains on random
uint8 images with `model.fit` until it has compiled and warmed up, then times a second fit:
its first epoch is not timed, the following ones are (epoch ends are where every backend has
finished its queued work). Timed epochs are as long as the warm-up's speed says the budget
allows, at most one real epoch; timing stops at the first epoch end after the budget is spent
(at least two epochs), or after the planned epochs with --steps. The peer is the same architecture as a plain eager PyTorch loop
(`benchmark/torch_peer.py`), timed the same way after its own warm-up.

FLOPs convention: `forward_flops` counts 2 x multiply-adds per image of the Dense and Conv2D
layers only (bias, BatchNorm, activations, pooling and the optimizer left out); a training step
is counted as 3 x forward (forward, plus gradients with respect to activations and to weights).
GFLOP/s = images per second x training FLOPs per image / 1e9.

Rows are appended to `<results>/bench.csv` (see results/README.md for the columns).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmark import architectures, backends, provenance, workers
from benchmark.arguments import positive
from benchmark.backends import BACKENDS, installed

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto", "both")
COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
PEER = "pytorch"  # the backend column of the plain-PyTorch peer's rows
PRESET = "best"
NUM_CLASSES = 47
EPOCH_IMAGES = 112_800  # EMNIST Balanced's training split: what epoch_seconds projects to
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (activation and weight gradients)
WARMUP_MIN_STEPS = 2  # steps after the compiling first one, also the speed estimate's sample
MIN_STEPS = 3  # timed steps at the least, whatever the time budget
SEED = 0
COLUMNS = [
    "bench_id", "created", "arch", "preset", "backend", "precision", "compute_dtype",
    "batch_size", "images_per_second", "ms_per_step", "epoch_seconds", "vs_peer",
    "peak_memory_mb", "peak_device_memory_mb", "params", "forward_flops", "train_flops",
    "gflops_per_second",
    "steps", "timed_seconds", "warmup_seconds", "first_step_seconds", "threads", "settings",
    "other_cpu",
    "keras_version", "framework_version", "cpu", "cores", "memory_gib", "platform",
    "accelerator", "code_version", "command",
]


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def add_parser(commands) -> argparse.ArgumentParser:
    """Add the `bench` subcommand to the CLI's subparsers (their parser_class is used)."""
    parser = commands.add_parser(
        "bench", help="steady-state training throughput per backend and precision",
        description="Training throughput of the best presets with compile and warm-up "
        "excluded; one worker process per configuration. Training FLOPs = 3 x forward "
        "(Dense and Conv2D multiply-adds x 2).")
    parser.add_argument("--arch", required=True, choices=(*architectures.names(), "all"),
                        help="architecture (its 'best' preset), or all")
    parser.add_argument("--backend", choices=(*BACKENDS, "all"),
                        help="Keras backend, or all (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="float32, mixed_bfloat16, mixed_float16, auto = the device's "
                        "fastest (mixed_bfloat16 on a GPU with bf16 tensor cores or a CPU with "
                        "AVX512_BF16 or AMX, mixed_float16 on older tensor cores, else "
                        "float32), or both = float32 then mixed_bfloat16 in one invocation "
                        "(default: float32)")
    parser.add_argument("--batch-size", type=positive, default=128, help="default: 128")
    parser.add_argument("--seconds", type=positive_float, default=10.0,
                        help="timed seconds per configuration, after warm-up (default: 10)")
    parser.add_argument("--warmup-seconds", type=non_negative_float, default=2.0,
                        help="untimed training after the compiling first step (default: 2)")
    parser.add_argument("--steps", type=positive,
                        help="time this many steps instead of --seconds (rounded up to whole "
                        "epochs of equal size, at least 2)")
    parser.add_argument("--peer", action="store_true",
                        help="also time the same architecture as a plain PyTorch loop "
                        "(eager; bf16 via torch.autocast) and print each backend's ratio to it")
    parser.add_argument("--json", action="store_true",
                        help="print the results as a JSON list instead of a table")
    parser.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")
    return parser


# ---------------------------------------------------------------------------------------------
# The parent: plans the configurations, runs one worker per configuration, stores and prints.


def resolve_precisions(name: str) -> list[str]:
    """`both` -> float32 and mixed_bfloat16; `auto` stays: each worker resolves it to the
    fastest precision of its own device (precision.fastest), and its row records the result."""
    if name == "both":
        return ["float32", "mixed_bfloat16"]
    return [name]


def resolve_backends(name: str | None) -> tuple[list[str], list[str]]:
    """The backends to measure and the ones skipped (not installed) from --backend."""
    from benchmark.arguments import UsageError

    if name == "all":
        found = [b for b in BACKENDS if installed(b)]
        return found, [b for b in BACKENDS if b not in found]
    backend = name or backends.current()
    if backend not in BACKENDS:
        raise UsageError(f"KERAS_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    if not installed(backend):
        raise UsageError(f"backend {backend} is not installed")
    return [backend], []


class OtherWork:
    """Share of the machine's CPU time that other processes used inside the `with` block: all
    busy CPU time less our children's (the worker's), over wall time x cores."""

    def __enter__(self) -> OtherWork:
        self.share = None
        self.start = self._sample()
        return self

    def __exit__(self, *exc) -> None:
        end = self._sample()
        if self.start and end:
            wall, busy, ours = (b - a for a, b in zip(self.start, end, strict=True))
            share = (busy - ours) / (wall * (os.cpu_count() or 1))
            self.share = round(min(1.0, max(0.0, share)), 3)

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        import resource

        try:
            import psutil

            cpu = psutil.cpu_times()
        except (ImportError, OSError):
            return None
        idle = cpu.idle + getattr(cpu, "iowait", 0.0)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (time.monotonic(), sum(cpu) - idle - getattr(cpu, "guest", 0.0)
                - getattr(cpu, "guest_nice", 0.0), children.ru_utime + children.ru_stime)




def run(args) -> int:
    """`emnist-bench bench`: measure, append to bench.csv, print a table or JSON."""
    from benchmark.arguments import UsageError

    archs = architectures.names() if args.arch == "all" else [args.arch]
    backends, skipped = resolve_backends(args.backend)
    if args.peer and not installed("torch"):
        raise UsageError("--peer needs PyTorch (pip install torch)")
    precisions = resolve_precisions(args.precision)
    from benchmark import provenance, results  # no Keras here: only workers import it

    root = Path(args.results_dir) if args.results_dir else results.default_root()
    bench_id = "bench-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = {"bench_id": bench_id, "preset": PRESET, "code_version": provenance.code_version(),
            "command": command_line(args),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    budget = {"batch_size": args.batch_size, "seconds": args.seconds,
              "warmup_seconds": args.warmup_seconds, "steps": args.steps, "seed": SEED}

    def sides(arch: str) -> list[tuple[str, str]]:  # the peer first, where the arch has one
        peer = [("peer", PEER)] if args.peer and architectures.get(arch).peer else []
        return peer + [("keras", b) for b in backends]

    plan = [(arch, precision, kind, backend) for precision in precisions for arch in archs
            for kind, backend in sides(arch)]
    note = f"; {', '.join(skipped)} not installed" if skipped else ""
    print(f"emnist-bench bench: {len(plan)} configuration(s), batch {args.batch_size}, "
          f"{f'{args.steps} steps' if args.steps else f'{args.seconds:g} s'} timed each{note}",
          file=sys.stderr, flush=True)

    rows, failures = [], []
    with tempfile.TemporaryDirectory(prefix="emnist-bench-") as folder:
        for i, (arch, precision, kind, backend) in enumerate(plan, start=1):
            label = "plain PyTorch" if kind == "peer" else f"Keras on {backend}"
            print(f"bench [{i}/{len(plan)}]: {arch} with {label}, {precision}, batch "
                  f"{args.batch_size} ...", file=sys.stderr, flush=True)
            with OtherWork() as other:  # other work on the machine skews every figure
                record = spawn({"kind": kind, "arch": arch, "backend": backend,
                                "precision": precision, **budget}, Path(folder))
            if "error" in record:
                print(f"bench [{i}/{len(plan)}]: {arch} with {label} failed: {record['error']}",
                      file=sys.stderr, flush=True)
                failures.append(f"{arch}/{backend}/{precision}: {record['error']}")
                continue
            print(f"  {record['images_per_second']:,.0f} img/s, {record['ms_per_step']:.2f} "
                  f"ms/step, peak {record['peak_memory_mb']:,.0f} MB",
                  file=sys.stderr, flush=True)
            rows.append(to_row({**record, "other_cpu": other.share}, base))
            add_ratio(rows)
            # Stored as each one finishes: an interrupted invocation keeps what it measured.
            append_rows(root / "bench.csv", rows[-1:])
    if rows:
        print(f"emnist-bench bench: {len(rows)} row(s) -> {root / 'bench.csv'}",
              file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows, failures))
    return 1 if failures else 0


def command_line(args) -> str:
    """The bench command that reproduces this invocation, every option spelled out."""
    words = ["emnist-bench", "bench", "--arch", args.arch, "--backend", args.backend or
             backends.current(), "--precision", args.precision,
             "--batch-size", str(args.batch_size), "--warmup-seconds", f"{args.warmup_seconds:g}"]
    words += ["--steps", str(args.steps)] if args.steps else ["--seconds", f"{args.seconds:g}"]
    return " ".join(words + (["--peer"] if args.peer else []))


def to_row(record: dict, base: dict) -> dict:
    """A bench.csv row from a worker's record and the invocation's fields."""
    machine, versions = record.pop("machine", {}), record.pop("versions", {})
    backend = "torch" if record["backend"] == PEER else record["backend"]
    framework = provenance.framework_version(backend, versions)
    row = {**base, **record, "vs_peer": None,
           "keras_version": versions.get("keras") if record["kind"] == "keras" else None,
           "framework_version": framework, **machine}
    return {column: row.get(column) for column in COLUMNS}


def add_ratio(rows: list[dict]) -> None:
    """The last row's vs_peer: its images per second over the peer's (same arch, precision and
    batch size; the peer is measured first), or None without a peer."""
    row = rows[-1]
    peers = [r["images_per_second"] for r in rows if r["backend"] == PEER and
             (r["arch"], r["precision"], r["batch_size"]) ==
             (row["arch"], row["precision"], row["batch_size"])]
    row["vs_peer"] = round(row["images_per_second"] / peers[-1], 4) if peers else None


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append rows to bench.csv: read what is there, add, write atomically."""
    import pandas as pd

    from benchmark import results

    new = pd.DataFrame(rows, columns=COLUMNS)
    if path.exists():
        new = pd.concat([pd.read_csv(path), new], ignore_index=True)
        new = new[COLUMNS + [c for c in new if c not in COLUMNS]]  # older files lack new columns
    results.write_csv(path, new)


def format_table(rows: list[dict], failures: list[str]) -> str:
    """The readable report: one line per configuration, the machine and conventions above."""
    lines = []
    if rows:
        first = rows[0]
        lines.append(f"{first['cpu']}, {first['cores']} cores, {first['memory_gib']} GiB; "
                     f"code {first['code_version']}")
        lines.append(f"steady state, compile and warm-up excluded; epoch = {EPOCH_IMAGES:,} "
                     f"images; training FLOPs = {TRAIN_FLOPS_PER_FORWARD} x forward")
        lines.append(f"{'arch':<7}{'backend':<12}{'precision':<16}{'batch':>6}{'img/s':>10}"
                     f"{'ms/step':>9}{'epoch s':>9}{'peak MB':>9}{'GFLOP/s':>9}{'vs peer':>9}")
        for r in rows:
            ratio = f"{r['vs_peer']:.2f}x" if r["vs_peer"] else "-"
            lines.append(f"{r['arch']:<7}{r['backend']:<12}{r['precision']:<16}"
                         f"{r['batch_size']:>6}{r['images_per_second']:>10,.0f}"
                         f"{r['ms_per_step']:>9.2f}{r['epoch_seconds']:>9.1f}"
                         f"{r['peak_memory_mb']:>9,.0f}{r['gflops_per_second']:>9.1f}{ratio:>9}")
    busy = [r["other_cpu"] for r in rows if r["other_cpu"] is not None and r["other_cpu"] > 0.1]
    if busy:
        lines.append(f"note: other processes used up to {max(busy):.0%} of the machine's CPU "
                     "while a configuration ran (column other_cpu): such figures are low, "
                     "PyTorch's most (its threads wait for each other at every op)")
    lines += [f"failed: {failure}" for failure in failures]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The worker: one configuration in this process.


def plan_steps(step_seconds: float, seconds: float, steps: int | None,
               batch_size: int) -> tuple[int, int]:
    """(timed epochs, steps per epoch) for a time budget or a step count.

    At least two equal epochs (their ends are the timing points), none longer than a real
    epoch of EMNIST Balanced, so the data stays at most one epoch's worth of images. With a
    time budget only the epoch length is used: timing_done decides when to stop.
    """
    total = steps or max(MIN_STEPS, math.ceil(seconds / max(step_seconds, 1e-6)))
    cap = max(1, EPOCH_IMAGES // batch_size)
    epochs = max(2, math.ceil(total / cap))
    return epochs, math.ceil(total / epochs)


def timing_done(epochs_done: int, elapsed: float, epochs: int, seconds: float,
                steps: int | None) -> bool:
    """Whether the timed epochs are enough: the planned ones with --steps; else at least two
    and the time budget spent, so a wrong estimate (the speed of a shared machine changes)
    gives a window neither much longer nor shorter than asked."""
    if steps:
        return epochs_done >= epochs
    return epochs_done >= 2 and elapsed >= seconds


def plan_text(epochs: int, per_epoch: int, seconds: float, steps: int | None) -> str:
    if steps:
        return f"{epochs} epochs of {per_epoch} steps"
    return f"epochs of {per_epoch} steps for {seconds:g} s (at least 2 epochs)"


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across the exec that started the
    worker, so it would report the parent's peak when that is larger.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_data(batch_size: int, seed: int):
    """One epoch's worth (at most 112,800 images, whole batches) of uint8 images and labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = max(1, EPOCH_IMAGES // batch_size) * batch_size
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, NUM_CLASSES, size=n).astype(np.int32))


def forward_flops(model) -> int:
    """Forward FLOPs per image of a Keras model: 2 x multiply-adds of its Dense and Conv2D layers.

    Dense: 2 x inputs x units; Conv2D: 2 x H_out x W_out x k x k x C_in x C_out; both are
    2 x (kernel size without its last axis) x (output elements per image). Bias, BatchNorm,
    activations and pooling are left out. Nested models are walked.
    """
    import keras

    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers"):
            total += forward_flops(layer)
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            total += 2 * math.prod(layer.kernel.shape[:-1]) * math.prod(layer.output.shape[1:])
    return total


def best_model(arch: str, precision: str, batch_size: int, seed: int):
    """The architecture's best preset, compiled, at this precision (Keras already imported):
    what every `cv` fold builds (cv.new_model)."""
    from benchmark import cv, presets

    return cv.new_model(presets.resolve(arch, PRESET, batch_size=batch_size,
                                        precision=precision), seed)


def measure_keras(arch: str, backend: str, precision: str, batch_size: int, seconds: float,
                  warmup_seconds: float, steps: int | None, seed: int) -> dict:
    """Time model.fit of an architecture's best preset in this process (see the module doc)."""
    from benchmark.backends import choose_backend

    # As in every emnist-bench run, TensorFlow is imported on every backend where it is
    # installed (keras.utils.set_random_seed imports it to seed it), so the peak memory of
    # jax and torch includes it too; choose_backend imports it with its C++ start-up silenced.
    choose_backend(backend)
    import keras

    model = best_model(arch, precision, batch_size, seed)
    compute_dtype = next(layer.compute_dtype for layer in model.layers
                         if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)))
    x, y = random_data(batch_size, seed)

    class WarmUp(keras.callbacks.Callback):
        """Stop once the first (compiling) step and warm-up are done; keep the step ends."""

        def on_train_begin(self, logs=None):
            self.begin, self.ends = time.perf_counter(), []

        def on_train_batch_end(self, batch, logs=None):
            wait_for_device(backend, self.model)
            self.ends.append(time.perf_counter())
            if (len(self.ends) > WARMUP_MIN_STEPS
                    and self.ends[-1] - self.ends[0] >= warmup_seconds):
                self.model.stop_training = True

    class EpochEnds(keras.callbacks.Callback):
        """Epoch ends only: a batch-end hook would make JAX wait for every step."""

        def on_train_begin(self, logs=None):
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            wait_for_device(backend, self.model)
            self.ends.append(time.perf_counter())
            if timing_done(len(self.ends) - 1, self.ends[-1] - self.ends[0], epochs,
                           seconds, steps):
                self.model.stop_training = True

    warm = WarmUp()
    model.fit(x, y, batch_size=batch_size, epochs=10**6, verbose=0, callbacks=[warm])
    estimate = statistics.median(b - a for a, b in zip(warm.ends, warm.ends[1:], strict=False))
    epochs, per_epoch = plan_steps(estimate, seconds, steps, batch_size)
    n = per_epoch * batch_size
    progress(f"warmed up in {warm.ends[-1] - warm.begin:.1f} s (first step "
             f"{warm.ends[0] - warm.begin:.1f} s); timing "
             f"{plan_text(epochs, per_epoch, seconds, steps)} after one untimed epoch")
    timer = EpochEnds()
    # One untimed epoch first: a new fit builds a new data iterator, so its first steps wait.
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1 + (epochs if steps else 10**6),
              verbose=0, callbacks=[timer])
    threads = None
    if backend == "torch":
        import torch

        threads = torch.get_num_threads()
    return summarise(
        arch=arch, backend=backend, precision=precision, compute_dtype=compute_dtype,
        batch_size=batch_size, steps=(len(timer.ends) - 1) * per_epoch,
        timed_seconds=timer.ends[-1] - timer.ends[0],
        warmup_seconds=warm.ends[-1] - warm.begin, first_step_seconds=warm.ends[0] - warm.begin,
        params=model.count_params(), forward=forward_flops(model), threads=threads,
        peak_device_memory_mb=device_peak_mb(backend))


def wait_for_device(backend: str, model) -> None:
    """Block until the device has run the steps queued so far: a GPU step returns as soon as it
    is queued (JAX: block_until_ready on a weight the last step wrote; PyTorch: CUDA
    synchronize). On a CPU, and on TensorFlow, whose fit reads the step's logs back, it
    returns at once."""
    from benchmark import devices

    if not devices.on_gpu(backend):
        return
    if backend == "jax":
        import jax

        jax.block_until_ready([v.value for v in model.trainable_variables])
    elif backend == "torch":
        import torch

        torch.cuda.synchronize()


def device_peak_mb(backend: str) -> float | None:
    """The GPU memory this process held at its peak, in MiB (None on a CPU): PyTorch's
    max_memory_allocated, JAX's peak_bytes_in_use, TensorFlow's get_memory_info peak."""
    from benchmark import devices

    if not devices.on_gpu(backend):
        return None
    try:
        if backend == "torch":
            import torch

            return torch.cuda.max_memory_allocated() / 2**20
        if backend == "jax":
            import jax

            return jax.devices()[0].memory_stats()["peak_bytes_in_use"] / 2**20
        import tensorflow as tf

        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    except Exception:  # a figure the runtime does not keep is left empty, never fatal
        return None


def measure_peer(arch: str, precision: str, batch_size: int, seconds: float,
                 warmup_seconds: float, steps: int | None, seed: int) -> dict:
    """Time the plain PyTorch loop of torch_peer in this process, warm-up excluded."""
    import torch

    from benchmark import torch_peer

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    where = torch_peer.device()  # the GPU where there is one, as Keras on torch and JAX use
    model = torch_peer.build(arch).to(where)
    step = torch_peer.make_step(arch, model, precision)
    x, y = (torch.from_numpy(a).to(where) for a in random_data(batch_size, seed))
    y = y.long()
    generator = torch.Generator(where).manual_seed(seed)

    def epoch(steps_per_epoch: int):
        """Shuffled batches of one epoch, gathered as Keras's fit gathers them."""
        order = torch.randperm(steps_per_epoch * batch_size, generator=generator,
                               device=where)
        for i in range(steps_per_epoch):
            index = order[i * batch_size:(i + 1) * batch_size]
            yield x[index], y[index]

    begin, ends = time.perf_counter(), []
    while len(ends) <= WARMUP_MIN_STEPS or ends[-1] - ends[0] < warmup_seconds:
        for xb, yb in epoch(len(x) // batch_size):
            step(xb, yb)
            torch_peer.synchronize(where)  # warm-up steps are timed one by one
            ends.append(time.perf_counter())
            if len(ends) > WARMUP_MIN_STEPS and ends[-1] - ends[0] >= warmup_seconds:
                break
    estimate = statistics.median(b - a for a, b in zip(ends, ends[1:], strict=False))
    epochs, per_epoch = plan_steps(estimate, seconds, steps, batch_size)
    progress(f"warmed up in {ends[-1] - begin:.1f} s (first step {ends[0] - begin:.1f} s); "
             f"timing {plan_text(epochs, per_epoch, seconds, steps)}")
    start, done = time.perf_counter(), 0
    while not timing_done(done, time.perf_counter() - start, epochs, seconds, steps):
        for xb, yb in epoch(per_epoch):
            step(xb, yb)
        torch_peer.synchronize(where)  # an epoch ends when the device has run it
        done += 1
    timed = time.perf_counter() - start
    return summarise(
        arch=arch, backend=PEER, precision=precision,
        compute_dtype=COMPUTE_DTYPES[precision],
        batch_size=batch_size, steps=done * per_epoch, timed_seconds=timed,
        warmup_seconds=ends[-1] - begin, first_step_seconds=ends[0] - begin,
        params=torch_peer.param_count(model), forward=torch_peer.forward_flops(model),
        threads=torch.get_num_threads(), peak_device_memory_mb=device_peak_mb("torch"))


def summarise(*, steps: int, timed_seconds: float, batch_size: int, forward: int,
              **fields) -> dict:
    """A worker's record: the throughput figures derived from steps and seconds."""
    images_per_second = steps * batch_size / timed_seconds
    train = TRAIN_FLOPS_PER_FORWARD * forward
    return {**fields, "batch_size": batch_size, "steps": steps, "timed_seconds": timed_seconds,
            "images_per_second": images_per_second,
            "ms_per_step": 1000 * timed_seconds / steps,
            "epoch_seconds": EPOCH_IMAGES / images_per_second,
            "forward_flops": forward, "train_flops": train,
            "gflops_per_second": images_per_second * train / 1e9}


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def measure(spec: dict) -> dict:
    """A worker's record: one configuration measured in this process, with the machine."""
    budget = {k: spec[k] for k in ("precision", "batch_size", "seconds", "warmup_seconds",
                                   "steps", "seed")}
    if budget["precision"] == "auto":
        from benchmark import devices, precision

        device = devices.current(spec["backend"] if spec["kind"] == "keras" else "torch")
        budget["precision"] = precision.fastest(device)
    if spec["kind"] == "peer":
        record = measure_peer(spec["arch"], **budget)
    else:
        record = measure_keras(spec["arch"], spec["backend"], **budget)
    record.update(kind=spec["kind"], peak_memory_mb=peak_memory_mb())
    from benchmark import provenance

    record.update(machine=provenance.machine(), versions=provenance.versions(),
                  settings=provenance.settings_text())
    return record


def spawn(spec: dict, folder: Path) -> dict:
    """One configuration measured in a worker process of its own (workers.spawn)."""
    return workers.spawn(spec, folder, "benchmark.bench")


if __name__ == "__main__":  # `python -m benchmark.bench --worker SPEC`
    sys.exit(workers.serve(sys.argv[1:], measure, "bench"))
