"""Lipschitz-constrained imitation (rlcert.training.lipschitz_imitation): the certified constant of every trained
policy is at most alpha and at least what finite differences between sampled states show."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcert.agents import load_policy
from rlcert.reports.errors import InvalidValueError
from rlcert.training.demonstrations import Demonstrations, collect_demonstrations
from rlcert.training.lipschitz_imitation import LipschitzImitationConfig, project_layer, train_lipschitz_policy


@pytest.fixture(scope="module")
def cartpole():
    expert = load_policy("zoo:cartpole5-dqn")
    demos = collect_demonstrations(expert, "cartpole5?max_steps=60", 5, seed=3, expert="zoo:cartpole5-dqn")
    return demos, expert.observation_space, expert.action_space


def _empirical_lower_estimate(module, states: np.ndarray, norm: str, pairs: int = 4000) -> float:
    """max ||f(x) - f(y)|| / ||x - y|| over random pairs of states and of states with a small random step."""
    rng = np.random.default_rng(0)
    x = torch.as_tensor(states[rng.integers(len(states), size=pairs)])
    y = torch.cat([torch.as_tensor(states[rng.integers(len(states), size=pairs // 2)]),
                   x[: pairs // 2] + 1e-3 * torch.randn_like(x[: pairs // 2])])  # fmt: skip
    order = 2 if norm == "2" else float("inf")
    with torch.no_grad():
        top = torch.linalg.vector_norm(module(x) - module(y), ord=order, dim=1)
    bottom = torch.linalg.vector_norm((x - y).flatten(1), ord=order, dim=1)
    keep = bottom > 1e-9
    return float((top[keep] / bottom[keep]).max())


@pytest.mark.parametrize(
    "method, norm", [("projection", "2"), ("projection", "inf"), ("spectral-norm", "2"), ("orthogonal", "2")]
)
@pytest.mark.parametrize("alpha", [0.5, 4.0])
def test_the_certified_constant_lies_between_the_sampled_ratios_and_alpha(cartpole, method, norm, alpha):
    demos, observation_space, action_space = cartpole
    config = LipschitzImitationConfig(alpha=alpha, norm=norm, method=method, hidden=(32, 32), epochs=8)
    trained = train_lipschitz_policy(demos, config, observation_space, action_space)
    module = trained.policy.module
    assert isinstance(module, torch.nn.Sequential)
    assert {type(layer).__name__ for layer in module} == {"Flatten", "Linear", "ReLU"}
    lower = _empirical_lower_estimate(module, demos.states, norm)
    assert 0 < lower <= trained.certified_constant <= alpha * (1 + 1e-6)
    assert 0 <= trained.training_error <= 1
    findings = {f.name: f for f in trained.findings()}
    assert findings["certified_lipschitz_constant"].evidence.value == "sound"
    assert np.array_equal(trained.policy.act(demos.states[:50]), module(torch.as_tensor(demos.states[:50])).argmax(1))


def test_a_loose_bound_imitates_the_expert_and_the_same_seed_gives_the_same_weights(cartpole):
    demos, observation_space, action_space = cartpole
    config = LipschitzImitationConfig(alpha=1000.0, hidden=(32, 32), epochs=40, learning_rate=1e-2)
    first, second = (train_lipschitz_policy(demos, config, observation_space, action_space) for _ in range(2))
    assert first.training_error < 0.1
    for a, b in zip(first.policy.module.state_dict().values(), second.policy.module.state_dict().values()):
        assert torch.equal(a, b)


def test_continuous_actions_fit_by_squared_error_with_the_bound_holding():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(400, 3)).astype(np.float32)
    actions = (states @ np.array([[4.0], [0.0], [-2.0]], dtype=np.float32)).clip(-2, 2)  # Lipschitz sqrt(20)
    demos = Demonstrations(states, actions, np.array([400]), "by hand", "Pendulum-v1", 0, 0.0)
    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    trained = train_lipschitz_policy(demos, LipschitzImitationConfig(alpha=1.0, epochs=20),
                                     gym.spaces.Box(-np.inf, np.inf, (3,), np.float32), space)  # fmt: skip
    assert trained.certified_constant <= 1.0 + 1e-6 and trained.training_error > 0.5  # alpha 1 cannot follow it
    assert trained.policy.act(states[:4]).shape == (4, 1)


def test_projection_is_exact_and_leaves_a_feasible_layer_alone():
    layer = torch.nn.Linear(5, 4)
    torch.nn.init.normal_(layer.weight, std=3.0)
    project_layer(layer, 0.7, "2")
    assert float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) == pytest.approx(0.7, rel=1e-5)
    before = layer.weight.clone()
    project_layer(layer, 0.7, "2")
    assert torch.allclose(layer.weight, before, atol=1e-6)
    torch.nn.init.normal_(layer.weight, std=3.0)
    project_layer(layer, 0.7, "inf")
    assert float(layer.weight.detach().abs().sum(1).max()) == pytest.approx(0.7, rel=1e-6)


def test_bad_settings_are_refused_in_one_line(cartpole):
    with pytest.raises(InvalidValueError, match="--alpha must be a finite number > 0, got 0"):
        LipschitzImitationConfig(alpha=0)
    with pytest.raises(InvalidValueError, match="bounds the l2 operator norm only"):
        LipschitzImitationConfig(alpha=1, method="spectral-norm", norm="inf")
    with pytest.raises(InvalidValueError, match="method must be one of projection, spectral-norm"):
        LipschitzImitationConfig(alpha=1, method="torchlip")
    demos, observation_space, _ = cartpole
    with pytest.raises(InvalidValueError, match="hold discrete actions but the action space is Box"):
        train_lipschitz_policy(demos, LipschitzImitationConfig(alpha=1), observation_space,
                               gym.spaces.Box(-1.0, 1.0, (1,), np.float32))  # fmt: skip
