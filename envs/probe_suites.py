"""Probe suites: which probes a stress test sweeps, at which severities — built in, or from a TOML file.

A suite is a list of sweeps; each sweep names one probe class, its fixed parameters, the parameter it
sweeps and the values, and optionally a concept drift that switches the probe on after T steps::

    tolerance = 0.25            # optional defaults for the command line
    episodes = 30

    [[sweep]]
    name = "type 1 random actions"
    probe = "RandomActionExecution"
    params = { per = "step" }   # "frame": below frame skipping, on ALE games only
    severity = "p"
    values = [0.05, 0.1, 0.3]

    [[sweep]]
    name = "drift to random actions"
    probe = "RandomActionExecution"
    params = { p = 0.3 }
    severity = "after"
    values = [100, 500]
    drift = { mode = "sudden" }   # the severity is then the drift's switch time

Those are all the keys there are (``SUITE_KEYS``, ``SWEEP_KEYS``, and the probe's own parameters in
``params``); any other, a severity that is no parameter of the probe, or a value of the wrong type is
refused with its line before any episode runs.

The built-in ``stori`` suite follows the paper's profiles for the four STORI games (Barsainyan et al.
2025: type 1 at p = 0.3, the type 2.1 and 3.2 modes of REFERENCE §3), with sweeps around them, and a
generic suite (random actions, sensor noise, feature dropout, drift) for any other env; ``stori-paper``
runs only the paper's own profiles, one setting each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlcert.attacks.base import Probe
from rlcert.envs.factory import EnvSpec, resolve_env_spec
from rlcert.envs.generic_probes import (
    ConceptDrift,
    FeatureDropout,
    ObservationNoise,
    RandomActionExecution,
    StickyActions,
)
from rlcert.envs.probes import ProbeParameterError, ProbeStack, probe_parameters
from rlcert.envs.stress import ProbeSetting
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.toml_document import read_toml

__all__ = [
    "Sweep",
    "probe_classes",
    "probe_catalogue",
    "ProbeDescription",
    "parse_probe_stack",
    "load_suite",
    "SUITE_KEYS",
    "SWEEP_KEYS",
    "builtin_suite",
    "suite_settings",
    "stori_paper_settings",
]


def probe_classes() -> dict[str, type[Probe]]:
    """Every probe a suite or a ``--probe`` string may name."""
    classes: list[type[Probe]] = [RandomActionExecution, StickyActions, ObservationNoise, FeatureDropout, ConceptDrift]
    import rlcert.envs.stori as stori
    from rlcert.envs.hijack import Hijack

    classes.append(Hijack)  # the random hijack; a learned hijacker is a policy object (rlcert hijack)

    classes += [getattr(stori, name) for name in stori.__all__ if isinstance(getattr(stori, name), type)]
    return {cls.__name__: cls for cls in classes if issubclass(cls, Probe)}


@dataclass(frozen=True)
class ProbeDescription:
    """One probe as ``rlcert probes`` lists it."""

    name: str
    summary: str
    """The first line of its docstring (its STORI type, where it has one)."""
    parameters: tuple[tuple[str, str, str], ...]
    """(name, default or "required", valid values) per constructor parameter."""


def probe_catalogue() -> list[ProbeDescription]:
    """Every probe a suite or a ``--probe`` string may name, with its parameters and their valid values."""
    catalogue = []
    for name, cls in probe_classes().items():
        parameters = probe_parameters(cls) or {}
        rows = tuple(
            (key, "required" if p.default is p.empty else repr(p.default), cls.PARAMETERS.get(key, ""))
            for key, p in parameters.items()
        )
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        catalogue.append(ProbeDescription(name, " ".join(summary.replace("``", "").split()), rows))
    return catalogue


def _probe_class(name: str) -> type[Probe]:
    classes = probe_classes()
    if name not in classes:
        raise InvalidValueError(f"unknown probe {name!r}; probes: {', '.join(sorted(classes))}")
    return classes[name]


def _value(text: str) -> Any:
    if "|" in text:  # a tuple, e.g. actions=0|1|2
        return tuple(_value(part) for part in text.split("|"))
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_probe_stack(text: str) -> ProbeStack:
    """``"Name:key=value,key=value+Other:key=value"`` → a ProbeStack (innermost first).

    Example: ``RandomActionExecution:p=0.1,per=frame+ConceptDrift:after=200``; tuples as ``actions=0|1|2``.
    """
    stack = ProbeStack()
    for part in filter(None, (piece.strip() for piece in text.split("+"))):
        name, _, arguments = part.partition(":")
        params = {}
        for argument in filter(None, (a.strip() for a in arguments.split(","))):
            key, equals, raw = argument.partition("=")
            if not equals:
                raise InvalidValueError(f"probe argument {argument!r} in {text!r} is not key=value")
            params[key.strip()] = _value(raw.strip())
        stack = stack.then(_probe_class(name.strip()), **params)
    if not stack.layers:
        raise InvalidValueError(f"no probe in {text!r}; write e.g. RandomActionExecution:p=0.1")
    return stack


@dataclass(frozen=True)
class Sweep:
    """One probe swept over severities."""

    name: str
    probe: str
    severity: str
    values: tuple[float, ...]
    params: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] | None = None

    def settings(self) -> list[ProbeSetting]:
        cls = _probe_class(self.probe)
        settings = []
        for value in self.values:
            if self.drift is not None and self.severity == "after":
                stack = ProbeStack.of(cls, **self.params).then(ConceptDrift, **{**self.drift, "after": value})
            else:
                stack = ProbeStack.of(cls, **{**self.params, self.severity: value})
                if self.drift is not None:
                    stack = stack.then(ConceptDrift, **self.drift)
            settings.append(ProbeSetting(self.name, float(value), stack, self.severity))
        return settings


def suite_settings(sweeps: list[Sweep]) -> list[ProbeSetting]:
    return [setting for sweep in sweeps for setting in sweep.settings()]


SUITE_KEYS = {
    "sweep": "the [[sweep]] tables",
    "tolerance": "largest acceptable relative drop",
    "episodes": "episodes per setting",
    "floor": "the game's lowest return",
}
"""The keys a suite file may have at its top level; any other is a typo, refused with its line."""

SWEEP_KEYS = ("name", "probe", "params", "severity", "values", "drift")
"""The keys of one ``[[sweep]]``."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_suite(path: str | Path) -> tuple[list[Sweep], dict[str, Any]]:
    """Sweeps and top-level defaults (tolerance, episodes, floor) from a TOML suite file.

    Every key is checked before any episode runs: an unknown one (at the top, in a sweep, in its params or
    drift), a severity that is no parameter of the probe, a value of the wrong type is an InvalidValueError
    that starts ``FILE:LINE:`` and names the valid keys, so a typo never runs with the defaults.
    """
    path = Path(path)
    data, key_lines = read_toml(path, "probe suite")

    def refuse(message: str, *where: Any) -> InvalidValueError:
        return InvalidValueError(f"{path}:{key_lines.line(where)}: {message}")

    for key in data:
        if key not in SUITE_KEYS:
            raise refuse(f"unknown key {key!r}; valid keys: {', '.join(sorted(SUITE_KEYS))}", key)
    defaults = {key: value for key, value in data.items() if key != "sweep"}
    if "tolerance" in defaults and not (_is_number(defaults["tolerance"]) and defaults["tolerance"] >= 0):
        raise refuse(f"tolerance must be a relative drop >= 0 (0.2 = 20 %), got {defaults['tolerance']!r}", "tolerance")
    episodes = defaults.get("episodes", 1)
    if not (isinstance(episodes, int) and not isinstance(episodes, bool) and episodes >= 1):
        raise refuse(f"episodes must be a whole number of episodes >= 1, got {episodes!r}", "episodes")
    if "floor" in defaults and not _is_number(defaults["floor"]):
        raise refuse(f"floor must be a finite number (the game's lowest return), got {defaults['floor']!r}", "floor")
    entries = data.get("sweep", [])
    if not (isinstance(entries, list) and all(isinstance(entry, dict) for entry in entries)):
        raise refuse("sweep must be an array of tables, each starting with [[sweep]]", "sweep")
    sweeps = [_sweep(entry, ("sweep", index), refuse) for index, entry in enumerate(entries)]
    if not sweeps:
        raise InvalidValueError(f"{path}: no [[sweep]] entries")
    return sweeps, defaults


