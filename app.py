"""The results browser: what emnist-bench wrote, drawn; nothing is trained here.

    streamlit run app.py
    EMNIST_BENCH_RESULTS=/path/to/results streamlit run app.py

Pages (sidebar): Runs, Ablations, Curves, Misclassified, Confusion, Tuning, Backends.
benchmark/readers.py reads the folder (every file is documented in results/README.md); this
file caches what it reads, keyed on the folder and the files' modification times, and draws
it with Altair. Run names from the URL or a widget are only ever the names found on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from benchmark import published, readers, results

RUN_COLOURS = alt.Scale(scheme="tableau10")  # runs overlaid need hues that tell apart
IMAGE_SCALE = 3  # misclassified images are drawn 84x84: 28x28 pixels, each 3x3
VERDICT_COLOURS = dict(zip(readers.VERDICTS, ["#4c78a8", "#9d9d9d", "#2ca02c", "#d62728",
                                             "#bcbd22"], strict=True))


# ------------------------------------------------------------------------- cached reading


@st.cache_data(show_spinner="Reading results...", max_entries=4)
def load_catalog(root: str, signature: tuple) -> readers.Catalog:
    return readers.scan(root)


# What the pages read from a folder: the file, and which function of benchmark.readers reads it.
READERS = {
    "epochs": ("epochs.csv", readers.read_epochs),
    "test": ("test.json", readers.read_test),
    "confusion": ("confusion.csv", readers.read_confusion),
    "misclassified": ("misclassified.npz", readers.read_misclassified),
    "trials": ("trials.csv", readers.read_trials),
    "folds": ("folds.csv", lambda d: readers.read_csv(d / "folds.csv")),
    "per_class": ("per_class.csv", lambda d: readers.read_csv(
        d / "per_class.csv", dtype={"char": str}, keep_default_na=False)),
    "config": ("config.json", lambda d: readers.read_json(d / "config.json")),
    "bench": ("bench.csv", lambda d: readers.read_csv(d / "bench.csv")),
}
EMPTY = {"test": {}, "config": {}, "misclassified": (pd.DataFrame(), None)}  # else a frame


@st.cache_data(show_spinner=False, max_entries=512)
def load_file(path: str, reader: str, signature: tuple):
    """One file through its reader, cached until the file changes (`signature`)."""
    return READERS[reader][1](Path(path))


def read(directory: Path | str, reader: str):
    """`reader`'s view of a folder that readers.scan or readers.folder has already checked; a file
    that cannot be read is reported and read as empty, so the rest of the page still draws."""
    directory = Path(directory)
    name = READERS[reader][0]
    signature = readers.file_stamp(directory / name)
    if reader == "misclassified":
        signature += readers.file_stamp(directory / "misclassified.csv")
    try:
        return load_file(str(directory), reader, signature)
    except (ValueError, OSError, KeyError, TypeError) as error:
        st.warning(f"Could not read `{directory.name}/{name}`: {error}")
        return EMPTY.get(reader, pd.DataFrame())


@st.cache_data(show_spinner=False, max_entries=64)
def load_ablation(path: str, signature: tuple) -> pd.DataFrame:
    config = readers.read_json(Path(path) / "config.json")
    return readers.read_ablation(Path(path), config)


# ------------------------------------------------------------------------- shared pieces


def no_results(root: Path, catalog: readers.Catalog) -> None:
    """The message for a folder with nothing to show yet."""
    where = f"`{root}`" if catalog.exists else f"`{root}` (the folder does not exist)"
    st.info(f"No results in {where}. Make some with `{readers.FIRST_COMMAND}`, or point "
            f"`EMNIST_BENCH_RESULTS` at a results folder.")


def run_picker(catalog: readers.Catalog, label: str, need: str) -> pd.Series | None:
    """A run chosen from those that have `need` (a file name); shared by pages via its key."""
    runs = catalog.runs
    have = [r for r in runs.itertuples() if Path(r.run_dir, need).exists()]
    if not have:
        st.info(f"No run has `{need}` yet: it is written when a run's test evaluation "
                f"finishes (e.g. `{readers.FIRST_COMMAND}`).")
        return None
    ids = [r.run_id for r in have]
    # Options are the bare names, so a link such as ?page=Confusion&run=<run-id> picks one.
    chosen = st.selectbox(label, ids, key="run", bind="query-params")
    run = runs.set_index("run_id").loc[chosen or ids[0]]
    st.caption(f"{run['arch']}/{run['preset']} on {run['backend']}; test accuracy "
               f"{fmt_accuracy(run['test_accuracy']) or 'not recorded'}.")
    return run


def data_caption(run_or_study: dict | pd.Series) -> None:
    """Say so when results are not on the official Balanced split: never pass them off as the
    study's (benchmark/STUDY.md, "The numbers and the data here")."""
    if not run_or_study.get("official"):
        st.caption(f"Data: {run_or_study.get('data')}. These are not EMNIST Balanced results, "
                   "and the study's numbers do not apply.")


