"""Shared fixtures: small real policies built in-process, so most tests need no trained weights."""

from __future__ import annotations

import os
import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings
from torch import nn

from rlcert.agents import TorchModulePolicy

warnings.filterwarnings("ignore", message=".*out of date.*")

# Property tests run on a 2-core CI machine that may be busy: no per-example deadline, and in CI the
# examples are derandomized so a red build is reproducible.
settings.register_profile("rlcert", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60)
settings.register_profile("ci", parent=settings.get_profile("rlcert"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "rlcert")


@pytest.fixture(autouse=True, scope="session")
def private_cache_home(tmp_path_factory):
    """Tests never read or write the user's ~/.cache/rlcert (the ell band's calibrated levels live there)."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    if previous is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = previous


def make_mlp_policy(obs_shape=(5, 4), n_actions=2, hidden=16, seed=0) -> TorchModulePolicy:
    torch.manual_seed(seed)
    module = nn.Sequential(
        nn.Flatten(), nn.Linear(int(np.prod(obs_shape)), hidden), nn.ReLU(), nn.Linear(hidden, n_actions)
    )
    return TorchModulePolicy(
        module,
        gym.spaces.Box(-np.inf, np.inf, obs_shape, np.float32),
        gym.spaces.Discrete(n_actions),
        "q_values",
        name="mlp",
    )


class BalancingPolicy:
    """A hand-written CartPole controller (push toward the pole's lean): long episodes, no torch."""

    def __init__(self, stack: int = 5):
        shape = (stack, 4) if stack > 1 else (4,)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape, np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def act(self, obs: np.ndarray) -> np.ndarray:
        last = obs[:, -1] if obs.ndim == 3 else obs
        return (last[:, 2] + 0.5 * last[:, 3] > 0).astype(np.int64)


@pytest.fixture
def mlp_policy() -> TorchModulePolicy:
    return make_mlp_policy()


@pytest.fixture
def balancing_policy() -> BalancingPolicy:
    return BalancingPolicy()