def _sweep(entry: dict[str, Any], where: tuple[Any, ...], refuse: Callable[..., InvalidValueError]) -> Sweep:
    """One ``[[sweep]]`` table as a Sweep, with every stack it expands to built (so validated) now."""
    number = where[-1] + 1
    for key in entry:
        if key not in SWEEP_KEYS:
            raise refuse(f"unknown key {key!r} in sweep {number}; valid keys: {', '.join(sorted(SWEEP_KEYS))}",
                         *where, key)  # fmt: skip
    missing = [key for key in ("probe", "severity", "values") if key not in entry]
    if missing:
        raise refuse(f"sweep {number} lacks {', '.join(missing)}", *where)
    for key, kind in (("name", str), ("probe", str), ("severity", str), ("params", dict), ("drift", dict)):
        if key in entry and not isinstance(entry[key], kind):
            wanted = "a string" if kind is str else "a table such as { p = 0.1 }"
            raise refuse(f"{key} of sweep {number} must be {wanted}, got {entry[key]!r}", *where, key)
    values = entry["values"]
    if not (isinstance(values, list) and values and all(_is_number(value) for value in values)):
        raise refuse(f"values of sweep {number} must be a list of numbers, got {values!r}", *where, "values")
    try:
        probe = _probe_class(entry["probe"])
    except InvalidValueError as error:
        raise refuse(str(error), *where, "probe") from None
    name, severity = entry.get("name", entry["probe"]), entry["severity"]
    params, drift = dict(entry.get("params", {})), entry.get("drift")
    sweeps_drift = drift is not None and severity == "after"
    parameters = probe_parameters(ConceptDrift if sweeps_drift else probe)
    if parameters is not None and severity not in parameters:
        raise refuse(f"severity {severity!r} of sweep {number} is not a parameter of {probe.__name__}; its "
                     f"parameters: {', '.join(parameters)}", *where, "severity")  # fmt: skip
    # A value the severity sweep overwrites would be silently ignored: refuse it where it was written.
    overwritten = ("drift", "after") if sweeps_drift else ("params", severity)
    if overwritten[1] in entry.get(overwritten[0], {}):
        raise refuse(f"{severity!r} of sweep {number} is its severity; it cannot also be in {overwritten[0]}",
                     *where, *overwritten)  # fmt: skip
    sweep = Sweep(name, entry["probe"], severity, tuple(values), params, drift)
    try:
        sweep.settings()
    except ProbeParameterError as error:
        if error.probe is (ConceptDrift if sweeps_drift else probe) and error.parameter == severity:
            location: tuple[str, ...] = ("values",)
        elif error.probe is ConceptDrift and drift is not None and probe is not ConceptDrift:
            location = ("drift", error.parameter)
        else:
            location = ("params", error.parameter)
        raise refuse(f"sweep {number} ({name!r}): {error}", *where, *location) from None
    except InvalidValueError as error:
        raise refuse(f"sweep {number} ({name!r}): {error}", *where) from None
    return sweep


