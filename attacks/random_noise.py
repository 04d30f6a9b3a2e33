"""Random observation noise of a given size: the baseline an observation attack is measured against.

An attack's damage means little without the damage of a perturbation of the *same size* that searches for
nothing (Al Makdah, Krishnan & Pasqualetti 2022, §V, compare their attacked and noisy closed loops; Zhang et al.
2020, §6, report random noise beside every attack). :class:`RandomObservationNoise` moves each observation by a
random point of the *sphere* of radius ε, so its size equals the attack's budget exactly: for ℓ2 a uniformly
random direction scaled to ε; for ℓ∞ a random vertex of the cube (every coordinate ±ε), the ℓ∞-sphere point
with the most energy. The draws come from the rollout engine's seeded generator, so a run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rlcert.attacks.base import Attack, AttackState, Policy, ThreatModel

__all__ = ["RandomObservationNoise"]


@dataclass
class RandomObservationNoise(Attack):
    """Per-step random noise of size exactly ``eps`` in the ``norm`` (module docstring).

    Example:
        >>> from rlcert.agents import load_policy
        >>> from rlcert.envs import run
        >>> noisy = run(load_policy("zoo:cartpole-ppo"), "CartPole-v1", 4, attack=RandomObservationNoise(0.1, "2"))
    """

    eps: float
    """Size of each step's perturbation, in the env's observation units."""
    norm: str = "2"
    threat_model: ThreatModel = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.threat_model = ThreatModel(norm=self.norm, eps=self.eps)
        self.norm = self.threat_model.norm

    def perturb(self, frames: np.ndarray, policy: Policy, state: AttackState) -> np.ndarray:
        rows = np.flatnonzero(state.active) if state.active is not None else np.arange(len(frames))
        if rows.size == 0 or self.eps == 0:
            return frames
        shape = (rows.size, *frames.shape[1:])
        if self.norm == "inf":
            delta = self.eps * state.rng.choice(np.array([-1.0, 1.0]), size=shape)
        else:
            direction = state.rng.standard_normal(shape)
            norms = np.linalg.norm(direction.reshape(rows.size, -1), axis=1).reshape(-1, *[1] * (len(shape) - 1))
            delta = self.eps * direction / np.maximum(norms, 1e-12)
        out = frames.copy()
        out[rows] = (frames[rows] + delta).astype(frames.dtype)
        return out
