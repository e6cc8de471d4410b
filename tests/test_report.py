"""`emnist-bench report`: REPORT.md and its figures, from a results folder the suite wrote."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer

from benchmark import claims, cli, readers, results, selection, verdicts, views
from benchmark.report import figures, sections
from tests.app_results import (  # noqa: F401  (the shared fixture)
    add_pilots,
    app_results,
    write_ablation,
)

# Reads files or drives the app: the same on every backend, so CI runs it once.
pytestmark = pytest.mark.any_backend


@pytest.fixture(scope="module")
def reported(app_results, tmp_path_factory):  # noqa: F811
    """A copy of the shared results folder with REPORT.md written into it."""
    root = tmp_path_factory.mktemp("report") / "results"
    shutil.copytree(app_results, root)
    assert cli.main(["report", "--results-dir", str(root)]) == 0
    return root


def claims_table(root) -> pd.DataFrame:
    text = (root / "REPORT.md").read_text()
    section = text.split("## Claims of the study, checked")[1].split("\n## ")[0]
    rows = [re.split(r"(?<!\\)\|", line.strip("|")) for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| claim")]
    return pd.DataFrame([[c.strip().replace("\\|", "|") for c in r] for r in rows],
                        columns=["claim", "study", "ours", "data", "verdict"])


def test_report_links_only_figures_it_wrote(reported):
    text = (reported / "REPORT.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert {"figures/presets.png", "figures/confusions-mlp.png"} <= set(links)
    ablations = [p.parent.name for p in reported.glob("*/ablations.csv")]
    assert len(ablations) == 2
    assert {f"figures/{name}.png" for name in ablations} <= set(links)
    for link in links:
        assert (reported / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link


def test_report_numbers_come_from_the_stored_runs(reported):
    text = (reported / "REPORT.md").read_text()
    runs = pd.read_csv(reported / "runs.csv").set_index("run_id")
    for run_id in ("mlp-best", "mlp-baseline"):
        row = runs.loc[run_id]
        assert f"{row['cv_mean']:.4f} ± {row['cv_std']:.4f}" in text
        assert f"{row['test_accuracy']:.4f}" in text
    assert "study-mlp-" in text  # the study's parts and wall times


def test_claims_are_judged_only_where_this_data_can_judge_them(reported):
    table = claims_table(reported).set_index("claim")
    # Synthetic data is not the official Balanced split: the study's absolute numbers are
    # not compared, and the data is named in every row.
    assert table.loc["MLP best reaches 0.8614 test accuracy", "verdict"].startswith("not comparable")
    assert (table["data"].str.contains("not official") | (table["verdict"] == "not run here")).all()
    # The ablations ran the MLP's activation: those claims get a verdict from the paired
    # test; factors nobody ran say so.
    # (141 validation images per fold: the same difference on both folds happens.)
    judged = {"agrees", "contradicts", "equivalent", "undecided", "no difference", "not tested"}
    assert claims.verdict_kind(table.loc["MLP: ELU beats ReLU", "verdict"]) in judged
    assert claims.verdict_kind(table.loc["MLP: ELU beats LeakyReLU", "verdict"]) in judged
    assert table.loc["MLP: Batch norm helps", "verdict"] == "not run here"
    assert table.loc["CNN: Adam beats SGD by far", "verdict"] == "not run here"


def test_report_without_a_results_folder_is_one_line(capsys, tmp_path):
    code = cli.main(["report", "--results-dir", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "emnist-bench study" in err


@pytest.mark.any_backend
def test_precision_parity_pairs_runs_that_differ_only_in_precision():
    runs = pd.DataFrame({"run_id": ["a", "b", "c", "d"], "setup": ["s1", "s1", "s2", "s2"],
                         "precision": ["float32", "mixed_bfloat16", "float32", "float32"]})
    assert views.precision_groups(runs)["run_id"].tolist() == ["a", "b"]


def write_profile(root, arch, precision, rows):
    """A profiles/<arch>-<precision>.csv as `emnist-bench profile` writes it (the columns the
    readers use)."""
    table = pd.DataFrame(rows, columns=["side", "operator", "group", "ms_per_step",
                                        "wall_ms_per_step"])
    table = table.assign(arch=arch, precision=precision, created="2026-11-26T00:00:00+00:00",
                         code_version="abc1234")
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    table.to_csv(root / "profiles" / f"{arch}-{precision}.csv", index=False)


def test_profiles_are_summed_per_group_into_shares_and_drawn(tmp_path):
    write_profile(tmp_path, "cnn", "mixed_bfloat16", [
        ("plain PyTorch", "aten::convolution", "convolution", 30.0, 50.0),
        ("plain PyTorch", "aten::copy_", "elementwise and casts", 10.0, 50.0),
        ("keras (tensorflow)", "Conv2D", "convolution", 20.0, 90.0),
        ("keras (tensorflow)", "conv_1/Mul", "elementwise and casts", 15.0, 90.0),
        ("keras (tensorflow)", "conv_2/Mul", "elementwise and casts", 25.0, 90.0)])
    groups = views.profile_groups(tmp_path).set_index(["side", "group"])
    assert groups.loc[("keras (tensorflow)", "elementwise and casts"), "ms_per_step"] == 40.0
    assert groups.loc[("keras (tensorflow)", "elementwise and casts"), "share"] == pytest.approx(
        40 / 60)
    assert groups.loc[("plain PyTorch", "convolution"), "share"] == pytest.approx(0.75)
    assert groups.loc[("plain PyTorch", "convolution"), "wall_ms_per_step"] == 50.0

    section = sections.profile_section(tmp_path)
    assert "| cnn | mixed_bfloat16 | elementwise and casts | 67% | 25% |" in section
    assert "(figures/profiles.png)" in section
    assert (tmp_path / "figures" / "profiles.png").read_bytes()[:4] == b"\x89PNG"
    assert views.profile_groups(tmp_path / "nothing-here").empty


def test_the_throughput_table_names_the_machine_of_each_row_when_they_differ(tmp_path):
    """Two machine kinds here share the model name "AMD EPYC"; the recorded name carries the
    vector extension, and figures from two machines are never shown as one machine's."""
    from benchmark import bench

    row = {column: None for column in bench.COLUMNS}
    rows = [{**row, "bench_id": f"b{i}", "created": f"2026-11-30T0{i}:00:00+00:00",
             "arch": "cnn", "precision": precision, "backend": "torch", "batch_size": 128,
             "images_per_second": 800.0 + i, "cpu": cpu, "cores": 2}
            for i, (precision, cpu) in enumerate([("float32", "AMD EPYC (AVX2)"),
                                                  ("mixed_bfloat16", "AMD EPYC (AVX-512 BF16)")])]
    pd.DataFrame(rows, columns=bench.COLUMNS).to_csv(tmp_path / "bench.csv", index=False)
    text = sections.bench_section(tmp_path)
    assert "on the machine in each row's `cpu`" in text
    assert "| AMD EPYC (AVX2), 2 cores |" in text and "| AMD EPYC (AVX-512 BF16), 2 cores |" in text
    pd.DataFrame(rows[:1], columns=bench.COLUMNS).to_csv(tmp_path / "bench.csv", index=False)
    text = sections.bench_section(tmp_path)
    assert "on AMD EPYC (AVX2), 2 cores;" in text and "| AMD EPYC" not in text


