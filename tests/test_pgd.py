import gymnasium as gym
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcert.agents import load_policy
from rlcert.attacks.base import AttackState
from rlcert.attacks.pgd import FramePGD, pgd_linf
from rlcert.envs import run

torch.set_num_threads(1)


@settings(max_examples=20, deadline=None)
@given(eps=st.floats(1e-3, 0.5), seed=st.integers(0, 2**16), box=st.sampled_from([None, (0.0, 1.0)]))
def test_pgd_stays_in_its_ball_and_box_and_never_lowers_the_loss_on_a_linear_policy(eps, seed, box):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(6, 3)
    x = torch.rand(8, 6)
    moved = pgd_linf(layer, x, eps, 5, box)
    assert torch.all((moved - x).abs() <= eps + 1e-6)
    if box is not None:
        assert torch.all((moved >= 0) & (moved <= 1))
    greedy = layer(x).argmax(1)
    loss = torch.nn.functional.cross_entropy
    # a linear policy's cross-entropy is convex in the input: sign steps along its gradient cannot lower it
    assert loss(layer(moved), greedy, reduction="none").sum() >= loss(layer(x), greedy, reduction="none").sum() - 1e-5


def test_frame_pgd_moves_only_the_new_frame_and_keeps_the_history_the_agent_saw():
    policy = load_policy("zoo:cartpole5-dqn")
    state = AttackState(rng=np.random.default_rng(0), num_envs=2, stack=5, active=np.ones(2, dtype=bool))
    state.history = np.random.default_rng(1).normal(size=(2, 4, 4)).astype(np.float32)
    frames = np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32)
    attack = FramePGD(eps=0.05)
    moved = attack.perturb(frames, policy, state)
    assert np.all(np.abs(moved - frames) <= 0.05 + 1e-6) and not np.array_equal(moved, frames)


def test_frame_pgd_lowers_a_fragile_agents_return():
    policy = load_policy("zoo:cartpole5-dqn")
    clean = run(policy, "cartpole5", 10, seed=0)
    attacked = run(policy, "cartpole5", 10, seed=0, attack=FramePGD(eps=0.2))
    assert attacked.mean_return < 0.8 * clean.mean_return and "FramePGD(eps=0.2" in attacked.attack


def test_a_vector_policy_without_stacking_is_attacked_whole():
    class Linear:
        observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        action_space = gym.spaces.Discrete(2)
        module = torch.nn.Linear(4, 2)

        def scores(self, obs):
            return self.module(obs)

    state = AttackState(rng=np.random.default_rng(0), num_envs=3, stack=1, active=np.array([True, False, True]))
    frames = np.zeros((3, 4), np.float32)
    moved = FramePGD(eps=0.1, steps=4).perturb(frames, Linear(), state)
    assert np.array_equal(moved[1], frames[1]) and np.allclose(np.abs(moved[[0, 2]]), 0.1)
