import numpy as np
import pytest
import torch

from conftest import make_mlp_policy
from rlcert.envs.conformance import PolicyCheckError, check_policy


def test_good_policies_pass(mlp_policy, balancing_policy):
    check_policy(mlp_policy, env="cartpole5")
    check_policy(balancing_policy, env="cartpole5")
    check_policy(mlp_policy)  # observations sampled from the space


def test_wrong_shape_for_the_env_is_named(mlp_policy):
    with pytest.raises(PolicyCheckError, match=r"\(5, 4\).*\(4,\)"):
        check_policy(mlp_policy, env="CartPole-v1")


def test_nondeterministic_policy_fails(balancing_policy):
    rng = np.random.default_rng(0)
    balancing_policy.act = lambda obs: rng.integers(0, 2, len(obs))
    with pytest.raises(PolicyCheckError, match="not deterministic"):
        check_policy(balancing_policy, env="cartpole5")


def test_batch_dependent_policy_fails(balancing_policy):
    balancing_policy.act = lambda obs: np.arange(len(obs)) % 2  # depends on the row position
    with pytest.raises(PolicyCheckError, match="depends on the other rows"):
        check_policy(balancing_policy, env="cartpole5")


def test_act_must_be_the_argmax_of_scores():
    policy = make_mlp_policy()
    original = policy.act
    policy.act = lambda obs: 1 - original(obs)
    with pytest.raises(PolicyCheckError, match="argmax"):
        check_policy(policy, env="cartpole5")


def test_invalid_actions_fail(balancing_policy):
    balancing_policy.act = lambda obs: np.full(len(obs), 7)
    with pytest.raises(PolicyCheckError, match="not in Discrete"):
        check_policy(balancing_policy, env="cartpole5")


def test_non_differentiable_scores_fail():
    policy = make_mlp_policy()
    policy.scores = lambda obs: policy.module(obs.detach()).detach() + 0 * torch.ones(1, requires_grad=True)
    with pytest.raises(PolicyCheckError, match="differentiable"):
        check_policy(policy, env="cartpole5")
