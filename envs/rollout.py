"""The rollout engine: N seeded episodes of a policy, with optional attack, defense and probe.

Every analysis in rlcert gets its episodes from :func:`run`. Episodes are split into chunks of
``chunk_size``; chunk ``c`` draws all its randomness (env resets, defense noise, attack, sampled actions) from
``SeedSequence(seed, spawn_key=(c,))`` and runs its episodes in lockstep, one per slot of a batched
env, with one batched policy call per step. So the result depends on ``(seed, chunk_size)`` only,
never on how many workers ran the chunks or in what order. Finished chunks can be checkpointed to a
directory; a rerun with the same arguments resumes from them.

Per step the engine does, for all running episodes at once::

    raw frame ─► attack.perturb ─► defense.transform_frames ─► frame stack ─► policy.act ─► env.step

(``policy.sample`` in place of ``policy.act`` when ``actions='sampled'``.)

The :class:`Episodes` a run returns record the defense (with its noise σ), attack and probe stack that
produced them, so a certificate can refuse episodes that do not fit it (``rlcert.certify.reward``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlcert.attacks.base import Attack, Defense, Policy
from rlcert.attacks.smoothing import DefenseRecord
from rlcert.envs.batched import make_batched_env
from rlcert.envs.checkpoint import ChunkCheckpoint
from rlcert.envs.chunks import ChunkResult, EpisodeRecord
from rlcert.envs.executors import Executor, InProcessExecutor
from rlcert.envs.factory import EnvSpec, resolve_env_spec, stacked_observation_space
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.progress import progress_bar

__all__ = [
    "Episodes",
    "EpisodeRecord",
    "ChunkTask",
    "ChunkResult",
    "run",
    "run_chunk",
    "chunk_seeds",
    "check_action_selection",
    "ACTION_SELECTIONS",
    "check_compatible",
]

DEFAULT_CHUNK_SIZE = 250
ACTION_SELECTIONS = ("greedy", "sampled")


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to run one chunk; picklable."""

    policy: Policy
    env: EnvSpec
    num_episodes: int
    seed: int
    chunk_index: int
    attack: Attack | None = None
    defense: Defense | None = None
    probe: Callable[[gym.Env], gym.Env] | None = None
    record_steps: bool = False
    actions: str = "greedy"
    """``greedy`` (``policy.act``) or ``sampled`` (``policy.sample`` with the chunk's action generator)."""


