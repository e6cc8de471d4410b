"""Curves: training and validation loss and accuracy per epoch of the chosen runs (the main
runs at first, benchmark/selection.py), averaged
over the cross-validation folds and (optionally) each fold as a thin line, runs overlaid;
the learning rate per epoch below."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import readers, suggestions, views
from benchmark.app.shared import chart, compare_options, read

RUN_COLOURS = alt.Scale(scheme="tableau10")  # runs overlaid need hues that tell apart
# Whole run names: Vega-Lite cuts legend labels at 160 px, which leaves runs that differ only at
# the end (cnn-best-tensorflow-0400c86a, -13016727, ...) with the same prefix; 0 is no limit.
RUN_LEGEND = alt.Legend(symbolOpacity=1, labelLimit=0)


def page(catalog: readers.Catalog) -> None:
    st.header("Curves")
    runs = catalog.runs.set_index("run_id") if not catalog.runs.empty else None
    if runs is None:
        st.info(f"No runs yet: `{suggestions.FIRST_COMMAND}`.")
        return
    options = compare_options(catalog)
    main = [run_id for run_id in options if runs.loc[run_id, "role"] == "main"]
    chosen = st.multiselect("Runs", options, key="compare", persist_state="session",
                            default=main or options[:3])  # the main runs first
    each_fold = st.toggle("Each fold (thin lines) as well as the mean over folds", value=True)
    curves, rates = [], []
    for run_id in chosen:
        epochs = read(runs.loc[run_id, "run_dir"], "epochs")
        if epochs.empty:
            st.caption(f"`{run_id}` has no finished epoch yet.")
            continue
        curves.append(views.fold_curves(epochs, run_id))
        folds = epochs[epochs["fold"] > 0]
        if "learning_rate" in folds:
            rates.append(folds.groupby("epoch", as_index=False)["learning_rate"].mean()
                         .assign(run=run_id))
    if not curves:
        st.info("Choose one or more runs with finished epochs.")
        return
    curves = pd.concat(curves, ignore_index=True)
    mean = views.mean_curves(curves)
    st.caption("Solid: training (dropout and augmentation on); dashed: the held-out fold. "
               "Thick lines average the cross-validation folds; the final model is left out.")
    for metric in ("loss", "accuracy"):
        chart(curve_chart(mean, curves, metric, each_fold))
    if rates:
        rate = pd.concat(rates, ignore_index=True)
        positive = bool((rate["learning_rate"] > 0).all())
        chart(alt.Chart(rate, title="learning rate").mark_line(point=True).encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("learning_rate:Q", title="learning rate",
                    scale=alt.Scale(type="log" if positive else "linear")),
            color=alt.Color("run:N", scale=RUN_COLOURS, legend=RUN_LEGEND),
            tooltip=["run", "epoch", alt.Tooltip("learning_rate:Q", format=".2e")],
        ).properties(height=200))


def curve_chart(mean: pd.DataFrame, curves: pd.DataFrame, metric: str,
                each_fold: bool) -> alt.LayerChart:
    encode = {"x": alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
              "y": alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
              "color": alt.Color("run:N", scale=RUN_COLOURS, legend=RUN_LEGEND),
              "strokeDash": alt.StrokeDash("split:N", legend=alt.Legend(symbolOpacity=1),
                                           sort=["training", "validation"])}
    averaged = alt.Chart(mean[mean["metric"] == metric], title=metric).mark_line(
        point=True, strokeWidth=3).encode(
        **encode, tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=".4f")])
    if not each_fold:
        return alt.layer(averaged).properties(height=320)
    per_fold = alt.Chart(curves[curves["metric"] == metric]).mark_line(
        strokeWidth=1, opacity=0.35, point=alt.OverlayMarkDef(size=12, opacity=0.35)).encode(
        **encode, detail="fold:N",
        tooltip=["run", "fold", "split", "epoch", alt.Tooltip("value:Q", format=".4f")])
    return alt.layer(per_fold, averaged).properties(height=320)
