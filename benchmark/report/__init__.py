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

The package, one module per job: sources.py chooses and reads what the report is written from,
sections.py writes each section (figures.py draws their figures, benchmark/markdown.py writes
their tables), and SECTIONS below puts them in order.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from benchmark import results, selection
from benchmark.report import sections, sources
from benchmark.report.figures import FIGURES

FIGURE_LINK = re.compile(r"!\[[^\]]*\]\((" + FIGURES + r"/[^)]+)\)")

# REPORT.md's sections in order, each written from what sources.gather found; one that has
# nothing to show ("") is left out. A new section is a function in sections.py and a line here.
SECTIONS = [
    lambda s: sections.TITLE,
    lambda s: sections.generated(),
    lambda s: sections.summary_section(s.summary),
    lambda s: sections.data_section(s.catalog),
    lambda s: sections.claims_section(s.judged),
    lambda s: sections.changes_section(s.judged),
    lambda s: sections.plans_section(s.catalog, s.judged),
    lambda s: sections.presets_section(s.root, selection.main_runs(s.catalog)),
    lambda s: sections.comparison_section([c for c in s.judged if c["_section"] == "order"]),
    lambda s: sections.ablations_section(s.root, s.catalog),
    lambda s: sections.confusions_section(s.root, s.catalog),
    lambda s: sections.searches_section(s.root, s.catalog),
    lambda s: sections.parity_section(s.root, s.catalog),
    lambda s: sections.bench_section(s.root),
    lambda s: sections.profile_section(s.root),
    lambda s: sections.appendix(s.root, s.catalog, sources.studies(s.root)),
]


@dataclasses.dataclass
class Written:
    """What `build` wrote: REPORT.md and the figures it links (the only ones left in
    figures/)."""

    path: Path
    figures: list[str]


def build(root: Path | str) -> Written:
    """Write results/REPORT.md (and results/figures/*.png) from the results under `root`."""
    found = sources.gather(Path(root))
    text = "\n".join(s for s in (section(found) for section in SECTIONS) if s) + "\n"
    path = found.root / "REPORT.md"
    results.atomic_write(path, text)
    linked = sorted(set(FIGURE_LINK.findall(text)))
    # A chart of an earlier report that this one no longer shows (a pilot's, say) goes.
    for stale in sorted((found.root / FIGURES).glob("*.png")):
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
