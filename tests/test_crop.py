import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from agents.policies import TorchModulePolicy
from certify.crop import smoothed_action_certificate, visited_state_certificate


def linear_policy(w, b, scale=1e3):
    """Hard linear classifier (huge logits): its smoothed decision boundary is its own hyperplane."""
    layer = nn.Linear(len(w), 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([w, [-x for x in w]], dtype=torch.float32) * scale)
        layer.bias.copy_(torch.tensor([b, -b], dtype=torch.float32) * scale)
    return TorchModulePolicy(
        nn.Sequential(layer), gym.spaces.Box(-np.inf, np.inf, (len(w),), np.float32), gym.spaces.Discrete(2), "logits"
    )


def test_radius_never_exceeds_the_true_distance_to_a_linear_boundary():
    """For a linear base classifier the smoothed boundary is the same hyperplane (Cohen et al. 2019),
    so the exact robust radius is the distance to it: a sound radius must not exceed it."""
    w, b = np.array([3.0, -4.0]), 0.5
    policy = linear_policy(w.tolist(), b)
    rng = np.random.default_rng(0)
    states = rng.normal(0, 0.6, size=(200, 2)).astype(np.float32)
    cert = smoothed_action_certificate(policy, states, sigma=0.25, samples=4000, alpha=0.01, seed=1)
    distance = np.abs(states @ w + b) / np.linalg.norm(w)
    assert np.all(cert.radii <= distance + 1e-6)
    # Not vacuous either: up to the cap sigma * Phi^-1(1 - margin) ~ 0.49 that m samples allow.
    far = distance > 0.3
    assert np.mean(cert.radii[far] > np.minimum(0.5 * distance[far], 0.4)) > 0.95
    expected_side = (states @ w + b < 0).astype(int)
    np.testing.assert_array_equal(cert.actions[cert.radii > 0], expected_side[cert.radii > 0])


def test_q_values_need_a_range_and_shapes_are_checked():
    q_policy = TorchModulePolicy(
        nn.Sequential(nn.Linear(2, 2)), gym.spaces.Box(-1, 1, (2,), np.float32), gym.spaces.Discrete(2), "q_values"
    )
    with pytest.raises(ValueError, match="score_range"):
        smoothed_action_certificate(q_policy, np.zeros((1, 2)), 0.1, samples=10)
    with pytest.raises(ValueError, match=r"\(states, 2\)"):
        smoothed_action_certificate(q_policy, np.zeros((1, 3)), 0.1, samples=10, score_range=(0, 1))
    with pytest.raises(ValueError, match="sigma"):
        smoothed_action_certificate(q_policy, np.zeros((1, 2)), 0.0, samples=10, score_range=(0, 1))
    cert = smoothed_action_certificate(q_policy, np.zeros((3, 2)), 0.1, samples=100, score_range=(-5, 5))
    assert cert.scores == "values" and cert.radii.shape == (3,)


def test_visited_states_of_the_zoo_ppo_agent():
    from agents import load_policy

    cert = visited_state_certificate(load_policy("zoo:cartpole5-ppo-sigma0.2"), "cartpole5", 1, 0.2, samples=500)
    assert len(cert.radii) == 200 and cert.certified_fraction(0.0) > 0.5
    findings = cert.findings([0.05, 0.1])
    assert findings[0].evidence.value == "statistical" and findings[1].params["eps"] == 0.05
