"""The one paired comparison of the suite (benchmark/paired.py) against worked examples: the
Nadeau-Bengio corrected resampled t-test, its 95% interval, the plain t-test beside it, and
Benjamini-Hochberg across a family; the edge cases (identical scores, one fold, NaN)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark import paired

pytestmark = pytest.mark.any_backend  # arithmetic only

FOLDS = [1, 2, 3, 4, 5]
A = pd.Series([0.80, 0.82, 0.81, 0.83, 0.79], index=FOLDS)
B = pd.Series([0.78, 0.80, 0.80, 0.80, 0.78], index=FOLDS)


def test_the_corrected_test_and_interval_by_hand():
    # d = 0.02, 0.02, 0.01, 0.03, 0.01: mean 0.018, sample variance 280e-6 / 4 = 7e-5.
    # k = 5 folds: n_test / n_train = 1/4, so the variance factor is 1/5 + 1/4 = 0.45.
    out = paired.compare(A, B, folds_per_repeat=5)
    assert out["folds"] == 5 and out["delta"] == pytest.approx(0.018)
    assert out["a"] == pytest.approx(0.81) and out["b"] == pytest.approx(0.792)
    t = 0.018 / math.sqrt(0.45 * 7e-5)  # 3.2071
    assert t == pytest.approx(3.2071, abs=1e-4)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(t, 4))
    # The plain paired t-test: variance 7e-5 / 5, t = 4.8107.
    assert out["p_plain"] == pytest.approx(2 * stats.t.sf(0.018 / math.sqrt(7e-5 / 5), 4))
    assert out["p_plain"] < 0.01 < 0.02 < out["p_value"] < 0.05
    half = 2.776445 * math.sqrt(0.45 * 7e-5)  # t(0.975, 4) x the corrected standard error
    assert out["ci_low"] == pytest.approx(0.018 - half, abs=1e-6)
    assert out["ci_high"] == pytest.approx(0.018 + half, abs=1e-6)


def test_more_folds_per_repeat_correct_less():
    # 3 repeats of 5-fold CV: J = 15, the factor 1/15 + 1/4; 10-fold: 1/10 + 1/9.
    rng = np.random.default_rng(0)
    d = pd.Series(rng.normal(0.01, 0.01, 15), index=range(1, 16))
    zero = pd.Series(np.zeros(15), index=d.index)
    out = paired.compare(d, zero, folds_per_repeat=5)
    t = d.mean() / math.sqrt((1 / 15 + 1 / 4) * d.var(ddof=1))
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), 14))
    ten = paired.compare(d[:10], zero[:10], folds_per_repeat=10)
    t10 = d[:10].mean() / math.sqrt((1 / 10 + 1 / 9) * d[:10].var(ddof=1))
    assert ten["p_value"] == pytest.approx(2 * stats.t.sf(abs(t10), 9))


def test_edge_cases_identical_one_fold_and_nan():
    same = paired.compare(A, A.copy(), 5)
    assert same["delta"] == 0 and same["p_value"] is None and same["p_plain"] is None
    assert same["ci_low"] == same["ci_high"] == 0  # no spread: the interval is the point
    shifted = paired.compare(A + 0.01, A, 5)
    assert shifted["p_value"] is None and shifted["delta"] == pytest.approx(0.01)
    one = paired.compare(A[:1], B[:1], 5)
    assert one["folds"] == 1 and one["delta"] == pytest.approx(0.02)
    assert one["p_value"] is None and one["ci_low"] is None
    none = paired.compare(A[:0], B[:0], 5)
    assert none["folds"] == 0 and none["delta"] is None
    # A diverged fold (NaN) leaves that fold out of the pairs.
    nan = paired.compare(A.where(A.index != 3), B, 5)
    assert nan["folds"] == 4
    assert nan["delta"] == pytest.approx(np.mean([0.02, 0.02, 0.03, 0.01]))
    # Folds only one side has are left out too.
    partial = paired.compare(A, B[:3], 5)
    assert partial["folds"] == 3


def test_benjamini_hochberg_by_hand():
    # Sorted: 0.005, 0.01, 0.03, 0.04 (m = 4) -> p x m / rank = 0.02, 0.02, 0.04, 0.04, then
    # the running minimum from the largest down leaves them so.
    assert paired.adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # Tests without a p-value stay without one and do not count in the family.
    out = paired.adjust([None, 0.01, float("nan"), 0.04, 0.03, 0.005])
    assert out[0] is None and out[2] is None
    assert out[1::2] == pytest.approx([0.02, 0.04, 0.02]) and out[3] == pytest.approx(0.04)
    assert paired.adjust([None, None]) == [None, None] and paired.adjust([]) == []
    assert paired.adjust([0.3]) == pytest.approx([0.3])
