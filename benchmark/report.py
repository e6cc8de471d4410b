"""`emnist-bench report`: results/REPORT.md and its figures, generated from the stored results.

    emnist-bench report                 # reads results/, writes results/REPORT.md + figures/

Nothing is trained and no number is typed: every figure comes from the run, ablation, study
and bench tables under the results folder, read through benchmark.readers (the app's reader).
Every table names the data each number came from (split, official or not, sizes) and its
budget (folds x epochs, --limit). The study's own numbers (benchmark/STUDY.md, "Published
numbers") appear only as the "study" column of the claims table, and a ByMerge-derived result
is never compared with them as if it were an EMNIST Balanced one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark import architectures, paired, provenance, published, readers, results  # noqa: E402

FIGURES = readers.FIGURES  # results/figures/


def label(arch: str) -> str:
    """How the report writes an architecture: its registry label (an unknown one as named)."""
    try:
        return architectures.get(arch).label
    except ValueError:
        return arch


# ------------------------------------------------------------------------- statistics


def claim_verdict(test: dict, sign: int, p_adjusted: float | None) -> str:
    """agrees / contradicts (adjusted p < ALPHA, the sign as claimed or not) / within noise."""
    if test["folds"] < 2:
        return "not enough folds"
    if test["p_value"] is None:  # every fold's difference the same: no t statistic
        if abs(test["delta"]) < 1e-12:
            return "no difference (identical fold accuracies: the arm trained the same at this budget)"
        return "not tested (the same difference on every fold: no variance to test it with)"
    if p_adjusted is None or p_adjusted >= readers.ALPHA:
        return "within noise"
    return "agrees" if np.sign(test["delta"]) == sign else "contradicts"


def judge(claims: list[dict]) -> list[dict]:
    """The claims table's verdicts: every claim that has a paired test gets its p-value
    adjusted across the report's claims (Benjamini-Hochberg), then its verdict from that; the
    others keep the verdict they came with."""
    adjusted = paired.adjust([c["_test"]["p_value"] if "_test" in c else None for c in claims])
    family = sum(p is not None for p in adjusted)
    out = []
    for claim, p in zip(claims, adjusted, strict=True):
        claim = dict(claim)
        test = claim.pop("_test", None)
        sign = claim.pop("_sign", 1)
        note = claim.pop("_note", "")
        if test is not None:
            claim["ours"] += (f"; p {fmt(test['p_value'], '.3f')}, adjusted {fmt(p, '.3f')}, "
                              f"plain t {fmt(test['p_plain'], '.3f')}")
            claim["verdict"] = claim["_judged"] = claim_verdict(test, sign, p)
            if note:
                claim["verdict"] += f" ({note})"
            # What the plain paired t-test alone, unadjusted, would have said.
            plain = dict(test, p_value=test["p_plain"])
            claim["_plain_verdict"] = claim_verdict(plain, sign, test["p_plain"])
            claim["_why"] = (
                f"corrected p {fmt(test['p_value'], '.3f')} against the plain test's "
                f"{fmt(test['p_plain'], '.3f')}"
                + ("" if test["p_value"] is None or test["p_value"] >= readers.ALPHA else
                   f", then {fmt(p, '.3f')} adjusted across the {family} tested claims"))
        out.append(claim)
    return out


# ------------------------------------------------------------------------- reading


def studies(root: Path) -> pd.DataFrame:
    """Every study folder's study.csv, with its arch, backend, data and budget."""
    frames = []
    for path in sorted(root.glob("*/study.csv")):
        config = readers.read_json(path.parent / "config.json")
        table = readers.read_csv(path)
        if table.empty:
            continue
        budget = config.get("budget") or {}
        # From the parts' runs, so a study run across invocations (or by an older version,
        # whose study.csv counted only the last invocation's wall time) reads the same.
        table["seconds"] = readers.parts_seconds(root, table["run_id"])
        table.insert(0, "study", path.parent.name)
        table.insert(1, "arch", config.get("arch"))
        table.insert(2, "backend", config.get("backend"))
        table.insert(3, "data", readers.data_label(config.get("data") or {}))
        precision = ((config.get("base") or {}).get("training") or {}).get("precision")
        table.insert(4, "budget", budget_text(budget.get("folds"), budget.get("epochs"),
                                              budget.get("limit"), precision,
                                              budget.get("repeats")))
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def budget_text(folds, epochs, limit, precision=None, repeats=None) -> str:
    def given(value):
        return value is not None and value == value

    text = f"{int(folds)} folds" if given(folds) else "? folds"
    text += f" x {int(repeats)} repeats" if given(repeats) and int(repeats) > 1 else ""
    text += f" x {int(epochs)} epochs" if given(epochs) else " x preset epochs"
    text += f", --limit {int(limit):,}" if given(limit) else ""
    return text + (", mixed_bfloat16" if precision == "mixed_bfloat16" else "")


