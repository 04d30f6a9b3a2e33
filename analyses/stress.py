"""Stress test: a fixed policy's return under each probe of a suite, at each severity, against its unperturbed
baseline, with a pass/fail verdict against a tolerance on the relative drop (empirical).

The probes follow STORI (Barsainyan et al. 2025, arXiv 2509.01793, §3: its profiles for the four STORI games, with
severity sweeps around them), or generic ones for any other env; the statistics (paired episodes, the ratio
estimator's Student-t interval of Cochran, *Sampling Techniques*, 3rd ed., §6.4) are those of
:mod:`rlcert.envs.stress`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.envs.factory import EnvSpec, known_return_range
from rlcert.envs.options import ActionOption, RolloutOptions
from rlcert.envs.probe_suites import (
    builtin_suite,
    load_suite,
    parse_probe_stack,
    stori_paper_settings,
    suite_settings,
)
from rlcert.envs.stress import ProbeSetting, StressReport, stress_test
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite, check_probability_open

__all__ = ["StressTestConfig", "StressAnalysis", "stress_test_policy"]

DEFAULT_TOLERANCE = 0.2
"""The tolerance when neither the config nor the suite sets one."""


@dataclass(frozen=True)
class StressTestConfig(ActionOption):
    """Stress-test a fixed policy under environmental stochasticity (STORI probes and generic ones): the
    return at each probe and severity, its relative drop vs the unperturbed baseline with a confidence
    interval, and a pass/fail verdict against a tolerance. Every figure is empirical."""

    suite: str = "stori"
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
    rules fix, e.g. -T for MountainCar-v0, -21 for a full game of Pong, -100 for Boxing, else 0)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.episodes is not None:
            check_count("episodes", self.episodes, 2)  # a paired interval needs two episodes
        if self.tolerance is not None:
            check_finite("tolerance", self.tolerance, 0)
        check_probability_open("confidence", self.confidence)
        if self.floor is not None:
            check_finite("floor", self.floor)
        if not self.suite:
            raise InvalidValueError("--suite must name a suite, a TOML file or a probe stack, got ''")


@dataclass(frozen=True)
class StressAnalysis:
    """The baseline and every probed setting of one stress test, with the defaults it resolved (empirical)."""

    subject: Subject
    config: StressTestConfig
    rollout: RolloutOptions
    episodes: int
    """Episodes per setting and for the baseline, as resolved (config, else suite, else 30 Atari / 100)."""
    tolerance: float
    """As resolved: config, else suite, else 0.2."""
    floor: float
    """As resolved: config, else suite, else the env's known lowest return, else 0."""
    report: StressReport
    wall_time_s: float

    @property
    def passed(self) -> bool:
        """True only when every setting passed (see :attr:`StressReport.passed`)."""
        return self.report.passed

    def label(self) -> str:
        """What the figures hold for: policy, env, the base probe stack under every setting, how actions were
        picked, the baseline's mean return ± one standard error, N per setting and the tolerance."""
        base = self.rollout.probe_stack()
        under = f" under {base.label}" if base is not None else ""
        sampled = " (sampled actions)" if self.report.actions == "sampled" else ""
        return (
            f"{self.subject.label()}{under}{sampled} · baseline {self.report.baseline_mean:.2f} ± "
            f"{self.report.baseline_stderr:.2f} (mean ± standard error) · N={self.episodes} per setting · "
            f"tolerance {self.report.tolerance:.0%}"
        )

    def findings(self) -> tuple[Finding, ...]:
        """The report's findings, each with the subject and the rollout options that shaped it. The probe under
        every episode (the baseline's too) is recorded as ``base_probe``: ``probe`` names each setting's whole
        stack."""
        rollout = self.rollout.result_params()
        base = rollout.pop("probe", None)
        context = self.subject.to_dict() | rollout | ({"base_probe": base} if base is not None else {})
        return tuple(replace(finding, params=context | dict(finding.params)) for finding in self.report.findings())

    def plot(self, path: str | Path) -> Path:
        """Mean return against severity for each probe family, with the baseline as a band."""
        from rlcert.reports.plots import plot_stress_sweeps

        return plot_stress_sweeps(self.report, path)

    def report_extra(self) -> dict[str, Any]:
        resolved = {"episodes": self.episodes, "tolerance": self.tolerance, "floor": self.floor}
        return {"config": asdict(self.config) | resolved, "passed": self.passed}


def _suite(suite: str, env: EnvSpec) -> tuple[list[ProbeSetting], dict[str, Any]]:
    """The settings ``suite`` names (a built-in suite, a TOML suite or one probe stack) and the suite's
    defaults (episodes, tolerance, floor; only a TOML suite has any)."""
    if suite == "stori-paper":
        return stori_paper_settings(env), {}
    if suite in ("stori", "generic"):
        return suite_settings(builtin_suite(suite, env)), {}
    if suite.endswith(".toml"):
        sweeps, defaults = load_suite(suite)
        return suite_settings(sweeps), defaults
    stack = parse_probe_stack(suite)
    return [ProbeSetting(stack.label, 1.0, stack, "setting")], {}


def _first_given(*values: Any) -> Any:
    return next(value for value in values if value is not None)


def _lowest_return(env: EnvSpec) -> float | None:
    """The env's lowest possible return where its rules fix it (MountainCar: -T), the zero of relative drops."""
    known = known_return_range(env)
    return None if known is None else known[0]


def stress_test_policy(
    policy: str | Path | Policy,
    env: str | EnvSpec | None = None,
    config: StressTestConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> StressAnalysis:
    """Run ``policy`` unperturbed and under every setting of ``config.suite``, the same seeded episodes each, and
    compare their returns. ``rollout.probe``, when given, runs under every episode: the baseline's and every
    setting's, so each drop is the setting's own effect on the probed env.

    Example:
        >>> config = StressTestConfig(suite="StickyActions:p=0.25", episodes=6)
        >>> result = stress_test_policy("zoo:cartpole5-dqn", config=config, rollout=RolloutOptions(progress=False))
        >>> {f.evidence.value for f in result.findings()}
        {'empirical'}
    """
    config = config or StressTestConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    settings, defaults = _suite(config.suite, subject.env)
    base = rollout.probe_stack()
    if base is not None:
        settings = [replace(setting, stack=base + setting.stack) for setting in settings]
    episodes = int(_first_given(config.episodes, defaults.get("episodes"), 30 if subject.env.atari else 100))
    tolerance = float(_first_given(config.tolerance, defaults.get("tolerance"), DEFAULT_TOLERANCE))
    floor = float(_first_given(config.floor, defaults.get("floor"), _lowest_return(subject.env), 0.0))
    run_options = rollout.run_options()
    run_options.pop("probe")  # under every episode: the baseline's stack, and below every setting's
    report = stress_test(
        subject.policy,
        subject.env,
        settings,
        episodes,
        tolerance=tolerance,
        confidence=config.confidence,
        floor=floor,
        policy_name=subject.reference,
        actions=subject.actions(config.actions),
        baseline_probe=base,
        **run_options,
    )
    return StressAnalysis(subject, config, rollout, episodes, tolerance, floor, report, time.perf_counter() - start)
