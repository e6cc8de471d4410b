"""The results browser (app.py and its pages in benchmark/app/) under Streamlit's AppTest: every
page on results the suite wrote, the summary it opens on, main runs first and pilots behind the
"Show pilot runs" switch, an empty or missing folder, broken runs, names that try to leave
the folder, the links of the one-page app (?page=<title>)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

import app
from benchmark import claims, published, readers, selection, suggestions, verdicts, views
from benchmark.app import ablations, backends, shared
from tests.app_results import (  # noqa: F401  (the shared fixture)
    add_pilots,
    app_results,
    write_ablation,
)

# Reads files or drives the app: the same on every backend, so CI runs it once.
pytestmark = pytest.mark.any_backend

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
KINDS = (*verdicts.KINDS, verdicts.NO_TEST)  # a paired comparison's verdicts
PAGES = list(app.PAGES)  # the sidebar's titles, in order


def open_app(monkeypatch, results: Path, page: str | None = None,
             query: dict | None = None, pilots: bool = False) -> AppTest:
    """The app on `results` (opened at the URL's `query`), run once and once more on `page`
    (AppTest cannot click the sidebar's links: a ?page=<title> link opens the page), with the
    sidebar's "Show pilot runs" switch on if `pilots`, with no exception."""
    monkeypatch.setenv("EMNIST_BENCH_RESULTS", str(results))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if pilots:
        at.toggle(key=shared.PILOTS).set_value(True).run()
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
        assert suggestions.BENCH_COMMAND in texts(at)
        assert at.dataframe
    elif page == "Summary":
        assert at.dataframe and "claims checked" in texts(at)
    else:
        assert charts(at), f"{page} drew no chart"
    assert not at.error


def test_runs_lists_every_run_with_its_data_and_scores(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Runs", pilots=True)
    table = at.dataframe[0].value
    assert {"mlp-best", "mlp-baseline"} <= set(table["run_id"])
    row = table.set_index("run_id").loc["mlp-best"]
    assert row["data"].startswith("balanced, not official")
    assert "±" in row["cv"] and row["epochs"] == 1 and row["status"] == "complete"
    assert at.multiselect(key="compare").value  # runs chosen for comparison by default


def test_compared_runs_on_the_same_folds_get_a_paired_test(monkeypatch, app_results):  # noqa: F811
    """Runs compared with the first one chosen: on the same folds, their fold-by-fold difference,
    its interval and the corrected test's verdict, as the ablation page gives an arm."""
    at = open_app(monkeypatch, app_results, "Runs", pilots=True)
    at.multiselect(key="compare").set_value(["mlp-baseline", "mlp-best"]).run()
    assert not at.exception
    folds = {run: pd.read_csv(app_results / run / "folds.csv")["val_accuracy"]
             for run in ("mlp-baseline", "mlp-best")}
    assert any(h.value == "Paired differences from mlp-baseline" for h in at.subheader)
    row = at.dataframe[1].value.set_index("run").loc["mlp-best"]
    assert row["delta"] == pytest.approx((folds["mlp-best"] - folds["mlp-baseline"]).mean())
    assert row["folds"] == 2 and claims.verdict_kind(row["verdict"]) in KINDS
    runs = readers.scan(app_results).runs.set_index("run_id")
    best = runs.loc["mlp-best"]
    assert readers.same_folds(runs.loc["mlp-baseline"], best)
    reseeded = best.copy()
    reseeded["seed"] = best["seed"] + 1
    assert not readers.same_folds(best, reseeded)


def test_runs_opens_on_the_main_runs_side_by_side(monkeypatch, app_results):  # noqa: F811
    """Only the main runs are listed and compared at first (the study's baseline and best,
    scored on the same folds, so paired); the switch lists the others, with why."""
    at = open_app(monkeypatch, app_results, "Runs")
    main = list(selection.main_runs(selection.annotate(readers.scan(app_results)))["run_id"])
    assert main and list(at.dataframe[0].value["run_id"]) == main
    assert at.multiselect(key="compare").value == main
    assert at.dataframe[1].value["verdict"].map(claims.verdict_kind).isin(KINDS).all()
    assert "role" not in at.dataframe[0].proto.column_order
    at.toggle(key=shared.PILOTS).set_value(True).run()
    table = at.dataframe[0].value.set_index("run_id")
    assert {"mlp-best", "mlp-baseline"} <= set(table.index) > set(main)
    assert table.loc["mlp-best", "role"] == "repeat" and "main run" in table.loc["mlp-best", "why"]
    assert list(at.dataframe[0].proto.column_order[:3]) == ["run_id", "role", "why"]


# ------------------------------------------------------------------------- main runs first


def test_the_first_page_is_the_summary_the_report_opens_on(monkeypatch, app_results):  # noqa: F811
    """The app opens on the summary (claims.summarise, REPORT.md's first section): the verdict
    counts, one line per claim that ran, a sentence for the rest, links into Ablations and
    Runs."""
    at = open_app(monkeypatch, app_results)
    assert at.header[0].value == "Summary"
    catalog = selection.annotate(readers.scan(app_results))
    summary = claims.summarise(claims.check(catalog), catalog)
    message = texts(at)
    assert f"**{summary.headline()}.**" in message and summary.not_run in message
    assert {m.label: m.value for m in at.metric} == {k: str(v) for k, v in
                                                     summary.counts.items()}
    pd.testing.assert_frame_equal(at.dataframe[0].value, summary.lines)
    links = [link.proto for link in at.get("page_link")]
    main = selection.main_ablation(catalog, "mlp")["id"]
    assert any(link.page.endswith("ablations") and main in link.query_string
               for link in links), links
    assert any(link.page.endswith("runs") for link in links), links


def test_pilots_tests_and_collapsed_runs_wait_behind_the_switch(
        monkeypatch, tmp_path, app_results):  # noqa: F811
    """With a pilot, a collapsed run and a newer memory test beside the main runs, every page
    opens on main results; the switch shows the others; a link to a pilot still opens it."""
    folder = tmp_path / "results"
    shutil.copytree(app_results, folder)
    add_pilots(folder)
    set_apart = {"mlp-best-pilot", "mlp-best-collapsed", "mlp-best", "mlp-baseline"}
    at = open_app(monkeypatch, folder, "Runs")
    assert not set(at.dataframe[0].value["run_id"]) & set_apart
    assert not set(at.multiselect(key="compare").value) & set_apart
    assert "hidden" in texts(at) and "Show pilot runs" in texts(at)
    at.toggle(key=shared.PILOTS).set_value(True).run()
    table = at.dataframe[0].value.set_index("run_id")
    assert set_apart <= set(table.index)
    assert table.loc["mlp-best-collapsed", "role"] == "collapsed"
    assert table.loc["mlp-best-collapsed", "collapsed"] == "collapsed: inference mode"
    assert table.loc["mlp-best-pilot", "role"] == "pilot"
    for page in ("Curves", "Confusion", "Misclassified"):
        at = open_app(monkeypatch, folder, page)
        chosen = (at.multiselect(key="compare").value if page == "Curves"
                  else [at.selectbox(key="run").value])
        assert chosen and not set(chosen) & set_apart, (page, chosen)
        if page != "Curves":
            assert not set(at.selectbox(key="run").options) & set_apart
    at = open_app(monkeypatch, folder, query={"page": "Confusion", "run": "mlp-best-pilot"})
    assert at.selectbox(key="run").value == "mlp-best-pilot"
    assert "pilot: less data than the main run" in texts(at)
    at = open_app(monkeypatch, folder, "Tuning")
    assert at.selectbox(key="search").value == "tune-mlp"  # not the newer memory test
    assert at.selectbox(key="search").options == ["tune-mlp"]
    at = open_app(monkeypatch, folder, "Tuning", pilots=True)
    assert at.selectbox(key="search").options[-1] == "memory-mlp-20-trials"
    at = open_app(monkeypatch, folder, "Ablations")
    main = selection.main_ablation(selection.annotate(readers.scan(folder)), "mlp")["id"]
    assert at.selectbox(key="ablation").options == [main]


def test_ablation_has_a_verdict_per_arm_and_marks_the_baseline(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Ablations")
    table = at.dataframe[0].value
    assert "relu (baseline)" in set(table["label"])
    assert set(table["verdict"]) <= set(verdicts.VERDICT_COLOURS)
    assert (table["verdict"] == "baseline").sum() == 1
    assert "study" not in at.dataframe[0].proto.column_order  # not the official split
    assert "not official" in texts(at) and "not EMNIST Balanced results" in texts(at)


def test_ablation_draws_each_arms_interval_around_its_delta(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, "Ablations")
    arms = at.dataframe[0].value
    arms = arms[arms["verdict"] != "baseline"]
    drawn = json.loads(charts(at)[1].proto.spec)  # the page's second chart, under the dots
    marks = [layer["mark"]["type"] for layer in drawn["layer"]]
    assert marks == ["rect", "rule", "rule", "point"]  # the ROPE, zero, the interval, delta
    interval = drawn["layer"][2]["encoding"]
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
    # the anytime curve, score per hyperparameter, parallel coordinates
    assert len(charts(at)) == 3
    assert at.subheader[0].value == "Best score so far against training time"
    curve = charts(at)[0]
    assert "best CV accuracy so far" in str(curve.spec)


def test_opens_on_the_committed_results(monkeypatch):
    catalog = readers.scan(REPO / "results")
    if catalog.runs.empty:
        pytest.skip("no run committed in results/ yet")
    for page in PAGES:
        open_app(monkeypatch, REPO / "results", page)
    if not views.backend_groups(catalog.runs).empty:
        at = open_app(monkeypatch, REPO / "results", "Backends")
        assert charts(at)
        # Without bench.csv the page says how to make one; with it, it shows its figures.
        assert (suggestions.BENCH_COMMAND in texts(at)) != (REPO / "results" / "bench.csv").exists()


# ------------------------------------------------------------------------- nothing, or broken


@pytest.mark.parametrize("make", ["empty", "missing"])
def test_no_results_says_so_and_names_a_command(monkeypatch, tmp_path, make):
    folder = tmp_path / "results"
    if make == "empty":
        folder.mkdir()
    for page in PAGES:
        at = open_app(monkeypatch, folder, page)
        message = texts(at)
        assert "No results" in message and suggestions.FIRST_COMMAND in message


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
    at = open_app(monkeypatch, broken, page, pilots=True)
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
    at = open_app(monkeypatch, folder, "Runs", pilots=True)
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
    assert suggestions.BENCH_COMMAND not in texts(at)
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
    main = selection.main_runs(selection.annotate(readers.scan(app_results)))
    assert at.selectbox(key="run").value == main["run_id"].iloc[0]  # the first main run
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


def test_an_old_link_to_no_page_opens_the_summary(monkeypatch, app_results):  # noqa: F811
    at = open_app(monkeypatch, app_results, query={"page": "../Nowhere", "run": "mlp-best"})
    assert at.header[0].value == "Summary"
    assert "page" not in at.query_params


def test_the_pages_switch_within_a_session(monkeypatch, app_results):  # noqa: F811
    """One session through every page and back: each draws its own header, and the runs chosen
    to compare (a widget on Runs and Curves) are kept across the switches."""
    at = open_app(monkeypatch, app_results, "Runs", pilots=True)
    at.multiselect(key="compare").set_value(["mlp-baseline"]).run()
    for page in [*PAGES[1:], "Runs"]:
        at.query_params["page"] = page
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.header[0].value.startswith(page)
        if page in ("Curves", "Runs"):
            assert at.multiselect(key="compare").value == ["mlp-baseline"]


# ------------------------------------------------------------------------- readable at a glance


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in charts(at)]


def encodings(spec: dict):
    """Every encoding in a chart spec: its own, its layers' and its faceted spec's."""
    if "encoding" in spec:
        yield spec["encoding"]
    for child in [*spec.get("layer", []), *([spec["spec"]] if "spec" in spec else [])]:
        yield from encodings(child)


def test_curves_legends_show_whole_run_names(monkeypatch, tmp_path, app_results):  # noqa: F811
    """Runs whose names differ only at the end (cnn-best-tensorflow-<digest>) keep their whole
    names in every legend: Vega-Lite cuts labels at 160 px, leaving the same prefix for all."""
    folder = tmp_path / "results"
    folder.mkdir()
    names = [f"cnn-best-tensorflow-fused-batch-norm-{tail}" for tail in ("float32", "auto")]
    for name in names:
        shutil.copytree(app_results / "mlp-best", folder / name)
    at = open_app(monkeypatch, folder, "Curves", pilots=True)  # one of the two is a repeat
    at.multiselect(key="compare").set_value(names).run()
    legends = [encoding["color"].get("legend") for spec in chart_specs(at)
               for encoding in encodings(spec) if encoding.get("color", {}).get("field") == "run"]
    assert len(legends) >= 3  # loss, accuracy and the learning rate
    assert all(legend and legend.get("labelLimit") == 0 for legend in legends), legends


def write_units_ablation(folder: Path) -> Path:
    """An MLP ablation of `units` (baseline 128, stored first, then 32 and 64): the order that
    reads "128, 32, 64" unless numbers are put in numeric order; the 64 arm has no p-value."""
    folder.mkdir(parents=True)
    arm = {"factor": "units", "baseline": False, "folds": 2, "val_accuracy_std": 0.001}
    rows = [{"factor": "baseline", "value": "", "baseline": True, "arm": "baseline", "folds": 2,
             "val_accuracy_mean": 0.85, "val_accuracy_std": 0.001, "test_accuracy": 0.851,
             "delta": 0.0, "p_value": None, "p_adjusted": None, "p_plain": None,
             "fold_1": 0.849, "fold_2": 0.851},
            {**arm, "value": "32", "arm": "units-32", "val_accuracy_mean": 0.80,
             "test_accuracy": 0.80, "delta": -0.05, "p_value": 0.02, "p_adjusted": 0.04,
             "p_plain": 0.0001, "fold_1": 0.799, "fold_2": 0.801},
            {**arm, "value": "64", "arm": "units-64", "val_accuracy_mean": 0.83,
             "test_accuracy": 0.83, "delta": -0.02, "p_value": None, "p_adjusted": None,
             "p_plain": None, "fold_1": 0.829, "fold_2": 0.831}]
    pd.DataFrame(rows).to_csv(folder / "ablations.csv", index=False)
    config = {"kind": "ablate", "arch": "mlp", "backend": "jax",
              "base": {"model": {"units": 128}, "training": {}},
              "data": {"split": "balanced", "matches_official_sizes": False,
                       "n_train_used": 3000, "n_test": 304}}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_ablation_puts_numbers_in_numeric_order_and_dashes_missing_p(monkeypatch, tmp_path):
    write_units_ablation(tmp_path / "results" / "ablate-mlp")
    at = open_app(monkeypatch, tmp_path / "results", "Ablations")
    table = at.dataframe[0].value
    order = ["32", "64", "128 (baseline)"]
    assert list(table["label"]) == order
    dots = chart_specs(at)[0]
    assert {e["y"]["field"]: e["y"].get("sort") for e in encodings(dots) if "y" in e} == {
        "label": order}
    p = table.set_index("label")[["p_value", "p_adjusted", "p_plain"]]
    assert p.loc["32"].tolist() == ["0.020", "0.040", "<0.001"]
    assert (p.loc["64"] == ablations.NO_P).all() and (p.loc["128 (baseline)"] == ablations.NO_P).all()
    assert "None" not in p.to_string()
    assert ablations.NO_P in json.loads(at.dataframe[0].proto.columns)["p_value"]["help"]


def test_tuning_puts_numbers_in_numeric_order(monkeypatch, tmp_path, app_results):  # noqa: F811
    folder = tmp_path / "results"
    shutil.copytree(app_results / "tune-mlp", folder / "tune-mlp")
    trials = readers.read_trials(folder / "tune-mlp")
    trials = pd.concat([trials] * 3, ignore_index=True).assign(
        trial_id=["0", "1", "2", "3", "4", "5"], status="completed", score=0.5,
        units=[128, 32, 64, 128, 32, 64], activation=["relu", "elu"] * 3)
    trials.to_csv(folder / "tune-mlp" / "trials.csv", index=False)
    at = open_app(monkeypatch, folder, "Tuning")
    drawn = charts(at)[1].proto  # score against each hyperparameter (after the anytime curve)
    x = next(e["x"] for e in encodings(json.loads(drawn.spec)) if "x" in e)
    assert x["field"] == "value" and x["sort"] == {"field": "order", "op": "min"}
    points = pd.concat([dataframe_util.convert_arrow_bytes_to_pandas_df(named.data.data)
                        for named in drawn.datasets])

    def axis(name):  # the order Vega-Lite gives one panel's axis: by each value's least `order`
        panel = points[points["hyperparameter"] == name]
        return panel.groupby("value")["order"].min().sort_values(kind="stable").index.tolist()

    assert axis("units") == ["32", "64", "128"]
    assert axis("activation") == ["elu", "relu"]


def test_compared_runs_on_other_folds_show_a_dash_for_p(monkeypatch, tmp_path, app_results):  # noqa: F811
    folder = tmp_path / "results"
    shutil.copytree(app_results, folder)
    shutil.copytree(folder / "mlp-best", folder / "mlp-best-reseeded")
    config = json.loads((folder / "mlp-best-reseeded" / "config.json").read_text())
    config["run"]["seed"] += 1
    (folder / "mlp-best-reseeded" / "config.json").write_text(json.dumps(config))
    at = open_app(monkeypatch, folder, "Runs", pilots=True)
    at.multiselect(key="compare").set_value(
        ["mlp-baseline", "mlp-best", "mlp-best-reseeded"]).run()
    table = at.dataframe[1].value.set_index("run")
    assert table.loc["mlp-best-reseeded", "verdict"].startswith("not paired")
    assert (table.loc["mlp-best-reseeded", ["p_value", "p_plain"]] == ablations.NO_P).all()
    p = table.loc["mlp-best", "p_value"]
    assert p == ablations.NO_P or p == "<0.001" or 0 <= float(p) <= 1
    assert "None" not in table[["p_value", "p_plain"]].to_string()


def test_the_runs_table_shows_both_scores_whole_with_short_headers(monkeypatch, app_results):  # noqa: F811
    """At 1,400 px the table used to end at "test accurac…": the scores now come right after
    what was run, under short headers, and the run's name stays in view when scrolled."""
    at = open_app(monkeypatch, app_results, "Runs")
    shown = at.dataframe[0].proto
    order = list(shown.column_order)
    assert order[:7] == ["run_id", "arch", "preset", "backend", "precision", "cv",
                         "test_accuracy"]
    config = json.loads(shown.columns)
    assert config["run_id"].get("pinned") is True
    labels = [config.get(column, {}).get("label") or column for column in order]
    assert max(map(len, labels)) <= len("CV mean ± std"), labels
    assert "help" in config["test_accuracy"] and "help" in config["seconds"]


def bench_rows(bench, precisions: dict[str, float], accelerator: str = "none") -> list[dict]:
    """bench.csv rows of the MLP on TensorFlow and the PyTorch peer at `precisions` (each with
    its images per second)."""
    rows = []
    for backend in ("tensorflow", bench.PEER):
        for precision, speed in precisions.items():
            row = dict.fromkeys(bench.COLUMNS)
            row.update(bench_id="bench-1", created="2026-01-01T00:00:00+00:00", arch="mlp",
                       preset="best", backend=backend, precision=precision, batch_size=128,
                       images_per_second=speed, cpu="AMD EPYC", accelerator=accelerator)
            rows.append(row)
    return rows


def test_backends_says_what_pytorch_is_and_why_bf16_is_slow(monkeypatch, tmp_path, app_results):  # noqa: F811
    bench = pytest.importorskip("benchmark.bench")
    folder = tmp_path / "results"
    shutil.copytree(app_results, folder)
    bench.append_rows(folder / "bench.csv", bench_rows(
        bench, {"float32": 1000.0, "mixed_bfloat16": 100.0}))
    at = open_app(monkeypatch, folder, "Backends")
    message = texts(at)
    assert backends.PEER_NOTE in message
    assert "`torch` are Keras 3" in backends.PEER_NOTE and "plain PyTorch" in backends.PEER_NOTE
    assert "bf16 ran at 0.10x to 0.10x the speed of float32" in message
    assert "native bfloat16" in message and "AMD EPYC" in message
    faster = views.latest_bench(pd.DataFrame(bench_rows(
        bench, {"float32": 1000.0, "mixed_bfloat16": 1500.0})))
    assert backends.bf16_note(faster) is None  # bf16 that pays needs no excuse
    gpu = views.latest_bench(pd.DataFrame(bench_rows(
        bench, {"float32": 1000.0, "mixed_bfloat16": 100.0}, accelerator="NVIDIA H100")))
    assert backends.bf16_note(gpu) is None  # not a CPU: emulation does not explain it



# ------------------------------------------------------------------------- the study's numbers


@pytest.mark.parametrize("official", [True, False])
def test_the_studys_number_only_beside_official_balanced_results(monkeypatch, tmp_path, official):
    folder = write_ablation(tmp_path / "results" / "ablate-cnn", official, GIVEN)
    table = readers.read_ablation(folder, json.loads((folder / "config.json").read_text()))
    row = table.set_index("label").loc["leaky_relu"]
    assert row["verdict"] == "better"
    assert (row["study"] == 0.8963) if official else pd.isna(row["study"])
    assert "relu (baseline)" in set(table["label"])
    at = open_app(monkeypatch, tmp_path / "results", "Ablations")
    assert ("study" in at.dataframe[0].proto.column_order) == official
    assert (published.STUDY_LABEL in at.dataframe[0].proto.columns) == official
    assert ("LeakyReLU 0.8963" in texts(at)) == official


# ------------------------------------------------------------------------- verdicts


GIVEN = {"activation-leaky_relu": "better", "activation-elu": "undecided"}


def hue(colour: str) -> str:
    """A colour's name in the words the captions use: grey, green, red or blue."""
    r, g, b = to_rgb(colour)
    if max(r, g, b) - min(r, g, b) < 0.05:
        return "grey"
    return {0: "red", 1: "green", 2: "blue"}[int(np.argmax([r, g, b]))]


def test_an_ablation_reads_its_verdicts_as_written(tmp_path):
    """The verdict is ablations.csv's, never recomputed: its fold scores say better and
    equivalent, the table says equivalent and undecided, and the table is what is shown."""
    given = {"activation-leaky_relu": "equivalent", "activation-elu": "undecided"}
    folder = write_ablation(tmp_path / "ablate-cnn", given=given)
    table = readers.read_ablation(folder, readers.read_json(folder / "config.json"))
    rows = table.set_index("label")
    assert rows.loc["leaky_relu", "verdict"] == "equivalent"
    assert rows.loc["elu", "verdict"] == "undecided"
    assert rows.loc["elu", "verdict_text"] == "undecided (could detect |Δ| ≥ 0.0073)"
    assert rows.loc["relu (baseline)", "verdict"] == verdicts.BASELINE
    assert rows.loc["elu", "smallest_detectable"] == 0.0073 and rows.loc["elu", "rope"] == 0.005


def test_an_ablation_summarised_before_verdicts_had_columns_still_reads(monkeypatch, tmp_path):
    """An old ablations.csv (p-values only) gets its verdicts from the one rule on its folds
    (adaptive.family), with the columns it lacks; the page shows them."""
    folder = write_ablation(tmp_path / "results" / "ablate-cnn")
    assert "verdict" not in pd.read_csv(folder / "ablations.csv")
    table = readers.read_ablation(folder, readers.read_json(folder / "config.json"))
    rows = table.set_index("label")
    assert rows.loc["leaky_relu", "verdict"] == "better"
    assert rows.loc["elu", "verdict"] == "equivalent"
    assert rows.loc["elu", "rope"] == verdicts.ROPE and rows.loc["elu", "smallest_detectable"] > 0
    assert rows.loc["leaky_relu", "ci_low"] < rows.loc["leaky_relu", "delta"]
    at = open_app(monkeypatch, tmp_path / "results", "Ablations")
    assert set(at.dataframe[0].value["verdict"]) == {"baseline", "better", "equivalent"}


def test_the_charts_colour_what_the_verdict_says(monkeypatch, tmp_path):
    """Equivalent blue, undecided grey (the report's figure's colours), in both charts, the
    region of practical equivalence shaded; the table has the columns that explain them."""
    given = {"activation-leaky_relu": "equivalent", "activation-elu": "undecided"}
    folder = write_ablation(tmp_path / "results" / "ablate-cnn", given=given, rounds=3)
    table = readers.read_ablation(folder, readers.read_json(folder / "config.json"))
    drawn = [ablations.ablation_chart(table, views.ablation_folds(table)).to_dict(),
             ablations.delta_chart(table, 0.005).to_dict()]
    at = open_app(monkeypatch, tmp_path / "results", "Ablations")
    shown = [json.loads(c.proto.spec) for c in charts(at)]
    assert len(shown) == 2
    for spec in [*drawn, *shown]:
        scale = next(layer["encoding"]["color"]["scale"] for layer in spec["layer"]
                     if "color" in layer.get("encoding", {}))
        colour = dict(zip(scale["domain"], scale["range"], strict=True))
        assert hue(colour["equivalent"]) == "blue" and hue(colour["undecided"]) == "grey"
        assert hue(colour["better"]) == "green" and hue(colour["worse"]) == "red"
    for spec in drawn:
        rows = {row["label"]: row["verdict"] for data in spec["datasets"].values()
                for row in data if "label" in row and "verdict" in row}
        assert rows["leaky_relu"] == "equivalent" and rows["elu"] == "undecided"
    band = drawn[1]["layer"][0]
    assert band["mark"]["type"] == "rect" and hue(band["mark"]["color"]) == "blue"
    assert {row["low"] for data in drawn[1]["datasets"].values() for row in data
            if "what" in row} == {-0.005}
    columns = at.dataframe[0].proto.column_order
    assert {"verdict", "smallest_detectable", "p_equivalence_adjusted", "rope", "rounds"} <= set(
        columns)
    caption = texts(at)
    assert "**equivalent**" in caption and "**undecided**" in caption and "±0.005" in caption
    assert "up to 3 rounds" in caption and "within noise" not in caption


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
    at = open_app(monkeypatch, folder, "Runs", pilots=True)
    calls = []
    real_scan = readers.scan
    monkeypatch.setattr(readers, "scan", lambda root: calls.append(root) or real_scan(root))
    at.run()  # cached: nothing changed on disk
    assert calls == []
    assert len(at.dataframe[0].value) == 300
