"""``rlcert stress``: a trained policy's return under a suite of probes at a sweep of severities."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from rlcert.analyses.stress import StressTestConfig, stress_test_policy
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.reports.validation import check_output_path

__all__ = ["StressConfig", "stress_command"]


@dataclass(frozen=True)
class StressConfig(StressTestConfig, RolloutOptions):
    """Stress-test a fixed policy under environmental stochasticity (STORI probes and generic ones): the
    return at each probe and severity, its relative drop vs the unperturbed baseline with a confidence
    interval, and a pass/fail verdict against a tolerance. Every figure is empirical."""

    policy: str = "zoo:cartpole5-dqn"
    """Policy reference: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    out: str = "results/stress.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_output_path("out", self.out)


def stress_command(config: StressConfig) -> int:
    from rich.table import Table

    from rlcert.envs.stress import TOO_FEW_EPISODES
    from rlcert.reports import AuditReport
    from rlcert.reports.console import report_console

    rollout = narrow(RolloutOptions, config)
    result = stress_test_policy(config.policy, config.env, narrow(StressTestConfig, config), rollout)
    base = rollout.probe_stack()
    extra = result.report_extra()
    audit = AuditReport(
        "rlcert stress",
        result.findings(),
        subject=result.subject.to_dict() | ({"probe": base.label} if base is not None else {}),
        extra=extra | {"config": asdict(config) | extra["config"]},
    )
    path = audit.save(config.out)
    plot = result.plot(path.with_suffix(".png"))
    report = result.report
    table = Table(title=f"stress test · {result.label()}")
    # Episodes ended by the env's step limit rather than by the game get a column only when there are
    # any: a low return from a policy that stalls reads differently from one that plays and loses.
    cuts = [report.baseline_cut_episodes, *(r.cut_episodes for r in report.results)]
    show_cuts = any(cuts)
    columns = ["probe", "severity", "mean return ± SE", "relative drop", f"{report.confidence:.0%} interval", "verdict"]
    for column in columns + (["cut at step limit"] if show_cuts else []):
        table.add_column(column, justify="right")
    for setting in report.results:
        table.add_row(
            setting.setting.family,
            f"{setting.setting.severity_name}={setting.setting.severity:g}",
            f"{setting.mean_return:.2f} ± {setting.stderr_return:.2f}",
            f"{setting.drop:+.1%}",
            f"[{setting.drop_low:+.1%}, {setting.drop_high:+.1%}]",
            setting.verdict,
            *([f"{setting.cut_episodes}/{setting.episodes}"] if show_cuts else []),
        )
    console = report_console()
    console.print(table)
    if show_cuts:
        console.print(f"baseline: {report.baseline_cut_episodes}/{report.episodes} episodes cut at the env's "
                      "step limit; the game did not end a cut episode (a policy that stalls, for example)")  # fmt: skip
    if any(r.verdict == TOO_FEW_EPISODES for r in report.results):
        console.print(f"no verdict below {report.min_episodes_for_verdict} episodes per setting at "
                      f"{report.confidence:.0%} confidence: run more episodes for a pass or fail")  # fmt: skip
    console.print(f"all figures empirical ({result.episodes} episodes per setting, seed {config.seed}); "
                  f"report {path}, plot {plot}")  # fmt: skip
    return 0
