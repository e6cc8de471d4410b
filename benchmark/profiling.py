"""Where a training step's time goes: `emnist-bench profile`.

    emnist-bench profile --arch cnn --precision mixed_bfloat16 --backend all

Runs the architecture's best preset as Keras on each asked backend and as the plain PyTorch
peer of `bench` (benchmark.torch_peer), each in its own worker process, on the same random
batches, under that framework's own profiler (benchmark.traces: torch.profiler, tf.profiler,
jax.profiler), and groups each side's operator time by kind: convolution, matrix multiply,
pooling, reductions, elementwise and casts (copies included), the rest. A difference in a
group is a difference in what the framework asks the CPU to do. The profilers differ (aten
operators, TensorFlow ops, XLA thunks), so compare groups and shares, not single rows.

Writes results/profiles/<arch>-<precision>.csv (one row per side and operator) and prints
the grouped table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark import architectures, config, workers
from benchmark.backends import installed
from benchmark.bench_args import BACKEND_CHOICES, resolve_backends

if TYPE_CHECKING:  # imported where used: the command line builds this parser for every command
    import pandas as pd

BATCH = 128
PEER_SIDE = "plain PyTorch"
# The precisions profile offers: config's less mixed_float16 (float32 and mixed_bfloat16).
PRECISIONS = tuple(p for p in config.PRECISIONS if p != "mixed_float16")
# (group, name fragments, exact names), first match wins; names are lower-cased operator
# kinds: aten operators (torch), op types (TensorFlow), HLO opcodes (JAX).
GROUPS = (
    ("convolution", ("convolution", "conv2d"), ()),
    ("matrix multiply", ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear", "matmul"),
     ("dot",)),
    ("pooling", ("pool", "reduce-window", "select-and-scatter"), ("scatter",)),
    ("reductions", ("aten::sum", "aten::mean", "aten::var", "aten::max", "aten::amax", "norm"),
     ("sum", "mean", "max", "min", "prod", "argmax", "biasaddgrad", "reduce")),
    ("elementwise and casts",
     ("aten::copy_", "aten::to", "aten::mul", "aten::add", "aten::sub", "aten::div",
      "aten::neg", "aten::pow", "aten::sqrt", "relu", "elu", "aten::where", "aten::exp",
      "aten::log", "softmax", "aten::clamp", "aten::fill_", "aten::zero_", "rsqrt", "aten::abs",
      "aten::sign", "aten::lerp", "aten::addcmul", "aten::addcdiv", "foreach", "aten::maximum",
      "aten::minimum", "aten::sigmoid", "aten::tanh", "aten::rand", "bernoulli", "dropout"),
     # TensorFlow op types
     ("mul", "add", "addv2", "addn", "sub", "realdiv", "div", "divnonan", "squareddifference",
      "cast", "sqrt", "square", "neg", "pow", "exp", "log", "tile", "maximum", "minimum",
      "select", "selectv2", "fill", "zeroslike", "oneslike", "biasadd", "reciprocal", "sign",
      "abs", "greater", "greaterequal", "less", "lessequal", "equal", "notequal", "floor",
      "sigmoid", "tanh", "transpose", "broadcastto", "concatv2", "randomuniform",
      # HLO opcodes
      "multiply", "subtract", "divide", "convert", "exponential", "negate", "power", "compare",
      "and", "or", "not", "clamp", "copy", "broadcast", "iota", "concatenate", "pad", "slice",
      "dynamic-slice", "dynamic-update-slice", "bitcast", "reshape", "rng-bit-generator",
      "erf", "log-plus-one", "exponential-minus-one", "shift-right-logical", "xor")),
)


def add_parser(commands) -> None:
    parser = commands.add_parser("profile", help="where a training step's time goes: Keras on "
                                 "each backend vs the plain PyTorch peer, by operator group")
    parser.add_argument("--arch", default="cnn", choices=architectures.names())
    parser.add_argument("--precision", default="mixed_bfloat16", choices=PRECISIONS)
    parser.add_argument("--backend", default="all", choices=BACKEND_CHOICES,
                        help="Keras backend(s) to profile beside the peer (default: all "
                        "installed)")
    parser.add_argument("--steps", type=int, default=10, help="profiled steps (default: 10)")
    parser.add_argument("--batch-size", type=int, default=BATCH, help="default: 128")
    parser.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")


def group_of(kind: str) -> str:
    lowered = kind.lower()
    for group, fragments, names in GROUPS:
        if lowered in names or any(fragment in lowered for fragment in fragments):
            return group
    return "other"


def side_name(kind: str, backend: str) -> str:
    return PEER_SIDE if kind == "peer" else f"keras ({backend})"


# ---------------------------------------------------------------------------------------------
# The worker: one side in this process.


def profile_keras(spec: dict, hlo_folder: str | None) -> tuple[list[dict], float]:
    """Warm up, then profile one fit of `steps` batches of Keras on this process's backend
    (the model and random data of a `bench` worker: bench_worker)."""
    from benchmark import bench_worker, traces
    from benchmark.backends import choose_backend

    backend = choose_backend(spec["backend"])
    arch, steps, batch_size = spec["arch"], spec["steps"], spec["batch_size"]
    model = bench_worker.best_model(arch, spec["precision"], batch_size, seed=0)
    x, y = bench_worker.random_data(batch_size, 0)
    x, y = x[:steps * batch_size], y[:steps * batch_size]
    model.fit(x[:2 * batch_size], y[:2 * batch_size], batch_size=batch_size, epochs=2, verbose=0)
    seconds = []

    def fit():
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
        seconds.append(time.perf_counter() - start)

    if backend == "torch":
        ops = traces.torch_ops(fit, steps)
    elif backend == "tensorflow":
        ops = traces.tensorflow_ops(fit, steps)
    else:
        ops = traces.jax_ops(fit, steps, hlo_folder)
    return ops, seconds[0]


def profile_peer(spec: dict) -> tuple[list[dict], float]:
    import torch

    from benchmark import bench_worker, torch_peer, traces

    arch, steps, batch_size = spec["arch"], spec["steps"], spec["batch_size"]
    torch.manual_seed(0)
    model = torch_peer.build(arch)
    step = torch_peer.make_step(arch, model, spec["precision"])
    x, y = bench_worker.random_data(batch_size, 0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    batches = [(xt[i * batch_size:(i + 1) * batch_size], yt[i * batch_size:(i + 1) * batch_size])
               for i in range(steps)]
    for images, labels in batches[:2]:
        step(images, labels)
    seconds = []

    def fit():
        start = time.perf_counter()
        for images, labels in batches:
            step(images, labels)
        seconds.append(time.perf_counter() - start)

    return traces.torch_ops(fit, steps), seconds[0]


# ---------------------------------------------------------------------------------------------
# The parent: one worker per side, then the table.


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """ms per step per group and side, with each side's wall time per step (profiler on)."""
    grouped = table.pivot_table(index="group", columns="side", values="ms_per_step",
                                aggfunc="sum", fill_value=0.0)
    sides = [PEER_SIDE, *sorted(c for c in grouped.columns if c != PEER_SIDE)]
    grouped = grouped[[s for s in sides if s in grouped.columns]]
    grouped = grouped.sort_values(grouped.columns[-1], ascending=False)
    wall = table.groupby("side")["wall_ms_per_step"].first()
    grouped.loc["wall time per step"] = [wall[side] for side in grouped.columns]
    return grouped


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from benchmark import provenance, results
    from benchmark.arguments import UsageError

    if args.steps < 1 or args.batch_size < 1:
        raise UsageError("--steps and --batch-size must be at least 1")
    backends, skipped = resolve_backends(args.backend)
    if not installed("torch"):
        raise UsageError("profile needs PyTorch for its peer (pip install torch)")
    if set(backends) - {"torch"} and not installed("xprof"):
        raise UsageError("profiling TensorFlow and JAX needs xprof to read their traces "
                             "(pip install 'emnist-bench[profile]'), or use --backend torch")
    root = Path(args.results_dir or results.default_root())
    results.check_writable(root)
    plan = [("peer", "torch")] + [("keras", backend) for backend in backends]
    note = f"; {', '.join(skipped)} not installed" if skipped else ""
    print(f"profile: {args.arch} best preset, {args.precision}, batch {args.batch_size}, "
          f"{args.steps} steps per side, {len(plan)} sides{note}", file=sys.stderr, flush=True)
    tables, failures = [], []
    with tempfile.TemporaryDirectory(prefix="emnist-bench-profile-") as folder:
        for i, (kind, backend) in enumerate(plan, start=1):
            side = side_name(kind, backend)
            print(f"profile [{i}/{len(plan)}]: {side} ...", file=sys.stderr, flush=True)
            spec = {"kind": kind, "backend": backend, "arch": args.arch,
                    "precision": args.precision, "steps": args.steps,
                    "batch_size": args.batch_size}
            record = workers.spawn(spec, Path(folder), "benchmark.profiling")
            if "error" in record:
                print(f"profile [{i}/{len(plan)}]: {side} failed: {record['error']}",
                      file=sys.stderr, flush=True)
                failures.append(f"{side}: {record['error']}")
                continue
            ops = pd.DataFrame(record["ops"], columns=["operator", "kind", "ms_per_step",
                                                       "calls_per_step"])
            tables.append(ops.assign(side=side, backend=backend, group=ops["kind"].map(group_of),
                                     wall_ms_per_step=record["seconds"] * 1000 / args.steps))
    if not tables:
        print(f"emnist-bench: error: every side failed ({'; '.join(failures)})", file=sys.stderr)
        return 1
    table = pd.concat(tables, ignore_index=True)
    stamp = provenance.stamp(backends[0] if backends else "torch")
    table = table.assign(
        arch=args.arch, precision=args.precision, batch_size=args.batch_size, steps=args.steps,
        data="random uint8 images", keras_version=stamp["versions"].get("keras"),
        framework_version=table["backend"].map(
            lambda b: provenance.framework_version(b, stamp["versions"])),
        cpu=stamp["machine"]["cpu"], cores=stamp["machine"]["cores"],
        code_version=stamp["code_version"], created=stamp["created"], command=stamp["command"])
    table = table[COLUMNS].sort_values(["side", "ms_per_step"], ascending=[True, False])
    path = root / results.PROFILES / f"{args.arch}-{args.precision}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    results.write_csv(path, table)
    print(f"ms per training step by operator group (self time from each framework's profiler; "
          f"{args.arch}, {args.precision}, batch {args.batch_size}):")
    print(summary(table).round(1).to_string())
    for side, ops in table.groupby("side", sort=False):
        top = ops.head(6)
        print(f"\ntop operators, {side}:")
        print(top[["kind", "group", "ms_per_step", "calls_per_step"]].round(2)
              .to_string(index=False))
    for failure in failures:
        print(f"failed: {failure}")
    print(f"\n{path}")
    return 1 if failures else 0


COLUMNS = ["arch", "precision", "side", "backend", "operator", "kind", "group", "ms_per_step",
           "calls_per_step", "wall_ms_per_step", "batch_size", "steps", "data", "keras_version",
           "framework_version", "cpu", "cores", "code_version", "created", "command"]


def measure(spec: dict) -> dict:
    """A worker's record: one side profiled in this process (its operator rows, wall time)."""
    with tempfile.TemporaryDirectory(prefix="emnist-bench-hlo-") as hlo_folder:
        if spec["kind"] == "peer":
            ops, seconds = profile_peer(spec)
        else:
            if spec["backend"] == "jax":
                from benchmark import traces

                traces.dump_hlo(hlo_folder)  # before JAX starts
            ops, seconds = profile_keras(spec, hlo_folder)
    return {"ops": ops, "seconds": seconds}


if __name__ == "__main__":  # `python -m benchmark.profiling --worker SPEC`
    sys.exit(workers.serve(sys.argv[1:], measure, "profile"))
