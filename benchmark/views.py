"""The results as the app's charts and the report's tables shape them: curves in long form,
the most confused pairs, parallel coordinates of a search and its anytime curve, an
ablation's folds, the runs that
pair up across backends or precisions, profiles by operator group and the latest bench rows.

benchmark/readers.py reads the files; everything here takes what it read (or the results
root, for the profiles) and returns a tidy frame, writing nothing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark import factors, readers, results


def fold_curves(epochs: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """Long form of the cross-validation folds' curves (fold 0, the final model, left out):
    run, fold, epoch, metric ("loss" or "accuracy"), split ("training" or "validation"), value."""
    folds = epochs[epochs["fold"] > 0] if not epochs.empty else epochs
    columns = {"loss": ("loss", "training"), "accuracy": ("accuracy", "training"),
               "val_loss": ("loss", "validation"), "val_accuracy": ("accuracy", "validation")}
    parts = []
    for column, (metric, split) in columns.items():
        if column in folds:
            part = folds[["fold", "epoch", column]].rename(columns={column: "value"})
            parts.append(part.assign(metric=metric, split=split))
    if not parts:
        return pd.DataFrame(columns=["run", "fold", "epoch", "value", "metric", "split"])
    return pd.concat(parts, ignore_index=True).dropna(subset=["value"]).assign(run=run_id)


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves averaged over folds, per run, metric, split and epoch."""
    keys = ["run", "metric", "split", "epoch"]
    return curves.groupby(keys, as_index=False)["value"].mean()


def ablation_folds(expanded: pd.DataFrame) -> pd.DataFrame:
    """One row per (factor, value, fold) with that fold's validation accuracy."""
    fold_columns = [c for c in expanded.columns if c.startswith("fold_")]
    long = expanded.melt(id_vars=["factor", "label", "baseline"], value_vars=fold_columns,
                         var_name="fold", value_name="val_accuracy")
    long["fold"] = long["fold"].str.removeprefix("fold_")
    return long.dropna(subset=["val_accuracy"])


