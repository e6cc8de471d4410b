"""The study's claims, checked against the stored results, and the summary they add up to.

    claims.check(catalog)                  # the judged claims (the report's claims table)
    claims.summarise(judged, catalog)      # REPORT.md's first section and the app's first page

`catalog` is `selection.annotate(readers.scan(root))`: claims are judged on the main results only
(benchmark/selection.py). An architecture's accuracy is its main `best` run's; MLP < CNN < ResNet
is tested on the first pair of best-preset runs that trained on the same data and folds with the
same budget, both of which learned (a collapsed run never enters a claim); each ablation claim
on the architecture's main ablation. Paired claims get the corrected resampled t-test
(benchmark/paired.py), their p-values adjusted across the claims (Benjamini-Hochberg). The
study's own numbers come from benchmark/published.py only.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd

from benchmark import (
    adaptive,
    architectures,
    backends,
    paired,
    published,
    readers,
    selection,
    verdicts,
    views,
)

fmt = readers.fmt
NOT_RUN = "not run here"
# The verdicts in the order the summary counts them (a verdict's kind is its text before " (").
VERDICT_ORDER = ("agrees", "contradicts", "equivalent", "undecided", "not comparable",
                 "no difference", "not tested", "not enough folds", NOT_RUN)


def label(arch: str) -> str:
    """How the report writes an architecture: its registry label (an unknown one as named)."""
    try:
        return architectures.get(arch).label
    except ValueError:
        return arch


# ------------------------------------------------------------------------- statistics


def claim_verdict(result: dict, sign: int) -> str:
    """A claim's verdict from its comparison's (verdicts.decide, Δ = a - b): agrees or
    contradicts (better or worse, the sign as claimed or not), equivalent (practically nil
    here: a "no better" claim, sign -1, agrees), undecided (with the smallest difference this
    run could have detected)."""
    if (result.get("folds") or 0) < 2:
        return "not enough folds"
    if result.get("p_value") is None:  # every fold's difference the same: no t statistic
        if abs(result.get("delta") or 0.0) < 1e-12:
            return "no difference (identical fold accuracies: the arm trained the same at this budget)"
        return "not tested (the same difference on every fold: no variance to test it with)"
    kind = result["verdict"]
    if kind == "equivalent":
        rope = result.get("rope", verdicts.ROPE)
        return (f"agrees (equivalent within ±{rope:.3f}: no better)" if sign < 0 else
                f"equivalent (practically nil here: inside ±{rope:.3f})")
    if kind in ("better", "worse"):
        return "agrees" if (kind == "better") == (sign > 0) else "contradicts"
    return verdicts.text(result)


def flipped(result: dict) -> dict:
    """An arm's comparison with the baseline read the other way round (baseline - arm)."""
    swap = {"better": "worse", "worse": "better"}
    low, high = result.get("ci_low"), result.get("ci_high")
    return {**result, "delta": -result["delta"] if result.get("delta") is not None else None,
            "a": result.get("b"), "b": result.get("a"),
            "ci_low": -high if high is not None else None,
            "ci_high": -low if low is not None else None,
            "verdict": swap.get(result.get("verdict"), result.get("verdict"))}


def judge(claims: list[dict]) -> list[dict]:
    """The claims table's verdicts. A claim comes either with its comparison already decided
    (`_result`: an arm against its ablation's baseline, decided in the ablation's family, so
    the ablation table and the claims say the same) or with a test still to decide (`_test`,
    decided in its `_family`: the ranking of the architectures; the comparisons between two
    arms of one ablation); the others keep the verdict they came with. `_number` keeps "ours"
    without the p-values; `_result` keeps the decided comparison (the planner reads it)."""
    families: dict[str, list[int]] = {}
    for i, claim in enumerate(claims):
        if "_test" in claim:
            families.setdefault(claim["_family"], []).append(i)
    decided = {}
    for members in families.values():
        first = claims[members[0]]
        judged = verdicts.decide([claims[i]["_test"] for i in members],
                                 first.get("_rope", verdicts.ROPE), looks=first.get("_looks", 1))
        decided.update(zip(members, judged, strict=True))
    out = []
    for i, claim in enumerate(claims):
        claim = dict(claim, _number=claim["ours"])
        claim.pop("_test", None)
        result = decided.get(i) or claim.get("_result")
        sign = claim.pop("_sign", 1)
        note = claim.pop("_note", "")
        if result is not None:
            claim["_result"] = result
            claim["ours"] += (f"; p {fmt(result['p_value'], '.3f')}, adjusted "
                              f"{fmt(result['p_adjusted'], '.3f')}, equivalence adjusted "
                              f"{fmt(result.get('p_equivalence_adjusted'), '.3f')}, plain t "
                              f"{fmt(result['p_plain'], '.3f')}")
            claim["verdict"] = claim["_judged"] = claim_verdict(result, sign)
            if note:
                claim["verdict"] += f" ({note})"
            # What the plain paired t-test alone, unadjusted, would have said.
            plain = result.get("p_plain")
            claim["_plain_verdict"] = (
                claim_verdict({**result, "verdict": "better" if result["delta"] > 0
                               else "worse"}, sign)
                if plain is not None and plain < verdicts.ALPHA else
                claim_verdict({**result, "verdict": "undecided"}, sign))
            claim["_why"] = (
                f"corrected p {fmt(result['p_value'], '.3f')} against the plain test's "
                f"{fmt(plain, '.3f')}, {fmt(result['p_adjusted'], '.3f')} adjusted across "
                f"{claim.get('_family_text', 'its family')}")
        out.append(claim)
    return out