@dataclass(frozen=True)
class Episodes:
    """The outcome of :func:`run`: one entry per episode, in episode order (immutable arrays)."""

    returns: np.ndarray
    lengths: np.ndarray
    costs: np.ndarray
    seed: int
    chunk_size: int
    env: str
    records: tuple[EpisodeRecord, ...] | None = None
    wall_time_s: float = field(default=0.0, compare=False)
    cut: np.ndarray | None = None
    """Per episode: True where the env's step limit ended it, not the game. A greedy policy that stalls
    (a game that waits for FIRE after a lost life, say) shows here instead of as a merely low return.
    Always recorded by the engine (a checkpointed chunk without it is recomputed); None only for
    Episodes built by hand."""
    actions: str = "greedy"
    """How actions were chosen: ``greedy`` or ``sampled`` from the policy's own distribution."""
    defense: DefenseRecord | None = None
    """The defense the episodes ran under (name, noise σ, where the noise was drawn); None: undefended.
    A smoothing certificate checks its σ against this (``rlcert.certify.reward``)."""
    attack: str | None = None
    """The attack the episodes ran under (its repr); None: clean episodes."""
    probe: str | None = None
    """The probe stack the env ran under (its label); None: the bare env."""

    def __post_init__(self) -> None:
        for arr in (self.returns, self.lengths, self.costs, self.cut):
            if arr is not None:
                arr.setflags(write=False)

    def __len__(self) -> int:
        return len(self.returns)

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    @property
    def stderr_return(self) -> float:
        n = len(self.returns)
        return float(np.std(self.returns, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")

    @property
    def total_steps(self) -> int:
        return int(np.sum(self.lengths))

    @property
    def cut_episodes(self) -> int | None:
        """How many episodes the env's step limit ended (None: not recorded)."""
        return None if self.cut is None else int(np.sum(self.cut))

    def summary(self) -> dict[str, Any]:
        return {
            "episodes": len(self),
            "mean_return": self.mean_return,
            "std_return": float(np.std(self.returns, ddof=1)) if len(self) > 1 else 0.0,
            "stderr_return": self.stderr_return,
            "min_return": float(np.min(self.returns)),
            "max_return": float(np.max(self.returns)),
            "mean_length": float(np.mean(self.lengths)),
            "mean_cost": float(np.mean(self.costs)),
            "total_steps": self.total_steps,
            "cut_episodes": self.cut_episodes,
            "actions": self.actions,
        }


class FrameStacker:
    """Stacks the last ``k`` frames of each slot along a new axis 1; the first frame fills the stack."""

    def __init__(self, frames: np.ndarray, k: int):
        self.k = k
        self.buffer = np.repeat(frames[:, None], k, axis=1)

    def push(self, frames: np.ndarray, rows: np.ndarray) -> None:
        self.buffer[rows, :-1] = self.buffer[rows, 1:]
        self.buffer[rows, -1] = frames[rows]

    @property
    def observations(self) -> np.ndarray:
        return self.buffer if self.k > 1 else self.buffer[:, 0]

    @property
    def history(self) -> np.ndarray | None:
        """The ``k - 1`` frames the next observation keeps (None without stacking)."""
        return self.buffer[:, 1:] if self.k > 1 else None


def stack_frames(frames: np.ndarray, k: int) -> np.ndarray:
    """The policy observations of one episode from its frames, stacked as the engine stacks them."""
    if k == 1:
        return frames
    padded = np.concatenate([np.repeat(frames[:1], k - 1, axis=0), frames])
    return np.stack([padded[t : t + k] for t in range(len(frames))])


def check_compatible(policy: Policy, spec: EnvSpec, frame_space: gym.Space, action_space: gym.Space) -> None:
    """Fail early, naming both shapes, when a policy cannot act in an env."""
    obs_space = stacked_observation_space(frame_space, spec.frame_stack)
    if tuple(policy.observation_space.shape) != tuple(obs_space.shape):
        raise InvalidValueError(
            f"the policy expects observations of shape {tuple(policy.observation_space.shape)} but env "
            f"{spec.label!r} gives {tuple(obs_space.shape)}; is the frame stack right (stack={spec.frame_stack})?"
        )
    if (
        type(policy.action_space) is not type(action_space)
        or (isinstance(action_space, gym.spaces.Discrete) and policy.action_space.n != action_space.n)
        or (isinstance(action_space, gym.spaces.Box) and policy.action_space.shape != action_space.shape)
    ):
        raise InvalidValueError(
            f"the policy acts in {policy.action_space} but env {spec.label!r} expects {action_space}"
        )


def check_action_selection(policy: Policy, actions: str) -> None:
    """Fail early when ``actions`` is unknown, or ``sampled`` for a policy without an action distribution."""
    if actions not in ACTION_SELECTIONS:
        raise InvalidValueError(f"actions must be one of {', '.join(ACTION_SELECTIONS)}, got {actions!r}")
    if actions == "sampled" and not getattr(policy, "samples_actions", False):
        raise InvalidValueError(
            f"actions='sampled' needs a policy with an action distribution to sample (a PPO or A2C policy whose "
            f"outputs are logits); {policy!r} has none: use actions='greedy'"
        )


def chunk_seeds(
    seed: int, chunk_index: int
) -> tuple[int, np.random.SeedSequence, np.random.SeedSequence, np.random.SeedSequence]:
    """(batched-env reset seed, defense, attack and action-sampling seed sequences) of one chunk.

    Spawned children depend only on their index, so adding the fourth left the first three (and every
    earlier result) unchanged."""
    env_seq, defense_seq, attack_seq, action_seq = np.random.SeedSequence(seed, spawn_key=(chunk_index,)).spawn(4)
    return int(env_seq.generate_state(1)[0]), defense_seq, attack_seq, action_seq


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Run one chunk of episodes in lockstep (see module docstring for the per-step order)."""
    env_seed, defense_seq, attack_seq, action_seq = chunk_seeds(task.seed, task.chunk_index)
    n = task.num_episodes
    env = make_batched_env(task.env, n, task.probe)
    try:
        check_compatible(task.policy, task.env, env.frame_space, env.action_space)
        policy = task.defense.wrap(task.policy) if task.defense is not None else task.policy
        defense_rng = np.random.default_rng(defense_seq)
        action_rng = np.random.default_rng(action_seq) if task.actions == "sampled" else None
        attack_state = task.attack.reset(n, np.random.default_rng(attack_seq)) if task.attack else None
        if attack_state is not None:
            attack_state.stack = task.env.frame_stack

        frames = env.reset(env_seed)
        active = np.ones(n, dtype=bool)
        returns, costs = np.zeros(n), np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        cut = np.zeros(n, dtype=bool)
        discrete = isinstance(env.action_space, gym.spaces.Discrete)
        actions = np.zeros(n, dtype=np.int64) if discrete else np.zeros((n, *env.action_space.shape), np.float32)
        log: list[tuple[np.ndarray, ...]] = []
        stacker: FrameStacker | None = None
        step = 0
        while active.any():
            raw = frames
            if attack_state is not None:
                attack_state.history = stacker.history if stacker is not None else None
                attack_state.active, attack_state.step = active, step
                frames = task.attack.perturb(frames, policy, attack_state)
            if task.defense is not None:
                frames = task.defense.transform_frames(frames, defense_rng)
            if stacker is None:
                stacker = FrameStacker(frames, task.env.frame_stack)
            else:
                stacker.push(frames, active)
            rows = np.flatnonzero(active)
            observations = stacker.observations[rows]
            actions[rows] = policy.act(observations) if action_rng is None else policy.sample(observations, action_rng)
            seen = frames
            frames, rewards, terminated, truncated, step_costs = env.step(actions, active)
            returns[rows] += rewards[rows]
            costs[rows] += step_costs[rows]
            lengths[rows] += 1
            if task.record_steps:
                # Only the rows still playing, and what was stacked only where an attack or a defense changed
                # it: ten 2,000-step Pong episodes kept every row twice and took 10 GB, they now take 1.
                changed = None if seen is raw else seen[rows].astype(np.float32)
                log.append((rows, raw[rows].astype(np.float32), changed, actions[rows].copy(), rewards[rows].copy()))
            cut[rows] = truncated[rows] & ~terminated[rows]
            active = active & ~(terminated | truncated)
            step += 1
        records = _episode_records(log, n) if task.record_steps else None
        return ChunkResult(returns, lengths, costs, records, cut)
    finally:
        env.close()


def _episode_records(log, n: int) -> tuple[EpisodeRecord, ...]:
    """One record per slot from the per-step log of the rows that were playing (see the recording above);
    without an attack or a defense what was stacked is the raw frames themselves, one array for both."""
    changed = any(entry[2] is not None for entry in log)
    per_slot: list[list[tuple]] = [[] for _ in range(n)]
    for rows, raw, seen, actions, rewards in log:
        for j, slot in enumerate(rows):
            per_slot[slot].append((raw[j], seen[j] if changed else None, actions[j], rewards[j]))
    records = []
    for steps in per_slot:
        raw, seen, actions, rewards = zip(*steps)
        frames = np.stack(raw)
        records.append(
            EpisodeRecord(frames, np.stack(seen) if changed else frames, np.stack(actions), np.stack(rewards))
        )
        steps.clear()  # each slot's views go as soon as its arrays are built
    return tuple(records)


def run(
    policy: Policy,
    env: str | EnvSpec,
    episodes: int,
    *,
    attack: Attack | None = None,
    probe: Callable[[gym.Env], gym.Env] | None = None,
    defense: Defense | None = None,
    seed: int = 0,
    executor: Executor | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    checkpoint_dir: str | Path | None = None,
    record_steps: bool = False,
    progress: bool = False,
    actions: str = "greedy",
) -> Episodes:
    """Run ``episodes`` episodes of ``policy`` in ``env`` and return their returns, lengths and costs.

    Args:
        policy: anything with ``observation_space``, ``action_space`` and a batched ``act``.
        env: a spec string (see ``rlcert.envs.factory``) or an :class:`EnvSpec`.
        episodes: number of episodes (>= 1).
        attack / defense / probe: see ``rlcert.attacks.base``; a probe is a callable ``env -> wrapped env``.
        seed: the run's seed; with ``chunk_size`` it fixes every random draw.
        executor: where chunks run (default in-process); results never depend on it.
        chunk_size: episodes per chunk, run in lockstep; larger means bigger policy batches.
        checkpoint_dir: save each finished chunk there, and reuse chunks already there.
        record_steps: keep per-step frames, actions and rewards of every episode.
        progress: show a rich progress bar.
        actions: ``greedy`` (the policy's ``act``, what certificates assume) or ``sampled`` (draws from
            the policy's own action distribution with a seeded generator per chunk; needs a policy with
            ``sample``, e.g. a PPO agent's logits).

    Example:
        >>> from rlcert.agents import load_policy
        >>> eps = run(load_policy("zoo:cartpole5-dqn"), "cartpole5", episodes=10, seed=0)
        >>> len(eps)
        10
    """
    spec = resolve_env_spec(env)
    if not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise InvalidValueError(f"episodes must be a positive integer, got {episodes!r}")
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise InvalidValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"seed must be a non-negative integer, got {seed!r}")
    check_action_selection(defense.wrap(policy) if defense is not None else policy, actions)
    executor = executor or InProcessExecutor()
    sizes = [min(chunk_size, episodes - start) for start in range(0, episodes, chunk_size)]
    tasks = [
        ChunkTask(policy, spec, size, int(seed), index, attack, defense, probe, record_steps, actions)
        for index, size in enumerate(sizes)
    ]
    checkpoint = None
    if checkpoint_dir is not None:
        checkpoint = ChunkCheckpoint(checkpoint_dir, _run_fingerprint(policy, spec, episodes, tasks[0], chunk_size))
    results: dict[int, ChunkResult] = {}
    if checkpoint is not None:
        results.update({i: r for i in range(len(tasks)) if (r := checkpoint.load(i, sizes[i])) is not None})
    pending = [i for i in range(len(tasks)) if i not in results]

    start = time.perf_counter()
    with progress_bar(progress, episodes, f"episodes · {spec.label}") as advance:
        advance(sum(sizes[i] for i in results))
        for index, result in executor.map(run_chunk, [tasks[i] for i in pending], pending):
            results[index] = result
            if checkpoint is not None:
                checkpoint.save(index, result)
            advance(sizes[index])
    ordered = [results[i] for i in range(len(tasks))]
    records = None
    if record_steps:
        records = tuple(r for chunk in ordered for r in (chunk.records or ()))
    return Episodes(
        returns=np.concatenate([r.returns for r in ordered]),
        lengths=np.concatenate([r.lengths for r in ordered]),
        costs=np.concatenate([r.costs for r in ordered]),
        seed=int(seed),
        chunk_size=int(chunk_size),
        env=str(spec),
        records=records,
        wall_time_s=time.perf_counter() - start,
        cut=None if any(r.cut is None for r in ordered) else np.concatenate([r.cut for r in ordered]),
        actions=actions,
        defense=None if defense is None else _defense_record(defense),
        attack=None if attack is None else repr(attack),
        probe=None if probe is None else getattr(probe, "label", repr(probe)),
    )


def _defense_record(defense: Defense) -> DefenseRecord:
    """``defense.describe()``, or a record of its name alone for a defense that adds no noise it can name."""
    describe = getattr(defense, "describe", None)
    return describe() if describe is not None else DefenseRecord(type(defense).__name__)


# Bumped whenever the same arguments would give other episodes (2: one slot seeding for every backend and
# probes with generators of their own, issue 19), so a checkpoint of an older engine is never resumed.
ENGINE_VERSION = 2


def _run_fingerprint(policy: Policy, spec: EnvSpec, episodes: int, task: ChunkTask, chunk_size: int) -> dict:
    return {
        "engine": ENGINE_VERSION,
        "policy": getattr(policy, "fingerprint", repr(policy)),
        "env": str(spec),
        "episodes": int(episodes),
        "chunk_size": int(chunk_size),
        "seed": int(task.seed),
        "attack": repr(task.attack),
        "defense": repr(task.defense),
        "probe": repr(task.probe),
        "record_steps": bool(task.record_steps),
        # Only a sampled run names its action selection, so greedy runs keep the fingerprints they had.
        **({"actions": task.actions} if task.actions != "greedy" else {}),
    }
