"""Did a search beat the study's hand-made best? Each real search's best trial against the
architecture's best preset, on the same folds at the same budget.

A search scores its trials at its own budget (e.g. 3 folds x up to 10 epochs), so its best
score is not comparable with the preset's main run. `emnist-bench cv --from-trial SEARCH:ID`
trains the best trial as a run of its own (preset "trial:SEARCH/ID"); cross-validated with
the preset's folds, repeats and epochs on the same data, its fold scores pair up with the
preset's (paired.compare) and get the ablations' verdict (verdicts.decide; the family is the
distinct pairs compared). The preset run paired with a trial run started its weights the same
way (`init`: a preset run from before `init=torch` became the presets' default is not paired
with a trial run that used it, where a run of the preset as it is now exists). Two searches
whose best trials have the same hyperparameter values share one trial run: the
configuration is the same, whichever oracle found it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark import paired, readers, selection, verdicts

PREFIX = "trial:"


def best_trial(search_dir: Path) -> pd.Series | None:
    """The completed trial with the highest score in a search's trials.csv (None: none yet)."""
    trials = readers.read_trials(search_dir)
    if trials.empty or "status" not in trials:
        return None
    done = trials[trials["status"] == "completed"].dropna(subset=["score"])
    if done.empty:
        return None
    return done.sort_values("score", ascending=False, kind="stable").iloc[0]


def values(trial: pd.Series, names) -> dict:
    """A trial's hyperparameter values as text (an inactive one as "")."""
    return {n: "" if trial.get(n) is None or trial.get(n) != trial.get(n) else str(trial.get(n))
            for n in names}


def trial_runs(catalog: readers.Catalog) -> pd.DataFrame:
    """Complete runs made with `cv --from-trial`, with the search and trial each came from."""
    runs = catalog.runs
    mine = runs if runs.empty else runs[runs["preset"].astype(str).str.startswith(PREFIX)
                                        & (runs["status"] == "complete")]
    if mine.empty:
        return mine.assign(search=pd.Series(dtype=str), trial=pd.Series(dtype=str))
    source = mine["preset"].str.removeprefix(PREFIX).str.partition("/")
    return mine.assign(search=source[0], trial=source[2])


def paired_with(run: pd.Series, preset: pd.Series) -> bool:
    """The trial run was scored on the preset run's folds with its epochs and backend."""
    return (readers.same_folds(run, preset) and run["epochs"] == preset["epochs"]
            and run["backend"] == preset["backend"])


def init(run: pd.Series) -> str:
    """How a run's weights started (`init`; runs from before it was recorded used Keras's)."""
    config = readers.read_json(Path(run["run_dir"]) / "config.json")
    return ((config.get("run") or {}).get("model") or {}).get("init", "keras")


def partner(catalog: readers.Catalog, trial: pd.Series, main: pd.Series) -> pd.Series:
    """The best-preset run a trial run is paired with: one on its folds, budget and backend
    that started its weights the same way (`init`), the main run where it qualifies, else the
    newest; the main run where none does (the pair then differs in `init` too)."""
    runs = catalog.runs
    same = runs[(runs["arch"] == trial["arch"]) & (runs["preset"] == "best")
                & (runs["overrides"].astype(str).isin(["{}", ""]))
                & (runs["status"] == "complete")]
    same = [run for _, run in same.iterrows()
            if paired_with(trial, run) and init(run) == init(trial)]
    if not same:
        return main
    chosen = [run for run in same if run["run_id"] == main["run_id"]]
    return chosen[0] if chosen else max(same, key=lambda run: str(run["created"]))


def against_preset(catalog: readers.Catalog) -> pd.DataFrame:
    """One row per real search: its best trial, the trial run that cross-validated that
    configuration at the budget of the best preset's main run (if any), the preset run it is
    paired with (`partner`), Δ = trial - preset with its interval and verdict, and both runs'
    test accuracies. A search without a trial run gets the command that would make it."""
    root = Path(catalog.root)
    searches = [s for s in catalog.searches if s.get("role") == "main"]
    made = trial_runs(catalog)
    rows, tests = [], {}
    for search in searches:
        search_dir = readers.folder(root, search["id"])
        best = best_trial(search_dir)
        main = selection.main_run(catalog, search["arch"], "best")
        if best is None or main is None:
            continue
        names = list(readers.read_json(search_dir / "config.json").get("space") or {})
        wanted = values(best, names)
        row = {"search": search["id"], "tuner": search["tuner"], "arch": search["arch"],
               "best_trial": best["trial_id"], "search_score": float(best["score"]),
               "preset_run": main["run_id"], "preset_cv": main["cv_mean"],
               "preset_test": main["test_accuracy"], "trial_run": None}
        for _, run in made.iterrows():
            if run["arch"] != search["arch"] or not paired_with(run, main):
                continue
            origin = trial_row(root, run["search"], run["trial"])
            if origin is not None and values(origin, names) == wanted:
                preset = partner(catalog, run, main)
                row.update(trial_run=run["run_id"], trial_cv=run["cv_mean"],
                           trial_test=run["test_accuracy"], trial_init=init(run),
                           preset_run=preset["run_id"], preset_cv=preset["cv_mean"],
                           preset_test=preset["test_accuracy"], preset_init=init(preset))
                key = (run["run_id"], preset["run_id"])
                if key not in tests:
                    tests[key] = paired.compare(readers.fold_accuracies(run["run_dir"]),
                                                readers.fold_accuracies(preset["run_dir"]),
                                                int(preset["folds"]))
                break
        if row["trial_run"] is None:
            row["command"] = (f"emnist-bench cv --from-trial {search['id']}:{best['trial_id']} "
                              f"--folds {int(main['folds'])} --repeats "
                              f"{int(main.get('repeats') or 1)} --epochs "
                              f"{int(main['epochs'])} --backend {main['backend']}")
        rows.append(row)
    decided = dict(zip(tests, verdicts.decide(list(tests.values())), strict=True))
    for row in rows:
        test = decided.get((row["trial_run"], row["preset_run"]))
        if test is not None:
            row.update(delta=test["delta"], interval=readers.interval(test["ci_low"],
                                                                      test["ci_high"]),
                       folds=test["folds"], verdict=verdicts.text(test), kind=test["verdict"])
    return pd.DataFrame(rows)


def trial_row(root: Path, search_id: str, trial_id: str) -> pd.Series | None:
    """A search's trial by id (None: the search or the trial is not here)."""
    try:
        trials = readers.read_trials(readers.folder(root, search_id))
    except ValueError:
        return None
    match = trials[trials["trial_id"] == trial_id] if "trial_id" in trials else trials.iloc[:0]
    return None if match.empty else match.iloc[0]

