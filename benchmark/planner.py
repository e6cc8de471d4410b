"""`emnist-bench plan`: what it would take to decide each claim still open, and what it costs.

    emnist-bench plan                          # reads results/, prints the plans
    table = planner.plan(catalog)              # one row per open claim (a DataFrame)
    planner.markdown(table)                    # the same for REPORT.md

`catalog` is `selection.annotate(readers.scan(root))`. A claim is open when benchmark/claims.py
judged it undecided, not run here, not enough folds or not tested (no variance): more folds
could decide it. For each one, the cheapest fixed budget of K folds x R repeats (K in FOLDS, R
in REPEATS) whose smallest detectable difference (benchmark/verdicts.py) is at most its target:

- target: the study's own difference d where it states one and d >= rope (detect d); else the
  rope (decide at the rope: a measured |Δ| of the rope would be called a difference, one near
  0 about equivalent).
- s_d, the standard deviation of the per-fold differences: the claim's own, from its corrected
  standard error (benchmark/paired.py: se = sqrt((1/J + 1/(K0 - 1)) s_d^2), J folds of K0-fold
  CV); else the median over the arms of its architecture's main ablation; else over the arms of
  every main ablation. It is assumed not to change with K or R.
- smallest detectable at (K, R): t(1 - level/2, KR - 1) x s_d sqrt(1/(KR) + 1/(K - 1)), at the
  claim's recorded `level` (what its family's adjustment lets through, as it stands), else
  ALPHA / m, m the arms of the ablation that would run it (Bonferroni, conservative). The
  1/(K - 1) term does not shrink with R: where even K = 10, R = 10 misses the target the plan is
  "not reachable with K <= 10, R <= 10", and its hours are what K = 10, R = 10 would cost.
- cost: both sides of the comparison (arm and baseline, two arms, or two architectures)
  cross-validated afresh, K x R folds each training on (K - 1)/K of the training images for the
  epochs of the runs s_d came from; the final fits not counted. Hours at the images per second
  of the fold seconds recorded in the main ablation (else the main run), else of bench.csv's
  fastest Keras backend; on a GPU, bench.csv's rows whose `accelerator` names one.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import pandas as pd

from benchmark import (
    architectures,
    backends,
    claims,
    published,
    readers,
    selection,
    verdicts,
    views,
)
from benchmark.markdown import table as markdown_table

# K: from 3 (K = 2 trains on half the images, too far from the runs s_d was measured on) to 10.
FOLDS = range(3, 11)
REPEATS = range(1, 11)  # R: repeats of the K folds with new shuffles (--repeats)
UNREACHABLE = f"not reachable with K <= {FOLDS[-1]}, R <= {REPEATS[-1]}"
NO_GPU = "no GPU figure measured yet (bench.csv has no GPU row)"
WITHIN = " (no more than the budget already run)"
OPEN = ("undecided", "not enough folds", "not tested", claims.NOT_RUN)
ASSUMPTIONS = (
    "Each plan is the cheapest K folds x R repeats (K {k}, R {r}) whose smallest detectable "
    "difference, t(1 - level/2, KR - 1) x s_d sqrt(1/(KR) + 1/(K - 1)) (the corrected "
    "resampled t-test), is at most the target: the study's difference where it states one at "
    "least the rope, else the rope. s_d, the spread of the per-fold differences, is assumed not "
    "to change with K or R. The cost is both sides of the comparison trained afresh on K x R "
    "folds of (K - 1)/K of the training images each, the final fits not counted; where no "
    "budget is enough (not reachable), the hours are those of the largest, which still "
    "misses.").format(
        k=f"{FOLDS[0]}..{FOLDS[-1]}", r=f"{REPEATS[0]}..{REPEATS[-1]}")
COLUMNS = ["claim", "verdict", "budget_now", "s_d", "s_d_from", "level", "level_from", "target",
           "target_why", "folds", "repeats", "plan", "smallest_detectable", "cpu_hours",
           "cpu_from", "gpu_hours", "gpu_from"]
FAMILY = "its family's adjustment as it stands"


# ------------------------------------------------------------------------- the arithmetic


def standard_error(s_d: float, folds: int, repeats: int) -> float:
    """The corrected standard error of the mean of K x R fold differences of spread s_d."""
    return s_d * math.sqrt(1 / (folds * repeats) + 1 / (folds - 1))


@functools.cache
def _per_se(df: int, level: float) -> float:
    # verdicts.smallest_detectable is t(1 - level/2, df) x se: one quantile per df and level.
    return verdicts.smallest_detectable(1.0, df, level)


def detectable(s_d: float, folds: int, repeats: int, level: float) -> float:
    """The smallest |Δ| that K folds x R repeats would call a difference at `level`."""
    return standard_error(s_d, folds, repeats) * _per_se(folds * repeats - 1, level)


@dataclasses.dataclass(frozen=True)
class Choice:
    """A budget of K folds x R repeats and the smallest difference it could detect."""

    folds: int
    repeats: int
    detectable: float

    @property
    def text(self) -> str:
        return f"{self.folds} folds x {self.repeats} repeat{'s' if self.repeats > 1 else ''}"

    @property
    def trainings(self) -> float:
        """Training sets the size of the whole training split, per side: K x R folds of
        (K - 1)/K of it each."""
        return self.folds * self.repeats * (self.folds - 1) / self.folds


def choices(s_d: float, level: float, folds=FOLDS, repeats=REPEATS) -> list[Choice]:
    return [Choice(k, r, detectable(s_d, k, r, level)) for k in folds for r in repeats]


def cheapest(s_d: float, target: float, level: float, folds=FOLDS,
             repeats=REPEATS) -> Choice | None:
    """The least training that detects `target` (the smaller detectable difference on a tie),
    or None where no K, R in range does."""
    fits = [c for c in choices(s_d, level, folds, repeats) if c.detectable <= target]
    return min(fits, key=lambda c: (c.trainings, c.detectable), default=None)


def spread(result: dict, folds_per_repeat: int | None) -> float | None:
    """s_d of a decided comparison, from its corrected standard error and its J folds of
    K0-fold CV (None without a spread)."""
    se, n = result.get("se"), result.get("folds") or 0
    k = folds_per_repeat or n
    if not se or n < 2 or k < 2:
        return None
    return se / math.sqrt(1 / n + 1 / (k - 1))


def budget_text(folds: int | None, folds_per_repeat: int | None) -> str | None:
    """The budget a claim was judged on, in the plans' words (None: not run)."""
    if not folds:
        return None
    if folds_per_repeat and folds % folds_per_repeat == 0:
        return Choice(folds_per_repeat, folds // folds_per_repeat, 0.0).text
    return f"{folds} folds"


def target(study_delta: float | None, rope: float) -> tuple[float, str]:
    """What the plan must detect, and why."""
    if study_delta is not None and study_delta >= rope:
        return study_delta, "the study's Δ"
    if study_delta is not None:
        return rope, f"the rope (the study's Δ {study_delta:.4f} is inside it)"
    return rope, "the rope (the study states no difference)"


# ------------------------------------------------------------------------- what is stored


def fold_throughput(folder: Path) -> float | None:
    """Images per second of the fold training recorded under a run or an ablation (its arms):
    training images x epochs run over seconds, summed over every finished fold."""
    images = seconds = 0.0
    for path in [Path(folder) / "folds.csv", *sorted(Path(folder).glob("arms/*/folds.csv"))]:
        table = readers.read_csv(path)
        if not {"seconds", "train_size", "epochs_run"} <= set(table.columns):
            continue
        table = table.dropna(subset=["seconds", "train_size", "epochs_run"])
        table = table[table["seconds"] > 0]
        images += float((table["train_size"] * table["epochs_run"]).sum())
        seconds += float(table["seconds"].sum())
    return images / seconds if seconds > 0 else None


def gpu_rows(bench: pd.DataFrame) -> pd.Series:
    """bench.csv's rows measured on a GPU (`accelerator` names one; "none" on a CPU)."""
    if "accelerator" not in bench:
        return pd.Series(False, index=bench.index)
    named = bench["accelerator"].fillna("none").astype(str).str.strip()
    return ~named.str.lower().isin(("none", "", "nan"))


def bench_speed(bench: pd.DataFrame, arch: str, gpu: bool) -> tuple[float, str] | None:
    """The fastest Keras backend's latest images per second for `arch` in bench.csv, on a GPU
    or on a CPU, and where it comes from (None without a row)."""
    if bench.empty or not {"arch", "backend", "images_per_second"} <= set(bench.columns):
        return None
    on_gpu = gpu_rows(bench)
    latest = views.latest_bench(bench[on_gpu if gpu else ~on_gpu])
    mine = latest[(latest["arch"] == arch) & latest["backend"].isin(backends.BACKENDS)
                  & (latest["images_per_second"] > 0)]
    if mine.empty:
        return None
    row = mine.loc[mine["images_per_second"].idxmax()]
    where = row.get("accelerator") if gpu else row.get("cpu")
    where = f" on {where}" if isinstance(where, str) and where else ""
    return (float(row["images_per_second"]),
            f"bench.csv, {row['backend']}, {row.get('precision', '')}{where}")


@dataclasses.dataclass(frozen=True)
class Setup:
    """One side of a comparison: what it trains (images, epochs) and how fast, here and on a
    GPU."""

    arch: str
    n_train: int
    epochs: int
    cpu: float | None  # images per second of fold training here
    cpu_from: str
    gpu: float | None  # images per second on a GPU (bench.csv)
    gpu_from: str

    def hours(self, choice: Choice, on_gpu: bool = False) -> float | None:
        speed = self.gpu if on_gpu else self.cpu
        if not speed:
            return None
        return choice.trainings * self.n_train * self.epochs / speed / 3600


def _int(value) -> int | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return int(value) if value == value and value > 0 else None


def setup(catalog: readers.Catalog, arch: str, ablation_first: bool = True,
          bench: pd.DataFrame | None = None) -> Setup:
    """How an architecture trains here: the images and epochs of its main ablation (ablation
    claims) or of its main best run (the ranking), the other one after it; their recorded fold
    seconds, else bench.csv (`bench`, read from the catalog's folder unless given)."""
    name = claims.label(arch)
    sources = []
    ablation = selection.main_ablation(catalog, arch)
    if ablation is not None:
        sources.append((f"`{ablation['id']}`", ablation.get("backend"),
                        readers.folder(catalog.root, ablation["id"]),
                        _int(ablation.get("n_train")), _int(ablation.get("epochs"))))
    run = selection.main_run(catalog, arch, "best")
    if run is not None:
        sources.insert(len(sources) if ablation_first else 0,
                       (f"`{run['run_id']}`", run.get("backend"), Path(run["run_dir"]),
                        _int(run.get("n_train")), _int(run.get("epochs"))))
    n_train = next((s[3] for s in sources if s[3]), None)
    epochs = next((s[4] for s in sources if s[4]), None)
    cpu, cpu_from = None, ""
    for label, backend, folder, *_ in sources:
        if cpu := fold_throughput(folder):
            cpu_from = f"{cpu:,.0f} images/s (the fold seconds of {label}, {backend})"
            break
    if bench is None:
        bench = readers.read_csv(Path(catalog.root) / "bench.csv")
    if cpu is None and (found := bench_speed(bench, arch, gpu=False)):
        cpu, cpu_from = found[0], f"{found[0]:,.0f} images/s ({found[1]})"
    if n_train is None:
        main = selection.main_runs(catalog)
        sizes = main["n_train"].dropna() if not main.empty else pd.Series(dtype=float)
        from benchmark.data import OFFICIAL_SIZES

        n_train = int(sizes.max()) if not sizes.empty else OFFICIAL_SIZES["balanced"][0]
    if epochs is None:
        try:
            preset = architectures.get(arch).presets["baseline" if ablation_first else "best"]
            epochs = int(preset["training"]["epochs"])
        except (ValueError, KeyError, TypeError):
            from benchmark.config import TrainConfig

            epochs = TrainConfig.epochs
    trains = f"{n_train:,} training images x {epochs} epochs"
    cpu_from = (f"{name}: {cpu_from} for {trains}" if cpu else
                f"{name}: no fold seconds or bench.csv row to time it by")
    gpu, gpu_from = None, NO_GPU
    if not bench.empty and gpu_rows(bench).any():
        found = bench_speed(bench, arch, gpu=True)
        if found:
            gpu, gpu_from = found[0], f"{name}: {found[0]:,.0f} images/s ({found[1]}) for {trains}"
        else:
            gpu_from = f"no GPU figure for the {name} yet (bench.csv's GPU rows are of others)"
    return Setup(arch, n_train, epochs, cpu, cpu_from, gpu, gpu_from)


def arm_spreads(catalog: readers.Catalog, summary: dict) -> list[float]:
    """s_d of every arm of an ablation against its baseline: the standard deviation of their
    differences on the folds both finished (at least two; arms that collapsed left out)."""
    path = readers.folder(catalog.root, summary["id"])
    base_dir = path / "arms" / "baseline"
    if not (base_dir / "folds.csv").exists():
        return []
    base = readers.fold_accuracies(base_dir)
    out = []
    for arm in sorted(p for p in (path / "arms").iterdir() if p.is_dir()):
        if arm.name == "baseline" or not (arm / "folds.csv").exists():
            continue
        if readers.arm_collapsed(path, arm.name):
            continue
        scores = readers.fold_accuracies(arm)
        shared = scores.index.intersection(base.index)
        diff = (scores[shared] - base[shared]).astype(float).dropna()
        if len(diff) >= 2 and diff.std(ddof=1) > 0:
            out.append(float(diff.std(ddof=1)))
    return out


def family_size(catalog: readers.Catalog, arch: str) -> int:
    """The arms an ablation that runs every claim of `arch` would test at once: those its
    claims name (benchmark/published.py) and those its main ablation has."""
    arms = {arm for claim_arch, _, a, b, *_ in published.COMPARISONS if claim_arch == arch
            for arm in (a, b)}
    main = selection.main_ablation(catalog, arch)
    if main is not None:
        arms |= {p.name for p in (readers.folder(catalog.root, main["id"]) / "arms").glob("*")
                 if p.is_dir()}
    arms.discard("baseline")
    return max(len(arms), 1)


def ranked_pair(claim: str) -> tuple[str, str] | None:
    """The two architectures of a ranking claim ("MLP < CNN (best presets)")."""
    for a, b in zip(published.RANKING, published.RANKING[1:], strict=False):
        if claim == f"{claims.label(a)} < {claims.label(b)} (best presets)":
            return a, b
    return None


# ------------------------------------------------------------------------- the plans


class Stored:
    """What the plans read from an annotated catalog, each part read once."""

    def __init__(self, catalog: readers.Catalog):
        self.catalog = catalog
        self._setups: dict[tuple[str, bool], Setup] = {}
        self._spreads: dict[str, tuple[list[float], str]] = {}
        self.bench = readers.read_csv(Path(catalog.root) / "bench.csv")

    def setup(self, arch: str, ablation_first: bool = True) -> Setup:
        if (arch, ablation_first) not in self._setups:
            self._setups[arch, ablation_first] = setup(self.catalog, arch, ablation_first,
                                                       self.bench)
        return self._setups[arch, ablation_first]

    def spreads(self, arch: str) -> tuple[list[float], str]:
        """The s_d of every arm of the architecture's main ablation, and its id."""
        if arch not in self._spreads:
            main = selection.main_ablation(self.catalog, arch)
            self._spreads[arch] = ((arm_spreads(self.catalog, main), f"`{main['id']}`")
                                   if main is not None else ([], ""))
        return self._spreads[arch]

    def spread(self, arch: str | None) -> tuple[float | None, str]:
        """s_d where a claim has none of its own: the median over the arms of its
        architecture's main ablation, else over every main ablation's arms."""
        found, name = self.spreads(arch) if arch else ([], "")
        if found:
            arms = f"{len(found)} arm{'s' if len(found) > 1 else ''}"
            return (float(pd.Series(found).median()),
                    f"median of {arms} of the {claims.label(arch)}'s main ablation, {name}")
        every = [s for other in architectures.names() for s in self.spreads(other)[0]]
        if every:
            return float(pd.Series(every).median()), f"median of {len(every)} arms of every main ablation"
        return None, "no fold differences stored"


def is_open(claim: dict) -> bool:
    """A paired claim more folds could decide (an architecture's accuracy against the study's
    is one test accuracy, not a paired test)."""
    return (claim.get("_section") != "final"
            and claims.verdict_kind(claim["verdict"]) in OPEN)


def plan_row(stored: Stored, claim: dict, rope: float | None = None) -> dict:
    """One open claim's plan (a row of `plan`)."""
    arch, result = claim.get("_arch"), claim.get("_result") or {}
    pair = ranked_pair(claim["claim"]) if claim.get("_section") == "order" else None
    k0 = claim.get("_folds_per_repeat")
    if k0 is None and pair is not None:  # the ranking: the main best runs' K
        run = selection.main_run(stored.catalog, arch, "best")
        k0 = _int(run["folds"]) if run is not None else None
    s_d = spread(result, k0)
    s_d, s_d_from = ((s_d, f"its own {result['folds']} fold differences") if s_d is not None
                     else stored.spread(arch))
    if result.get("level"):
        level, level_from = float(result["level"]), FAMILY
    else:
        m = len(published.RANKING) - 1 if pair else family_size(stored.catalog, arch)
        level = verdicts.ALPHA / m
        level_from = f"{verdicts.ALPHA} / {m} {'claims' if pair else 'arms'} (Bonferroni guess)"
    if pair is not None:
        study_delta = round(abs(published.FINAL[pair[1]] - published.FINAL[pair[0]]), 6)
        sides = [stored.setup(pair[0], False), stored.setup(pair[1], False)]
    else:
        study_delta = claim.get("_study_delta",
                                published.study_difference(claim.get("study", "")))
        sides = [stored.setup(arch)] * 2  # the arm and the baseline (or the other arm)
    goal, why = target(study_delta, rope or result.get("rope") or verdicts.ROPE)
    row = {"claim": claim["claim"], "verdict": claim["verdict"],
           "budget_now": budget_text(result.get("folds"), k0), "s_d": s_d,
           "s_d_from": s_d_from, "level": level, "level_from": level_from, "target": goal,
           "target_why": why, "folds": None, "repeats": None,
           "plan": "no s_d to plan with: run the ablation first", "smallest_detectable": None,
           "cpu_hours": None, "cpu_from": "; ".join(dict.fromkeys(s.cpu_from for s in sides)),
           "gpu_hours": None, "gpu_from": "; ".join(dict.fromkeys(s.gpu_from for s in sides))}
    if s_d is None:
        return row
    chosen = cheapest(s_d, goal, level)
    if chosen is None:  # the hours are then the largest budget's, which still misses
        best = min(choices(s_d, level), key=lambda c: c.detectable)
        return {**row, **costs(sides, best),
                "plan": f"{UNREACHABLE} ({best.text} detects |Δ| ≥ {best.detectable:.4f})",
                "smallest_detectable": best.detectable}
    done = (result.get("folds") or 0) * (k0 - 1) / k0 if k0 else 0.0
    return {**row, **costs(sides, chosen), "folds": chosen.folds, "repeats": chosen.repeats,
            "plan": chosen.text + (WITHIN if chosen.trainings <= done else ""),
            "smallest_detectable": chosen.detectable}


def costs(sides: list[Setup], choice: Choice) -> dict:
    """The CPU and GPU hours of training both sides at `choice` (None where one has no speed)."""
    cpu = [s.hours(choice) for s in sides]
    gpu = [s.hours(choice, on_gpu=True) for s in sides]
    return {"cpu_hours": sum(cpu) if None not in cpu else None,
            "gpu_hours": sum(gpu) if None not in gpu else None}


def plan(catalog: readers.Catalog, judged: list[dict] | None = None,
         rope: float | None = None) -> pd.DataFrame:
    """The cheapest K folds x R repeats that would decide every open claim, and its cost.

    Args:
        catalog: `selection.annotate(readers.scan(root))`.
        judged: `claims.check(catalog)` when the caller has it already.
        rope: the region of practical equivalence to plan for (default: each claim's own, as
            it was judged, else verdicts.ROPE).

    Returns:
        One row per open claim, in the claims' order (COLUMNS): its verdict and budget now,
        `s_d` and where it came from, the `level` planned at and why, the `target` and why,
        the plan (`folds`, `repeats`, `plan` in words, or UNREACHABLE), its
        `smallest_detectable` (the best reachable where none fits), `cpu_hours` here and
        `gpu_hours` (NaN without a figure; `cpu_from`, `gpu_from` say what they rest on).
    """
    judged = claims.check(catalog) if judged is None else judged
    stored = Stored(catalog)
    table = pd.DataFrame([plan_row(stored, claim, rope) for claim in judged if is_open(claim)],
                         columns=COLUMNS)
    for column in ("s_d", "level", "target", "smallest_detectable", "cpu_hours", "gpu_hours"):
        table[column] = pd.to_numeric(table[column]).astype(float)
    for column in ("folds", "repeats"):
        table[column] = pd.to_numeric(table[column]).astype("Int64")
    return table


# ------------------------------------------------------------------------- showing them


def hours_text(value) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The plans as the report and the console show them: numbers rounded, sources short."""
    return pd.DataFrame({
        "claim": table["claim"], "verdict now": table["verdict"],
        "budget now": table["budget_now"].fillna("–"),
        "s_d (from)": [f"{readers.fmt(s)} ({why})" for s, why in
                       zip(table["s_d"], table["s_d_from"], strict=True)],
        "level": [readers.fmt(v) + ("" if why == FAMILY else f" ({why})")
                  for v, why in zip(table["level"], table["level_from"], strict=True)],
        "target": [f"{readers.fmt(t)}, {why}" for t, why in
                   zip(table["target"], table["target_why"], strict=True)],
        "plan": table["plan"], "detects |Δ| ≥": table["smallest_detectable"].map(readers.fmt),
        "CPU hours here": table["cpu_hours"].map(hours_text),
        "GPU hours": table["gpu_hours"].map(hours_text)})


def notes(table: pd.DataFrame) -> list[str]:
    """What the hours and the levels rest on, each said once."""
    lines = []
    for column, title in (("cpu_from", "CPU hours here"), ("gpu_from", "GPU hours"),
                          ("level_from", "Levels")):
        said = dict.fromkeys(part for text in table[column] for part in str(text).split("; ")
                             if part)
        if said:
            lines.append(f"{title}: " + "; ".join(said) + ".")
    return lines


def markdown(table: pd.DataFrame) -> str:
    """The plans as a Markdown section body: what they assume, the table, what the hours rest
    on (no heading: the report gives it one)."""
    if table.empty:
        return "Every claim that ran here is decided: no plan needed.\n"
    return (ASSUMPTIONS + "\n\n" + markdown_table(shown(table)) + "\n"
            + "\n".join(f"- {line}" for line in notes(table)) + "\n")


def console(table: pd.DataFrame) -> str:
    """The plans as the command prints them: one line per claim, then the notes."""
    if table.empty:
        return "Every claim that ran here is decided: no plan needed."
    frame = pd.DataFrame({
        "claim": table["claim"], "now": table["verdict"].map(claims.verdict_kind),
        "K x R now": table["budget_now"].fillna("–").str.replace(
            r" folds x (\d+) repeats?$", r" x \1", regex=True),
        "s_d": table["s_d"].map(readers.fmt), "from": table["s_d_from"].map(
            lambda t: "own" if t.startswith("its own") else
            "arch" if "main ablation, " in t else "all" if "every" in t else "–"),
        "level": table["level"].map(lambda v: readers.fmt(v, ".4f")),
        "target": table["target"].map(readers.fmt),
        "for": table["target_why"].map(lambda t: "study Δ" if t.startswith("the study") else "rope"),
        "K x R": [("unreachable" if p.startswith(UNREACHABLE) else "–") if pd.isna(k) else
                  f"{k} x {r}" + (" (≤ now)" if p.endswith(WITHIN) else "")
                  for p, k, r in zip(table["plan"], table["folds"], table["repeats"],
                                     strict=True)],
        "detects": table["smallest_detectable"].map(readers.fmt),
        "CPU h": table["cpu_hours"].map(hours_text), "GPU h": table["gpu_hours"].map(hours_text)})
    widths = {c: max(len(c), *frame[c].astype(str).map(len)) for c in frame.columns}
    lines = [frame.to_string(index=False, justify="left", formatters={
        c: f"{{:<{w}}}".format for c, w in widths.items()}), "",
             "s_d from: own = the claim's own fold differences; arch = the median over the arms "
             "of its architecture's main ablation; all = over every main ablation's arms.",
             "unreachable: " + UNREACHABLE + " (the 1/(K-1) term of the corrected variance does "
             f"not shrink with more repeats); `detects` is then what {FOLDS[-1]} x {REPEATS[-1]} "
             "would, and the hours what it would cost.",
             "≤ now: no more training than the budget already run.", ASSUMPTIONS,
             *notes(table)]
    sources = sorted({t for t in table["s_d_from"] if not t.startswith("its own")})
    if sources:
        lines.append("s_d pooled: " + "; ".join(sources) + ".")
    return "\n".join(lines)


def run(args) -> int:
    """`emnist-bench plan`: the plans for the stored results, printed."""
    from benchmark import results
    from benchmark.arguments import UsageError

    root = Path(args.results_dir or results.default_root())
    if not root.is_dir():
        raise UsageError(f"no results folder at {root}; run `emnist-bench study --arch mlp` "
                         "first, or pass --results-dir")
    catalog = selection.annotate(readers.scan(root))
    print(console(plan(catalog, rope=args.rope)))
    return 0
