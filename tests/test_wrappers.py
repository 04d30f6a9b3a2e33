import gymnasium as gym
import numpy as np
import pytest

from rlcert.envs.wrappers import EndOnFirstNonzeroReward, GaussianFrameNoise


def test_gaussian_frame_noise_is_seeded_and_has_the_right_scale():
    def noisy_obs(seed):
        env = GaussianFrameNoise(gym.make("CartPole-v1"), sigma=0.3)
        return env.reset(seed=seed)[0], env.unwrapped.state

    a, state_a = noisy_obs(5)
    b, _ = noisy_obs(5)
    np.testing.assert_array_equal(a, b)
    env = GaussianFrameNoise(gym.make("CartPole-v1"), sigma=0.3)
    env.reset(seed=1)
    diffs = []
    for _ in range(2000):
        obs = env.step(0)[0]
        diffs.append(obs - np.asarray(env.unwrapped.state, dtype=np.float32))
        if abs(env.unwrapped.state[2]) > 0.2:
            env.reset()
    assert abs(np.std(diffs) - 0.3) < 0.02


@pytest.mark.parametrize("sigma", [-0.1, float("nan"), float("inf")])
def test_gaussian_frame_noise_rejects_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        GaussianFrameNoise(gym.make("CartPole-v1"), sigma=sigma)


def test_end_on_first_nonzero_reward():
    env = EndOnFirstNonzeroReward(gym.make("MountainCar-v0"))  # reward -1 every step
    env.reset(seed=0)
    _, reward, terminated, _, _ = env.step(1)
    assert reward == -1.0 and terminated
