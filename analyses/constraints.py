"""Constraint certificate of a CMDP policy: how likely an episode's cost exceeds its limit.

With N seeded episodes of which k have a cost above the limit, the exact one-sided Clopper–Pearson bound
(Clopper & Pearson 1934) gives an upper bound on P(episode cost > limit) that holds with probability ≥ 1 − α
(statistical); the mean episode cost and the violation rate are reported beside it (empirical). This is the
check a Lagrangian method (PPO-Lagrangian, TS-DDR's constraints) is judged by: a mean cost under the limit
does not by itself bound how often single episodes break it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.certify.confidence import clopper_pearson_upper
from rlcert.envs.cmdp import CARTPOLE_COST_ID, reports_cost
from rlcert.envs.options import ActionOption, RolloutOptions
from rlcert.envs.rollout import Episodes, run
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite, check_probability_open

__all__ = ["ConstraintConfig", "ConstraintAnalysis", "certify_constraints"]


@dataclass(frozen=True)
class ConstraintConfig(ActionOption):
    """Certify how often a policy's episode cost exceeds a limit (Clopper-Pearson, statistical) on an env that
    reports a cost in info["cost"] (e.g. rlcert/CartPoleCost-v1)."""

    limit: float = 25.0
    """Cost limit of one episode: an episode violates the constraint when its total cost exceeds it."""
    episodes: int = 1000
    """Episodes behind the certificate."""
    alpha: float = 0.05
    """1 - confidence of the bound."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_finite("limit", self.limit, 0)
        check_count("episodes", self.episodes)
        check_probability_open("alpha", self.alpha)


@dataclass(frozen=True)
class ConstraintAnalysis:
    subject: Subject
    config: ConstraintConfig
    rollout: RolloutOptions
    episodes: Episodes
    actions: str
    wall_time_s: float

    @property
    def violations(self) -> int:
        return int(np.sum(self.episodes.costs > self.config.limit))

    @property
    def violation_upper(self) -> float:
        return float(clopper_pearson_upper(self.violations, len(self.episodes), self.config.alpha))

    def label(self) -> str:
        where = f"{self.subject.label()}{self.rollout.probe_phrase()}"
        return f"{where} · cost limit {self.config.limit:g} · N={len(self.episodes)}"

    def findings(self) -> tuple[Finding, ...]:
        costs = self.episodes.costs
        n = len(costs)
        params = self.subject.to_dict() | self.rollout.result_params() | {"limit": self.config.limit, "episodes": n}
        stderr = float(costs.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        mean = float(costs.mean())
        return (
            Finding("mean_episode_cost", mean, "empirical", confidence=0.95,
                    interval=(mean - 1.96 * stderr, mean + 1.96 * stderr),
                    method="sample mean; interval ± 1.96 standard errors (normal approximation)", params=params,
                    description=f"mean episode cost of {self.label()}"),
            Finding("violation_rate", self.violations / n, "empirical", params=params,
                    method="fraction of episodes whose cost exceeds the limit"),
            Finding(f"violation_probability_upper@limit={self.config.limit:g}", self.violation_upper, "statistical",
                    confidence=1 - self.config.alpha, method="Clopper-Pearson one-sided upper bound",
                    params=params | {"violations": self.violations},
                    description="upper bound on the probability that one episode's cost exceeds the limit"),
        )  # fmt: skip

    def plot(self, path: str | Path) -> Path:
        """The episode costs' distribution against the limit."""
        from rlcert.reports.plots import plot_cost_histogram

        return plot_cost_histogram(self.episodes.costs, self.config.limit, path, title=self.label())

    def report_extra(self) -> dict[str, Any]:
        return {"config": asdict(self.config) | self.rollout.result_params(), "violations": self.violations}


def certify_constraints(
    policy: str | Path | Policy,
    env: str | None = None,
    config: ConstraintConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> ConstraintAnalysis:
    """Run ``config.episodes`` episodes and bound the probability that an episode's cost exceeds the limit."""
    config = config or ConstraintConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    actions = subject.actions(config.actions)
    if not reports_cost(subject.env):
        raise InvalidValueError(
            f"{subject.env} reports no cost (info['cost']): a constraint certificate cannot apply; constrained "
            f"tasks: {CARTPOLE_COST_ID}"
        )
    episodes = run(subject.policy, subject.env, config.episodes, actions=actions, **rollout.run_options())
    return ConstraintAnalysis(subject, config, rollout, episodes, actions, time.perf_counter() - start)
