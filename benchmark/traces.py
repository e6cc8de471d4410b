"""Operator time of training steps, read from each framework's own profiler.

Every reader returns one row per operator: `operator` (its name), `kind` (what it computes, in
the framework's words), `ms_per_step` (self time) and `calls_per_step`.

- torch: `torch.profiler` key averages; the kind is the aten operator.
- tensorflow: `tf.profiler` writes an XSpace trace; xprof's `framework_op_stats` tool (the
  table behind TensorBoard's profile page) gives self time per TensorFlow op; the kind is the
  op type (`_MklNativeConv2DBackpropFilter`, `Mul`, `Cast`, ...).
- jax: `jax.profiler` writes an XSpace whose trace holds one event per executed XLA:CPU thunk,
  named after its instruction in the optimized HLO module; XLA dumps that module as text
  (`XLA_FLAGS=--xla_dump_to=...`, set by `dump_hlo` before JAX starts) and the kind is the
  instruction's dominant opcode: a fusion is what it fuses (a convolution, a dot, a
  reduce-window, a reduce, else its root's elementwise opcode). An instruction whose only
  users are pooling instructions counts as pooling: XLA:CPU builds the max-pool gradient from
  iota index tensors that feed a reduce-window and a scatter.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path


def torch_ops(fit: Callable[[], None], steps: int) -> list[dict]:
    """Run fit() under torch.profiler; self CPU time per aten operator and step."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        fit()
    return [{"operator": event.key, "kind": event.key,
             "ms_per_step": event.self_cpu_time_total / 1000 / steps,
             "calls_per_step": event.count / steps}
            for event in profiler.key_averages() if event.self_cpu_time_total > 0]


def xspace_file(folder: Path) -> str:
    found = sorted(folder.glob("**/*.xplane.pb"))
    if not found:
        raise RuntimeError(f"the profiler wrote no .xplane.pb under {folder}")
    return str(found[-1])


def xprof_tool(path: str, tool: str):
    """One xprof tool's JSON for an XSpace file."""
    try:
        from xprof.convert import raw_to_tool_data
    except ImportError:
        raise RuntimeError("reading TensorFlow and JAX traces needs xprof "
                           "(pip install 'emnist-bench[profile]')") from None
    data, _ = raw_to_tool_data.xspace_to_tool_data([path], tool, {"use_saved_result": False})
    if not data:
        raise RuntimeError(f"xprof's {tool} tool returned nothing for {path}")
    return json.loads(data)


def tensorflow_ops(fit: Callable[[], None], steps: int) -> list[dict]:
    """Run fit() under tf.profiler; self time per TensorFlow op (framework_op_stats)."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="emnist-bench-tf-trace-") as folder:
        tf.profiler.experimental.start(folder)
        try:
            fit()
        finally:
            tf.profiler.experimental.stop()
        tables = xprof_tool(xspace_file(Path(folder)), "framework_op_stats")
    table = tables[-1]  # the last table leaves out idle time
    columns = [column["id"] for column in table["cols"]]
    rows = []
    for row in table["rows"]:
        cell = dict(zip(columns, (c.get("v") if c else None for c in row["c"]), strict=True))
        if cell["type"] == "IDLE" or not cell["total_self_time"]:
            continue
        rows.append({"operator": cell["operation"], "kind": cell["type"],
                     "ms_per_step": cell["total_self_time"] / 1000 / steps,
                     "calls_per_step": cell["occurrences"] / steps})
    return rows


def dump_hlo(folder: str) -> None:
    """Make XLA write every optimized HLO module as text under folder. Call before JAX
    starts (it reads XLA_FLAGS once)."""
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_dump_to={folder} --xla_dump_hlo_as_text".strip()


def jax_ops(fit: Callable[[], None], steps: int, hlo_folder: str) -> list[dict]:
    """Run fit() under jax.profiler (no Python tracer); time per XLA thunk, named and kinded
    from the optimized training-step module that dump_hlo() had XLA write."""
    import jax

    options = jax.profiler.ProfileOptions()
    options.python_tracer_level = 0  # Python frames would swamp the trace and slow the step
    with tempfile.TemporaryDirectory(prefix="emnist-bench-jax-trace-") as folder:
        jax.profiler.start_trace(folder, profiler_options=options)
        try:
            fit()
        finally:
            jax.profiler.stop_trace()
        trace = xprof_tool(xspace_file(Path(folder)), "trace_viewer")
    kinds = hlo_kinds(train_step_module(Path(hlo_folder)))
    totals: dict[str, list[float]] = {}
    for event in trace["traceEvents"]:
        if event.get("ph") == "X" and event.get("name") in kinds:
            total = totals.setdefault(event["name"], [0.0, 0])
            total[0] += event.get("dur", 0.0)
            total[1] += 1
    if not totals:
        raise RuntimeError("no XLA thunk in the JAX trace matched the dumped training step")
    return [{"operator": name, "kind": kinds[name], "ms_per_step": micros / 1000 / steps,
             "calls_per_step": count / steps} for name, (micros, count) in totals.items()]


def train_step_module(folder: Path) -> str:
    """The text of the largest optimized module XLA compiled for Keras's train step."""
    found = list(folder.glob("*train_step*after_optimizations.txt"))
    if not found:
        raise RuntimeError(f"XLA dumped no train_step module under {folder}")
    return max(found, key=lambda p: p.stat().st_size).read_text()


COMPUTATION = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$")
INSTRUCTION = re.compile(r"^\s+(?:ROOT )?%?([\w.\-]+) = .*? ([a-z][\w\-]*)\((.*)$")
CALLED = re.compile(r"\bcalls=%?([\w.\-]+)")
# Dominant opcodes, strongest first: a fusion holding one of these is that kind of work.
DOMINANT = ("convolution", "dot", "select-and-scatter", "reduce-window", "scatter", "reduce")
POOLING = {"select-and-scatter", "reduce-window", "scatter"}


def hlo_kinds(text: str) -> dict[str, str]:
    """Instruction name -> kind for every instruction of an HLO module's text."""
    computations: dict[str, list[tuple[str, str, str]]] = {}
    current = None
    for line in text.splitlines():
        if (match := COMPUTATION.match(line)) and not line.startswith(" "):
            current = computations.setdefault(match[1], [])
        elif current is not None and (match := INSTRUCTION.match(line)):
            current.append((match[1], match[2], match[3]))

    def opcodes(name: str, rest: str, opcode: str, seen: frozenset = frozenset()) -> set[str]:
        found = {opcode}
        called = CALLED.search(rest)
        if called and called[1] in computations and called[1] not in seen:
            for inner, inner_opcode, inner_rest in computations[called[1]]:
                found |= opcodes(inner, inner_rest, inner_opcode, seen | {called[1]})
        return found

    kinds, root_of, users = {}, {}, {}
    for comp in computations.values():
        for name, opcode, rest in comp:
            inside = opcodes(name, rest, opcode)
            kinds[name] = next((k for k in DOMINANT if k in inside), None)
            called = CALLED.search(rest)
            body = computations.get(called[1], []) if called else []
            root_of[name] = body[-1][1] if body else opcode
            operands = rest.split("),")[0]
            for operand in re.findall(r"%([\w.\-]+)", operands):
                users.setdefault(operand, []).append(name)
    for name in kinds:
        if kinds[name] is None:
            consumers = users.get(name, [])
            pooled = consumers and all(kinds.get(user) in POOLING for user in consumers)
            kinds[name] = "reduce-window" if pooled else root_of[name]
    return kinds
