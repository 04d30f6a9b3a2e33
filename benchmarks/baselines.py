"""The research-script baseline the benchmarks compare against: one env, one policy call per step."""

from __future__ import annotations

import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

from rlcert.envs import make_env


def plain_loop(
    policy, env_spec: str, episodes: int, seed: int, wrap_raw: Callable[[gym.Env], gym.Env] | None = None
) -> tuple[np.ndarray, int, float]:
    """Run ``episodes`` episodes one at a time, a batch-of-one forward pass per step.

    Returns (returns, env steps, wall seconds).
    """
    env = make_env(env_spec, wrap_raw=wrap_raw)
    returns = np.zeros(episodes)
    steps = 0
    start = time.perf_counter()
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        while not done:
            with torch.no_grad():
                scores = policy.module(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))
            obs, reward, terminated, truncated, _ = env.step(int(scores.argmax(dim=1)))
            returns[episode] += reward
            steps += 1
            done = terminated or truncated
    return returns, steps, time.perf_counter() - start
