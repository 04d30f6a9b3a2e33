"""Lipschitz bounds of a policy network: the global product of layer norms, and the local bound over the
ε-ball around every state the policy visits (both sound).

Global: Szegedy et al. (2014), "Intriguing properties of neural networks", §4.3 — the product of the layers'
operator norms (ReLU and Tanh are 1-Lipschitz). Local: Fast-Lip, Weng et al. (2018), "Towards Fast
Computation of Certified Robustness for ReLU Networks", §3.3 — interval arithmetic on the Jacobian with each
activation's derivative confined by the pre-activation bounds over the ball. Both are
``rlcert.certify.lipschitz``; this module runs the episodes and reports them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.analyses.visited_states import visit_states
from rlcert.attacks.base import Policy, TorchPolicy
from rlcert.certify.action_certificates import state_batch_size
from rlcert.certify.bounds import check_norm
from rlcert.certify.lipschitz import lipschitz_upper_bound, local_lipschitz_bound
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, parse_radii

__all__ = [
    "LipschitzConfig",
    "LipschitzAnalysis",
    "LocalLipschitz",
    "lipschitz_bounds",
    "local_lipschitz_at",
    "local_lipschitz_finding",
    "global_lipschitz_finding",
]

RELAXATIONS = ("ibp", "crown")


@dataclass(frozen=True)
class LocalLipschitz:
    """The local Lipschitz bound over the eps-ball of each visited state, summarised (sound per state)."""

    eps: float
    mean: float
    """Mean over the states of each state's bound."""
    max: float
    """The largest state's bound: one constant that holds on every state's ball."""


def local_lipschitz_at(
    policy: TorchPolicy,
    states: np.ndarray,
    eps_values: list[float],
    norm: str,
    relaxation: str,
    low: float | None = None,
    high: float | None = None,
) -> tuple[LocalLipschitz, ...]:
    """The Fast-Lip bound over each state's eps-ball, for each eps; states are bounded in the batches the
    action certificates use, so image observations fit in memory."""
    batch = state_batch_size(states)
    observations = torch.as_tensor(np.asarray(states, dtype=np.float32))
    summaries = []
    for eps in eps_values:
        local = np.concatenate(
            [
                local_lipschitz_bound(
                    policy.module, observations[start : start + batch], eps, norm, relaxation, low=low, high=high
                ).numpy()
                for start in range(0, len(observations), batch)
            ]
        )
        summaries.append(LocalLipschitz(float(eps), float(local.mean()), float(local.max())))
    return tuple(summaries)


def local_lipschitz_finding(local: LocalLipschitz, norm: str, relaxation: str, params: dict[str, Any]) -> Finding:
    """``local_lipschitz_max@eps=...``: the largest local bound over the visited states' eps-balls (sound)."""
    return Finding(
        f"local_lipschitz_max@eps={local.eps:g}",
        local.max,
        "sound",
        params={**params, "eps": local.eps, "local_lipschitz_mean": local.mean},
        method=f"Fast-Lip interval Jacobian over {relaxation.upper()} pre-activation bounds, "
        f"l{norm}->l{norm} induced norm, max over the visited states' eps-balls",
    )


def global_lipschitz_finding(bound: float, norm: str, subject: Subject) -> Finding:
    """``global_lipschitz``: ``bound``, the product of the subject's layer operator norms
    (``lipschitz_upper_bound``; sound, and it depends on no episode)."""
    return Finding(
        "global_lipschitz",
        bound,
        "sound",
        params=subject.to_dict() | {"norm": norm},
        method=f"product of layer l{norm} operator norms",
    )


@dataclass(frozen=True)
class LipschitzConfig:
    """Sound Lipschitz bounds of the policy network (Szegedy et al. 2014; Fast-Lip, Weng et al. 2018): the
    global product of layer norms, and the local bound over the eps-ball of every visited state."""

    norm: str = "inf"
    """Norm of the input ball and of the induced operator norm: inf or 2."""
    eps: str = "0.001,0.01,0.05"
    """Ball radii (comma list) of the local bounds, in normalized observation units (1/255 = one pixel level)."""
    relaxation: str = "crown"
    """Pre-activation bounds of the local bound: ibp or crown (tighter)."""
    episodes: int = 3
    """Clean episodes whose visited states are the balls' centres."""
    max_states: int = 0
    """Bound at most this many visited states, evenly spaced (0: all of them)."""

    def __post_init__(self) -> None:
        super_init = getattr(super(), "__post_init__", None)
        if super_init is not None:
            super_init()
        check_norm(self.norm)
        self.eps_values  # noqa: B018 - parsed here so a malformed list is refused before any episode runs
        if self.relaxation not in RELAXATIONS:
            raise InvalidValueError(f"relaxation must be ibp or crown, got {self.relaxation!r}")
        check_count("episodes", self.episodes)
        check_count("max_states", self.max_states, 0)

    @property
    def eps_values(self) -> list[float]:
        return parse_radii(self.eps, "eps")


@dataclass(frozen=True)
class LipschitzAnalysis:
    """The global Lipschitz bound of the network and its local bounds at the visited states (all sound)."""

    subject: Subject
    config: LipschitzConfig
    rollout: RolloutOptions
    states: int
    """How many visited states the local bounds cover."""
    global_bound: float
    local: tuple[LocalLipschitz, ...]
    """One summary per eps of ``config.eps``."""
    wall_time_s: float

    def label(self) -> str:
        under = self.rollout.probe_phrase()
        return (
            f"{self.subject.label()}{under} · {self.states} states of {self.config.episodes} episodes · "
            f"{self.config.relaxation} · l{self.config.norm}"
        )

    def findings(self) -> tuple[Finding, ...]:
        params = self.subject.to_dict() | self.rollout.result_params()
        params |= {"norm": self.config.norm, "episodes": self.config.episodes, "states": self.states}
        local = [local_lipschitz_finding(s, self.config.norm, self.config.relaxation, params) for s in self.local]
        return (*local, global_lipschitz_finding(self.global_bound, self.config.norm, self.subject))

    def plot(self, path: str | Path) -> Path | None:
        """Lipschitz bounds have no figure beyond their table."""
        return None

    def report_extra(self) -> dict[str, Any]:
        return {"config": asdict(self.config) | self.rollout.result_params(), "wall_time_s": self.wall_time_s}


def lipschitz_bounds(
    policy: str | Path | Policy,
    env: str | None = None,
    config: LipschitzConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> LipschitzAnalysis:
    """The global Lipschitz bound of ``policy``'s network, and its local bound over the eps-ball of every state
    of ``config.episodes`` clean episodes (a policy object needs ``env``; its network must be
    Linear/Conv2d/ReLU/Tanh/Flatten layers).

    Example:
        >>> result = lipschitz_bounds("zoo:cartpole5-dqn", config=LipschitzConfig(episodes=1, max_states=20))
        >>> {f.evidence.value for f in result.findings()}
        {'sound'}
    """
    config = config or LipschitzConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    visited = visit_states(subject, config.episodes, config.max_states, rollout, "Lipschitz bounds")
    local = local_lipschitz_at(
        subject.policy, visited.states, config.eps_values, config.norm, config.relaxation, visited.low, visited.high
    )
    global_bound = lipschitz_upper_bound(subject.policy.module, config.norm)
    return LipschitzAnalysis(
        subject, config, rollout, len(visited.states), global_bound, local, time.perf_counter() - start
    )
