"""Constraint certificate of a CMDP policy: how likely an episode's cost exceeds its limit.

With N seeded episodes of which k have a cost above the limit, the exact one-sided Clopper–Pearson bound
(Clopper & Pearson 1934) gives an upper bound on P(episode cost > limit) that holds with probability ≥ 1 − α
(statistical); the mean episode cost and the violation rate are reported beside it (empirical). This is the
check a Lagrangian method (PPO-Lagrangian, TS-DDR's constraints) is judged by: a mean cost under the limit
does not by itself bound how often single episodes break it.

With ``attack_eps`` the same figures are computed again under the cost-maximising observation attack
(``rlcert.attacks.cost_critic``): a critic of the policy's discounted cost, fitted on the policy's own episodes,
steers every observation within an ℓ∞ ball of that radius toward the action it rates costliest. The attacked bound
is statistical for the policy under *that* attack; the attack itself is empirical (a stronger one may do worse).
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
from rlcert.envs.cmdp import CARTPOLE_COST_ID, CARTPOLE_DRIFT_COST_ID, reports_cost
from rlcert.envs.hydro.env import HYDRO_DISPATCH_ID
from rlcert.envs.options import ActionOption, RolloutOptions
from rlcert.envs.rollout import Episodes, run
from rlcert.envs.seeding import SUB_RUN, child_seed
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite, check_probability_open

__all__ = ["ConstraintConfig", "ConstraintAnalysis", "certify_constraints", "CRITIC_SUB_RUN", "ATTACK_SUB_RUN"]

# SeedSequence children of the run's seed (rlcert.envs.seeding): the critic's episodes, and the attacked episodes.
CRITIC_SUB_RUN, ATTACK_SUB_RUN = 2, 1
DEFAULT_CRITIC_EPISODES = 100


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
    attack_eps: float = 0.0
    """If > 0, also certify the episodes under the cost-maximising observation attack of this l-inf radius per
    step (a cost critic of the policy steers it toward its costliest action; an empirical attack)."""
    critic_episodes: int | None = None
    """Episodes of the policy the attack's cost critic is fitted on (default 100; only with --attack-eps)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check_finite("limit", self.limit, 0)
        check_count("episodes", self.episodes)
        check_probability_open("alpha", self.alpha)
        check_finite("attack_eps", self.attack_eps, 0)
        if self.critic_episodes is not None:
            check_count("critic_episodes", self.critic_episodes)
            if self.attack_eps == 0:
                raise InvalidValueError("--critic-episodes needs --attack-eps > 0 (the critic steers the attack)")

    def applied(self) -> dict[str, Any]:
        """The options that shaped the result, defaults resolved; none that could not apply."""
        options = asdict(self)
        if self.attack_eps == 0:
            options.pop("attack_eps")
            options.pop("critic_episodes")
        elif self.critic_episodes is None:
            options["critic_episodes"] = DEFAULT_CRITIC_EPISODES
        return options


