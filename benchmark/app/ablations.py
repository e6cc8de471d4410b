"""Ablations: for one ablation (each architecture's main one first, benchmark/selection.py;
the others with "Show pilot runs" on), each factor's arms
as fold accuracies, mean and spread, the baseline marked, `delta` and its verdict against the
baseline's folds (better, worse, equivalent or undecided: ablations.csv's, read as written),
coloured the same in every chart and in the report's figure; on the official Balanced split,
the study's number beside ours."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import published, readers, verdicts, views
from benchmark.app.shared import chart, data_caption, item_picker

P_LABELS = {"p_value": "p (corrected)", "p_adjusted": "p (adjusted)",
            "p_equivalence_adjusted": "p equivalence (adjusted)", "p_plain": "p (plain t)"}
NO_P = "–"  # in a p-value cell: nothing was tested (say why in the column's help)


def p_text(p) -> str:
    """A p-value for a table cell: "0.012", "<0.001", or a dash where there is none (a
    missing number would read "None")."""
    if p is None or p != p:
        return NO_P
    return "<0.001" if p < 0.0005 else f"{p:.3f}"


def numeric_order(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """`rows` in the numeric order of `column` when every value is a number (units 32, 64,
    128, not 128, 32, 64), else as they are."""
    numbers = pd.to_numeric(rows[column], errors="coerce")
    return rows if numbers.isna().any() else rows.iloc[numbers.argsort(kind="stable")]


@st.cache_data(show_spinner=False, max_entries=64)
def load_ablation(path: str, signature: tuple) -> pd.DataFrame:
    config = readers.read_json(Path(path) / "config.json")
    return readers.read_ablation(Path(path), config)


def page(catalog: readers.Catalog) -> None:
    st.header("Ablations")
    if not catalog.ablations:
        st.info("No ablations yet: `emnist-bench ablate --arch cnn --factors activation,optimizer`.")
        return
    # Each architecture's main ablation first (selection.annotate's order); a link may name
    # one that the switch hides.
    study = item_picker(catalog.ablations, "Ablation", "ablation", "ablations",
                        "No main ablation yet (one whose baseline learned): turn on **Show "
                        "pilot runs** in the sidebar to see the {count} others.")
    if study is None:
        return
    role = ("the main ablation" if study["role"] == "main" else
            f"{study['role']}: {study['why']}" if study["why"] else study["role"])
    st.caption(f"{study['arch']} on {study['backend']}, {study['arms']} arms; {role}.")
    path = readers.folder(catalog.root, study["id"])
    try:
        table = load_ablation(str(path), readers.file_stamp(path / "ablations.csv"))
        ablation = readers.read_json(path / "config.json")
    except (ValueError, OSError, KeyError, TypeError) as error:
        st.warning(f"Could not read `{study['id']}/ablations.csv`: {error}")
        return
    if table.empty:
        st.info(f"`{study['id']}` has no finished arm yet (its ablations.csv is not written).")
        return
    data_caption(study)
    rope, rounds = ablation.get("rope") or verdicts.ROPE, ablation.get("adaptive_rounds")
    st.caption(caption(rope, rounds))
    reused = readers.reused_text(path)
    if reused:
        st.caption(reused)
    folds = views.ablation_folds(table)
    for factor in dict.fromkeys(table["factor"]):
        rows = numeric_order(table[table["factor"] == factor], "value")
        st.subheader(f"{study['arch']}: {factor}")
        note = published.STUDY_NOTES.get((study["arch"], factor))
        if study["official"] and note:
            st.caption(f"{published.STUDY_LABEL}: {note}.")
        chart(ablation_chart(rows, folds[folds["factor"] == factor]))
        if rows["ci_low"].notna().any():
            chart(delta_chart(rows, rope))
        columns = ["label", "folds", "val_accuracy_mean", "val_accuracy_std", "delta", "interval",
                   "verdict", "smallest_detectable", "p_value", "p_adjusted",
                   "p_equivalence_adjusted", "p_plain", "rope",
                   *(["rounds"] if rounds else []), "collapsed",
                   "test_accuracy"]
        config = {"label": "value",
                  "val_accuracy_mean": st.column_config.NumberColumn("CV mean", format="%.4f"),
                  "val_accuracy_std": st.column_config.NumberColumn("CV std", format="%.4f"),
                  "delta": st.column_config.NumberColumn("delta", format="%+.4f"),
                  "interval": "delta's 95% interval",
                  "verdict": st.column_config.TextColumn("verdict", help=VERDICT_HELP),
                  "smallest_detectable": st.column_config.NumberColumn(
                      "could detect |Δ| ≥", format="%.4f", help="The smallest difference this "
                      "run's difference test would have called, t(1 − α/2) · se before the "
                      "adjustment: what an undecided arm could not rule out below it"),
                  "rope": st.column_config.NumberColumn("ROPE ±", format="%.3f"),
                  "rounds": st.column_config.NumberColumn(
                      "rounds", format="%d", help="Rounds of folds the arm used before its "
                      "verdict was decided (adaptive runs only)"),
                  **{column: st.column_config.TextColumn(label, help=f"{NO_P}: the baseline "
                     "itself, or no test (fewer than two folds, or the very same difference on "
                     "every fold)") for column, label in P_LABELS.items()},
                  "test_accuracy": st.column_config.NumberColumn("test (ours)", format="%.4f")}
        if study["official"]:
            columns.append("study")
            config["study"] = st.column_config.NumberColumn(published.STUDY_LABEL, format="%.4f")
        shown = rows.assign(**{c: rows[c].map(p_text) for c in P_LABELS if c in rows})
        st.dataframe(shown, hide_index=True, column_order=columns, column_config=config)


VERDICT_HELP = ("better / worse: the difference test rejects Δ = 0; equivalent: the "
                "equivalence test puts Δ inside ±ROPE; undecided: neither (see \"could "
                "detect\"); no test: fewer than two folds, or the very same difference on every "
                "fold")


def caption(rope: float, rounds: int | None) -> str:
    """What the page's charts and table show, and the four verdicts explained."""
    return ("Each dot is one fold's validation accuracy; the tick and bar are the mean ± std. "
            "Each arm's verdict is its ablations.csv's: a paired comparison of the arm's folds "
            "with the baseline's on the same folds (the plain t-test's p is shown too; it "
            "ignores that the folds' training sets overlap). The interval is the 95% interval "
            "of delta from the same corrected variance; the second chart draws it, the region "
            f"of practical equivalence ±{rope:.3f} shaded. "
            + verdicts.verdicts_explained(rope, rounds) + " Colours: better green, worse red, "
            "equivalent blue, undecided grey, the baseline black.")


