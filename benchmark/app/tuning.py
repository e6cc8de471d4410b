"""Tuning: one hyperparameter search (the newest real one first; searches that test the
suite, such as memory-* or one-epoch searches, only with "Show pilot runs" on,
benchmark/selection.py): its tuner, trials completed, best score and folds per trial; its
anytime curve beside the other searches of its architecture; its best trial against the best
preset on the preset's folds (benchmark/best_trials.py); the trials in a sortable table;
each completed trial's score against each hyperparameter; and parallel coordinates."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import factors, readers, verdicts, views
from benchmark.app.shared import chart, item_picker, load_against_preset, read


def page(catalog: readers.Catalog) -> None:
    st.header("Tuning")
    if not catalog.searches:
        st.info("No searches yet: `emnist-bench tune --arch mlp`.")
        return
    # Real searches first, newest first (selection.annotate's order).
    search = item_picker(catalog.searches, "Search", "search", "searches",
                         "Every search here tests the suite: turn on **Show pilot runs** in "
                         "the sidebar to see the {count} of them.", kinds="tests of the suite")
    if search is None:
        return
    path = readers.folder(catalog.root, search["id"])
    trials = read(path, "trials")
    space = (read(path, "config").get("space") or {})
    columns = st.columns(4)
    columns[0].metric("tuner", str(search["tuner"]))
    columns[1].metric("trials completed", f"{search['completed']} / {search['trials']}")
    best = search["best_score"]
    columns[2].metric("best score", f"{best:.4f}" if best is not None and best == best else "–")
    columns[3].metric("folds per trial", str(search["folds"]))
    st.caption(f"Score: {search['objective']}. Data: {search['data']}.")
    if trials.empty:
        st.info(f"`{search['id']}` has no finished trial yet.")
        return
    anytime(catalog, search)
    against_preset(catalog, search)
    st.dataframe(trials.sort_values("score", ascending=False, na_position="last"),
                 hide_index=True,
                 column_config={"score": st.column_config.NumberColumn(format="%.4f"),
                                "score_std": st.column_config.NumberColumn(format="%.4f")})
    names = [n for n in space if n in trials.columns]
    done = trials[trials.get("status", pd.Series("completed", index=trials.index))
                  == "completed"].dropna(subset=["score"])
    if done.empty or not names:
        st.info("No completed trial to chart yet.")
        return
    st.subheader("Score against each hyperparameter")
    long = done.melt(id_vars=["trial_id", "score"], value_vars=names, var_name="hyperparameter",
                     value_name="value").dropna(subset=["value"])
    long["value"] = long["value"].map(factors.normalise)
    # Each axis in numeric order where all its values are numbers (32, 64, 128, not the text
    # order 128, 32, 64), else in text order.
    numbers = pd.to_numeric(long["value"], errors="coerce")
    numeric = numbers.notna().groupby(long["hyperparameter"]).transform("all")
    long["order"] = numbers.where(numeric, long.groupby("hyperparameter")["value"].rank(
        method="dense"))
    chart(alt.Chart(long).mark_circle(size=80, opacity=0.7).encode(
        x=alt.X("value:N", title=None, axis=alt.Axis(labelAngle=0),
                sort=alt.EncodingSortField("order", op="min")),
        y=alt.Y("score:Q", scale=alt.Scale(zero=False)),
        tooltip=["trial_id", "hyperparameter", "value", alt.Tooltip("score:Q", format=".4f")],
    ).properties(width=170, height=150).facet(facet=alt.Facet("hyperparameter:N", title=None),
                                                columns=4).resolve_scale(x="independent"))
    st.subheader("Parallel coordinates")
    st.caption("One line per completed trial, coloured by its score; each axis lists the "
               "hyperparameter's values in the space's order.")
    lines = views.parallel_coordinates(trials, space)
    order = [*names, "score"]
    x = alt.X("axis:N", scale=alt.Scale(domain=order), title=None,
              axis=alt.Axis(labelAngle=-20, orient="top", labelOverlap=False, labelAlign="left"))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[-0.05, 1.05]))
    labels = views.parallel_ticks(space, names)
    chart(alt.layer(
        alt.Chart(pd.DataFrame({"axis": order})).mark_rule(color="#bbbbbb").encode(x=x),
        alt.Chart(lines).mark_line(strokeWidth=2, opacity=0.7).encode(
            x=x, y=y, detail="trial:N",
            color=alt.Color("score:Q", scale=alt.Scale(scheme="viridis")),
            tooltip=["trial", alt.Tooltip("score:Q", format=".4f")]),
        alt.Chart(labels).mark_text(align="left", dx=4, fontSize=11).encode(
            x=x, y=y, text="value:N"),
    ).properties(height=340))


def anytime(catalog: readers.Catalog, search: dict) -> None:
    """The search's best score so far against the training minutes it had spent, beside the
    other searches of its architecture of the same kind (real, or tests)."""
    shown = [s for s in catalog.searches
             if s["arch"] == search["arch"] and s.get("role") == search.get("role")]
    curves = {other["id"]: views.anytime(read(readers.folder(catalog.root, other["id"]),
                                              "trials")) for other in shown}
    long = pd.concat([curves[other["id"]].dropna(subset=["best"]).assign(
        search=f"{other['tuner']} ({other['id']})") for other in shown], ignore_index=True)
    if long.empty:
        return
    reached = views.time_to_near_best(curves[search["id"]])  # the search's own, read once
    st.subheader("Best score so far against training time")
    st.caption(f"Each search's best mean CV accuracy after each trial, against the training "
               f"minutes it had spent (failed trials count). This one found its best after "
               f"{readers.fmt(reached['minutes_to_best'], '.1f')} min and came within "
               f"{views.WITHIN} of it after {readers.fmt(reached['minutes_to_near'], '.1f')} min.")
    chart(alt.Chart(long).mark_line(interpolate="step-after", point=True).encode(
        x=alt.X("minutes:Q", title="training minutes spent"),
        y=alt.Y("best:Q", title="best CV accuracy so far", scale=alt.Scale(zero=False)),
        color=alt.Color("search:N", legend=alt.Legend(orient="bottom", columns=1)),
        tooltip=["search", "trial_id", alt.Tooltip("minutes:Q", format=".1f"),
                 alt.Tooltip("best:Q", format=".4f")]).properties(height=260))


def against_preset(catalog: readers.Catalog, search: dict) -> None:
    """The search's best trial cross-validated at the best preset's budget, paired with the
    preset fold by fold; or the command that would do it."""
    table = load_against_preset(catalog.root, readers.stamp(catalog.root))
    mine = table[table["search"] == search["id"]] if not table.empty else table
    if mine.empty:
        return
    row = mine.iloc[0]
    st.subheader("Did it beat the hand-made best preset?")
    if not isinstance(row.get("trial_run"), str):
        st.info(f"Its best trial ({row['best_trial']}) has not been trained at the best "
                f"preset's budget yet (`{row['preset_run']}`): `{row['command']}`.")
        return
    columns = st.columns(3)
    columns[0].metric("CV: best trial vs preset", f"{row['trial_cv']:.4f}",
                      f"{row['delta']:+.4f} vs {row['preset_cv']:.4f}")
    columns[1].metric("verdict", str(row["verdict"]).split(" (")[0])
    columns[2].metric("test: best trial vs preset", f"{row['trial_test']:.4f}",
                      f"{row['trial_test'] - row['preset_test']:+.4f}")
    st.caption(f"Best trial {row['best_trial']} trained again with `emnist-bench cv "
               f"--from-trial` as `{row['trial_run']}`, on the data, folds, repeats and epochs "
               f"of the best preset's main run, and paired with `{row['preset_run']}` fold "
               f"by fold over {int(row['folds'])} folds: Δ {row['delta']:+.4f}, 95% interval "
               f"{row['interval']}, {row['verdict']}. "
               + (f"The preset run started from init={row.get('preset_init')}, the trial "
                  f"from init={row.get('trial_init')}: they differ in that too. "
                  if row.get("preset_init") != row.get("trial_init") else "")
               + verdicts.verdicts_explained(family="the pairs compared"))
