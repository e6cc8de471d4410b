"""Reading a results folder for the app, the report, the claims and the planner: tables in,
tidy frames out, and the catalogue of what the folder holds.

    streamlit run app.py          # the app that shows these frames (EMNIST_BENCH_RESULTS=DIR)

Every reader takes the results root and a folder name, checks the name against the run-id
pattern, resolves the path and refuses anything outside the root, and reads only the files
`results/README.md` documents: CSV, JSON and `misclassified.npz` with pickles refused.
A folder that cannot be read becomes a `Problem` for the app to show; the others still load.
Shaping what is read for a chart or a table is benchmark/views.py's; a verdict's words and
colours are benchmark/verdicts.py's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import factors, published, results, verdicts

# ablations.csv's numbers (results/README.md), the fold_k columns aside.
NUMBER_COLUMNS = ("val_accuracy_mean", "val_accuracy_std", "test_accuracy", "delta", "ci_low",
                  "ci_high", "p_value", "p_plain", "p_adjusted", "p_equivalence",
                  "p_equivalence_adjusted", "smallest_detectable", "rope", "rounds")


@dataclass
class Problem:
    """A folder the app could not read, and why."""

    folder: str
    reason: str


@dataclass
class Catalog:
    """What a results folder holds: cross-validation runs, searches, ablations, problems."""

    root: str
    exists: bool
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    searches: list[dict] = field(default_factory=list)
    ablations: list[dict] = field(default_factory=list)
    studies: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.runs.empty and not self.searches and not self.ablations


# ------------------------------------------------------------------------- paths and caching


def folder(root: Path | str, *names: str) -> Path:
    """The folder `root/names...`, refusing a name that is not a plain run id or that leads
    outside the root (through `..` or a symbolic link).

    Raises:
        ValueError: an invalid name or a path outside the root.
    """
    base = Path(root).resolve()
    path = base
    for name in names:
        path = path / results.check_run_id(str(name))
    path = path.resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"{'/'.join(names)} is outside the results folder")
    return path


def stamp(root: Path | str) -> tuple:
    """A cheap signature of the results folder (names, sizes and times of the files the app
    reads) that changes whenever the suite writes something: the app's cache key."""
    root = Path(root)
    if not root.is_dir():
        return ()
    entries = []
    for path in sorted(root.glob("*/*.*")) + sorted(root.glob("*/arms/*/*.*")) + [root / "bench.csv"]:
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((str(path.relative_to(root)), info.st_mtime_ns, info.st_size))
    return tuple(entries)


def file_stamp(path: Path) -> tuple:
    """(modification time, size) of one file, or () when it is missing."""
    try:
        info = path.stat()
    except OSError:
        return ()
    return info.st_mtime_ns, info.st_size


# ------------------------------------------------------------------------- the catalog


def read_json(path: Path) -> dict:
    value = json.loads(path.read_text())
    if not isinstance(value, dict):
        raise ValueError(f"{path.name} is not a JSON object")
    return value


def data_label(data: dict) -> str:
    """e.g. "balanced, official" or "balanced, not official (282 / 94)"."""
    split = data.get("split") or "?"
    if data.get("matches_official_sizes"):
        return f"{split}, official"
    n_train, n_test = data.get("n_train_used") or data.get("n_train"), data.get("n_test")
    sizes = f" ({n_train:,} / {n_test:,})" if isinstance(n_train, int) and isinstance(n_test, int) else ""
    return f"{split}, not official{sizes}"


def budget_text(folds, epochs, limit, precision=None, repeats=None) -> str:
    """A run's budget as the report and the app write it, e.g. "3 folds x 4 epochs, --limit
    2,000" (repeats over 1 and mixed_bfloat16 named)."""
    def given(value):
        return value is not None and value == value

    text = f"{int(folds)} folds" if given(folds) else "? folds"
    text += f" x {int(repeats)} repeats" if given(repeats) and int(repeats) > 1 else ""
    text += f" x {int(epochs)} epochs" if given(epochs) else " x preset epochs"
    text += f", --limit {int(limit):,}" if given(limit) else ""
    return text + (", mixed_bfloat16" if precision == "mixed_bfloat16" else "")


