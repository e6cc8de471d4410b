"""Misclassified: the test images a run's final model got wrong, drawn with true → predicted
and the prediction's confidence, most confident mistakes first, filtered by true class,
predicted class or confusable pair; the matching rows of misclassified.csv in a table."""

from __future__ import annotations

import numpy as np
import streamlit as st

from benchmark import readers
from benchmark.app.shared import data_caption, read, run_picker

IMAGE_SCALE = 3  # misclassified images are drawn 84x84: 28x28 pixels, each 3x3


def page(catalog: readers.Catalog) -> None:
    st.header("Misclassified test images")
    run = run_picker(catalog, "Run", "misclassified.csv")
    if run is None:
        return
    table, images = read(run.run_dir, "misclassified")
    data_caption(run)
    if table.empty:
        st.success("No misclassified test image in this run.")
        return
    if images is None:
        st.warning("misclassified.npz is missing or does not match misclassified.csv, so the "
                   "images cannot be drawn; the table is below.")
    pairs = table.assign(pair=[" / ".join(sorted((t, p))) for t, p in
                               zip(table.true_char, table.predicted_char, strict=True)])
    pair_counts = pairs["pair"].value_counts()
    left, middle, right, last = st.columns(4)
    true = left.selectbox("True class", ["any", *sorted(set(table.true_char))], key="true_class")
    predicted = middle.selectbox("Predicted class", ["any", *sorted(set(table.predicted_char))],
                                 key="predicted_class")
    pair = right.selectbox("Confusable pair", ["any", *pair_counts.index], key="pair",
                           format_func=lambda p: p if p == "any" else f"{p} ({pair_counts[p]})")
    limit = last.number_input("Show at most", min_value=1, max_value=1000, value=60, step=12)
    keep = np.ones(len(pairs), dtype=bool)
    if true != "any":
        keep &= (pairs.true_char == true).to_numpy()
    if predicted != "any":
        keep &= (pairs.predicted_char == predicted).to_numpy()
    if pair != "any":
        keep &= (pairs.pair == pair).to_numpy()
    drawable = keep & table["has_image"].to_numpy() if images is not None else keep
    positions = np.flatnonzero(drawable)[: int(limit)]
    st.caption(f"{keep.sum()} of {len(table)} misclassified test images match; showing "
               f"{len(positions)}, most confident mistakes first (true → predicted, confidence "
               f"of the prediction). A run stores the images of the most confident mistakes of "
               f"each true → predicted pair; the table lists them all.")
    if images is not None and len(positions):
        grid = [np.kron(images[i], np.ones((IMAGE_SCALE, IMAGE_SCALE), dtype=np.uint8))
                for i in positions]
        captions = [f"{table.true_char.iloc[i]} → {table.predicted_char.iloc[i]} "
                    f"{table.confidence.iloc[i]:.0%}" for i in positions]
        st.image(grid, caption=captions, width=28 * IMAGE_SCALE)
    with st.expander("Table"):
        st.dataframe(table.iloc[positions], hide_index=True)