# ------------------------------------------------------------------------- reading


def arm_folds(ablation: dict, arm: str) -> pd.Series | None:
    arm_dir = ablation["path"] / "arms" / arm
    return readers.fold_accuracies(arm_dir) if (arm_dir / "folds.csv").exists() else None


def idle_schedule(training: dict) -> str:
    """Why an arm's StepLR never changed its learning rate ("" when it did or is not StepLR):
    with no more epochs than its step size it trains at a constant rate, so a claim about
    StepLR is not tested by it at this budget."""
    epochs, step = training.get("epochs"), training.get("step_size")
    if training.get("schedule") != "step" or not epochs or not step or epochs > step:
        return ""
    return f"did not step: StepLR (step {step}) never decays within {epochs} epochs"


def arm_notes(ablate_dir: Path) -> dict[str, str]:
    """Arm -> why its delta is not about its factor alone: it collapsed (readers.arm_collapsed,
    e.g. "collapsed: did not learn"), or its StepLR never stepped (its config.json)."""
    notes = {}
    for config in sorted(Path(ablate_dir).glob("arms/*/config.json")):
        arm = config.parent.name
        training = (readers.read_json(config).get("run") or {}).get("training") or {}
        whys = [why for why in (readers.arm_collapsed(ablate_dir, arm), idle_schedule(training))
                if why]
        if whys:
            notes[arm] = ", ".join(whys)
    return notes


def ablation(catalog: readers.Catalog, summary: dict) -> dict:
    """An ablation as the claims and the report read it: its summary, folder, config and notes."""
    path = readers.folder(catalog.root, summary["id"])
    return {**summary, "path": path, "config": readers.read_json(path / "config.json"),
            "notes": arm_notes(path)}


# ------------------------------------------------------------------------- the claims


def same_budget(ra: pd.Series, rb: pd.Series) -> bool:
    """Two runs trained on the same data and folds (data, seed, folds, training images) with
    the same budget per preset (folds, repeats, epochs, limit, precision)."""
    return (ra["digest"] is not None and rb["digest"] is not None
            and readers.same_folds(ra, rb) and ra["budget"] == rb["budget"])


def not_run(claim: str, study: str, arch: str) -> dict:
    """A claim no main result of `arch` can judge (summarise says why)."""
    return {"claim": claim, "study": study, "ours": "–", "data and budget": "",
            "verdict": NOT_RUN, "_arch": arch}


def final_claims(catalog: readers.Catalog) -> list[dict]:
    """Each architecture's best preset against the study's test accuracy, on its main run."""
    rows = []
    for arch in architectures.names():
        claim = f"{label(arch)} best reaches {published.FINAL[arch]} test accuracy"
        study = f"{published.FINAL[arch]} (official Balanced test)"
        rep = selection.main_run(catalog, arch, "best")
        if rep is None:
            rows.append(not_run(claim, study, arch))
            continue
        ours = f"test {fmt(rep['test_accuracy'])} (CV {fmt(rep['cv_mean'])} ± {fmt(rep['cv_std'])})"
        if not rep["official"]:
            verdict = "not comparable (not the official Balanced split)"
        else:
            # One test accuracy against a published one: no paired test, so two CV standard
            # deviations stand for its noise; inside the ROPE the two are equivalent.
            noise = 2 * (rep["cv_std"] if rep["cv_std"] == rep["cv_std"] else 0.0)
            gap = rep["test_accuracy"] - published.FINAL[arch]
            verdict = ("equivalent" if abs(gap) + noise <= verdicts.ROPE else
                       "agrees" if gap > noise else "contradicts" if gap < -noise else
                       f"undecided (within 2 CV standard deviations, {noise:.4f})")
        rows.append({"claim": claim, "study": study, "ours": ours,
                     "data and budget": f"{rep['data']}; {rep['budget']}", "verdict": verdict,
                     "_arch": arch})
    return rows


