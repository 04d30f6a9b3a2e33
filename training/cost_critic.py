"""Fitted Q evaluation of a policy's constraint cost: the critic that steers ``rlcert.attacks.cost_critic``.

Q_c(s, a) of a fixed policy π is learnt by fitted Q evaluation (Le, Voloshin & Yue 2019, "Batch Policy Learning
under Constraints", §3): on transitions (s, a, c, s') of π with ε-random actions — so that every action is seen
in the regions π visits — each round freezes the targets c + γ Q_c(s', π(s')) (truncated episodes bootstrapped,
terminated ones not) and fits the network to them by a fixed number of minibatch steps.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.attacks.base import Policy
from rlcert.attacks.cost_critic import CostCritic
from rlcert.envs.factory import make_env
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite

__all__ = ["fit_cost_critic"]


def _network(inputs: int, outputs: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, outputs))  # fmt: skip


COST_SOURCES = ("info", "negative-reward")


def _transitions(
    policy: Policy, env_spec: str, episodes: int, exploration: float, seed: np.random.SeedSequence, cost: str
):
    """(s, a, c, s', terminal) of ``episodes`` episodes of the policy with ε-random actions; c is ``info['cost']``
    or minus the reward (``cost``)."""
    env = make_env(env_spec)
    env_seeds, action_seq = seed.spawn(2)
    rng = np.random.default_rng(action_seq)
    env.action_space.seed(int(action_seq.generate_state(1)[0]))
    rows: list[tuple] = []
    try:
        for reset_seed in env_seeds.generate_state(episodes):
            obs, _ = env.reset(seed=int(reset_seed))
            while True:
                action = policy.act(obs[None])[0]
                if rng.random() < exploration:
                    action = env.action_space.sample()
                next_obs, reward, terminated, truncated, info = env.step(action)
                if cost == "negative-reward":
                    step_cost = -float(reward)
                elif "cost" in info:
                    step_cost = float(info["cost"])
                else:
                    raise InvalidValueError(f"{env_spec} reports no cost (info['cost']): no cost critic can be fitted")
                rows.append((obs, action, step_cost, next_obs, terminated))
                if terminated or truncated:
                    break
                obs = next_obs
    finally:
        env.close()
    obs, actions, costs, next_obs, terminal = zip(*rows)
    as_tensor = lambda x: torch.as_tensor(np.asarray(x), dtype=torch.float32)  # noqa: E731
    return as_tensor(obs), np.asarray(actions), as_tensor(costs), as_tensor(next_obs), as_tensor(terminal)


def fit_cost_critic(
    policy: Policy,
    env_spec: str,
    episodes: int = 100,
    seed: int | np.random.SeedSequence = 0,
    gamma: float = 0.99,
    exploration: float = 0.2,
    rounds: int = 50,
    steps_per_round: int = 100,
    hidden: int = 64,
    cost: str = "info",
) -> CostCritic:
    """Q_c of ``policy`` on ``env_spec`` by fitted Q evaluation (module docstring) on ``episodes`` episodes.

    ``cost`` is what each step costs: ``info`` (the env's constraint cost, ``info['cost']``) or
    ``negative-reward`` (minus the reward: Q_c is then the policy's negated Q-function, and an attack that
    raises it lowers the return, the episode cost of Al Makdah et al. 2022)."""
    if cost not in COST_SOURCES:
        raise InvalidValueError(f"cost must be one of {', '.join(COST_SOURCES)}, got {cost!r}")
    check_count("episodes", episodes)
    check_finite("gamma", gamma, 0)
    if not 0 <= gamma < 1:
        raise InvalidValueError(f"gamma must be in [0, 1), got {gamma!r}")
    if not 0 <= exploration <= 1:
        raise InvalidValueError(f"exploration must be in [0, 1], got {exploration!r}")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    data_seq, init_seq = seq.spawn(2)
    obs, actions, costs, next_obs, terminal = _transitions(policy, env_spec, episodes, exploration, data_seq, cost)
    space = policy.action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    width = int(np.prod(obs.shape[1:]))
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(int(init_seq.generate_state(1)[0]))
    try:
        inputs, outputs = (width, int(space.n)) if discrete else (width + int(np.prod(space.shape)), 1)
        module = _network(inputs, outputs, hidden)
        critic = CostCritic(module, space, float(gamma), len(costs))
        next_actions = policy.act(next_obs.numpy())
        taken = torch.as_tensor(actions, dtype=torch.long if discrete else torch.float32)
        following = torch.as_tensor(next_actions, dtype=torch.long if discrete else torch.float32)
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        batch = 256
        for _ in range(rounds):
            with torch.no_grad():  # the frozen targets of this round
                if discrete:
                    ahead = critic.values(next_obs).gather(1, following[:, None]).squeeze(1)
                else:
                    ahead = critic.values(next_obs, following)
                targets = costs + gamma * (1 - terminal) * ahead
            # A fixed number of minibatch steps per round, however many transitions there are: a short-episode
            # task (12 hydro stages) gives few transitions, and a pass or two over them leaves the critic unfit.
            for _ in range(steps_per_round):
                rows = torch.randint(len(costs), (batch,))
                if discrete:
                    predicted = critic.values(obs[rows]).gather(1, taken[rows, None]).squeeze(1)
                else:
                    predicted = critic.values(obs[rows], taken[rows])
                loss = nn.functional.mse_loss(predicted, targets[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    finally:
        torch.random.set_rng_state(torch_state)
    module.eval().requires_grad_(False)
    return critic
