"""Markdown for REPORT.md and the plans: a table with its cells escaped, an image link.

The report's sections (benchmark/report/) and the planner's table (benchmark/planner.py) write
their tables with `table`, so a `|` inside a cell (a verdict's "|Δ|") is escaped one way.
"""

from __future__ import annotations

import pandas as pd


def cell(value) -> str:
    """A table cell's text, a `|` in it escaped."""
    return str(value).replace("|", "\\|")


def table(frame: pd.DataFrame) -> str:
    """A table in Markdown, a `|` inside a cell escaped (a verdict's "|Δ|" is one)."""
    if frame.empty:
        return "_none yet_\n"
    head = "| " + " | ".join(map(cell, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(map(cell, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def image(path: str | None, alt: str) -> str:
    """A figure's link on a line of its own ("" without a figure)."""
    return f"\n![{alt}]({path})\n" if path else ""
