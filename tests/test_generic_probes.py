import math

import gymnasium as gym
import numpy as np
import pytest

from rlcert.attacks.base import Probe
from rlcert.envs.factory import make_raw_env
from rlcert.envs.generic_probes import (
    ConceptDrift,
    FeatureDropout,
    ObservationNoise,
    RandomActionExecution,
    StickyActions,
)
from rlcert.envs.probes import ProbeStack


class RecordingEnv(gym.Env):
    """Records every action it executes; its observation is [step count, 1, 2, 3]."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (4,), np.float32)
    action_space = gym.spaces.Discrete(6)

    def __init__(self):
        self.executed: list[int] = []
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.steps = 0
        return self._obs(), {}

    def _obs(self):
        return np.array([self.steps, 1, 2, 3], dtype=np.float32)

    def step(self, action):
        self.executed.append(int(action))
        self.steps += 1
        return self._obs(), 1.0, False, False, {}


class RandomStepEnv(RecordingEnv):
    """Draws its observation from its own np_random on every step, as a slippery or card-dealing env does."""

    def _obs(self):
        return self.np_random.random(4).astype(np.float32)


def play(probe_env, chosen, steps, seed=0):
    probe_env.reset(seed=seed)
    infos = [probe_env.step(chosen)[-1] for _ in range(steps)]
    return probe_env.unwrapped.executed[-steps:], infos


def test_random_action_execution_replaces_the_action_with_probability_p_from_the_allowed_set():
    env = RandomActionExecution(RecordingEnv(), p=0.3, actions=(0, 1, 2))
    executed, infos = play(env, 5, 4000)
    assert [info["executed_action"] for info in infos] == executed
    replaced = np.array(executed) != 5
    assert set(np.array(executed)[replaced]) <= {0, 1, 2}
    assert abs(replaced.mean() - 0.3) < 0.03
    assert play(RandomActionExecution(RecordingEnv(), p=0.0), 5, 200)[0] == [5] * 200
    assert set(play(RandomActionExecution(RecordingEnv(), p=1.0), 5, 500)[0]) == set(range(6))


def test_the_same_seed_reproduces_the_perturbed_episode_and_another_seed_does_not():
    first = play(RandomActionExecution(RecordingEnv(), p=0.5), 1, 300, seed=7)[0]
    again = play(RandomActionExecution(RecordingEnv(), p=0.5), 1, 300, seed=7)[0]
    other = play(RandomActionExecution(RecordingEnv(), p=0.5), 1, 300, seed=8)[0]
    assert first == again and first != other


def test_sticky_actions_repeat_the_previous_executed_action():
    env = StickyActions(RecordingEnv(), p=1.0)
    env.reset(seed=0)
    assert [env.step(a)[-1]["executed_action"] for a in (3, 4, 5)] == [3, 3, 3]
    env = StickyActions(RecordingEnv(), p=0.5)
    chosen = [1, 2, 3, 4, 5] * 200
    env.reset(seed=1)
    executed = [env.step(a)[-1]["executed_action"] for a in chosen]
    for previous, now, wanted in zip([0, *executed[:-1]], executed, chosen):
        assert now in (previous, wanted)
    assert abs(np.mean(np.array(executed) != np.array(chosen)) - 0.5) < 0.06


class RecordFrames(Probe):
    """Test probe at the emulator level: records each action the emulator executes."""

    level = "emulator"

    def __init__(self, env):
        super().__init__(env)
        self.frames: list[int] = []

    def step(self, action):
        self.frames.append(int(action))
        return self.env.step(action)


def test_per_frame_random_actions_act_below_frame_skipping_on_an_atari_game():
    stack = ProbeStack.of(RecordFrames).then(RandomActionExecution, p=0.5, per="frame")
    assert stack.wrap_emulator is not None and stack.label.startswith("RecordFrames() + RandomActionExecution")
    env = stack(make_raw_env("pong", wrap_emulator=stack.wrap_emulator))
    env.reset(seed=0)
    recorder = env
    while not isinstance(recorder, RecordFrames):
        recorder = recorder.env
    recorder.frames.clear()
    for _ in range(100):
        env.step(2)
    frames = np.array(recorder.frames)
    assert len(frames) == 400  # frame skip 4: every emulator frame decides on its own
    assert abs(np.mean(frames != 2) - 0.5 * 5 / 6) < 0.08  # Pong has 6 actions; a draw of 2 keeps it


def test_observation_noise_is_seeded_and_stays_in_the_observation_box():
    def observations(seed):
        env = ObservationNoise(RecordingEnv(), sigma=5.0)
        first, _ = env.reset(seed=seed)
        return np.stack([first] + [env.step(0)[0] for _ in range(50)])

    noisy = observations(3)
    np.testing.assert_array_equal(noisy, observations(3))
    assert not np.array_equal(noisy, observations(4))
    assert noisy.min() >= -10 and noisy.max() <= 10 and noisy.dtype == np.float32
    clean = ObservationNoise(RecordingEnv(), sigma=0.0)
    np.testing.assert_array_equal(clean.reset(seed=0)[0], [0, 1, 2, 3])


def test_feature_dropout_hides_exactly_the_reported_features():
    env = FeatureDropout(RecordingEnv(), p=1.0, features=(1, 3), fill=-1.0)
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [0, -1, 2, -1])
    assert info["hidden_features"].tolist() == [1, 3]
    env = FeatureDropout(RecordingEnv(), p=0.25)
    env.reset(seed=0)
    hidden = 0
    for step in range(1, 2001):
        obs, _, _, _, info = env.step(0)
        expected = np.array([step, 1, 2, 3], dtype=np.float32)
        expected[info["hidden_features"]] = 0.0
        np.testing.assert_array_equal(obs, expected)
        hidden += len(info["hidden_features"])
    assert abs(hidden / 8000 - 0.25) < 0.03


def test_sudden_drift_switches_the_probes_below_it_on_after_t_steps_and_reset_switches_back():
    env = ConceptDrift(RandomActionExecution(RecordingEnv(), p=1.0, actions=(0,)), after=10)
    for _ in range(2):  # the second episode starts again from the default concept
        _, info = env.reset(seed=0)
        assert info["concept"] == 1
        infos = [env.step(5)[-1] for _ in range(25)]
        assert [i["executed_action"] for i in infos] == [5] * 10 + [0] * 15
        assert [i["concept"] for i in infos] == [1] * 10 + [2] * 15


def test_cyclic_drift_alternates_every_t_steps():
    env = ConceptDrift(RandomActionExecution(RecordingEnv(), p=1.0, actions=(0,)), after=3, mode="cyclic")
    env.reset(seed=0)
    assert [env.step(5)[-1]["executed_action"] for _ in range(12)] == [5, 5, 5, 0, 0, 0] * 2


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: RandomActionExecution(RecordingEnv(), p=1.5), "p must be a probability in \\[0, 1\\], got 1.5"),
        (lambda: RandomActionExecution(RecordingEnv(), p=math.nan), "p must be a probability"),
        (lambda: RandomActionExecution(RecordingEnv(), p=0.1, per="episode"), "per must be 'step'"),
        (lambda: RandomActionExecution(RecordingEnv(), p=0.1, actions=(7,)), "do not fit the env's 6 actions"),
        (lambda: RandomActionExecution(gym.make("Pendulum-v1"), p=0.1), "needs a Discrete action space"),
        (lambda: ObservationNoise(RecordingEnv(), sigma=-1), "sigma must be a finite number >= 0"),
        (lambda: FeatureDropout(RecordingEnv(), p=0.5, features=(9,)), "observations have 4 features"),
        (lambda: ConceptDrift(RecordingEnv(), after=5), "needs a secondary concept"),
        (lambda: ConceptDrift(StickyActions(RecordingEnv()), after=0), "after must be a positive number"),
        (lambda: ProbeStack.of(RandomActionExecution, p=-0.1), "p must be a probability"),
        (lambda: make_raw_env("cartpole", wrap_emulator=lambda env: env), "emulator-level probes need an ALE env"),
    ],
)
def test_bad_probe_parameters_fail_early_and_name_the_value(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_sticky_actions_never_repeat_on_the_first_step_of_an_episode():
    """As gymnasium's StickyAction: there is no previous action to repeat yet (issue 19, item 15)."""
    env = StickyActions(RecordingEnv(), p=1.0)
    for chosen in (4, 2):  # the second episode does not inherit the first one's last action
        env.reset(seed=0)
        assert [env.step(chosen)[-1]["executed_action"] for _ in range(3)] == [chosen] * 3


ZERO_SEVERITY = [
    (RandomActionExecution, {"p": 0.0}),
    (StickyActions, {"p": 0.0}),
    (ObservationNoise, {"sigma": 0.0}),
    (FeatureDropout, {"p": 0.0}),
]


@pytest.mark.parametrize("probe, params", ZERO_SEVERITY, ids=[probe.__name__ for probe, _ in ZERO_SEVERITY])
def test_a_probe_at_zero_severity_leaves_the_env_random_stream_alone(probe, params):
    """A probe draws from its own generator, so at zero severity the env's own random draws (slippery floors,
    dealt cards, ALE noop starts) and hence the episode are bit-identical to the bare env's."""

    def observations(env):
        first, _ = env.reset(seed=5)
        return np.stack([first] + [env.step(1)[0] for _ in range(20)])

    np.testing.assert_array_equal(observations(probe(RandomStepEnv(), **params)), observations(RandomStepEnv()))


def test_probes_in_one_stack_draw_independent_streams():
    inner = RandomActionExecution(RecordingEnv(), p=0.5)
    outer = RandomActionExecution(inner, p=0.5)
    outer.reset(seed=3)
    assert not np.array_equal(inner.np_random.random(8), outer.np_random.random(8))