def fmt(value, spec=".4f") -> str:
    """A number as text, "–" for none."""
    return "–" if value is None or value != value else format(value, spec)


def is_official(data: dict) -> bool:
    """True for the official EMNIST Balanced split: the only data the study's numbers fit."""
    return bool(data.get("matches_official_sizes")) and data.get("split") == "balanced"


def run_row(root: Path, run_id: str, config: dict) -> dict:
    """One row of the Runs table: runs.csv's summary plus the data label and digest."""
    row = results.index_row(results.RunStore(root, run_id))
    data = config.get("data") or {}
    run = config.get("run") or {}
    training = run.get("training") or {}
    # Everything but the precision, so runs that differ only in it can be set side by side.
    setup = json.dumps([config.get("backend"), data.get("sha256"), {
        **run, "training": {k: v for k, v in training.items() if k != "precision"}}],
        sort_keys=True)
    row.update(data=data_label(data), official=is_official(data), data_note=data.get("note"),
               # runs from before precision was a setting trained in float32
               precision=training.get("precision", "float32"),
               setup=hashlib.sha256(setup.encode()).hexdigest()[:8],
               digest=config.get("digest"), data_sha256=data.get("sha256"),
               run_dir=str(root / run_id))
    return row


def scan(root: Path | str) -> Catalog:
    """Every run, search and ablation under `root`; a folder that fails becomes a Problem."""
    root = Path(root)
    catalog = Catalog(root=str(root), exists=root.is_dir())
    if not catalog.exists:
        return catalog
    rows = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        name = path.name
        if not results.RUN_ID.match(name) or name in results.NOT_RUNS:
            continue  # figures, profiles, scratch or hidden folders (_scratch, .git): not runs
        try:
            path = folder(root, name)
            if not (path / "config.json").exists():
                catalog.problems.append(Problem(name, "no config.json (not written yet?)"))
                continue
            config = read_json(path / "config.json")
            kind = config.get("kind", "cv")
            if kind == "tune":
                catalog.searches.append(search_summary(path, config))
            elif kind == "ablate":
                catalog.ablations.append(ablation_summary(path, config))
            elif kind == "study":
                catalog.studies.append(study_summary(path, config))
            else:
                rows.append(run_row(root, name, config))
        # A broken folder must not hide the others: anything reading it raises is reported.
        except (ValueError, OSError, KeyError, TypeError, AttributeError) as error:
            catalog.problems.append(Problem(name, f"{type(error).__name__}: {error}"))
    columns = [*results.INDEX_COLUMNS, "data", "official", "data_note", "precision", "setup",
               "digest", "data_sha256", "run_dir"]
    catalog.runs = pd.DataFrame(rows, columns=columns)
    return catalog


def search_summary(path: Path, config: dict) -> dict:
    trials = read_trials(path)
    done = trials[trials["status"] == "completed"] if "status" in trials else trials
    best = done["score"].max() if "score" in done and not done.empty else None
    return {"id": path.name, "arch": config.get("arch"), "tuner": config.get("tuner"),
            "backend": config.get("backend"), "folds": config.get("folds"),
            "epochs": ((config.get("base") or {}).get("training") or {}).get("epochs"),
            "epoch_budget": config.get("epoch_budget"),
            "objective": config.get("objective"), "data": data_label(config.get("data") or {}),
            "trials": len(trials), "completed": len(done), "best_score": best,
            "created": config.get("created")}


def study_summary(path: Path, config: dict) -> dict:
    table = read_csv(path / "study.csv")
    done = int((table["status"] == "complete").sum()) if "status" in table else 0
    return {"id": path.name, "arch": config.get("arch"), "backend": config.get("backend"),
            "data": data_label(config.get("data") or {}), "parts": len(table),
            "complete": done, "created": config.get("created")}


