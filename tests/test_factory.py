import numpy as np
import pytest

from rlcert.envs.factory import PRESETS, EnvSpec, UnknownEnvError, make_env, make_raw_env, resolve_env_spec


def test_every_preset_resolves_and_round_trips():
    for name in PRESETS:
        spec = resolve_env_spec(name)
        assert str(spec) == name
        assert resolve_env_spec(str(spec)) == spec


def test_query_options_and_round_trip():
    spec = resolve_env_spec("CartPole-v0?stack=5&max_steps=50")
    assert (spec.gym_id, spec.frame_stack, spec.max_steps) == ("CartPole-v0", 5, 50)
    assert resolve_env_spec(str(spec)) == spec
    assert resolve_env_spec("cartpole5").frame_stack == 5
    assert resolve_env_spec("cartpole5?max_steps=20").max_steps == 20


def test_unknown_env_names_the_closest_valid_ones():
    with pytest.raises(UnknownEnvError, match="closest valid names: CartPole-v1"):
        resolve_env_spec("CartPol-v1")
    with pytest.raises(UnknownEnvError, match="pong"):
        resolve_env_spec("Pongg")
    with pytest.raises(UnknownEnvError):
        resolve_env_spec("")


def test_bad_options_fail_early():
    with pytest.raises(ValueError, match="stack"):
        resolve_env_spec("CartPole-v0?stack=two")
    with pytest.raises(ValueError, match="frame_stack"):
        EnvSpec("CartPole-v0", frame_stack=0)


def test_cartpole5_stacks_five_raw_frames():
    env = make_env("cartpole5")
    obs, _ = env.reset(seed=3)
    assert obs.shape == (5, 4)
    assert np.all(obs == obs[0])  # the first frame fills the stack
    obs2, *_ = env.step(0)
    np.testing.assert_array_equal(obs2[:-1], obs[1:])
    assert env.spec.max_episode_steps == 200 or make_raw_env("cartpole5").spec.max_episode_steps == 200


def test_atari_standard_preprocessing_scales_pixels():
    env = make_env("pong")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84)
    assert obs.dtype == np.float32 and 0.0 <= obs.min() and obs.max() <= 1.0
    raw = env.unwrapped
    assert raw._frameskip == 1  # preprocessing owns the frame skip
    assert raw.ale.getFloat("repeat_action_probability") == 0.0


def test_one_round_pong_ends_at_the_first_point():
    env = make_env("pong-1round")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(5000):
        _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        if terminated or truncated:
            break
    assert terminated and reward in (-1.0, 1.0)


def test_freeway_250_truncates_after_250_agent_steps():
    env = make_env("freeway-250")
    env.reset(seed=0)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated) and steps < 300:
        _, _, terminated, truncated, _ = env.step(1)
        steps += 1
    assert truncated and steps == 250


def test_known_return_ranges():
    from rlcert.envs.factory import known_return_range

    assert known_return_range("cartpole5") == (0.0, 200.0)
    assert known_return_range("CartPole-v1?max_steps=50") == (0.0, 50.0)
    assert known_return_range("MountainCar-v0") == (-200.0, 0.0)
    assert known_return_range("pong-1round") == (-1.0, 1.0)
    assert known_return_range("Pendulum-v1") is None
    # Whole Atari games whose rules bound the score (a Boxing audit once measured drops from a floor of 0).
    assert known_return_range("pong") == (-21.0, 21.0) and known_return_range("boxing") == (-100.0, 100.0)
    assert known_return_range("breakout") == (0.0, 864.0) and known_return_range("freeway") is None


def test_an_option_the_env_does_not_take_is_refused_naming_it_and_the_valid_ones():
    with pytest.raises(UnknownEnvError, match="env 'CartPole-v0' has no option 'bogus'; its options: max_steps"):
        resolve_env_spec("cartpole5?bogus=1")
    assert dict(resolve_env_spec("CartPole-v1?sutton_barto_reward=1").kwargs) == {"sutton_barto_reward": 1}


def test_the_observation_box_is_the_pixel_range_for_atari_only():
    from rlcert.envs.factory import resolve_env_spec

    assert resolve_env_spec("pong").observation_box == (0.0, 1.0)
    assert resolve_env_spec("cartpole5").observation_box is None
