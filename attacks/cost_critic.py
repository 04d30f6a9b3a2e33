"""A cost-maximising observation attack on a CMDP policy, steered by a learned cost critic.

The adversary of a state-adversarial MDP (Zhang et al. 2020, "Robust Deep RL against Adversarial Perturbations on
State Observations", §3 and §6) changes what the agent observes so that the agent's own action hurts it; their
strongest attacks learn a critic of the fixed policy and push its action toward what the critic rates worst
(Pattanaik et al. 2018 use the agent's critic; the robust-Sarsa attack learns one). Aimed at a constraint, the
worst action is the one with the highest expected discounted *cost*:

1. ``rlcert.training.cost_critic.fit_cost_critic`` learns Q_c(s, a) of the policy by fitted Q evaluation (Le,
   Voloshin & Yue 2019, §3) on transitions of the policy with ε-random actions, so that every action is seen in
   every region the policy visits: Q_c(s, a) ← c + γ Q_c(s', π(s')), with truncated episodes bootstrapped and
   terminated ones not.
2. :class:`CostCriticAttack` perturbs each observation within an ℓ∞ or ℓ2 ball of radius ε by projected
   gradient steps that raise Q_c(s, π(s + δ)) at the *true* state s — for a discrete policy by steering it toward
   argmax_a Q_c(s, a) (targeted cross-entropy), for a continuous one by ascending the critic through the
   policy's clipped mean — and keeps the iterate (the unperturbed observation included) whose action the critic
   rates costliest.

What such an attack measures is empirical: a cost it reaches is a cost the policy can be driven to, not the worst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.attacks.base import Attack, AttackState, Policy, ThreatModel
from rlcert.reports.errors import UnsupportedInputError
from rlcert.reports.validation import check_count

__all__ = ["CostCritic", "CostCriticAttack"]


@dataclass(frozen=True)
class CostCritic:
    """Q_c(s, a) of one policy: the expected discounted constraint cost of taking a in s, then following it."""

    module: nn.Module
    """Discrete actions: observation -> one value per action; Box actions: (observation, action) -> value."""
    action_space: gym.Space
    gamma: float
    transitions: int
    """Transitions it was fitted on."""

    @property
    def discrete(self) -> bool:
        return isinstance(self.action_space, gym.spaces.Discrete)

    def values(self, obs: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Q_c(obs, ·) per action (discrete, ``actions`` None) or Q_c(obs, actions) (Box)."""
        flat = obs.reshape(len(obs), -1)
        if self.discrete:
            return self.module(flat)
        return self.module(torch.cat([flat, actions.reshape(len(obs), -1)], dim=1)).squeeze(1)


@dataclass
class CostCriticAttack(Attack):
    """Per-step PGD within radius ``eps`` toward the costliest action by a :class:`CostCritic` (module docstring).

    Example:
        >>> from rlcert.agents import load_policy
        >>> from rlcert.envs import run
        >>> from rlcert.training.cost_critic import fit_cost_critic
        >>> policy = load_policy("zoo:cartpole-drift-ppo-lagrangian")
        >>> critic = fit_cost_critic(policy, "rlcert/CartPoleDriftCost-v1", episodes=10)
        >>> attacked = run(policy, "rlcert/CartPoleDriftCost-v1", 4, attack=CostCriticAttack(critic, eps=0.1))
    """

    critic: CostCritic = field(repr=False)
    eps: float = 0.1
    """Radius of each step's perturbation, in the env's observation units."""
    norm: str = "inf"
    steps: int = 10
    """Projected gradient steps per observation."""
    threat_model: ThreatModel = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.threat_model = ThreatModel(norm=self.norm, eps=self.eps)
        self.norm = self.threat_model.norm
        check_count("steps", self.steps)

    def __repr__(self) -> str:
        fitted = f"Q_c fitted on {self.critic.transitions} transitions, gamma={self.critic.gamma:g}"
        return f"CostCriticAttack(eps={self.eps:g}, norm={self.norm}, steps={self.steps}, critic={fitted})"

    def _project(self, delta: torch.Tensor) -> torch.Tensor:
        if self.norm == "inf":
            return delta.clamp(-self.eps, self.eps)
        norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
        return delta * (self.eps / norms).clamp(max=1.0).reshape(-1, *[1] * (delta.dim() - 1))

    def _step(self, gradient: torch.Tensor) -> torch.Tensor:
        """The steepest ascent direction of the norm's unit ball, scaled to 2.5 ε / steps."""
        size = 2.5 * self.eps / self.steps
        if self.norm == "inf":
            return size * gradient.sign()
        norms = gradient.flatten(1).norm(dim=1).clamp_min(1e-12)
        return size * gradient / norms.reshape(-1, *[1] * (gradient.dim() - 1))

    def _action_cost(self, policy, states: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
        """Q_c(s, π(s + δ)) — what the critic makes of the action the policy takes on what it sees."""
        scores = policy.scores(seen)
        if self.critic.discrete:
            return self.critic.values(states).gather(1, scores.argmax(1, keepdim=True)).squeeze(1)
        return self.critic.values(states, _box_action(policy, scores))

    def perturb(self, frames: np.ndarray, policy: Policy, state: AttackState) -> np.ndarray:
        if not hasattr(policy, "scores"):
            raise UnsupportedInputError("CostCriticAttack needs a TorchPolicy (a differentiable scores method)")
        if state.stack != 1:
            raise UnsupportedInputError("CostCriticAttack attacks single-frame observations; this env stacks frames")
        rows = np.flatnonzero(state.active)
        if rows.size == 0 or self.eps == 0:
            return frames
        states = torch.as_tensor(frames[rows], dtype=torch.float32)
        delta = torch.zeros_like(states)
        with torch.no_grad():
            best_cost = self._action_cost(policy, states, states)
        best = delta.clone()
        if self.critic.discrete:
            target = self.critic.values(states).argmax(1)
        for _ in range(self.steps):
            delta.requires_grad_(True)
            if self.critic.discrete:  # steer toward the costliest action: descend its cross-entropy
                objective = -nn.functional.cross_entropy(policy.scores(states + delta), target, reduction="sum")
            else:
                objective = self._action_cost(policy, states, states + delta).sum()
            (gradient,) = torch.autograd.grad(objective, delta)
            with torch.no_grad():
                delta = self._project(delta + self._step(gradient))
                cost = self._action_cost(policy, states, states + delta)
                better = cost > best_cost
                best[better], best_cost[better] = delta[better], cost[better]
        out = frames.copy()
        out[rows] = (states + best).numpy().astype(frames.dtype)
        return out


def _box_action(policy, scores: torch.Tensor) -> torch.Tensor:
    """The action a Box policy takes for its scores, as ``TorchModulePolicy.act`` computes it, in torch."""
    low = torch.as_tensor(policy.action_space.low, dtype=scores.dtype)
    high = torch.as_tensor(policy.action_space.high, dtype=scores.dtype)
    if getattr(policy, "output", "action_mean") == "squashed_action":
        scores = low + (scores.clamp(-1.0, 1.0) + 1.0) * 0.5 * (high - low)
    clipped = torch.maximum(torch.minimum(scores, high), low)
    # Straight through: the clipped action forward, the unclipped gradient backward, so that the ascent does not
    # stall where the mean lies outside the box (a clamp has no gradient there).
    return scores + (clipped - scores).detach()
