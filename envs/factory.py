"""One factory from a spec string to a gymnasium env, with the presets the certificates need.

A spec is either a preset name (``cartpole5``, ``pong-1round``, ``freeway-250``, ...) or any registered
gymnasium id, optionally followed by options in query form::

    CartPole-v0?stack=5            # 5 raw frames stacked into each policy observation
    ALE/Pong-v5?one_round=1        # Atari, standard preprocessing, episode ends at the first point
    ALE/Freeway-v5?max_steps=250   # Atari, 250 agent steps per episode
    Pendulum-v1?max_steps=100

ALE ids always get the standard preprocessing (no sticky actions, 30 noop starts, frame skip 4 with
max-pooling, 84x84 grayscale, pixels scaled to [0, 1], 4 stacked frames) unless ``raw=1`` is given.

The factory separates the *raw* env (one frame per step, already scaled) from the frame stack because
attacks and smoothing noise act on each raw frame before stacking (Kumar et al. 2022, §3): the rollout
engine stacks frames itself, and :func:`make_env` adds the identical stacking for single-env use.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import load_env_creator

from rlcert.envs.wrappers import EndOnFirstNonzeroReward
from rlcert.reports.errors import InvalidValueError

__all__ = [
    "EnvSpec",
    "UnknownEnvError",
    "PRESETS",
    "resolve_env_spec",
    "make_raw_env",
    "make_env",
    "known_return_range",
]


class UnknownEnvError(InvalidValueError):
    """The spec names no preset and no registered gymnasium id."""


@dataclass(frozen=True)
class EnvSpec:
    """A fully resolved environment description; ``str(spec)`` round-trips through the factory."""

    gym_id: str
    """Registered gymnasium id of the underlying env."""
    frame_stack: int = 1
    """Number of raw frames stacked into one policy observation (1 = no stacking)."""
    max_steps: int | None = None
    """Agent steps per episode; None keeps the gymnasium default time limit."""
    atari: bool = False
    """Apply the standard Atari preprocessing (see module docstring)."""
    one_round: bool = False
    """End the episode at the first nonzero reward (one-round Pong: a win is reward +1)."""
    kwargs: tuple[tuple[str, Any], ...] = field(default=())
    """Extra keyword arguments for ``gymnasium.make`` (sorted pairs so the spec stays hashable)."""
    name: str | None = None
    """Preset name this spec came from, if any (display only)."""

    def __post_init__(self) -> None:
        if self.frame_stack < 1:
            raise InvalidValueError(f"frame_stack must be >= 1, got {self.frame_stack}")
        if self.max_steps is not None and self.max_steps < 1:
            raise InvalidValueError(f"max_steps must be a positive number of agent steps, got {self.max_steps}")

    def __str__(self) -> str:
        if self.name is not None and resolve_env_spec(self.name) == self:
            return self.name
        options = {}
        default_stack = 4 if self.atari else 1
        if self.frame_stack != default_stack:
            options["stack"] = self.frame_stack
        if self.max_steps is not None:
            options["max_steps"] = self.max_steps
        if self.one_round:
            options["one_round"] = 1
        if _is_atari_id(self.gym_id) and not self.atari:
            options["raw"] = 1
        options.update(dict(self.kwargs))
        query = "&".join(f"{k}={v}" for k, v in options.items())
        return self.gym_id + (f"?{query}" if query else "")

    @property
    def label(self) -> str:
        return self.name or str(self)

    @property
    def observation_box(self) -> tuple[float, float] | None:
        """Where observations live: preprocessed Atari pixels in [0, 1]; None (unbounded) otherwise."""
        return (0.0, 1.0) if self.atari else None


PRESETS: dict[str, tuple[str, str]] = {
    "cartpole5": ("CartPole-v0?stack=5", "CartPole-v0 (200 steps), 5 raw frames stacked (Kumar et al. 2022)"),
    "cartpole": ("CartPole-v1", "CartPole-v1 (500 steps), single frame"),
    "mountaincar": ("MountainCar-v0", "MountainCar-v0, discrete actions, 200 steps"),
    "mountaincar-continuous": ("MountainCarContinuous-v0", "MountainCarContinuous-v0, 999 steps"),
    "pendulum": ("Pendulum-v1", "Pendulum-v1, 200 steps"),
    "pong": ("ALE/Pong-v5", "Pong, standard Atari preprocessing"),
    "pong-1round": ("ALE/Pong-v5?one_round=1", "Pong ending at the first point (certify P(win))"),
    "freeway": ("ALE/Freeway-v5", "Freeway, standard Atari preprocessing"),
    "freeway-250": ("ALE/Freeway-v5?max_steps=250", "Freeway limited to 250 agent steps"),
    "breakout": ("ALE/Breakout-v5", "Breakout, standard Atari preprocessing"),
    "boxing": ("ALE/Boxing-v5", "Boxing, standard Atari preprocessing"),
    "gopher": ("ALE/Gopher-v5", "Gopher, standard Atari preprocessing"),
    "bankheist": ("ALE/BankHeist-v5", "BankHeist, standard Atari preprocessing"),
    "surprise-rooms": ("rlcert/SurpriseRooms-v0", "Adversarial Surprise's 4 dark or flashing rooms, 128 steps"),
}

_BOOL_OPTIONS = {"one_round", "raw"}
_INT_OPTIONS = {"stack", "max_steps"}


def _is_atari_id(gym_id: str) -> bool:
    return gym_id.startswith("ALE/")


def _registered_ids() -> list[str]:
    _register_ale()
    return sorted(gym.registry)


@cache
def _register_ale() -> None:
    # ale-py registers its ids on import only from gymnasium >= 1.0 via register_envs.
    import ale_py

    gym.register_envs(ale_py)


def _register_minigrid(gym_id: str) -> None:
    """Register the minigrid env on first use: minigrid (and pygame under it) load only for those who ask."""
    if not gym_id.startswith("rlcert/SurpriseRooms"):
        return
    try:
        import rlcert.envs.surprise_rooms  # noqa: F401  (registers the id)
    except ImportError as error:
        raise UnknownEnvError(
            f"{gym_id} needs minigrid 3 (Python 3.11+): pip install 'minigrid>=3' ({error})"
        ) from None


def _parse_value(key: str, raw: str) -> Any:
    if key in _BOOL_OPTIONS:
        if raw.lower() not in {"0", "1", "true", "false"}:
            raise InvalidValueError(f"option {key!r} takes 0/1 or true/false, got {raw!r}")
        return raw.lower() in {"1", "true"}
    if key in _INT_OPTIONS:
        try:
            return int(raw)
        except ValueError:
            raise InvalidValueError(f"option {key!r} takes an integer, got {raw!r}") from None
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)


def _check_env_options(gym_id: str, options: dict[str, Any]) -> None:
    """Refuse query options the env's constructor does not take, before any env is built (a typo would
    otherwise surface as a TypeError deep inside gymnasium, or not at all)."""
    if not options:
        return
    entry_point = gym.registry[gym_id].entry_point
    creator = load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point
    try:
        parameters = inspect.signature(creator).parameters
    except (TypeError, ValueError):  # a builtin or C extension without a signature: let gymnasium judge
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [name for name, p in parameters.items() if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        valid = sorted({*accepted, *_BOOL_OPTIONS, *_INT_OPTIONS} - {"self", "render_mode"})
        raise UnknownEnvError(f"env {gym_id!r} has no option {unknown[0]!r}; its options: {', '.join(valid)}")


def resolve_env_spec(spec: str | EnvSpec) -> EnvSpec:
    """Turn a spec string into an :class:`EnvSpec`; unknown names fail with the closest valid ones."""
    if isinstance(spec, EnvSpec):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownEnvError(f"env spec must be a non-empty string, got {spec!r}")
    text = spec.strip()
    preset_name = None
    if text.split("?")[0].lower() in PRESETS:
        preset_name = text.split("?")[0].lower()
        base, _ = PRESETS[preset_name]
        extra = text.partition("?")[2]
        text = base + (("&" if "?" in base else "?") + extra if extra else "")
    gym_id, _, query = text.partition("?")
    _register_ale()
    _register_minigrid(gym_id)
    if gym_id not in gym.registry:
        candidates = list(PRESETS) + _registered_ids()
        close = difflib.get_close_matches(gym_id, candidates, n=4, cutoff=0.5)
        close += [c for c in candidates if gym_id.lower() in c.lower() and c not in close][: 4 - len(close)]
        hint = f"; closest valid names: {', '.join(close)}" if close else f"; presets: {', '.join(PRESETS)}"
        raise UnknownEnvError(f"unknown env {gym_id!r}{hint}")
    options = {k: _parse_value(k, v) for k, v in parse_qsl(query, keep_blank_values=True, strict_parsing=False)}
    atari = _is_atari_id(gym_id) and not options.pop("raw", False)
    stack = options.pop("stack", 4 if atari else 1)
    max_steps = options.pop("max_steps", None)
    one_round = options.pop("one_round", False)
    _check_env_options(gym_id, options)
    kwargs = tuple(sorted(options.items()))
    if preset_name is not None and query == PRESETS[preset_name][0].partition("?")[2]:
        name = preset_name
    else:
        name = None
    return EnvSpec(gym_id, stack, max_steps, atari, one_round, kwargs, name)


@contextlib.contextmanager
def quiet_version_warning():
    """Silence gymnasium's "environment X is out of date" warning: an older version such as CartPole-v0 (its
    200-step limit is the one the smoothing papers certify) is asked for on purpose, and the env spec in every
    report says which version ran."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*is out of date\.", category=DeprecationWarning)
        yield


