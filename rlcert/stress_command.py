"""``rlcert stress``: a trained policy's return under a suite of probes at a sweep of severities."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from rlcert.envs.options import ActionOption, RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite, check_output_path, check_probability_open

__all__ = ["StressConfig", "stress_command"]


@dataclass(frozen=True)
class StressConfig(ActionOption, RolloutOptions):
    """Stress-test a fixed policy under environmental stochasticity (STORI probes and generic ones): the
    return at each probe and severity, its relative drop vs the unperturbed baseline with a confidence
    interval, and a pass/fail verdict against a tolerance. Every figure is empirical."""

    policy: str = "zoo:cartpole5-dqn"
    """Policy reference: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    probes: str = "stori"
    """Suite: stori (severity sweeps around the paper's probes for Atari games, generic probes elsewhere),
    stori-paper (only the paper's profiles, one setting each; ALE games), generic, a TOML file, or one probe
    stack such as RandomActionExecution:p=0.3."""
    episodes: int | None = None
    """Episodes per setting and for the baseline (default: the suite's, else 100; 30 for Atari); a pass/fail
    verdict needs at least 6 at 95 % confidence."""
    tolerance: float | None = None
    """Largest acceptable relative drop of the mean return (0.2 = 20 %; default: the suite's, else 0.2)."""
    confidence: float = 0.95
    """Level of the drop's confidence interval."""
    floor: float | None = None
    """The game's lowest possible return, the zero of relative drops (default: the suite's, else what the env's
    rules fix, e.g. -T for MountainCar-v0, else 0; give -21 for a full game of Pong)."""
    out: str = "results/stress.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.episodes is not None:
            check_count("episodes", self.episodes, 2)  # a paired interval needs two episodes
        if self.tolerance is not None:
            check_finite("tolerance", self.tolerance, 0)
        check_probability_open("confidence", self.confidence)
        if self.floor is not None:
            check_finite("floor", self.floor)
        if not self.probes:
            raise InvalidValueError("--probes must name a suite, a TOML file or a probe stack, got ''")
        check_output_path("out", self.out)


def _settings(config: StressConfig, env):
    from rlcert.envs.probe_suites import (
        builtin_suite,
        load_suite,
        parse_probe_stack,
        stori_paper_settings,
        suite_settings,
    )
    from rlcert.envs.stress import ProbeSetting

    defaults = {}
    if config.probes == "stori-paper":
        return stori_paper_settings(env), defaults
    if config.probes in ("stori", "generic"):
        sweeps = builtin_suite(config.probes, env)
    elif config.probes.endswith(".toml"):
        sweeps, defaults = load_suite(config.probes)
    else:
        stack = parse_probe_stack(config.probes)
        return [ProbeSetting(stack.label, 1.0, stack, "setting")], defaults
    return suite_settings(sweeps), defaults


def _lowest_return(spec) -> float | None:
    """The env's lowest possible return where its rules fix it (MountainCar: -T), the zero of relative drops."""
    from rlcert.envs.factory import known_return_range

    known = known_return_range(spec)
    return None if known is None else known[0]


def stress_command(config: StressConfig) -> int:
    from rich.table import Table

    from rlcert.agents import load_policy, policy_actions, policy_env
    from rlcert.envs import make_executor
    from rlcert.envs.factory import resolve_env_spec
    from rlcert.envs.stress import TOO_FEW_EPISODES, stress_test
    from rlcert.reports import AuditReport
    from rlcert.reports.console import report_console
    from rlcert.reports.plots import plot_stress_sweeps

    policy = load_policy(config.policy)
    spec = resolve_env_spec(policy_env(config.policy, config.env))
    settings, defaults = _settings(config, spec)
    base = config.probe_stack()
    if base is not None:  # extra probes under every setting and the baseline
        settings = [replace(s, stack=base + s.stack) for s in settings]
    episodes = next(n for n in (config.episodes, defaults.get("episodes"), 30 if spec.atari else 100) if n is not None)
    tolerance = config.tolerance if config.tolerance is not None else defaults.get("tolerance", 0.2)
    floor = next(x for x in (config.floor, defaults.get("floor"), _lowest_return(spec), 0.0) if x is not None)
    report = stress_test(
        policy,
        spec,
        settings,
        int(episodes),
        tolerance=float(tolerance),
        confidence=config.confidence,
        floor=float(floor),
        seed=config.seed,
        policy_name=config.policy,
        checkpoint_dir=config.checkpoint_dir,
        executor=make_executor(config.workers),
        chunk_size=config.chunk_size,
        progress=config.progress,
        actions=policy_actions(config.policy, config.actions),
    )
    audit = AuditReport(
        "rlcert stress",
        report.findings(),
        subject={"policy": config.policy, "env": str(spec), **({"probe": base.label} if base is not None else {})},
        extra={
            "config": asdict(config) | {"episodes": episodes, "tolerance": tolerance, "floor": floor},
            "passed": report.passed,
        },
    )
    path = audit.save(config.out)
    plot = plot_stress_sweeps(report, path.with_suffix(".png"))
    under = f" under {base.label}" if base is not None else ""
    table = Table(title=f"stress test · {config.policy} on {spec}{under}"
                        f"{' (sampled actions)' if report.actions == 'sampled' else ''} · "
                        f"baseline {report.baseline_mean:.2f} ± {report.baseline_stderr:.2f} · N={episodes} per "
                        f"setting · tolerance {report.tolerance:.0%}")  # fmt: skip
    # Episodes ended by the env's step limit rather than by the game get a column only when there are
    # any: a low return from a policy that stalls reads differently from one that plays and loses.
    cuts = [report.baseline_cut_episodes, *(r.cut_episodes for r in report.results)]
    show_cuts = any(cuts)
    columns = ["probe", "severity", "mean return", "relative drop", f"{report.confidence:.0%} interval", "verdict"]
    for column in columns + (["cut at step limit"] if show_cuts else []):
        table.add_column(column, justify="right")
    for result in report.results:
        table.add_row(
            result.setting.family,
            f"{result.setting.severity_name}={result.setting.severity:g}",
            f"{result.mean_return:.2f} ± {result.stderr_return:.2f}",
            f"{result.drop:+.1%}",
            f"[{result.drop_low:+.1%}, {result.drop_high:+.1%}]",
            result.verdict,
            *([f"{result.cut_episodes}/{result.episodes}"] if show_cuts else []),
        )
    console = report_console()
    console.print(table)
    if show_cuts:
        console.print(f"baseline: {report.baseline_cut_episodes}/{report.episodes} episodes cut at the env's "
                      "step limit; the game did not end a cut episode (a policy that stalls, for example)")  # fmt: skip
    if any(r.verdict == TOO_FEW_EPISODES for r in report.results):
        console.print(f"no verdict below {report.min_episodes_for_verdict} episodes per setting at "
                      f"{report.confidence:.0%} confidence: run more episodes for a pass or fail")  # fmt: skip
    console.print(f"all figures empirical ({episodes} episodes per setting, seed {config.seed}); "
                  f"report {path}, plot {plot}")  # fmt: skip
    return 0
