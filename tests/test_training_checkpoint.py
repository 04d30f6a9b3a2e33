import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcert.agents.recipes import ZooRecipe
from rlcert.agents.training_checkpoint import cut_episodes, load_checkpoint, replay_state, restore_replay, segment_seeds
from rlcert.envs.rollout import chunk_seeds

pytest.importorskip("stable_baselines3")
from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer  # noqa: E402

TINY = ZooRecipe("tiny", "cartpole5?max_steps=30", "ppo", 64, {"n_steps": 64, "batch_size": 64}, (8,), n_envs=2)
SPACE = gym.spaces.Box(-1, 1, (1,), np.float32)


def test_a_damaged_or_unknown_checkpoint_is_refused_with_its_name(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(RuntimeError, match=r"checkpoint\.pt cannot be read"):
        load_checkpoint(tmp_path, TINY)
    torch.save({"timesteps": 0, "surprise": 1}, tmp_path / "checkpoint.pt")
    with pytest.raises(RuntimeError, match=r"unknown entries \['surprise'\]"):
        load_checkpoint(tmp_path, TINY)
    torch.save([1, 2], tmp_path / "checkpoint.pt")
    with pytest.raises(RuntimeError, match="not a zoo training checkpoint"):
        load_checkpoint(tmp_path, TINY)
    assert load_checkpoint(tmp_path / "elsewhere", TINY) is None


def test_segment_seeds_are_keyed_by_the_step_and_apart_from_the_rollout_engines():
    learner, envs = segment_seeds(TINY, 0)
    assert len(envs) == 2 and len({learner, *envs}) == 3
    assert segment_seeds(TINY, 0) == (learner, envs) and segment_seeds(TINY, 128)[0] != learner
    # The final evaluation runs on seed 0 too (the recipe's seed here): its episodes must not be the training's.
    assert chunk_seeds(0, 0)[0] not in {learner, *envs}


def _buffer(n_steps: int | None = None, size: int = 16):
    if n_steps:
        return NStepReplayBuffer(size, SPACE, gym.spaces.Discrete(2), n_envs=1, n_steps=n_steps, gamma=0.5)
    return ReplayBuffer(size, SPACE, gym.spaces.Discrete(2), n_envs=1)


def _add(buffer, reward: float, done: bool = False) -> None:
    zeros = np.zeros((1, 1))
    buffer.add(zeros, zeros, zeros, np.full(1, reward), np.array([done]), [{}])


def test_a_segment_end_truncates_the_episode_in_play_in_the_replay_buffer():
    # The training envs close at each checkpoint: an n-step return must stop there (bootstrapped), not run
    # on into the next segment's first episode; a transition that ended its episode stays a termination.
    def after_cut(done_at_cut: bool):
        buffer = _buffer(n_steps=3)
        _add(buffer, 1.0)
        _add(buffer, 1.0, done=done_at_cut)
        cut_episodes(buffer)
        for _ in range(3):  # the next segment's episode
            _add(buffer, 100.0)
        return buffer

    samples = after_cut(done_at_cut=False)._get_samples(np.array([0]))
    assert samples.rewards.item() == 1.0 + 0.5 * 1.0 and samples.dones.item() == 0.0  # stops, bootstraps
    ended = after_cut(done_at_cut=True)
    assert ended.timeouts[1, 0] == 0.0 and ended._get_samples(np.array([1])).dones.item() == 1.0


def test_a_replay_buffer_round_trips_and_a_foreign_one_is_refused(tmp_path):
    buffer = _buffer()
    for step in range(5):
        _add(buffer, float(step), done=step == 3)
    saved = replay_state(buffer)
    assert saved["pos"] == 5 and saved["rewards"].shape == (5, 1)
    fresh = _buffer()
    restore_replay(fresh, saved, tmp_path / "checkpoint.pt")
    assert fresh.pos == 5 and not fresh.full
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        np.testing.assert_array_equal(getattr(fresh, name), getattr(buffer, name))
    with pytest.raises(RuntimeError, match=r"checkpoint\.pt: its replay buffer position 5 lies outside"):
        restore_replay(_buffer(size=4), saved, tmp_path / "checkpoint.pt")
    with pytest.raises(RuntimeError, match="rewards"):
        restore_replay(_buffer(), saved | {"rewards": saved["rewards"][:3]}, tmp_path / "checkpoint.pt")
    with pytest.raises(RuntimeError, match="holds"):
        restore_replay(_buffer(), {k: v for k, v in saved.items() if k != "dones"}, tmp_path / "checkpoint.pt")
