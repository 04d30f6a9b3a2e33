import numpy as np
import pytest

from rlcert.agents import load_policy
from rlcert.reports.errors import InvalidValueError
from rlcert.training.demonstrations import Demonstrations, collect_demonstrations


@pytest.fixture(scope="module")
def demos():
    return collect_demonstrations(load_policy("zoo:cartpole5-dqn"), "cartpole5?max_steps=40", 3, seed=7,
                                  expert="zoo:cartpole5-dqn")  # fmt: skip


def test_pairs_are_the_experts_greedy_actions_on_the_states_it_saw(demos):
    policy = load_policy("zoo:cartpole5-dqn")
    assert demos.states.shape == (120, 5, 4) and demos.states.dtype == np.float32
    assert demos.discrete and demos.actions.dtype == np.int64 and demos.episodes == 3
    assert np.array_equal(policy.act(demos.states), demos.actions)
    assert demos.episode_ends.tolist() == [40, 80, 120] and demos.mean_return == 40.0
    assert demos.env == "CartPole-v0?stack=5&max_steps=40" and demos.expert == "zoo:cartpole5-dqn"
    # the first state of each episode is its reset frame repeated, as the rollout engine stacks it
    assert np.array_equal(demos.states[40], np.repeat(demos.states[40, -1:], 5, axis=0))


def test_max_pairs_cuts_the_last_episode():
    policy = load_policy("zoo:cartpole5-dqn")
    cut = collect_demonstrations(policy, "cartpole5?max_steps=40", 3, seed=7, max_pairs=50)
    assert len(cut) == 50 and cut.episode_ends.tolist() == [40, 50]
    with pytest.raises(InvalidValueError, match="max_pairs must be >= 0"):
        collect_demonstrations(policy, "cartpole5", 1, max_pairs=-1)


def test_a_saved_set_loads_back_and_a_damaged_or_foreign_file_is_refused(demos, tmp_path):
    path = demos.save(tmp_path / "d.npz")
    back = Demonstrations.load(path)
    assert np.array_equal(back.states, demos.states) and np.array_equal(back.actions, demos.actions)
    assert (back.expert, back.env, back.seed, back.mean_return) == (demos.expert, demos.env, 7, 40.0)
    data = dict(np.load(path, allow_pickle=False))
    data["actions"] = 1 - data["actions"]
    np.savez(tmp_path / "tampered.npz", **data)
    with pytest.raises(InvalidValueError, match="damaged"):
        Demonstrations.load(tmp_path / "tampered.npz")
    np.savez(tmp_path / "foreign.npz", states=demos.states, extra=np.ones(2))
    with pytest.raises(InvalidValueError, match="not a demonstrations file"):
        Demonstrations.load(tmp_path / "foreign.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InvalidValueError, match="not a readable demonstrations file"):
        Demonstrations.load(tmp_path / "junk.npz")
    with pytest.raises(InvalidValueError, match="no demonstrations file"):
        Demonstrations.load(tmp_path / "missing.npz")