@dataclass(frozen=True)
class ConstraintAnalysis:
    subject: Subject
    config: ConstraintConfig
    rollout: RolloutOptions
    episodes: Episodes
    actions: str
    wall_time_s: float
    attacked: Episodes | None = None
    """The episodes under the cost-maximising attack (with ``config.attack_eps``)."""
    attack: str | None = None
    """The attack that produced them (its description)."""

    def _violations(self, episodes: Episodes) -> int:
        return int(np.sum(episodes.costs > self.config.limit))

    @property
    def violations(self) -> int:
        return self._violations(self.episodes)

    @property
    def violation_upper(self) -> float:
        return float(clopper_pearson_upper(self.violations, len(self.episodes), self.config.alpha))

    def label(self) -> str:
        where = f"{self.subject.label()}{self.rollout.probe_phrase()}"
        return f"{where} · cost limit {self.config.limit:g} · N={len(self.episodes)}"

    def findings(self) -> tuple[Finding, ...]:
        clean = self._findings(self.episodes, "", {}, "")
        if self.attacked is None:
            return clean
        attack = {"attack": self.attack, "attack_eps": self.config.attack_eps}
        phrase = f" under the cost-maximising attack at l-inf eps={self.config.attack_eps:g} (an empirical attack)"
        return clean + self._findings(self.attacked, "attacked_", attack, phrase)

    def _findings(self, episodes: Episodes, prefix: str, extra: dict[str, Any], phrase: str) -> tuple[Finding, ...]:
        costs = episodes.costs
        n = len(costs)
        params = self.subject.to_dict() | self.rollout.result_params() | {"limit": self.config.limit, "episodes": n}
        params |= extra
        stderr = float(costs.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
        mean, violations = float(costs.mean()), self._violations(episodes)
        upper = float(clopper_pearson_upper(violations, n, self.config.alpha))
        return (
            Finding(f"{prefix}mean_episode_cost", mean, "empirical", confidence=0.95,
                    interval=(mean - 1.96 * stderr, mean + 1.96 * stderr),
                    method="sample mean; interval ± 1.96 standard errors (normal approximation)", params=params,
                    description=f"mean episode cost of {self.label()}{phrase}"),
            Finding(f"{prefix}violation_rate", violations / n, "empirical", params=params,
                    method="fraction of episodes whose cost exceeds the limit", description=phrase.strip()),
            Finding(f"{prefix}violation_probability_upper@limit={self.config.limit:g}", upper, "statistical",
                    confidence=1 - self.config.alpha, method="Clopper-Pearson one-sided upper bound",
                    params=params | {"violations": violations},
                    description=f"upper bound on the probability that one episode's cost exceeds the limit{phrase}"),
        )  # fmt: skip

    def plot(self, path: str | Path) -> Path:
        """The episode costs' distribution against the limit."""
        from rlcert.reports.plots import plot_cost_histogram

        attacked = None if self.attacked is None else self.attacked.costs
        return plot_cost_histogram(self.episodes.costs, self.config.limit, path, title=self.label(), attacked=attacked)

    def report_extra(self) -> dict[str, Any]:
        extra = {"config": self.config.applied() | self.rollout.result_params(), "violations": self.violations}
        if self.attacked is not None:
            extra |= {"attack": self.attack, "attacked_violations": self._violations(self.attacked)}
        return extra


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
            f"tasks: {', '.join((CARTPOLE_COST_ID, CARTPOLE_DRIFT_COST_ID, HYDRO_DISPATCH_ID))}"
        )
    if config.attack_eps > 0 and not hasattr(subject.policy, "scores"):
        raise InvalidValueError(
            "--attack-eps needs a policy with a differentiable network (a zoo agent, SB3 .zip or .pt)"
        )
    episodes = run(subject.policy, subject.env, config.episodes, actions=actions, **rollout.run_options())
    attacked = attack = None
    if config.attack_eps > 0:
        from rlcert.attacks.cost_critic import CostCriticAttack
        from rlcert.training.cost_critic import fit_cost_critic

        critic_seed = np.random.SeedSequence(rollout.seed, spawn_key=(SUB_RUN, CRITIC_SUB_RUN))
        critic_episodes = config.critic_episodes or DEFAULT_CRITIC_EPISODES
        critic = fit_cost_critic(subject.policy, subject.env, critic_episodes, critic_seed)
        attacker = CostCriticAttack(critic, eps=config.attack_eps)
        options = rollout.run_options(f"attacked-eps{config.attack_eps:g}") | {
            "seed": child_seed(rollout.seed, ATTACK_SUB_RUN)
        }
        attacked = run(subject.policy, subject.env, config.episodes, actions=actions, attack=attacker, **options)
        attack = repr(attacker)
    return ConstraintAnalysis(
        subject, config, rollout, episodes, actions, time.perf_counter() - start, attacked, attack
    )
