"""``rlcert certify actions``: sound per-state action certificates by bound propagation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlcert.analyses.action_certificates import ActionCertificatesConfig, certify_action_robustness
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_output_path

__all__ = ["CertifyActionsConfig", "certify_actions_command"]


@dataclass(frozen=True)
class CertifyActionsConfig(ActionCertificatesConfig, RolloutOptions):
    """Sound per-state certificates by bound propagation (IBP, CROWN, alpha-CROWN): the fraction of
    visited states whose action no observation perturbation of size eps can change, their certified
    radii, and whole-episode certificates when every state of an episode is certified."""

    policy: str = "zoo:cartpole5-dqn"
    """Policy reference (its network must be Linear/Conv2d/ReLU/Tanh/Flatten layers)."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    out: str = "results/certify_actions.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        # Every option is checked here, before any episode runs or any bound is computed.
        super().__post_init__()
        if self.checkpoint_dir is not None:
            raise InvalidValueError(
                "--checkpoint-dir does not apply to certify actions: its episodes keep per-step records, which "
                "are not checkpointed; leave it out"
            )
        check_output_path("out", self.out)


def certify_actions_command(config: CertifyActionsConfig) -> int:
    from rich.table import Table

    from rlcert.reports import AuditReport
    from rlcert.reports.console import report_console

    rollout = narrow(RolloutOptions, config)
    result = certify_action_robustness(config.policy, config.env, narrow(ActionCertificatesConfig, config), rollout)
    probe = rollout.probe_stack()
    report = AuditReport(
        "rlcert certify actions",
        result.findings(),
        subject=result.subject.to_dict() | ({"probe": probe.label} if probe else {}),
        extra=result.report_extra(),
    )
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    table = Table(title=f"sound action certificates · {result.label()} · mean radius {result.radii.mean():.4g}")
    for column in result.TABLE_COLUMNS:
        table.add_column(column, justify="right")
    for row in result.table_rows():
        table.add_row(*row)
    console = report_console()
    console.print(table)
    if result.global_lipschitz is not None:
        console.print(f"global Lipschitz bound (l{config.norm}, sound): {result.global_lipschitz:.4g}")
    console.print(f"report written to {path}, plot to {plot}")
    return 0