def write_arm(ablation, arm, accuracies, epochs, schedule="cosine"):
    """An arm folder as `emnist-bench ablate` writes it: its folds and its training config."""
    folder = ablation / "arms" / arm
    folder.mkdir(parents=True)
    pd.DataFrame({"fold": range(1, len(accuracies) + 1), "val_accuracy": accuracies}).to_csv(
        folder / "folds.csv", index=False)
    training = {"schedule": schedule, "epochs": epochs, "step_size": 10}
    (folder / "config.json").write_text(json.dumps({"run": {"training": training}}))


@pytest.mark.parametrize("epochs", [4, 12])
def test_a_steplr_arm_that_never_stepped_is_named_beside_its_verdict(tmp_path, epochs):
    """StepLR(step 10) over 4 epochs trains at a constant rate: the claim "cosine beats StepLR"
    says so; over 12 epochs it decayed once and nothing is added."""
    folder = tmp_path / "ablate-cnn"
    write_arm(folder, "baseline", [0.80, 0.81, 0.82], epochs)
    write_arm(folder, "schedule-step", [0.78, 0.80, 0.79], epochs, schedule="step")
    ablation = {"id": "ablate-cnn", "path": folder, "notes": claims.arm_notes(folder),
                "config": {"base": {"folds": 3, "training": {"epochs": epochs}}}}
    judged = claims.judge(claims.ablation_claims({"cnn": [ablation]}))
    verdict = next(c["verdict"] for c in judged if c["claim"] == "CNN: Cosine annealing beats StepLR")
    idle = f"schedule-step did not step: StepLR (step 10) never decays within {epochs} epochs"
    assert (idle in verdict) == (epochs == 4)
    assert verdict.startswith("undecided (could detect |Δ| ≥ ")


