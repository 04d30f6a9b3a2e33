import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from rlcert.envs import CARTPOLE_COST_ID, make_env  # noqa: E402
from rlcert.reports.errors import InvalidValueError, OperationError  # noqa: E402
from rlcert.training.ppo_lagrangian import (  # noqa: E402
    LagrangianConfig,
    LagrangianReward,
    _Multiplier,
    train_ppo_lagrangian,
)


def test_the_shaped_reward_is_the_lagrangian_and_finished_episodes_are_recorded():
    multiplier = _Multiplier(value=3.0)
    env = LagrangianReward(make_env(CARTPOLE_COST_ID + "?threshold=0.01"), multiplier)
    env.reset(seed=0)
    rewards, costs = [], []
    while True:
        _, reward, terminated, truncated, info = env.step(1)
        rewards.append(reward)
        costs.append(info["cost"])
        if terminated or truncated:
            break
    assert np.allclose(rewards, [(1.0 - 3.0 * c) / 4.0 for c in costs])
    assert multiplier.finished_costs == [sum(costs)] and multiplier.finished_returns == [len(costs)]
    with pytest.raises(OperationError, match="info\\['cost'\\]"):
        plain = LagrangianReward(gym.make("CartPole-v1"), multiplier)
        plain.reset(seed=0)
        plain.step(0)


def test_lambda_rises_while_the_cost_is_above_the_limit_and_plain_ppo_keeps_it_at_zero():
    small = {"n_steps": 128, "batch_size": 64, "n_epochs": 1}
    config = LagrangianConfig(timesteps=2048, limit=0.0, lambda_lr=0.01, n_envs=2, seed=1)
    lagrangian = train_ppo_lagrangian(config, small)
    lambdas = [row[3] for row in lagrangian.curve]
    assert lambdas and all(b >= a for a, b in zip(lambdas, lambdas[1:])) and lambdas[-1] > 0
    plain = train_ppo_lagrangian(LagrangianConfig(**{**config.__dict__, "lagrangian": False}), small)
    assert all(row[3] == 0 for row in plain.curve)
    with pytest.raises(InvalidValueError, match="--limit"):
        LagrangianConfig(limit=-1)
