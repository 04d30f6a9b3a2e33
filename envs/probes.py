"""Probe stacks: picklable recipes of probe wrappers that the rollout engine builds in every worker.

A :class:`ProbeStack` is an ordered tuple of ``(probe class, parameters)``; each probe goes to the level
it asks for (``Probe.level_for``): emulator-level probes wrap the ALE game below frame skipping,
agent-level ones wrap the preprocessed env, innermost first. Building the wrappers from the recipe in
each worker (instead of pickling live envs) is what lets chunks run anywhere and still reproduce.

    >>> from envs.generic_probes import ObservationNoise
    >>> stack = ProbeStack.of(ObservationNoise, sigma=0.1)
    >>> stack.label
    'ObservationNoise(sigma=0.1)'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from attacks.base import Probe
from reports.errors import InvalidValueError, UnsupportedInputError

__all__ = ["ProbeStack"]


@dataclass(frozen=True)
class ProbeStack:
    """Probes to apply, innermost first: ``((ProbeClass, (("param", value), ...)), ...)``."""

    layers: tuple[tuple[type[Probe], tuple[tuple[str, Any], ...]], ...] = ()

    @classmethod
    def of(cls, probe: type[Probe], **params: Any) -> ProbeStack:
        """A stack of one probe (validated now, so bad parameters fail before any episode runs)."""
        return cls(()).then(probe, **params)

    def then(self, probe: type[Probe], **params: Any) -> ProbeStack:
        """This stack with one more probe on top."""
        if not (isinstance(probe, type) and issubclass(probe, Probe)):
            raise UnsupportedInputError(f"a probe must be a Probe subclass, got {probe!r}")
        validate = getattr(probe, "validate", None)
        if validate is not None:
            validate(**params)
        if probe.level_for(**params) not in ("agent", "emulator"):
            raise InvalidValueError(f"{probe.__name__} asks for an unknown level {probe.level_for(**params)!r}")
        return ProbeStack((*self.layers, (probe, tuple(sorted(params.items())))))

    def __add__(self, other: ProbeStack) -> ProbeStack:
        return ProbeStack((*self.layers, *other.layers))

    def _apply(self, env: gym.Env, level: str) -> gym.Env:
        for probe, params in self.layers:
            if probe.level_for(**dict(params)) == level:
                env = probe(env, **dict(params))
        return env

    def __call__(self, env: gym.Env) -> gym.Env:
        """Wrap the agent-level env with this stack's agent-level probes."""
        return self._apply(env, "agent")

    @property
    def wrap_emulator(self) -> Callable[[gym.Env], gym.Env] | None:
        """A callable that wraps an ALE game with the emulator-level probes, or None when there are none."""
        if not any(probe.level_for(**dict(params)) == "emulator" for probe, params in self.layers):
            return None
        return lambda env: self._apply(env, "emulator")

    @property
    def label(self) -> str:
        """A short readable name, e.g. ``RandomActionExecution(p=0.3) + ObservationNoise(sigma=0.1)``."""
        parts = []
        for probe, params in self.layers:
            arguments = ", ".join(f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
                                  for key, value in params)  # fmt: skip
            parts.append(f"{probe.__name__}({arguments})")
        return " + ".join(parts) or "none"