def write_run(root, run_id, arch, accuracies, n_train, epochs, preset="best", **extra):
    """A runs-table row (as readers.scan gives it) with its folds.csv on disk."""
    folder = root / run_id
    folder.mkdir(parents=True)
    pd.DataFrame({"fold": range(1, len(accuracies) + 1), "val_accuracy": accuracies}).to_csv(
        folder / "folds.csv", index=False)
    return {"run_id": run_id, "arch": arch, "preset": preset, "overrides": "{}",
            "status": "complete", "collapsed": "", "official": False, "n_train": n_train,
            "folds": len(accuracies), "repeats": 1, "folds_done": len(accuracies),
            "epochs": epochs, "limit": None, "precision": "float32", "seed": 0,
            "created": "2026-11-30", "digest": run_id, "data": f"bymerge ({n_train})",
            "run_dir": folder, **extra}


def test_architectures_are_judged_only_on_runs_with_the_same_data_and_budget(tmp_path):
    """MLP < CNN is tested on a pair of best-preset runs with the same data, folds and budget
    (the first such pair in the order of main runs), not on each one's main run; with no
    such pair it is shown as not comparable, untested."""
    mlp_study = write_run(tmp_path, "mlp-study-best", "mlp", [0.84] * 5, 99707, 20)
    cnn_study = write_run(tmp_path, "cnn-study-best", "cnn", [0.89, 0.90, 0.896], 99707, 4)
    mlp_small = write_run(tmp_path, "mlp-small", "mlp", [0.70, 0.71, 0.72], 10000, 4)
    cnn_small = write_run(tmp_path, "cnn-small", "cnn", [0.80, 0.81, 0.80], 10000, 4)
    mlp_matched = write_run(tmp_path, "mlp-matched", "mlp", [0.80, 0.81, 0.805], 99707, 4)

    def claim(*rows):
        found = selection.annotate(readers.Catalog(root=str(tmp_path), exists=True,
                                                   runs=pd.DataFrame(rows)))
        judged = claims.judge(claims.comparison_claims(found.runs))
        return next(c for c in judged if c["claim"] == "MLP < CNN (best presets)")

    judged = claim(mlp_study, cnn_study, mlp_small, cnn_small, mlp_matched)
    assert "`mlp-matched` vs `cnn-study-best`" in judged["data and budget"]
    assert "CV 0.8050 vs 0.8953 (Δ +0.0903); p " in judged["ours"]
    assert judged["verdict"].startswith("agrees")
    # A pair in which a run collapsed is not a comparison of architectures.
    collapsed = dict(mlp_matched, collapsed=results.INFERENCE_MODE)
    assert "`mlp-small` vs `cnn-small`" in claim(mlp_study, cnn_study, mlp_small, cnn_small,
                                                 collapsed)["data and budget"]
    # Only the 10,000-image pair matches: it is the one tested.
    assert "`mlp-small` vs `cnn-small`" in claim(mlp_study, cnn_study, mlp_small,
                                                 cnn_small)["data and budget"]
    # No pair matches: the main runs are shown, untested.
    unmatched = claim(mlp_study, cnn_study, mlp_small)
    assert unmatched["verdict"] == "not comparable (different data or budget)"
    assert "_judged" not in unmatched and "5 folds x 20 epochs / " in unmatched["data and budget"]
    # An architecture with no run that learned: not run here.
    assert claim(mlp_study, dict(cnn_study, collapsed=results.DID_NOT_LEARN))["verdict"] == (
        claims.NOT_RUN)
    # Runs that differ by the same amount on every fold leave no variance to test with.
    same = write_run(tmp_path, "cnn-same", "cnn", [0.90, 0.91, 0.905], 99707, 4)
    assert claim(mlp_matched, same)["verdict"].startswith("not tested (the same difference")


