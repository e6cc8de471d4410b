"""One paired comparison of fold scores, for the ablation table, the report and the app alike.

Two configurations cross-validated on the same folds (the same splitter seed) give one score
per fold each; `compare` tests their per-fold differences d_1 .. d_J. The folds' training sets
overlap, so the d_j are correlated and the plain paired t-test's variance s^2 / J is too
small: its p-values are too eager. The test used here is the corrected resampled t-test of
Nadeau and Bengio ("Inference for the Generalization Error", Machine Learning 52, 2003), as
Bouckaert and Frank recommend for (repeated) k-fold CV (PAKDD 2004):

    t = mean(d) / sqrt((1 / J + n_test / n_train) * s^2),   J - 1 degrees of freedom,

where s^2 is the sample variance of the d_j and n_test / n_train = 1 / (k - 1) for k-fold CV
(J = k x repetitions). The 95% interval of the mean difference uses the same variance. The
plain paired t-test's p-value is kept beside it (`p_plain`) to show what the correction
changes.

Many arms (or claims) tested at once: `adjust` controls the false-discovery rate across them
(Benjamini-Hochberg, scipy.stats.false_discovery_control); verdicts read the adjusted p-value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

TEST_NAME = ("corrected resampled t-test over folds (Nadeau & Bengio 2003), two-sided; "
             "Benjamini-Hochberg adjusted across the arms")
CONFIDENCE = 0.95


def compare(a: pd.Series, b: pd.Series, folds_per_repeat: int) -> dict:
    """a - b over the folds both have a finite score for (Series indexed by fold).

    Args:
        a, b: fold scores.
        folds_per_repeat: k of the k-fold splits (test/train size ratio 1 / (k - 1)).

    Returns:
        {"a", "b": the mean scores over the common folds, "delta": the mean difference,
        "folds": how many folds both have, "p_value": the corrected resampled t-test's,
        "p_plain": the plain paired t-test's, "ci_low", "ci_high": the 95% interval of delta,
        "se": the corrected standard error of delta, "df": its degrees of freedom}.
        The p-values and the interval are None with fewer than two common folds; the
        p-values are None when every fold's difference is the same (identical fold scores
        included), where the t statistic is undefined (the interval is then delta itself).
    """
    finite = a[np.isfinite(a.astype(float))].index.intersection(
        b[np.isfinite(b.astype(float))].index)
    diff = (a[finite] - b[finite]).astype(float)
    n = len(diff)
    out = {"a": float(a[finite].mean()) if n else None,
           "b": float(b[finite].mean()) if n else None,
           "delta": float(diff.mean()) if n else None, "folds": n,
           "p_value": None, "p_plain": None, "ci_low": None, "ci_high": None,
           "se": None, "df": n - 1 if n else None}
    if n < 2:
        return out
    ratio = 1.0 / (folds_per_repeat - 1) if folds_per_repeat > 1 else 1.0
    variance = float(diff.var(ddof=1))
    out["se"] = math.sqrt((1 / n + ratio) * variance)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * out["se"]
    out["ci_low"], out["ci_high"] = out["delta"] - half, out["delta"] + half
    if np.allclose(diff, diff.iloc[0]):
        return out
    t = out["delta"] / out["se"]
    out["p_value"] = float(2 * stats.t.sf(abs(t), n - 1))
    out["p_plain"] = float(stats.ttest_rel(a[finite], b[finite]).pvalue)
    return out


def adjust(p_values) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values of a family of tests, in the same order; a test
    without a p-value (None or NaN) stays without one and does not count in the family."""
    values = [None if p is None or p != p else float(p) for p in p_values]
    present = [p for p in values if p is not None]
    if not present:
        return values
    adjusted = iter(stats.false_discovery_control(present, method="bh"))
    return [None if p is None else float(next(adjusted)) for p in values]
