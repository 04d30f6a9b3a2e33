"""The Adversarial Surprise game's bookkeeping (rlcert.training.adversarial_surprise) on a tiny deterministic env:
who is rewarded, when, and with what sign."""

import math

import gymnasium as gym
import numpy as np
import pytest

from rlcert.reports.errors import InvalidValueError
from rlcert.training.adversarial_surprise import CONTROL, EXPLORE, GameConfig, SurpriseGame


class Line(gym.Env):
    """Positions 0..4 on a line; actions 0 (left), 1 (stay), 2 (right); the observation is the position."""

    observation_space = gym.spaces.Box(0, 4, (1,), np.int64)
    action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 2
        return np.array([self.position]), {}

    def step(self, action):
        self.position = int(np.clip(self.position + action - 1, 0, 4))
        return np.array([self.position]), 0.0, False, False, {}


def _game(**changes) -> SurpriseGame:
    return SurpriseGame(Line(), GameConfig(round_length=4, rounds=4, classes=5, **changes))


def test_control_is_rewarded_log_likelihood_after_its_unrewarded_half_and_explore_minus_its_return():
    game = _game()
    observation, _ = game.reset(seed=0)
    assert game.player == EXPLORE and observation.shape == (1 + 5 + 1,)
    steps = [game.step(a) for a in (2, 2, 1, 1)]  # Explore walks to 4 and stays
    assert [s.actor for s in steps] == [EXPLORE] * 4 and all(s.reward == 0 for s in steps)
    assert all(s.explore_credit is None for s in steps) and steps[-1].round_over and steps[-1].next_player == CONTROL
    control = [game.step(1) for _ in range(4)]  # Control stays at 4
    assert [s.actor for s in control] == [CONTROL] * 4
    # first half: no reward and no model update; then log p(4) under the empty model (1/5), then with one 4
    # seen ((1 + 1) / (1 + 5))
    assert [s.reward for s in control[:2]] == [0.0, 0.0] and control[0].log_prob is None
    assert control[2].reward == pytest.approx(math.log(1 / 5))
    assert control[3].reward == pytest.approx(math.log(2 / 6))
    assert all(s.explore_credit is None for s in control[:3])
    assert control[3].explore_credit == pytest.approx(-(math.log(1 / 5) + math.log(2 / 6)))  # zero-sum, settled
    assert game.density.size == 2


def test_the_model_keeps_control_observations_only_for_the_episode_and_the_last_explore_round_earns_nothing():
    game = _game(first=CONTROL)
    game.reset(seed=0)
    first = [game.step(1) for _ in range(4)]  # Control at 2
    assert first[-1].explore_credit is None  # no Explore round before the first Control round
    explore = [game.step(0) for _ in range(4)]  # Explore moves to 0: not fitted
    assert game.density.size == 2 and all(s.reward == 0 for s in explore)
    control = [game.step(1) for _ in range(4)]  # Control at 0: its second half sees 0 twice
    # the model holds two 2s: p(0) = (0 + 1) / (2 + 5), then (1 + 1) / (3 + 5)
    assert control[2].reward == pytest.approx(math.log(1 / 7)) and control[3].reward == pytest.approx(math.log(2 / 8))
    assert control[3].explore_credit == pytest.approx(-(math.log(1 / 7) + math.log(2 / 8)))
    last = [game.step(2) for _ in range(4)]
    assert last[-1].done and all(s.explore_credit is None and s.reward == 0 for s in last)
    game.reset(seed=0)
    assert game.density.size == 0 and game.player == CONTROL  # reset per episode


def test_the_observation_carries_the_model_and_the_time():
    game = _game(unrewarded_fraction=0.0, first=CONTROL)
    observation, _ = game.reset(seed=0)
    assert observation.tolist() == pytest.approx([2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.0])
    step = game.step(2)  # to 3, fitted at once
    assert step.observation.tolist() == pytest.approx([3, 1 / 6, 1 / 6, 1 / 6, 2 / 6, 1 / 6, 1 / 16])


def test_bad_settings_are_refused():
    with pytest.raises(InvalidValueError, match="first must be explore or control"):
        GameConfig(first="alice")
    with pytest.raises(InvalidValueError, match="unrewarded_fraction must be in"):
        GameConfig(unrewarded_fraction=1.0)
