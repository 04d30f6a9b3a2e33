import numpy as np
import pytest

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.simulate import (
    deterministic_policy,
    myopic_targets,
    reachable_interval,
    sample_inflow_paths,
    simulate,
    wait_and_see_costs,
)
from rlcert.envs.hydro.stage import StageProblem

TINY = bundled_case("tiny")


def test_inflow_paths_are_seeded_joint_scenarios_drawn_stage_by_stage():
    paths = sample_inflow_paths(TINY, 12, 30, seed=3)
    assert paths.shape == (30, 12, 2)
    assert np.array_equal(paths, sample_inflow_paths(TINY, 12, 30, seed=3))
    assert not np.array_equal(paths, sample_inflow_paths(TINY, 12, 30, seed=4))
    for t in range(12):  # every stage's draw is one of that stage's joint scenarios (both plants together)
        scenarios = TINY.stage_inflows(t).T
        assert all(any(np.array_equal(row, s) for s in scenarios) for row in paths[:, t])


def test_every_target_in_the_reachable_interval_is_feasible():
    stage, rng = StageProblem(TINY), np.random.default_rng(0)
    top = np.array([p.max_volume for p in TINY.plants])
    for _ in range(200):
        v_in = rng.uniform(0, 1, 2) * top
        inflow = TINY.stage_inflows(int(rng.integers(12)))[:, int(rng.integers(4))]
        low, high = reachable_interval(TINY, v_in, inflow)
        stage.solve(v_in, inflow, rng.uniform(low, high))  # raises if infeasible


def test_the_wait_and_see_bound_lies_below_every_policy_on_every_path():
    paths = sample_inflow_paths(TINY, 12, 8, seed=0)
    bound = wait_and_see_costs(TINY, paths)
    for policy in (myopic_targets(TINY), deterministic_policy(TINY, 12)):
        rollout = simulate(TINY, policy, paths)
        assert np.all(bound <= rollout.total_costs + 1e-6)
        mean, low, high = rollout.mean_and_interval()
        assert low <= mean <= high


def test_a_rollout_keeps_the_water_balance():
    paths = sample_inflow_paths(TINY, 12, 2, seed=1)
    rollout = simulate(TINY, lambda t, v, w: np.zeros(2), paths)
    assert rollout.volumes.shape == (2, 13, 2) and np.allclose(rollout.volumes, 0)
    assert rollout.costs.shape == (2, 12) and np.all(rollout.costs > 0)
    with pytest.raises(ValueError):
        sample_inflow_paths(TINY, 0, 1, seed=0)
