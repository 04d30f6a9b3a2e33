"""Probes that fit any environment: random action execution, sticky actions, observation noise, feature
dropout, and concept drift (STORI's types 1, 2.2 and 3.2 in their env-agnostic form).

STORI (Barsainyan et al. 2025, arXiv 2509.01793, §3) defines five kinds of environmental
stochasticity for Atari; these are the ones whose meaning does not depend on the game, written so
they also apply to classic-control and other vector-observation envs. The Atari-specific RAM events
and screen masks are in ``rlcert.envs.stori``.

Every probe here draws from a generator of its own (see :class:`rlcert.attacks.base.Probe`), never from
the env's: a probe at zero severity leaves the episode bit-identical to the bare env's, so a stress test
is paired.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rlcert.attacks.base import Probe, probes_below
from rlcert.reports.errors import InvalidValueError, UnsupportedInputError

__all__ = [
    "RandomActionExecution",
    "StickyActions",
    "ObservationNoise",
    "FeatureDropout",
    "ConceptDrift",
    "probes_below",
]


def check_probability(name: str, value: Any) -> float:
    """``value`` as a probability, or a ValueError naming it and the valid range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(f"{name} must be a probability in [0, 1], got {value!r}") from None
    if not (0.0 <= number <= 1.0):  # also rejects NaN
        raise InvalidValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return number


def _require_discrete(env: gym.Env, probe: str) -> gym.spaces.Discrete:
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise UnsupportedInputError(f"{probe} needs a Discrete action space, got {env.action_space}")
    return env.action_space


class RandomActionExecution(Probe):
    """STORI type 1 (action-dependent stochasticity): with probability ``p`` the chosen action is replaced
    by one drawn uniformly from ``actions`` (all actions by default).

    Not sticky: the replacement is fresh each time (Barsainyan et al. 2025, §3.1; BankHeist draws
    only from actions 0–9, its moves without FIRE). ``per="step"`` decides once per agent step;
    ``per="frame"`` sits below frame skipping on an ALE game and decides on every emulator frame, as
    STORI does. The action that actually ran is in ``info["executed_action"]``.

    Example:
        >>> env = RandomActionExecution(gym.make("CartPole-v1"), p=0.3)
        >>> _ = env.reset(seed=0)
        >>> info = env.step(0)[-1]
        >>> info["executed_action"] in (0, 1)
        True
    """

    PARAMETERS = {
        "p": "probability in [0, 1] that the action is replaced",
        "per": "step (once per agent step) or frame (every emulator frame; ALE games only)",
        "actions": "non-empty list of action indices to draw from (default: every action)",
    }

    def __init__(self, env: gym.Env, p: float, per: str = "step", actions: tuple[int, ...] | None = None):
        self.validate(p=p, per=per, actions=actions)
        space = _require_discrete(env, "RandomActionExecution")
        if actions is not None and max(actions) >= space.n:
            raise InvalidValueError(f"actions {tuple(actions)} do not fit the env's {space.n} actions")
        super().__init__(env, p=p, per=per, actions=actions)
        self.p = float(p)
        self.per = per
        self.actions = np.arange(space.n) if actions is None else np.asarray(actions, dtype=np.int64)

    @classmethod
    def validate(cls, p: float, per: str = "step", actions: tuple[int, ...] | None = None) -> None:
        check_probability("p", p)
        if per not in ("step", "frame"):
            raise InvalidValueError(
                f"per must be 'step' (each agent step) or 'frame' (each emulator frame), got {per!r}"
            )
        if actions is not None and (len(actions) == 0 or min(actions) < 0):
            raise InvalidValueError(f"actions must be a non-empty set of action indices, got {actions!r}")

    @classmethod
    def level_for(cls, per: str = "step", **params: Any) -> str:
        return "emulator" if per == "frame" else "agent"

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        executed = action
        if self.enabled and self.np_random.random() < self.p:
            executed = int(self.actions[self.np_random.integers(len(self.actions))])
        obs, reward, terminated, truncated, info = self.env.step(executed)
        return obs, reward, terminated, truncated, {**info, "executed_action": executed}


