"""A hijack of the agent's body: for ``steps`` agent steps from step ``start``, another controller's actions run
instead of the policy's (the stress test of Adversarial Surprise, Fickinger, Jaques et al. 2021, §6; REFERENCE §6).

It is a :class:`~rlcert.attacks.base.Probe`, not an observation attack: the policy still sees the true
observations, but for a while what it decides does not happen, as with STORI's random action execution (which
is the random hijack with p = 1, Barsainyan et al. 2025, §3.1) — a change to the environment the policy lives in.
The controller is ``random`` (uniform actions from the probe's own seeded generator) or any policy object over
the env's raw frames (a learned hijacker, ``rlcert.training.hijacker``). ``info["hijacked"]`` marks the
hijacked steps and ``info["executed_action"]`` says what ran.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rlcert.attacks.base import Policy, Probe
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count

__all__ = ["Hijack"]


class Hijack(Probe):
    """Action takeover (Adversarial Surprise's hijack): another controller runs the body for a stretch of steps.

    ``steps`` agent steps from agent step ``start`` run the controller's actions instead of the policy's
    (module docstring).

    Example:
        >>> env = Hijack(gym.make("CartPole-v1"), start=5, steps=3)
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[-1]["hijacked"] for _ in range(9)]
        [False, False, False, False, False, True, True, True, False]
    """

    PARAMETERS = {
        "start": "agent step (0-based) at which the hijack begins, >= 0",
        "steps": "number of hijacked agent steps, >= 1",
        "hijacker": "random (a learned hijacker is passed as a policy object, as rlcert hijack does)",
    }

    def __init__(self, env: gym.Env, start: int, steps: int, hijacker: str | Policy = "random"):
        self.validate(start=start, steps=steps, hijacker=hijacker)
        super().__init__(env, start=start, steps=steps, hijacker=hijacker if isinstance(hijacker, str) else
                         getattr(hijacker, "name", repr(hijacker)))  # fmt: skip
        self.start, self.steps = int(start), int(steps)
        self.controller = None if isinstance(hijacker, str) else hijacker
        self._step = 0
        self._observation: Any = None

    @classmethod
    def validate(cls, start: int, steps: int, hijacker: str | Policy = "random") -> None:
        check_count("start", start, 0)
        check_count("steps", steps)
        if isinstance(hijacker, str) and hijacker != "random":
            raise InvalidValueError(f"hijacker must be random or a policy object, got {hijacker!r}")

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = super().reset(seed=seed, options=options)
        self._step, self._observation = 0, observation
        return observation, info

    def hijacking(self) -> bool:
        return self.enabled and self.start <= self._step < self.start + self.steps

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        hijacked = self.hijacking()
        executed = action
        if hijacked:
            space = self.action_space
            if self.controller is None and isinstance(space, gym.spaces.Discrete):
                executed = int(self.np_random.integers(space.n))
            elif self.controller is None:  # a Box: uniform over it, from the probe's own generator
                executed = self.np_random.uniform(space.low, space.high).astype(space.dtype)
            else:
                executed = self.controller.act(np.asarray(self._observation)[None])[0]
                if isinstance(self.action_space, gym.spaces.Discrete):
                    executed = int(executed)
        observation, reward, terminated, truncated, info = self.env.step(executed)
        self._step += 1
        self._observation = observation
        return observation, reward, terminated, truncated, {**info, "hijacked": hijacked, "executed_action": executed}
