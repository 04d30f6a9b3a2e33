"""Episodes of trained surprise runs (rlcert.analyses.surprise_exploration): the observation entropy against
hand-computed values, and per-step records that add up."""

import math

import numpy as np
import pytest
import torch

from rlcert.analyses.surprise_exploration import observation_entropy, play_surprise
from rlcert.training.surprise_training import SurpriseTrainingConfig, train_surprise

torch.set_num_threads(1)


def test_observation_entropy_sums_each_cells_empirical_entropy():
    window = np.array([[0, 5], [0, 5], [0, 6], [0, 7]])
    # cell 0 never changes (0 nats); cell 1 takes 5 twice, 6 and 7 once: -(1/2 ln 1/2 + 2 * 1/4 ln 1/4)
    assert observation_entropy(window) == pytest.approx(-(0.5 * math.log(0.5) + 0.5 * math.log(0.25)))
    assert observation_entropy(np.zeros((3, 7, 7, 3))) == 0.0


@pytest.mark.parametrize("method", ["adversarial-surprise", "random"])
def test_play_records_every_step_and_counts_visits_on_one_layout(method):
    config = SurpriseTrainingConfig(method=method, frames=64, envs=2, episodes_per_update=1, round_length=8,
                                    hidden=(16,), batch_size=32, epochs=1)  # fmt: skip
    run = train_surprise(config)
    play = play_surprise(run, episodes=3, seed=1, layout_seed=4)
    assert play.entropy.shape == (3, 32) and (play.entropy >= 0).all()
    assert play.visits.sum() == 3 * 32 and not (play.visits[play.walls] > 0).any()
    explore_rounds = play.explore_turn[0].reshape(4, 8).all(1).tolist()
    assert explore_rounds == ([True, False, True, False] if method == "adversarial-surprise" else [False] * 4)
    assert (np.diff(play.rooms_visited, axis=1) >= 0).all()  # coverage never shrinks within an episode
    again = play_surprise(run, episodes=3, seed=1, layout_seed=4)
    assert np.array_equal(play.entropy, again.entropy)  # seeded
    summary = play.to_dict()
    assert summary["episodes"] == 3 and len(summary["mean_entropy_by_step"]) == 32