# ------------------------------------------------------------------------- the first screen


def section(text: str, title: str) -> str:
    """A `## title` section of REPORT.md, up to the next one."""
    return text.split(f"## {title}")[1].split("\n## ")[0]


def test_report_opens_on_the_summary_the_app_shows(reported):
    """REPORT.md's first screen: the verdict counts, one line per claim that ran (claim,
    verdict, our number, data and budget) and a sentence for what did not run, computed by
    claims.summarise, which the app's first page calls too."""
    text = (reported / "REPORT.md").read_text()
    assert text.splitlines()[4] == "## Summary"  # title, one line of provenance, the summary
    catalog = selection.annotate(readers.scan(reported))
    judged = claims.check(catalog)
    summary = claims.summarise(judged, catalog)
    top = section(text, "Summary")
    assert f"**{summary.headline()}.**" in top
    table = claims_table(reported)
    kinds = table["verdict"].map(claims.verdict_kind).value_counts().to_dict()
    assert summary.counts == {k: kinds[k] for k in summary.counts} and sum(kinds.values()) == (
        summary.total)
    ran = table[table["verdict"] != claims.NOT_RUN]
    lines = [line for line in top.splitlines() if line.startswith("| ") and "| claim |" not in line]
    assert len(lines) == len(ran) and ran["claim"].tolist() == [
        line.split(" | ")[0].removeprefix("| ") for line in lines]
    assert "**Not run here: the " in top and "about the CNN.** No CNN run is stored." in top
    assert "; p " not in top  # our number, without the p-values of the claims table


def test_no_pilot_or_collapsed_run_in_a_main_table(app_results, tmp_path):  # noqa: F811
    root = tmp_path / "results"
    shutil.copytree(app_results, root)
    add_pilots(root)
    assert cli.main(["report", "--results-dir", str(root)]) == 0
    text = (root / "REPORT.md").read_text()
    main, appendix = text.split("## Appendix: pilots, tests and collapsed runs")
    catalog = selection.annotate(readers.scan(root))
    runs = catalog.runs.set_index("run_id")
    assert runs.loc["mlp-best-collapsed", "collapsed"] == results.INFERENCE_MODE
    assert runs.loc["mlp-best-collapsed", "role"] == "collapsed"
    assert runs.loc["mlp-best-pilot", "role"] == "pilot"
    def named(name, part):  # the whole name, not the start of a longer one
        return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", part) is not None

    for name in ("mlp-best-pilot", "mlp-best-collapsed", "mlp-best", "mlp-baseline",
                 "memory-mlp-20-trials"):
        assert not named(name, main) and named(name, appendix), name
    for name in selection.main_runs(catalog)["run_id"]:
        assert named(name, section(text, "Baseline vs best: the main runs"))
    assert "collapsed: inference mode" in appendix
    # The data the main runs used, once; the pilot's 100 images are not listed as data.
    data = section(text, "Data")
    assert data.count("\n- **") == 1 and "282 training and 94 test images" in data
    assert "(100 / 94)" not in data


