"""Checkpoints of a zoo training run, and the state every training segment starts from.

A run (``rlcert.agents.training``) trains in segments, each ending at the first SB3 rollout boundary at or
after a multiple of the recipe's ``checkpoint_every`` steps (and at its budget). At the end of a segment
the run writes its checkpoint (atomically; read back with ``weights_only=True``, its entries checked,
and refused with the file's name when damaged or foreign): policy, optimizer and target-network tensors,
step count, selection state (finalists, learning curve, the evaluations so far and so the next
selection seed), the budget history, and a DQN's replay buffer when its capacity is at most
``REPLAY_CHECKPOINT_BYTES``. Every segment, in an uninterrupted run as in a resumed one, then starts
from exactly that state (``begin_segment``; the first segment, which no run resumes into, keeps SB3's
own seeding): new training envs reset with seeds from ``SeedSequence`` children of the recipe's seed
keyed by the step the segment starts at; python's, numpy's and torch's
generators and the model's action space reseeded from the same; SB3's DQN target-update counter and
exploration rate set from the step count; the episodes in play at the boundary cut there (a
truncation in the replay buffer, ``cut_episodes``). Nothing else carries over from one segment to the
next, so on the CPU a run resumed from any of its checkpoints reproduces the uninterrupted run bit for
bit (``tests/test_training.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlcert.agents.recipes import ZooRecipe
from rlcert.reports.errors import OperationError

__all__ = [
    "CHECKPOINT",
    "REPLAY_CHECKPOINT_BYTES",
    "recipe_fingerprint",
    "load_checkpoint",
    "save_atomic",
    "rollout_steps",
    "finalists_of_old_checkpoint",
    "segment_seeds",
    "begin_segment",
    "cut_episodes",
    "replay_state",
    "restore_replay",
]

CHECKPOINT = "checkpoint.pt"
# A DQN replay buffer of at most this capacity travels with the checkpoint (cartpole5's 200k transitions:
# 32 MB), so a resumed run learns from the transitions an uninterrupted one has; an Atari DQN's 100k
# frames (5.6-11 GB) would make every checkpoint that large and are refilled instead.
REPLAY_CHECKPOINT_BYTES = 1 << 30
_REPLAY_ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
_CHECKPOINT_KEYS = {"fingerprint", "timesteps", "policy", "optimizer", "finalists", "curve", "train_seconds",
                    "budgets", "replay_buffer", "refill_until"}  # fmt: skip
# Entries only older checkpoints have: a separate DQN target network (now inside "policy") and the single
# best snapshot kept before finalists.
_LEGACY_CHECKPOINT_KEYS = {"target", "best_policy", "best_timesteps", "best_score"}
# The training segments' seeds are children of SeedSequence([recipe seed, this]): a domain of their own, so
# they never coincide with the rollout engine's SeedSequence(seed, spawn_key=(chunk,)) for the same number.
_TRAINING_SEED_DOMAIN = 0x5EED_7A1E


def recipe_fingerprint(recipe: ZooRecipe) -> str:
    """What a checkpoint must match to be resumed: everything that shapes the training except its length,
    so a recipe whose budget grew continues its run (the learning-rate schedule then stretches to the
    new total from where it stands)."""
    fields = (recipe.name, recipe.env, recipe.algorithm, recipe.hyperparameters, recipe.net_arch,
              recipe.n_envs, recipe.noise_sigma, recipe.seed, recipe.network, recipe.init_from)  # fmt: skip
    if recipe.adversarial_eps > 0:  # appended only when set, so plain recipes keep their checkpoints' fingerprints
        fields += (recipe.adversarial_eps, recipe.adversarial_steps)
    if recipe.adversarial_method != "pgd":
        fields += (recipe.adversarial_method, recipe.sa_kappa, recipe.sa_hinge, recipe.adversarial_ramp)
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]


def finalists_of_old_checkpoint(resumed: dict[str, Any]) -> list[dict[str, Any]]:
    """Checkpoints written before finalists were kept hold only the single best snapshot."""
    if resumed.get("best_policy") is None:
        return []
    return [{"timesteps": resumed["best_timesteps"], "score": resumed["best_score"], "policy": resumed["best_policy"]}]


def save_atomic(obj: Any, path: Path) -> None:
    """Write to a partial file and rename it: a run killed while saving keeps its previous checkpoint."""
    partial = path.with_suffix(".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def rollout_steps(recipe: ZooRecipe) -> int:
    """Env steps SB3 collects between two checks of the training budget (PPO's n_steps, DQN's train_freq,
    times the number of envs; SB3's defaults where the recipe leaves them out)."""
    key, default = ("n_steps", 2048) if recipe.algorithm == "ppo" else ("train_freq", 4)
    per_env = recipe.hyperparameters.get(key, default)
    return (per_env if isinstance(per_env, int) else 1) * recipe.n_envs


def load_checkpoint(run_dir: Path, recipe: ZooRecipe) -> dict[str, Any] | None:
    """The checkpoint in ``run_dir`` (None when there is none), refused with its name when it cannot be
    read, holds entries this version does not know, belongs to another recipe or is past the budget."""
    path = run_dir / CHECKPOINT
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several kinds for a damaged file; none of them may pass as a run
        raise OperationError(
            f"{path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "remove it (or pass another run directory) to start afresh"
        ) from None
    if not isinstance(state, dict):
        raise OperationError(f"{path} is not a zoo training checkpoint (no entries); remove it to start afresh")
    unknown = sorted(set(state) - _CHECKPOINT_KEYS - _LEGACY_CHECKPOINT_KEYS)
    if unknown:
        raise OperationError(
            f"{path} is not a zoo training checkpoint of this version (unknown entries {unknown}; valid: "
            f"{', '.join(sorted(_CHECKPOINT_KEYS))}); remove it to start afresh"
        )
    if state.get("fingerprint") != recipe_fingerprint(recipe):
        raise OperationError(
            f"{path} belongs to a different recipe or settings than {recipe.name!r}; "
            "remove it (or pass another run directory) to start afresh"
        )
    # SB3 checks its budget between rollouts, so a finished run ends up to one rollout past it.
    if int(state["timesteps"]) >= recipe.timesteps + rollout_steps(recipe):
        raise OperationError(
            f"{path} has trained {int(state['timesteps'])} steps, more than the recipe's {recipe.timesteps}; "
            "raise the recipe's timesteps or start afresh"
        )
    return state


def segment_seeds(recipe: ZooRecipe, timesteps: int) -> tuple[int, list[int]]:
    """(learner seed, one reset seed per training env) of the segment that starts at ``timesteps``."""
    segment = np.random.SeedSequence([recipe.seed, _TRAINING_SEED_DOMAIN], spawn_key=(timesteps,))
    seeds = [int(child.generate_state(1)[0]) for child in segment.spawn(1 + recipe.n_envs)]
    return seeds[0], seeds[1:]


def begin_segment(model, vec_env, recipe: ZooRecipe) -> None:
    """Put ``model`` into the state a segment starts from, whether it trained the segment before in this
    process or was just loaded from that segment's checkpoint (see the module docstring).

    The first segment keeps the seeding SB3 gave the freshly built model (model and training env i
    seeded with the recipe's seed and seed + i, SB3's convention), the seeding the committed zoo agents
    were trained with. No run resumes at step 0, so this costs no reproducibility."""
    from stable_baselines3.common.utils import set_random_seed

    if model.num_timesteps == 0:
        return
    learner_seed, env_seeds = segment_seeds(recipe, model.num_timesteps)
    # VecEnv.seed(s) would reset env i with s + i; each env gets its own child seed instead (VecEnv keeps
    # the seeds of its next reset in _seeds, which is what VecEnv.seed sets).
    vec_env._seeds = env_seeds
    model.set_env(vec_env)  # drops SB3's last observation: learn() starts with a reset of the new envs
    set_random_seed(learner_seed)  # python, numpy and torch: action sampling, minibatches, replay sampling
    model.action_space.seed(learner_seed)  # epsilon-greedy and warm-up actions
    model._current_progress_remaining = 1.0 - model.num_timesteps / recipe.timesteps
    if recipe.algorithm == "dqn":
        # SB3 sets both after each step; a loaded model has neither, and the first action of a segment uses
        # the exploration rate before any step has set it.
        model.exploration_rate = model.exploration_schedule(model._current_progress_remaining)
        model._n_calls = model.num_timesteps // recipe.n_envs


def cut_episodes(buffer) -> None:
    """A segment's envs close with its end, so their episodes in play end there: the last transition of
    each becomes a truncation (bootstrapped, and where an n-step return stops). A memory-optimised buffer,
    whose next observation is the following row, marks it done instead, as SB3 does when learning restarts."""
    if buffer.pos == 0 and not buffer.full:
        return
    last = (buffer.pos - 1) % buffer.buffer_size
    if buffer.optimize_memory_usage:
        buffer.dones[last] = 1.0
    else:
        buffer.timeouts[last] = np.logical_or(buffer.timeouts[last], np.logical_not(buffer.dones[last]))


def replay_state(buffer) -> dict[str, Any] | None:
    """The filled rows of a DQN replay buffer as tensors, or None when its capacity is too large to keep."""
    arrays = {name: getattr(buffer, name) for name in _REPLAY_ARRAYS if getattr(buffer, name, None) is not None}
    if sum(array.nbytes for array in arrays.values()) > REPLAY_CHECKPOINT_BYTES:
        return None
    filled = buffer.buffer_size if buffer.full else buffer.pos
    tensors = {name: torch.from_numpy(np.ascontiguousarray(array[:filled])) for name, array in arrays.items()}
    return {"pos": int(buffer.pos), "full": bool(buffer.full), **tensors}


def restore_replay(buffer, saved: Any, path: Path) -> None:
    """Fill ``buffer`` (a fresh model's) with the rows ``replay_state`` saved, after checking they fit it."""

    def refuse(what: str) -> OperationError:
        return OperationError(f"{path}: its replay buffer {what}; remove the checkpoint to start afresh")

    if not isinstance(saved, dict) or not isinstance(saved.get("pos"), int) or not isinstance(saved.get("full"), bool):
        raise refuse("has no position")
    pos, full = saved["pos"], saved["full"]
    rows = buffer.buffer_size if full else pos
    if not 0 <= pos < buffer.buffer_size:
        raise refuse(f"position {pos} lies outside the model's {buffer.buffer_size} rows")
    expected = {name for name in _REPLAY_ARRAYS if getattr(buffer, name, None) is not None}
    if set(saved) - {"pos", "full"} != expected:
        raise refuse(f"holds {sorted(set(saved) - {'pos', 'full'})}, the model's holds {sorted(expected)}")
    for name in sorted(expected):
        target, values = getattr(buffer, name), saved[name]
        values = values.numpy() if isinstance(values, torch.Tensor) else None
        if values is None or values.shape != (rows, *target.shape[1:]) or values.dtype != target.dtype:
            found = "no array" if values is None else f"{tuple(values.shape)} {values.dtype}"
            raise refuse(f"{name} ({found}) does not fit the model's ({rows}, *{target.shape[1:]}) {target.dtype}")
        target[:rows] = values
    buffer.pos, buffer.full = pos, full
