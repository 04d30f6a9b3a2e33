import json

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from rlcert.envs import CARTPOLE_COST_ID, make_env  # noqa: E402
from rlcert.reports.errors import InvalidValueError, OperationError  # noqa: E402
from rlcert.train_command import TrainPpoLagrangianConfig  # noqa: E402
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


def test_rlcert_train_ppo_lagrangian_writes_both_agents_in_the_zoos_format(tmp_path, capsys):
    from rlcert.agents import load_policy
    from rlcert.cli import build_parser, main
    from rlcert.config import dataclass_from_args

    out = tmp_path / "run"
    args = ["train", "ppo-lagrangian", "--task", "hydro", "--timesteps", "1024", "--episodes", "3", "--limit", "2",
            "--out-dir", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "PPO-Lagrangian" in printed and "mean episode cost" in printed
    assert (out / "curves.csv").exists() and (out / "curves.png").stat().st_size > 0
    for name, algorithm in (("hydro-ppo-lagrangian", "PPO-Lagrangian"), ("hydro-ppo", "PPO")):
        meta = json.loads((out / name / "meta.json").read_text())
        assert meta["algorithm"] == algorithm and meta["env"] == "rlcert/HydroDispatch-v0"
        assert meta["evaluation"]["actions"] == "greedy"  # a Gaussian policy is stored by its mean
        assert meta["evaluation"]["cost_limit"] == 2 and meta["training"]["cost_limit"] == 2
        policy = load_policy(out / name / "weights.pt")
        assert policy.output == "action_mean" and policy.act(np.zeros((1, 6), np.float32)).shape == (1, 2)
        # The recorded command rebuilds this run's configuration (its output folder aside).
        recorded = meta["training"]["command"].split()
        parsed = dataclass_from_args(TrainPpoLagrangianConfig, build_parser().parse_args(recorded[1:]))
        given = dataclass_from_args(TrainPpoLagrangianConfig, build_parser().parse_args(args))
        assert parsed == TrainPpoLagrangianConfig(**{**given.__dict__, "out_dir": parsed.out_dir})


def test_bad_training_options_are_refused_in_one_line(capsys):
    from rlcert.cli import main

    assert main(["train", "ppo-lagrangian", "--task", "pendulum"]) == 2
    assert "--task must be one of cartpole-drift, hydro, got 'pendulum'" in capsys.readouterr().err
    assert main(["train", "ppo-lagrangian", "--lambda-lr", "-1"]) == 2
    assert "--lambda-lr must be a finite number >= 0" in capsys.readouterr().err