def comparison_claims(runs: pd.DataFrame) -> list[dict]:
    """MLP < CNN < ResNet on the best presets, as claims (judged with the others by `judge`).

    Matched budgets only: of each architecture's best-preset runs that may stand for it
    (selection.candidates: learned, complete, not a test, the main run first), the first pair
    that trained on the same data and folds with the same budget (same_budget) is tested; with
    no such pair, the main runs are shown with the verdict "not comparable (different data or
    budget)" and no test. An architecture with no such run: "not run here"."""
    found = {arch: [row for _, row in selection.candidates(runs, arch, "best").iterrows()]
             for arch in architectures.names()}
    claims = []
    for a, b in zip(published.RANKING, published.RANKING[1:], strict=False):
        claim = f"{label(a)} < {label(b)} (best presets)"
        study = f"{published.FINAL[a]} < {published.FINAL[b]} (test)"
        if not found.get(a) or not found.get(b):
            claims.append(not_run(claim, study, a if not found.get(a) else b))
            continue
        pairs = [(ra, rb) for ra in found[a] for rb in found[b] if same_budget(ra, rb)]
        matched = bool(pairs)
        ra, rb = pairs[0] if matched else (found[a][0], found[b][0])
        fa, fb = readers.fold_accuracies(ra["run_dir"]), readers.fold_accuracies(rb["run_dir"])
        claim = {"claim": claim, "study": study,
                 "ours": f"CV {fmt(fa.mean())} vs {fmt(fb.mean())}",
                 "data and budget": (f"{ra['data']}; {ra['budget']} (`{ra['run_id']}` vs "
                                     f"`{rb['run_id']}`)" if matched else
                                     f"{ra['data']}; {ra['budget']} / {rb['data']}; "
                                     f"{rb['budget']}"),
                 "verdict": "not comparable (different data or budget)", "_arch": b}
        if matched:
            claim.update({"_test": paired.compare(fb, fa, int(ra["folds"])), "_sign": 1,
                          "_family": "ranking", "_family_text": "the ranking's claims"})
            claim["ours"] += f" (Δ {fmt(claim['_test']['delta'], '+.4f')})"
        claims.append(claim)
    return claims


def ablation_family(ablation: dict) -> dict[str, dict]:
    """Every arm's verdict against the baseline in an ablation (adaptive.family, with the rope
    and rounds its config.json records): the very verdicts of its ablations.csv."""
    config = ablation["config"]
    arms = sorted(p.name for p in (ablation["path"] / "arms").glob("*") if p.is_dir())
    folds = {arm: arm_folds(ablation, arm) for arm in ["baseline", *arms]}
    folds = {arm: f if f is not None else pd.Series(dtype=float) for arm, f in folds.items()}
    return adaptive.family(folds, "baseline", int((config.get("base") or {}).get("folds") or 5),
                           config.get("adaptive_rounds"), config.get("rope") or verdicts.ROPE)


