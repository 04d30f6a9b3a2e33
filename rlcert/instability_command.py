"""``rlcert instability``: principal unstable directions of a policy, their oscillation and their shifts (Λ)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlcert.analyses.instability import InstabilityConfig, analyze_instability
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.reports.validation import check_output_path

__all__ = ["InstabilityCommandConfig", "instability_command"]


@dataclass(frozen=True)
class InstabilityCommandConfig(InstabilityConfig, RolloutOptions):
    """Decision-boundary instability (Korkmaz 2024): the principal unstable directions of the policy over its
    visited states, their oscillation along episodes, and the share of them a shift keeps (Feature Correlation
    Quotient); all empirical."""

    policy: str = "zoo:cartpole5-dqn"
    """Policy: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    out: str = "results/instability.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_output_path("out", self.out)


def instability_command(config: InstabilityCommandConfig) -> int:
    from rlcert.reports import AuditReport, findings_table
    from rlcert.reports.console import report_console

    result = analyze_instability(config.policy, config.env, narrow(InstabilityConfig, config),
                                 narrow(RolloutOptions, config))  # fmt: skip
    report = AuditReport("rlcert instability", result.findings(), subject=result.subject.to_dict(),
                         extra=result.report_extra())  # fmt: skip
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    console = report_console()
    console.print(findings_table(report.findings, title=f"decision-boundary instability · {result.label()}"))
    console.print(f"report written to {path}, plot to {plot}")
    return 0
