"""Spend folds where a verdict is still open: the stopping rule of `ablate --until-decided`.

    state = adaptive.replay(folds, "baseline", folds_per_repeat=5, rounds=3)
    state.need       # arm -> how many folds it must have before the next look ({} when done)
    state.results    # arm -> its verdict (benchmark/verdicts.py) and the round it stopped at

An adaptive ablation runs in rounds of one repeat of K folds each (RepeatedStratifiedKFold:
round r's folds are numbered (r-1) K + 1 .. r K, the same for every arm). After each round
every open arm is tested against the baseline on the folds both have (the family: all the
arms, a stopped arm with the test it stopped on), at ALPHA / rounds (verdicts.decide with
looks = rounds). An arm whose verdict is decided (better, worse, equivalent) stops; the open
ones, and the baseline they pair with, get another round, up to `rounds`. An arm still open
after the last round is undecided.

The rule is a pure function of the stored fold scores, so an interrupted run resumes by
replaying it: the same looks give the same verdicts, and `need` says what to train next.
The measured error rates of the rule (false better/worse under no difference, false
equivalent at the rope's edge) are in the README; tests/test_adaptive.py measures them by
simulation.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from benchmark import paired, verdicts


@dataclasses.dataclass
class State:
    """Where an adaptive run stands: each stopped arm's verdict, and the folds still to run."""

    results: dict[str, dict]
    need: dict[str, int]
    round: int  # the round the next folds belong to (the last one run when done)

    @property
    def done(self) -> bool:
        return not self.need


def first(scores: pd.Series, n: int) -> pd.Series:
    """The scores of folds 1 .. n."""
    return scores[(scores.index >= 1) & (scores.index <= n)]


def replay(folds: dict[str, pd.Series], baseline: str, folds_per_repeat: int, rounds: int,
           rope: float = verdicts.ROPE, alpha: float = verdicts.ALPHA) -> State:
    """Replay the stopping rule on the stored fold scores (arm id -> Series indexed by fold
    number); an arm with no scores yet is an empty Series.

    Returns:
        The State: `results` for every arm that stopped (its test, verdict and `rounds`), and
        `need`: for the next round, arm -> the number of folds it must have (the open arms and
        the baseline), empty when every arm has stopped.
    """
    arms = [a for a in folds if a != baseline]
    stopped: dict[str, dict] = {}
    for r in range(1, rounds + 1):
        n = r * folds_per_repeat
        open_arms = [a for a in arms if a not in stopped]
        if not open_arms:
            return State(stopped, {}, r - 1)
        if any(len(first(folds[a], n)) < n for a in [baseline, *open_arms]):
            return State(stopped, {a: n for a in [baseline, *open_arms]}, r)
        base = first(folds[baseline], n)
        tests = [stopped[a] if a in stopped else
                 paired.compare(first(folds[a], n), base, folds_per_repeat) for a in arms]
        judged = verdicts.decide(tests, rope, alpha, looks=rounds)
        for arm, result in zip(arms, judged, strict=True):
            if arm in stopped:
                continue
            if verdicts.decided(result["verdict"]) or result["verdict"] == verdicts.NO_TEST \
                    or r == rounds:
                stopped[arm] = {**result, "rounds": r}
    return State(stopped, {}, rounds)


def family(folds: dict[str, pd.Series], baseline: str, folds_per_repeat: int,
           rounds: int | None = None, rope: float = verdicts.ROPE,
           alpha: float = verdicts.ALPHA) -> dict[str, dict]:
    """Every arm's verdict against the baseline, the one rule the ablation table, the claims,
    the report and the app read: a fixed budget (`rounds` None) tests each arm once on all the
    folds it shares with the baseline; an adaptive one takes each arm's verdict where the
    stopping rule stopped it (an arm the rule has not stopped yet is tested on what it has,
    as one more look)."""
    arms = [a for a in folds if a != baseline]
    if rounds is None:
        tests = [paired.compare(folds[a], folds[baseline], folds_per_repeat) for a in arms]
        return dict(zip(arms, verdicts.decide(tests, rope, alpha), strict=True))
    state = replay(folds, baseline, folds_per_repeat, rounds, rope, alpha)
    tests = [state.results.get(a) or paired.compare(folds[a], folds[baseline], folds_per_repeat)
             for a in arms]
    judged = verdicts.decide(tests, rope, alpha, looks=rounds)
    return {a: state.results.get(a) or {**j, "rounds": None}
            for a, j in zip(arms, judged, strict=True)}


def simulate(delta: float, folds_per_repeat: int, rounds: int, *, arms: int = 3,
             trials: int = 1000, spread: float = 0.002, correlation: float | None = None,
             rope: float = verdicts.ROPE, alpha: float = verdicts.ALPHA,
             seed: int = 0) -> dict:
    """The stopping rule on simulated ablations: how often each verdict comes out when every
    arm's true difference from the baseline is `delta`.

    Fold scores follow the model the corrected test rests on (Nadeau & Bengio 2003): the
    per-fold differences of one comparison share a component with correlation `correlation`
    (default 1 / K, the test's own n_test / n_total) and have standard deviation `spread`;
    the arms share the baseline's folds. Each trial draws every fold of every round, then
    replays the rule, which looks at a round only while an arm is open.

    Returns:
        {"better", "worse", "equivalent", "undecided": the fraction of comparisons with that
        verdict, "folds": the mean folds an arm used, "uniform": the folds each arm uses
        without stopping (K x rounds), "comparisons": how many were simulated}.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    rho = 1 / folds_per_repeat if correlation is None else correlation
    n = folds_per_repeat * rounds
    index = pd.RangeIndex(1, n + 1)
    counts = dict.fromkeys(verdicts.KINDS, 0)
    used = 0
    for _ in range(trials):
        base = 0.88 + spread * rng.standard_normal(n)
        folds = {"baseline": pd.Series(base, index=index)}
        for arm in range(arms):
            shared = np.sqrt(rho) * rng.standard_normal()
            own = np.sqrt(1 - rho) * rng.standard_normal(n)
            folds[f"arm{arm}"] = pd.Series(base + delta + spread * (shared + own), index=index)
        state = replay(folds, "baseline", folds_per_repeat, rounds, rope, alpha)
        for result in state.results.values():
            counts[result["verdict"] if result["verdict"] in counts else "undecided"] += 1
            used += result["rounds"] * folds_per_repeat
    total = trials * arms
    return {**{kind: count / total for kind, count in counts.items()},
            "folds": used / total, "uniform": n, "comparisons": total}


if __name__ == "__main__":  # the README's table: python -m benchmark.adaptive
    for k, r in ((3, 4), (5, 2), (5, 3)):
        for name, delta, corr in (("no difference", 0.0, None), ("at the rope's edge", verdicts.ROPE, None),
                                  ("twice the rope", 2 * verdicts.ROPE, None),
                                  ("no difference, correlation 2/K", 0.0, 2 / k)):
            rates = simulate(delta, k, r, trials=2000, correlation=corr)
            print(f"K={k} x up to {r} rounds, {name}: " + ", ".join(
                f"{kind} {rates[kind]:.3f}" for kind in verdicts.KINDS)
                + f"; folds per arm {rates['folds']:.1f} of {rates['uniform']}")
