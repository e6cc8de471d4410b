"""Which results come first and which are set apart: the one rule the report and the app share.

    main run       of an architecture and preset: the preset as it is (no --set), complete, not
                   collapsed, not a test, on the largest data (the official split first, then the
                   most training images) with the largest budget (folds x repeats x epochs); a
                   tie goes to a study's part, then to the newest. A study's `best` part stands
                   for `best` whatever its label (the ResNet's best preset is its baseline).
    main ablation  of an architecture: by the same rule, among those whose baseline arm learned.
    real search    any search that is not a test, the newest first.

Everything else is set apart, with its `role` and, in words, `why`: `pilot` (less data or a
smaller budget than its preset's main run), `repeat` (the main run's data and budget again:
another backend, precision or copy), `variant` (--set changes, or a search's trial),
`collapsed` (results.collapsed), `incomplete` (running, stopped or failed) and `test` (made to
test the suite: folders named memory-* or trial-time-*, or with the word "test" in their name).
The report puts them in its appendix; the app shows them when "Show pilot runs" is on.

    catalog = selection.annotate(readers.scan(root))   # what both of them read
"""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd

from benchmark import architectures, readers, results

ROLES = ("main", "pilot", "repeat", "variant", "collapsed", "incomplete", "test")
SET_APART = ROLES[1:]
# Folders made to test the suite rather than to measure: the memory checks of the search
# (memory-*), the timing of one trial (trial-time-*), and any name with one of these words.
TEST_PREFIXES = ("memory-", "trial-time-")
TEST_WORDS = frozenset({"test", "tests", "smoke"})
# A search whose trials train this many epochs per fold or fewer checks that searching works;
# no model of the study learns what it can in so few (the MLP's preset trains 20).
TEST_SEARCH_EPOCHS = 2


def is_test(name: str) -> bool:
    """True for a folder named as a test of the suite (TEST_PREFIXES, TEST_WORDS)."""
    words = set(re.split(r"[-_.]", name.lower()))
    return name.lower().startswith(TEST_PREFIXES) or bool(words & TEST_WORDS)


def _number(value, default=0.0) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if value == value else default


def budget(folds, repeats, epochs) -> float:
    """The training a run or ablation arm had: folds x repeats x epochs (fold-epochs)."""
    return _number(folds) * _number(repeats, 1.0) * _number(epochs)


def _presets(arch: str) -> list[str]:
    try:
        return list(architectures.get(arch).presets)
    except ValueError:  # an architecture of a plugin that is not loaded here
        return ["baseline", "best"]


def _arch_order(arches) -> list[str]:
    known = architectures.names()
    return [a for a in known if a in set(arches)] + sorted(set(arches) - set(known), key=str)


# ------------------------------------------------------------------------- runs


def study_parts(catalog: readers.Catalog) -> tuple[frozenset, frozenset]:
    """The run ids of every study's parts, and of their `best` parts."""
    parts, best = set(), set()
    for study in catalog.studies:
        try:
            table = readers.read_csv(readers.folder(catalog.root, study["id"]) / "study.csv")
        except ValueError:
            continue
        if table.empty or "run_id" not in table:
            continue
        ids = table["run_id"].dropna().astype(str)
        parts.update(ids)
        if "part" in table:
            best.update(ids[table.loc[ids.index, "part"] == "best"])
    return frozenset(parts), frozenset(best)


def _ordered(runs: pd.DataFrame, studied: frozenset) -> pd.DataFrame:
    """`runs` in the main-run order: official data, training images, budget, epochs, a study's
    part, newest."""
    keyed = runs.assign(
        _official=runs["official"].fillna(False).astype(bool),
        _n_train=runs["n_train"].map(_number), _budget=runs["_budget"],
        _epochs=runs["epochs"].map(_number), _studied=runs["run_id"].isin(studied),
        _created=runs["created"].astype(str))
    keys = ["_official", "_n_train", "_budget", "_epochs", "_studied", "_created"]
    return keyed.sort_values(keys, ascending=False, kind="stable").drop(
        columns=[k for k in keys if k != "_budget"])


def candidates(runs: pd.DataFrame, arch: str, preset: str) -> pd.DataFrame:
    """The runs of an architecture's preset (annotated by `annotate`) that may stand for it:
    complete, learned, not a test, no --set; the main run first, then in the same order."""
    if runs.empty:
        return runs
    mine = runs[(runs["arch"] == arch) & runs["role"].isin(("main", "pilot", "repeat"))]
    return mine[mine["presets"].map(lambda presets: preset in presets)]


