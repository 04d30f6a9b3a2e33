import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from conftest import make_mlp_policy
from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.policies import TorchModulePolicy


def test_save_and_load_round_trip(tmp_path):
    policy = make_mlp_policy()
    policy.save(tmp_path / "w.pt", tmp_path / "w.json")
    import json

    loaded = TorchModulePolicy.from_architecture(json.loads((tmp_path / "w.json").read_text()), tmp_path / "w.pt")
    obs = np.random.default_rng(0).normal(size=(32, 5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs), policy.act(obs))
    assert loaded.fingerprint == policy.fingerprint


def test_half_precision_weights_load_as_float32(tmp_path):
    policy = make_mlp_policy()
    policy.save(tmp_path / "w.pt", tmp_path / "w.json", half=True)
    import json

    loaded = TorchModulePolicy.from_architecture(json.loads((tmp_path / "w.json").read_text()), tmp_path / "w.pt")
    assert all(p.dtype == torch.float32 for p in loaded.module.parameters())


def test_continuous_actions_are_clipped_or_rescaled():
    box = gym.spaces.Box(np.array([-2.0], dtype=np.float32), np.array([2.0], dtype=np.float32))
    obs_space = gym.spaces.Box(-1, 1, (3,), np.float32)
    big = nn.Sequential(nn.Linear(3, 1))
    nn.init.constant_(big[0].weight, 10.0)
    policy = TorchModulePolicy(big, obs_space, box, "action_mean")
    assert policy.act(np.ones((1, 3), np.float32))[0, 0] == 2.0
    squashed = TorchModulePolicy(nn.Sequential(nn.Linear(3, 1), nn.Tanh()), obs_space, box, "squashed_action")
    out = squashed.act(np.ones((4, 3), np.float32))
    assert out.shape == (4, 1) and np.all(np.abs(out) <= 2.0)


def test_output_kind_must_fit_the_action_space():
    with pytest.raises(ValueError, match="does not fit"):
        TorchModulePolicy(nn.Linear(2, 2), gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(2), "action_mean")
    with pytest.raises(ValueError, match="output must be one of"):
        TorchModulePolicy(nn.Linear(2, 2), gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(2), "values")


def test_act_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(batch, 5, 4\)"):
        make_mlp_policy().act(np.zeros((2, 4), np.float32))


def test_a_network_that_cannot_process_its_observations_fails_at_load(tmp_path):
    policy = make_mlp_policy()
    arch = policy.architecture()
    policy.save(tmp_path / "w.pt", tmp_path / "w.json")
    arch["action_space"] = {"type": "discrete", "n": 3}
    with pytest.raises(PolicyLoadError, match="outputs"):
        TorchModulePolicy.from_architecture(arch, tmp_path / "w.pt")


def test_nan_observations_are_refused():
    obs = np.zeros((3, 5, 4), np.float32)
    obs[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf \(batch rows \[1\]\)"):
        make_mlp_policy().act(obs)


def _logit_policy(logits) -> TorchModulePolicy:
    """A policy whose logits are the same fixed vector for every observation."""
    layer = nn.Linear(3, len(logits))
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor(logits, dtype=torch.float32))
    return TorchModulePolicy(layer, gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(len(logits)), "logits")


def test_sampled_actions_follow_the_softmax_of_the_logits_and_the_generator():
    logits = [0.0, np.log(3.0), -np.inf]  # probabilities 1/4, 3/4, 0
    policy = _logit_policy(logits)
    obs = np.zeros((20_000, 3), np.float32)
    drawn = policy.sample(obs, np.random.default_rng(0))
    counts = np.bincount(drawn, minlength=3) / len(obs)
    assert counts[2] == 0 and abs(counts[1] - 0.75) < 0.015  # 5 standard deviations of 20,000 draws
    np.testing.assert_array_equal(drawn, policy.sample(obs, np.random.default_rng(0)))
    assert not np.array_equal(drawn, policy.sample(obs, np.random.default_rng(1)))
    np.testing.assert_array_equal(policy.act(obs[:5]), [1] * 5)  # greedy stays the argmax


def test_sampling_needs_logits():
    policy = make_mlp_policy()  # Q-values: no distribution
    assert not policy.samples_actions
    with pytest.raises(ValueError, match="q_values, not logits"):
        policy.sample(np.zeros((1, 5, 4), np.float32), np.random.default_rng(0))


def test_wrapping_a_module_leaves_the_callers_module_as_it_was():
    # A user wraps the module they are training: its mode, its trainable flags, its batch-norm statistics
    # and its gradients must come back unchanged, and act must still be deterministic (dropout off,
    # batch norm on its running statistics) inside the policy.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    net[1].eval()  # a mixed-mode module: every flag must come back as it was, not be set wholesale
    modes = [m.training for m in net.modules()]
    statistics = {k: v.clone() for k, v in net.state_dict().items()}
    policy = TorchModulePolicy(net, gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2), "logits")
    obs = np.random.default_rng(0).normal(size=(250, 3)).astype(np.float32)
    np.testing.assert_array_equal(policy.act(obs), policy.act(obs))
    x = torch.as_tensor(obs).requires_grad_(True)
    scores = policy.scores(x)
    torch.testing.assert_close(scores, policy.scores(x))
    scores.sum().backward()
    assert x.grad is not None
    assert [m.training for m in net.modules()] == modes
    assert all(p.requires_grad and p.grad is None for p in net.parameters())
    assert all(torch.equal(v, statistics[k]) for k, v in net.state_dict().items())
    # What the policy computes is the eval-mode network, frozen when it was wrapped.
    with torch.no_grad():
        expected = net.eval()(torch.as_tensor(obs))
    torch.testing.assert_close(policy.scores(torch.as_tensor(obs)), expected)
    assert not policy.module.training and not any(p.requires_grad for p in policy.module.parameters())