def test_report_on_an_empty_folder_says_it_drew_nothing(capsys, tmp_path):
    assert cli.main(["report", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "no figures" in out and "figures/" not in out
    assert not (tmp_path / "figures").exists()
    text = (tmp_path / "REPORT.md").read_text()
    assert text.splitlines()[4] == "## Summary" and "No MLP run is stored." in text
    # A chart an earlier report drew (a pilot's, say) goes once no report links it.
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "confusions-resnet.png").write_bytes(b"\x89PNG")
    assert cli.main(["report", "--results-dir", str(tmp_path)]) == 0
    assert not list((tmp_path / "figures").glob("*.png"))


# ------------------------------------------------------------------------- verdicts


def test_the_ablation_figure_colours_by_verdict_and_shades_the_rope(monkeypatch, tmp_path):
    """Better green, worse red, equivalent blue, undecided grey (verdicts.VERDICT_COLOURS, the
    app's too), the ROPE a band around 0, the legend and title saying what the colours mean."""
    table = pd.DataFrame({
        "baseline": [True, False, False, False, False], "factor": ["baseline", *"abcd"],
        "value": ["", "1", "2", "3", "4"], "delta": [0.0, 0.02, -0.02, 0.001, 0.004],
        "ci_low": [None, 0.01, -0.03, -0.002, -0.004], "ci_high": [None, 0.03, -0.01, 0.003, 0.012],
        "verdict": ["baseline", "better", "worse", "equivalent", "undecided"]})
    drawn = {}
    monkeypatch.setattr(figures, "save", lambda fig, root, name: drawn.setdefault("fig", fig))
    figures.ablation_figure(tmp_path, "cnn", "ablate-cnn", table, rope=0.004)
    ax = drawn["fig"].axes[0]
    bars = next(c for c in ax.containers if isinstance(c, BarContainer))
    colours = verdicts.VERDICT_COLOURS
    assert [to_hex(bar.get_facecolor()) for bar in bars] == [
        colours[k] for k in ("better", "worse", "equivalent", "undecided")]
    band = [p for p in ax.patches if p not in bars.patches]
    assert len(band) == 1 and band[0].get_x() == -0.004 and band[0].get_width() == 0.008
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [*verdicts.KINDS, "ROPE ±0.004"]
    assert "equivalent blue" in ax.get_title() and "undecided grey" in ax.get_title()


def test_an_ablation_table_states_its_verdicts_rope_and_rounds(tmp_path):
    """An undecided arm names the smallest difference it could have detected; the section
    explains the four verdicts with the ROPE used and, for an adaptive run, its cap and the
    rounds each arm used."""
    given = {"activation-leaky_relu": "equivalent", "activation-elu": "undecided"}
    folder = write_ablation(tmp_path / "ablate-cnn", given=given, rounds=3)
    found = {"id": "ablate-cnn", "path": folder, "notes": {},
             "config": readers.read_json(folder / "config.json")}
    text = sections.ablation_section(tmp_path, "cnn", found)
    assert "| undecided (could detect \\|Δ\\| ≥ 0.0073) |" in text  # a cell's | escaped
    assert "| equivalent (inside ±0.005) |" in text
    assert "ROPE: ±0.005" in text and "adaptive: up to 3 rounds of 3 folds" in text
    assert "| rounds |" in text and "**equivalent** when the equivalence test" in text
    assert "within noise" not in text and "real difference" not in text


def test_the_report_explains_the_four_verdicts(reported):
    """No prose says "within noise" or "real difference" any more; the claims say they take
    an ablation's verdict, so the claims table and the ablation tables agree."""
    text = (reported / "REPORT.md").read_text()
    assert "within noise" not in text and "real difference" not in text
    assert "takes that ablation's verdict" in text
    assert "family's other p-values as they are" in text and "TOST" in text