def complete_runs(catalog: readers.Catalog) -> pd.DataFrame:
    runs = catalog.runs
    if runs.empty:
        return runs
    runs = runs[runs["status"] == "complete"].copy()
    repeats = runs["repeats"] if "repeats" in runs else [None] * len(runs)
    runs["budget"] = [budget_text(f, e, lim, p, r) for f, e, lim, p, r in
                      zip(runs["folds"], runs["epochs"], runs["limit"], runs["precision"],
                          repeats, strict=True)]
    return runs


def fold_accuracies(run_dir: Path) -> pd.Series:
    folds = readers.read_csv(Path(run_dir) / "folds.csv")
    if folds.empty:
        return pd.Series(dtype=float)
    return folds.set_index("fold")["val_accuracy"].sort_index()


def candidates(runs: pd.DataFrame, arch: str, preset: str = "best",
               studied: frozenset = frozenset()) -> pd.DataFrame:
    """An architecture's runs of a preset (and a study's `best` parts, whatever their label),
    the one to report first: a study's run, then official data, then the most training images,
    then the most folds, then the newest."""
    chosen = runs[(runs["arch"] == arch)
                  & ((runs["preset"] == preset) | runs["run_id"].isin(studied))]
    chosen = chosen.assign(_official=chosen["official"].astype(bool),
                           _studied=chosen["run_id"].isin(studied))
    return chosen.sort_values(["_studied", "_official", "n_train", "folds", "created"],
                              ascending=False)


def representative(runs: pd.DataFrame, arch: str, preset: str = "best",
                   studied: frozenset = frozenset()) -> pd.Series | None:
    """The run of an architecture's preset to report (the first of `candidates`)."""
    chosen = candidates(runs, arch, preset, studied)
    return None if chosen.empty else chosen.iloc[0]


def ablations_by_arch(root: Path, catalog: readers.Catalog) -> dict[str, list[dict]]:
    """Per architecture its ablations, the one to judge a claim on first: official data, then
    the most training images, then the most arms, then the newest."""
    found: dict[str, list[dict]] = {}
    for summary in catalog.ablations:
        path = readers.folder(root, summary["id"])
        config = readers.read_json(path / "config.json")
        n_train = (config.get("data") or {}).get("n_train_used") or 0
        key = (readers.is_official(config.get("data") or {}), n_train, summary["arms"],
               str(summary.get("created")))
        found.setdefault(summary["arch"], []).append(
            {"key": key, "id": summary["id"], "path": path, "config": config,
             "notes": arm_notes(path)})
    return {arch: sorted(items, key=lambda a: a["key"], reverse=True)
            for arch, items in found.items()}


def arm_folds(ablation: dict, arm: str) -> pd.Series | None:
    arm_dir = ablation["path"] / "arms" / arm
    return fold_accuracies(arm_dir) if (arm_dir / "folds.csv").exists() else None


def idle_schedule(training: dict) -> str:
    """Why an arm's StepLR never changed its learning rate ("" when it did or is not StepLR):
    with no more epochs than its step size it trains at a constant rate, so a claim about
    StepLR is not tested by it at this budget."""
    epochs, step = training.get("epochs"), training.get("step_size")
    if training.get("schedule") != "step" or not epochs or not step or epochs > step:
        return ""
    return f"did not step: StepLR (step {step}) never decays within {epochs} epochs"


def arm_notes(ablate_dir: Path) -> dict[str, str]:
    """Arm -> why its delta is not about its factor alone: it learned nothing ("collapsed:
    ...", as ablations.csv says), or its StepLR never stepped (its config.json)."""
    table = readers.read_csv(ablate_dir / "ablations.csv", keep_default_na=False)
    notes = ({arm: [str(why)] for arm, why in zip(table["arm"], table["collapsed"], strict=True)
              if why} if "collapsed" in table and "arm" in table else {})
    for config in sorted(Path(ablate_dir).glob("arms/*/config.json")):
        training = (readers.read_json(config).get("run") or {}).get("training") or {}
        if why := idle_schedule(training):
            notes.setdefault(config.parent.name, []).append(why)
    return {arm: ", ".join(whys) for arm, whys in notes.items()}


