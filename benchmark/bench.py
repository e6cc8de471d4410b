"""Steady-state training throughput per backend and precision: `emnist-bench bench`.

    emnist-bench bench --arch all --backend all --precision auto --peer
    emnist-bench bench --arch cnn --backend jax --batch-size 256 --json

The parser and the parent: it plans the configurations (architecture x backend x precision,
and the plain-PyTorch peer), measures each in a fresh worker process (benchmark.bench_worker:
how a configuration is timed, and the FLOPs convention), and prints the table. No Keras here:
only the workers import it.

Rows are appended to `<results>/bench.csv` (see results/README.md for the columns).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmark import architectures, backends, config, provenance, workers
from benchmark.arguments import UsageError, non_negative_float, positive, positive_float
from benchmark.backends import installed
from benchmark.bench_args import BACKEND_CHOICES, resolve_backends

# The Keras policies, `auto` (each worker's fastest, precision.fastest) and `both`.
PRECISIONS = (*config.PRECISIONS, "auto", "both")
PEER = "pytorch"  # the backend column of the plain-PyTorch peer's rows
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


def add_parser(commands) -> argparse.ArgumentParser:
    """Add the `bench` subcommand to the CLI's subparsers (their parser_class is used)."""
    parser = commands.add_parser(
        "bench", help="steady-state training throughput per backend and precision",
        description="Training throughput of the best presets with compile and warm-up "
        "excluded; one worker process per configuration. Training FLOPs = 3 x forward "
        "(Dense and Conv2D multiply-adds x 2).")
    parser.add_argument("--arch", required=True, choices=(*architectures.names(), "all"),
                        help="architecture (its 'best' preset), or all")
    parser.add_argument("--backend", choices=BACKEND_CHOICES,
                        help="Keras backend, or all (default: $KERAS_BACKEND, else "
                        f"{backends.DEFAULT})")
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
    archs = architectures.names() if args.arch == "all" else [args.arch]
    backends, skipped = resolve_backends(args.backend)
    if args.peer and not installed("torch"):
        raise UsageError("--peer needs PyTorch (pip install torch)")
    precisions = resolve_precisions(args.precision)
    from benchmark import results
    from benchmark.bench_worker import PRESET  # no Keras here: only the workers import it

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
    from benchmark.bench_worker import EPOCH_IMAGES, TRAIN_FLOPS_PER_FORWARD

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


def spawn(spec: dict, folder: Path) -> dict:
    """One configuration measured in a worker process of its own (bench_worker.measure)."""
    return workers.spawn(spec, folder, "benchmark.bench_worker")
