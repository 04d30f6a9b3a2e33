"""Probe suites: which probes a stress test sweeps, at which severities — built in, or from a TOML file.

A suite is a list of sweeps; each sweep names one probe class, its fixed parameters, the parameter it
sweeps and the values, and optionally a concept drift that switches the probe on after T steps::

    tolerance = 0.25            # optional defaults for the command line
    episodes = 30

    [[sweep]]
    name = "type 1 random actions"
    probe = "RandomActionExecution"
    params = { per = "frame" }
    severity = "p"
    values = [0.05, 0.1, 0.3]

    [[sweep]]
    name = "drift to random actions"
    probe = "RandomActionExecution"
    params = { p = 0.3 }
    severity = "after"
    values = [100, 500]
    drift = { mode = "sudden" }   # the severity is then the drift's switch time

The built-in ``stori`` suite follows the paper's profiles for the four STORI games (Barsainyan et al.
2025: type 1 at p = 0.3, the type 2.1 and 3.2 modes of REFERENCE §3), with sweeps around them, and a
generic suite (random actions, sensor noise, feature dropout, drift) for any other env; ``stori-paper``
runs only the paper's own profiles, one setting each.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attacks.base import Probe
from envs.factory import EnvSpec, resolve_env_spec
from envs.generic_probes import ConceptDrift, FeatureDropout, ObservationNoise, RandomActionExecution, StickyActions
from envs.probes import ProbeStack
from envs.stress import ProbeSetting
from reports.errors import InvalidValueError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Sweep",
    "probe_classes",
    "parse_probe_stack",
    "load_suite",
    "builtin_suite",
    "suite_settings",
    "stori_paper_settings",
]


def probe_classes() -> dict[str, type[Probe]]:
    """Every probe a suite or a ``--probe`` string may name."""
    classes: list[type[Probe]] = [RandomActionExecution, StickyActions, ObservationNoise, FeatureDropout, ConceptDrift]
    from envs import stori

    classes += [getattr(stori, name) for name in stori.__all__ if isinstance(getattr(stori, name), type)]
    return {cls.__name__: cls for cls in classes if issubclass(cls, Probe)}


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
                stack = ProbeStack.of(cls, **self.params).then(ConceptDrift, **{**self.drift, "after": int(value)})
            else:
                stack = ProbeStack.of(cls, **{**self.params, self.severity: value})
                if self.drift is not None:
                    stack = stack.then(ConceptDrift, **self.drift)
            settings.append(ProbeSetting(self.name, float(value), stack, self.severity))
        return settings


def suite_settings(sweeps: list[Sweep]) -> list[ProbeSetting]:
    return [setting for sweep in sweeps for setting in sweep.settings()]


def load_suite(path: str | Path) -> tuple[list[Sweep], dict[str, Any]]:
    """Sweeps and top-level defaults (tolerance, episodes, floor, ...) from a TOML suite file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidValueError(f"probe suite {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidValueError(f"probe suite {str(path)!r} is not valid TOML: {error}") from None
    sweeps = []
    for index, entry in enumerate(data.pop("sweep", [])):
        missing = [key for key in ("probe", "severity", "values") if key not in entry]
        if missing:
            raise InvalidValueError(f"{path}: sweep {index + 1} lacks {', '.join(missing)}")
        sweeps.append(Sweep(entry.get("name", entry["probe"]), entry["probe"], entry["severity"],
                            tuple(entry["values"]), dict(entry.get("params", {})), entry.get("drift")))  # fmt: skip
    if not sweeps:
        raise InvalidValueError(f"{path}: no [[sweep]] entries")
    for sweep in sweeps:
        sweep.settings()  # validate every probe now, before any episode runs
    return sweeps, data


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
    from envs import stori

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
    """The paper's profiles for an ALE game (``envs.stori.stori_profiles``), one setting each, no sweep.

    This is the configuration STORI's experiments ran (type 1 at p = 0.3, the game's type 2.1 mode, its
    type 2.2 drift and type 3.2 variants); the severity shown is the profile's probability, or the
    drift's switch time for the type 2.2 profile.
    """
    from envs.stori import stori_profiles

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

    from envs.factory import make_raw_env

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
