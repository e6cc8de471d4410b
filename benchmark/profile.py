"""Where a training step's time goes: `emnist-bench profile`.

    emnist-bench profile --arch cnn --precision mixed_bfloat16

Runs the architecture's best preset as Keras on the torch backend and as the plain PyTorch
peer of `bench` (benchmark.torch_peer), on the same random batches, under one profiler
(torch.profiler, CPU activities), and groups each side's operator time by kind:
convolution, matrix multiply, elementwise and casts, reductions, pooling, the rest. Both sides
run the same operators library, so a difference in a group is a difference in what the
framework asks the library to do. Keras on TensorFlow and JAX compile a step into one graph
whose operators this profiler cannot see; their figures are in `bench`.

Writes results/profiles/<arch>-<precision>.csv (one row per side and operator) and prints
the grouped table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

BATCH = 128
GROUPS = (  # (group, operator-name fragments), first match wins
    ("convolution", ("conv",)),
    ("matrix multiply", ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear", "matmul")),
    ("pooling", ("pool",)),
    ("reductions", ("aten::sum", "aten::mean", "aten::var", "aten::max", "aten::amax", "norm")),
    ("elementwise and casts", ("aten::copy_", "aten::to", "aten::mul", "aten::add", "aten::sub",
                               "aten::div", "aten::neg", "aten::pow", "aten::sqrt", "relu",
                               "elu", "aten::where", "aten::exp", "aten::log", "softmax",
                               "aten::clamp", "aten::fill_", "aten::zero_", "rsqrt",
                               "aten::abs", "aten::sign", "aten::lerp", "aten::addcmul",
                               "aten::addcdiv", "foreach", "aten::maximum", "aten::minimum",
                               "aten::sigmoid", "aten::tanh", "aten::rand", "bernoulli",
                               "dropout")),
)


def add_parser(commands) -> None:
    parser = commands.add_parser("profile", help="where a training step's time goes: Keras on "
                                 "torch vs the plain PyTorch peer, by operator")
    parser.add_argument("--arch", default="cnn", choices=("mlp", "cnn", "resnet"))
    parser.add_argument("--precision", default="mixed_bfloat16",
                        choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--steps", type=int, default=10, help="profiled steps (default: 10)")
    parser.add_argument("--batch-size", type=int, default=BATCH, help="default: 128")
    parser.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")


def group_of(name: str) -> str:
    lowered = name.lower()
    for group, fragments in GROUPS:
        if any(fragment in lowered for fragment in fragments):
            return group
    return "other"


def operator_table(profiler, side: str, steps: int) -> pd.DataFrame:
    """Self CPU time per operator and step (ms) from a finished torch profiler."""
    rows = [{"side": side, "operator": event.key, "group": group_of(event.key),
             "ms_per_step": event.self_cpu_time_total / 1000 / steps,
             "calls_per_step": event.count / steps}
            for event in profiler.key_averages() if event.self_cpu_time_total > 0]
    return pd.DataFrame(rows)


def profile_keras(arch: str, precision: str, steps: int, batch_size: int, x, y):
    import keras
    from torch.profiler import ProfilerActivity, profile

    from benchmark import models, presets, training

    config = presets.resolve(arch, "best", batch_size=batch_size)
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(precision)
    training.set_seed(0)
    model = training.compile_model(models.build(arch, **config.model), config.training)
    n = steps * batch_size
    model.fit(x[:2 * batch_size], y[:2 * batch_size], batch_size=batch_size, epochs=2, verbose=0)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        start = time.perf_counter()
        model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
        seconds = time.perf_counter() - start
    return operator_table(profiler, "keras (torch backend)", steps), seconds


def profile_peer(arch: str, precision: str, steps: int, batch_size: int, x, y):
    import torch
    from torch.profiler import ProfilerActivity, profile

    from benchmark import torch_peer

    torch.manual_seed(0)
    model = torch_peer.build(arch)
    step = torch_peer.make_step(arch, model, precision)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    for i in range(2):
        step(xt[i * batch_size:(i + 1) * batch_size], yt[i * batch_size:(i + 1) * batch_size])
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        start = time.perf_counter()
        for i in range(steps):
            step(xt[i * batch_size:(i + 1) * batch_size], yt[i * batch_size:(i + 1) * batch_size])
        seconds = time.perf_counter() - start
    return operator_table(profiler, "plain PyTorch", steps), seconds


def summary(table: pd.DataFrame, seconds: dict[str, float], steps: int) -> pd.DataFrame:
    """ms per step per group and side, with each side's wall time per step."""
    grouped = table.pivot_table(index="group", columns="side", values="ms_per_step",
                                aggfunc="sum", fill_value=0.0)
    grouped = grouped.sort_values(grouped.columns[0], ascending=False)
    wall = pd.DataFrame([{side: s * 1000 / steps for side, s in seconds.items()}],
                        index=["wall time per step"])
    return pd.concat([grouped, wall])


def run(args: argparse.Namespace) -> int:
    from benchmark import cli, provenance, results
    from benchmark.bench import random_data

    if args.steps < 1 or args.batch_size < 1:
        raise cli.UsageError("--steps and --batch-size must be at least 1")
    cli.choose_backend("torch")
    root = Path(args.results_dir or results.default_root())
    results.check_writable(root)
    x, y = random_data(args.batch_size, 0)
    x, y = x[:(args.steps + 2) * args.batch_size], y[:(args.steps + 2) * args.batch_size]
    print(f"profile: {args.arch} best preset, {args.precision}, batch {args.batch_size}, "
          f"{args.steps} steps per side", file=sys.stderr, flush=True)
    keras_ops, keras_s = profile_keras(args.arch, args.precision, args.steps, args.batch_size, x, y)
    peer_ops, peer_s = profile_peer(args.arch, args.precision, args.steps, args.batch_size, x, y)
    table = pd.concat([keras_ops, peer_ops], ignore_index=True)
    table.insert(0, "precision", args.precision)
    table.insert(0, "arch", args.arch)
    stamp = provenance.stamp("torch")
    table = table.assign(
        wall_ms_per_step=table["side"].map({"keras (torch backend)": keras_s * 1000 / args.steps,
                                            "plain PyTorch": peer_s * 1000 / args.steps}),
        batch_size=args.batch_size, steps=args.steps, data="random uint8 images",
        keras_version=stamp["versions"].get("keras"), torch_version=stamp["versions"].get("torch"),
        cpu=stamp["machine"]["cpu"], cores=stamp["machine"]["cores"],
        code_version=stamp["code_version"], created=stamp["created"], command=stamp["command"])
    path = root / "profiles" / f"{args.arch}-{args.precision}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    results.write_csv(path, table.sort_values(["side", "ms_per_step"], ascending=[True, False]))
    grouped = summary(table, {"keras (torch backend)": keras_s, "plain PyTorch": peer_s},
                      args.steps)
    print(f"ms per training step by operator group (self CPU time, torch.profiler; "
          f"{args.arch}, {args.precision}, batch {args.batch_size}):")
    print(grouped.round(1).to_string())
    for side, ops in (("keras (torch backend)", keras_ops), ("plain PyTorch", peer_ops)):
        top = ops.sort_values("ms_per_step", ascending=False).head(8)
        print(f"\ntop operators, {side}:")
        print(top[["operator", "group", "ms_per_step", "calls_per_step"]].round(2)
              .to_string(index=False))
    print(f"\n{path}")
    return 0
