"""Reports: the findings data model, JSON rendering, plots, and rich console output."""

from rlcert.reports.console import findings_table, print_findings, summary_table
from rlcert.reports.findings import AuditReport, Evidence, Finding, to_jsonable
from rlcert.reports.plots import plot_certificate_curve

__all__ = [
    "AuditReport",
    "Evidence",
    "Finding",
    "to_jsonable",
    "findings_table",
    "print_findings",
    "summary_table",
    "plot_certificate_curve",
]
