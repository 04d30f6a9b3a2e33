"""The ``rlcert`` command line: ``audit``, ``evaluate``, ``certify reward|smoothed-actions|actions``, ``stress``
and ``zoo list|train`` (one :class:`Command` each, in ``COMMANDS``)."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rlcert import __version__
from rlcert.analyses.evaluation import EvaluationConfig, evaluate_policy
from rlcert.audit_command import AuditConfig, audit_command
from rlcert.bounds_commands import CertifyActionsConfig, certify_actions_command
from rlcert.certify_commands import (
    CertifyRewardConfig,
    CertifySmoothedActionsConfig,
    certify_reward_command,
    certify_smoothed_actions_command,
)
from rlcert.config import OneLineErrorParser, add_dataclass_arguments, argparse_help, dataclass_from_args, narrow
from rlcert.constraints_command import CertifyConstraintsConfig, certify_constraints_command
from rlcert.envs.options import RolloutOptions
from rlcert.hijack_command import HijackCommandConfig, hijack_command
from rlcert.instability_command import InstabilityCommandConfig, instability_command
from rlcert.lipschitz_command import (
    LipschitzSweepConfig,
    TrainLipschitzConfig,
    lipschitz_sweep_command,
    train_lipschitz_command,
)
from rlcert.reports.errors import InvalidValueError, RlcertError, RlcertWarning
from rlcert.reports.validation import check_count, check_output_path
from rlcert.stress_command import StressConfig, stress_command
from rlcert.surprise_command import (
    SurpriseReportConfig,
    TrainSurpriseConfig,
    surprise_report_command,
    train_surprise_command,
)
from rlcert.train_command import (
    TrainPpoLagrangianConfig,
    TrainTsddrConfig,
    train_ppo_lagrangian_command,
    train_tsddr_command,
)

__all__ = ["main", "EvaluateConfig", "ZooTrainConfig"]


@dataclass(frozen=True)
class EvaluateConfig(EvaluationConfig, RolloutOptions):
    """Run a policy for N episodes and report its mean return (empirical)."""

    policy: str = "zoo:cartpole5-dqn"
    """Policy: zoo:NAME, a Stable-Baselines3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec (a preset such as cartpole5, or a gymnasium id); defaults to a zoo agent's own env."""
    out: str = "results/evaluate.json"
    """Where to write the JSON report."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_output_path("out", self.out)


@dataclass(frozen=True)
class ZooTrainConfig:
    """Reproduce a zoo agent from its recipe (needs rlcert[train]). The trained agent goes to
    RUN_DIR/agent (runs/zoo-train/NAME/agent by default), never into the installed zoo unless
    --replace-zoo-agent says so. A rerun resumes from the run's last checkpoint and, on the CPU, reproduces
    the uninterrupted run exactly (not an Atari DQN, whose replay buffer is too large to checkpoint); Ctrl-C
    prints the command that resumes."""

    name: str
    """Zoo agent to train (see `rlcert zoo list`)."""
    out_dir: str | None = None
    """Where to write weights.pt, meta.json and the learning curve (default: RUN_DIR/agent, i.e.
    runs/zoo-train/NAME/agent); the folder loads as --policy OUT_DIR/weights.pt."""
    replace_zoo_agent: bool = False
    """Write the trained agent into the installed zoo (agents/zoo/NAME), replacing the shipped one; not
    with --out-dir."""
    final_episodes: int | None = None
    """Episodes of the final evaluation recorded in meta.json (default: the recipe's; 1000 classic, 30 Atari)."""
    run_dir: str | None = None
    """Run directory holding the resumable checkpoint (default: runs/zoo-train/NAME); a rerun resumes from it."""
    stop_after: int | None = None
    """Stop at the first checkpoint after this many more training steps (spread a long run over several calls)."""
    env_processes: bool = False
    """Step the training envs in subprocesses (the same envs and seeds; faster for Atari on several cores)."""

    def __post_init__(self) -> None:
        if self.stop_after is not None:
            check_count("stop_after", self.stop_after)
        if self.final_episodes is not None:
            check_count("final_episodes", self.final_episodes, 2)  # a standard error needs two
        if self.replace_zoo_agent and self.out_dir is not None:
            raise InvalidValueError(
                f"--replace-zoo-agent writes into the installed zoo (agents/zoo/{self.name}); it cannot be "
                f"combined with --out-dir {self.out_dir!r}: pass one of them"
            )

    def agent_dir(self) -> Path | None:
        """Where the agent goes: --out-dir, the installed zoo's folder, or None (the library's default,
        RUN_DIR/agent)."""
        if self.replace_zoo_agent:
            from rlcert.agents.zoo import ZOO_DIR

            return ZOO_DIR / self.name
        return Path(self.out_dir) if self.out_dir is not None else None

    def resume_command(self, run_dir: Path) -> str:
        """The command that resumes this run (the same options; --stop-after left to the user)."""
        import shlex

        words = ["rlcert", "zoo", "train", self.name, "--run-dir", str(run_dir)]
        if self.out_dir is not None:
            words += ["--out-dir", self.out_dir]
        if self.replace_zoo_agent:
            words.append("--replace-zoo-agent")
        if self.final_episodes is not None:
            words += ["--final-episodes", str(self.final_episodes)]
        if self.env_processes:
            words.append("--env-processes")
        return shlex.join(words)


def _evaluate(config: EvaluateConfig) -> int:
    from rlcert.reports import AuditReport, findings_table, summary_table
    from rlcert.reports.console import report_console

    library_config, rollout = narrow(EvaluationConfig, config), narrow(RolloutOptions, config)
    result = evaluate_policy(config.policy, config.env, library_config, rollout)
    findings = result.findings()
    summary = result.summary()
    report = AuditReport("rlcert evaluate", findings, subject=result.subject.to_dict(), extra={"summary": summary})
    path = report.save(config.out)
    console = report_console()
    sampled = " (sampled actions)" if result.actions == "sampled" else ""
    console.print(summary_table(summary, title=result.label() + sampled))
    console.print(findings_table(findings))
    console.print(f"report written to {path}")
    return 0


def _zoo_score(ev: dict) -> str:
    """A zoo agent's recorded score; a sampled-action score names itself and shows the greedy one beside it; a
    constrained agent's shows its mean episode cost against its limit."""
    if not ev:
        return "-"
    text = f"{ev['mean_return']:.1f} ± {ev['stderr_return']:.1f} ({ev['episodes']} ep."
    if ev.get("actions", "greedy") != "greedy":
        greedy = ev.get("greedy")
        text += ", sampled actions" + (f"; greedy {greedy['mean_return']:.1f}" if greedy else "")
    if "mean_cost" in ev:
        text += f"; cost {ev['mean_cost']:.2f} ± {ev['stderr_cost']:.2f}, limit {ev['cost_limit']:g}"
    return text + ")"


def _decision_rule_score(meta: dict) -> str:
    """A TS-DDR rule's recorded mean cost on its out-of-sample paths, against SDDP and the wait-and-see bound."""
    evaluation = meta.get("evaluation", {})
    policies = evaluation.get("policies", {})
    if "TS-DDR" not in policies:
        return "-"
    text = f"mean cost {policies['TS-DDR']['mean']:,.0f}"
    if "SDDP" in policies:
        text += f" (SDDP {policies['SDDP']['mean']:,.0f}"
        text += f", wait-and-see {evaluation['wait_and_see']:,.0f})" if "wait_and_see" in evaluation else ")"
    return text


def _zoo_list() -> int:
    from rich.table import Table

    from rlcert.agents import zoo_entries
    from rlcert.agents.recipes import RECIPES
    from rlcert.reports.console import report_console

    table = Table(title="rlcert zoo", caption="± is one standard error of the mean over the episodes shown")
    columns = ("name", "env", "algorithm", "train σ", "mean return ± SE (σ=0)", "smoothed return ± SE",
               "other envs ± SE", "minimum")  # fmt: skip
    for column in columns:
        table.add_column(column, no_wrap=column == "name")
    entries = zoo_entries()
    for entry in entries:
        if entry.kind == "tsddr":
            case = f"hydro case {entry.meta['case']}, {entry.meta['config']['horizon']} stages"
            table.add_row(entry.name, case, "TS-DDR", "-", _decision_rule_score(entry.meta), "", "", "")
            continue
        ev = entry.evaluation
        smoothed = ev.get("smoothed")
        table.add_row(
            entry.name,
            entry.env,
            entry.meta.get("algorithm", "?"),
            str(entry.meta["training"].get("noise_sigma", 0)),
            _zoo_score(ev),
            f"{smoothed['mean_return']:.1f} ± {smoothed['stderr_return']:.1f} @ σ={smoothed['sigma']}"
            if smoothed
            else "",
            "; ".join(
                f"{env}: {other['mean_return']:.2f} ± {other['stderr_return']:.2f}"
                for env, other in ev.get("other_envs", {}).items()
            ),
            str(entry.meta.get("min_score", "")),
        )
    # Recipes whose agent is not in this checkout yet are listed too, so the zoo's full scope and the
    # command that fills each gap are visible in one place.
    trained = {entry.name for entry in entries}
    for name, pending in sorted(RECIPES.items()):
        if name not in trained:
            table.add_row(
                name, pending.env, pending.algorithm.upper(), str(pending.noise_sigma),
                "not trained yet", "", "", "" if pending.min_score is None else str(pending.min_score),
            )  # fmt: skip
    if not set(RECIPES) <= trained:
        table.caption += "; to train a missing agent: rlcert zoo train NAME (it resumes from its run's checkpoint)"
    report_console().print(table)
    return 0


def _probes() -> int:
    from rich.table import Table

    from rlcert.envs.probe_suites import probe_catalogue
    from rlcert.reports.console import report_console

    table = Table(title="rlcert probes · use as Name:key=value,key=value, stacked with + (e.g. --probe, --suite)")
    for column in ("probe", "what it does", "parameter", "default", "valid values"):
        table.add_column(column, overflow="fold")
    for probe in probe_catalogue():
        for row, (name, default, valid) in enumerate(probe.parameters or (("-", "", ""),)):
            first = row == 0
            table.add_row(probe.name if first else "", probe.summary if first else "", name, default, valid)
        table.add_section()
    report_console().print(table)
    return 0


def _zoo_train(config: ZooTrainConfig) -> int:
    from rlcert.agents.recipes import recipe
    from rlcert.agents.training import TrainingInterrupted, default_agent_dir, default_run_dir, train_zoo_agent

    run_dir = Path(config.run_dir) if config.run_dir is not None else default_run_dir(config.name)
    agent_dir = config.agent_dir() or default_agent_dir(run_dir)
    try:
        meta = train_zoo_agent(
            recipe(config.name),
            agent_dir,
            final_episodes=config.final_episodes,
            run_dir=run_dir,
            stop_after=config.stop_after,
            env_processes=config.env_processes,
        )
    except KeyboardInterrupt as stop:
        # Ctrl-C is not an error: one line with what is kept and how to go on, and the shell's 128 + SIGINT.
        # Before training starts (imports, building the model) nothing changes: a bare KeyboardInterrupt.
        if not isinstance(stop, TrainingInterrupted):
            kept, again = "interrupted before training started", "rerun with"
        else:
            kept, again = str(stop), "resume with" if stop.checkpoint is not None else "start again with"
        print(f"rlcert: {kept}; {again}: {config.resume_command(run_dir)}", file=sys.stderr)
        return 130
    if meta is None:
        return 0
    print(
        f"{config.name}: mean return {meta['evaluation']['mean_return']:.2f} "
        f"(± {meta['evaluation']['stderr_return']:.2f} standard error) over {meta['evaluation']['episodes']} episodes; "
        f"agent written to {agent_dir} (evaluate it: rlcert evaluate --policy {agent_dir / 'weights.pt'} "
        f"--env {meta['env']})"
    )
    return 0


@dataclass(frozen=True)
class Command:
    """One command of the command line: its words, its config dataclass (None: no options) and what runs it."""

    words: tuple[str, ...]
    config: type | None
    run: Callable[..., int]
    help: str = ""


COMMANDS = (
    Command(("audit",), AuditConfig, audit_command),
    Command(("evaluate",), EvaluateConfig, _evaluate),
    Command(("certify", "reward"), CertifyRewardConfig, certify_reward_command),
    Command(("certify", "smoothed-actions"), CertifySmoothedActionsConfig, certify_smoothed_actions_command),
    Command(("certify", "actions"), CertifyActionsConfig, certify_actions_command),
    Command(("certify", "constraints"), CertifyConstraintsConfig, certify_constraints_command),
    Command(("stress",), StressConfig, stress_command),
    Command(("instability",), InstabilityCommandConfig, instability_command),
    Command(("hijack",), HijackCommandConfig, hijack_command),
    Command(("probes",), None, _probes, "list every probe with its parameters and their valid values"),
    Command(("train", "tsddr"), TrainTsddrConfig, train_tsddr_command),
    Command(("train", "ppo-lagrangian"), TrainPpoLagrangianConfig, train_ppo_lagrangian_command),
    Command(("train", "lipschitz"), TrainLipschitzConfig, train_lipschitz_command),
    Command(("train", "lipschitz-sweep"), LipschitzSweepConfig, lipschitz_sweep_command),
    Command(("train", "surprise"), TrainSurpriseConfig, train_surprise_command),
    Command(("surprise-report",), SurpriseReportConfig, surprise_report_command),
    Command(("zoo", "list"), None, _zoo_list, "list the zoo agents and their scores"),
    Command(("zoo", "train"), ZooTrainConfig, _zoo_train),
)
_GROUPS = {
    "certify": "certificates (smoothing reward bounds, per-state radii, sound action certificates, constraints)",
    "train": "train constrained policies (TS-DDR on hydrothermal dispatch, PPO-Lagrangian on CMDPs, Lipschitz-"
    "constrained imitation)",
    "zoo": "the bundled agent zoo",
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command in COMMANDS; each leaf parser knows its Command (``args.command``)."""
    parser = OneLineErrorParser(prog="rlcert", description="Certify and stress-test trained RL policies.")
    parser.add_argument("--version", action="version", version=f"rlcert {__version__}")
    subparsers = {(): parser.add_subparsers(dest="command_word", required=True)}
    for command in COMMANDS:
        for depth in range(1, len(command.words)):
            group = command.words[:depth]
            if group not in subparsers:
                words = subparsers[group[:-1]].add_parser(group[-1], help=_GROUPS[group[-1]])
                subparsers[group] = words.add_subparsers(dest=f"{'_'.join(group)}_command", required=True)
        doc = argparse_help(command.config.__doc__) if command.config is not None else command.help
        leaf = subparsers[command.words[:-1]].add_parser(command.words[-1], help=doc, description=doc)
        if command.config is not None:
            add_dataclass_arguments(leaf, command.config)
        leaf.set_defaults(command=command)
    return parser


_python_formatwarning = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None) -> str:
    """rlcert's own warnings as one line, like its errors; Python's format for everyone else's."""
    if issubclass(category, RlcertWarning):
        return f"rlcert: warning: {message}\n"
    return _python_formatwarning(message, category, filename, lineno, line)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.simplefilter("always", RlcertWarning)  # each damaged file is named, not only the first
    warnings.formatwarning = _format_warning

    command: Command = args.command
    try:
        if command.config is None:
            return command.run()
        return command.run(dataclass_from_args(command.config, args))
    except RlcertError as exc:
        # A user error: one line naming the bad value. Anything else is a bug and keeps its traceback.
        print(f"rlcert: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
