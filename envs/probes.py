"""Probe stacks: picklable recipes of probe wrappers that the rollout engine builds in every worker.

A :class:`ProbeStack` is an ordered tuple of ``(probe class, parameters)``; each probe goes to the level
it asks for (``Probe.level_for``): emulator-level probes wrap the ALE game below frame skipping,
agent-level ones wrap the preprocessed env, innermost first. Building the wrappers from the recipe in
each worker (instead of pickling live envs) is what lets chunks run anywhere and still reproduce.

    >>> from rlcert.envs.generic_probes import ObservationNoise
    >>> stack = ProbeStack.of(ObservationNoise, sigma=0.1)
    >>> stack.label
    'ObservationNoise(sigma=0.1)'
"""

from __future__ import annotations

import inspect
import numbers
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlcert.attacks.base import Probe
from rlcert.reports.errors import InvalidValueError, UnsupportedInputError

__all__ = ["ProbeStack", "ProbeParameterError", "probe_parameters", "checked_probe_params"]


class ProbeParameterError(InvalidValueError):
    """A probe parameter that is unknown, missing or of the wrong type; ``probe`` and ``parameter`` say which, so
    a suite file can point at the line that set it."""

    def __init__(self, message: str, probe: type[Probe] | None = None, parameter: str | None = None) -> None:
        super().__init__(message)
        self.probe, self.parameter = probe, parameter

    def __reduce__(self):  # keep probe and parameter through pickling (errors cross process boundaries)
        return type(self), (str(self), self.probe, self.parameter)


def probe_parameters(probe: type[Probe]) -> dict[str, inspect.Parameter] | None:
    """The keyword parameters ``probe``'s constructor takes after the env; None when it takes any (``**params``)."""
    parameters = list(inspect.signature(probe.__init__).parameters.values())[2:]  # self, env
    if any(parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {parameter.name: parameter for parameter in parameters if parameter.kind in keyword}


def _signature_text(parameters: dict[str, inspect.Parameter]) -> str:
    return ", ".join(name if p.default is p.empty else f"{name}={p.default!r}" for name, p in parameters.items())


class _Mismatch(Exception):
    """A value that does not fit a parameter's annotation (internal: turned into an InvalidValueError)."""


def _conform(value: Any, hint: Any) -> Any:
    """``value`` as the annotation ``hint`` asks for it (a list for a tuple becomes a tuple, one integer for a
    tuple of integers a 1-tuple, the command line's only way to write one), or _Mismatch."""
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in arguments:
            try:
                return _conform(value, option)
            except _Mismatch:
                pass
        raise _Mismatch
    if hint is type(None):
        if value is None:
            return value
        raise _Mismatch
    # bool is an int to Python, but `after=true` or `sigma=false` is a slip, not a number.
    if hint is bool and isinstance(value, (bool, np.bool_)):
        return value
    if hint is int and isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        return value
    if hint is float and isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return value
    if hint is str and isinstance(value, str):
        return value
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        items = tuple(value) if isinstance(value, (list, tuple)) else (value,)
        return tuple(_conform(item, arguments[0]) for item in items)
    if hint in (bool, int, float, str) or origin is tuple:
        raise _Mismatch
    return value  # an annotation this check does not know (a user's own probe): its validate decides


def _describe(hint: Any) -> str:
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(option) for option in arguments if option is not type(None)) + " (or left out)"
    if origin is tuple:
        return (
            f"a tuple of {_describe(arguments[0]).removeprefix('an ').removeprefix('a ')}s (0|1|2 on the command line)"
        )
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def checked_probe_params(probe: type[Probe], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` checked against ``probe``'s constructor (names, required ones, annotated types) and its
    ``validate``; an InvalidValueError naming the parameter, the probe and its parameters otherwise.

    Probe parameters come from users (``--probes Name:key=value``, a suite file), so every way they can be
    wrong is a one-line user error here, before any episode runs — never a TypeError from deep in a worker.
    """
    parameters = probe_parameters(probe)
    if parameters is not None:
        valid = _signature_text(parameters)
        for name in params:
            if name not in parameters:
                raise ProbeParameterError(
                    f"{probe.__name__} has no parameter {name!r}; its parameters: {valid}", probe, name
                )
        for name, parameter in parameters.items():
            if parameter.default is parameter.empty and name not in params:
                raise ProbeParameterError(
                    f"{probe.__name__} needs parameter {name}; its parameters: {valid}", probe, name
                )
    try:
        hints = typing.get_type_hints(probe.__init__)
    except (NameError, TypeError, AttributeError):  # an annotation that does not resolve (a user's probe): names only
        hints = {}
    checked = {}
    for name, value in params.items():
        try:
            checked[name] = _conform(value, hints[name]) if name in hints else value
        except _Mismatch:
            raise ProbeParameterError(
                f"{probe.__name__} parameter {name} must be {_describe(hints[name])}, got {value!r}", probe, name
            ) from None
    validate = getattr(probe, "validate", None)
    if validate is not None:
        validate(**checked)
    return checked


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
        params = checked_probe_params(probe, params)
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
