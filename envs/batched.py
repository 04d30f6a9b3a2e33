"""Batches of environments stepped together so the policy is called once per step for all of them.

Two implementations behind one small interface:

* :class:`SerialBatchedEnv` holds one gymnasium env per slot (any id, any probe) and steps the active
  ones in a Python loop; the batching pays off in the policy call.
* :class:`NumpyBatchedEnv` uses gymnasium's own array implementation of an env where one is
  registered (``vector_entry_point``: CartPole), stepping every slot in a few numpy operations.

Each slot runs exactly one episode per chunk (no auto-reset), so which episode ran where depends only
on the chunk, never on timing. Both backends seed slot ``i`` the same way (:meth:`BatchedEnv.slot_seeds`):
it starts from the state a single env reset with that slot's seed starts from, so a probe that moves
CartPole from the array backend to the serial one still meets the baseline's initial states, and a
stress test compares the same episodes with and without the probe.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rlcert.envs.factory import EnvSpec, make_raw_env, quiet_version_warning

__all__ = ["BatchedEnv", "SerialBatchedEnv", "NumpyBatchedEnv", "make_batched_env"]

ProbeFactory = Callable[[gym.Env], gym.Env]


class BatchedEnv(abc.ABC):
    """``num_envs`` episodes in lockstep; raw frames (before stacking) in, per-slot results out."""

    num_envs: int
    frame_space: gym.spaces.Box
    action_space: gym.Space

    @staticmethod
    def slot_seeds(seed: int, num_envs: int) -> np.ndarray:
        """The ``reset(seed=...)`` each slot's env gets for a batch seed, whatever the backend."""
        return np.random.SeedSequence(seed).generate_state(num_envs)

    @abc.abstractmethod
    def reset(self, seed: int) -> np.ndarray:
        """Start one episode per slot; slot ``i`` starts as a single env reset with ``slot_seeds(seed)[i]``."""

    @abc.abstractmethod
    def step(
        self, actions: np.ndarray, active: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step the ``active`` slots; returns frames, rewards, terminated, truncated, costs (all slots)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class SerialBatchedEnv(BatchedEnv):
    """One gymnasium env per slot, optionally wrapped by a probe, stepped one after another."""

    def __init__(self, spec: EnvSpec, num_envs: int, probe: ProbeFactory | None = None):
        self.envs = []
        # A probe factory may also wrap the emulator below frame skipping (envs.probes.ProbeStack).
        wrap_emulator = getattr(probe, "wrap_emulator", None)
        for _ in range(num_envs):
            env = make_raw_env(spec, wrap_emulator=wrap_emulator)
            self.envs.append(probe(env) if probe is not None else env)
        self.num_envs = num_envs
        self.frame_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self._discrete = isinstance(self.action_space, gym.spaces.Discrete)
        self._frames = np.zeros((num_envs, *self.frame_space.shape), dtype=np.float32)

    def reset(self, seed: int) -> np.ndarray:
        slot_seeds = self.slot_seeds(seed, self.num_envs)
        for i, env in enumerate(self.envs):
            frame, _ = env.reset(seed=int(slot_seeds[i]))
            env.action_space.seed(int(slot_seeds[i]))
            self._frames[i] = frame
        return self._frames.copy()

    def step(self, actions, active):
        n = self.num_envs
        rewards = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        costs = np.zeros(n)
        for i in np.flatnonzero(active):
            action = int(actions[i]) if self._discrete else actions[i]
            frame, reward, term, trunc, info = self.envs[i].step(action)
            self._frames[i] = frame
            rewards[i] = float(reward)
            terminated[i] = term
            truncated[i] = trunc
            costs[i] = float(info.get("cost", 0.0))
        return self._frames.copy(), rewards, terminated, truncated, costs

    def close(self) -> None:
        for env in self.envs:
            env.close()


class NumpyBatchedEnv(BatchedEnv):
    """gymnasium's array implementation of an env (its registered ``vector_entry_point``).

    The vector env draws every slot's start from one generator of its own; instead each slot starts
    from the state of a single env reset with the slot's seed (written into the vector env's state),
    so this backend and :class:`SerialBatchedEnv` play identical episodes. The dynamics are the same
    float64 operations elementwise, so the episodes stay bit-identical (tested). Finished slots keep
    being stepped by the vector env (it auto-resets them) but are masked out by the engine, so their
    later transitions never count.
    """

    def __init__(self, spec: EnvSpec, num_envs: int):
        kwargs = dict(spec.kwargs)
        if spec.max_steps is not None:
            kwargs["max_episode_steps"] = spec.max_steps
        with quiet_version_warning():
            self.vec = gym.make_vec(spec.gym_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
        # One single env, reset once per slot seed, tells each slot where to start.
        self.starts = make_raw_env(spec)
        self.num_envs = num_envs
        self.frame_space = self.vec.single_observation_space
        self.action_space = self.vec.single_action_space

    def reset(self, seed: int) -> np.ndarray:
        slot_seeds = self.slot_seeds(seed, self.num_envs)
        frames = np.zeros((self.num_envs, *self.frame_space.shape), dtype=np.float32)
        states = []
        for i, slot_seed in enumerate(slot_seeds):
            frames[i], _ = self.starts.reset(seed=int(slot_seed))
            states.append(np.asarray(self.starts.unwrapped.state, dtype=np.float64))
        self.vec.reset(seed=int(slot_seeds[0]))  # zeroes the step counters; the start states come next
        self.vec.unwrapped.state = np.stack(states, axis=1)
        return frames

    def step(self, actions, active):
        frames, rewards, terminated, truncated, info = self.vec.step(np.asarray(actions))
        costs = np.asarray(info.get("cost", np.zeros(self.num_envs)), dtype=np.float64)
        return (
            np.asarray(frames, dtype=np.float32),
            np.asarray(rewards, dtype=np.float64),
            np.asarray(terminated),
            np.asarray(truncated),
            costs,
        )

    def close(self) -> None:
        self.vec.close()
        self.starts.close()


# Array implementations whose per-slot start state NumpyBatchedEnv can take from a single env (``.state``,
# one column per slot). Only gymnasium's numpy ones: the phys2d implementations need jax.
_START_STATE_FROM_SINGLE_ENV = ("gymnasium.envs.classic_control.cartpole:CartPoleVectorEnv",)


def numpy_batchable(spec: EnvSpec, probe: ProbeFactory | None) -> bool:
    """Whether gymnasium ships an array implementation that matches ``make_raw_env(spec)`` exactly."""
    registered = gym.registry[spec.gym_id]
    return (
        probe is None
        and str(registered.vector_entry_point or "") in _START_STATE_FROM_SINGLE_ENV
        and not spec.atari
        and not spec.one_round
        and not registered.additional_wrappers
    )


def make_batched_env(
    spec: EnvSpec, num_envs: int, probe: ProbeFactory | None = None, prefer_numpy: bool = True
) -> BatchedEnv:
    if prefer_numpy and numpy_batchable(spec, probe):
        return NumpyBatchedEnv(spec, num_envs)
    return SerialBatchedEnv(spec, num_envs, probe)
