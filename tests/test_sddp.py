import numpy as np

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.simulate import deterministic_policy, sample_inflow_paths, simulate
from rlcert.training.sddp import SDDP, SDDPConfig

CASE = bundled_case("tiny")


def _trained(**options) -> tuple[SDDP, object]:
    sddp = SDDP(CASE, SDDPConfig(horizon=8, simulations=200, **options))
    return sddp, sddp.train()


def test_every_cut_lies_below_the_expected_cost_it_approximates():
    # Soundness of the future-cost model: at any volumes, each stage's cuts stay below the mean cost of the next
    # stage over its scenarios (itself with its own cuts), so the first stage's bound is a lower bound.
    sddp, _ = _trained(max_iterations=30, check_every=30)
    rng = np.random.default_rng(0)
    top = np.array([p.max_volume for p in CASE.plants])
    for t in range(7):
        for _ in range(20):
            v = rng.uniform(0, 1, 2) * top
            expected = np.mean([sddp.stages[t + 1].solve(v, w).cost for w in CASE.stage_inflows(t + 1).T])
            best_cut = max(intercept + slopes @ v for intercept, slopes in sddp.cuts[t])
            assert best_cut <= expected + 1e-6 * max(1.0, abs(expected))


def test_the_bounds_meet_and_the_policy_beats_the_deterministic_one():
    sddp, result = _trained(max_iterations=200, check_every=20, tolerance=0.01)
    lowers = [h[1] for h in result.history]
    assert all(b >= a - 1e-6 for a, b in zip(lowers, lowers[1:]))  # cuts only ever tighten the bound
    assert result.converged and result.lower_bound >= result.upper_bound[1] - 0.01 * result.upper_bound[0]
    paths = sample_inflow_paths(CASE, 8, 200, seed=42)
    sddp_cost = simulate(CASE, sddp.policy(), paths).mean_and_interval()[0]
    assert sddp_cost < simulate(CASE, deterministic_policy(CASE, 8), paths).mean_and_interval()[0]
    assert sddp_cost >= result.lower_bound * 0.9  # a statistical estimate against a deterministic lower bound