def ablation_summary(path: Path, config: dict) -> dict:
    """An ablation's arch, backend, data, budget, arms, and its baseline arm: folds finished
    and whether it collapsed (arm_collapsed)."""
    table = read_csv(path / "ablations.csv", dtype={"arm": str}, keep_default_na=False)
    data = config.get("data") or {}
    base = config.get("base") or {}
    training = base.get("training") or {}
    rows = (table[table["baseline"].astype(str).str.lower() == "true"]
            if {"baseline", "arm"} <= set(table.columns) else table.iloc[:0])
    baseline = rows["arm"].tolist() if "arm" in rows else []
    # Folds the baseline arm finished: its folds.csv, else (no arm folder) ablations.csv's.
    done = (read_csv(folder(path, "arms", baseline[0]) / "folds.csv") if baseline
            else pd.DataFrame())
    if not done.empty:
        folds = len(done)
    elif not rows.empty and "folds" in rows:
        folds = int(pd.to_numeric(rows["folds"], errors="coerce").fillna(0).iloc[0])
    else:
        folds = 0
    return {"id": path.name, "arch": config.get("arch"), "backend": config.get("backend"),
            "data": data_label(data), "official": is_official(data), "arms": len(table),
            "n_train": data.get("n_train_used"), "folds": base.get("folds"),
            "repeats": base.get("repeats", 1), "epochs": training.get("epochs"),
            "limit": base.get("limit"), "precision": training.get("precision", "float32"),
            "baseline_folds": folds,
            "baseline_collapsed": arm_collapsed(path, baseline[0]) if baseline else "",
            "created": config.get("created")}


def arm_collapsed(ablate_dir: Path, arm: str) -> str:
    """An ablation arm's `collapsed` (results.collapsed), diagnosed afresh from its folder as
    runs.csv's is, so that an ablations.csv written before the kinds of collapse were told
    apart reads like a new one; "" for an arm that learned or has no folder yet."""
    try:
        store = results.RunStore(folder(ablate_dir, "arms"), str(arm))
        return (results.index_row(store)["collapsed"] or "") if store.exists() else ""
    except (ValueError, OSError, KeyError, TypeError, pd.errors.ParserError):
        return ""


def reused_text(ablate_dir: Path) -> str:
    """One sentence on what an ablation's arms took from earlier runs (`ablate --reuse`: their
    config.json's `reused`) instead of training it, e.g. "Folds 1-3 of 5 arms and the tests of
    6 were taken from `ablate-x` (`--reuse`: ...)"; "" when nothing was."""
    sources, folds, tests = set(), {}, 0
    for path in sorted(folder(ablate_dir, "arms").glob("*/config.json")):
        reused = read_json(path).get("reused") or {}
        if not reused:
            continue
        sources.add(str(reused.get("from", "")).split("/")[0])
        span = reused.get("folds") or []
        if span:
            run = len(span) > 1 and span == list(range(span[0], span[-1] + 1))
            key = f"{span[0]}-{span[-1]}" if run else ", ".join(map(str, span))
            folds[key] = folds.get(key, 0) + 1
        tests += bool(reused.get("test"))
    if not sources:
        return ""
    parts = [f"folds {key} of {n} arm{'s' if n != 1 else ''}" for key, n in folds.items()]
    if tests:
        parts.append(f"the final models and tests of {tests}")
    what = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    names = ", ".join(f"`{name}`" for name in sorted(sources))
    return (f"{what[0].upper()}{what[1:]} were taken from {names} (`--reuse`: the same "
            "configuration with other repeats, so the same folds and final models), not "
            "trained again.")


# ------------------------------------------------------------------------- one run's tables


def read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """A CSV, or an empty frame when it is missing or empty (not written yet)."""
    try:
        return pd.read_csv(path, **kwargs)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def fold_accuracies(run_dir: Path | str) -> pd.Series:
    """A run's (or an arm's) validation accuracy per fold, from its folds.csv: what every
    paired comparison of stored runs reads (claims, planner, parity, best_trials)."""
    return results.fold_series(read_csv(Path(run_dir) / "folds.csv"))


