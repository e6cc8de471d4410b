"""Summary, the first page: the study's answer on one screen, as results/REPORT.md opens on it
(benchmark/claims.py computes both): how many claims got each verdict, one line per claim that
ran (claim, verdict, our number, data and budget), a sentence for those that did not and why,
and links into the Ablations and Runs pages."""

from __future__ import annotations

import streamlit as st

from benchmark import claims, readers, selection, verdicts
from benchmark.app.shared import load_summary


def page(catalog: readers.Catalog, pages: dict[str, st.Page]) -> None:
    st.header("Summary")
    summary = load_summary(catalog.root, readers.stamp(catalog.root))
    st.markdown(f"**{summary.headline()}.**")
    columns = st.columns(max(len(summary.counts), 1))
    for column, (kind, count) in zip(columns, summary.counts.items(), strict=False):
        column.metric(kind, count)
    st.caption(f"Judged on the main runs and ablations only (pilots, tests and collapsed runs "
               f"are set apart: **Show pilot runs** in the sidebar lists them). Paired claims: "
               f"the corrected resampled t-test and its equivalence test (TOST), adjusted p < "
               f"{verdicts.ALPHA}; a claim about an arm and its ablation's baseline takes that "
               f"ablation's verdict (its family: the ablation's arms), so the claims and the "
               f"Ablations page agree. Better or worse becomes agrees or contradicts; "
               f"equivalent means practically nil (inside the ROPE, ±{verdicts.ROPE:.3f} unless "
               f"the ablation set another); undecided names the smallest difference the run "
               f"could have detected. REPORT.md's claims table has every p-value and run.")
    if not summary.lines.empty:
        st.dataframe(summary.lines, hide_index=True, width="stretch",
                     height=35 * (len(summary.lines) + 1) + 3,  # every line, no inner scroll
                     column_config={
                         "claim": st.column_config.TextColumn("claim", width="medium"),
                         "verdict": st.column_config.TextColumn("verdict", width="medium"),
                         "ours": st.column_config.TextColumn("our number", width="medium"),
                         "data and budget": st.column_config.TextColumn(
                             "data and budget", width="large")})
    st.markdown(summary.not_run)
    links(catalog, pages)


def links(catalog: readers.Catalog, pages: dict[str, st.Page]) -> None:
    """Into the Ablations page on each architecture's main ablation, and into the Runs page."""
    st.subheader("Where the numbers come from")
    for arch in dict.fromkeys(a["arch"] for a in catalog.ablations):
        found = selection.main_ablation(catalog, arch)
        if found is not None:
            st.page_link(pages["Ablations"], query_params={"ablation": found["id"]},
                         label=f"Ablations: the {claims.label(arch)}'s main ablation, "
                               f"{found['id']} ({found['data']})")
    main = selection.main_runs(catalog)
    st.page_link(pages["Runs"], label=f"Runs: the {len(main)} main run(s) of the architectures' "
                                      "presets, side by side")
