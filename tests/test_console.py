from rich.console import Console

from rlcert.reports.console import findings_table, report_console, summary_table
from rlcert.reports.findings import Finding


def test_tables_show_evidence_and_confidence():
    console = Console(record=True, width=120)
    console.print(
        findings_table(
            [Finding("certified", 150.0, "statistical", confidence=0.95, method="CP"), Finding("radius", 0.02, "sound")]
        )
    )
    console.print(summary_table({"mean_return": 199.5, "episodes": 10}))
    text = console.export_text()
    assert "statistical (95%)" in text and "sound" in text and "199.5" in text and "mean return" in text


def test_the_report_console_is_wide_when_writing_to_a_file_or_pipe(monkeypatch):
    # pytest captures stdout, so this console is not a terminal: rich alone would lay tables out in 80 columns.
    monkeypatch.delenv("COLUMNS", raising=False)
    assert report_console().width == 140
    monkeypatch.setenv("COLUMNS", "100")
    assert report_console().width == 100