class StickyActions(Probe):
    """Classic sticky actions (Machado et al. 2018, §5.2): with probability ``p`` the previous action is
    repeated instead of the chosen one, once per emulator frame on an ALE game (``per="frame"``, the
    ALE v5 default p = 0.25) or per agent step elsewhere. The comparison point for STORI type 1.

    The first step of an episode always runs the chosen action (no draw), as gymnasium's
    ``StickyAction`` does: there is no previous action of this episode to repeat.
    """

    PARAMETERS = {
        "p": "probability in [0, 1] that the previous action is repeated (never on an episode's first step)",
        "per": "step (once per agent step) or frame (every emulator frame; ALE games only)",
    }

    def __init__(self, env: gym.Env, p: float = 0.25, per: str = "step"):
        self.validate(p=p, per=per)
        _require_discrete(env, "StickyActions")
        super().__init__(env, p=p, per=per)
        self.p = float(p)
        self.per = per
        self._previous: Any = None

    @classmethod
    def validate(cls, p: float = 0.25, per: str = "step") -> None:
        RandomActionExecution.validate(p=p, per=per)

    @classmethod
    def level_for(cls, per: str = "step", **params: Any) -> str:
        return "emulator" if per == "frame" else "agent"

    def reset(self, **kwargs: Any):
        self._previous = None
        return super().reset(**kwargs)

    def step(self, action: Any):
        executed = action
        if self._previous is not None and self.enabled and self.np_random.random() < self.p:
            executed = self._previous
        self._previous = executed
        obs, reward, terminated, truncated, info = self.env.step(executed)
        return obs, reward, terminated, truncated, {**info, "executed_action": executed}


class ObservationNoise(Probe):
    """Gaussian sensor noise N(0, sigma²) on every observation the agent gets (a stress test, not a
    defense: unlike ``attacks.GaussianSmoothing`` the policy is not averaged over it)."""

    PARAMETERS = {
        "sigma": "Gaussian noise std >= 0, in observation units (pixels in [0, 1] for Atari)",
        "clip": "true or false: clip noisy observations to the observation space",
    }

    def __init__(self, env: gym.Env, sigma: float, clip: bool = True):
        self.validate(sigma=sigma)
        super().__init__(env, sigma=sigma, clip=clip)
        self.sigma = float(sigma)
        self.clip = clip

    @classmethod
    def validate(cls, sigma: float, clip: bool = True) -> None:
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma >= 0):
            raise InvalidValueError(f"sigma must be a finite number >= 0, got {sigma!r}")

    def _perturb(self, obs: np.ndarray) -> np.ndarray:
        if not self.enabled or self.sigma == 0:
            return obs
        noisy = obs + self.np_random.normal(0.0, self.sigma, size=np.shape(obs))
        space = self.observation_space
        if self.clip and isinstance(space, gym.spaces.Box):  # stay a valid observation (e.g. pixels in [0, 1])
            noisy = np.clip(noisy, space.low, space.high)
        return noisy.astype(np.asarray(obs).dtype)

    def reset(self, **kwargs: Any):
        obs, info = super().reset(**kwargs)
        return self._perturb(obs), info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._perturb(obs), reward, terminated, truncated, info


