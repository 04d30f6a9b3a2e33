import numpy as np
import pytest

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.simulate import reachable_interval
from rlcert.envs.hydro.stage import StageProblem
from rlcert.envs.hydro.stage_batch import StageBatch
from rlcert.reports.errors import OperationError

BOLIVIA = bundled_case("bolivia")


def _stage_inputs(case, rows: int, seed: int):
    rng = np.random.default_rng(seed)
    top = np.array([p.max_volume for p in case.plants])
    v_in = rng.uniform(0, 0.5, (rows, len(top))) * top
    inflow = case.stage_inflows(3)[:, rng.integers(case.scenarios, size=rows)].T
    bounds = [reachable_interval(case, v, w) for v, w in zip(v_in, inflow)]
    target = np.array([low + rng.uniform(0.1, 0.9, len(top)) * (high - low) for low, high in bounds])
    return v_in, inflow, target


def test_any_number_of_workers_gives_the_serial_results_row_for_row():
    stages = [_stage_inputs(BOLIVIA, 6, seed) for seed in range(3)]
    results = []
    for workers in (1, 2, 4):
        with StageBatch(BOLIVIA, rows=6, workers=workers) as batch:
            results.append([batch.solve(*inputs) for inputs in stages])
    for other in results[1:]:
        for (costs, targets, waters), (costs2, targets2, waters2) in zip(results[0], other):
            assert np.array_equal(costs, costs2) and np.array_equal(targets, targets2)
            assert np.array_equal(waters, waters2)
    # and each row is the LP a single model solves
    v_in, inflow, target = stages[0]
    single = [StageProblem(BOLIVIA).solve(v, w, x).cost for v, w, x in zip(v_in, inflow, target)]
    assert np.allclose(results[0][0][0], single, rtol=1e-9)


def test_after_a_restart_a_row_returns_what_a_fresh_model_returns():
    first, second = _stage_inputs(BOLIVIA, 2, 0), _stage_inputs(BOLIVIA, 2, 1)
    batch = StageBatch(BOLIVIA, rows=2)
    batch.solve(*first)
    batch.restart()
    after = batch.solve(*second)
    fresh = StageBatch(BOLIVIA, rows=2).solve(*second)
    for a, b in zip(after, fresh):
        assert np.array_equal(a, b)


def test_an_infeasible_row_in_a_worker_is_reported_in_the_parent():
    v_in, inflow, target = _stage_inputs(bundled_case("tiny"), 2, 0)
    target[1] = 1e6  # far above any reservoir
    with StageBatch(bundled_case("tiny"), rows=2, workers=2) as batch:
        with pytest.raises(OperationError, match="stage LP of tiny-3bus is"):
            batch.solve(v_in, inflow, target)
        with pytest.raises(ValueError, match="solves 2 rows, got 1"):
            batch.solve(v_in[:1], inflow[:1], target[:1])
