import numpy as np
import pytest

from rlcert.attacks.base import Attack, AttackState, Policy, ThreatModel, TorchPolicy


def test_threat_model_normalises_and_validates():
    assert ThreatModel(norm="l2", budget=1.0).norm == "2"
    assert ThreatModel(norm="Linf", eps=0.1).per_step
    with pytest.raises(ValueError, match="exactly one"):
        ThreatModel(norm="2")
    with pytest.raises(ValueError, match="exactly one"):
        ThreatModel(norm="2", eps=0.1, budget=1.0)
    with pytest.raises(ValueError, match="l2 norm only"):
        ThreatModel(norm="inf", budget=1.0)
    with pytest.raises(ValueError, match="norm must be"):
        ThreatModel(norm="1", eps=0.1)
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite number >= 0"):
            ThreatModel(eps=bad)


def test_attack_reset_carries_the_total_budget():
    class Null(Attack):
        threat_model = ThreatModel(budget=0.5)

        def perturb(self, frames, policy, state):
            return frames

    state = Null().reset(3, np.random.default_rng(0))
    np.testing.assert_array_equal(state.remaining_budget, [0.5, 0.5, 0.5])
    with pytest.raises(TypeError):
        Attack()  # abstract


def test_attack_state_stacks_candidate_frames_onto_history():
    state = AttackState(rng=np.random.default_rng(0), num_envs=2)
    frames = np.ones((2, 4))
    assert state.stacked(frames) is frames
    state.stack = 4
    np.testing.assert_array_equal(state.stacked(frames), np.ones((2, 4, 4)))  # first step fills the stack
    state.history = np.zeros((2, 3, 4))
    stacked = state.stacked(frames)
    assert stacked.shape == (2, 4, 4) and stacked[:, -1].sum() == 8 and stacked[:, :-1].sum() == 0


def test_protocols_are_runtime_checkable(mlp_policy, balancing_policy):
    assert isinstance(mlp_policy, TorchPolicy) and isinstance(mlp_policy, Policy)
    assert isinstance(balancing_policy, Policy) and not isinstance(balancing_policy, TorchPolicy)
