"""Backends: the training speed of each architecture on TensorFlow, JAX and PyTorch (from
results/bench.csv; without it, the runs' own wall times), where a profiled training step's
time goes, and the accuracy of the same configuration and data on each backend, side by
side."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import parity, readers, suggestions, verdicts, views
from benchmark.app.shared import chart, load_parity, read


def page(catalog: readers.Catalog) -> None:
    st.header("Backends")
    root = Path(catalog.root)
    bench = read(root, "bench") if (root / "bench.csv").exists() else pd.DataFrame()
    if bench.empty:
        st.warning(f"`bench.csv` is missing from `{root}`, so no controlled speed comparison "
                   f"exists yet: make it with `{suggestions.BENCH_COMMAND}`. Until then the speeds "
                   f"below are the runs' own wall times (runs.csv `seconds`, per-epoch times "
                   f"from epochs.csv), measured whenever each run happened.")
    else:
        bench_speed(bench)
    step_profiles(root)
    backend_accuracy(catalog, with_times=bench.empty)


def step_profiles(root: Path) -> None:
    """profiles/*.csv: each side's profiled time per training step by operator group."""
    st.subheader("Where a training step's time goes (profiles)")
    groups = views.profile_groups(root)
    if groups.empty:
        st.info(f"No profiles yet: `{suggestions.PROFILE_COMMAND}`.")
        return
    st.caption("Profiled ms per step of the `best` preset (batch 128) by operator group, from "
               "each framework's own profiler: torch.profiler, tf.profiler and jax.profiler "
               "(read with xprof). The profilers differ and slow the step, so compare the "
               "shares; the bench above has the real speeds.")
    groups = groups.assign(panel=groups["arch"] + " · " + groups["precision"],
                           percent=(groups["share"] * 100).round(1))
    chart(alt.Chart(groups).mark_bar().encode(
        y=alt.Y("side:N", title=None), x=alt.X("ms_per_step:Q", title="ms per step"),
        color=alt.Color("group:N", legend=alt.Legend(orient="bottom")),
        row=alt.Row("panel:N", title=None),
        tooltip=["arch", "precision", "side", "group", "ms_per_step", "percent",
                 "wall_ms_per_step"],
    ).properties(width=520).resolve_scale(x="independent"))


PEER_NOTE = ("Backends: `tensorflow`, `jax` and `torch` are Keras 3 on that backend, the same "
             "Keras model on each; `pytorch` is no Keras backend but the same model written as "
             "a plain PyTorch training loop (`emnist-bench bench --peer`, "
             "benchmark/torch_peer.py), the reference the `vs PyTorch peer` column divides by. "
             "So `torch` against `pytorch` is what Keras costs on top of PyTorch.")


def bf16_note(latest: pd.DataFrame) -> str | None:
    """Why bf16 bars may sit near zero: on a CPU, bf16 against float32 at the same
    architecture, backend and batch size, when it was slower; None when it never was."""
    if not {"precision", "arch", "backend", "images_per_second"} <= set(latest.columns):
        return None
    cpu = (latest[latest["accelerator"].fillna("none").isin(["none", ""])]
           if "accelerator" in latest else latest)
    keys = [c for c in ("arch", "backend", "batch_size") if c in cpu]
    speed = cpu.pivot_table(index=keys, columns="precision", values="images_per_second")
    if not {"float32", "mixed_bfloat16"} <= set(speed.columns):
        return None
    ratio = (speed["mixed_bfloat16"] / speed["float32"]).dropna()
    if ratio.empty or ratio.min() >= 1:
        return None
    names = ", ".join(sorted(cpu["cpu"].dropna().astype(str).unique())) if "cpu" in cpu else ""
    return (f"Why `mixed_bfloat16` bars can sit near zero: measured on a CPU with no GPU "
            f"({names or 'CPU not recorded'}), bf16 ran at {ratio.min():.2f}x to "
            f"{ratio.max():.2f}x the speed of float32. A CPU without native bfloat16 arithmetic "
            f"(the AVX512_BF16 or AMX instructions) emulates it, converting to and from float32 "
            f"around every operation, so bf16 is slower there, the convolutions most of all; "
            f"that is why `--precision auto` trains in float32 on such a CPU "
            f"(benchmark/precision.py). bf16 pays on a GPU from Ampere on, and for the "
            f"convolutional models on a CPU with native bf16.")


def bench_speed(bench: pd.DataFrame) -> None:
    """bench.csv: steady-state training speed per architecture, backend and precision."""
    st.subheader("Training speed (bench.csv)")
    latest = views.latest_bench(bench)
    needed = {"arch", "backend", "images_per_second"}
    if needed <= set(latest.columns):
        st.caption("Images per second of the `best` preset once compiled and warmed up; the "
                   "latest measurement of each architecture, backend, precision and batch size.")
        st.caption(PEER_NOTE)
        colour = "precision:N" if "precision" in latest else "backend:N"
        tips = [c for c in ("arch", "backend", "precision", "batch_size", "ms_per_step",
                            "epoch_seconds", "vs_peer", "peak_memory_mb") if c in latest]
        chart(alt.Chart(latest).mark_bar().encode(
            x=alt.X("backend:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=colour, y=alt.Y("images_per_second:Q", title="images per second"),
            color=alt.Color(colour, legend=alt.Legend(orient="bottom")),
            column=alt.Column("arch:N", title=None), tooltip=["images_per_second", *tips],
        ).properties(width=220, height=240).resolve_scale(y="independent"))
        note = bf16_note(latest)
        if note:
            st.caption(note)
    columns = [c for c in ("arch", "backend", "precision", "batch_size", "images_per_second",
                           "ms_per_step", "epoch_seconds", "vs_peer", "peak_memory_mb",
                           "gflops_per_second", "created") if c in latest]
    st.dataframe(latest, hide_index=True, column_order=columns or None, column_config={
        "images_per_second": st.column_config.NumberColumn("images/s", format="%.0f"),
        "ms_per_step": st.column_config.NumberColumn("ms/step", format="%.2f"),
        "epoch_seconds": st.column_config.NumberColumn("epoch (s)", format="%.1f"),
        "vs_peer": st.column_config.NumberColumn("vs PyTorch peer", format="%.2fx"),
        "peak_memory_mb": st.column_config.NumberColumn("peak MB", format="%.0f"),
        "gflops_per_second": st.column_config.NumberColumn("GFLOP/s", format="%.1f")})


def backend_accuracy(catalog: readers.Catalog, with_times: bool) -> None:
    """The same configuration and data (one digest) run on several backends, side by side."""
    st.subheader("Accuracy of the same configuration on each backend")
    runs = catalog.runs
    if runs.empty:
        st.info(f"No runs yet: `{suggestions.FIRST_COMMAND}`.")
        return
    groups = views.backend_groups(runs)
    if groups.empty:
        st.info("No configuration has been run on more than one backend yet: rerun one with "
                "`--backend jax` or `--backend torch` to compare. Every run by backend:")
        st.dataframe(runs, hide_index=True, column_order=[
            "backend", "run_id", "arch", "preset", "data", "cv_mean", "test_accuracy",
            "seconds"], column_config={
            "cv_mean": st.column_config.NumberColumn("CV mean", format="%.4f"),
            "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.4f"),
            "seconds": st.column_config.NumberColumn("wall time (s)", format="%.1f")})
        return
    parity_verdicts(catalog)
    rows = []
    for run in groups.itertuples():
        epochs = read(run.run_dir, "epochs")
        rows.append({"configuration": f"{run.arch}/{run.preset} · {run.data} · {run.folds} folds"
                     f" x {run.epochs} epochs · {run.digest}", "backend": run.backend,
                     "run": run.run_id, "cv_mean": run.cv_mean, "cv_std": run.cv_std,
                     "test_accuracy": run.test_accuracy, "seconds": run.seconds,
                     "epoch_seconds": views.epoch_seconds(epochs)})
    table = pd.DataFrame(rows)
    order = {digest: at for at, digest in enumerate(parity.largest_first(groups))}
    table = table.assign(_order=table["configuration"].str.rsplit(" · ", n=1).str[-1]
                         .map(order)).sort_values("_order", kind="stable").drop(columns="_order")
    for configuration, group in table.groupby("configuration", sort=False):
        st.markdown(f"**{configuration}**")
        left, right = st.columns(2) if with_times else (st.container(), None)
        long = group.melt(id_vars=["backend"], value_vars=["cv_mean", "test_accuracy"],
                          var_name="measure", value_name="accuracy").dropna()
        with left:
            chart(alt.Chart(long, title="accuracy").mark_bar().encode(
                x=alt.X("backend:N", title=None, axis=alt.Axis(labelAngle=0)),
                xOffset="measure:N", y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("measure:N", legend=alt.Legend(orient="bottom")),
                tooltip=["backend", "measure", alt.Tooltip("accuracy:Q", format=".4f")],
            ).properties(height=300))
        if right is not None:
            speed = group.melt(id_vars=["backend"], value_vars=["seconds", "epoch_seconds"],
                               var_name="measure", value_name="time").dropna()
            with right:
                chart(alt.Chart(speed, title="the runs' own times (s)").mark_bar().encode(
                    x=alt.X("backend:N", title=None, axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("time:Q", title="seconds"), color="backend:N",
                    column=alt.Column("measure:N", title=None, header=alt.Header(
                        labelExpr="datum.value == 'seconds' ? 'whole run' : 'median epoch'")),
                    tooltip=["backend", "measure", alt.Tooltip("time:Q", format=".2f")],
                ).properties(width=140, height=200).resolve_scale(y="independent"))
        st.dataframe(group.drop(columns=["configuration"]), hide_index=True, column_config={
            "cv_mean": st.column_config.NumberColumn("CV mean", format="%.4f"),
            "cv_std": st.column_config.NumberColumn("CV std", format="%.4f"),
            "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.4f"),
            "seconds": st.column_config.NumberColumn("wall time (s)", format="%.1f"),
            "epoch_seconds": st.column_config.NumberColumn("median epoch (s)", format="%.2f")})


def parity_verdicts(catalog: readers.Catalog) -> None:
    """Per configuration, whether its backends are equivalent (benchmark/parity.py), each
    pair's test, and the minutes each backend took; the largest budget first."""
    pairs = load_parity(catalog.root, readers.stamp(catalog.root))
    if pairs.empty:
        return
    summary = parity.summary(pairs)
    st.caption("Each pair of backends paired fold by fold (Δ = first − second). "
               + verdicts.verdicts_explained(family="the pairs of one configuration")
               + " Minutes: the training each run recorded (folds and final model).")
    st.dataframe(summary, hide_index=True, column_order=[
        "arch", "preset", "data", "budget", "verdict", "minutes", "digest"])
    shown = pairs.assign(pair=pairs["a"] + " − " + pairs["b"])
    st.dataframe(shown, hide_index=True, column_order=[
        "arch", "budget", "pair", "a_mean", "b_mean", "delta", "interval", "folds", "verdict",
        "to_decide"], column_config={
        "a_mean": st.column_config.NumberColumn("first CV", format="%.4f"),
        "b_mean": st.column_config.NumberColumn("second CV", format="%.4f"),
        "delta": st.column_config.NumberColumn("Δ", format="%+.4f"),
        "interval": "95% interval", "folds": "paired folds",
        "to_decide": "folds to decide at the rope"})
