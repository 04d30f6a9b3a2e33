import functools

import gymnasium as gym
import numpy as np

from rlcert.envs.batched import BatchedEnv, NumpyBatchedEnv, SerialBatchedEnv, make_batched_env, numpy_batchable
from rlcert.envs.factory import make_raw_env, resolve_env_spec
from rlcert.envs.wrappers import GaussianFrameNoise


def test_numpy_path_is_chosen_only_where_it_matches_the_plain_env():
    assert numpy_batchable(resolve_env_spec("cartpole5"), None)
    assert not numpy_batchable(resolve_env_spec("cartpole5"), functools.partial(GaussianFrameNoise, sigma=0.1))
    assert not numpy_batchable(resolve_env_spec("MountainCar-v0"), None)
    assert isinstance(make_batched_env(resolve_env_spec("cartpole5"), 3), NumpyBatchedEnv)
    assert isinstance(make_batched_env(resolve_env_spec("MountainCar-v0"), 3), SerialBatchedEnv)


def test_numpy_cartpole_follows_the_same_dynamics_as_gymnasium_cartpole():
    """Same start state and actions give the same trajectory, termination and time limit."""
    spec = resolve_env_spec("CartPole-v0?max_steps=30")
    batched = NumpyBatchedEnv(spec, 4)
    frames = batched.reset(seed=7)
    singles = [gym.make("CartPole-v0", max_episode_steps=30) for _ in range(4)]
    for i, env in enumerate(singles):
        env.reset(seed=0)
        env.unwrapped.state = frames[i].astype(np.float64)
    rng = np.random.default_rng(0)
    active = np.ones(4, dtype=bool)
    for _ in range(40):
        actions = rng.integers(0, 2, size=4)
        out = batched.step(actions, active)
        for i in np.flatnonzero(active):
            obs, reward, term, trunc, _ = singles[i].step(int(actions[i]))
            np.testing.assert_allclose(out[0][i], obs, rtol=1e-5, atol=1e-6)
            assert (out[1][i], out[2][i], out[3][i]) == (reward, term, trunc)
        active &= ~(out[2] | out[3])
        if not active.any():
            break
    assert not active.any()


def test_serial_env_steps_only_active_slots_and_reads_costs():
    class CostEnv(gym.Wrapper):
        def step(self, action):
            obs, r, te, tr, info = self.env.step(action)
            return obs, r, te, tr, {**info, "cost": 0.5}

    env = SerialBatchedEnv(resolve_env_spec("MountainCar-v0"), 3, probe=CostEnv)
    first = env.reset(seed=1)
    frames, rewards, _, _, costs = env.step(np.array([0, 1, 2]), np.array([True, False, True]))
    np.testing.assert_array_equal(frames[1], first[1])
    assert list(rewards) == [-1.0, 0.0, -1.0] and list(costs) == [0.5, 0.0, 0.5]


def test_numpy_and_serial_backends_play_the_same_episodes_from_the_same_seed():
    """One seeding scheme for every backend (issue 19, item 1): slot i starts where a one-env loop reset
    with slot seed i starts, so the same actions give the same frames, rewards and ends."""
    spec = resolve_env_spec("cartpole5")
    fast, serial = NumpyBatchedEnv(spec, 8), SerialBatchedEnv(spec, 8)
    frames = fast.reset(seed=7)
    np.testing.assert_array_equal(frames, serial.reset(seed=7))
    single = make_raw_env(spec)
    for i, slot_seed in enumerate(BatchedEnv.slot_seeds(7, 8)):
        np.testing.assert_array_equal(frames[i], single.reset(seed=int(slot_seed))[0])
    active = np.ones(8, dtype=bool)
    while active.any():
        actions = (frames[:, 2] + 0.5 * frames[:, 3] > 0).astype(np.int64)  # balance: long episodes
        out = fast.step(actions, active)
        expected = serial.step(actions, active)
        for got, want in zip(out, expected, strict=True):
            np.testing.assert_array_equal(got[active], want[active])
        frames = out[0]
        active &= ~(out[2] | out[3])