def make_raw_env(
    spec: str | EnvSpec,
    render_mode: str | None = None,
    wrap_emulator: Callable[[gym.Env], gym.Env] | None = None,
) -> gym.Env:
    """The env *without* frame stacking: one (scaled) raw frame per agent step.

    This is what probes wrap and what the rollout engine steps; attacks and smoothing noise are
    applied to these frames before the engine stacks them. ``wrap_emulator`` wraps an Atari game
    below the preprocessing, where one step is one emulator frame (per-frame STORI probes).
    """
    spec = resolve_env_spec(spec)
    kwargs = dict(spec.kwargs)
    if wrap_emulator is not None and not spec.atari:
        raise InvalidValueError(f"emulator-level probes need an ALE env with standard preprocessing, not {spec}")
    if spec.atari:
        # Preprocessing owns frame skipping, so the emulator must step one frame at a time and
        # sticky actions stay off (stochasticity is something a probe adds on purpose).
        kwargs.setdefault("frameskip", 1)
        kwargs.setdefault("repeat_action_probability", 0.0)
        env = gym.make(spec.gym_id, render_mode=render_mode, max_episode_steps=None, **kwargs)
        if wrap_emulator is not None:
            env = wrap_emulator(env)
        env = gym.wrappers.AtariPreprocessing(
            env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True, scale_obs=True
        )
    else:
        with quiet_version_warning():
            env = gym.make(spec.gym_id, render_mode=render_mode, **kwargs)
    if spec.one_round:
        env = EndOnFirstNonzeroReward(env)
    if spec.max_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_episode_steps=spec.max_steps)
    return env