def read_epochs(run_dir: Path) -> pd.DataFrame:
    """epochs.csv with a `part` column: "fold k" for the folds, "final model" for fold 0."""
    table = read_csv(run_dir / "epochs.csv")
    if table.empty:
        return table
    table["part"] = np.where(table["fold"] == 0, "final model", "fold " + table["fold"].astype(str))
    return table


def read_test(run_dir: Path) -> dict:
    path = run_dir / "test.json"
    return read_json(path) if path.exists() else {}


def read_confusion(run_dir: Path) -> pd.DataFrame:
    """The confusion matrix with characters as index (true) and columns (predicted)."""
    table = read_csv(run_dir / "confusion.csv", dtype={"true": str}, keep_default_na=False)
    if table.empty:
        return table
    table = table.set_index("true")
    table.columns = [str(c) for c in table.columns]
    return table.apply(pd.to_numeric, errors="coerce").fillna(0).astype(int)


def read_misclassified(run_dir: Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    """misclassified.csv and its images, one per row (None when the arrays are missing or do
    not match). The npz stores some of the rows' images (cv.images_to_keep): the table gets a
    `has_image` column and the rows without one get a blank image."""
    table = read_csv(run_dir / "misclassified.csv",
                     dtype={"true_char": str, "predicted_char": str}, keep_default_na=False)
    path = run_dir / "misclassified.npz"
    if table.empty or not path.exists():
        return table, None
    try:
        with np.load(path, allow_pickle=False) as arrays:
            images, index = arrays["images"], arrays["index"]
    except (ValueError, OSError, KeyError):  # not an npz, a pickled array, a missing key
        return table, None
    rows = pd.Index(table["index"]).get_indexer(index) if table["index"].is_unique else None
    if (rows is None or images.dtype != np.uint8 or images.ndim != 3
            or len(images) != len(index) or (rows < 0).any() or len(set(rows)) != len(rows)):
        return table, None
    aligned = np.zeros((len(table), *images.shape[1:]), dtype=np.uint8)
    aligned[rows] = images
    has_image = np.zeros(len(table), dtype=bool)
    has_image[rows] = True
    return table.assign(has_image=has_image), aligned


def read_trials(search_dir: Path) -> pd.DataFrame:
    return read_csv(search_dir / "trials.csv", dtype={"trial_id": str, "reason": str})


# ------------------------------------------------------------------------- an ablation's table


def same_folds(a, b) -> bool:
    """Two runs (runs-table rows) scored on the very same folds: the same data, training
    images, seed, folds and repeats, so their fold scores pair up for a paired test."""
    def value(run, key, default=None):
        v = run.get(key, default)
        return default if v is None or v != v else v
    return all(value(a, k, d) == value(b, k, d) for k, d in (
        ("data", None), ("n_train", None), ("seed", 0), ("folds", None), ("repeats", 1)))


def interval(low, high) -> str:
    """A delta's 95% interval as text ("" without one)."""
    if low is None or high is None or low != low or high != high:
        return ""
    return f"[{low:+.4f}, {high:+.4f}]"


def baseline_settings(ablate_dir: Path, config: dict, arms: list[str]) -> dict:
    """The baseline arm's model and training values (its own config.json, else the
    ablation's `base`)."""
    run = config.get("base") or {}
    for arm in arms[:1]:
        try:
            run = read_json(folder(ablate_dir, "arms", str(arm)) / "config.json").get("run") or run
        except (ValueError, OSError):
            pass  # the shared base configuration is the same baseline
    return {**(run.get("model") or {}), **(run.get("training") or {})}


def fold_columns(table: pd.DataFrame) -> list[str]:
    """ablations.csv's fold_1, fold_2, ... columns."""
    return [c for c in table.columns if c.startswith("fold_")]


def ablation_table(ablate_dir: Path, config: dict) -> pd.DataFrame:
    """ablations.csv as written, one row per arm: its numbers parsed, `baseline` a bool, a
    `status`, and each arm's verdict (with_verdicts)."""
    table = read_csv(ablate_dir / "ablations.csv", dtype={"value": str, "factor": str},
                     keep_default_na=False, na_values={c: [""] for c in NUMBER_COLUMNS})
    if table.empty:
        return table
    table["baseline"] = table["baseline"].astype(str).str.lower() == "true"
    for column in [*NUMBER_COLUMNS, *fold_columns(table)]:
        if column in table:  # an unfinished arm leaves its cells empty
            table[column] = pd.to_numeric(table[column], errors="coerce")
    if "status" not in table:  # written before ablations.csv had it
        table["status"] = np.where(table["test_accuracy"].notna(), "complete", "incomplete")
    table = with_verdicts(table, config)
    # A number an older table never had (p_plain, say) reads as missing.
    return table.assign(**{c: float("nan") for c in NUMBER_COLUMNS if c not in table})


def with_verdicts(table: pd.DataFrame, config: dict) -> pd.DataFrame:
    """The table with each arm's verdict: its own `verdict` column, read as written. A table
    summarised before verdicts had a column gets them, and the columns it lacks, from the one
    rule (adaptive.family) on its fold columns, with the rope and rounds its config.json
    records, so an old ablation reads like a new one."""
    if "verdict" in table:
        return table
    if not table["baseline"].any():
        return table.assign(verdict=verdicts.NO_TEST)
    from benchmark import adaptive  # here, so reading a new table needs no SciPy

    columns = fold_columns(table)
    numbers = [int(c.removeprefix("fold_")) for c in columns]
    folds = {i: pd.Series(row[columns].to_numpy(float), index=numbers).dropna()
             for i, row in table.iterrows()}
    base = table.index[table["baseline"]][0]
    judged = adaptive.family(folds, base, int((config.get("base") or {}).get("folds") or 5),
                             config.get("adaptive_rounds"), config.get("rope") or verdicts.ROPE)
    found = [{"verdict": verdicts.BASELINE} if i == base else judged.get(i, {}) for i in table.index]
    missing = [c for c in (*verdicts.COLUMNS, "rope", "rounds", "ci_low", "ci_high")
               if c not in table]
    table = table.assign(**{c: [r.get(c) for r in found] for c in missing})
    for column in missing:
        if column != "verdict":
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def read_ablation(ablate_dir: Path, config: dict) -> pd.DataFrame:
    """ablations.csv expanded per factor: one row per (factor, value) with the baseline row
    repeated under every factor, its value named, its verdict (the table's, with_verdicts) and
    that verdict in words, and, for the official Balanced split, the study's number."""
    table = ablation_table(ablate_dir, config)
    if table.empty:
        return table
    arch = str(config.get("arch"))
    official = is_official(config.get("data") or {})
    baseline = table[table["baseline"]]
    settings = baseline_settings(ablate_dir, config, baseline["arm"].tolist())
    # Each arm's collapse afresh from its folder where it has one (arm_collapsed).
    collapses = {arm: arm_collapsed(ablate_dir, arm) for arm in table.get("arm", [])
                 if (Path(ablate_dir) / "arms" / str(arm) / "config.json").exists()}
    rows = []
    for factor in [f for f in dict.fromkeys(table.loc[~table["baseline"], "factor"])]:
        values = {factors.normalise(v) for v in table.loc[table["factor"] == factor, "value"]}
        named = factors.value(factor, settings, switch=values <= {"true", "false"})
        for _, row in pd.concat([baseline, table[table["factor"] == factor]]).iterrows():
            value = named if row["baseline"] else factors.normalise(row["value"])
            rows.append({**row.to_dict(), "factor": factor, "value": value or "baseline",
                         "label": f"{value or ''} (baseline)".strip() if row["baseline"] else value,
                         "verdict": verdicts.BASELINE if row["baseline"] else row["verdict"],
                         "verdict_text": verdicts.verdict_text(row),
                         "collapsed": collapses.get(row.get("arm"), row.get("collapsed") or ""),
                         "interval": interval(row.get("ci_low"), row.get("ci_high")),
                         "study": published.STUDY_TEST_ACCURACY.get((arch, factor, value or ""))
                         if official else None})
    return pd.DataFrame(rows)