def ablation_claims(ablations: dict[str, list[dict]]) -> list[dict]:
    """Each comparison claim, judged on the first ablation of its architecture (in
    `ablations`, as `ablation` reads them: the main one) that ran both of its arms. A claim
    about an arm and the baseline takes the ablation's own verdict for that arm
    (ablation_family); a claim about two arms is tested on their shared folds and decided with
    the other two-arm claims of that ablation (judge)."""
    rows = []
    families: dict[str, dict] = {}
    for arch, claim, a, b, sign, study_text in published.COMPARISONS:
        found = None
        for candidate in ablations.get(arch, []):
            fa, fb = arm_folds(candidate, a), arm_folds(candidate, b)
            if fa is not None and fb is not None and not fa.empty and not fb.empty:
                found = candidate
                break
        if found is None:
            rows.append(not_run(f"{label(arch)}: {claim}", study_text, arch))
            continue
        config = found["config"].get("base") or {}
        k = int(config.get("folds") or 5)
        rope = found["config"].get("rope") or verdicts.ROPE
        rounds = found["config"].get("adaptive_rounds")
        row = {"claim": f"{label(arch)}: {claim}", "study": study_text, "verdict": "",
               "_sign": sign, "_arch": arch, "_ablation": found["id"], "_folds_per_repeat": k,
               "_study_delta": published.study_difference(study_text)}
        if "baseline" in (a, b):
            if found["id"] not in families:
                families[found["id"]] = ablation_family(found)
            arm = b if a == "baseline" else a
            result = families[found["id"]][arm]
            row["_result"] = flipped(result) if a == "baseline" else result
            row["_family_text"] = f"the {len(families[found['id']])} arms of `{found['id']}`"
            shown = row["_result"]
        else:
            row.update({"_test": paired.compare(fa, fb, k), "_rope": rope,
                        "_looks": rounds or 1, "_family": f"{found['id']} arm pairs",
                        "_family_text": f"the two-arm claims on `{found['id']}`"})
            shown = row["_test"]
        training = config.get("training") or {}
        budget = readers.budget_text(config.get("folds"), training.get("epochs"),
                                     config.get("limit"), training.get("precision"),
                                     config.get("repeats"))
        if rounds:
            budget += f", adaptive (up to {rounds} rounds, ±{rope:.3f})"
        data = readers.data_label(found["config"].get("data") or {})
        # An arm that collapsed, or a StepLR arm that never stepped: its delta is not about
        # the factor alone (said beside the verdict, which judge() writes).
        broken = [f"{arm} {why}" for arm in (a, b) if (why := found["notes"].get(arm))]
        row.update({"ours": f"{fmt(shown['a'])} vs {fmt(shown['b'])} "
                            f"(Δ {fmt(shown['delta'], '+.4f')}, 95% "
                            f"{readers.interval(shown['ci_low'], shown['ci_high'])})",
                    "data and budget": f"{data}; {budget} (`{found['id']}`)",
                    "_note": "; ".join(broken)})
        rows.append(row)
    return rows


def check(catalog: readers.Catalog) -> list[dict]:
    """Every claim of the study, judged on the main results of an annotated catalog: the
    architectures' accuracies, then MLP < CNN < ResNet, then the ablation claims (`_section`
    says which)."""
    main = {arch: [ablation(catalog, found)] for arch in architectures.names()
            if (found := selection.main_ablation(catalog, arch)) is not None}
    parts = [("final", final_claims(catalog)), ("order", comparison_claims(catalog.runs)),
             ("ablation", ablation_claims(main))]
    return judge([dict(claim, _section=section) for section, found in parts
                  for claim in found])


def changed(judged: list[dict]) -> list[dict]:
    """The claims whose verdict the corrected, adjusted test changed from the plain t-test's:
    the claim, the plain test's verdict, the verdict now and why."""
    return [{"claim": c["claim"], "plain paired t-test": c["_plain_verdict"],
             "now": c["verdict"], "why": c["_why"]}
            for c in judged if "_plain_verdict" in c and c["_plain_verdict"] != c["_judged"]]


# ------------------------------------------------------------------------- the summary


def verdict_kind(verdict: str) -> str:
    """A verdict without its note: "agrees (x collapsed: ...)" -> "agrees"."""
    return verdict.split(" (")[0]


@dataclasses.dataclass
class Summary:
    """The answer on one screen: how many claims got each verdict, one line per claim that ran
    (claim, verdict, our number, data and budget), and a sentence for those that did not."""

    counts: dict[str, int]
    lines: pd.DataFrame
    not_run: str

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def headline(self) -> str:
        """e.g. "38 claims checked: agrees 13, contradicts 2, undecided 12, ...\""""
        counts = ", ".join(f"{kind} {n}" for kind, n in self.counts.items())
        return f"{self.total} claims checked: {counts}"


