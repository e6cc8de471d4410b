"""The results browser (app.py and its pages in benchmark/app/) under Streamlit's AppTest: every
page on results the suite wrote, an empty or missing folder, broken runs, names that try to leave
the folder, the links of the one-page app (?page=<title>)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from benchmark import published, readers
from benchmark.app import ablations
from tests.app_results import app_results  # noqa: F401  (the shared, suite-written fixture)

# Reads files or drives the app: the same on every backend, so CI runs it once.
pytestmark = pytest.mark.any_backend

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PAGES = ["Runs", "Ablations", "Curves", "Misclassified", "Confusion", "Tuning", "Backends"]


def open_app(monkeypatch, results: Path, page: str | None = None,
             query: dict | None = None) -> AppTest:
    """The app on `results` (opened at the URL's `query`), run once and once more on `page`
    (AppTest cannot click the sidebar's links: a ?page=<title> link opens the page), with no
    exception."""
    monkeypatch.setenv("EMNIST_BENCH_RESULTS", str(results))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page:
        at.query_params["page"] = page
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.header[0].value.startswith(page), (page, at.header[0].value)
        assert "page" not in at.query_params  # the page's own URL replaces the old link
    return at


def texts(at: AppTest) -> str:
    """Every message, caption and markdown text on the page, joined."""
    parts = [e.value for kind in ("info", "warning", "error", "success", "caption", "markdown")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


# ------------------------------------------------------------------------- every page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_draws_what_the_suite_wrote(monkeypatch, app_results, page):  # noqa: F811
    at = open_app(monkeypatch, app_results, page)
    assert at.header[0].value.startswith(page.split()[0][:8])
    if page == "Misclassified":
        images = at.get("image")
        assert images and len(images[0].proto.imgs) > 0
        assert all("→" in c for c in images[0].captions if c)
    elif page == "Backends":
        # One backend in the fixture: the bench results are missing and the command is named.
        assert readers.BENCH_COMMAND in texts(at)
        assert at.dataframe
    else:
        assert charts(at), f"{page} drew no chart"
    assert not at.error


def test_runs_lists_every_run_with_its_data_and_scores(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results)
    table = at.dataframe[0].value
    assert {"mlp-best", "mlp-baseline"} <= set(table["run_id"])
    row = table.set_index("run_id").loc["mlp-best"]
    assert row["data"].startswith("balanced, not official")
    assert "±" in row["cv"] and row["epochs"] == 1 and row["status"] == "complete"
    assert at.multiselect(key="compare").value  # runs chosen for comparison by default


def test_compared_runs_on_the_same_folds_get_a_paired_test(monkeypatch, app_results):  # noqa: F811
    """Runs compared with the first one chosen: on the same folds, their fold-by-fold difference,
    its interval and the corrected test's verdict, as the ablation page gives an arm."""
    at = open_app(monkeypatch, app_results)
    at.multiselect(key="compare").set_value(["mlp-baseline", "mlp-best"]).run()
    assert not at.exception
    folds = {run: pd.read_csv(app_results / run / "folds.csv")["val_accuracy"]
             for run in ("mlp-baseline", "mlp-best")}
    assert any(h.value == "Paired differences from mlp-baseline" for h in at.subheader)
    row = at.dataframe[1].value.set_index("run").loc["mlp-best"]
    assert row["delta"] == pytest.approx((folds["mlp-best"] - folds["mlp-baseline"]).mean())
    assert row["folds"] == 2 and row["verdict"] in readers.VERDICTS
    runs = readers.scan(app_results).runs.set_index("run_id")
    best = runs.loc["mlp-best"]
    assert readers.same_folds(runs.loc["mlp-baseline"], best)
    reseeded = best.copy()
    reseeded["seed"] = best["seed"] + 1
    assert not readers.same_folds(best, reseeded)


def test_runs_opens_on_the_newest_run_and_runs_on_its_folds(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results)
    runs = readers.scan(app_results).runs.set_index("run_id")
    chosen = at.multiselect(key="compare").value
    assert runs.loc[chosen[0], "created"] == runs["created"].max() and len(chosen) >= 2
    assert at.dataframe[1].value["verdict"].isin(readers.VERDICTS).all()


def test_ablation_has_a_verdict_per_arm_and_marks_the_baseline(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Ablations")
    table = at.dataframe[0].value
    assert "relu (baseline)" in set(table["label"])
    assert set(table["verdict"]) <= set(readers.VERDICTS)
    assert (table["verdict"] == "baseline").sum() == 1
    assert "study" not in at.dataframe[0].proto.column_order  # not the official split
    assert "not official" in texts(at) and "not EMNIST Balanced results" in texts(at)


def test_ablation_draws_each_arms_interval_around_its_delta(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Ablations")
    arms = at.dataframe[0].value
    arms = arms[arms["verdict"] != "baseline"]
    drawn = json.loads(charts(at)[1].proto.spec)  # the page's second chart, under the dots
    marks = [layer["mark"]["type"] for layer in drawn["layer"]]
    assert marks == ["rule", "rule", "point"]  # zero, the interval, delta
    interval = drawn["layer"][1]["encoding"]
    assert interval["x"]["field"] == "ci_low" and interval["x2"]["field"] == "ci_high"
    folder = app_results / "ablate-mlp"
    table = readers.read_ablation(folder, readers.read_json(folder / "config.json"))
    rows = [row for data in ablations.delta_chart(table).to_dict()["datasets"].values()
            for row in data if "label" in row]
    assert sorted(r["label"] for r in rows) == sorted(arms["label"])
    for row in rows:
        assert row["ci_low"] <= row["delta"] <= row["ci_high"]


def test_misclassified_filters_by_true_class_and_pair(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Misclassified")
    wrong = pd.read_csv(app_results / "mlp-baseline" / "misclassified.csv",
                        dtype={"true_char": str, "predicted_char": str}, keep_default_na=False)
    char = wrong["true_char"].iloc[0]
    at.selectbox(key="true_class").set_value(char).run()
    captions = at.get("image")[0].captions
    assert captions and all(c.startswith(f"{char} →") for c in captions)
    at.selectbox(key="true_class").set_value("any").run()
    pair = at.selectbox(key="pair").options[1].split(" (")[0]  # shown as "a / b (count)"
    at.selectbox(key="pair").set_value(pair).run()
    a, b = pair.split(" / ")
    for caption in at.get("image")[0].captions:
        true, predicted = caption.split(" ")[0], caption.split(" ")[2]
        assert {true, predicted} == {a, b}


def test_confusion_names_the_studys_pairs(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Confusion")
    assert "9/q" in texts(at) and "O/0" in texts(at)
    assert len(charts(at)) == 2  # heat map and per-class accuracy


def test_tuning_lists_the_trials(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Tuning")
    trials = at.dataframe[0].value
    assert len(trials) == 2 and "score" in trials
    assert len(charts(at)) == 2  # score per hyperparameter, parallel coordinates


def test_opens_on_the_committed_results(monkeypatch):
    catalog = readers.scan(REPO / "results")
    if catalog.runs.empty:
        pytest.skip("no run committed in results/ yet")
    for page in PAGES:
        open_app(monkeypatch, REPO / "results", page)
    if not readers.backend_groups(catalog.runs).empty:
        at = open_app(monkeypatch, REPO / "results", "Backends")
        assert charts(at)
        # Without bench.csv the page says how to make one; with it, it shows its figures.
        assert (readers.BENCH_COMMAND in texts(at)) != (REPO / "results" / "bench.csv").exists()


# ------------------------------------------------------------------------- nothing, or broken


@pytest.mark.parametrize("make", ["empty", "missing"])
def test_no_results_says_so_and_names_a_command(monkeypatch, tmp_path, make):
    folder = tmp_path / "results"
    if make == "empty":
        folder.mkdir()
    for page in PAGES:
        at = open_app(monkeypatch, folder, page)
        message = texts(at)
        assert "No results" in message and readers.FIRST_COMMAND in message


@pytest.fixture
def broken(tmp_path, app_results):  # noqa: F811
    """A copy of the fixture with a run of each kind of damage beside the intact ones."""
    folder = tmp_path / "results"
    shutil.copytree(app_results, folder)
    shutil.copytree(folder / "mlp-best", folder / "bad-config")
    (folder / "bad-config" / "config.json").write_text("{not json")
    shutil.copytree(folder / "mlp-best", folder / "half-written")
    for name in ("test.json", "confusion.csv", "misclassified.csv", "misclassified.npz",
                 "per_class.csv"):
        (folder / "half-written" / name).unlink()
    (folder / "no-config").mkdir()
    shutil.copytree(folder / "mlp-best", folder / "pickled")
    np.savez(folder / "pickled" / "misclassified.npz", images=np.array([object()] * 3),
             index=np.arange(3))
    shutil.copytree(folder / "mlp-best", folder / "bad-epochs")
    (folder / "bad-epochs" / "epochs.csv").write_bytes(b"\x00\xff garbage\n\"unclosed")
    shutil.copytree(folder / "tune-mlp", folder / "tune-empty")
    (folder / "tune-empty" / "trials.csv").unlink()
    return folder


@pytest.mark.parametrize("page", PAGES)
def test_a_broken_run_does_not_hide_the_others(monkeypatch, broken, page):
    at = open_app(monkeypatch, broken, page)
    if page == "Runs":
        runs = set(at.dataframe[0].value["run_id"])
        assert {"mlp-best", "mlp-baseline", "half-written", "pickled"} <= runs
        assert "bad-config" not in runs
        problems = texts(at)
        assert "bad-config" in problems and "no-config" in problems


def test_pickled_images_are_refused_not_loaded(monkeypatch, broken):
    table, images = readers.read_misclassified(broken / "pickled")
    assert images is None and not table.empty
    at = open_app(monkeypatch, broken, query={"page": "Misclassified", "run": "pickled"})
    assert at.selectbox(key="run").value == "pickled"
    assert "cannot be drawn" in texts(at)


def test_images_of_some_mistakes_line_up_with_their_rows(tmp_path, app_results):  # noqa: F811
    folder = tmp_path / "run"
    shutil.copytree(app_results / "mlp-best", folder)
    table, images = readers.read_misclassified(folder)
    assert images is not None and table["has_image"].all() and len(table) >= 3
    kept = np.arange(0, len(table), 2)  # every second row's image, as a capped run stores them
    np.savez(folder / "misclassified.npz", images=images[kept],
             index=table["index"].to_numpy()[kept])
    partial, aligned = readers.read_misclassified(folder)
    assert np.flatnonzero(partial["has_image"]).tolist() == kept.tolist()
    assert (aligned[kept] == images[kept]).all() and not aligned[1].any()
    np.savez(folder / "misclassified.npz", images=images[:1], index=np.array([10**6]))
    assert readers.read_misclassified(folder)[1] is None  # an image of no listed mistake


def test_a_new_run_shows_up_without_a_restart(monkeypatch, tmp_path, app_results):  # noqa: F811
    folder = tmp_path / "results"
    shutil.copytree(app_results, folder)
    at = open_app(monkeypatch, folder)
    before = len(at.dataframe[0].value)
    shutil.copytree(folder / "mlp-best", folder / "mlp-best-again")
    at.run()
    assert len(at.dataframe[0].value) == before + 1


def test_backends_shows_the_latest_bench_measurements(monkeypatch, tmp_path, app_results):  # noqa: F811
    bench = pytest.importorskip("benchmark.bench")
    folder = tmp_path / "results"
    shutil.copytree(app_results, folder)
    for created, factor in (("2026-01-01T00:00:00+00:00", 1.0), ("2026-02-01T00:00:00+00:00", 2.0)):
        rows = []
        for backend, speed in (("tensorflow", 900.0), ("jax", 1500.0), (bench.PEER, 1000.0)):
            row = dict.fromkeys(bench.COLUMNS)
            row.update(bench_id=f"bench-{created[:10]}", created=created, arch="mlp",
                       preset="best", backend=backend, precision="float32", batch_size=128,
                       images_per_second=speed * factor, ms_per_step=128_000 / (speed * factor),
                       epoch_seconds=112_800 / (speed * factor), vs_peer=speed / 1000.0,
                       peak_memory_mb=500.0)
            rows.append(row)
        bench.append_rows(folder / "bench.csv", rows)  # the writer `emnist-bench bench` uses
    at = open_app(monkeypatch, folder, "Backends")
    assert readers.BENCH_COMMAND not in texts(at)
    assert charts(at)
    shown = at.dataframe[0].value
    assert len(shown) == 3 and shown["images_per_second"].min() == 1800.0  # the later run


# ------------------------------------------------------------------------- names and paths


@pytest.mark.parametrize("name", ["../etc", "..", ".", "a/b", "/etc", "", "-x", "a" * 129])
def test_a_name_cannot_leave_the_results_folder(tmp_path, name):
    with pytest.raises(ValueError):
        readers.folder(tmp_path, name)


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "results" / "escape").symlink_to(tmp_path / "outside")
    with pytest.raises(ValueError, match="outside"):
        readers.folder(tmp_path / "results", "escape")
    assert readers.folder(tmp_path / "results", "fine") == (tmp_path / "results" / "fine").resolve()


def test_a_run_name_in_the_url_only_picks_a_run_that_exists(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, query={"page": "Confusion", "run": "../../etc"})
    assert at.header[0].value == "Confusion"
    assert at.selectbox(key="run").value in {"mlp-best", "mlp-baseline"}
    at = open_app(monkeypatch, app_results, query={"page": "Confusion", "run": "mlp-best"})
    assert at.selectbox(key="run").value == "mlp-best"


@pytest.mark.parametrize("page", PAGES)
def test_an_old_link_opens_its_page_with_its_other_parameters(monkeypatch, app_results, page):  # noqa: F811
    """?page=<title>, the link of the one-page app (any case), opens the page at its own URL
    and keeps the link's other parameters for the page's widgets."""
    for name in (page, page.lower()):
        at = open_app(monkeypatch, app_results, query={"page": name, "other": "kept"})
        assert at.header[0].value.startswith(page), (name, at.header[0].value)
        assert at.query_params == {"other": "kept"}
    if page in ("Misclassified", "Confusion"):
        for run in ("mlp-best", "mlp-baseline"):
            at = open_app(monkeypatch, app_results, query={"page": page, "run": run})
            assert at.selectbox(key="run").value == run


def test_an_old_link_to_no_page_opens_runs(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, query={"page": "../Nowhere", "run": "mlp-best"})
    assert at.header[0].value == "Runs"
    assert "page" not in at.query_params


def test_the_pages_switch_within_a_session(monkeypatch, app_results):  # noqa: F811
    """One session through every page and back: each draws its own header, and the runs chosen
    to compare (a widget on Runs and Curves) are kept across the switches."""
    at = open_app(monkeypatch, app_results)
    at.multiselect(key="compare").set_value(["mlp-baseline"]).run()
    for page in [*PAGES[1:], "Runs"]:
        at.query_params["page"] = page
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.header[0].value.startswith(page)
        if page in ("Curves", "Runs"):
            assert at.multiselect(key="compare").value == ["mlp-baseline"]


# ------------------------------------------------------------------------- the study's numbers


def write_ablation(folder: Path, official: bool) -> Path:
    """An ablations.csv in the documented layout (for the one thing the synthetic fixture
    cannot show: the official Balanced split, where the study's numbers appear)."""
    folder.mkdir(parents=True)
    rows = [{"factor": "baseline", "value": "", "baseline": True, "arm": "baseline", "folds": 2,
             "val_accuracy_mean": 0.89, "val_accuracy_std": 0.001, "test_accuracy": 0.891,
             "delta": 0.0, "p_value": None, "fold_1": 0.889, "fold_2": 0.891},
            {"factor": "activation", "value": "leaky_relu", "baseline": False,
             "arm": "activation-leaky_relu", "folds": 2, "val_accuracy_mean": 0.895,
             "val_accuracy_std": 0.001, "test_accuracy": 0.896, "delta": 0.005, "p_value": 0.01,
             "fold_1": 0.894, "fold_2": 0.896}]
    pd.DataFrame(rows).to_csv(folder / "ablations.csv", index=False)
    config = {"kind": "ablate", "arch": "cnn", "backend": "jax",
              "base": {"model": {"activation": "relu"}, "training": {}},
              "data": {"split": "balanced", "matches_official_sizes": official,
                       "n_train_used": 112800, "n_test": 18800}}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize("official", [True, False])
def test_the_studys_number_only_beside_official_balanced_results(monkeypatch, tmp_path, official):
    folder = write_ablation(tmp_path / "results" / "ablate-cnn", official)
    table = readers.read_ablation(folder, json.loads((folder / "config.json").read_text()))
    row = table.set_index("label").loc["leaky_relu"]
    assert row["verdict"] == "real difference: better"
    assert (row["study"] == 0.8963) if official else pd.isna(row["study"])
    assert "relu (baseline)" in set(table["label"])
    at = open_app(monkeypatch, tmp_path / "results", "Ablations")
    assert ("study" in at.dataframe[0].proto.column_order) == official
    assert (published.STUDY_LABEL in at.dataframe[0].proto.columns) == official
    assert ("LeakyReLU 0.8963" in texts(at)) == official


# ------------------------------------------------------------------------- many runs


def test_a_few_hundred_runs_are_read_once_and_then_served_from_the_cache(
        monkeypatch, tmp_path, app_results):  # noqa: F811
    """Speed is for a benchmark to measure; here: all 300 are read, and a rerun with nothing
    changed on disk does not read them again."""
    folder = tmp_path / "results"
    folder.mkdir()
    for i in range(300):
        shutil.copytree(app_results / "mlp-best", folder / f"run-{i:03d}")
    catalog = readers.scan(folder)
    assert len(catalog.runs) == 300 and not catalog.problems
    at = open_app(monkeypatch, folder)
    calls = []
    real_scan = readers.scan
    monkeypatch.setattr(readers, "scan", lambda root: calls.append(root) or real_scan(root))
    at.run()  # cached: nothing changed on disk
    assert calls == []
    assert len(at.dataframe[0].value) == 300
