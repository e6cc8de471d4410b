"""Runs: every cross-validation run in a table (architecture, preset, backend, precision,
data, CV mean ± std, test accuracy, epochs, folds, wall time, status), and the runs chosen to
compare drawn side by side: each fold's validation accuracy, CV mean ± std and test accuracy,
for two runs on the same folds the paired test of their difference, then the settings in which
they differ. Folders that could not be read are listed here."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import paired, readers
from benchmark.app.shared import chart, fmt_accuracy, read, show_problems


def page(catalog: readers.Catalog) -> None:
    st.header("Runs")
    runs = catalog.runs
    if runs.empty:
        st.info(f"No cross-validation runs yet: `{readers.FIRST_COMMAND}`.")
    else:
        cv = [fmt_accuracy(m, s) for m, s in zip(runs.cv_mean, runs.cv_std, strict=True)]
        folds = [f"{d}/{f}" for d, f in zip(runs.folds_done, runs.folds, strict=True)]
        table = runs.assign(cv=cv, folds_text=folds)
        st.dataframe(
            table, hide_index=True,
            column_order=["run_id", "arch", "preset", "backend", "precision", "data", "cv",
                          "test_accuracy", "epochs", "folds_text", "seconds", "status",
                          "collapsed", "created"],
            column_config={
                "run_id": "run", "cv": st.column_config.TextColumn("CV mean ± std"),
                "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.4f"),
                "folds_text": "folds",
                "collapsed": st.column_config.TextColumn(
                    "collapsed", help="learned nothing: chance-level accuracy or an exploded "
                    "loss, so its numbers say nothing about its settings"),
                "seconds": st.column_config.NumberColumn(
                    "wall time (s)", format="%.1f")})
        compare_runs(catalog)
    if catalog.searches or catalog.ablations:
        st.caption(f"Also here: {len(catalog.searches)} search(es) (see Tuning) and "
                   f"{len(catalog.ablations)} ablation(s) (see Ablations).")
    show_problems(catalog)


def compare_runs(catalog: readers.Catalog) -> None:
    runs = catalog.runs.set_index("run_id")
    chosen = st.multiselect("Compare runs", list(runs.index), key="compare",
                            persist_state="session", default=list(runs.index[:3]))
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
    if len(chosen) == 2:
        paired_difference(runs.loc[chosen[0]], runs.loc[chosen[1]], chosen)
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


def paired_difference(a: pd.Series, b: pd.Series, names: list[str]) -> None:
    """Two runs on the same folds: the second minus the first, fold by fold, with the corrected
    resampled t-test and its 95% interval (benchmark/paired.py); otherwise why there is none."""
    if not readers.same_folds(a, b):
        st.caption("No paired test: these two runs were not scored on the same folds "
                   "(different data, training images, seed, folds or repeats).")
        return
    fa, fb = (read(run.run_dir, "folds") for run in (a, b))
    if fa.empty or fb.empty:
        return
    test = paired.compare(fb.set_index("fold")["val_accuracy"],
                          fa.set_index("fold")["val_accuracy"], int(a["folds"]))
    if test["folds"] < 2:
        st.caption("No paired test: fewer than two folds in common.")
        return
    words = readers.verdict(test["p_value"], test["delta"])
    p = ("no p-value (the same difference on every fold)" if test["p_value"] is None else
         f"corrected p {test['p_value']:.3f} (plain paired t {test['p_plain']:.3f})")
    st.markdown(f"**{names[1]} − {names[0]}**: Δ {test['delta']:+.4f} validation accuracy, 95% "
                f"{readers.interval(test['ci_low'], test['ci_high'])} over {test['folds']} "
                f"paired folds; {p}: **{words}**. One comparison, so the p-value is not "
                "adjusted for others.")

