"""The planner (benchmark/planner.py): the cheapest folds x repeats that would decide an open
claim, checked against numbers worked out by hand from t tables, and `emnist-bench plan` on a
tiny results folder written here (no training)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from benchmark import cli, paired, planner, readers, selection

pytestmark = pytest.mark.any_backend  # arithmetic and tables only


# ------------------------------------------------------------------------- the arithmetic


def test_a_claim_with_a_known_spread_gets_the_plan_worked_out_by_hand():
    """s_d 0.002, level 0.05, target 0.005, by hand (t(0.975, 2) = 4.3027, t(0.975, 3) =
    3.1824): 3 x 1 (2 trainings) detects 4.3027 x 0.002 sqrt(1/3 + 1/2) = 0.0079, too much;
    4 x 1 (3 trainings) detects 3.1824 x 0.002 sqrt(1/4 + 1/3) = 0.00486, enough; every other
    fit (3 x 2, 5 x 1, ...) trains at least 4 times the training split."""
    chosen = planner.cheapest(0.002, 0.005, 0.05)
    assert (chosen.folds, chosen.repeats) == (4, 1)
    assert chosen.detectable == pytest.approx(3.1824463 * 0.002 * math.sqrt(1 / 4 + 1 / 3))
    assert chosen.text == "4 folds x 1 repeat"
    # A tie on cost goes to the smaller detectable difference: at level 0.025, 5 x 1 and 3 x 2
    # both train 4 times; t(0.9875, 4) = 3.4954 gives 0.00406 for 5 x 1, t(0.9875, 5) = 3.1634
    # gives 0.00447 for 3 x 2 (4 x 1: t(0.9875, 3) = 4.1765, 0.00553, misses).
    s_d = float(pd.Series([0.002, -0.001, 0.002]).std())
    tie = planner.cheapest(s_d, 0.005, 0.025)
    assert (tie.folds, tie.repeats) == (5, 1)
    assert tie.detectable == pytest.approx(3.4954059 * s_d * math.sqrt(1 / 5 + 1 / 4))


def test_the_spread_is_read_back_from_the_corrected_standard_error():
    """s_d = se / sqrt(1/J + 1/(K - 1)) undoes paired.compare: it is the standard deviation
    of the fold differences, for one repeat or several."""
    base = pd.Series([0.80, 0.81, 0.82, 0.79, 0.80, 0.81], index=range(1, 7))
    diffs = pd.Series([0.004, 0.007, 0.001, 0.006, 0.002, 0.005], index=range(1, 7))
    result = paired.compare(base + diffs, base, folds_per_repeat=3)  # 3 folds x 2 repeats
    assert planner.spread(result, 3) == pytest.approx(diffs.std(ddof=1))
    assert planner.standard_error(diffs.std(ddof=1), 3, 2) == pytest.approx(result["se"])
    assert planner.spread({"se": None, "folds": 1}, 3) is None


def test_a_spread_whose_floor_is_above_the_target_is_reported_unreachable(tmp_path):
    """With s_d 0.02 even 10 folds x 10 repeats detect only 1.984 x 0.02 sqrt(1/100 + 1/9) =
    0.0138 > 0.005: the 1/(K - 1) term does not shrink with repeats."""
    assert planner.cheapest(0.02, 0.005, 0.05) is None
    catalog = selection.annotate(readers.scan(tmp_path))
    k0 = 3
    claim = {"claim": "CNN: something", "study": "qualitative", "verdict": "undecided (...)",
             "_section": "ablation", "_arch": "cnn", "_folds_per_repeat": k0,
             "_study_delta": None,
             "_result": {"se": 0.02 * math.sqrt(1 / 3 + 1 / (k0 - 1)), "folds": 3,
                         "level": 0.05, "rope": 0.005}}
    row = planner.plan(catalog, judged=[claim]).iloc[0]
    assert row["plan"].startswith(planner.UNREACHABLE) and pd.isna(row["folds"])
    assert row["s_d"] == pytest.approx(0.02)
    assert row["smallest_detectable"] == pytest.approx(
        1.9842169 * 0.02 * math.sqrt(1 / 100 + 1 / 9))
    assert pd.isna(row["cpu_hours"]) and row["target_why"].startswith("the rope")


def test_the_cost_scales_with_k_minus_one_over_k_times_k_times_r():
    """A plan trains each side K x R folds of (K - 1)/K of the training split."""
    side = planner.Setup("cnn", n_train=3000, epochs=2, cpu=100.0, cpu_from="", gpu=None,
                         gpu_from=planner.NO_GPU)
    hours = side.hours(planner.Choice(5, 2, 0.0))
    assert hours == pytest.approx(5 * 2 * (4 / 5) * 3000 * 2 / 100 / 3600)
    assert side.hours(planner.Choice(10, 3, 0.0)) / side.hours(planner.Choice(3, 1, 0.0)) == (
        pytest.approx((10 * 3 * 9 / 10) / (3 * 1 * 2 / 3)))
    assert side.hours(planner.Choice(5, 2, 0.0), on_gpu=True) is None


@pytest.mark.parametrize(("study", "target", "why"), [
    (0.0178, 0.0178, "the study's Δ"),
    (0.0011, 0.005, "the rope (the study's Δ 0.0011 is inside it)"),
    (None, 0.005, "the rope (the study states no difference)")])
def test_the_target_is_the_studys_difference_unless_it_is_inside_the_rope(study, target, why):
    assert planner.target(study, 0.005) == (pytest.approx(target), why)


# ------------------------------------------------------------------------- the command


def write_arm(ablation, arm, accuracies, seconds=40.0):
    """An arm's folds.csv as `ablate` writes it: 3-fold CV of 3,000 images, 2 epochs."""
    folder = ablation / "arms" / arm
    folder.mkdir(parents=True)
    pd.DataFrame({"fold": [1, 2, 3], "val_accuracy": accuracies, "best_epoch": 2,
                  "epochs_run": 2, "train_size": 2000, "val_size": 1000,
                  "seconds": seconds}).to_csv(folder / "folds.csv", index=False)


