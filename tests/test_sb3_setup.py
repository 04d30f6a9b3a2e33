import json

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from rlcert.agents.loading import load_policy  # noqa: E402
from rlcert.agents.recipes import ZooRecipe, recipe  # noqa: E402
from rlcert.agents.sb3_setup import (  # noqa: E402
    HalfPrecisionNStepReplayBuffer,
    HalfPrecisionReplayBuffer,
    load_sequential_into_model,
    replay_buffer_class,
    training_env,
)
from rlcert.agents.training import train_zoo_agent  # noqa: E402


def test_the_half_precision_buffer_keeps_frames_to_half_a_grey_level_and_noise_unclipped():
    space = gym.spaces.Box(0.0, 1.0, (4, 84, 84), dtype=np.float32)
    buffer = HalfPrecisionReplayBuffer(
        8, space, gym.spaces.Discrete(3), optimize_memory_usage=True, handle_timeout_termination=False
    )
    assert buffer.observations.dtype == np.float16 and buffer.observations.nbytes == 8 * 4 * 84 * 84 * 2
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (1, 4, 84, 84)).astype(np.float32) / 255 for _ in range(6)]
    frames[3] = frames[3] + rng.normal(0.0, 0.5, frames[3].shape).astype(np.float32)  # noisy, outside [0, 1]
    for obs, next_obs in zip(frames, frames[1:]):
        buffer.add(obs, next_obs, np.array([1]), np.array([1.0]), np.array([False]), [{}])
    samples = buffer._get_samples(np.arange(5))
    assert samples.observations.dtype == samples.next_observations.dtype == torch.float32
    stored = samples.observations.numpy()
    expected = np.concatenate(frames[:5])
    assert np.abs(stored - expected).max() <= 1e-3 * np.abs(expected).max()
    assert np.abs(stored[:3] - expected[:3]).max() <= 2.5e-4 and stored.min() < 0 and stored.max() > 1
    np.testing.assert_allclose(samples.next_observations.numpy(), np.concatenate(frames[1:6]), atol=2e-3)


def test_the_half_precision_n_step_buffer_sums_discounted_rewards_up_to_the_episode_end():
    space = gym.spaces.Box(0.0, 1.0, (2, 3), dtype=np.float32)
    buffer = HalfPrecisionNStepReplayBuffer(
        16, space, gym.spaces.Discrete(3), handle_timeout_termination=False, n_steps=3, gamma=0.5
    )
    assert buffer.observations.dtype == buffer.next_observations.dtype == np.float16
    frames = [np.full((1, 2, 3), k / 255, dtype=np.float32) for k in range(7)]
    rewards, dones = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0], [False, False, False, True, False, False]
    for k in range(6):
        buffer.add(frames[k], frames[k + 1], np.array([0]), np.array([rewards[k]]), np.array([dones[k]]), [{}])
    samples = buffer._get_samples(np.array([0, 2]))
    # From step 0: 1 + 2/2 + 4/4 = 3, bootstrapped from frame 3 with 0.5^3; from step 2: 4 + 8/2 = 8, ending.
    np.testing.assert_allclose(samples.rewards.numpy().ravel(), [3.0, 8.0])
    np.testing.assert_allclose(samples.discounts.numpy().ravel(), [0.125, 0.25])
    np.testing.assert_allclose(samples.dones.numpy().ravel(), [0.0, 1.0])
    assert samples.next_observations.dtype == torch.float32
    np.testing.assert_allclose(samples.next_observations.numpy()[:, 0, 0], [3 / 255, 4 / 255], atol=2.5e-4)


def test_atari_dqn_recipes_get_the_half_precision_buffer_and_others_do_not():
    assert replay_buffer_class(recipe("freeway-dqn")) == {"replay_buffer_class": HalfPrecisionNStepReplayBuffer}
    one_step = ZooRecipe(
        "one-step",
        "freeway",
        "dqn",
        10,
        {"replay_buffer_kwargs": {"handle_timeout_termination": False}},
        network="atari-cnn",
    )
    assert replay_buffer_class(one_step) == {"replay_buffer_class": HalfPrecisionReplayBuffer}
    assert replay_buffer_class(recipe("pong-ppo")) == {} and replay_buffer_class(recipe("cartpole5-dqn")) == {}