def make_env(
    spec: str | EnvSpec,
    render_mode: str | None = None,
    wrap_raw: Callable[[gym.Env], gym.Env] | None = None,
) -> gym.Env:
    """The complete env a policy sees: the raw env plus frame stacking (first frame repeated on reset).

    ``wrap_raw`` wraps the raw env below the stack (a probe, or training noise that must hit each raw
    frame once).
    """
    spec = resolve_env_spec(spec)
    env = make_raw_env(spec, render_mode=render_mode)
    if wrap_raw is not None:
        env = wrap_raw(env)
    if spec.frame_stack > 1:
        env = gym.wrappers.FrameStackObservation(env, spec.frame_stack, padding_type="reset")
    return env


def stacked_observation_space(frame_space: gym.spaces.Box, stack: int) -> gym.spaces.Box:
    """The observation space after stacking ``stack`` frames along a new leading axis."""
    if stack == 1:
        return frame_space
    low = np.repeat(frame_space.low[None], stack, axis=0)
    high = np.repeat(frame_space.high[None], stack, axis=0)
    return gym.spaces.Box(low=low, high=high, dtype=frame_space.dtype)


# Whole games whose rules bound the score, whatever the number of steps.
_ATARI_RETURN_RANGES = {
    "ALE/Pong-v5": (-21.0, 21.0),
    "ALE/Boxing-v5": (-100.0, 100.0),
    "ALE/Breakout-v5": (0.0, 864.0),
}


def known_return_range(spec: str | EnvSpec) -> tuple[float, float] | None:
    """The range every episode's return lies in, for envs where it is known from the rules alone.

    CartPole pays 1 per step (so [0, T]); MountainCar-v0 pays -1 per step ([-T, 0]); a one-round game
    ends at the first point ([-1, 1]); a full game of Pong ends when a side reaches 21 ([-21, 21]), Boxing
    at a knockout, 100 punches ahead ([-100, 100]), and Breakout pays at most its two walls of bricks
    ([0, 864]). None where rlcert does not know (then give the range yourself).
    """
    spec = resolve_env_spec(spec)
    if spec.one_round:
        return (-1.0, 1.0)
    if spec.atari and spec.gym_id in _ATARI_RETURN_RANGES:
        return _ATARI_RETURN_RANGES[spec.gym_id]
    limit = spec.max_steps or gym.registry[spec.gym_id].max_episode_steps
    if limit is None:
        return None
    if spec.gym_id.startswith("CartPole-"):
        return (0.0, float(limit))
    if spec.gym_id == "MountainCar-v0":
        return (-float(limit), 0.0)
    return None