STORI_GAMES = ("breakout", "boxing", "gopher", "bankheist")


def _game(spec: EnvSpec) -> str:
    return spec.gym_id.removeprefix("ALE/").split("-")[0].lower()


def builtin_suite(name: str, env: str | EnvSpec) -> list[Sweep]:
    """The built-in suite ``name`` ("stori" or "generic") for ``env``."""
    spec = resolve_env_spec(env)
    if name not in ("stori", "generic"):
        raise InvalidValueError(f"unknown built-in suite {name!r}; choose stori, generic, or give a TOML file")
    if spec.atari and name == "stori":
        return _atari_suite(spec)
    return _generic_suite(spec)


def _atari_suite(spec: EnvSpec) -> list[Sweep]:
    import rlcert.envs.stori as stori

    game = _game(spec)
    safe = {"actions": tuple(range(10))} if game == "bankheist" else {}  # BankHeist: moves without FIRE
    sweeps = [
        Sweep("type 1 random actions", "RandomActionExecution", "p", (0.05, 0.1, 0.3), {"per": "frame", **safe}),
        Sweep("sticky actions", "StickyActions", "p", (0.25,), {"per": "frame"}),
    ]
    for mode, default_p in stori.random_event_modes(game).items():
        sweeps.append(Sweep(f"type 2.1 {mode}", "RandomEvents", "p", (default_p,), {"game_mode": mode}))
    for mode in stori.missing_state_modes(game):
        sweeps.append(Sweep(f"type 3.2 {mode}", "MissingStateVariables", "p", (0.1, 0.3, 0.5), {"mode": mode}))
    sweeps.append(Sweep("type 2.2 drift to random actions", "RandomActionExecution", "after", (500,),
                        {"p": 0.3, "per": "frame", **safe}, {"mode": "sudden"}))  # fmt: skip
    return sweeps


def stori_paper_settings(env: str | EnvSpec) -> list[ProbeSetting]:
    """The paper's profiles for an ALE game (``rlcert.envs.stori.stori_profiles``), one setting each, no sweep.

    This is the configuration STORI's experiments ran (type 1 at p = 0.3, the game's type 2.1 mode, its
    type 2.2 drift and type 3.2 variants); the severity shown is the profile's probability, or the
    drift's switch time for the type 2.2 profile.
    """
    from rlcert.envs.stori import stori_profiles

    spec = resolve_env_spec(env)
    if not spec.atari:
        raise InvalidValueError(f"the stori-paper profiles exist for ALE games only, not {spec.gym_id}; use generic")
    settings = []
    for label, stack in stori_profiles(spec.gym_id):
        drift = [dict(params) for probe, params in stack.layers if probe is ConceptDrift]
        if drift:
            settings.append(ProbeSetting(label, float(drift[0]["after"]), stack, "after"))
        else:
            settings.append(ProbeSetting(label, float(dict(stack.layers[-1][1])["p"]), stack, "p"))
    return settings


def _generic_suite(spec: EnvSpec) -> list[Sweep]:
    import gymnasium as gym

    from rlcert.envs.factory import make_raw_env

    env = make_raw_env(spec)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    env.close()
    sweeps = []
    if discrete:
        sweeps.append(Sweep("random actions", "RandomActionExecution", "p", (0.05, 0.1, 0.3)))
    sweeps += [
        Sweep("sensor noise", "ObservationNoise", "sigma", (0.01, 0.05, 0.1)),
        Sweep("feature dropout", "FeatureDropout", "p", (0.05, 0.1, 0.3)),
    ]
    if discrete:
        sweeps.append(Sweep("drift to random actions", "RandomActionExecution", "after", (50, 100),
                            {"p": 0.3}, {"mode": "sudden"}))  # fmt: skip
    return sweeps