def _run_roles(runs: pd.DataFrame, parts: frozenset, best_parts: frozenset) -> pd.DataFrame:
    runs = runs.assign(
        _budget=[budget(f, r, e) for f, r, e in zip(runs["folds"], runs["repeats"],
                                                    runs["epochs"], strict=True)],
        budget=[readers.budget_text(f, e, lim, p, r) for f, e, lim, p, r in zip(
            runs["folds"], runs["epochs"], runs["limit"], runs["precision"], runs["repeats"],
            strict=True)])
    role, why, presets = {}, {}, {}
    for _, run in runs.iterrows():
        name = run["run_id"]
        overrides = json.loads(run["overrides"]) if isinstance(run["overrides"], str) else {}
        stands_for = ((run["preset"],) if run["preset"] in _presets(run["arch"]) else ()) + (
            ("best",) if name in best_parts and run["preset"] != "best" else ())
        presets[name] = stands_for
        if is_test(name):
            role[name], why[name] = "test", "a test of the suite (its name)"
        elif run["status"] != "complete":
            planned = int(_number(run["folds"]) * _number(run["repeats"], 1.0))
            role[name] = "incomplete"
            why[name] = f"{run['status']}: {int(_number(run['folds_done']))} of {planned} folds"
        elif results.is_collapsed(run["collapsed"]):
            role[name], why[name] = "collapsed", run["collapsed"]
        elif overrides or not stands_for:
            changes = ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
            role[name] = "variant"
            why[name] = f"--set {changes}" if changes else f"preset {run['preset']}"
        else:
            role[name], why[name] = "pilot", ""
    runs = _ordered(runs.assign(role=runs["run_id"].map(role), why=runs["run_id"].map(why),
                                presets=runs["run_id"].map(presets)), parts)
    main_for: dict[str, list[str]] = {}
    for arch in _arch_order(runs["arch"].dropna().unique()):
        for preset in _presets(arch):
            pool = candidates(runs, arch, preset)
            if pool.empty:
                continue
            main = pool.iloc[0]
            main_for.setdefault(main["run_id"], []).append(preset)
            for _, other in pool.iloc[1:].iterrows():
                if other["run_id"] in main_for or why[other["run_id"]]:
                    continue
                role[other["run_id"]], why[other["run_id"]] = _beside(other, main)
    for name in main_for:
        role[name], why[name] = "main", ""
    runs = runs.assign(role=runs["run_id"].map(role), why=runs["run_id"].map(why),
                       main_for=runs["run_id"].map(lambda n: ", ".join(main_for.get(n, []))))
    return _in_shown_order(runs)


def _beside(run: pd.Series, main: pd.Series) -> tuple[str, str]:
    """A candidate's role and why, against its preset's main run."""
    if _number(run["n_train"]) < _number(main["n_train"]) or (
            bool(main["official"]) and not bool(run["official"])):
        return "pilot", f"less data than the main run, `{main['run_id']}`"
    if run["_budget"] < main["_budget"]:
        return "pilot", f"a smaller budget than the main run, `{main['run_id']}`"
    return "repeat", f"the data and budget of the main run, `{main['run_id']}`"


def collapse_words(flag: str) -> str:
    """A `collapsed` value in a sentence: "collapsed: inference mode" -> "collapsed
    (inference mode)"."""
    kind = flag.removeprefix("collapsed").strip(": ")
    return f"collapsed ({kind})" if kind else "collapsed"


def _in_shown_order(runs: pd.DataFrame) -> pd.DataFrame:
    """Main runs first, by architecture (the registry's order) and preset, then the rest by
    role, each in the main-run order."""
    arches = {a: i for i, a in enumerate(_arch_order(runs["arch"].dropna().unique()))}

    def preset_rank(run):
        first = run["main_for"].split(", ")[0] if run["main_for"] else run["preset"]
        presets = _presets(run["arch"])
        return presets.index(first) if first in presets else len(presets)

    ranked = runs.assign(
        _role=runs["role"].map(ROLES.index),
        _arch=runs["arch"].map(lambda a: arches.get(a, len(arches))),
        _preset=[preset_rank(r) for _, r in runs.iterrows()],
        _position=range(len(runs)))
    main = ranked["role"] == "main"
    ranked.loc[~main, ["_arch", "_preset"]] = 0  # the rest stay in the main-run order
    return ranked.sort_values(["_role", "_arch", "_preset", "_position"], kind="stable").drop(
        columns=["_role", "_arch", "_preset", "_position", "_budget"]).reset_index(drop=True)


# ------------------------------------------------------------------------- ablations, searches


