"""The report's figures, each drawn from what a section shows and written under results/figures/
(atomically); a figure function returns its path relative to REPORT.md for the link, or None
when there is nothing to draw.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark import architectures, claims, readers, results, verdicts  # noqa: E402

FIGURES = results.FIGURES  # results/figures/
label = claims.label


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


def anytime_figure(root: Path, arch: str, curves: dict[str, pd.DataFrame]) -> str | None:
    """Each search's best score so far against its cumulative training minutes (a step line)."""
    curves = {name: c.dropna(subset=["best"]) for name, c in curves.items()}
    curves = {name: c for name, c in curves.items() if not c.empty}
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for name, curve in curves.items():
        (line,) = ax.step(curve["minutes"], curve["best"], where="post", label=name)
        ax.plot(curve["minutes"].iloc[-1], curve["best"].iloc[-1], "o", color=line.get_color())
    ax.set_xlabel("training minutes spent by the search")
    ax.set_ylabel("best CV accuracy so far")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.suptitle(f"{architectures.get(arch).label}: which search finds its best soonest",
                 fontsize=9)
    return save(fig, root, f"anytime-{arch}.png")


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
