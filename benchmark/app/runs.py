"""Runs: the cross-validation runs in a table (architecture, preset, backend, precision,
data, CV mean ± std, test accuracy, epochs, folds, wall time, status): each architecture's and
preset's main run, and with "Show pilot runs" on every other one with why it is set apart
(benchmark/selection.py). The runs chosen to compare (the main runs, at first) are drawn side
by side: each fold's validation accuracy, CV mean ± std and test accuracy,
each one's paired difference from the first where they were scored on the same folds, then
the settings in which they differ. Folders that could not be read are listed here."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import paired, readers, results, suggestions, verdicts
from benchmark.app.ablations import NO_P, p_text
from benchmark.app.shared import (
    chart,
    compare_options,
    fmt_accuracy,
    hidden_note,
    pilots_shown,
    read,
    show_problems,
    shown_runs,
)


def page(catalog: readers.Catalog) -> None:
    st.header("Runs")
    runs = shown_runs(catalog)
    if catalog.runs.empty:
        st.info(f"No cross-validation runs yet: `{suggestions.FIRST_COMMAND}`.")
    elif runs.empty:
        st.info(f"No main run yet (complete, not collapsed, not a test): turn on **Show pilot "
                f"runs** in the sidebar to see the {len(catalog.runs)} others.")
    else:
        cv = [fmt_accuracy(m, s) for m, s in zip(runs.cv_mean, runs.cv_std, strict=True)]
        folds = [f"{d}/{f}" for d, f in zip(runs.folds_done, runs.folds, strict=True)]
        table = runs.assign(cv=cv, folds_text=folds)
        # The scores right after what was run and short headers, so that a 1,400 px window
        # shows both scores whole; the run's name stays in view when the rest is scrolled to.
        st.dataframe(
            table, hide_index=True,
            column_order=role_columns(["run_id", "arch", "preset", "backend", "precision", "cv",
                          "test_accuracy", "data", "collapsed", "status", "epochs", "folds_text",
                          "seconds", "created"]),
            column_config={
                "run_id": st.column_config.TextColumn("run", pinned=True),
                "cv": st.column_config.TextColumn("CV mean ± std"),
                "test_accuracy": st.column_config.NumberColumn(
                    "test", format="%.4f", help="test accuracy of the final model, trained on "
                    "the whole training split and evaluated once"),
                "data": st.column_config.TextColumn(
                    "data", help="split, whether it has the official sizes, and the training "
                    "/ test images used"),
                "folds_text": st.column_config.TextColumn("folds", help="folds done / folds"),
                "collapsed": st.column_config.TextColumn(
                    "collapsed", help="validation accuracy at chance, so its numbers say "
                    "nothing about its settings: 'did not learn' (training accuracy at chance "
                    "too), 'inference mode' (it learned in training mode, but batch norm's "
                    "running statistics lag the weights) or 'loss exploded'"),
                "role": st.column_config.TextColumn(
                    "role", help="main: the largest budget on the largest data, complete, not "
                    "collapsed, of its architecture and preset; the others are set apart"),
                "why": st.column_config.TextColumn("why set apart"),
                "seconds": st.column_config.NumberColumn(
                    "time (s)", format="%.0f", help="wall time of the whole run, in seconds")})
        hidden_note("runs", len(catalog.runs), len(runs))
        compare_runs(catalog)
    if catalog.searches or catalog.ablations:
        st.caption(f"Also here: {len(catalog.searches)} search(es) (see Tuning) and "
                   f"{len(catalog.ablations)} ablation(s) (see Ablations).")
    show_problems(catalog)


def role_columns(columns: list[str]) -> list[str]:
    """The table's columns, with each run's role and why after its name when pilots are shown."""
    return [columns[0], "role", "why", *columns[1:]] if pilots_shown() else columns


def compare_runs(catalog: readers.Catalog) -> None:
    runs = catalog.runs.set_index("run_id")
    options = compare_options(catalog)
    chosen = st.multiselect("Compare runs", options, key="compare", persist_state="session",
                            default=default_comparison(runs.loc[options]))
    if not chosen:
        st.caption("Choose runs above to compare their folds and settings.")
        return
    points, summary = [], []
    for run_id in chosen:
        run = runs.loc[run_id]
        folds = read(run.run_dir, "folds")
        if not folds.empty:
            points.append(folds.assign(run=run_id))
        summary.append({"run": run_id, "cv_mean": run.cv_mean, "cv_std": run.cv_std or 0.0,
                        "test_accuracy": run.test_accuracy})
    summary = pd.DataFrame(summary).assign(low=lambda d: d.cv_mean - d.cv_std,
                                           high=lambda d: d.cv_mean + d.cv_std)
    y = alt.Y("run:N", title=None, sort=chosen, axis=alt.Axis(labelLimit=320))
    base = alt.Chart(summary).encode(y=y)
    layers = [base.mark_rule(size=3, opacity=0.5).encode(x=alt.X("low:Q", title="accuracy",
                                                                 scale=alt.Scale(zero=False)),
                                                       x2="high:Q"),
              base.mark_tick(size=24, thickness=3).encode(
                  x="cv_mean:Q", tooltip=["run", alt.Tooltip("cv_mean:Q", format=".4f"),
                                          alt.Tooltip("cv_std:Q", format=".4f")]),
              base.mark_point(shape="diamond", size=120, filled=True, color="#d62728").encode(
                  x="test_accuracy:Q", tooltip=["run", alt.Tooltip("test_accuracy:Q",
                                                                   format=".4f")])]
    if points:
        folds = pd.concat(points, ignore_index=True)
        layers.insert(0, alt.Chart(folds).mark_circle(size=60, opacity=0.6).encode(
            x="val_accuracy:Q", y=y,
            tooltip=["run", "fold", alt.Tooltip("val_accuracy:Q", format=".4f")]))
    st.caption("Dots: each fold's validation accuracy; bar and tick: CV mean ± std; "
               "red diamond: test accuracy of the final model.")
    chart(alt.layer(*layers).properties(height=70 + 40 * len(chosen)))  # axes included
    if len(chosen) >= 2:
        paired_differences(runs, chosen)
    settings = {}
    for run_id in chosen:
        config = read(runs.loc[run_id].run_dir, "config")
        run = config.get("run") or {}
        flat = {"backend": config.get("backend"), "data": runs.loc[run_id, "data"],
                "folds": run.get("folds"), "seed": run.get("seed")}
        for group in ("model", "training"):
            flat.update({k: json.dumps(v) if isinstance(v, list) else v
                         for k, v in (run.get(group) or {}).items()})
        settings[run_id] = flat
    frame = pd.DataFrame(settings).astype(str)
    differing = frame[frame.nunique(axis=1) > 1] if len(chosen) > 1 else frame
    st.subheader("Settings that differ" if len(chosen) > 1 else "Settings")
    if differing.empty:
        st.caption("The chosen runs have the same settings.")
    else:
        st.dataframe(differing)


def default_comparison(runs: pd.DataFrame) -> list[str]:
    """The main runs (each architecture's presets side by side, so the page opens on the
    baseline against the best, paired where they share folds); without one, the newest complete
    run and up to two more scored on its folds (newest first); without such runs, the first
    three."""
    if "role" in runs and (runs["role"] == "main").any():
        return list(runs.index[runs["role"] == "main"])
    done = runs[runs["status"] == "complete"] if "status" in runs else runs
    if done.empty or "created" not in done:
        return list(runs.index[:3])
    done = done.sort_values("created", ascending=False, kind="stable")
    newest = done.iloc[0]
    peers = [run_id for run_id, run in done.iloc[1:].iterrows()
             if readers.same_folds(newest, run)]
    return [done.index[0], *peers[:2]] if peers else list(runs.index[:3])


def paired_differences(runs: pd.DataFrame, chosen: list[str]) -> None:
    """Each chosen run minus the first, fold by fold where both were scored on the same folds:
    Δ, its 95% interval, the corrected resampled t-test (benchmark/paired.py) and its verdict
    (verdicts.decide on that one comparison: the ablation page's four words); a run on other
    folds says so instead."""
    first = runs.loc[chosen[0]]
    folds = read(first.run_dir, "folds")
    rows = []
    for run_id in chosen[1:]:
        run = runs.loc[run_id]
        row = {"run": run_id, "delta": None, "interval": "", "p_value": None, "p_plain": None,
               "folds": 0, "verdict": "not paired: scored on other folds"}
        other = read(run.run_dir, "folds")
        if readers.same_folds(first, run) and not folds.empty and not other.empty:
            test = paired.compare(results.fold_series(other), results.fold_series(folds),
                                  int(first["folds"]))
            row.update(delta=test["delta"], p_value=test["p_value"], p_plain=test["p_plain"],
                       folds=test["folds"],
                       interval=readers.interval(test["ci_low"], test["ci_high"]),
                       verdict=verdicts.text(verdicts.decide([test])[0]))
        rows.append(row)
    st.subheader(f"Paired differences from {chosen[0]}")
    st.caption("Each run's validation accuracy minus the first's, fold by fold, where both were "
               "scored on the same folds (same data, training images, seed, folds and repeats): "
               "the mean difference, its 95% interval and the corrected resampled t-test "
               "(the plain paired t-test's p beside it). "
               + verdicts.verdicts_explained(family=None))
    table = pd.DataFrame(rows)
    table[["p_value", "p_plain"]] = table[["p_value", "p_plain"]].map(p_text)
    no_p = (f"{NO_P}: not paired (scored on other folds), or no test (fewer than two paired "
            "folds, or the very same difference on every fold)")
    st.dataframe(table, hide_index=True, column_config={
        "delta": st.column_config.NumberColumn("Δ accuracy", format="%+.4f"),
        "interval": "95% interval",
        "p_value": st.column_config.TextColumn("p (corrected)", help=no_p),
        "p_plain": st.column_config.TextColumn("p (plain t)", help=no_p),
        "folds": "paired folds"})
