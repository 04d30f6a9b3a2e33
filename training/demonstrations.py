"""Expert demonstrations for imitation: the (state, action) pairs a trained policy produces on its own greedy
episodes, as Lipschitz-constrained imitation learns from them (Al Makdah, Krishnan & Pasqualetti 2022, §II:
"N state–control pairs (x_i, u_i) of an expert controller").

A state is the observation the policy acts on (frames stacked as the rollout engine stacks them); an action is
the expert's greedy action (an index for a discrete action space, the clipped action mean for a Box one). A set
saves to one ``.npz`` read back with ``allow_pickle=False`` and checked entry by entry: its arrays, their shapes
and a SHA-256 over them, and the description of where the pairs came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.envs.factory import resolve_env_spec
from rlcert.envs.rollout import run, stack_frames
from rlcert.reports.errors import InvalidValueError, OperationError
from rlcert.reports.validation import check_count

__all__ = ["Demonstrations", "collect_demonstrations", "DEMONSTRATIONS_FORMAT"]

DEMONSTRATIONS_FORMAT = 1
_ENTRIES = {"states", "actions", "episode_ends", "description", "digest"}
_DESCRIPTION_KEYS = {"format", "expert", "env", "episodes", "seed", "mean_return", "discrete"}


@dataclass(frozen=True)
class Demonstrations:
    """Expert state–action pairs, episode after episode (``episode_ends[k]``: one past episode k's last row)."""

    states: np.ndarray
    """(N, *observation shape) float32, as the expert saw them."""
    actions: np.ndarray
    """(N,) int64 action indices, or (N, *action shape) float32 actions."""
    episode_ends: np.ndarray
    expert: str
    env: str
    seed: int
    mean_return: float
    """The expert's mean return over these episodes (empirical)."""

    @property
    def discrete(self) -> bool:
        return self.actions.dtype.kind == "i"

    @property
    def episodes(self) -> int:
        return len(self.episode_ends)

    def __len__(self) -> int:
        return len(self.states)

    def _description(self) -> dict[str, Any]:
        return {"format": DEMONSTRATIONS_FORMAT, "expert": self.expert, "env": self.env, "episodes": self.episodes,
                "seed": self.seed, "mean_return": self.mean_return, "discrete": self.discrete}  # fmt: skip

    def save(self, path: str | Path) -> Path:
        """Write the set to ``path`` (``.npz``) atomically: a crash never leaves half a file under that name."""
        path = Path(path)
        arrays = {"states": self.states, "actions": self.actions, "episode_ends": self.episode_ends}
        description = json.dumps(self._description(), sort_keys=True)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
            with os.fdopen(descriptor, "wb") as file:
                np.savez(file, **arrays, description=np.array(description),
                         digest=np.array(_digest(arrays, description)))  # fmt: skip
            os.replace(temporary, path)
        except OSError as error:
            raise OperationError(f"cannot write demonstrations to {str(path)!r}: {error.strerror}") from None
        return path

    @classmethod
    def load(cls, path: str | Path) -> Demonstrations:
        """Read a set written by :meth:`save`; anything else, or a damaged copy, is refused in one line."""
        path = Path(path)
        if not path.is_file():
            raise InvalidValueError(f"no demonstrations file at {str(path)!r}: collect one with collect_demonstrations")
        try:
            with open(path, "rb") as file, np.load(file, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        # A damaged or foreign file fails in whichever layer the damage hits (zipfile, numpy's header parser, a
        # garbled shape); a bug elsewhere keeps its traceback.
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise InvalidValueError(f"{str(path)!r} is not a readable demonstrations file ({error})") from None
        if set(arrays) != _ENTRIES:
            raise InvalidValueError(
                f"{str(path)!r} is not a demonstrations file: entries {sorted(arrays)}, expected {sorted(_ENTRIES)}"
            )
        description = str(arrays.pop("description"))
        if str(arrays.pop("digest")) != _digest(arrays, description):
            raise InvalidValueError(f"{str(path)!r} is damaged: its content does not match its SHA-256")
        meta = json.loads(description)
        if set(meta) != _DESCRIPTION_KEYS or meta["format"] != DEMONSTRATIONS_FORMAT:
            raise InvalidValueError(
                f"{str(path)!r} has description keys {sorted(meta)} in format {meta.get('format')!r}; expected "
                f"{sorted(_DESCRIPTION_KEYS)} in format {DEMONSTRATIONS_FORMAT}"
            )
        return cls(arrays["states"], arrays["actions"], arrays["episode_ends"], meta["expert"], meta["env"],
                   meta["seed"], meta["mean_return"])  # fmt: skip


def _digest(arrays: dict[str, np.ndarray], description: str) -> str:
    sha = hashlib.sha256(description.encode())
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        sha.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        sha.update(array.tobytes())
    return sha.hexdigest()


def collect_demonstrations(policy: Any, env: Any, episodes: int, seed: int = 0, expert: str | None = None,
                           max_pairs: int = 0) -> Demonstrations:  # fmt: skip
    """The (state, greedy action) pairs of ``episodes`` clean episodes of ``policy`` on ``env`` (a spec or name),
    seeded by ``seed`` as every rollout is; ``max_pairs`` > 0 keeps the first that many pairs (whole episodes
    first, the last one cut)."""
    check_count("episodes", episodes)
    if max_pairs < 0:
        raise InvalidValueError(f"max_pairs must be >= 0 (0: every pair), got {max_pairs}")
    spec = resolve_env_spec(env)
    recorded = run(policy, spec, episodes, seed=seed, record_steps=True)
    states = [stack_frames(record.frames, spec.frame_stack).astype(np.float32) for record in recorded.records]
    actions = [np.asarray(record.actions) for record in recorded.records]
    ends = np.cumsum([len(s) for s in states])
    states_all, actions_all = np.concatenate(states), np.concatenate(actions)
    if 0 < max_pairs < len(states_all):
        states_all, actions_all = states_all[:max_pairs], actions_all[:max_pairs]
        ends = np.append(ends[ends < max_pairs], max_pairs)
    discrete = np.issubdtype(actions_all.dtype, np.integer)
    return Demonstrations(
        states_all,
        actions_all.astype(np.int64 if discrete else np.float32),
        np.asarray(ends, dtype=np.int64),
        expert or repr(policy),
        str(spec),
        int(seed),
        float(recorded.mean_return),
    )
