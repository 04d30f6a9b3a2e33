import numpy as np
import pytest

from conftest import make_mlp_policy
from rlcert.agents import load_policy
from rlcert.certify import action_certificates
from rlcert.certify.action_certificates import (
    certified_radii,
    certify_actions,
    certify_episodes,
    certify_trajectory,
    state_batch_size,
)
from rlcert.envs.rollout import run
from rlcert.reports.errors import InvalidValueError


def test_no_sampled_perturbation_changes_a_certified_action():
    policy = make_mlp_policy(obs_shape=(4,), n_actions=3, hidden=16, seed=2)
    rng = np.random.default_rng(0)
    states = rng.normal(size=(64, 4)).astype(np.float32)
    cert = certify_actions(policy, states, 0.05, "inf", "crown")
    assert 0 < cert.certified.sum()
    for i in np.flatnonzero(cert.certified):
        noise = rng.uniform(-0.05, 0.05, size=(500, 4)).astype(np.float32)
        assert np.all(policy.act(states[i] + noise) == cert.actions[i])


def test_radii_are_certified_and_grow_with_the_method():
    policy = make_mlp_policy(obs_shape=(4,), n_actions=2, hidden=16, seed=5)
    states = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    ibp = certified_radii(policy, states, method="ibp", max_eps=2.0)
    crown = certified_radii(policy, states, method="crown", max_eps=2.0)
    assert np.all(crown >= ibp - 2.0 / 2**12)
    positive = crown > 0
    assert certify_actions(policy, states[positive], float(crown[positive].min()), method="crown").certified.all()


def test_trajectory_certificate_of_the_zoo_agent():
    policy = load_policy("zoo:cartpole5-dqn")
    tiny = certify_trajectory(policy, "cartpole5?max_steps=40", 1e-5, seed=0)
    assert tiny.sound and tiny.clean_return == 40.0 and tiny.certified_steps == 40
    assert [f.name for f in tiny.findings()] == ["certified_step_fraction", "certified_episode_return"]
    assert all(f.evidence.value == "sound" for f in tiny.findings())
    large = certify_trajectory(policy, "cartpole5?max_steps=40", 0.5, seed=0)
    assert not large.sound and large.first_uncertified_step is not None
    assert [f.name for f in large.findings()] == ["certified_step_fraction"]


def test_image_observations_are_bounded_in_small_batches_with_the_same_results(monkeypatch):
    assert state_batch_size(np.zeros((500, 4, 84, 84))) == 9 and state_batch_size(np.zeros((500, 5, 4))) == 256
    policy = make_mlp_policy(obs_shape=(4,), n_actions=3, hidden=16, seed=2)
    states = np.random.default_rng(3).normal(size=(37, 4)).astype(np.float32)
    whole = certified_radii(policy, states, max_eps=2.0, iterations=8)
    fractions = certify_actions(policy, states, 0.05).margins
    monkeypatch.setattr(action_certificates, "_BATCH_INPUT_FLOATS", 20)  # 5 states per batch
    assert state_batch_size(states) == 5
    assert np.array_equal(certified_radii(policy, states, max_eps=2.0, iterations=8), whole)
    assert np.allclose(certify_actions(policy, states, 0.05).margins, fractions, atol=1e-6)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"iterations": 0}, "iterations must be an integer >= 1"),
        ({"iterations": 2.5}, "iterations must be an integer >= 1"),
        ({"max_eps": 0.0}, "max_eps must be a finite number > 0"),
        ({"max_eps": float("nan")}, "max_eps must be a finite number > 0"),
        ({"norm": "1"}, "norm must be 'inf' or '2'"),
        ({"method": "exact"}, "unknown method 'exact'"),
        ({"low": 1.0, "high": 0.0}, "low must be below high"),
    ],
)
def test_radius_options_out_of_range_are_refused(options, message):
    """Issue 19: --radius-iterations 0 reported radius 0 at every state while most were certified."""
    policy = make_mlp_policy(obs_shape=(4,), n_actions=2, hidden=8, seed=1)
    with pytest.raises(InvalidValueError, match=message):
        certified_radii(policy, np.zeros((2, 4), np.float32), **options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"eps": -0.1}, "eps must be a finite number >= 0"),
        ({"eps": float("inf")}, "eps must be a finite number >= 0"),
        ({"batch": 0}, "batch must be an integer >= 1"),
        ({"norm": "l2"}, "norm must be 'inf' or '2'"),
        ({"method": "crown-ibp"}, "unknown method 'crown-ibp'"),
        ({"alpha_steps": -1, "method": "alpha-crown"}, "alpha_steps must be an integer >= 0"),
        ({"alpha_lr": 0.0, "method": "alpha-crown"}, "alpha_lr must be a finite number > 0"),
    ],
)
def test_action_certificate_options_out_of_range_are_refused(options, message):
    policy = make_mlp_policy(obs_shape=(4,), n_actions=2, hidden=8, seed=1)
    with pytest.raises(InvalidValueError, match=message):
        certify_actions(policy, np.zeros((2, 4), np.float32), **{"eps": 0.1, **options})


def test_recorded_episodes_are_certified_as_the_single_episode_runs_are():
    """``certify_episodes`` certifies the episodes the rollout engine ran (one seeding scheme): its
    certificate of a one-episode run is ``certify_trajectory``'s, and each names its episode."""
    policy = load_policy("zoo:cartpole5-dqn")
    env = "cartpole5?max_steps=20"
    episodes = run(policy, env, 3, seed=4, record_steps=True)
    certificates = certify_episodes(policy, episodes, 1e-4)
    assert [c.episode for c in certificates] == [0, 1, 2] and {c.seed for c in certificates} == {4}
    assert [c.clean_return for c in certificates] == list(episodes.returns)
    assert all(c.sound for c in certificates)
    single = certify_trajectory(policy, env, 1e-4, seed=4)
    assert single == certify_episodes(policy, run(policy, env, 1, seed=4, record_steps=True), 1e-4)[0]


def test_only_recorded_clean_greedy_episodes_can_be_certified():
    from rlcert.attacks.smoothing import GaussianSmoothing

    policy = load_policy("zoo:cartpole5-dqn")
    env = "cartpole5?max_steps=5"
    with pytest.raises(InvalidValueError, match="record_steps=True"):
        certify_episodes(policy, run(policy, env, 1), 0.01)
    smoothed = run(policy, env, 1, defense=GaussianSmoothing(0.1), record_steps=True)
    with pytest.raises(InvalidValueError, match="clean episodes"):
        certify_episodes(policy, smoothed, 0.01)
