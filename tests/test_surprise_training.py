"""Training Adversarial Surprise and its baselines (rlcert.training.surprise_training): each player's buffer holds
its own steps with Explore's zero-sum credit on its last step, a resumed run repeats the uninterrupted one, and
bad settings or checkpoints are refused."""

import numpy as np
import pytest
import torch

from rlcert.reports.errors import InvalidValueError, OperationError
from rlcert.training.adversarial_surprise import CONTROL, EXPLORE
from rlcert.training.surprise_training import SurpriseTrainingConfig, train_surprise

torch.set_num_threads(1)
TINY = {"envs": 2, "episodes_per_update": 1, "round_length": 8, "hidden": (16,), "batch_size": 32, "epochs": 1}


def test_the_game_trains_both_players_and_records_zero_sum_returns():
    run = train_surprise(SurpriseTrainingConfig(frames=128, **TINY))
    assert set(run.learners) == {EXPLORE, CONTROL} and len(run.curve) == 2  # 2 games x 32 steps per update
    row = run.curve[-1]
    assert row["explore_return"] == pytest.approx(-row["control_return"]) and row["control_return"] < 0
    assert row["frames"] == 128 and 0 <= row["dark_share"] <= 1


def test_explore_is_credited_only_on_its_rounds_last_step():
    from rlcert.training import surprise_training

    captured = {}
    original = surprise_training._collect_and_update

    def spy(config, games, learners, rnd, features, update, action_rng):
        result = original(config, games, learners, rnd, features, update, action_rng)
        captured["explore"] = learners[EXPLORE].rollout_buffer.rewards.copy()
        captured["control"] = learners[CONTROL].rollout_buffer.rewards.copy()
        return result

    surprise_training._collect_and_update = spy
    try:
        train_surprise(SurpriseTrainingConfig(frames=32, **TINY))
    finally:
        surprise_training._collect_and_update = original
    explore, control = captured["explore"], captured["control"]
    nonzero = np.flatnonzero(np.abs(explore).sum(1))
    assert nonzero.tolist() == [7, 15]  # the last step of each of Explore's two rounds
    # Control's rewarded steps: the second half of each of its rounds (rows 4-7 and 12-15); the first half is 0
    assert (control[[0, 1, 2, 3, 8, 9, 10, 11]] == 0).all() and (control[[4, 5, 6, 7, 12, 13, 14, 15]] < 0).all()
    assert explore[7] == pytest.approx(-control[4:8].sum(0), rel=1e-5)  # zero-sum, per feature as Control's


def test_a_resumed_run_repeats_the_uninterrupted_one(tmp_path):
    whole = train_surprise(SurpriseTrainingConfig(frames=128, **TINY), tmp_path / "whole.pt")
    train_surprise(SurpriseTrainingConfig(frames=64, **TINY), tmp_path / "halves.pt")
    resumed = train_surprise(SurpriseTrainingConfig(frames=128, **TINY), tmp_path / "halves.pt")
    assert [r for r in whole.curve] == [r for r in resumed.curve]
    for (name, a), b in zip(whole.learners[CONTROL].policy.state_dict().items(),
                            resumed.learners[CONTROL].policy.state_dict().values()):  # fmt: skip
        assert torch.equal(a, b), name
    with pytest.raises(OperationError, match="belongs to another method or configuration"):
        train_surprise(SurpriseTrainingConfig(frames=128, method="smirl", **TINY), tmp_path / "whole.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(OperationError, match="cannot be read"):
        train_surprise(SurpriseTrainingConfig(frames=64, **TINY), tmp_path / "bad.pt")


@pytest.mark.parametrize("method", ["smirl", "rnd", "random"])
def test_the_baselines_run_on_the_same_env(method):
    run = train_surprise(SurpriseTrainingConfig(method=method, frames=64, **TINY))
    assert set(run.learners) == (set() if method == "random" else {CONTROL})
    row = run.curve[-1]
    assert 1 <= row["rooms_visited"] <= 4 and row["cells_visited"] >= 1
    assert (row["intrinsic_return"] > 0) == (method == "rnd")


def test_bad_settings_are_refused():
    with pytest.raises(InvalidValueError, match="method must be one of adversarial-surprise, smirl, rnd, random"):
        SurpriseTrainingConfig(method="asp")
    with pytest.raises(InvalidValueError, match="gamma must be in"):
        SurpriseTrainingConfig(gamma=0)


def test_an_rnd_run_resumes_from_a_weights_only_checkpoint(tmp_path):
    # the RND moments are saved as plain floats (a numpy scalar would make the weights-only load refuse the file)
    config = {"method": "rnd", **TINY}
    whole = train_surprise(SurpriseTrainingConfig(frames=128, **config))
    train_surprise(SurpriseTrainingConfig(frames=64, **config), tmp_path / "rnd.pt")
    resumed = train_surprise(SurpriseTrainingConfig(frames=128, **config), tmp_path / "rnd.pt")
    assert whole.curve == resumed.curve
