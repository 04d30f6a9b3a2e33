import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rlcert.envs import HYDRO_DISPATCH_ID, make_env, run
from rlcert.reports.errors import InvalidValueError


class _Fraction:
    """Keep every reservoir at a fixed fraction of what it can reach."""

    def __init__(self, fraction: float, plants: int = 2):
        self.fraction = fraction
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2 * plants + 2,), np.float32)
        self.action_space = gym.spaces.Box(0.0, 1.0, (plants,), np.float32)

    def act(self, obs):
        return np.full((len(obs), self.action_space.shape[0]), self.fraction, dtype=np.float32)


def test_the_env_passes_gymnasiums_checker_and_runs_a_horizon_of_stages():
    env = gym.make(HYDRO_DISPATCH_ID).unwrapped
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    steps, costs = 0, []
    while True:
        _, reward, terminated, truncated, info = env.step(np.full(2, 0.5, dtype=np.float32))
        steps += 1
        costs.append(info["cost"])
        assert reward <= 0 and info["cost"] >= 0 and not terminated
        if truncated:
            break
    assert steps == 12


def test_the_engine_runs_the_env_and_the_action_changes_the_return():
    # The engine runs it like any env; the same seed gives the same inflows to both policies.
    spec = f"{HYDRO_DISPATCH_ID}?horizon=12"
    make_env(spec)
    empty = run(_Fraction(0.0), spec, 8, progress=False, seed=3)
    half = run(_Fraction(0.5), spec, 8, progress=False, seed=3)
    assert empty.returns.shape == (8,) and np.all(empty.lengths == 12)
    assert half.mean_return != empty.mean_return


def _episode(env, fraction: float, seed: int) -> tuple[float, float, list[float]]:
    env.reset(seed=seed)
    total_reward = total_cost = 0.0
    stored = []
    while True:
        _, reward, _, truncated, info = env.step(np.full(env.action_space.shape, fraction, dtype=np.float32))
        total_reward, total_cost = total_reward + reward, total_cost + info["cost"]
        stored.append(info["stored"])
        assert info["cost"] == float(info["stored"] < env.security_level - 1e-9)
        if truncated:
            return total_reward, total_cost, stored


def test_the_security_curve_and_the_operating_cost_pull_apart():
    # Keeping the water keeps the storage above the curve, at a thermal bill; spending it is cheaper and breaks
    # the curve: a cost-minimising agent meets the constraint only if it is made to.
    env = make_env(HYDRO_DISPATCH_ID).unwrapped
    assert env.start_level == 0.5 and env.security_level == 0.3
    keep_reward, keep_cost, keep_stored = _episode(env, 1.0, seed=0)
    spend_reward, spend_cost, spend_stored = _episode(env, 0.0, seed=0)
    assert keep_cost == 0 and min(keep_stored) >= 0.3
    assert spend_cost >= 10 and spend_reward > keep_reward


def test_the_storage_levels_are_refused_outside_zero_to_one():
    with pytest.raises(InvalidValueError, match="--security-level must be a number in \\[0, 1\\], got 1.5"):
        make_env(f"{HYDRO_DISPATCH_ID}?security_level=1.5")
    with pytest.raises(InvalidValueError, match="--start-level"):
        make_env(f"{HYDRO_DISPATCH_ID}?start_level=-0.1")
