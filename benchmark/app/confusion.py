"""Confusion: a run's 47x47 test confusion matrix as a heat map (the diagonal optional),
its per-class accuracy, the most confused pairs, and how often it mixes up the pairs the study
names (9/q, O/0)."""

from __future__ import annotations

import altair as alt
import numpy as np
import streamlit as st

from benchmark import published, readers, views
from benchmark.app.shared import chart, data_caption, read, run_picker


def page(catalog: readers.Catalog) -> None:
    st.header("Confusion")
    run = run_picker(catalog, "Run", "confusion.csv")
    if run is None:
        return
    confusion = read(run.run_dir, "confusion")
    data_caption(run)
    if confusion.empty:
        st.info("confusion.csv is empty.")
        return
    chars = list(confusion.columns)
    diagonal = st.toggle("Include correct predictions (the diagonal)", value=False)
    long = confusion.rename_axis(index="true", columns="predicted").stack().rename("count")
    long = long.reset_index()
    support = confusion.sum(axis=1)
    long["share"] = long["count"] / long["true"].map(support).replace(0, np.nan)
    if not diagonal:
        long = long[long["true"] != long["predicted"]]
    long = long[long["count"] > 0]
    st.caption("Rows: the true character; columns: the predicted one. Test split of the final "
               "model.")
    chart(alt.Chart(long).mark_rect().encode(
        x=alt.X("predicted:N", scale=alt.Scale(domain=chars),
                axis=alt.Axis(labelAngle=0, orient="top", labelOverlap=False)),
        y=alt.Y("true:N", scale=alt.Scale(domain=chars), axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("count:Q", scale=alt.Scale(scheme="orangered")),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".1%",
                                                         title="share of true class")],
    ).properties(height=720))
    left, right = st.columns([3, 2])
    with left:
        per_class = read(run.run_dir, "per_class")
        if not per_class.empty:
            st.subheader("Per-class accuracy")
            chart(alt.Chart(per_class).mark_bar().encode(
                x=alt.X("char:N", scale=alt.Scale(domain=chars), title="class",
                        axis=alt.Axis(labelAngle=0, labelOverlap=False)),
                y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("accuracy:Q", scale=alt.Scale(scheme="redyellowgreen",
                                                              domain=[0, 1]), legend=None),
                tooltip=["char", "support", "correct", alt.Tooltip("accuracy:Q", format=".3f")],
            ).properties(height=260))
    with right:
        st.subheader("Most confused pairs")
        pairs = views.confused_pairs(confusion)
        st.dataframe(pairs, hide_index=True)
        everything = views.confused_pairs(confusion, top=len(chars) ** 2)
        notes = []
        for a, b in published.KNOWN_CONFUSIONS:
            hit = everything[((everything.a == a) & (everything.b == b)) |
                             ((everything.a == b) & (everything.b == a))]
            count = int(hit["total"].iloc[0]) if not hit.empty else 0
            notes.append(f"{a}/{b}: {count}")
        st.caption("The study names 9/q as the most confused pair; O/0 is another. Here: "
                   + ", ".join(notes) + " mistakes.")
