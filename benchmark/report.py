"""`emnist-bench report`: results/REPORT.md and its figures, generated from the stored results.

    emnist-bench report                 # reads results/, writes results/REPORT.md + figures/

Nothing is trained and no number is typed: every figure comes from the run, ablation, study
and bench tables under the results folder, read through benchmark.readers (the app's reader).
It opens on the summary (benchmark/claims.py, the app's first page too), then the main results
(benchmark/selection.py: each architecture's and preset's main run and main ablation), and puts
pilots, tests and collapsed runs in an appendix. Every table names the data each number came
from (split, official or not, sizes) and its budget (folds x epochs, --limit). The study's own
numbers (benchmark/STUDY.md, "Published numbers") appear only as the "study" column of the
claims table, and a ByMerge-derived result is never compared with them as if it were an EMNIST
Balanced one.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark import (  # noqa: E402
    architectures,
    claims,
    planner,
    provenance,
    readers,
    results,
    selection,
    verdicts,
    views,
)

FIGURES = readers.FIGURES  # results/figures/
FIGURE_LINK = re.compile(r"!\[[^\]]*\]\((" + FIGURES + r"/[^)]+)\)")
fmt, label = readers.fmt, claims.label


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
        table["seconds"] = results.parts_seconds(root, table["run_id"])
        table.insert(0, "study", path.parent.name)
        table.insert(1, "arch", config.get("arch"))
        table.insert(2, "backend", config.get("backend"))
        table.insert(3, "data", readers.data_label(config.get("data") or {}))
        precision = ((config.get("base") or {}).get("training") or {}).get("precision")
        table.insert(4, "budget", readers.budget_text(budget.get("folds"), budget.get("epochs"),
                                                      budget.get("limit"), precision,
                                                      budget.get("repeats")))
        frames.append(table)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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


def ablation_figure(root: Path, arch: str, name: str, table: pd.DataFrame,
                    rope: float = verdicts.ROPE) -> str | None:
    """Each arm's Δ against the baseline on its 95% interval, coloured by its verdict (the
    table's: verdicts.VERDICT_COLOURS), the region of practical equivalence shaded around 0."""
    arms = table[~table["baseline"]].dropna(subset=["delta"])
    if arms.empty:
        return None
    spread = np.nan_to_num(np.vstack([arms["delta"] - arms["ci_low"],
                                      arms["ci_high"] - arms["delta"]]))
    colours = verdicts.VERDICT_COLOURS
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(arms) + 1.6))
    band = ax.axvspan(-rope, rope, color=colours["equivalent"], alpha=0.12, linewidth=0)
    y = np.arange(len(arms))
    ax.barh(y, arms["delta"], xerr=spread, capsize=2,
            color=[colours.get(v, colours[verdicts.NO_TEST]) for v in arms["verdict"]])
    ax.set_yticks(y, [f"{f} = {v}" for f, v in zip(arms["factor"], arms["value"], strict=True)],
                  fontsize=8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("validation accuracy minus the baseline's, same folds (mean, 95% interval)")
    shown = [k for k in (*verdicts.KINDS, verdicts.NO_TEST) if k in set(arms["verdict"])]
    handles = [matplotlib.patches.Patch(color=colours[k], label=k) for k in shown]
    ax.legend([*handles, band], [*shown, f"ROPE ±{rope:.3f}"], fontsize=7, loc="best")
    ax.set_title(f"{label(arch)} ablation, coloured by verdict: better green, worse red, "
                 f"equivalent blue (inside the shaded ±{rope:.3f}), undecided grey", fontsize=8)
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


def markdown(frame: pd.DataFrame) -> str:
    """A table in Markdown, a `|` inside a cell escaped (a verdict's "|Δ|" is one)."""
    if frame.empty:
        return "_none yet_\n"

    def cell(value) -> str:
        return str(value).replace("|", "\\|")

    head = "| " + " | ".join(map(cell, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(map(cell, row)) + " |" for row in frame.itertuples(index=False)]
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


def presets_section(root: Path, main: pd.DataFrame) -> str:
    """The main run of each architecture's baseline and best presets, side by side."""
    title = "## Baseline vs best: the main runs\n\n"
    have = set() if main.empty else set(zip(main["arch"], main["for_preset"], strict=True))
    missing = [f"{label(arch)} {preset}" for arch in architectures.names()
               for preset in ("baseline", "best") if (arch, preset) not in have]
    absent = (f"No main run of the {', '.join(missing)} yet: its runs are pilots, tests or "
              "collapsed, or there are none (see the appendix).\n" if missing else "")
    if main.empty:
        return title + "_No main run yet: `emnist-bench study --arch all`._\n\n" + absent
    shown = runs_table(main).assign(preset=main["for_preset"].to_numpy(),
                                    run=main["run_id"].to_numpy())
    figure = presets_figure(root, main.assign(preset=main["for_preset"]))
    return (title + "Each architecture's and preset's main run: the largest budget on the "
            "largest data, complete and not collapsed (a study's `best` part stands for "
            "`best`). CV = mean ± std of the validation accuracy over the folds; test = the "
            "final model (trained on the whole training split) on the test split.\n\n"
            + markdown(shown) + image(figure, "baseline and best presets") + "\n" + absent)


def ablation_section(root: Path, arch: str, ablation: dict) -> str:
    """An ablation's table (one row per arm, its verdict as ablations.csv says it), its
    figure, and the verdicts explained with the rope and, when adaptive, the cap on rounds."""
    config = ablation["config"]
    table = readers.ablation_table(ablation["path"], config)
    if table.empty:
        return ""
    rope = config.get("rope") or verdicts.ROPE
    rounds = config.get("adaptive_rounds")
    base = config.get("base") or {}
    training = base.get("training") or {}
    budget = readers.budget_text(base.get("folds"), training.get("epochs"), base.get("limit"),
                                 training.get("precision"), base.get("repeats"))
    if rounds:
        budget += f", adaptive: up to {rounds} rounds of {base.get('folds')} folds"
    notes = [ablation["notes"].get(arm, "") for arm in table.get("arm", [""] * len(table))]
    p = {"p (corrected)": "p_value", "p (adjusted)": "p_adjusted",
         "p equivalence (adjusted)": "p_equivalence_adjusted", "p (plain t)": "p_plain"}
    shown = pd.DataFrame({
        "factor": table["factor"], "value": table["value"].replace("", "(baseline)"),
        "status": [f"{st}, {n}" if n else st for st, n in zip(table["status"], notes,
                                                               strict=True)],
        "CV accuracy (mean ± std)": [f"{fmt(m)} ± {fmt(s)}" for m, s in zip(
            table["val_accuracy_mean"], table["val_accuracy_std"], strict=True)],
        "delta vs baseline": table["delta"].map(lambda v: fmt(v, "+.4f")),
        "95% interval": [readers.interval(r.get("ci_low"), r.get("ci_high"))
                         for _, r in table.iterrows()],
        **{name: table[column].map(lambda v: fmt(v, ".3f")) for name, column in p.items()},
        **({"rounds": table["rounds"].map(lambda v: fmt(v, ".0f"))} if rounds else {}),
        "verdict": [verdicts.verdict_text(r) for _, r in table.iterrows()],
        "test accuracy": table["test_accuracy"].map(fmt)})
    figure = ablation_figure(root, arch, ablation["id"], table, rope)
    data = readers.data_label(config.get("data") or {})
    return (f"### {label(arch)}: `{ablation['id']}`\n\n"
            f"Data: {data}. Budget: {budget}, backend {config.get('backend')}. Each arm changes "
            "one factor of the baseline; every arm is trained on the same folds as the "
            "baseline, so `delta` is paired fold by fold ("
            f"{table['test'].iloc[0] if 'test' in table else config.get('test')}). "
            f"ROPE: ±{rope:.3f}. {verdicts.verdicts_explained(rope, rounds)}\n\n"
            + markdown(shown) + image(figure, f"{arch} ablation"))


def changes_section(claims: list[dict]) -> str:
    """The claims whose verdict the corrected, adjusted test changed from the plain t-test's."""
    changed = [{"claim": c["claim"], "plain paired t-test": c["_plain_verdict"],
                "now": c["verdict"], "why": c["_why"]}
               for c in claims if "_plain_verdict" in c and c["_plain_verdict"] != c["_judged"]]
    tested = sum("_plain_verdict" in c for c in claims)
    text = ("## Verdicts the corrected test changed\n\nThe claims judged by a paired test "
            f"({tested} of them) were first judged by the plain paired t-test at p < "
            f"{verdicts.ALPHA}, with no adjustment and no equivalence test. The folds of one "
            "cross-validation share most of their training images, so their scores are "
            "correlated and the plain test's variance is too small (Nadeau & Bengio 2003); and "
            "testing many claims at once finds some by chance, which the Benjamini-Hochberg "
            "adjustment controls. ")
    if not changed:
        return text + "No verdict changed.\n"
    return text + f"These {len(changed)} changed:\n\n" + markdown(pd.DataFrame(changed))


def comparison_section(claims: list[dict]) -> str:
    """The judged MLP < CNN < ResNet claims as their own section."""
    if not claims:
        return ""
    return ("## MLP < CNN < ResNet\n\nThe best preset of each architecture, compared on "
            "validation accuracy over the same folds where both have a run on the same data "
            "with the same budget, both of which learned (the first such pair in the order of "
            "main runs: the main run first, then official data, the largest training set, the "
            "largest budget; the corrected paired test and its equivalence test, adjusted across "
            "the ranking's claims); otherwise each one's main run is shown, not judged."
            "\n\n" + markdown(pd.DataFrame(claims, columns=[
                "claim", "study", "ours", "data and budget", "verdict"])))


def confusions_section(root: Path, catalog: readers.Catalog) -> str:
    """The most confused pairs of each architecture's main best run, with example images."""
    parts = ["## Most confused characters\n"]
    for arch in architectures.names():
        rep = selection.main_run(catalog, arch, "best")
        if rep is None:
            continue
        run_dir = Path(rep["run_dir"])
        pairs = views.confused_pairs(readers.read_confusion(run_dir), top=8)
        figure = confusion_figure(root, arch, run_dir, pairs)
        parts.append(f"### {label(arch)} best (`{rep['run_id']}`, test split of {rep['data']})\n\n"
                     + markdown(pairs) + image(figure, f"{arch} confusions"))
    return "\n".join(parts) if len(parts) > 1 else ""


def parity_section(root: Path, runs: pd.DataFrame) -> str:
    groups = views.backend_groups(runs) if not runs.empty else runs
    if groups.empty:
        return "### Backend parity\n\n_No configuration has run on more than one backend yet._\n"
    shown = runs_table(groups).assign(**{"configuration digest": groups["digest"].to_numpy()})
    figure = parity_figure(root, groups)
    return ("### Backend parity\n\nThe same configuration, data and seed (same digest) on each "
            "Keras backend. Backends draw different random numbers from the same seed, so "
            "accuracies differ within fold noise, not bit for bit.\n\n"
            + markdown(shown) + image(figure, "backend parity"))


def precision_section(runs: pd.DataFrame) -> str:
    groups = views.precision_groups(runs) if not runs.empty else runs
    if groups.empty:
        return ""
    shown = runs_table(groups).assign(precision=groups["precision"].to_numpy(),
                                      run=groups["run_id"].to_numpy())
    return ("### Precision parity\n\nThe same configuration, data, seed and backend in float32 "
            "and in mixed_bfloat16 (the `--precision auto` default for the CNN and ResNet on "
            "TensorFlow and PyTorch where the CPU has bf16). Minutes are wall time on a shared "
            "2-core machine, not a speed measurement: `emnist-bench bench` is.\n\n"
            + markdown(shown))


def studies_section(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    shown = table[["study", "arch", "backend", "data", "budget", "part", "status",
                   "run_id", "seconds"]].copy()
    shown["minutes"] = (shown.pop("seconds") / 60).map(lambda v: fmt(v, ".1f"))
    return ("### Studies run\n\n`emnist-bench study` invocations and the training time each "
            "part's runs recorded (every finished fold and the final fit, over however many "
            "invocations it took; a fold lost to a kill is not counted).\n\n" + markdown(shown))


def bench_section(root: Path) -> str:
    bench = readers.read_csv(root / "bench.csv")
    if bench.empty:
        return ""
    latest = views.latest_bench(bench)
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
    groups = views.profile_groups(root)
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


SAME_VERDICT = ("a claim about an arm and its ablation's baseline takes that ablation's verdict "
                "(its family: the ablation's arms), so the claims and the ablation tables agree.")


def claims_explained() -> str:
    """How the claims table's verdicts (benchmark/claims.py) come from the four verdicts of
    the paired comparisons (benchmark/verdicts.py)."""
    return ("Comparisons use the validation accuracy over the same folds with the corrected "
            "resampled t-test (Nadeau & Bengio 2003: the folds' training sets overlap, which "
            "the plain paired t-test ignores; its p-value is shown too) and the equivalence "
            "test on the same variance, each decided as in the ablation tables. "
            + SAME_VERDICT[0].upper() + SAME_VERDICT[1:] + " The ranking of the architectures "
            "is a family of its own, and so are the claims about two arms of one ablation. "
            "*better* or *worse* becomes *agrees* or *contradicts* (the sign as claimed or "
            "not); *equivalent* stays *equivalent* (a claim that one is no better *agrees*); "
            "*undecided* names the smallest difference the run could have detected.\n\n"
            + verdicts.verdicts_explained(family="the comparisons of one family"))


def summary_section(summary: claims.Summary) -> str:
    """The answer on one screen (claims.summarise, as the app's first page shows it)."""
    lines = summary.lines.assign(claim=summary.lines["claim"], verdict=[
        f"**{v}**" if claims.verdict_kind(v) in ("agrees", "contradicts") else v
        for v in summary.lines["verdict"]])
    return ("## Summary\n\n"
            f"**{summary.headline()}.** Judged on the main runs and ablations only; paired "
            "claims by the corrected resampled t-test and its equivalence test, adjusted p < "
            f"{verdicts.ALPHA}; {SAME_VERDICT} The details, p-values and runs are in the claims "
            "table below.\n\n"
            + markdown(lines) + "\n" + summary.not_run + "\n")


def data_section(catalog: readers.Catalog) -> str:
    """The data behind the main runs: each dataset once, with the main runs that used it."""
    main = selection.main_runs(catalog)
    if main.empty:
        return "## Data\n\n_No main run yet._\n"
    notes = []
    for _, used in main.groupby("data_sha256", sort=False):
        data = readers.read_json(Path(used["run_dir"].iloc[0]) / "config.json").get("data") or {}
        full = data.get("n_train")
        who = ", ".join(f"{label(r.arch)} {r.for_preset}" + (
            f" (on {int(r.n_train):,} of them)"
            if isinstance(full, int) and r.n_train < full else "")
            for r in used.itertuples())
        name = f"{data.get('split', '?')}, {'official' if readers.is_official(data) else 'not official'}"
        sizes = (f"{full:,} training and {data.get('n_test'):,} test images"
                 if isinstance(full, int) and isinstance(data.get("n_test"), int) else "")
        notes.append(f"- **{name}**: {sizes}" + (f" ({data['note']})" if data.get("note") else "")
                     + f"; the main runs of {who}.")
    return ("## Data\n\nA split that is not the official Balanced one (such as `bymerge`, the "
            "ByMerge test split re-split 6:1 over the same 47 classes) is never comparable "
            "number for number with the study's official Balanced results. Pilots and tests "
            "may have used other data (see the appendix).\n\n" + "\n".join(notes) + "\n")


def set_apart_section(catalog: readers.Catalog) -> str:
    """Every run and search that is not a main one, with why (selection's roles)."""
    runs = catalog.runs[catalog.runs["role"] != "main"] if not catalog.runs.empty else catalog.runs
    text = ("### Runs set apart\n\nEvery run that is not the main run of its architecture and "
            "preset: `pilot` (less data or a smaller budget than the main run), `repeat` (the "
            "main run's data and budget again), `variant` (--set changes), `collapsed` "
            "(validation accuracy at chance: *did not learn* when training accuracy was at "
            "chance too, *inference mode* when the model learned in training mode but batch "
            "norm's running statistics had not caught up), `incomplete` and `test`.\n\n")
    if runs.empty:
        text += "_None._\n"
    else:
        shown = runs_table(runs.assign(collapsed="")).assign(
            role=runs["role"].to_numpy(), why=runs["why"].to_numpy(),
            run=runs["run_id"].to_numpy())
        text += markdown(shown)
    tests = [s for s in catalog.searches if s["role"] != "main"]
    if tests:
        text += ("\nSearches made to test the suite, not to search (the app opens on a real "
                 "search): " + ", ".join(f"`{s['id']}`" for s in tests) + ".\n")
    return text


def appendix(root: Path, catalog: readers.Catalog, study_table: pd.DataFrame) -> str:
    """Pilots, tests and collapsed runs, the other ablations, parity checks and studies."""
    complete = (catalog.runs[catalog.runs["status"] == "complete"] if not catalog.runs.empty
                else catalog.runs)
    ablations = [a for a in catalog.ablations if a["role"] != "main"]
    parts = ["## Appendix: pilots, tests and collapsed runs\n\nWhat the tables above leave "
             "out (benchmark/selection.py decides, for the report and the app alike).\n",
             set_apart_section(catalog)]
    if ablations:
        parts.append("### Ablations set apart\n\nEach architecture's main ablation is above; "
                     "these are pilots, repeats or ablations whose baseline collapsed, and no "
                     "claim is judged on them.\n")
        for found in ablations:
            section = ablation_section(root, found["arch"], claims.ablation(catalog, found))
            if section:  # its role and why under its title
                title, body = section.replace("### ", "#### ", 1).split("\n\n", 1)
                parts.append(f"{title}\n\n_{found['role']}: {found['why']}_\n\n{body}")
    parts += [parity_section(root, complete) if not complete.empty else "",
              precision_section(complete), studies_section(study_table)]
    return "\n".join(part for part in parts if part)


@dataclasses.dataclass
class Written:
    """What `build` wrote: REPORT.md and the figures it links (the only ones left in
    figures/)."""

    path: Path
    figures: list[str]


def build(root: Path | str) -> Written:
    """Write results/REPORT.md (and results/figures/*.png) from the results under `root`."""
    root = Path(root)
    catalog = selection.annotate(readers.scan(root))
    judged = claims.check(catalog)
    summary = claims.summarise(judged, catalog)
    main_ablations = [a for a in catalog.ablations if a["role"] == "main"]
    sections = [
        "# EMNIST study, rerun by emnist-bench\n",
        f"Generated by `emnist-bench report` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"at code version `{provenance.code_version()}` from the tables under `results/` (see "
        "`results/README.md`); nothing here is typed by hand except the study's own numbers "
        "(benchmark/STUDY.md), which appear only in the claims table's *study* column.\n",
        summary_section(summary),
        data_section(catalog),
        "## Claims of the study, checked\n\n" + claims_explained() + "\n\n"
        + markdown(pd.DataFrame(judged, columns=["claim", "study", "ours", "data and budget",
                                                 "verdict"])),
        changes_section(judged),
        "## What would decide the open claims (`emnist-bench plan`)\n\n"
        + planner.markdown(planner.plan(catalog, judged=judged)),
        presets_section(root, selection.main_runs(catalog)),
        comparison_section([c for c in judged if c["_section"] == "order"]),
        "## Ablations, factor by factor\n\nEach architecture's main ablation (the largest "
        "budget on the largest data, its baseline not collapsed); the others are in the "
        "appendix.\n" if main_ablations else "",
        *[ablation_section(root, found["arch"], claims.ablation(catalog, found))
          for found in main_ablations],
        confusions_section(root, catalog),
        bench_section(root),
        profile_section(root),
        appendix(root, catalog, studies(root)),
    ]
    text = "\n".join(s for s in sections if s) + "\n"
    path = root / "REPORT.md"
    results.atomic_write(path, text)
    linked = sorted(set(FIGURE_LINK.findall(text)))
    # A chart of an earlier report that this one no longer shows (a pilot's, say) goes.
    for stale in sorted((root / FIGURES).glob("*.png")):
        if f"{FIGURES}/{stale.name}" not in linked:
            stale.unlink()
    return Written(path, linked)


def run(args) -> int:
    """`emnist-bench report`: REPORT.md and its figures from the stored results."""
    from benchmark.arguments import UsageError

    root = Path(args.results_dir or results.default_root())
    if not root.is_dir():
        raise UsageError(f"no results folder at {root}; run `emnist-bench study --arch mlp` "
                         "first, or pass --results-dir")
    written = build(root)
    if written.figures:
        print(f"wrote {written.path} and {len(written.figures)} figure(s) in {root / FIGURES}/")
    else:
        print(f"wrote {written.path} (no figures: nothing to draw yet)")
    return 0