class FeatureDropout(Probe):
    """STORI type 3.2 (missing state variables) for vector observations: each listed feature (all by
    default) is replaced by ``fill`` with probability ``p`` per step; ``p = 1`` with a feature list hides
    those state variables for good (e.g. CartPole's velocities). ``info["hidden_features"]`` says which."""

    PARAMETERS = {
        "p": "probability in [0, 1] that each feature is hidden, per step",
        "features": "non-empty list of feature indices that may be hidden (default: all)",
        "fill": "finite number a hidden feature reads as",
    }

    def __init__(self, env: gym.Env, p: float, features: tuple[int, ...] | None = None, fill: float = 0.0):
        self.validate(p=p, features=features, fill=fill)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box):
            raise UnsupportedInputError(f"FeatureDropout needs a Box observation space, got {space}")
        size = int(np.prod(space.shape))
        if features is not None and max(features) >= size:
            raise InvalidValueError(f"features {tuple(features)} do not exist: observations have {size} features")
        super().__init__(env, p=p, features=features, fill=fill)
        self.p, self.fill = float(p), float(fill)
        self.features = np.arange(size) if features is None else np.asarray(features, dtype=np.int64)
        self._hidden = np.zeros(0, dtype=np.int64)

    @classmethod
    def validate(cls, p: float, features: tuple[int, ...] | None = None, fill: float = 0.0) -> None:
        check_probability("p", p)
        if features is not None and (len(features) == 0 or min(features) < 0):
            raise InvalidValueError(f"features must be a non-empty set of feature indices, got {features!r}")
        if not math.isfinite(float(fill)):
            raise InvalidValueError(f"fill must be a finite number, got {fill!r}")

    def _perturb(self, obs: np.ndarray) -> np.ndarray:
        self._hidden = np.zeros(0, dtype=np.int64)
        if not self.enabled:
            return obs
        drop = self.np_random.random(len(self.features)) < self.p
        self._hidden = self.features[drop]
        masked = np.array(obs, copy=True).reshape(-1)
        masked[self._hidden] = self.fill
        return masked.reshape(np.shape(obs))

    def reset(self, **kwargs: Any):
        obs, info = super().reset(**kwargs)
        obs = self._perturb(obs)
        return obs, {**info, "hidden_features": self._hidden}

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        obs = self._perturb(obs)
        return obs, reward, terminated, truncated, {**info, "hidden_features": self._hidden}


class ConceptDrift(Probe):
    """STORI type 2.2 (concept drift): every probe *below* this one in the wrapper stack is off for the
    first ``after`` agent steps of an episode, then switches on for good (``mode="sudden"``) or
    alternates on and off every ``after`` steps (``mode="cyclic"``); ``reset`` returns to the default
    concept (Barsainyan et al. 2025, §3.2). Put the secondary concept — any other probe, at either
    level — below it: ``ProbeStack.of(RandomActionExecution, p=0.3).then(ConceptDrift, after=500)``.
    ``info["concept"]`` is the concept the step ran under: 1 (default) or 2 (secondary)."""

    PARAMETERS = {
        "after": "agent steps >= 1 before the probes below switch on (cyclic: every `after` steps)",
        "mode": "sudden (on for good) or cyclic (on and off in turns)",
    }

    def __init__(self, env: gym.Env, after: int, mode: str = "sudden"):
        self.validate(after=after, mode=mode)
        super().__init__(env, after=after, mode=mode)
        self.after, self.mode = int(after), mode
        self.controlled = probes_below(env)
        if not self.controlled:
            raise InvalidValueError("ConceptDrift needs a secondary concept: put another probe below it in the stack")
        self._steps, self._concept = 0, 1

    @classmethod
    def validate(cls, after: int, mode: str = "sudden") -> None:
        if not (isinstance(after, (int, np.integer)) and after >= 1):
            raise InvalidValueError(f"after must be a positive number of agent steps, got {after!r}")
        if mode not in ("sudden", "cyclic"):
            raise InvalidValueError(f"mode must be 'sudden' or 'cyclic', got {mode!r}")

    def _secondary_active(self) -> bool:
        if self.mode == "sudden":
            return self._steps >= self.after
        return (self._steps // self.after) % 2 == 1

    def _switch(self) -> int:
        active = self.enabled and self._secondary_active()
        for probe in self.controlled:
            probe.enabled = active
        return 2 if active else 1

    def reset(self, **kwargs: Any):
        self._steps = 0
        self._concept = self._switch()
        obs, info = super().reset(**kwargs)
        return obs, {**info, "concept": self._concept}

    def step(self, action: Any):
        ran = self._concept
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        self._concept = self._switch()  # takes effect from the next step on
        return obs, reward, terminated, truncated, {**info, "concept": ran}