def write_results(root, gpu: bool):
    """A CNN ablation of two arms, both undecided, and a bench.csv (with a GPU row)."""
    ablation = root / "ablate-cnn-torch-tiny"
    write_arm(ablation, "baseline", [0.80, 0.81, 0.82])
    # Differences 0.005, 0.007, 0.003 (s_d 0.002) and 0.002, -0.001, 0.002 (s_d 0.00173).
    write_arm(ablation, "channels-32.64.128", [0.805, 0.817, 0.823])
    write_arm(ablation, "activation-leaky_relu", [0.802, 0.809, 0.822])
    pd.DataFrame({"factor": ["baseline", "channels", "activation"],
                  "value": ["", "32,64,128", "leaky_relu"], "baseline": [True, False, False],
                  "arm": ["baseline", "channels-32.64.128", "activation-leaky_relu"]}).to_csv(
        ablation / "ablations.csv", index=False)
    (ablation / "config.json").write_text(json.dumps({
        "kind": "ablate", "arch": "cnn", "backend": "torch", "created": "2026-12-01",
        "data": {"split": "bymerge", "n_train_used": 3000},
        "base": {"folds": 3, "repeats": 1, "training": {"epochs": 2}}}))
    rows = [{"created": "2026-12-01", "arch": "cnn", "backend": "torch",
             "precision": "float32", "batch_size": 128, "images_per_second": 50.0,
             "cpu": "AMD EPYC", "accelerator": "none"}]
    if gpu:  # older than the CPU row of the same keys: it must not hide it, nor it this
        rows.insert(0, {**rows[0], "created": "2026-11-30", "images_per_second": 10_000.0,
                        "accelerator": "NVIDIA H100"})
    pd.DataFrame(rows).to_csv(root / "bench.csv", index=False)


