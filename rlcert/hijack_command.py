"""``rlcert hijack``: the hijack stress test — a learned Adversarial-Surprise hijacker against a random one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlcert.analyses.hijack import HijackStressConfig, hijack_stress_test
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_output_path

__all__ = ["HijackCommandConfig", "hijack_command"]


@dataclass(frozen=True)
class HijackCommandConfig(HijackStressConfig, RolloutOptions):
    """Hijack stress test (Fickinger, Jaques et al. 2021): a hijacker trained with PPO to maximize the policy's
    surprise (or return loss) after it hands the body back, against uniformly random actions for as long, in the
    same seeded episodes; reports the policy's return, surprise and recovery time with paired 95 % intervals
    (empirical)."""

    policy: str = "zoo:cartpole-ppo"
    """Policy: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    out: str = "results/hijack.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        HijackStressConfig.__post_init__(self)
        RolloutOptions.__post_init__(self)
        check_output_path("out", self.out)
        if self.probe is not None:
            raise InvalidValueError("--probe does not apply: the hijack is the probe this test runs")


def hijack_command(config: HijackCommandConfig) -> int:
    from rlcert.reports import AuditReport, findings_table
    from rlcert.reports.console import report_console

    result = hijack_stress_test(config.policy, config.env, narrow(HijackStressConfig, config),
                                narrow(RolloutOptions, config))  # fmt: skip
    report = AuditReport("rlcert hijack", result.findings(), subject=result.subject.to_dict(), extra=result.to_dict())
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    console = report_console()
    console.print(findings_table(report.findings, title=f"hijack stress test · {result.label()}"))
    console.print(f"report written to {path}, plot to {plot}")
    return 0