def confused_pairs(confusion: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """The most confused unordered pairs of characters: a, b, a -> b, b -> a, total."""
    if confusion.empty:
        return pd.DataFrame(columns=["a", "b", "a as b", "b as a", "total"])
    chars = list(confusion.columns)
    counts = confusion.reindex(index=chars, columns=chars, fill_value=0).to_numpy()
    rows = []
    for i in range(len(chars)):
        for j in range(i + 1, len(chars)):
            total = int(counts[i, j] + counts[j, i])
            if total:
                rows.append({"a": chars[i], "b": chars[j], "a as b": int(counts[i, j]),
                             "b as a": int(counts[j, i]), "total": total})
    pairs = pd.DataFrame(rows, columns=["a", "b", "a as b", "b as a", "total"])
    return pairs.sort_values(["total", "a", "b"], ascending=[False, True, True]).head(top)


def parallel_coordinates(trials: pd.DataFrame, space: dict) -> pd.DataFrame:
    """Completed trials in long form for a parallel-coordinates chart: each hyperparameter an
    axis, each value at its position in the space's value list scaled to 0..1, and the score as
    the last axis scaled from its minimum to its maximum."""
    if trials.empty or "score" not in trials:
        return pd.DataFrame(columns=["trial", "axis", "position", "value", "score"])
    done = trials[trials["status"] == "completed"] if "status" in trials else trials
    done = done.dropna(subset=["score"])
    rows = []
    axes = [name for name in space if name in done.columns]
    for _, trial in done.iterrows():
        for name in axes:
            values = [factors.normalise(v if not isinstance(v, list) else ",".join(map(str, v)))
                      for v in space[name].get("values", [])]
            value = trial[name]
            if value is None or value != value:  # inactive under this trial's choices
                continue
            text = factors.normalise(value)
            position = values.index(text) / max(len(values) - 1, 1) if text in values else 0.5
            rows.append({"trial": trial["trial_id"], "axis": name, "position": position,
                         "value": text, "score": trial["score"]})
        low, high = done["score"].min(), done["score"].max()
        rows.append({"trial": trial["trial_id"], "axis": "score", "score": trial["score"],
                     "position": (trial["score"] - low) / (high - low) if high > low else 0.5,
                     "value": f"{trial['score']:.4f}"})
    return pd.DataFrame(rows, columns=["trial", "axis", "position", "value", "score"])


WITHIN = 0.005  # "near the best": half a point of accuracy, the verdicts' rope


def anytime(trials: pd.DataFrame) -> pd.DataFrame:
    """A search's best score so far against the training time it had spent, one row per trial
    in the order the trials ran (their ids; failed trials cost their time too): the anytime
    curve of the AlgoPerf benchmark's time-to-result view. Columns: trial_id, minutes
    (cumulative, this trial included), score (this trial's, NaN unless completed), best."""
    columns = ["trial_id", "minutes", "score", "best"]
    if trials.empty or "seconds" not in trials:
        return pd.DataFrame(columns=columns)
    ids = trials["trial_id"].astype(str)
    order = pd.to_numeric(ids, errors="coerce").fillna(float("inf"))
    ran = trials.assign(_order=order, trial_id=ids).sort_values(["_order", "trial_id"],
                                                               kind="stable")
    completed = ran.get("status", pd.Series("completed", index=ran.index)) == "completed"
    score = ran["score"].where(completed)
    return pd.DataFrame({"trial_id": ran["trial_id"],
                         "minutes": ran["seconds"].fillna(0).cumsum() / 60,
                         "score": score, "best": score.cummax()},
                        columns=columns).reset_index(drop=True)


def time_to_near_best(curve: pd.DataFrame, within: float = WITHIN) -> dict:
    """From an anytime curve: the best score, the minutes spent when it was found, and the minutes
    spent when the best so far first came within `within` of it."""
    done = curve.dropna(subset=["best"])
    if done.empty:
        return {"best": None, "minutes_to_best": None, "minutes_to_near": None}
    best = done["best"].iloc[-1]
    return {"best": best,
            "minutes_to_best": done.loc[done["best"] >= best, "minutes"].iloc[0],
            "minutes_to_near": done.loc[done["best"] >= best - within, "minutes"].iloc[0]}


def parallel_ticks(space: dict, axes: list[str]) -> pd.DataFrame:
    """Every value of each hyperparameter axis at its parallel-coordinates position."""
    rows = []
    for name in axes:
        values = [factors.normalise(v if not isinstance(v, list) else ",".join(map(str, v)))
                  for v in (space.get(name) or {}).get("values", [])]
        for i, value in enumerate(values):
            rows.append({"axis": name, "position": i / max(len(values) - 1, 1), "value": value})
    return pd.DataFrame(rows, columns=["axis", "position", "value"])


def epoch_seconds(epochs: pd.DataFrame) -> float | None:
    """Median seconds per training epoch of the folds, leaving out each fold's first epoch
    (it includes compiling the model) when there are later ones."""
    if epochs.empty or "seconds" not in epochs:
        return None
    folds = epochs[epochs["fold"] > 0]
    later = folds[folds["epoch"] > 1]
    chosen = later if not later.empty else folds
    return float(chosen["seconds"].median()) if not chosen.empty else None


def backend_groups(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose configuration and data (the digest) were run on more than one backend."""
    if runs.empty:
        return runs
    counts = runs.groupby("digest")["backend"].nunique()
    shared = counts[counts > 1].index
    return runs[runs["digest"].isin(shared)].sort_values(["digest", "backend"])


def precision_groups(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs whose configuration, data and backend (the setup) were run in more than one
    precision."""
    if runs.empty:
        return runs
    counts = runs.groupby("setup")["precision"].nunique()
    shared = counts[counts > 1].index
    return runs[runs["setup"].isin(shared)].sort_values(["setup", "precision"])


def profile_groups(root: Path) -> pd.DataFrame:
    """profiles/*.csv summed per architecture, precision, side and operator group: ms per
    step, its share of the side's profiled time, and the side's wall time per step."""
    tables = [readers.read_csv(path) for path in sorted((Path(root) / results.PROFILES).glob("*.csv"))]
    tables = [t for t in tables if {"side", "group", "ms_per_step"} <= set(t.columns)]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    keys = ["arch", "precision", "side"]
    grouped = (table.groupby([*keys, "group"], as_index=False)
               .agg(ms_per_step=("ms_per_step", "sum"),
                    wall_ms_per_step=("wall_ms_per_step", "first"),
                    created=("created", "first"), code_version=("code_version", "first")))
    grouped["share"] = grouped["ms_per_step"] / grouped.groupby(keys)["ms_per_step"].transform(
        "sum")
    return grouped


def latest_bench(bench: pd.DataFrame) -> pd.DataFrame:
    """bench.csv keeps every measurement; the latest one per architecture, backend, precision
    and batch size is the one to show."""
    keys = [c for c in ("arch", "backend", "precision", "batch_size") if c in bench]
    if not keys:
        return bench
    ordered = bench.sort_values("created", kind="stable") if "created" in bench else bench
    return ordered.drop_duplicates(keys, keep="last").sort_values(keys).reset_index(drop=True)
