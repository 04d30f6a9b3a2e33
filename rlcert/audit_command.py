"""``rlcert audit``: run an audit suite (or the default one) and write report.json, report.md and report.html."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_output_dir

__all__ = ["AuditConfig", "audit_command"]


@dataclass(frozen=True)
class AuditConfig:
    """Audit a policy: every check of a suite (certified reward, certified actions, Lipschitz bounds, stress
    tests, ...) with its verdict, in one report (report.json, report.md, self-contained report.html). Without
    a suite, the default audit of the bundled smoothed CartPole agent: every check that applies to it."""

    suite: str | None = field(default=None, metadata={"positional": True})
    """Audit suite (TOML): policies, env, seed, and [[check]] tables with their parameters and pass criteria
    (default: every check that applies, with budgets sized to run in minutes)."""
    policies: str | None = None
    """Comma list of policies to audit side by side with the default suite, e.g.
    zoo:cartpole5-dqn,zoo:cartpole5-dqn-sigma0.2 (a suite names its own)."""
    env: str | None = None
    """Env spec for every policy (default: a zoo agent's own env; a suite names its own)."""
    out: str = "results/audit"
    """Directory of the report (it must not already hold an audit; --resume continues one)."""
    resume: str | None = None
    """Continue the interrupted audit in this directory (its suite and options are read from it)."""
    workers: int | None = None
    """Worker processes, or CPUs of a local Ray (default: the suite's, else 1); never changes a number."""
    executor: str | None = None
    """local or ray (default: the suite's, else local); the same seed gives the same report on either."""
    ray_address: str | None = None
    """Address of an existing Ray cluster (with --executor ray)."""
    progress: bool = True
    """Show progress bars."""

    def __post_init__(self) -> None:
        if self.resume is not None:
            given = [name for name in ("policies", "env", "workers", "executor", "ray_address") if getattr(self, name)]
            given = (["a suite"] if self.suite is not None else []) + [f"--{name}" for name in given]
            if given or self.out != "results/audit":
                names = ", ".join(given + (["--out"] if self.out != "results/audit" else []))
                raise InvalidValueError(
                    f"--resume {self.resume} continues that audit with its own suite and options, so {names} cannot "
                    "apply: leave them out"
                )
            if not Path(self.resume).is_dir():
                raise InvalidValueError(f"--resume {self.resume!r} is not a directory holding an audit")
            return
        if self.suite is not None and (self.policies is not None or self.env is not None):
            raise InvalidValueError("a suite names its own policies and env: leave --policies and --env out")
        if self.policies is not None and not [p for p in self.policies.split(",") if p.strip()]:
            raise InvalidValueError(f"--policies must be a comma list of policy references, got {self.policies!r}")
        check_output_dir("out", self.out)
        self.rollout_overrides()  # a bad worker count or executor is refused before anything loads

    def rollout_overrides(self) -> dict[str, object]:
        """The run options given on the command line, which replace the suite's."""
        from rlcert.envs.options import RolloutOptions

        overrides = {
            k: getattr(self, k) for k in ("workers", "executor", "ray_address") if getattr(self, k) is not None
        }
        RolloutOptions(**overrides)  # checked as the suite's would be
        return overrides

    def policy_list(self) -> list[str] | None:
        return None if self.policies is None else [p.strip() for p in self.policies.split(",") if p.strip()]


def _command_line(config: AuditConfig) -> str:
    words = ["rlcert", "audit"]
    if config.suite is not None:
        words.append(config.suite)
    if config.policies is not None:
        words += ["--policies", config.policies]
    if config.env is not None:
        words += ["--env", config.env]
    for name in ("workers", "executor", "ray_address"):
        if getattr(config, name) is not None:
            words += ["--" + name.replace("_", "-"), str(getattr(config, name))]
    return shlex.join([*words, "--out", config.out])


def audit_command(config: AuditConfig) -> int:
    from rich.markup import escape
    from rich.table import Table

    from rlcert.audit import default_audit_suite, load_audit_suite, resume_audit, run_audit
    from rlcert.audit.render import evidence_label
    from rlcert.reports.console import report_console

    console = report_console()
    colours = {"pass": "green", "fail": "red", "inconclusive": "yellow", "info": "blue"}

    def print_check(record) -> None:
        headline = "" if record.headline is None else f" · {record.headline.name} = {record.headline.value:.4g}"
        line = escape(f"{record.title} · {record.policy}{headline}")  # finding names hold [brackets]
        console.print(f"[{colours[record.verdict]}]{record.verdict:>12}[/] {line}", highlight=False)

    if config.resume is not None:
        out = Path(config.resume)
        document = resume_audit(out, progress=config.progress, on_check=print_check)
    else:
        out = Path(config.out)
        if config.suite is not None:
            suite = load_audit_suite(config.suite)
        else:
            suite = default_audit_suite(config.policy_list(), config.env)
        suite = dataclasses.replace(suite, rollout=dataclasses.replace(suite.rollout, **config.rollout_overrides()))
        document = run_audit(suite, out, command=_command_line(config), progress=config.progress, on_check=print_check)
    table = Table(title=f"{document.title} · {', '.join(s['policy'] for s in document.subjects)}")
    for column in ("check", "policy", "verdict", "headline figure", "evidence"):
        table.add_column(column)
    for record in document.checks:
        figure = "—" if record.headline is None else f"{record.headline.name} = {record.headline.value:.4g}"
        evidence = "—" if record.headline is None else evidence_label(record.headline)
        verdict = f"[{colours[record.verdict]}]{record.verdict}[/]"
        table.add_row(escape(record.title), escape(record.policy), verdict, escape(figure), evidence)
    console.print(table)
    console.print(f"report: {(out / 'report.html').absolute()} (also report.md and report.json)", highlight=False)
    sys.stdout.flush()
    return 0
