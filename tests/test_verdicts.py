"""The four verdicts (benchmark/verdicts.py): the corrected test checked against baycomp's
Bayesian correlated t-test (Benavoli et al. 2017), which rests on the same Nadeau-Bengio
variance, and the rules that turn the p-values into better, worse, equivalent, undecided."""

import baycomp
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark import paired, published, verdicts

pytestmark = pytest.mark.any_backend  # statistics only: the same on every backend


def folds(values) -> pd.Series:
    return pd.Series(values, index=range(1, len(values) + 1), dtype=float)


@pytest.mark.parametrize("k,repeats,seed", [(3, 1, 0), (5, 1, 1), (5, 3, 2), (10, 2, 3)])
def test_the_corrected_test_matches_baycomps_correlated_t_test(k, repeats, seed):
    rng = np.random.default_rng(seed)
    base = 0.88 + 0.004 * rng.standard_normal(k * repeats)
    arm = base + 0.002 + 0.003 * rng.standard_normal(k * repeats)
    ours = paired.compare(folds(arm), folds(base), k)
    mean, var, df = baycomp.CorrelatedTTest.compute_statistics(base, arm, runs=repeats)
    assert ours["delta"] == pytest.approx(mean)
    assert ours["se"] == pytest.approx(np.sqrt(var))
    assert ours["df"] == df
    # Under its flat prior, the posterior's tail beyond 0 is the one-sided p-value ...
    left, right = baycomp.CorrelatedTTest.probs(base, arm, rope=0, runs=repeats)
    assert ours["p_value"] == pytest.approx(2 * min(left, right), rel=1e-6)
    # ... and its mass beyond either edge of the rope is the equivalence test's (TOST) p.
    left, _, right = baycomp.CorrelatedTTest.probs(base, arm, rope=verdicts.ROPE, runs=repeats)
    tost = verdicts.p_equivalence(ours["delta"], ours["se"], ours["df"], verdicts.ROPE)
    assert tost == pytest.approx(max(left, right), rel=1e-6)


def test_four_verdicts():
    base = folds([0.880, 0.884, 0.878, 0.882, 0.881])
    tests = [paired.compare(base + d, base, 5) for d in (
        folds([0.030, 0.028, 0.033, 0.031, 0.029]),     # far above: better
        folds([-0.030, -0.028, -0.033, -0.031, -0.029]),  # far below: worse
        folds([0.0002, -0.0001, 0.0001, 0.0, -0.0002]),  # tiny and tight: equivalent
        folds([0.010, -0.012, 0.004, -0.008, 0.011]),    # loose: undecided
    )]
    judged = verdicts.decide(tests)
    assert [j["verdict"] for j in judged] == ["better", "worse", "equivalent", "undecided"]
    undecided = judged[3]
    assert undecided["smallest_detectable"] > abs(undecided["delta"])
    assert "could detect" in verdicts.text(undecided)


def test_the_smallest_detectable_difference_is_where_the_verdict_would_have_changed():
    """A difference just above the stated smallest detectable one, with the same spread and
    the same family, is decided; one just below is not."""
    rng = np.random.default_rng(4)
    base = folds(0.88 + 0.003 * rng.standard_normal(5))
    noise = folds(0.004 * rng.standard_normal(5))
    noise -= noise.mean()
    others = [paired.compare(base + 0.002 + folds(0.004 * rng.standard_normal(5)), base, 5)
              for _ in range(4)]
    mdd = verdicts.decide([paired.compare(base + noise, base, 5), *others],
                          rope=1e-6)[0]["smallest_detectable"]
    for factor, expected in ((1.02, "better"), (0.98, "undecided")):
        test = paired.compare(base + noise + factor * mdd, base, 5)
        assert verdicts.decide([test, *others], rope=1e-6)[0]["verdict"] == expected


def test_looks_split_the_error_rate():
    """An adaptive run's looks each test at alpha / looks: a comparison decided with one look
    can be undecided with four."""
    base = folds([0.880, 0.884, 0.878, 0.882, 0.881])
    test = paired.compare(base + folds([0.012, 0.004, 0.010, 0.003, 0.011]), base, 5)
    assert 0.05 / 4 < test["p_value"] < 0.05
    assert verdicts.decide([test])[0]["verdict"] == "better"
    assert verdicts.decide([test], looks=4)[0]["verdict"] == "undecided"


def test_level_is_the_benjamini_hochberg_boundary():
    rng = np.random.default_rng(5)
    for _ in range(200):
        others = list(rng.uniform(0, 0.2, rng.integers(0, 8)))
        boundary = verdicts.level(others)
        assert paired.adjust([*others, boundary * 0.9999])[-1] < verdicts.ALPHA
        assert paired.adjust([*others, boundary * 1.0001])[-1] >= verdicts.ALPHA * 0.9999


def test_no_variance_is_no_test():
    base = folds([0.88, 0.89, 0.87])
    assert verdicts.decide([paired.compare(base, base, 3)])[0]["verdict"] == verdicts.NO_TEST


def test_tost_is_the_interval_inside_the_rope():
    """p_equivalence < alpha exactly when the 1 - 2 alpha interval lies inside the rope."""
    for delta, se in ((0.001, 0.001), (0.003, 0.001), (0.0, 0.0026), (0.0, 0.003)):
        df = 4
        half = stats.t.ppf(1 - verdicts.ALPHA, df) * se
        inside = abs(delta) + half < verdicts.ROPE
        assert (verdicts.p_equivalence(delta, se, df, verdicts.ROPE) < verdicts.ALPHA) == inside


def test_the_study_differences_read_from_its_text():
    assert published.study_difference("0.8963 vs 0.8952") == pytest.approx(0.0011)
    assert published.study_difference("qualitative") is None
    assert published.study_difference("0.8963 > ReLU") is None


def test_a_claim_about_an_arm_and_its_baseline_has_the_ablation_tables_verdict():
    """One verdict per comparison: on the committed results, every claim that compares an arm
    with its ablation's baseline carries the verdict (and delta) of that arm's row in the
    ablation's ablations.csv, read the way the claim reads it."""
    from pathlib import Path

    from benchmark import claims, readers, selection

    root = Path(__file__).resolve().parents[1] / "results"
    judged = claims.check(selection.annotate(readers.scan(root)))
    compared = 0
    for claim in judged:
        if "_ablation" not in claim or "_result" not in claim:
            continue
        a, b = next(c[2:4] for c in published.COMPARISONS
                    if c[0] == claim["_arch"] and claim["claim"].endswith(c[1]))
        if "baseline" not in (a, b):
            continue
        arm = b if a == "baseline" else a
        table = pd.read_csv(root / claim["_ablation"] / "ablations.csv", keep_default_na=False)
        row = table[table["arm"] == arm].iloc[0]
        delta = float(row["delta"]) * (-1 if a == "baseline" else 1)
        assert claim["_result"]["delta"] == pytest.approx(delta, abs=1e-6), claim["claim"]
        expected = row["verdict"]
        if a == "baseline":  # the claim reads baseline - arm
            expected = {"better": "worse", "worse": "better"}.get(expected, expected)
        assert claim["_result"]["verdict"] == expected, claim["claim"]
        compared += 1
    assert compared >= 10
