"""One paired comparison of fold scores, for the ablation table, the report and the app alike.

Two configurations cross-validated on the same folds (the same splitter seed) give one score
per fold each; `compare` tests their per-fold differences with a two-sided paired t-test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

TEST_NAME = "paired t-test over folds (scipy.stats.ttest_rel, two-sided)"


def compare(a: pd.Series, b: pd.Series) -> dict:
    """a - b over the folds both have (Series indexed by fold).

    Returns:
        {"a", "b": the mean scores over the common folds, "delta": the mean difference,
        "folds": how many folds both have, "p_value": the paired t-test's}. p_value is None
        with fewer than two common folds, and when every fold's difference is the same
        (identical fold scores included): the t statistic is then undefined, and "no p-value"
        is the one answer everywhere.
    """
    common = a.index.intersection(b.index)
    diff = (a[common] - b[common]).astype(float)
    out = {"a": float(a[common].mean()) if len(common) else None,
           "b": float(b[common].mean()) if len(common) else None,
           "delta": float(diff.mean()) if len(common) else None, "folds": len(common),
           "p_value": None}
    if len(common) > 1 and not np.allclose(diff, diff.iloc[0]):
        out["p_value"] = float(stats.ttest_rel(a[common], b[common]).pvalue)
    return out