def _ablation_roles(ablations: list[dict]) -> list[dict]:
    rows = []
    for summary in ablations:
        summary = dict(summary, _budget=budget(summary.get("folds"), summary.get("repeats"),
                                               summary.get("epochs")))
        if is_test(summary["id"]):
            summary.update(role="test", why="a test of the suite (its name)")
        elif not summary.get("baseline_folds"):
            summary.update(role="incomplete", why="no finished baseline fold yet")
        elif results.is_collapsed(summary.get("baseline_collapsed")):
            summary.update(role="collapsed",
                           why=f"its baseline {collapse_words(summary['baseline_collapsed'])}")
        else:
            summary.update(role="pilot", why="")
        rows.append(summary)

    def key(a):
        return (bool(a.get("official")), _number(a.get("n_train")), a["_budget"],
                _number(a.get("arms")), str(a.get("created")))

    ordered = sorted(rows, key=key, reverse=True)
    for arch in _arch_order({a["arch"] for a in ordered}):
        mine = [a for a in ordered if a["arch"] == arch and a["role"] == "pilot"]
        for other in mine[1:]:
            main = mine[0]
            if _number(other.get("n_train")) < _number(main.get("n_train")):
                other["why"] = f"less data than the main ablation, `{main['id']}`"
            elif other["_budget"] < main["_budget"]:
                other["why"] = f"a smaller budget than the main ablation, `{main['id']}`"
            else:
                other.update(role="repeat",
                             why=f"the data and budget of the main ablation, `{main['id']}`")
        if mine:
            mine[0].update(role="main", why="")
    arches = {a: i for i, a in enumerate(_arch_order({a["arch"] for a in ordered}))}
    ordered.sort(key=lambda a: (ROLES.index(a["role"]),
                                arches[a["arch"]] if a["role"] == "main" else 0))
    return [{k: v for k, v in a.items() if k != "_budget"} for a in ordered]


def _search_why_test(search: dict) -> str:
    """Why a search is a test of the suite ("" where it is a real one): its name, or trials
    too short to learn (TEST_SEARCH_EPOCHS)."""
    if is_test(search["id"]):
        return "a test of the suite (its name)"
    epochs = search.get("epochs")
    if epochs is not None and epochs == epochs and epochs <= TEST_SEARCH_EPOCHS:
        return f"a test of the suite ({int(epochs)} epoch(s) per fold)"
    return ""


def _search_roles(searches: list[dict]) -> list[dict]:
    rows = [dict(s, role="test" if why else "main", why=why)
            for s in searches for why in [_search_why_test(s)]]
    rows.sort(key=lambda s: str(s.get("created")), reverse=True)
    return sorted(rows, key=lambda s: s["role"] == "test")  # stable: real searches first


# ------------------------------------------------------------------------- the catalog


def annotate(catalog: readers.Catalog) -> readers.Catalog:
    """The catalog with every run, ablation and search given its `role` and `why`, main ones
    first. Runs also get `budget` (as text), `presets` (the presets a run may stand for) and
    `main_for` (the presets it is the main run of, e.g. "baseline, best")."""
    parts, best_parts = study_parts(catalog)
    runs = catalog.runs
    if runs.empty:
        runs = runs.assign(budget=pd.Series(dtype=str), role=pd.Series(dtype=str),
                           why=pd.Series(dtype=str), presets=pd.Series(dtype=object),
                           main_for=pd.Series(dtype=str))
    else:
        runs = _run_roles(runs, parts, best_parts)
    return dataclasses.replace(catalog, runs=runs,
                               ablations=_ablation_roles(catalog.ablations),
                               searches=_search_roles(catalog.searches))


def main_runs(catalog: readers.Catalog) -> pd.DataFrame:
    """One row per architecture and preset that has a main run, in the registry's order: the
    run's row with `for_preset` (a run that is the main run of two presets appears twice)."""
    runs = catalog.runs
    if runs.empty:
        return runs.assign(for_preset=pd.Series(dtype=str))
    main = runs[runs["role"] == "main"]
    rows = [run.to_dict() | {"for_preset": preset} for _, run in main.iterrows()
            for preset in run["main_for"].split(", ")]
    return pd.DataFrame(rows, columns=[*runs.columns, "for_preset"])


def main_run(catalog: readers.Catalog, arch: str, preset: str) -> pd.Series | None:
    """The main run of an architecture's preset, or None."""
    main = main_runs(catalog)
    chosen = main[(main["arch"] == arch) & (main["for_preset"] == preset)]
    return None if chosen.empty else chosen.iloc[0]


def main_ablation(catalog: readers.Catalog, arch: str) -> dict | None:
    """The main ablation of an architecture, or None."""
    return next((a for a in catalog.ablations if a["arch"] == arch and a["role"] == "main"),
                None)
