"""The learned hijacker (rlcert.training.hijacker): the hijacker's episode is its hijacked steps with the frozen
policy's suffering paid at the end, and the surprise model's familiar level is its clean 95 % quantile."""

import numpy as np
import pytest
import torch

from rlcert.agents import load_policy
from rlcert.reports.errors import InvalidValueError
from rlcert.training.hijacker import HijackerConfig, HijackerEnv, fit_surprise_model, is_image_space, train_hijacker

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cartpole():
    policy = load_policy("zoo:cartpole-ppo")
    return policy, fit_surprise_model(policy, "CartPole-v1?max_steps=120", 3, seed=0)


def test_the_familiar_level_is_the_clean_95_percent_quantile(cartpole):
    policy, model = cartpole
    assert model.density.size == 3 * 120
    mean, _ = model.density.moments()
    assert model.surprise(mean) < model.familiar_level < model.surprise(mean + 10)


def test_the_hijacker_is_paid_once_what_the_policy_then_suffers(cartpole):
    policy, model = cartpole
    config = HijackerConfig(steps=4, window=6, start_range=(5, 5), objective="return-loss")
    env = HijackerEnv(policy, "CartPole-v1?max_steps=120", model, config)
    env.reset(seed=0)
    rewards = [env.step(1)[1:3] for _ in range(4)]
    assert [r for r, _ in rewards[:3]] == [0.0, 0.0, 0.0] and [d for _, d in rewards] == [False] * 3 + [True]
    assert rewards[-1][0] == pytest.approx(-5.0)  # the balanced policy earns 1 on each of the window's 5 steps
    surprise = HijackerEnv(policy, "CartPole-v1?max_steps=120", model, HijackerConfig(steps=4, window=6,
                                                                                      start_range=(5, 5)))  # fmt: skip
    surprise.reset(seed=0)
    *_, (observation, reward, done, _, info) = [surprise.step(1) for _ in range(4)]
    assert done and reward == info["suffered"] and reward >= model.surprise(observation) / 6 - 1e3


def test_training_exports_a_plain_network_over_the_observations(cartpole):
    policy, model = cartpole
    trained = train_hijacker(policy, "CartPole-v1?max_steps=120", HijackerConfig(steps=3, window=5, timesteps=600,
                             start_range=(5, 10)), model)  # fmt: skip
    assert isinstance(trained.policy.module, torch.nn.Sequential)
    assert trained.policy.act(np.zeros((2, 4), np.float32)).shape == (2,)


def test_bad_settings_are_refused():
    with pytest.raises(InvalidValueError, match="start_range must be"):
        HijackerConfig(start_range=(10, 5))
    with pytest.raises(InvalidValueError, match="objective must be one of surprise, return-loss"):
        HijackerConfig(objective="reward")


@pytest.mark.slow
def test_an_atari_hijacker_is_convolutional_and_reads_the_probes_raw_frames():
    policy = load_policy("zoo:pong-ppo")
    env = "pong?max_steps=60"
    config = HijackerConfig(steps=2, window=2, start_range=(1, 3), timesteps=64, clean_episodes=1)
    trained = train_hijacker(policy, env, config)
    assert any(isinstance(layer, torch.nn.Conv2d) for layer in trained.policy.module)
    frames = np.random.default_rng(0).random((3, 84, 84), dtype=np.float32)  # what the Hijack probe hands it
    assert trained.policy.act(frames).shape == (3,)
    assert trained.policy.observation_space.shape == (84, 84)


def test_frames_are_images_and_vectors_are_not():
    import gymnasium as gym

    assert is_image_space(gym.spaces.Box(0, 1, (84, 84))) and is_image_space(gym.spaces.Box(0, 1, (4, 84, 84)))
    assert not is_image_space(gym.spaces.Box(-1, 1, (4,))) and not is_image_space(gym.spaces.Box(0, 1, (7, 7, 3)))
    assert not is_image_space(gym.spaces.Discrete(3))
    # The smallest frame the convolutional torso maps to a feature, and one pixel less.
    assert is_image_space(gym.spaces.Box(0, 1, (20, 20))) and not is_image_space(gym.spaces.Box(0, 1, (19, 19)))
