"""Evaluation: a policy's mean return over N seeded episodes (empirical)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.attacks.smoothing import GaussianSmoothing
from rlcert.envs.options import ActionOption, RolloutOptions
from rlcert.envs.rollout import Episodes, run
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite

__all__ = ["EvaluationConfig", "Evaluation", "evaluate_policy"]


@dataclass(frozen=True)
class EvaluationConfig(ActionOption):
    """Run a policy for N episodes and report its mean return (empirical)."""

    episodes: int = 1000
    """Number of episodes."""
    sigma: float = 0.0
    """If > 0, evaluate the Gaussian-smoothed policy (noise of this std on every raw frame)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_count("episodes", self.episodes)
        check_finite("sigma", self.sigma, 0)


@dataclass(frozen=True)
class Evaluation:
    """The episodes of one evaluation and what they say (empirical: a sample mean, not a bound)."""

    subject: Subject
    config: EvaluationConfig
    rollout: RolloutOptions
    episodes: Episodes
    actions: str
    """greedy or sampled, as resolved for this policy."""
    wall_time_s: float

    def label(self) -> str:
        """What the figure holds for: policy, env, probe stack, smoothing σ and N."""
        probe = f" under probe {self.episodes.probe}" if self.episodes.probe else ""
        smoothing = f" · smoothed σ={self.config.sigma:g}" if self.config.sigma > 0 else ""
        return f"{self.subject.label()}{probe}{smoothing} · N={len(self.episodes)}"

    def summary(self) -> dict[str, Any]:
        summary = self.episodes.summary()
        return summary | {
            "wall_time_s": self.wall_time_s,
            "steps_per_second": summary["total_steps"] / self.wall_time_s,
        }

    def findings(self) -> tuple[Finding, ...]:
        episodes = self.episodes
        half_width = 1.96 * episodes.stderr_return
        sampled = ", actions sampled from the policy's distribution" if self.actions == "sampled" else ""
        return (
            Finding(
                name="mean_return",
                value=episodes.mean_return,
                evidence="empirical",
                confidence=0.95,
                interval=(episodes.mean_return - half_width, episodes.mean_return + half_width),
                method="sample mean; interval ± 1.96 standard errors (normal approximation)",
                description=f"mean return of {self.label()}{sampled}",
                params=asdict(self.config)
                | self.rollout.result_params()
                | self.subject.to_dict()
                | {"actions": self.actions},
                seed=self.rollout.seed,
            ),
        )

    def plot(self, path: str | Path) -> Path | None:
        """An evaluation has no figure beyond its table."""
        return None


def evaluate_policy(
    policy: str | Path | Policy,
    env: str | None = None,
    config: EvaluationConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> Evaluation:
    """Run ``policy`` (a reference or a policy object) for ``config.episodes`` seeded episodes.

    Example:
        >>> result = evaluate_policy("zoo:cartpole5-dqn", config=EvaluationConfig(episodes=10))
        >>> result.findings()[0].evidence.value
        'empirical'
    """
    config = config or EvaluationConfig()
    rollout = rollout or RolloutOptions()
    subject = resolve_subject(policy, env)
    actions = subject.actions(config.actions)
    start = time.perf_counter()
    episodes = run(
        subject.policy,
        subject.env,
        config.episodes,
        defense=GaussianSmoothing(config.sigma) if config.sigma > 0 else None,
        actions=actions,
        **rollout.run_options(),
    )
    return Evaluation(subject, config, rollout, episodes, actions, time.perf_counter() - start)
