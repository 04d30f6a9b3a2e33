"""The hijack probe (rlcert.envs.hijack): exactly the chosen steps run another controller's actions, from the
probe's own seeded generator or a policy, and the rest run the policy's."""

import gymnasium as gym
import numpy as np
import pytest

from rlcert.envs.hijack import Hijack
from rlcert.reports.errors import InvalidValueError


def _executed(env, steps, action=None):
    """Infos of ``steps`` steps; the policy alternates left and right (it balances) unless ``action`` is given."""
    return [env.step(t % 2 if action is None else action)[-1] for t in range(steps)]


def test_only_the_hijacked_steps_run_the_random_controller_and_the_draws_are_seeded():
    env = Hijack(gym.make("CartPole-v1"), start=3, steps=6)
    runs = []
    for _ in range(2):
        env.reset(seed=4)
        runs.append(_executed(env, 11))
    infos = runs[0]
    assert [i["hijacked"] for i in infos] == [False] * 3 + [True] * 6 + [False] * 2
    assert all(i["executed_action"] == t % 2 for t, i in enumerate(infos) if not i["hijacked"])
    hijacked = [i["executed_action"] for i in infos if i["hijacked"]]
    assert set(hijacked) == {0, 1} and hijacked == [i["executed_action"] for i in runs[1] if i["hijacked"]]


def test_a_policy_controller_runs_and_a_box_space_stays_in_bounds():
    class AlwaysRight:
        def act(self, obs):
            return np.ones(len(obs), dtype=np.int64)

    env = Hijack(gym.make("CartPole-v1"), start=0, steps=2, hijacker=AlwaysRight())
    env.reset(seed=0)
    assert [i["executed_action"] for i in _executed(env, 3)] == [1, 1, 0]
    box = Hijack(gym.make("Pendulum-v1"), start=0, steps=5)
    box.reset(seed=0)
    for info in _executed(box, 5, action=np.zeros(1, np.float32)):
        assert -2.0 <= float(info["executed_action"][0]) <= 2.0 and info["hijacked"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"start": -1, "steps": 2}, "start"),
        ({"start": 0, "steps": 0}, "steps"),
        ({"start": 0, "steps": 2, "hijacker": "model.pt"}, "hijacker must be random or a policy object"),
    ],
)
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(InvalidValueError, match=message):
        Hijack(gym.make("CartPole-v1"), **kwargs)
