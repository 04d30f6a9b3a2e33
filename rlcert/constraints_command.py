"""``rlcert certify constraints``: how likely an episode's cost exceeds its limit (Clopper-Pearson)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlcert.analyses.constraints import ConstraintConfig, certify_constraints
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.reports.validation import check_output_path

__all__ = ["CertifyConstraintsConfig", "certify_constraints_command"]


@dataclass(frozen=True)
class CertifyConstraintsConfig(ConstraintConfig, RolloutOptions):
    """Certify how often a policy's episode cost exceeds a limit (Clopper-Pearson, statistical) on an env that
    reports a cost in info["cost"] (rlcert/CartPoleCost-v1, rlcert/CartPoleDriftCost-v1, rlcert/HydroDispatch-v0)."""

    policy: str = "zoo:cartpole-drift-ppo-lagrangian"
    """Policy: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec of a constrained task (one whose steps report info["cost"]); defaults to a zoo agent's own env."""
    out: str = "results/certify_constraints.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_output_path("out", self.out)


def certify_constraints_command(config: CertifyConstraintsConfig) -> int:
    from rlcert.reports import AuditReport, findings_table
    from rlcert.reports.console import report_console

    rollout = narrow(RolloutOptions, config)
    result = certify_constraints(config.policy, config.env, narrow(ConstraintConfig, config), rollout)
    report = AuditReport(
        "rlcert certify constraints",
        result.findings(),
        subject=result.subject.to_dict(),
        extra=result.report_extra(),
    )
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    console = report_console()
    console.print(findings_table(report.findings, title=f"constraint certificate · {result.label()}"))
    console.print(f"report written to {path}, plot to {plot}")
    return 0
