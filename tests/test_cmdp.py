import gymnasium as gym
import numpy as np
import pytest

from rlcert.agents import load_policy
from rlcert.envs import CARTPOLE_COST_ID, make_env, run
from rlcert.envs.cmdp import CartPositionCost
from rlcert.reports.errors import InvalidValueError


class _AlwaysRight:
    observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def act(self, obs):
        return np.ones(len(obs), dtype=np.int64)


def test_the_cost_is_one_at_each_step_the_cart_is_off_centre():
    env = make_env(CARTPOLE_COST_ID + "?threshold=0.05")
    env.reset(seed=0)
    costs, positions = [], []
    for _ in range(30):
        _, _, terminated, truncated, info = env.step(1)
        costs.append(info["cost"])
        positions.append(env.unwrapped.state[0])
        if terminated or truncated:
            break
    assert costs == [float(abs(x) > 0.05) for x in positions] and 0 < sum(costs) < len(costs)


def test_the_engine_sums_the_cost_of_each_episode_and_reward_and_cost_pull_apart():
    # The zoo agent, trained without the constraint, balances for all 500 steps while its cart drifts off centre.
    balancing = run(load_policy("zoo:cartpole-ppo"), CARTPOLE_COST_ID, 4, progress=False)
    assert np.all(balancing.returns == 500) and np.all(balancing.costs > 100)
    falling = run(_AlwaysRight(), CARTPOLE_COST_ID, 4, progress=False)  # falls before it drifts
    assert np.all(falling.costs == 0) and np.all(falling.returns < 20)


def test_a_threshold_must_be_a_positive_distance():
    with pytest.raises(InvalidValueError, match="threshold"):
        CartPositionCost(gym.make("CartPole-v1"), threshold=0)


def test_the_drift_task_pays_for_moving_right_so_reward_and_cost_conflict():
    from rlcert.envs.cmdp import CARTPOLE_DRIFT_COST_ID

    env, plain = make_env(CARTPOLE_DRIFT_COST_ID), make_env(CARTPOLE_COST_ID)
    env.reset(seed=0)
    plain.reset(seed=0)
    for _ in range(5):
        before = env.unwrapped.state[0]
        _, reward, *_ = env.step(1)
        _, plain_reward, *_ = plain.step(1)
        assert reward == pytest.approx(plain_reward + 50.0 * (env.unwrapped.state[0] - before))
