import numpy as np
import pytest

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.stage import StageProblem, build_pyomo_stage
from rlcert.reports.errors import InvalidValueError, OperationError


def _reachable_targets(case, v_in, inflow, rng):
    """Targets strictly inside what one stage can reach, so every finite difference stays feasible."""
    top = np.array([p.max_volume for p in case.plants])
    reach = np.minimum(top, v_in + case.water_balance_k * inflow)
    return rng.uniform(0.2, 0.8, len(top)) * reach


def test_the_bolivia_stage_lp_has_the_authors_size():
    stage = StageProblem(bundled_case("bolivia"))
    assert (stage.variables, stage.rows, stage.equality_rows) == (154, 92, 92)  # 81 + 11 target rows


@pytest.mark.parametrize("name", ["tiny", "bolivia"])
def test_target_duals_are_the_derivative_of_the_stage_cost(name):
    case = bundled_case(name)
    stage = StageProblem(case)
    rng = np.random.default_rng(0)
    errors = []
    for stage_index in (0, 5, 20):
        inflow = case.stage_inflows(stage_index)[:, stage_index % case.scenarios]
        v_in = np.zeros(len(case.plants))
        target = _reachable_targets(case, v_in, inflow, rng)
        solution = stage.solve(v_in, inflow, target)
        for r in range(len(case.plants)):
            h = 1e-7 * max(1.0, target[r])
            up, down = target.copy(), target.copy()
            up[r] += h
            down[r] -= h
            slope = (stage.solve(v_in, inflow, up).cost - stage.solve(v_in, inflow, down).cost) / (2 * h)
            errors.append(abs(slope - solution.target_duals[r]) / max(1.0, abs(slope)))
    assert max(errors) < 1e-5


def test_the_persistent_solve_matches_a_fresh_pyomo_solve():
    import pyomo.environ as pyo

    case = bundled_case("bolivia")
    inflow, v_in = case.stage_inflows(7)[:, 3], np.zeros(11)
    target = _reachable_targets(case, v_in, inflow, np.random.default_rng(1))
    model = build_pyomo_stage(case)
    for r in range(11):
        model.v_in[r], model.inflow[r], model.target[r] = v_in[r], inflow[r], target[r]
    pyo.SolverFactory("appsi_highs").solve(model)
    assert StageProblem(case).solve(v_in, inflow, target).cost == pytest.approx(pyo.value(model.cost), rel=1e-9)


def test_an_unreachable_target_is_an_error_naming_the_case_and_options_that_cannot_apply_are_refused():
    case = bundled_case("tiny")
    stage = StageProblem(case)
    with pytest.raises(OperationError, match="tiny-3bus is Infeasible"):
        stage.solve(np.zeros(2), np.zeros(2), np.array([0.9, 0.4]))
    with pytest.raises(InvalidValueError, match="pass the target volumes"):
        stage.solve(np.zeros(2), np.ones(2))
    with pytest.raises(InvalidValueError, match="a target cannot apply"):
        StageProblem(case, targets=False).solve(np.zeros(2), np.ones(2), np.zeros(2))