def chart(spec: alt.TopLevelMixin) -> None:
    st.altair_chart(spec, width="stretch")


def fmt_accuracy(mean, std=None) -> str:
    """"0.6088 ± 0.0104", "0.6088" without a spread, "" without a value."""
    if mean is None or mean != mean:
        return ""
    return f"{mean:.4f}" if std is None or std != std else f"{mean:.4f} ± {std:.4f}"


# ------------------------------------------------------------------------- Runs


def page_runs(catalog: readers.Catalog) -> None:
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
                          "created"],
            column_config={
                "run_id": "run", "cv": st.column_config.TextColumn("CV mean ± std"),
                "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.4f"),
                "folds_text": "folds", "seconds": st.column_config.NumberColumn(
                    "wall time (s)", format="%.1f")})
        compare_runs(catalog)
    if catalog.searches or catalog.ablations:
        st.caption(f"Also here: {len(catalog.searches)} search(es) (see Tuning) and "
                   f"{len(catalog.ablations)} ablation(s) (see Ablations).")
    show_problems(catalog)


def show_problems(catalog: readers.Catalog) -> None:
    if catalog.problems:
        with st.expander(f"{len(catalog.problems)} folder(s) could not be read", expanded=True):
            for problem in catalog.problems:
                st.warning(f"`{problem.folder}`: {problem.reason}")


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


# ------------------------------------------------------------------------- Ablations


def page_ablations(catalog: readers.Catalog) -> None:
    st.header("Ablations")
    if not catalog.ablations:
        st.info("No ablations yet: `emnist-bench ablate --arch cnn --factors activation,optimizer`.")
        return
    # The newest ablation with a finished arm first (one just started has nothing to draw).
    newest = sorted(catalog.ablations, key=lambda a: (a["arms"] > 0, str(a.get("created"))),
                    reverse=True)
    studies = {a["id"]: a for a in newest}
    chosen = st.selectbox("Ablation", list(studies), key="ablation", bind="query-params")
    study = studies[chosen or next(iter(studies))]
    st.caption(f"{study['arch']} on {study['backend']}, {study['arms']} arms.")
    path = readers.folder(catalog.root, study["id"])
    try:
        table = load_ablation(str(path), readers.file_stamp(path / "ablations.csv"))
    except (ValueError, OSError, KeyError, TypeError) as error:
        st.warning(f"Could not read `{study['id']}/ablations.csv`: {error}")
        return
    if table.empty:
        st.info(f"`{study['id']}` has no finished arm yet (its ablations.csv is not written).")
        return
    data_caption(study)
    st.caption(f"Each dot is one fold's validation accuracy; the tick and bar are the mean ± std. "
               f"The verdict is a paired t-test of the arm's folds against the baseline's on the "
               f"same folds: p < {readers.ALPHA} is a real difference, anything else is within "
               f"fold-to-fold noise (no p-value: fewer than two folds, or the very same "
               f"difference on every fold).")
    folds = readers.ablation_folds(table)
    for factor in dict.fromkeys(table["factor"]):
        rows = table[table["factor"] == factor]
        st.subheader(f"{study['arch']}: {factor}")
        note = published.STUDY_NOTES.get((study["arch"], factor))
        if study["official"] and note:
            st.caption(f"{published.STUDY_LABEL}: {note}.")
        chart(ablation_chart(rows, folds[folds["factor"] == factor]))
        columns = ["label", "folds", "val_accuracy_mean", "val_accuracy_std", "delta", "p_value",
                   "verdict", "test_accuracy"]
        config = {"label": "value",
                  "val_accuracy_mean": st.column_config.NumberColumn("CV mean", format="%.4f"),
                  "val_accuracy_std": st.column_config.NumberColumn("CV std", format="%.4f"),
                  "delta": st.column_config.NumberColumn("delta", format="%+.4f"),
                  "p_value": st.column_config.NumberColumn("p", format="%.3f"),
                  "test_accuracy": st.column_config.NumberColumn("test (ours)", format="%.4f")}
        if study["official"]:
            columns.append("study")
            config["study"] = st.column_config.NumberColumn(published.STUDY_LABEL, format="%.4f")
        st.dataframe(rows, hide_index=True, column_order=columns, column_config=config)


