"""What a family of paired comparisons decides: better, worse, equivalent or undecided.

Each comparison is a paired test of fold scores (benchmark/paired.py: the corrected resampled
t-test, its standard error `se` and degrees of freedom `df`). A family is the set of
comparisons one experiment asked at once (an ablation's arms against its baseline; the
architectures' ranking). Two tests run on every comparison, both on the same corrected
variance, and each has its p-values adjusted across the family (Benjamini-Hochberg):

- the difference test (H0: Δ = 0), two-sided: `p_value`, adjusted `p_adjusted`;
- the equivalence test (two one-sided tests, TOST: H0: |Δ| ≥ rope): `p_equivalence`, adjusted
  `p_equivalence_adjusted`. Its p under ALPHA is the 1 - 2 ALPHA interval lying wholly inside
  the region of practical equivalence [-rope, +rope].

The verdict: **equivalent** when the equivalence test rejects (a real but smaller-than-rope
difference is practically nil, so equivalence is read first); else **better** or **worse**
when the difference test rejects, by the sign of Δ; else **undecided**, with the smallest
difference this run could have detected: the |Δ| at which its difference test would have
rejected, with its spread and the family's other p-values as they are: t(1 - level / 2) x se,
where `level` is the largest p-value the family's adjustment would still have let through
(`level`; ALPHA for a family of one).

An adaptive run (benchmark/adaptive.py) looks at its data after every round of folds, up to
`looks` times: each look then tests at ALPHA / looks (a Bonferroni split of the error rate
over the looks), so stopping at the first decided look keeps each error rate under ALPHA.
A fixed budget has one look.

The verdicts as the report and the app say them are here too: in words (`text`, `verdict_text`
for a table row, `verdicts_explained` for a caption) and in colour (`VERDICT_COLOURS`).
"""

from __future__ import annotations

ALPHA = 0.05  # an adjusted p-value under ALPHA / looks decides
ROPE = 0.005  # region of practical equivalence: half a point of accuracy
KINDS = ("better", "worse", "equivalent", "undecided")
NO_TEST = "no test"  # fewer than two shared folds, or the same difference on every fold
COLUMNS = ("p_value", "p_adjusted", "p_equivalence", "p_equivalence_adjusted",
           "smallest_detectable", "verdict")
BASELINE = "baseline"  # the verdict column of an ablation's baseline row
# One palette for the verdicts, the report's figure and the app's charts alike.
VERDICT_COLOURS = {BASELINE: "#222222", "better": "#2ca02c", "worse": "#d62728",
                   "equivalent": "#1f77b4", "undecided": "#9d9d9d", NO_TEST: "#bcbd22"}


def p_equivalence(delta: float | None, se: float | None, df: int | None,
                  rope: float) -> float | None:
    """The TOST p-value of |Δ| < rope with the corrected standard error (None without one)."""
    if delta is None or not se or not df or df < 1:
        return None
    from scipy import stats  # here, so the command line reads ROPE without SciPy

    lower = stats.t.sf((delta + rope) / se, df)  # H0: Δ <= -rope
    upper = stats.t.cdf((delta - rope) / se, df)  # H0: Δ >= +rope
    return float(max(lower, upper))


def smallest_detectable(se: float | None, df: int | None,
                        alpha: float = ALPHA) -> float | None:
    """The smallest |Δ| a test with this standard error calls a difference at level alpha,
    two-sided (None without a spread)."""
    if not se or not df or df < 1:
        return None
    from scipy import stats

    return float(stats.t.ppf(1 - alpha / 2, df) * se)


def level(others: list[float | None], alpha: float = ALPHA) -> float:
    """The largest p-value one more test could have and still be rejected at `alpha` by
    Benjamini-Hochberg beside the family's other p-values (None: not in the family): with m
    tests, the largest j alpha / m such that at least j - 1 of the others are at most it."""
    present = [p for p in others if p is not None]
    m = len(present) + 1
    return max((j * alpha / m for j in range(1, m + 1)
                if sum(p <= j * alpha / m for p in present) >= j - 1), default=alpha / m)


