"""A whole study of one architecture, resumable: both presets through CV + test, then the
ablation of every factor of its search space (paired folds).

    emnist-bench study --arch mlp --data-dir ../shared/data/emnist-bymerge-holdout

Each part is an ordinary run folder (a `cv` run per preset, an `ablate` run), found again by
its configuration, so a rerun of the same command skips what is finished and resumes the rest
fold by fold. results/<study-id>/study.csv has one row per part; a part whose training
diverged is recorded as failed and the study goes on with the next.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from benchmark import results
from benchmark.progress import WorkClock
from benchmark.training import STDERR, TrainingDiverged

STUDY_COLUMNS = ["part", "run_id", "status", "cv_mean", "cv_std", "test_accuracy", "arms",
                 "arms_complete", "arms_failed", "seconds", "reason"]


def cv_part(row: dict) -> dict:
    """study.csv's fields of a finished cv run (its runs.csv row)."""
    return {"run_id": row["run_id"], "status": row["status"], "cv_mean": row["cv_mean"],
            "cv_std": row["cv_std"], "test_accuracy": row["test_accuracy"]}


def ablation_part(run_id: str, table: pd.DataFrame) -> dict:
    """study.csv's fields of an ablation (its ablations.csv)."""
    complete = int((table["status"] == "complete").sum())
    failed = int((table["status"] == "failed").sum())
    return {"run_id": run_id, "status": "complete" if complete == len(table) else "incomplete",
            "arms": len(table), "arms_complete": complete, "arms_failed": failed}


def run(store: results.RunStore, parts: dict[str, Callable[[], dict]],
        stream=STDERR) -> pd.DataFrame:
    """Run each part in order (each resumes by itself); return and store study.csv.

    `seconds` is the training time the part's runs recorded (recorded_seconds), so it is the
    same however many invocations, interruptions or machines the part took; a run shared by
    two parts (the ResNet's presets) is counted for the first.
    """
    with store.writing():
        table = store.read_table("study.csv")
        previous = {} if table.empty else table.set_index("part").to_dict("index")
        rows = []
        clock = WorkClock(None)  # parts differ too much in size for an ETA; each part has its own
        for number, (name, part) in enumerate(parts.items(), start=1):
            before = previous.get(name, {})
            if stream is not None:
                print(f"study part {number}/{len(parts)}: {name}  ({clock.text()})", file=stream,
                      flush=True)
            try:
                row = {"reason": "", **part()}
            except TrainingDiverged as error:
                row = {"run_id": before.get("run_id", ""), "status": "failed",
                       "reason": str(error)}
                if stream is not None:
                    print(f"study part {name} failed: {error}", file=stream, flush=True)
            rows.append({**{c: None for c in STUDY_COLUMNS}, **row, "part": name})
            done = pd.DataFrame(rows, columns=STUDY_COLUMNS)
            rest = [dict(previous[p], part=p) for p in parts if p not in done["part"].tolist()
                    and p in previous]
            table = pd.concat([done, pd.DataFrame(rest, columns=STUDY_COLUMNS)],
                              ignore_index=True) if rest else done
            table["seconds"] = results.parts_seconds(store.root, table["run_id"])
            results.write_csv(store.path("study.csv"), table)
    return table


def summary_text(study_id: str, table: pd.DataFrame) -> str:
    """The lines printed at the end of `emnist-bench study`."""
    lines = []
    for row in table.to_dict("records"):
        if row["part"] == "ablation":
            detail = f"{int(row['arms_complete'])}/{int(row['arms'])} arms complete"
        elif row["status"] == "complete":
            std = row["cv_std"] if row["cv_std"] == row["cv_std"] and row["cv_std"] is not None else 0.0
            detail = f"cv {row['cv_mean']:.4f} ± {std:.4f}, test {row['test_accuracy']:.4f}"
        else:
            detail = row["reason"] or row["status"]
        lines.append(f"  {row['part']:<10} {row['status']:<10} {detail}  ({row['run_id']})")
    total = float(table["seconds"].sum())
    return f"{study_id}: {total / 60:.1f} min\n" + "\n".join(lines)