def ablation_chart(rows: pd.DataFrame, folds: pd.DataFrame) -> alt.LayerChart:
    order = rows["label"].tolist()
    summary = rows.assign(low=rows.val_accuracy_mean - rows.val_accuracy_std.fillna(0),
                          high=rows.val_accuracy_mean + rows.val_accuracy_std.fillna(0))
    folds = folds.merge(rows[["label", "verdict"]], on="label")
    colour = alt.Color("verdict:N", scale=alt.Scale(domain=list(VERDICT_COLOURS),
                                                    range=list(VERDICT_COLOURS.values())),
                       legend=alt.Legend(orient="bottom", title=None))
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
                     "verdict"]),
    ).properties(height=120 + 40 * len(rows))  # the axis and legend included


# ------------------------------------------------------------------------- Curves


def page_curves(catalog: readers.Catalog) -> None:
    st.header("Curves")
    runs = catalog.runs.set_index("run_id") if not catalog.runs.empty else None
    if runs is None:
        st.info(f"No runs yet: `{readers.FIRST_COMMAND}`.")
        return
    chosen = st.multiselect("Runs", list(runs.index), key="compare", persist_state="session",
                            default=list(runs.index[:3]))
    each_fold = st.toggle("Each fold (thin lines) as well as the mean over folds", value=True)
    curves, rates = [], []
    for run_id in chosen:
        epochs = read(runs.loc[run_id, "run_dir"], "epochs")
        if epochs.empty:
            st.caption(f"`{run_id}` has no finished epoch yet.")
            continue
        curves.append(readers.fold_curves(epochs, run_id))
        folds = epochs[epochs["fold"] > 0]
        if "learning_rate" in folds:
            rates.append(folds.groupby("epoch", as_index=False)["learning_rate"].mean()
                         .assign(run=run_id))
    if not curves:
        st.info("Choose one or more runs with finished epochs.")
        return
    curves = pd.concat(curves, ignore_index=True)
    mean = readers.mean_curves(curves)
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
            color=alt.Color("run:N", scale=RUN_COLOURS),
            tooltip=["run", "epoch", alt.Tooltip("learning_rate:Q", format=".2e")],
        ).properties(height=200))


def curve_chart(mean: pd.DataFrame, curves: pd.DataFrame, metric: str,
                each_fold: bool) -> alt.LayerChart:
    encode = {"x": alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d")),
              "y": alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
              "color": alt.Color("run:N", scale=RUN_COLOURS, legend=alt.Legend(symbolOpacity=1)),
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


# ------------------------------------------------------------------------- Misclassified


def page_misclassified(catalog: readers.Catalog) -> None:
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


# ------------------------------------------------------------------------- Confusion


def page_confusion(catalog: readers.Catalog) -> None:
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
        pairs = readers.confused_pairs(confusion)
        st.dataframe(pairs, hide_index=True)
        everything = readers.confused_pairs(confusion, top=len(chars) ** 2)
        notes = []
        for a, b in published.KNOWN_CONFUSIONS:
            hit = everything[((everything.a == a) & (everything.b == b)) |
                             ((everything.a == b) & (everything.b == a))]
            count = int(hit["total"].iloc[0]) if not hit.empty else 0
            notes.append(f"{a}/{b}: {count}")
        st.caption("The study names 9/q as the most confused pair; O/0 is another. Here: "
                   + ", ".join(notes) + " mistakes.")


# ------------------------------------------------------------------------- Tuning


def page_tuning(catalog: readers.Catalog) -> None:
    st.header("Tuning")
    if not catalog.searches:
        st.info("No searches yet: `emnist-bench tune --arch mlp`.")
        return
    newest = sorted(catalog.searches, key=lambda s: str(s.get("created")), reverse=True)
    searches = {s["id"]: s for s in newest}
    chosen = st.selectbox("Search", list(searches), key="search", bind="query-params")
    search = searches[chosen or next(iter(searches))]
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
    long["value"] = long["value"].map(readers.normalise)
    chart(alt.Chart(long).mark_circle(size=80, opacity=0.7).encode(
        x=alt.X("value:N", title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("score:Q", scale=alt.Scale(zero=False)),
        tooltip=["trial_id", "hyperparameter", "value", alt.Tooltip("score:Q", format=".4f")],
    ).properties(width=170, height=150).facet(facet=alt.Facet("hyperparameter:N", title=None),
                                                columns=4).resolve_scale(x="independent"))
    st.subheader("Parallel coordinates")
    st.caption("One line per completed trial, coloured by its score; each axis lists the "
               "hyperparameter's values in the space's order.")
    lines = readers.parallel_coordinates(trials, space)
    order = [*names, "score"]
    x = alt.X("axis:N", scale=alt.Scale(domain=order), title=None,
              axis=alt.Axis(labelAngle=-20, orient="top", labelOverlap=False, labelAlign="left"))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[-0.05, 1.05]))
    labels = readers.parallel_ticks(space, names)
    chart(alt.layer(
        alt.Chart(pd.DataFrame({"axis": order})).mark_rule(color="#bbbbbb").encode(x=x),
        alt.Chart(lines).mark_line(strokeWidth=2, opacity=0.7).encode(
            x=x, y=y, detail="trial:N",
            color=alt.Color("score:Q", scale=alt.Scale(scheme="viridis")),
            tooltip=["trial", alt.Tooltip("score:Q", format=".4f")]),
        alt.Chart(labels).mark_text(align="left", dx=4, fontSize=11).encode(
            x=x, y=y, text="value:N"),
    ).properties(height=340))