def decide(tests: list[dict], rope: float = ROPE, alpha: float = ALPHA,
           looks: int = 1) -> list[dict]:
    """The verdict of every comparison of one family, in order.

    Args:
        tests: paired.compare results (delta, se, df, p_value, ...), one per comparison.
        rope: the region of practical equivalence, in accuracy.
        alpha: the error rate of each test over the whole run.
        looks: how many times an adaptive run may look (1 for a fixed budget).

    Returns:
        The tests with `p_adjusted`, `p_equivalence`, `p_equivalence_adjusted`, `level`,
        `smallest_detectable`, `rope` and `verdict` (one of KINDS, or NO_TEST) added.
    """
    from benchmark import paired

    equivalence = [p_equivalence(t.get("delta"), t.get("se"), t.get("df"), rope)
                   if t.get("p_value") is not None else None for t in tests]
    adjusted = paired.adjust([t.get("p_value") for t in tests])
    adjusted_eq = paired.adjust(equivalence)
    threshold = alpha / looks
    raw = [t.get("p_value") for t in tests]
    out = []
    for i, (test, p, p_eq, p_eq_adj) in enumerate(
            zip(tests, adjusted, equivalence, adjusted_eq, strict=True)):
        if test.get("p_value") is None:
            kind = NO_TEST
        elif p_eq_adj is not None and p_eq_adj < threshold:
            kind = "equivalent"
        elif p is not None and p < threshold:
            kind = "better" if test["delta"] > 0 else "worse"
        else:
            kind = "undecided"
        passes = level(raw[:i] + raw[i + 1:], threshold)
        out.append({**test, "p_adjusted": p, "p_equivalence": p_eq,
                    "p_equivalence_adjusted": p_eq_adj, "rope": rope, "level": passes,
                    "smallest_detectable": smallest_detectable(test.get("se"), test.get("df"),
                                                               passes),
                    "verdict": kind})
    return out


def decided(verdict: str) -> bool:
    """Better, worse or equivalent: more folds would not be spent on it."""
    return verdict in KINDS[:3]


def text(result: dict) -> str:
    """A verdict in words, e.g. "undecided (could detect |Δ| ≥ 0.0073)"."""
    kind = result.get("verdict", NO_TEST)
    if kind == "undecided" and result.get("smallest_detectable") is not None:
        return f"undecided (could detect |Δ| ≥ {result['smallest_detectable']:.4f})"
    if kind == "equivalent":
        return f"equivalent (inside ±{result.get('rope', ROPE):.3f})"
    return kind


def verdict_text(row) -> str:
    """An arm's verdict in words (verdicts.text), e.g. "undecided (could detect |Δ| ≥ 0.0073)",
    from a table row: its empty cells read as missing, not as NaN."""
    if row.get("verdict") == BASELINE:
        return BASELINE
    return text({k: v for k, v in dict(row).items() if v is not None and v == v})


def verdicts_explained(rope: float = ROPE, rounds: int | None = None,
                       family: str | None = "the ablation's arms") -> str:
    """The four verdicts (benchmark/verdicts.py) in one paragraph, for the report's and the
    app's captions: `family` names what the p-values are adjusted across (None: one comparison
    on its own), `rounds` the cap of an adaptive run."""
    alpha = ALPHA
    adjusted = (f"each one's p-values adjusted across {family} (Benjamini-Hochberg)" if family
                else "each comparison on its own (no adjustment for the others)")
    looks = (f" Adaptive (`--until-decided`): after each round of folds, up to {rounds} "
             f"rounds, every open arm is tested at α / {rounds} and stops as soon as its "
             "verdict is decided; `rounds` is how many it used." if rounds else "")
    return (f"Four verdicts, from two tests on the same corrected variance (the corrected "
            f"resampled t-test over folds, Nadeau & Bengio 2003), {adjusted}, α = {alpha}: "
            f"**equivalent** when the equivalence test (two one-sided tests, TOST) puts Δ "
            f"inside the region of practical equivalence ±{rope:.3f} (adjusted p < α); "
            "otherwise **better** or **worse** when the difference test rejects Δ = 0 "
            "(adjusted p < α), by the sign of Δ; otherwise **undecided**, with the smallest "
            "difference this run could have detected: the |Δ| at which, with its spread and the "
            "family's other p-values as they are, the adjusted difference test would have "
            "rejected (more folds shrink it). **no test**: fewer than two shared folds, or the very "
            "same difference on every fold." + looks)