# ------------------------------------------------------------------------- figures


def save(fig, root: Path, name: str) -> str:
    """Write a figure under results/figures/ (atomically); its path relative to REPORT.md."""
    folder = root / FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(folder / name)
    return f"{FIGURES}/{name}"


def presets_figure(root: Path, table: pd.DataFrame) -> str | None:
    if table.empty:
        return None
    labels = [f"{label(r.arch)} {r.preset} ({r.backend})\n{r.data}\n{r.budget}"
              for r in table.itertuples()]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(table)), 4.5))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["cv_mean"], 0.4, yerr=table["cv_std"].fillna(0), capsize=3,
           label="CV mean ± std (validation)")
    ax.bar(x + 0.2, table["test_accuracy"], 0.4, label="test")
    ax.set_xticks(x, labels, fontsize=6, rotation=35, ha="right")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Baseline and best presets")
    return save(fig, root, "presets.png")


def ablation_figure(root: Path, arch: str, name: str, table: pd.DataFrame) -> str | None:
    arms = table[~table["baseline"]].dropna(subset=["delta"])
    if arms.empty:
        return None
    low = arms["ci_low"] if "ci_low" in arms else arms["delta"]
    high = arms["ci_high"] if "ci_high" in arms else arms["delta"]
    spread = np.nan_to_num(np.vstack([arms["delta"] - low, high - arms["delta"]]))
    colours = {"real difference: better": "tab:green", "real difference: worse": "tab:red"}
    verdicts = [readers.verdict(readers.verdict_p(r), r["delta"]) for _, r in arms.iterrows()]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(arms) + 1.2))
    y = np.arange(len(arms))
    ax.barh(y, arms["delta"], xerr=spread, capsize=2,
            color=[colours.get(v, "tab:gray") for v in verdicts])
    ax.set_yticks(y, [f"{f} = {v}" for f, v in zip(arms["factor"], arms["value"], strict=True)],
                  fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("validation accuracy minus the baseline's, same folds (mean, 95% interval)")
    ax.set_title(f"{label(arch)} ablation: green/red = corrected paired test, adjusted p < "
                 f"{readers.ALPHA}; grey = within noise", fontsize=9)
    return save(fig, root, f"{name}.png")


def confusion_figure(root: Path, arch: str, run_dir: Path, pairs: pd.DataFrame) -> str | None:
    table, images = readers.read_misclassified(run_dir)
    if images is None or pairs.empty:
        return None
    rows = pairs.head(6)
    per_row = 6
    fig, axes = plt.subplots(len(rows), per_row, figsize=(per_row * 1.1, len(rows) * 1.25))
    axes = np.atleast_2d(axes)
    for i, pair in enumerate(rows.itertuples()):
        picked = table.index[table["has_image"] & (
            ((table["true_char"] == pair.a) & (table["predicted_char"] == pair.b))
            | ((table["true_char"] == pair.b) & (table["predicted_char"] == pair.a)))]
        for j in range(per_row):
            ax = axes[i, j]
            ax.axis("off")
            if j < len(picked):
                k = picked[j]
                ax.imshow(images[k], cmap="gray_r")
                ax.set_title(f"{table.at[k, 'true_char']}→{table.at[k, 'predicted_char']}",
                             fontsize=8)
    fig.suptitle(f"{label(arch)}: misclassified test images of the most confused "
                 "pairs (true→predicted)", fontsize=9)
    return save(fig, root, f"confusions-{arch}.png")


def parity_figure(root: Path, groups: pd.DataFrame) -> str | None:
    if groups.empty:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    labels = [f"{r.arch} {r.preset}\n{r.backend}" for r in groups.itertuples()]
    x = np.arange(len(groups))
    left.bar(x, groups["test_accuracy"])
    left.set_xticks(x, labels, fontsize=7)
    left.set_ylabel("test accuracy")
    right.bar(x, groups["seconds"] / 60)
    right.set_xticks(x, labels, fontsize=7)
    right.set_ylabel("minutes (CV + final model)")
    fig.suptitle("The same configuration, seed and data on each backend", fontsize=9)
    return save(fig, root, "backends.png")


GROUP_COLOURS = {"convolution": "tab:blue", "matrix multiply": "tab:cyan",
                 "pooling": "tab:purple", "reductions": "tab:orange",
                 "elementwise and casts": "tab:red", "other": "tab:gray"}


def profile_figure(root: Path, groups: pd.DataFrame) -> str | None:
    """Stacked bars: each side's profiled ms per step by operator group, one panel per
    architecture and precision."""
    if groups.empty:
        return None
    panels = list(groups.groupby(["arch", "precision"], sort=True))
    height = sum(0.9 + 0.35 * frame["side"].nunique() for _, frame in panels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, height), squeeze=False)
    for ax, ((arch, precision), frame) in zip(axes[:, 0], panels, strict=True):
        table = frame.pivot_table(index="side", columns="group", values="ms_per_step",
                                  aggfunc="sum", fill_value=0.0)
        left = np.zeros(len(table))
        for group, colour in GROUP_COLOURS.items():
            if group in table:
                ax.barh(table.index, table[group], left=left, color=colour, label=group)
                left += table[group].to_numpy()
        ax.set_title(f"{label(arch)}, {precision}", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("profiled ms per training step (batch 128)", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=7,
               bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    return save(fig, root, "profiles.png")


# ------------------------------------------------------------------------- sections


def fmt(value, spec=".4f") -> str:
    return "–" if value is None or value != value else format(value, spec)


def markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_none yet_\n"
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def image(path: str | None, alt: str) -> str:
    return f"\n![{alt}]({path})\n" if path else ""


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Complete runs as the report shows them: who, on what data and budget, how well, how long."""
    return pd.DataFrame({
        "arch": runs["arch"].map(label).to_numpy(), "preset": runs["preset"].to_numpy(),
        "backend": runs["backend"].to_numpy(), "data": runs["data"].to_numpy(),
        "budget": runs["budget"].to_numpy(),
        "CV accuracy (mean ± std)": [f"{fmt(m)} ± {fmt(s)}" + (f" ({c})" if isinstance(c, str)
                                                                  and c else "")
                                     for m, s, c in zip(runs["cv_mean"], runs["cv_std"],
                                                        runs.get("collapsed", [""] * len(runs)),
                                                        strict=True)],
        "test accuracy": runs["test_accuracy"].map(fmt).to_numpy(),
        "minutes": (runs["seconds"] / 60).map(lambda v: fmt(v, ".1f")).to_numpy()})


def presets_section(root: Path, runs: pd.DataFrame) -> str:
    table = runs[runs["preset"].isin(["baseline", "best"])] if not runs.empty else runs
    if table.empty:
        return "## Baseline vs best\n\n_No complete preset runs yet: `emnist-bench study --arch all`._\n"
    table = table.assign(_order=table["arch"].map({a: i for i, a in enumerate(architectures.names())}))
    table = table.sort_values(["data", "_order", "preset", "backend"])
    shown = runs_table(table).assign(run=table["run_id"].to_numpy())
    figure = presets_figure(root, table)
    return ("## Baseline vs best, per architecture\n\nEvery complete `baseline` and `best` run. "
            "CV = mean ± std of the validation accuracy over the folds; test = the final model "
            "(trained on the whole training split) on the test split.\n\n"
            + markdown(shown) + image(figure, "baseline and best presets"))


def ablation_section(root: Path, arch: str, ablation: dict) -> str:
    config = ablation["config"]
    table = readers.read_csv(ablation["path"] / "ablations.csv",
                            dtype={"value": str, "factor": str}, keep_default_na=False,
                            na_values={c: [""] for c in ("val_accuracy_mean", "val_accuracy_std",
                                                         "delta", "test_accuracy",
                                                         *readers.P_COLUMNS)})
    if table.empty:
        return ""
    table["baseline"] = table["baseline"].astype(str).str.lower() == "true"
    numeric = ["val_accuracy_mean", "val_accuracy_std", "test_accuracy", "delta",
               *readers.P_COLUMNS, *[c for c in table.columns if c.startswith("fold_")]]
    for column in numeric:
        if column in table:  # an unfinished arm leaves its cells empty
            table[column] = pd.to_numeric(table[column], errors="coerce")
    if "status" not in table:  # written before ablations.csv had it
        table["status"] = np.where(table["test_accuracy"].notna(), "complete", "incomplete")
    base = config.get("base") or {}
    training = base.get("training") or {}
    budget = budget_text(base.get("folds"), training.get("epochs"), base.get("limit"),
                         training.get("precision"), base.get("repeats"))
    notes = [ablation["notes"].get(arm, "") for arm in table.get("arm", [""] * len(table))]
    shown = pd.DataFrame({
        "factor": table["factor"], "value": table["value"].replace("", "(baseline)"),
        "status": [f"{st}, {n}" if n else st for st, n in zip(table["status"], notes,
                                                               strict=True)],
        "CV accuracy (mean ± std)": [f"{fmt(m)} ± {fmt(s)}" for m, s in zip(
            table["val_accuracy_mean"], table["val_accuracy_std"], strict=True)],
        "delta vs baseline": table["delta"].map(lambda v: fmt(v, "+.4f")),
        "95% interval": [readers.interval(r.get("ci_low"), r.get("ci_high"))
                         for _, r in table.iterrows()],
        "p (corrected)": table["p_value"].map(lambda v: fmt(v, ".3f")),
        "p (adjusted)": table.get("p_adjusted", table["p_value"] * np.nan).map(
            lambda v: fmt(v, ".3f")),
        "p (plain t)": table.get("p_plain", table["p_value"] * np.nan).map(
            lambda v: fmt(v, ".3f")),
        "verdict": ["baseline" if r["baseline"] else readers.verdict(readers.verdict_p(r),
                                                                     r["delta"])
                    for _, r in table.iterrows()],
        "test accuracy": table["test_accuracy"].map(fmt)})
    figure = ablation_figure(root, arch, ablation["id"], table)
    data = readers.data_label(config.get("data") or {})
    return (f"### {label(arch)}: `{ablation['id']}`\n\n"
            f"Data: {data}. Budget: {budget}, backend {config.get('backend')}. Each arm changes "
            "one factor of the baseline; every arm is trained on the same folds as the "
            "baseline, so `delta` is paired fold by fold ("
            f"{table['test'].iloc[0] if 'test' in table else config.get('test')}); an adjusted "
            f"p < {readers.ALPHA} is called a real difference.\n\n"
            + markdown(shown) + image(figure, f"{arch} ablation"))


def changes_section(claims: list[dict]) -> str:
    """The claims whose verdict the corrected, adjusted test changed from the plain t-test's."""
    changed = [{"claim": c["claim"], "plain paired t-test": c["_plain_verdict"],
                "now": c["verdict"], "why": c["_why"]}
               for c in claims if "_plain_verdict" in c and c["_plain_verdict"] != c["_judged"]]
    tested = sum("_plain_verdict" in c for c in claims)
    text = ("## Verdicts the corrected test changed\n\nThe claims judged by a paired test "
            f"({tested} of them) were first judged by the plain paired t-test at p < "
            f"{readers.ALPHA}, with no adjustment. The folds of one cross-validation share most "
            "of their training images, so their scores are correlated and the plain test's "
            "variance is too small (Nadeau & Bengio 2003); and testing many claims at once "
            "finds some by chance, which the Benjamini-Hochberg adjustment controls. ")
    if not changed:
        return text + "No verdict changed.\n"
    return text + f"These {len(changed)} changed:\n\n" + markdown(pd.DataFrame(changed))


def same_budget(ra: pd.Series, rb: pd.Series) -> bool:
    """Two runs trained on the same data and folds (data, seed, folds, training images) with
    the same budget per preset (folds, repeats, epochs, limit, precision)."""
    return (ra["digest"] is not None and rb["digest"] is not None
            and readers.same_folds(ra, rb) and ra["budget"] == rb["budget"])


def learned(run: pd.Series) -> bool:
    """False for a run flagged in runs.csv as having learned nothing ("collapsed: ...")."""
    collapsed = run.get("collapsed")
    return not (isinstance(collapsed, str) and collapsed)


def comparison_claims(runs: pd.DataFrame, studied: frozenset) -> list[dict]:
    """MLP < CNN < ResNet on the best presets, as claims (judged with the others by `judge`).

    Matched budgets only: of each architecture's best-preset runs (in the order of
    `candidates`), the first pair that trained on the same data and folds with the same budget
    (same_budget), neither of them collapsed, is tested; with no such pair, the representatives
    are shown with the verdict "not comparable (different data or budget)" and no test."""
    found = ({arch: [row for _, row in candidates(runs, arch, studied=studied).iterrows()]
              for arch in architectures.names()} if not runs.empty else {})
    claims = []
    for a, b in zip(published.RANKING, published.RANKING[1:], strict=False):
        if not found.get(a) or not found.get(b):
            continue
        pairs = [(ra, rb) for ra in found[a] for rb in found[b]
                 if same_budget(ra, rb) and learned(ra) and learned(rb)]
        matched = bool(pairs)
        ra, rb = pairs[0] if matched else (found[a][0], found[b][0])
        fa, fb = fold_accuracies(ra["run_dir"]), fold_accuracies(rb["run_dir"])
        claim = {"claim": f"{label(a)} < {label(b)} (best presets)",
                 "study": f"{published.FINAL[a]} < {published.FINAL[b]} (test)",
                 "ours": f"CV {fmt(fa.mean())} vs {fmt(fb.mean())}",
                 "data and budget": (f"{ra['data']}; {ra['budget']} (`{ra['run_id']}` vs "
                                     f"`{rb['run_id']}`)" if matched else
                                     f"{ra['data']}; {ra['budget']} / {rb['data']}; "
                                     f"{rb['budget']}"),
                 "verdict": "not comparable (different data or budget)"}
        if matched:
            claim["_test"] = paired.compare(fb, fa, int(ra["folds"]))
            claim["ours"] += f" (Δ {fmt(claim['_test']['delta'], '+.4f')})"
            claim["_sign"] = 1
        claims.append(claim)
    return claims


def comparison_section(claims: list[dict]) -> str:
    """The judged MLP < CNN < ResNet claims as their own section."""
    if not claims:
        return ""
    return ("## MLP < CNN < ResNet\n\nThe best preset of each architecture, compared on "
            "validation accuracy over the same folds where both have a run on the same data "
            "with the same budget, neither of which learned nothing (the first such pair in "
            "the report's order of runs: a study's first, then official data, then the largest "
            "training set; the corrected paired test, its p-value adjusted with the report's "
            "other claims); otherwise each one's representative run is shown, not judged."
            "\n\n" + markdown(pd.DataFrame(claims, columns=[
                "claim", "study", "ours", "data and budget", "verdict"])))


def confusions_section(root: Path, runs: pd.DataFrame, studied: frozenset) -> str:
    parts = ["## Most confused characters\n"]
    for arch in architectures.names():
        rep = representative(runs, arch, studied=studied) if not runs.empty else None
        if rep is None:
            continue
        run_dir = Path(rep["run_dir"])
        pairs = readers.confused_pairs(readers.read_confusion(run_dir), top=8)
        figure = confusion_figure(root, arch, run_dir, pairs)
        parts.append(f"### {label(arch)} best (`{rep['run_id']}`, test split of {rep['data']})\n\n"
                     + markdown(pairs) + image(figure, f"{arch} confusions"))
    return "\n".join(parts)


def parity_section(root: Path, runs: pd.DataFrame) -> str:
    groups = readers.backend_groups(runs) if not runs.empty else runs
    if groups.empty:
        return "## Backend parity\n\n_No configuration has run on more than one backend yet._\n"
    shown = runs_table(groups).assign(**{"configuration digest": groups["digest"].to_numpy()})
    figure = parity_figure(root, groups)
    return ("## Backend parity\n\nThe same configuration, data and seed (same digest) on each "
            "Keras backend. Backends draw different random numbers from the same seed, so "
            "accuracies differ within fold noise, not bit for bit.\n\n"
            + markdown(shown) + image(figure, "backend parity"))


def precision_section(runs: pd.DataFrame) -> str:
    groups = readers.precision_groups(runs) if not runs.empty else runs
    if groups.empty:
        return ""
    shown = runs_table(groups).assign(precision=groups["precision"].to_numpy(),
                                      run=groups["run_id"].to_numpy())
    return ("## Precision parity\n\nThe same configuration, data, seed and backend in float32 "
            "and in mixed_bfloat16 (the `--precision auto` default for the CNN and ResNet on "
            "TensorFlow and PyTorch where the CPU has bf16). Minutes are wall time on a shared "
            "2-core machine, not a speed measurement: `emnist-bench bench` is.\n\n"
            + markdown(shown))


def final_claims(runs: pd.DataFrame, studied: frozenset) -> list[dict]:
    rows = []
    for arch in architectures.names():
        rep = representative(runs, arch, studied=studied) if not runs.empty else None
        if rep is None:
            continue
        ours = f"test {fmt(rep['test_accuracy'])} (CV {fmt(rep['cv_mean'])} ± {fmt(rep['cv_std'])})"
        if not rep["official"]:
            verdict = "not comparable (not the official Balanced split)"
        else:
            noise = 2 * (rep["cv_std"] if rep["cv_std"] == rep["cv_std"] else 0.0)
            gap = rep["test_accuracy"] - published.FINAL[arch]
            verdict = ("within noise" if abs(gap) <= noise else
                       ("agrees" if gap > 0 else "contradicts"))
        rows.append({"claim": f"{label(arch)} best reaches {published.FINAL[arch]} test accuracy",
                     "study": f"{published.FINAL[arch]} (official Balanced test)", "ours": ours,
                     "data and budget": f"{rep['data']}; {rep['budget']}", "verdict": verdict})
    return rows


def ablation_claims(ablations: dict[str, list[dict]]) -> list[dict]:
    """Each comparison claim, judged on the first ablation of its architecture that ran both
    of its arms."""
    rows = []
    for arch, claim, a, b, sign, study_text in published.COMPARISONS:
        found = None
        for ablation in ablations.get(arch, []):
            fa, fb = arm_folds(ablation, a), arm_folds(ablation, b)
            if fa is not None and fb is not None and not fa.empty and not fb.empty:
                found = ablation
                break
        if found is None:
            rows.append({"claim": f"{label(arch)}: {claim}", "study": study_text,
                         "ours": "–", "data and budget": "", "verdict": "not run here"})
            continue
        config = found["config"].get("base") or {}
        test = paired.compare(fa, fb, int(config.get("folds") or 5))
        training = config.get("training") or {}
        budget = budget_text(config.get("folds"), training.get("epochs"), config.get("limit"),
                             training.get("precision"), config.get("repeats"))
        data = readers.data_label(found["config"].get("data") or {})
        # An arm that learned nothing, or a StepLR arm that never stepped: its delta is not
        # about the factor alone (said beside the verdict, which judge() writes).
        broken = [f"{arm} {why}" for arm in (a, b) if (why := found["notes"].get(arm))]
        rows.append({"claim": f"{label(arch)}: {claim}", "study": study_text,
                     "ours": f"{fmt(test['a'])} vs {fmt(test['b'])} "
                             f"(Δ {fmt(test['delta'], '+.4f')}, 95% "
                             f"{readers.interval(test['ci_low'], test['ci_high'])})",
                     "data and budget": f"{data}; {budget} (`{found['id']}`)",
                     "verdict": "", "_test": test, "_sign": sign,
                     "_note": "; ".join(broken)})
    return rows


def studies_section(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    shown = table[["study", "arch", "backend", "data", "budget", "part", "status",
                   "run_id", "seconds"]].copy()
    shown["minutes"] = (shown.pop("seconds") / 60).map(lambda v: fmt(v, ".1f"))
    return ("## Studies run\n\n`emnist-bench study` invocations and the training time each "
            "part's runs recorded (every finished fold and the final fit, over however many "
            "invocations it took; a fold lost to a kill is not counted).\n\n" + markdown(shown))


def bench_section(root: Path) -> str:
    bench = readers.read_csv(root / "bench.csv")
    if bench.empty:
        return ""
    latest = readers.latest_bench(bench)
    shown = latest[["arch", "precision", "backend", "batch_size", "images_per_second",
                    "vs_peer", "peak_memory_mb", "other_cpu", "code_version"]].copy()
    shown["images_per_second"] = shown["images_per_second"].map(lambda v: fmt(v, ",.0f"))
    shown["peak_memory_mb"] = shown["peak_memory_mb"].map(lambda v: fmt(v, ",.0f"))
    ran_on = latest.reindex(columns=["cpu", "cores"]).astype("string").fillna("?")
    ran_on = ran_on["cpu"] + ", " + ran_on["cores"].str.removesuffix(".0") + " cores"
    if ran_on.nunique() == 1:
        where = f"on {ran_on.iloc[0]}"
    else:  # figures from different machines do not compare: each row names its own
        where = "on the machine in each row's `cpu`"
        shown.insert(4, "cpu", ran_on)
    return (f"## Training throughput (`emnist-bench bench`)\n\nLatest measurement per "
            f"configuration {where}; `pytorch` is the plain PyTorch loop, `vs_peer` the ratio "
            "to it (within one invocation, on one machine).\n\n" + markdown(shown))


def profile_section(root: Path) -> str:
    groups = readers.profile_groups(root)
    if groups.empty:
        return ""
    shown = groups.assign(
        share=groups["share"].map(lambda v: f"{v:.0%}"),
        ms_per_step=groups["ms_per_step"].map(lambda v: fmt(v, ",.1f")))
    shown = shown.pivot_table(index=["arch", "precision", "group"], columns="side",
                              values="share", aggfunc="first", fill_value="–").reset_index()
    walls = groups.drop_duplicates(["arch", "precision", "side"])
    wall_rows = walls.pivot_table(index=["arch", "precision"], columns="side",
                                  values="wall_ms_per_step", aggfunc="first").reset_index()
    wall_rows.insert(2, "group", "wall ms per step (profiler on)")
    for column in wall_rows.columns[3:]:
        wall_rows[column] = wall_rows[column].map(lambda v: fmt(v, ",.1f"))
    shown = pd.concat([shown, wall_rows], ignore_index=True).sort_values(
        ["arch", "precision"], kind="stable").fillna("–")
    return ("## Where a training step's time goes (`emnist-bench profile`)\n\nShare of each "
            "side's profiled operator time by group, from each framework's own profiler "
            "(torch.profiler; tf.profiler and jax.profiler read with xprof; on JAX an "
            "operator is an XLA:CPU thunk). The profilers differ, so compare shares, not "
            "milliseconds; `results/profiles/*.csv` have every operator.\n\n"
            + markdown(shown) + image(profile_figure(root, groups), "profiled time by group"))


def build(root: Path | str) -> Path:
    """Write results/REPORT.md (and results/figures/*.png) from the results under `root`."""
    root = Path(root)
    catalog = readers.scan(root)
    runs = complete_runs(catalog)
    ablations = ablations_by_arch(root, catalog)
    study_table = studies(root)
    # A study's `best` part (the ResNet's is its baseline run: the same configuration).
    studied = (frozenset(study_table.loc[study_table["part"] == "best", "run_id"].dropna())
               if not study_table.empty else frozenset())
    order_claims = comparison_claims(runs, studied) if not runs.empty else []
    final = final_claims(runs, studied)
    claims = judge(final + order_claims + ablation_claims(ablations))
    comparison = comparison_section(claims[len(final):len(final) + len(order_claims)])
    data_seen = sorted(set(runs["data"])) if not runs.empty else []
    notes = [f"- **{label}**" for label in data_seen]
    sections = [
        "# EMNIST study, rerun by emnist-bench\n",
        f"Generated by `emnist-bench report` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC at code version "
        f"`{provenance.code_version()}`, from the tables under `results/` (see "
        "`results/README.md`). Nothing here is typed by hand except the study's own numbers "
        "(benchmark/STUDY.md), which appear only in the claims table's *study* column.\n",
        "Data behind these numbers (a split that is not the official Balanced one — such as "
        "`bymerge`, the ByMerge test split re-split 6:1 over the same 47 classes — is never "
        "comparable number for number with the study's official Balanced results):\n",
        "\n".join(notes) or "_no complete runs yet_",
        "",
        "## Claims of the study, checked\n\n"
        "Comparisons use the validation accuracy over the same folds with the corrected "
        "resampled t-test (Nadeau & Bengio 2003: the folds' training sets overlap, which the "
        "plain paired t-test ignores; its p-value is shown too), the p-values adjusted across "
        "the claims of this table (Benjamini-Hochberg); adjusted p < "
        f"{readers.ALPHA}: *agrees* or *contradicts*; otherwise *within noise*.\n\n"
        + markdown(pd.DataFrame(claims, columns=["claim", "study", "ours", "data and budget",
                                                 "verdict"])),
        changes_section(claims),
        presets_section(root, runs) if not runs.empty else "",
        comparison,
        "## Ablations, factor by factor\n",
        *[ablation_section(root, arch, ablation) for arch in architectures.names()
          for ablation in ablations.get(arch, [])],
        confusions_section(root, runs, studied) if not runs.empty else "",
        parity_section(root, runs) if not runs.empty else "",
        precision_section(runs),
        studies_section(study_table),
        bench_section(root),
        profile_section(root),
    ]
    path = root / "REPORT.md"
    results.atomic_write(path, "\n".join(s for s in sections if s is not None) + "\n")
    return path


def run(args) -> int:
    """`emnist-bench report`: REPORT.md and its figures from the stored results."""
    from benchmark.arguments import UsageError

    root = Path(args.results_dir or results.default_root())
    if not root.is_dir():
        raise UsageError(f"no results folder at {root}; run `emnist-bench study --arch mlp` "
                         "first, or pass --results-dir")
    path = build(root)
    print(f"wrote {path} and {root / FIGURES}/")
    return 0
