"""What the report is written from, chosen and read once: the results folder's catalog with
each run's, ablation's and search's role (benchmark/selection.py), the claims judged on it
(benchmark/claims.py), and the studies' tables, all read through benchmark.readers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from benchmark import claims, readers, results, selection


@dataclasses.dataclass
class Sources:
    """Everything the sections are written from."""

    root: Path
    catalog: readers.Catalog
    judged: list[dict]
    summary: claims.Summary


def gather(root: Path) -> Sources:
    """The catalog of `root` with every item's role, and the claims judged on its main ones."""
    catalog = selection.annotate(readers.scan(root))
    judged = claims.check(catalog)
    return Sources(root, catalog, judged, claims.summarise(judged, catalog))


def ablations(catalog: readers.Catalog, main: bool) -> list[dict]:
    """Each architecture's main ablation (main), or every other one (not main)."""
    return [a for a in catalog.ablations if (a["role"] == "main") == main]


def complete_runs(catalog: readers.Catalog) -> pd.DataFrame:
    """Every complete run, whatever its role (the parity checks compare them all)."""
    return (catalog.runs[catalog.runs["status"] == "complete"] if not catalog.runs.empty
            else catalog.runs)


def set_apart_runs(catalog: readers.Catalog) -> pd.DataFrame:
    """Every run that is not the main run of its architecture and preset."""
    return catalog.runs[catalog.runs["role"] != "main"] if not catalog.runs.empty else catalog.runs


def studies(root: Path) -> pd.DataFrame:
    """Every study folder's study.csv, with its arch, backend, data and budget."""
    frames = []
    for path in sorted(root.glob("*/study.csv")):
        config = readers.read_json(path.parent / "config.json")
        table = readers.read_csv(path)
        if table.empty:
            continue
        budget = config.get("budget") or {}
        # From the parts' runs, so a study run across invocations (or by an older version,
        # whose study.csv counted only the last invocation's wall time) reads the same.
        table["seconds"] = results.parts_seconds(root, table["run_id"])
        table.insert(0, "study", path.parent.name)
        table.insert(1, "arch", config.get("arch"))
        table.insert(2, "backend", config.get("backend"))
        table.insert(3, "data", readers.data_label(config.get("data") or {}))
        precision = ((config.get("base") or {}).get("training") or {}).get("precision")
        table.insert(4, "budget", readers.budget_text(budget.get("folds"), budget.get("epochs"),
                                                      budget.get("limit"), precision,
                                                      budget.get("repeats")))
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
