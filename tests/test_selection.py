"""The one rule the report and the app share (benchmark/selection.py): each architecture's and
preset's main run and main ablation, a real search first; pilots, repeats, variants, collapsed
and unfinished runs and tests set apart, each with why; and claims judged on the main results
only (benchmark/claims.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from benchmark import claims, readers, results, selection

pytestmark = pytest.mark.any_backend  # reads tables only


def run(run_id, arch="mlp", preset="best", n_train=99707, folds=3, epochs=4, **extra):
    """A runs-table row as readers.scan gives it (the columns the rule reads)."""
    return {"run_id": run_id, "arch": arch, "preset": preset, "overrides": "{}",
            "status": "complete", "collapsed": "", "official": False, "n_train": n_train,
            "folds": folds, "repeats": 1, "folds_done": folds, "epochs": epochs, "limit": None,
            "precision": "float32", "seed": 0, "created": "2026-11-30T00:00:00+00:00",
            "digest": run_id, "data": f"bymerge, not official ({n_train:,} / 16,616)",
            "data_sha256": "bymerge", "cv_mean": 0.8, "cv_std": 0.01, "test_accuracy": 0.8,
            "run_dir": "", **extra}


def catalog(tmp_path, runs=(), ablations=(), searches=(), best_parts=()) -> readers.Catalog:
    """An annotated catalog of these rows; `best_parts` are a study's `best` parts."""
    studies = []
    if best_parts:
        (tmp_path / "study-x").mkdir(exist_ok=True)
        pd.DataFrame({"part": ["best"] * len(best_parts), "run_id": list(best_parts)}).to_csv(
            tmp_path / "study-x" / "study.csv", index=False)
        studies = [{"id": "study-x"}]
    found = readers.Catalog(root=str(tmp_path), exists=True,
                            runs=pd.DataFrame([run(**r) if "run_id" not in r else r
                                               for r in runs]),
                            ablations=list(ablations), searches=list(searches), studies=studies)
    return selection.annotate(found)


def roles(annotated: readers.Catalog) -> dict[str, str]:
    return dict(zip(annotated.runs["run_id"], annotated.runs["role"], strict=True))


def test_the_main_run_is_the_largest_budget_on_the_largest_data(tmp_path):
    found = catalog(tmp_path, runs=[
        run("small-data-long", n_train=10_000, epochs=40),
        run("full-short", folds=2, epochs=3),
        run("full-long", folds=3, epochs=4),
        run("full-long-again", folds=3, epochs=4, created="2026-12-01T00:00:00+00:00"),
        run("collapsed-bigger", epochs=20, collapsed=results.INFERENCE_MODE),
        run("variant-bigger", epochs=20, overrides=json.dumps({"init": "keras"})),
        run("running-bigger", epochs=20, status="running", folds_done=1),
        run("memory-test-bigger", epochs=20),
        run("baseline", preset="baseline", folds=2, epochs=3),
    ])
    assert roles(found) == {
        "full-long-again": "main", "baseline": "main", "full-long": "repeat",
        "full-short": "pilot", "small-data-long": "pilot", "collapsed-bigger": "collapsed",
        "variant-bigger": "variant", "running-bigger": "incomplete",
        "memory-test-bigger": "test"}
    runs = found.runs.set_index("run_id")
    assert runs.loc["full-short", "why"] == "a smaller budget than the main run, `full-long-again`"
    assert runs.loc["small-data-long", "why"] == "less data than the main run, `full-long-again`"
    assert runs.loc["collapsed-bigger", "why"] == results.INFERENCE_MODE
    assert runs.loc["variant-bigger", "why"] == "--set init=keras"
    assert runs.loc["running-bigger", "why"] == "running: 1 of 3 folds"
    # Main runs first, in the registry's order of presets; the others after them.
    assert list(found.runs["run_id"][:2]) == ["baseline", "full-long-again"]
    main = selection.main_runs(found)
    assert list(zip(main["for_preset"], main["run_id"], strict=True)) == [
        ("baseline", "baseline"), ("best", "full-long-again")]


def test_a_tie_goes_to_a_studys_part_and_its_best_part_stands_for_best(tmp_path):
    """The ResNet's best preset is its baseline: the study's `best` part is a baseline run."""
    found = catalog(tmp_path, runs=[
        run("resnet-baseline", arch="resnet", preset="baseline"),
        run("resnet-best-newer", arch="resnet", created="2026-12-01T00:00:00+00:00"),
    ], best_parts=["resnet-baseline"])
    assert roles(found) == {"resnet-baseline": "main", "resnet-best-newer": "repeat"}
    assert selection.main_run(found, "resnet", "best")["run_id"] == "resnet-baseline"
    assert found.runs.set_index("run_id").loc["resnet-baseline", "main_for"] == "baseline, best"


def test_an_architecture_with_only_pilots_and_collapsed_runs_has_no_main_run(tmp_path):
    found = catalog(tmp_path, runs=[
        run("resnet-pilot", arch="resnet", n_train=2000, collapsed=results.INFERENCE_MODE),
        run("resnet-stuck", arch="resnet", collapsed=results.DID_NOT_LEARN)])
    assert selection.main_run(found, "resnet", "best") is None
    assert selection.main_runs(found).empty


