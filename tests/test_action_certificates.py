import numpy as np

from agents import load_policy
from certify import action_certificates
from certify.action_certificates import certified_radii, certify_actions, certify_trajectory, state_batch_size
from conftest import make_mlp_policy


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