def verdict_colour(legend: alt.Legend | None) -> alt.Color:
    """The verdict's colour, the same in both charts and in the report's figure."""
    colours = verdicts.VERDICT_COLOURS
    return alt.Color("verdict:N", scale=alt.Scale(domain=list(colours),
                                                  range=list(colours.values())),
                     legend=legend)


def ablation_chart(rows: pd.DataFrame, folds: pd.DataFrame) -> alt.LayerChart:
    order = rows["label"].tolist()
    summary = rows.assign(low=rows.val_accuracy_mean - rows.val_accuracy_std.fillna(0),
                          high=rows.val_accuracy_mean + rows.val_accuracy_std.fillna(0))
    folds = folds.merge(rows[["label", "verdict"]], on="label")
    colour = verdict_colour(alt.Legend(orient="bottom", title=None))
    y = alt.Y("label:N", sort=order, title=None)
    base = alt.Chart(summary).encode(y=y, color=colour)
    return alt.layer(
        base.mark_rule(size=3, opacity=0.6).encode(
            x=alt.X("low:Q", title="validation accuracy", scale=alt.Scale(zero=False)),
            x2="high:Q"),
        alt.Chart(folds).mark_circle(size=70, opacity=0.7).encode(
            x="val_accuracy:Q", y=y, color=colour,
            tooltip=["label", "fold", alt.Tooltip("val_accuracy:Q", format=".4f")]),
        base.mark_tick(size=26, thickness=3).encode(
            x="val_accuracy_mean:Q",
            tooltip=["label", alt.Tooltip("val_accuracy_mean:Q", format=".4f"),
                     alt.Tooltip("delta:Q", format="+.4f"), alt.Tooltip("p_value:Q", format=".3f"),
                     alt.Tooltip("interval:N", title="delta's 95% interval"),
                     alt.Tooltip("verdict_text:N", title="verdict")]),
    ).properties(height=120 + 40 * len(rows))  # the axis and legend included


def delta_chart(rows: pd.DataFrame, rope: float = verdicts.ROPE) -> alt.LayerChart:
    """Each arm's delta against the baseline as a point on its 95% interval, coloured by its
    verdict; zero marked and the region of practical equivalence shaded around it."""
    arms = rows[rows["ci_low"].notna()]
    colour = verdict_colour(None)
    y = alt.Y("label:N", sort=arms["label"].tolist(), title=None)
    base = alt.Chart(arms).encode(y=y, color=colour)
    tooltip = ["label", alt.Tooltip("delta:Q", format="+.4f"),
               alt.Tooltip("interval:N", title="delta's 95% interval"),
               alt.Tooltip("p_adjusted:Q", title="p (adjusted)", format=".3f"),
               alt.Tooltip("p_equivalence_adjusted:Q", title="p equivalence (adjusted)",
                           format=".3f"),
               alt.Tooltip("verdict_text:N", title="verdict")]
    band = pd.DataFrame({"low": [-rope], "high": [rope], "what": [f"ROPE ±{rope:.3f}"]})
    return alt.layer(
        alt.Chart(band).mark_rect(color=verdicts.VERDICT_COLOURS["equivalent"], opacity=0.12)
        .encode(x="low:Q", x2="high:Q", tooltip=alt.Tooltip("what:N", title="equivalence")),
        alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(strokeDash=[4, 4], color="#666")
        .encode(x="zero:Q"),
        base.mark_rule(size=3).encode(
            x=alt.X("ci_low:Q", title="delta against the baseline, same folds (95% interval)"),
            x2="ci_high:Q", tooltip=tooltip),
        base.mark_point(size=80, filled=True).encode(x="delta:Q", tooltip=tooltip),
    ).properties(height=60 + 30 * len(arms))
