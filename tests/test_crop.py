import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from rlcert.agents.policies import TorchModulePolicy
from rlcert.certify.crop import smoothed_action_certificate, visited_state_certificate


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
    from rlcert.agents import load_policy

    cert = visited_state_certificate(load_policy("zoo:cartpole5-ppo-sigma0.2"), "cartpole5", 1, 0.2, samples=500)
    assert len(cert.radii) == 200 and cert.certified_fraction(0.0) > 0.5
    findings = cert.findings([0.05, 0.1])
    assert findings[0].evidence.value == "statistical" and findings[1].params["eps"] == 0.05


def q_value_policy():
    return TorchModulePolicy(
        nn.Sequential(nn.Linear(2, 2)), gym.spaces.Box(-1, 1, (2,), np.float32), gym.spaces.Discrete(2), "q_values"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sigma": -1.0}, "sigma"),
        ({"sigma": float("nan")}, "sigma"),
        ({"samples": 0}, "samples must be an integer >= 1 (noise samples per state), got 0"),
        ({"samples": 2.5}, "samples"),
        ({"alpha": 1.0}, "alpha"),
        ({"alpha": 0.0}, "alpha"),
        ({"score_range": (1.0, 1.0)}, "score_range"),
        ({"score_range": (0.0, float("inf"))}, "score_range"),
        ({"score_range": (float("nan"), 1.0)}, "score_range"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
    ],
)
def test_nonsense_parameters_are_refused_with_the_value_and_the_valid_range(options, message):
    from rlcert.reports.errors import InvalidValueError

    arguments = {"sigma": 0.1, "samples": 10, "score_range": (0.0, 1.0), **options}
    with pytest.raises(InvalidValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        smoothed_action_certificate(q_value_policy(), np.zeros((2, 2)), **arguments)


def test_observations_must_be_finite_and_not_empty():
    from rlcert.reports.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match="NaN or inf"):
        smoothed_action_certificate(q_value_policy(), np.array([[0.0, np.nan]]), 0.1, 10, score_range=(0, 1))
    with pytest.raises(InvalidValueError, match="at least one state"):
        smoothed_action_certificate(q_value_policy(), np.zeros((0, 2)), 0.1, 10, score_range=(0, 1))


@pytest.mark.parametrize("eps", [-1.0, 0.0, float("nan"), float("inf")])
def test_findings_refuse_a_radius_that_is_not_finite_and_positive(eps):
    from rlcert.certify.crop import check_eps_values
    from rlcert.reports.errors import InvalidValueError

    cert = smoothed_action_certificate(q_value_policy(), np.zeros((3, 2)), 0.1, samples=20, score_range=(-5, 5))
    with pytest.raises(InvalidValueError, match=r"eps values must be finite and > 0"):
        cert.findings([0.1, eps])
    with pytest.raises(InvalidValueError, match=r"eps values must be finite and > 0"):
        check_eps_values([eps])
    with pytest.raises(InvalidValueError, match="eps must be finite and >= 0"):
        cert.certified_fraction(-1.0)
    assert check_eps_values([0.05, 1]) == (0.05, 1.0)


def test_visited_state_parameters_are_checked_before_any_episode_runs(monkeypatch):
    import rlcert.envs.rollout as rollout
    from rlcert.agents import load_policy
    from rlcert.reports.errors import InvalidValueError

    def no_rollout(*args, **kwargs):
        raise AssertionError("an episode ran before the parameters were checked")

    monkeypatch.setattr(rollout, "run", no_rollout)
    policy = load_policy("zoo:cartpole5-ppo-sigma0.2")
    for bad in ({"samples": 0}, {"alpha": 2.0}, {"seed": -3}, {"score_range": (2.0, 1.0)}):
        with pytest.raises(InvalidValueError):
            visited_state_certificate(policy, "cartpole5", 1, 0.2, **bad)
    with pytest.raises(InvalidValueError, match="sigma"):
        visited_state_certificate(policy, "cartpole5", 1, -0.2)
    with pytest.raises(InvalidValueError, match="episodes"):
        visited_state_certificate(policy, "cartpole5", 0, 0.2)


def boundary_states(count, seed=0):
    """States near the linear policy's boundary, where a radius is positive but well below its cap."""
    return np.random.default_rng(seed).normal(0, 0.15, size=(count, 2)).astype(np.float32)


def test_a_states_radius_depends_only_on_its_own_noise():
    """Each state draws its noise from its own SeedSequence child: certifying more states after it, or
    splitting the work differently, cannot change its radius (issue 19: radii moved with batch_rows)."""
    policy = linear_policy([3.0, -4.0], 0.5)
    states = boundary_states(9)
    alone = smoothed_action_certificate(policy, states[:5], sigma=0.25, samples=1001, seed=3)
    together = smoothed_action_certificate(policy, states, sigma=0.25, samples=1001, seed=3)
    assert np.count_nonzero(alone.radii) >= 3
    np.testing.assert_array_equal(together.radii[:5], alone.radii)
    np.testing.assert_array_equal(together.actions[:5], alone.actions)


def test_radii_do_not_depend_on_how_the_noise_is_split_into_forward_passes(monkeypatch):
    """The rows per forward pass (a memory bound set from the observation size) change neither the noise
    draws nor the radii: pieces of 1, 7 and all 1001 rows per state give the same radii."""
    from rlcert.certify import crop

    policy = make_mlp_logit_policy()
    states = np.random.default_rng(4).normal(size=(6, 4)).astype(np.float32)
    default = smoothed_action_certificate(policy, states, sigma=0.3, samples=1001, seed=5)
    assert np.all(default.radii > 0.2)
    assert crop.forward_rows(states.shape[1:], 1001) == 1001
    for budget in (4, 28):  # 1 and 7 rows of 4 floats per forward pass
        monkeypatch.setattr(crop, "_FORWARD_INPUT_FLOATS", budget)
        assert crop.forward_rows(states.shape[1:], 1001) == budget // 4
        split = smoothed_action_certificate(policy, states, sigma=0.3, samples=1001, seed=5)
        np.testing.assert_array_equal(split.actions, default.actions)
        # The noise is identical (a changed draw moves a radius by ~1e-3); a BLAS kernel may round a 1-row
        # product differently in the last bit, which is why the split is fixed by the observation size.
        np.testing.assert_allclose(split.radii, default.radii, rtol=0, atol=1e-6)


def make_mlp_logit_policy():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        module[2].weight.mul_(30)  # confident logits: radii well above 0
    return TorchModulePolicy(
        module, gym.spaces.Box(-np.inf, np.inf, (4,), np.float32), gym.spaces.Discrete(3), "logits"
    )


def test_the_noise_of_visited_states_is_a_child_of_the_run_seed_not_the_episodes_stream(monkeypatch):
    """The episodes use the run's seed; the CROP noise a SeedSequence child of it, never the same seed."""
    from rlcert.agents import load_policy
    from rlcert.certify import crop

    seeds = []
    real = crop.smoothed_action_certificate

    def spy(*args, **kwargs):
        seeds.append(kwargs["seed"])
        return real(*args, **kwargs)

    monkeypatch.setattr(crop, "smoothed_action_certificate", spy)
    policy = load_policy("zoo:cartpole5-ppo-sigma0.2")
    crop.visited_state_certificate(policy, "cartpole5?max_steps=10", 1, 0.2, seed=0, samples=50)
    crop.visited_state_certificate(policy, "cartpole5?max_steps=10", 1, 0.2, seed=1, samples=50)
    assert seeds[0] not in (0, 1) and seeds[1] not in (0, 1) and seeds[0] != seeds[1]