# ------------------------------------------------------------------------- Backends


def page_backends(catalog: readers.Catalog) -> None:
    st.header("Backends")
    root = Path(catalog.root)
    bench = read(root, "bench") if (root / "bench.csv").exists() else pd.DataFrame()
    if bench.empty:
        st.warning(f"`bench.csv` is missing from `{root}`, so no controlled speed comparison "
                   f"exists yet: make it with `{readers.BENCH_COMMAND}`. Until then the speeds "
                   f"below are the runs' own wall times (runs.csv `seconds`, per-epoch times "
                   f"from epochs.csv), measured whenever each run happened.")
    else:
        bench_speed(bench)
    step_profiles(root)
    backend_accuracy(catalog, with_times=bench.empty)


def step_profiles(root: Path) -> None:
    """profiles/*.csv: each side's profiled time per training step by operator group."""
    st.subheader("Where a training step's time goes (profiles)")
    groups = readers.profile_groups(root)
    if groups.empty:
        st.info(f"No profiles yet: `{readers.PROFILE_COMMAND}`.")
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


def bench_speed(bench: pd.DataFrame) -> None:
    """bench.csv: steady-state training speed per architecture, backend and precision."""
    st.subheader("Training speed (bench.csv)")
    latest = readers.latest_bench(bench)
    needed = {"arch", "backend", "images_per_second"}
    if needed <= set(latest.columns):
        st.caption("Images per second of the `best` preset once compiled and warmed up; the "
                   "latest measurement of each architecture, backend, precision and batch size "
                   "(`pytorch`: the same model as a plain PyTorch loop).")
        colour = "precision:N" if "precision" in latest else "backend:N"
        tips = [c for c in ("arch", "backend", "precision", "batch_size", "ms_per_step",
                            "epoch_seconds", "vs_peer", "peak_memory_mb") if c in latest]
        chart(alt.Chart(latest).mark_bar().encode(
            x=alt.X("backend:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=colour, y=alt.Y("images_per_second:Q", title="images per second"),
            color=alt.Color(colour, legend=alt.Legend(orient="bottom")),
            column=alt.Column("arch:N", title=None), tooltip=["images_per_second", *tips],
        ).properties(width=220, height=240).resolve_scale(y="independent"))
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
        st.info(f"No runs yet: `{readers.FIRST_COMMAND}`.")
        return
    groups = readers.backend_groups(runs)
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
    rows = []
    for run in groups.itertuples():
        epochs = read(run.run_dir, "epochs")
        rows.append({"configuration": f"{run.arch}/{run.preset} · {run.data} · {run.folds} folds"
                     f" x {run.epochs} epochs · {run.digest}", "backend": run.backend,
                     "run": run.run_id, "cv_mean": run.cv_mean, "cv_std": run.cv_std,
                     "test_accuracy": run.test_accuracy, "seconds": run.seconds,
                     "epoch_seconds": readers.epoch_seconds(epochs)})
    table = pd.DataFrame(rows)
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


# ------------------------------------------------------------------------- the app


PAGES = {"Runs": page_runs, "Ablations": page_ablations, "Curves": page_curves,
         "Misclassified": page_misclassified, "Confusion": page_confusion,
         "Tuning": page_tuning, "Backends": page_backends}


def main() -> None:
    st.set_page_config(page_title="emnist-bench results", layout="wide")
    root = results.default_root()
    catalog = load_catalog(str(root.resolve()), readers.stamp(root))
    page = st.sidebar.radio("Page", list(PAGES), key="page", bind="query-params")
    st.sidebar.caption(f"Results folder: `{root}`  \n{len(catalog.runs)} run(s), "
                       f"{len(catalog.searches)} search(es), {len(catalog.ablations)} "
                       f"ablation(s)")
    if catalog.problems:
        st.sidebar.warning(f"{len(catalog.problems)} folder(s) could not be read: see Runs.")
    if catalog.empty:
        st.header(page or "Runs")
        no_results(root, catalog)
        show_problems(catalog)
        return
    PAGES[page or "Runs"](catalog)


main()