@pytest.mark.parametrize("name, test", [
    ("memory-mlp-20-trials-jax-cleared", True), ("trial-time-cnn", True),
    ("mlp-best-smoke-test", True), ("tests_run", True), ("tune-mlp-random-jax-64e92dd3", False),
    ("contest-mlp", False), ("mlp-best-tensorflow-fused-bn-auto", False)])
def test_tests_of_the_suite_are_known_by_name(name, test):
    assert selection.is_test(name) == test


def test_the_app_opens_on_a_real_search_never_a_memory_test(tmp_path):
    searches = [{"id": "memory-mlp-20-trials-jax-cleared", "created": "2026-11-25T12:00"},
                {"id": "tune-mlp-random-jax-64e92dd3", "created": "2026-11-25T11:00"},
                {"id": "tune-mlp-random-torch-64e92dd3", "created": "2026-11-25T11:30"},
                {"id": "trial-time-cnn", "created": "2026-11-25T13:00"}]
    found = catalog(tmp_path, searches=searches)
    assert [s["id"] for s in found.searches] == [
        "tune-mlp-random-torch-64e92dd3", "tune-mlp-random-jax-64e92dd3", "trial-time-cnn",
        "memory-mlp-20-trials-jax-cleared"]
    assert [s["role"] for s in found.searches] == ["main", "main", "test", "test"]


def test_a_search_of_one_or_two_epochs_a_trial_is_a_test(tmp_path):
    """The committed 1-epoch searches of the sample check that searching works on every
    backend; the Tuning page opens on a real search instead and shows them as tests."""
    searches = [{"id": "tune-mlp-random-jax-64e92dd3", "created": "2026-11-25T11:00",
                 "epochs": 1},
                {"id": "tune-mlp-bayesian-jax-0a1b2c3d", "created": "2026-11-20T11:00",
                 "epochs": 10}]
    found = catalog(tmp_path, searches=searches)
    assert [(s["id"], s["role"]) for s in found.searches] == [
        ("tune-mlp-bayesian-jax-0a1b2c3d", "main"), ("tune-mlp-random-jax-64e92dd3", "test")]
    assert found.searches[1]["why"] == "a test of the suite (1 epoch(s) per fold)"


def ablation(ablation_id, n_train=99707, epochs=4, collapsed="", arch="cnn", **extra):
    return {"id": ablation_id, "arch": arch, "official": False, "n_train": n_train, "folds": 3,
            "repeats": 1, "epochs": epochs, "arms": 14, "baseline_folds": 3,
            "baseline_collapsed": collapsed, "data": f"bymerge ({n_train})",
            "created": "2026-11-30", **extra}


def test_the_main_ablation_has_a_baseline_that_learned(tmp_path):
    found = catalog(tmp_path, ablations=[
        ablation("pilot", n_train=4000), ablation("main"),
        ablation("collapsed-bigger", epochs=20, collapsed=results.INFERENCE_MODE),
        ablation("resnet-pilot", arch="resnet", n_train=2000,
                 collapsed=results.INFERENCE_MODE),
        ablation("just-started", epochs=30, baseline_folds=0)])
    assert {a["id"]: a["role"] for a in found.ablations} == {
        "main": "main", "pilot": "pilot", "collapsed-bigger": "collapsed",
        "resnet-pilot": "collapsed", "just-started": "incomplete"}
    assert found.ablations[0]["id"] == "main"
    assert selection.main_ablation(found, "cnn")["id"] == "main"
    assert selection.main_ablation(found, "resnet") is None
    why = {a["id"]: a["why"] for a in found.ablations}
    assert why["resnet-pilot"] == "its baseline collapsed (inference mode)"


def test_collapsed_and_pilot_results_never_enter_a_claim(tmp_path):
    """The ResNet has a collapsed run and a pilot ablation whose baseline collapsed: its claims
    are "not run here", and the summary says why in a sentence."""
    found = catalog(tmp_path, runs=[
        run("resnet-collapsed", arch="resnet", collapsed=results.INFERENCE_MODE),
        run("resnet-running", arch="resnet", status="running", folds_done=1)],
        ablations=[ablation("ablate-resnet", arch="resnet", n_train=2000,
                            collapsed=results.INFERENCE_MODE)])
    judged = claims.check(found)
    resnet = [c for c in judged if "ResNet" in c["claim"]]
    assert resnet and all(c["verdict"] == claims.NOT_RUN for c in resnet)
    summary = claims.summarise(judged, found)
    assert summary.counts[claims.NOT_RUN] == len(judged)  # nothing else ran either
    assert summary.lines.empty
    mine = sum(c["_arch"] == "resnet" for c in judged)  # CNN < ResNet counts for the CNN here
    assert f"the {mine} claims about the ResNet" in summary.not_run
    assert "1 collapsed (inference mode)" in summary.not_run
    assert "`resnet-running`, running: 1 of 3 folds" in summary.not_run
    assert "`ablate-resnet`: its baseline collapsed (inference mode)" in summary.not_run
