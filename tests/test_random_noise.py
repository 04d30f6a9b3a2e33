"""Random observation noise (rlcert.attacks.random_noise): each perturbation has exactly the attack's size, the
draws come from the engine's seeded generator, and inactive rows are left alone."""

import numpy as np
import pytest

from rlcert.agents import load_policy
from rlcert.attacks.base import AttackState
from rlcert.attacks.random_noise import RandomObservationNoise
from rlcert.envs import run
from rlcert.reports.errors import InvalidValueError


def _state(rows: int, seed: int = 0, active=None) -> AttackState:
    active = np.ones(rows, dtype=bool) if active is None else active
    return AttackState(rng=np.random.default_rng(seed), num_envs=rows, active=active)


@pytest.mark.parametrize("norm, order", [("2", 2), ("inf", np.inf)])
def test_every_perturbation_has_exactly_the_attacks_size(norm, order):
    frames = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    moved = RandomObservationNoise(0.3, norm).perturb(frames, None, _state(64))
    sizes = np.linalg.norm(moved.astype(np.float64) - frames, ord=order, axis=1)
    assert np.allclose(sizes, 0.3, atol=1e-6)
    if norm == "inf":  # a vertex of the cube: every coordinate moved by ±eps
        assert np.allclose(np.abs(moved - frames), 0.3, atol=1e-6)


def test_the_draws_follow_the_generator_and_inactive_rows_stay():
    frames = np.zeros((6, 3), dtype=np.float32)
    active = np.array([True, False, True, True, False, True])
    noise = RandomObservationNoise(0.1, "2")
    first, second = (noise.perturb(frames, None, _state(6, seed=5, active=active)) for _ in range(2))
    assert np.array_equal(first, second)
    assert not np.array_equal(first, noise.perturb(frames, None, _state(6, seed=6, active=active)))
    assert np.array_equal(first[~active], frames[~active]) and np.all(first[active] != 0)


def test_a_run_under_noise_is_reproducible_and_refuses_a_bad_size():
    policy = load_policy("zoo:cartpole-ppo")
    runs = [run(policy, "CartPole-v1", 3, attack=RandomObservationNoise(0.5, "inf"), seed=2) for _ in range(2)]
    assert np.array_equal(runs[0].returns, runs[1].returns)
    with pytest.raises(InvalidValueError, match="the radius must be a finite number >= 0"):
        RandomObservationNoise(-1.0)
    with pytest.raises(InvalidValueError, match="norm must be 'inf' or '2'"):
        RandomObservationNoise(0.1, "1")