def summarise(judged: list[dict], catalog: readers.Catalog) -> Summary:
    """The summary of `check`'s claims (the report's first section, the app's first page)."""
    kinds = [verdict_kind(c["verdict"]) for c in judged]
    order = [*VERDICT_ORDER, *sorted(set(kinds) - set(VERDICT_ORDER))]
    counts = {kind: kinds.count(kind) for kind in order if kind in kinds}
    ran = [c for c in judged if verdict_kind(c["verdict"]) != NOT_RUN]
    lines = pd.DataFrame({
        "claim": [c["claim"] for c in ran], "verdict": [c["verdict"] for c in ran],
        "ours": [c.get("_number", c["ours"]) for c in ran],
        "data and budget": [re.sub(r" \(`[^`]+`( vs `[^`]+`)?\)$", "", c["data and budget"])
                            for c in ran]}, columns=["claim", "verdict", "ours", "data and budget"])
    missing: dict[str, int] = {}
    for claim in judged:
        if verdict_kind(claim["verdict"]) == NOT_RUN:
            missing[claim.get("_arch", "")] = missing.get(claim.get("_arch", ""), 0) + 1
    sentences = [f"**Not run here: {'the ' if n > 1 else ''}{n} claim{'s' if n > 1 else ''} "
                 f"about the {label(arch)}.** {why_not_run(catalog, arch)}"
                 for arch, n in missing.items()]
    text = " ".join(sentences) if sentences else "Every claim was run."
    return Summary(counts=counts, lines=lines, not_run=text)


def why_not_run(catalog: readers.Catalog, arch: str) -> str:
    """Why an architecture's claims did not run, in sentences, from what is stored: which of
    its runs and ablations are set apart and why (selection), and how long an epoch of it
    takes here (bench.csv)."""
    runs = catalog.runs[catalog.runs["arch"] == arch] if not catalog.runs.empty else catalog.runs
    name = label(arch)
    sentences = []
    if selection.main_run(catalog, arch, "best") is None:
        sentences.append(f"No {name} run is stored." if runs.empty else
                         f"No {name} run here is a main run (see the appendix): "
                         f"{describe(runs)}.")
    ablations = [a for a in catalog.ablations if a["arch"] == arch]
    main = selection.main_ablation(catalog, arch)
    if main is not None:
        sentences.append(f"The main ablation, `{main['id']}`, did not run both arms of the "
                         "others.")
    elif not ablations:
        sentences.append(f"No {name} ablation is stored.")
    else:
        sentences.append(f"No {name} ablation here is a main one: " + "; ".join(
            f"`{a['id']}`: {a['why']}" for a in ablations) + ".")
    missing = selection.main_run(catalog, arch, "best") is None or main is None
    if missing and (speed := training_speed(catalog, arch)):
        sentences.append(speed)
    return " ".join(sentences)


def describe(runs: pd.DataFrame) -> str:
    """Set-apart runs in words, e.g. "2 collapsed (inference mode), 1 incomplete (`r`:
    running: 1 of 3 folds)"."""
    parts = []
    for role in selection.SET_APART:
        mine = runs[runs["role"] == role]
        if mine.empty:
            continue
        if role == "collapsed":
            parts += [f"{count} {selection.collapse_words(flag)}"
                      for flag, count in mine["why"].value_counts().items()]
        elif role == "incomplete":
            parts.append(f"{len(mine)} incomplete (" + ", ".join(
                f"`{r.run_id}`, {r.why}" for r in mine.itertuples()) + ")")
        else:
            parts.append(f"{len(mine)} {role}{'s' if len(mine) > 1 and role != 'test' else ''}")
    return ", ".join(parts)


def training_speed(catalog: readers.Catalog, arch: str) -> str:
    """How long one epoch of the main runs' training images takes the fastest Keras backend
    here, from the latest `emnist-bench bench` figures ("" without them)."""
    bench = readers.read_csv(Path(catalog.root) / "bench.csv")
    if bench.empty or not {"arch", "backend", "images_per_second"} <= set(bench.columns):
        return ""
    latest = views.latest_bench(bench)
    mine = latest[(latest["arch"] == arch) & latest["backend"].isin(backends.BACKENDS)
                  & (latest["images_per_second"] > 0)]
    if mine.empty:
        return ""
    fastest = mine.loc[mine["images_per_second"].idxmax()]
    main = selection.main_runs(catalog)
    sizes = (main if not main.empty else catalog.runs)["n_train"].dropna()
    if sizes.empty:
        return ""
    images = int(sizes.max())
    hours = images / fastest["images_per_second"] / 3600
    where = f" on {fastest['cpu']}" if isinstance(fastest.get("cpu"), str) else ""
    return (f"It is slow here: one epoch of {images:,} training images takes about "
            f"{hours:.1f} hours at the fastest Keras backend's {fastest['images_per_second']:,.0f}"
            f" images/s ({fastest['backend']}, {fastest['precision']}{where}; `emnist-bench "
            "bench`).")