@pytest.mark.parametrize("gpu", [True, False])
def test_plan_on_a_tiny_results_folder(tmp_path, capsys, gpu):
    write_results(tmp_path, gpu)
    table = planner.plan(selection.annotate(readers.scan(tmp_path)))
    rows = table.set_index("claim")
    # "LeakyReLU beats ReLU": its own s_d 0.00173, at level 0.025 (two arms, both p > 0.05,
    # Benjamini-Hochberg), to the rope: 5 x 1, as worked out by hand above.
    leaky = rows.loc["CNN: LeakyReLU beats ReLU"]
    assert leaky["verdict"].startswith("undecided") and leaky["budget_now"] == "3 folds x 1 repeat"
    assert leaky["s_d_from"] == "its own 3 fold differences"
    assert leaky["level"] == pytest.approx(0.025)
    assert (leaky["folds"], leaky["repeats"]) == (5, 1)
    # Two sides x 5 folds x 4/5 of 3,000 images x 2 epochs at the 100 images/s the folds took.
    assert leaky["cpu_hours"] == pytest.approx(2 * 5 * (4 / 5) * 3000 * 2 / 100 / 3600)
    assert "100 images/s (the fold seconds of `ablate-cnn-torch-tiny`, torch)" in leaky["cpu_from"]
    if gpu:
        assert leaky["gpu_hours"] == pytest.approx(2 * 4 * 3000 * 2 / 10_000 / 3600)
        assert "NVIDIA H100" in leaky["gpu_from"]
    else:
        assert pd.isna(leaky["gpu_hours"]) and leaky["gpu_from"] == planner.NO_GPU
    # Unreachable at its spread: the hours are what 10 folds x 10 repeats would cost, both sides.
    floor = planner.plan_row(planner.Stored(selection.annotate(readers.scan(tmp_path))), {
        "claim": "CNN: something", "study": "qualitative", "verdict": "undecided (...)",
        "_section": "ablation", "_arch": "cnn", "_folds_per_repeat": 3, "_study_delta": None,
        "_result": {"se": 0.02 * math.sqrt(1 / 3 + 1 / 2), "folds": 3, "level": 0.05}})
    assert floor["plan"].startswith(planner.UNREACHABLE + " (10 folds x 10 repeats")
    assert floor["cpu_hours"] == pytest.approx(2 * 100 * (9 / 10) * 3000 * 2 / 100 / 3600)
    # The channels claim: the study's 0.0178 is above the rope, and the run already detects it.
    channels = rows.loc["CNN: Three conv layers [32,64,128] beat two [32,64]"]
    assert channels["target"] == pytest.approx(0.0178)
    assert channels["plan"] == "3 folds x 1 repeat" + planner.WITHIN
    # A claim whose arms did not run: the median of the ablation's two arms' s_d, at a
    # Bonferroni level over the arms an ablation of all the CNN's claims would run.
    elu = rows.loc["CNN: Adam beats SGD by far"]
    assert elu["verdict"] == "not run here"
    assert elu["s_d"] == pytest.approx((0.002 + float(pd.Series([0.002, -0.001, 0.002]).std()))
                                       / 2)
    assert "main ablation, `ablate-cnn-torch-tiny`" in elu["s_d_from"]
    assert "(Bonferroni guess)" in elu["level_from"]
    # The MLP < CNN ranking, not run: s_d from every main ablation, its cost from bench.csv
    # where there is one (the CNN's), else said.
    ranking = rows.loc["MLP < CNN (best presets)"]
    assert ranking["s_d_from"] == "median of 2 arms of every main ablation"
    assert "MLP: no fold seconds or bench.csv row" in ranking["cpu_from"]
    # Decided claims and the architectures' accuracies are not planned.
    assert not any(c.endswith("test accuracy") for c in table["claim"])

    text = planner.markdown(table)
    assert "| CNN: LeakyReLU beats ReLU | undecided (could detect \\|Δ\\| ≥" in text
    assert "assumed not to change with K or R" in text

    assert cli.main(["plan", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("CNN: LeakyReLU beats ReLU"))
    assert " 5 x 1 " in line and " own " in line
    assert (planner.NO_GPU in out) != gpu
    if not gpu:
        return
    # A wider rope asks for less.
    assert cli.main(["plan", "--results-dir", str(tmp_path), "--rope", "0.02"]) == 0
    wider = capsys.readouterr().out
    line = next(ln for ln in wider.splitlines() if ln.startswith("CNN: LeakyReLU beats ReLU"))
    assert " 5 x 1 " not in line


def test_plan_without_a_results_folder_is_one_line(capsys, tmp_path):
    assert cli.main(["plan", "--results-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no results folder at" in err
