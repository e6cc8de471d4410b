"""What several pages of the results browser use: the catalog and file readers with their
caches, the "Show pilot runs" switch and what it shows, the run picker, the data caption, the
chart helper and the accuracy format.

benchmark/readers.py reads the folder (every file is documented in results/README.md) and
benchmark/selection.py says which runs, ablations and searches are the main ones (the report's
rule too); this module caches what they read, keyed on the folder and the files' modification
times. Run names from the URL or a widget are only ever the names found on disk.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from benchmark import best_trials, claims, parity, readers, selection, suggestions

# ------------------------------------------------------------------------- cached reading


@st.cache_data(show_spinner="Reading results...", max_entries=4)
def load_catalog(root: str, signature: tuple) -> readers.Catalog:
    """The results folder's catalog, every run, ablation and search given its role
    (selection.annotate), read again when `signature` (readers.stamp) changes."""
    return selection.annotate(readers.scan(root))


@st.cache_data(show_spinner="Checking the study's claims...", max_entries=4)
def load_summary(root: str, signature: tuple) -> claims.Summary:
    """The summary of the study's claims, as REPORT.md opens on it (benchmark/claims.py)."""
    catalog = load_catalog(root, signature)
    return claims.summarise(claims.check(catalog), catalog)


@st.cache_data(show_spinner=False, max_entries=4)
def load_parity(root: str, signature: tuple) -> pd.DataFrame:
    """Every configuration's backends paired fold by fold (parity.pairs), largest budget first."""
    return parity.pairs(load_catalog(root, signature).runs)


@st.cache_data(show_spinner=False, max_entries=4)
def load_against_preset(root: str, signature: tuple) -> pd.DataFrame:
    """Each real search's best trial against the best preset (best_trials.against_preset)."""
    return best_trials.against_preset(load_catalog(root, signature))


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


# ------------------------------------------------------------------------- shared pieces


def no_results(root: Path, catalog: readers.Catalog) -> None:
    """The message for a folder with nothing to show yet."""
    where = f"`{root}`" if catalog.exists else f"`{root}` (the folder does not exist)"
    st.info(f"No results in {where}. Make some with `{suggestions.FIRST_COMMAND}`, or point "
            f"`EMNIST_BENCH_RESULTS` at a results folder.")


def show_problems(catalog: readers.Catalog) -> None:
    if catalog.problems:
        with st.expander(f"{len(catalog.problems)} folder(s) could not be read", expanded=True):
            for problem in catalog.problems:
                st.warning(f"`{problem.folder}`: {problem.reason}")


# ------------------------------------------------------------------------- main runs, pilots

PILOTS = "pilots"  # the key of the sidebar's "Show pilot runs" switch (app.py)
PILOTS_HELP = ("Off: only each architecture's and preset's main run (the largest budget on the "
               "largest data, complete, not collapsed), each architecture's main ablation and "
               "the real searches. On: pilots, repeats, variants, collapsed and unfinished runs "
               "and tests as well, with the reason each one is set apart.")


def pilots_shown() -> bool:
    """Whether the sidebar's "Show pilot runs" switch is on."""
    return bool(st.session_state.get(PILOTS, False))


def shown_runs(catalog: readers.Catalog) -> pd.DataFrame:
    """The runs to list: the main runs first (selection.annotate's order), the others only
    when pilots are shown."""
    runs = catalog.runs
    return runs if pilots_shown() or runs.empty else runs[runs["role"] == "main"]


def shown_items(items: list[dict]) -> list[dict]:
    """Ablations or searches to list: the main ones first, the rest only when pilots are shown."""
    return items if pilots_shown() else [i for i in items if i["role"] == "main"]


def hidden_note(what: str, everything: int, listed: int,
                kinds: str = "pilots, tests, collapsed or unfinished") -> None:
    """Say how many of `what` the switch hides, when it hides some."""
    if everything > listed:
        st.caption(f"{everything - listed} other {what} ({kinds}) are hidden: turn on "
                   "**Show pilot runs** in the sidebar.")


def compare_options(catalog: readers.Catalog) -> list[str]:
    """The runs the Runs and Curves pages offer to compare (their shared "compare" choice):
    those listed (shown_runs), and any run already chosen in this session, hidden or not."""
    listed = list(shown_runs(catalog)["run_id"]) if not catalog.runs.empty else []
    chosen = st.session_state.get("compare") or []
    return listed + [r for r in chosen if r in set(catalog.runs.get("run_id", []))
                     and r not in listed]


def with_linked(options: list[str], everything: list[str], key: str) -> list[str]:
    """`options`, plus the one a link names in the URL (?<key>=<name>) if it exists but is
    hidden, so that a link to a pilot still opens it."""
    linked = st.query_params.get(key)
    return options + [linked] if linked in everything and linked not in options else options


def item_picker(items: list[dict], label: str, key: str, what: str, none_shown: str,
                **note) -> dict | None:
    """The ablation or search the page shows: a select box of the shown items (a linked one
    too), a note on those hidden, or `none_shown` (with {count}) when none is shown."""
    every = {item["id"]: item for item in items}
    ids = with_linked([item["id"] for item in shown_items(items)], list(every), key)
    if not ids:
        st.info(none_shown.format(count=len(every)))
        return None
    chosen = st.selectbox(label, ids, key=key, bind="query-params")
    hidden_note(what, len(every), len(ids), **note)
    return every[chosen or ids[0]]


def run_picker(catalog: readers.Catalog, label: str, need: str) -> pd.Series | None:
    """A run chosen from those that have `need` (a file name), main runs first; shared by pages
    via its key."""
    runs = catalog.runs
    have = [r for r in runs.itertuples() if Path(r.run_dir, need).exists()]
    listed = [r for r in have if pilots_shown() or r.role == "main"]
    ids = with_linked([r.run_id for r in listed], [r.run_id for r in have], "run")
    if not ids:
        st.info(f"No main run has `{need}`: turn on **Show pilot runs** in the sidebar to "
                f"choose among the {len(have)} others." if have else
                f"No run has `{need}` yet: it is written when a run's test evaluation "
                f"finishes (e.g. `{suggestions.FIRST_COMMAND}`).")
        return None
    hidden_note("runs", len(have), len(ids))
    # Options are the bare names, so a link such as /confusion?run=<run-id> picks one.
    chosen = st.selectbox(label, ids, key="run", bind="query-params")
    run = runs.set_index("run_id").loc[chosen or ids[0]]
    st.caption(f"{run['arch']}/{run['preset']} on {run['backend']}; test accuracy "
               f"{fmt_accuracy(run['test_accuracy']) or 'not recorded'}; {role_text(run)}.")
    return run


def role_text(run: pd.Series) -> str:
    """What a run is, in words: "the main run of mlp best", "pilot: less data than ..."."""
    if run["role"] == "main":
        return f"the main run of {run['arch']} {run['main_for']}"
    return f"{run['role']}: {run['why']}" if run["why"] else str(run["role"])


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
