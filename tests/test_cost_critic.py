import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcert.agents import load_policy
from rlcert.attacks.base import AttackState
from rlcert.attacks.cost_critic import CostCritic, CostCriticAttack
from rlcert.envs import CARTPOLE_COST_ID, CARTPOLE_DRIFT_COST_ID, HYDRO_DISPATCH_ID, run
from rlcert.reports.errors import InvalidValueError, UnsupportedInputError
from rlcert.training.cost_critic import fit_cost_critic

torch.set_num_threads(1)


def test_fitted_q_evaluation_finds_the_discounted_cost():
    # A cost of 1 at (nearly) every step of a policy that balances for 500 steps: Q_c = 1 / (1 - gamma) away from
    # the end of the episode, whatever the action.
    policy = load_policy("zoo:cartpole-ppo")
    critic = fit_cost_critic(policy, f"{CARTPOLE_COST_ID}?threshold=1e-9", episodes=4, seed=0, gamma=0.5, rounds=20)
    states = torch.as_tensor(np.random.default_rng(0).normal(0, 0.05, (64, 4)), dtype=torch.float32)  # balanced
    values = critic.values(states)
    assert values.shape == (64, 2)
    assert torch.allclose(values, torch.full_like(values, 2.0), atol=0.25)


def test_minus_the_reward_is_a_cost_for_an_env_without_one():
    # CartPole pays 1 per step and reports no info['cost']: with cost = -reward, Q_c = -1 / (1 - gamma) where the
    # policy balances, whatever the action
    policy = load_policy("zoo:cartpole-ppo")
    critic = fit_cost_critic(policy, "CartPole-v1", episodes=4, seed=0, gamma=0.5, rounds=20, cost="negative-reward")
    states = torch.as_tensor(np.random.default_rng(0).normal(0, 0.05, (64, 4)), dtype=torch.float32)
    values = critic.values(states)
    assert torch.allclose(values, torch.full_like(values, -2.0), atol=0.25)
    with pytest.raises(InvalidValueError, match="reports no cost"):
        fit_cost_critic(policy, "CartPole-v1", episodes=1, rounds=1)
    with pytest.raises(InvalidValueError, match="cost must be one of info, negative-reward, got 'reward'"):
        fit_cost_critic(policy, "CartPole-v1", episodes=1, rounds=1, cost="reward")


def test_the_same_seed_fits_the_same_critic():
    policy = load_policy("zoo:cartpole-ppo")
    fits = [fit_cost_critic(policy, CARTPOLE_COST_ID, episodes=2, seed=3, rounds=2) for _ in range(2)]
    for a, b in zip(fits[0].module.parameters(), fits[1].module.parameters()):
        assert torch.equal(a, b)


def _state(rows: int) -> AttackState:
    return AttackState(rng=np.random.default_rng(0), num_envs=rows, active=np.ones(rows, dtype=bool))


class _TorchBox:
    """A linear Box policy (the clipped mean of a random linear map) over 6 observations and 2 actions."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)
    action_space = gym.spaces.Box(0.0, 1.0, (2,), np.float32)
    output = "action_mean"

    def __init__(self):
        self.module = torch.nn.Linear(6, 2)

    def scores(self, obs):
        return self.module(obs)

    def act(self, obs):
        with torch.no_grad():
            return self.scores(torch.as_tensor(obs)).clamp(0, 1).numpy()


@settings(max_examples=15, deadline=None)
@given(eps=st.floats(0.001, 1.0), norm=st.sampled_from(["inf", "2"]), seed=st.integers(0, 2**16))
def test_every_perturbation_stays_in_its_ball_and_never_lowers_the_critics_cost(eps, norm, seed):
    torch.manual_seed(seed)
    policy = _TorchBox()
    critic = CostCritic(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)),
                        policy.action_space, 0.9, 0)  # fmt: skip
    frames = np.random.default_rng(seed).normal(size=(5, 6)).astype(np.float32)
    attack = CostCriticAttack(critic, eps=eps, norm=norm, steps=5)
    perturbed = attack.perturb(frames, policy, _state(5))
    delta = perturbed - frames
    size = np.abs(delta).max(1) if norm == "inf" else np.linalg.norm(delta, axis=1)
    assert np.all(size <= eps * (1 + 1e-5) + 1e-6)
    states = torch.as_tensor(frames)
    with torch.no_grad():
        clean = critic.values(states, torch.as_tensor(policy.act(frames)))
        attacked = critic.values(states, torch.as_tensor(policy.act(perturbed)))
    assert torch.all(attacked >= clean - 1e-5)  # the unperturbed observation is one of the candidates


def test_options_and_inputs_the_attack_cannot_use_are_refused():
    critic = CostCritic(torch.nn.Linear(4, 2), gym.spaces.Discrete(2), 0.9, 0)
    with pytest.raises(InvalidValueError, match="-1"):
        CostCriticAttack(critic, eps=-1)
    with pytest.raises(InvalidValueError, match="--steps"):
        CostCriticAttack(critic, eps=0.1, steps=0)
    with pytest.raises(InvalidValueError, match="gamma"):
        fit_cost_critic(load_policy("zoo:cartpole-ppo"), CARTPOLE_COST_ID, gamma=1.0)
    with pytest.raises(UnsupportedInputError, match="TorchPolicy"):
        CostCriticAttack(critic, eps=0.1).perturb(np.zeros((1, 4), np.float32), object(), _state(1))
    stacked = _state(1)
    stacked.stack = 4
    with pytest.raises(UnsupportedInputError, match="single-frame"):
        CostCriticAttack(critic, eps=0.1).perturb(np.zeros((1, 4), np.float32), load_policy("zoo:cartpole-ppo"),
                                                  stacked)  # fmt: skip


@pytest.mark.parametrize(("agent", "env", "eps"), [("cartpole-drift-ppo-lagrangian", CARTPOLE_DRIFT_COST_ID, 0.02),
                                                   ("hydro-ppo-lagrangian", HYDRO_DISPATCH_ID, 0.2)])  # fmt: skip
def test_the_attack_drives_a_constrained_agent_over_its_cost_and_beats_random_noise(agent, env, eps):
    policy = load_policy(f"zoo:{agent}")
    critic = fit_cost_critic(policy, env, episodes=30, seed=0)
    clean = run(policy, env, 20, seed=7)
    attacked = run(policy, env, 20, seed=7, attack=CostCriticAttack(critic, eps=eps))
    noise = run(policy, env, 20, seed=7, attack=_SignNoise(eps))
    assert attacked.costs.mean() > max(clean.costs.mean(), noise.costs.mean()) + 1
    assert "CostCriticAttack(eps=" in attacked.attack


class _SignNoise(CostCriticAttack):
    """Random ±eps on every coordinate: the undirected perturbation of the same size."""

    def __init__(self, eps):
        super().__init__(CostCritic(torch.nn.Identity(), gym.spaces.Discrete(2), 0.9, 0), eps=eps)

    def perturb(self, frames, policy, state):
        return frames + self.eps * state.rng.choice([-1.0, 1.0], size=frames.shape).astype(frames.dtype)
