"""The one interface every analysis shares: policies, threat models, attacks, defenses and probes.

Everything that changes an episode is one of three kinds, and they compose freely in
``rlcert.envs.rollout.run``:

* an :class:`Attack` changes what the policy observes (``perturb(frames, policy, state) -> frames``),
  within a :class:`ThreatModel` (a per-step ε or a total budget B over the episode);
* a :class:`Defense` changes the policy (``wrap(policy) -> policy``), and may also transform each
  raw frame before stacking (Gaussian smoothing draws its noise there, Kumar et al. 2022, §3);
* a :class:`Probe` changes the environment: a seeded ``gymnasium.Wrapper``.

Attacks and frame transforms act on *raw* frames, before frame stacking, so a budget counts each
frame once.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch

from rlcert.reports.errors import InvalidValueError

__all__ = [
    "Policy",
    "TorchPolicy",
    "ThreatModel",
    "AttackState",
    "Attack",
    "Defense",
    "Probe",
    "probes_below",
    "PROBE_STREAMS",
]


@runtime_checkable
class Policy(Protocol):
    """A deterministic policy over *batches* of observations.

    ``act`` takes an array of shape ``(batch, *observation_space.shape)`` and returns one action per
    row: integer indices for ``Discrete`` spaces, ``(batch, *action_space.shape)`` floats for ``Box``.
    A policy with an action distribution may also offer ``sample(obs, rng)`` (with ``samples_actions``
    true), which ``rlcert.envs.rollout.run(actions="sampled")`` uses; certificates always reason about ``act``.
    """

    observation_space: gym.Space
    action_space: gym.Space

    def act(self, obs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class TorchPolicy(Policy, Protocol):
    """A policy with a differentiable path, for attacks and bound propagation.

    ``scores`` maps a float tensor batch to logits, Q-values or action means; ``act`` must equal the
    argmax of ``scores`` (discrete) or the clipped scores (continuous). ``module`` is the
    ``torch.nn.Module`` that computes ``scores`` and is what bound propagation analyses.
    """

    module: torch.nn.Module

    def scores(self, obs: torch.Tensor) -> torch.Tensor: ...


Norm = Literal["inf", "2"]


@dataclass(frozen=True)
class ThreatModel:
    """What an observation adversary may do.

    Exactly one of ``eps`` (a bound on each step's perturbation) and ``budget`` (a bound on the
    ℓ2 norm of all perturbations of an episode together, sqrt(Σ_t ‖δ_t‖²) ≤ B, as in Kumar et al.
    2022, §3) is set. A total budget is only defined for the ℓ2 norm.
    """

    norm: Norm = "2"
    """Norm of the perturbation: ``"inf"`` or ``"2"``."""
    eps: float | None = None
    """Per-step radius (in the env's normalized observation units)."""
    budget: float | None = None
    """Total ℓ2 budget over the episode."""

    def __post_init__(self) -> None:
        norm = str(self.norm).lower().replace("l", "").replace("ℓ", "")
        if norm not in {"inf", "2"}:
            raise InvalidValueError(f"norm must be 'inf' or '2', got {self.norm!r}")
        object.__setattr__(self, "norm", norm)
        if (self.eps is None) == (self.budget is None):
            raise InvalidValueError(
                f"give exactly one of eps (per step) and budget (total), got eps={self.eps!r}, budget={self.budget!r}"
            )
        radius = self.eps if self.eps is not None else self.budget
        if not (isinstance(radius, (int, float)) and math.isfinite(radius) and radius >= 0):
            raise InvalidValueError(f"the radius must be a finite number >= 0, got {radius!r}")
        if self.budget is not None and norm != "2":
            raise InvalidValueError(f"a total budget is defined for the l2 norm only, got norm={self.norm!r}")

    @property
    def per_step(self) -> bool:
        return self.eps is not None


@dataclass
class AttackState:
    """What the rollout engine tells an attack about a batch of running episodes.

    The engine creates one per chunk with :meth:`Attack.reset`, sets ``stack`` (frames per policy
    observation), and updates ``history`` (the previous ``stack - 1`` frames the next observation
    will contain, as the policy saw them; None on the first step, when the first frame fills the
    whole stack), ``active`` and ``step`` before each call to :meth:`Attack.perturb`.
    ``remaining_budget`` is what is left of a total ℓ2 budget per episode; attacks that spend budget
    must decrease it.
    """

    rng: np.random.Generator
    num_envs: int
    stack: int = 1
    history: np.ndarray | None = None
    active: np.ndarray | None = None
    step: int = 0
    remaining_budget: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def stacked(self, frames: np.ndarray) -> np.ndarray:
        """The policy observation that ``frames`` (the current raw frames) would complete."""
        if self.stack == 1:
            return frames
        if self.history is None:  # first step: the first frame fills the stack
            return np.repeat(frames[:, None], self.stack, axis=1)
        return np.concatenate([self.history, frames[:, None]], axis=1)


class Attack(abc.ABC):
    """An adversary on what the policy observes, acting on raw frames before stacking."""

    threat_model: ThreatModel

    def reset(self, num_envs: int, rng: np.random.Generator) -> AttackState:
        """Start a batch of ``num_envs`` episodes; the default state carries the total budget."""
        state = AttackState(rng=rng, num_envs=num_envs)
        if self.threat_model.budget is not None:
            state.remaining_budget = np.full(num_envs, float(self.threat_model.budget))
        return state

    @abc.abstractmethod
    def perturb(self, frames: np.ndarray, policy: Policy, state: AttackState) -> np.ndarray:
        """Return the perturbed frames for the rows of ``frames`` (batch of current raw frames)."""


class Defense:
    """A change to the policy: ``wrap`` returns the defended policy.

    ``transform_frames`` lets a defense act on each raw frame once, before stacking (smoothing noise
    must be drawn per frame, not per stacked observation); the default leaves frames unchanged.
    """

    def wrap(self, policy: Policy) -> Policy:
        return policy

    def transform_frames(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return frames


PROBE_STREAMS = 0x70726F62  # "prob": keeps the probes' SeedSequence children apart from any other child of a seed


def probes_below(env: gym.Env) -> list[Probe]:
    """The probes in ``env``'s wrapper chain, ``env`` itself included, outermost first."""
    found, current = [], env
    while True:
        if isinstance(current, Probe):
            found.append(current)
        inner = getattr(current, "env", None)
        if inner is None or inner is current:
            return found
        current = inner


class Probe(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A change to the environment: a ``gymnasium.Wrapper`` whose randomness comes from ``np_random``.

    Subclasses validate their parameters eagerly and pass them to ``Probe.__init__`` (which records
    them, ``RecordConstructorArgs``) so a report can rebuild the exact wrapper stack. ``level`` says
    where the probe sits: ``"agent"`` wraps the env the policy steps (one step = one agent step, after
    frame skipping and preprocessing), ``"emulator"`` wraps an ALE env below frame skipping, so the
    probe sees every emulator frame (STORI, Barsainyan et al. 2025, §3: perturbations act per frame).
    ``enabled`` lets a concept-drift probe switch it on and off mid-episode. The rollout engine takes
    probes as a picklable factory (``rlcert.envs.probes.ProbeStack``) so each worker builds its own.
    """

    level: str = "agent"
    PARAMETERS: dict[str, str] = {}
    """Each constructor parameter's valid values, in words (``rlcert probes`` lists them)."""

    def __init__(self, env: gym.Env, **params) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, **params)
        gym.Wrapper.__init__(self, env)
        self.enabled = True
        self._depth = len(probes_below(env))
        self._own_random: np.random.Generator | None = None

    # A gymnasium wrapper's ``np_random`` is the wrapped env's generator, so a probe drawing from it would
    # move the env's own random stream (ALE noop starts, a slippery floor, dealt cards): a probe at p = 0
    # would still change the episode, and a stress test would no longer compare like with like. A probe
    # therefore has a generator of its own: ``reset(seed=s)`` seeds it from
    # ``SeedSequence(s, spawn_key=(PROBE_STREAMS, depth))``, ``depth`` the number of probes below it, so two
    # probes of one stack never share draws and the env's generator is never touched. A reset without a
    # seed continues the current stream.
    @property
    def np_random(self) -> np.random.Generator:
        if self._own_random is None:  # never seeded: fresh entropy, as an unseeded gymnasium env
            self._own_random = np.random.default_rng()
        return self._own_random

    @np_random.setter
    def np_random(self, value: np.random.Generator) -> None:
        self._own_random = value

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            key = (PROBE_STREAMS, self._depth)
            self._own_random = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
        return self.env.reset(seed=seed, options=options)

    @classmethod
    def level_for(cls, **params) -> str:
        """The level a probe with these parameters sits at (a class may offer both)."""
        return cls.level
