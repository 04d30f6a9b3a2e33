"""Rich console rendering of findings and run summaries."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from rlcert.reports.findings import Evidence, Finding

__all__ = ["findings_table", "summary_table", "print_findings", "report_console"]

_EVIDENCE_STYLE = {Evidence.SOUND: "bold green", Evidence.STATISTICAL: "bold cyan", Evidence.EMPIRICAL: "yellow"}


# Rich lays tables out for 80 columns when stdout is not a terminal (a log file, CI, a pipe), which
# folds probe names and intervals over several lines; logs have no width to respect.
_LOG_WIDTH = 140


def report_console() -> Console:
    """The console the CLI prints to: the terminal's width, or 140 columns when writing to a file or pipe
    (``COLUMNS`` still wins where set)."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=_LOG_WIDTH)
    return console


def _number(value: float) -> str:
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"


def findings_table(findings: Iterable[Finding], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("finding", "value", "interval", "evidence", "method"):
        table.add_column(column, justify="right" if column == "value" else "left", no_wrap=column == "finding")
    for f in findings:
        evidence = f.evidence.value + (f" ({f.confidence:.0%})" if f.confidence is not None else "")
        interval = f"[{_number(f.interval[0])}, {_number(f.interval[1])}]" if f.interval else ""
        table.add_row(
            f.name,
            _number(f.value) + (f" {f.unit}" if f.unit else ""),
            interval,
            f"[{_EVIDENCE_STYLE[f.evidence]}]{evidence}[/]",
            f.method,
        )
    return table


def summary_table(summary: Mapping[str, Any], title: str | None = None) -> Table:
    table = Table(title=title, show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key.replace("_", " "), _number(value) if isinstance(value, float) else str(value))
    return table


def print_findings(findings: Iterable[Finding], title: str | None = None, console: Console | None = None) -> None:
    (console or report_console()).print(findings_table(findings, title))
