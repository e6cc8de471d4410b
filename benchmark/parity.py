"""Backend parity: one configuration trained on each Keras backend, paired fold by fold.

The same configuration, data and seed (one digest) is cross-validated on the same folds
whatever the backend; the backends draw different random numbers from that seed (initial
weights, shuffles), so their fold accuracies differ within fold noise, not bit for bit.
`pairs` compares every two backends' fold scores (paired.compare, the corrected resampled
t-test) and decides them with the ablations' rule, one family per configuration
(verdicts.decide): "equivalent" when the equivalence test puts the difference inside the
region of practical equivalence; an undecided pair gets the budget that would decide it at
the rope (planner.py, at the pair's own spread). `summary` says, per configuration, whether all of its
backends are equivalent, and how long each took.
"""

from __future__ import annotations

import itertools

import pandas as pd

from benchmark import paired, planner, readers, verdicts, views


def groups(runs: pd.DataFrame) -> pd.DataFrame:
    """Complete runs whose configuration and data (the digest) ran on more than one backend."""
    done = runs[runs["status"] == "complete"] if "status" in runs else runs
    return views.backend_groups(done)


def largest_first(groups: pd.DataFrame) -> list[str]:
    """The digests of parity groups, the largest training budget (images x epochs) first."""
    size = groups.assign(_work=groups["n_train"].astype(float) * groups["epochs"].astype(float))
    return list(size.groupby("digest", sort=False)["_work"].max()
                .sort_values(ascending=False, kind="stable").index)


def pairs(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration and pair of backends (backend a - backend b) scored on the
    same folds, the largest budget first: their means, Δ, its interval, the verdict, and each
    one's minutes."""
    rows = []
    found = groups(runs)
    for digest in largest_first(found):
        group = found[found["digest"] == digest].drop_duplicates("backend")
        tests, named = [], []
        for (_, a), (_, b) in itertools.combinations(group.iterrows(), 2):
            if not readers.same_folds(a, b):
                continue
            tests.append(paired.compare(readers.fold_accuracies(a["run_dir"]),
                                        readers.fold_accuracies(b["run_dir"]), int(a["folds"])))
            named.append((a, b))
        for (a, b), test in zip(named, verdicts.decide(tests), strict=True):
            rows.append({"digest": digest, "arch": a["arch"], "preset": a["preset"],
                         "data": a["data"], "budget": budget(a),
                         "a": a["backend"], "b": b["backend"], "a_mean": test["a"],
                         "b_mean": test["b"], "delta": test["delta"],
                         "interval": readers.interval(test["ci_low"], test["ci_high"]),
                         "folds": test["folds"], "verdict": verdicts.text(test),
                         "kind": test["verdict"], "to_decide": to_decide(test, int(a["folds"])),
                         "a_minutes": a["seconds"] / 60, "b_minutes": b["seconds"] / 60,
                         "a_run": a["run_id"], "b_run": b["run_id"]})
    return pd.DataFrame(rows)


def to_decide(test: dict, folds_per_repeat: int) -> str:
    """For an undecided pair, the cheapest K folds x R repeats whose smallest detectable
    difference is the rope, at the pair's spread (benchmark/planner.py); "" when decided."""
    if test["verdict"] != "undecided":
        return ""
    s_d = planner.spread(test, folds_per_repeat)
    choice = planner.cheapest(s_d, test["rope"], test["level"]) if s_d else None
    return choice.text if choice else planner.UNREACHABLE


def budget(run) -> str:
    """A run's budget in words: folds x repeats x epochs on how many images."""
    return readers.budget_text(run["folds"], run["epochs"], run.get("limit"),
                               run.get("precision"), run.get("repeats"))


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per configuration, in the order of `pairs`: equivalent across all its backends (every
    pair equivalent), or which pairs are not, and each backend's minutes (training recorded by
    the run, folds and final model) as a multiple of the fastest."""
    rows = []
    for digest, group in table.groupby("digest", sort=False):
        minutes = {}
        for _, row in group.iterrows():
            minutes[row["a"]], minutes[row["b"]] = row["a_minutes"], row["b_minutes"]
        fastest = min(minutes.values())
        open_pairs = [f"{r['a']} vs {r['b']}: {r['verdict']}" for _, r in group.iterrows()
                      if r["kind"] != "equivalent"]
        first = group.iloc[0]
        rows.append({"arch": first["arch"], "preset": first["preset"], "data": first["data"],
                     "budget": first["budget"],
                     "verdict": ("equivalent across " + ", ".join(minutes) if not open_pairs
                                 else "; ".join(open_pairs)),
                     "minutes": ", ".join(f"{b} {m:.1f} ({m / fastest:.1f}x)"
                                          for b, m in sorted(minutes.items(),
                                                             key=lambda kv: kv[1])),
                     "digest": digest})
    return pd.DataFrame(rows)