def test_the_atari_training_env_clips_rewards_and_records_the_raw_game_return():
    tiny = ZooRecipe("tiny", "pong?max_steps=40", "ppo", 64, network="atari-cnn", n_envs=2)
    env = training_env(tiny, seed=0)
    env.reset()
    finished = []
    for _ in range(40):
        _, rewards, _, infos = env.step(np.zeros(2, dtype=int))
        assert set(np.unique(rewards)) <= {-1.0, 0.0, 1.0}
        finished += [info["game_episode"] for info in infos if "game_episode" in info]
    env.close()
    assert len(finished) == 2 and all(episode["length"] == 40 for episode in finished)


@pytest.mark.parametrize("n_steps", [1, 3])
def test_a_tiny_atari_dqn_run_writes_a_loadable_cnn_agent(tmp_path, n_steps):
    buffer = {"handle_timeout_termination": False} | ({"n_steps": n_steps} if n_steps > 1 else {})
    hyper = {"buffer_size": 300, "learning_starts": 64, "batch_size": 8, "train_freq": 4,
             "optimize_memory_usage": n_steps == 1, "replay_buffer_kwargs": buffer}  # fmt: skip
    tiny = ZooRecipe("tiny", "pong?max_steps=64", "dqn", 192, hyper, (), network="atari-cnn", eval_every=96,
                     eval_episodes=1, final_episodes=2, finalists=2, min_score=-21)  # fmt: skip
    meta = train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=tmp_path / "run")  # checks SB3 == converted
    assert meta["algorithm"] == "DQN" and len(meta["training"]["finalists"]) == 2
    optimizer = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["optimizer"]
    assert optimizer["param_groups"][0]["fused"]  # DQN's frequent Adam steps take the fused kernel
    architecture = tmp_path / "architecture.json"
    architecture.write_text(json.dumps(meta["architecture"]))
    policy = load_policy(tmp_path / "weights.pt", architecture=architecture)
    assert policy.observation_space.shape == (4, 84, 84)
    assert policy.act(np.zeros((2, 4, 84, 84), dtype=np.float32)).shape == (2,)


def _fresh_model(recipe_name: str, net_arch: tuple[int, ...]):
    import stable_baselines3 as sb3

    base = recipe(recipe_name)
    env = training_env(base, seed=0)
    algorithm = {"dqn": sb3.DQN, "ppo": sb3.PPO}[base.algorithm]
    return algorithm("MlpPolicy", env, seed=1, policy_kwargs={"net_arch": list(net_arch)}, verbose=0)


def test_a_stored_policy_loaded_into_a_fresh_model_acts_like_the_stored_one():
    stored = load_policy("zoo:cartpole5-dqn")
    model = _fresh_model("cartpole5-dqn", (256, 256))
    observations = np.random.default_rng(0).normal(size=(64, 5, 4)).astype(np.float32)
    assert not np.array_equal(model.predict(observations, deterministic=True)[0], stored.act(observations))
    load_sequential_into_model(model, stored)
    assert np.array_equal(model.predict(observations, deterministic=True)[0], stored.act(observations))
    for online, target in zip(model.q_net.parameters(), model.q_net_target.parameters()):
        assert torch.equal(online, target)  # the target network starts from the same weights


def test_a_stored_policy_of_another_network_is_refused():
    with pytest.raises(ValueError, match="does not fit the model being trained"):
        load_sequential_into_model(_fresh_model("cartpole5-dqn", (64,)), load_policy("zoo:cartpole5-dqn"))
    with pytest.raises(ValueError, match="does not fit"):  # logits into a Q-network
        load_sequential_into_model(_fresh_model("cartpole5-dqn", (64, 64)), load_policy("zoo:cartpole-ppo"))


def test_a_tiny_atari_ppo_run_trains_with_channels_last_weights_and_ships_contiguous_ones(tmp_path):
    tiny = ZooRecipe("tiny", "boxing?max_steps=48", "ppo", 128, {"n_steps": 32, "batch_size": 32}, (),
                     network="atari-cnn", n_envs=2, eval_every=64, eval_episodes=1, final_episodes=2)  # fmt: skip
    meta = train_zoo_agent(tiny, tmp_path, verbose=False, run_dir=tmp_path / "run")  # checks SB3 == converted
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["policy"]
    assert not state["features_extractor.cnn.0.weight"].is_contiguous()  # trained channels-last
    architecture = tmp_path / "architecture.json"
    architecture.write_text(json.dumps(meta["architecture"]))
    policy = load_policy(tmp_path / "weights.pt", architecture=architecture)
    assert all(p.is_contiguous() for p in policy.module.parameters())
