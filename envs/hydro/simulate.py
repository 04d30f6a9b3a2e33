"""Rolling a dispatch policy over sampled inflow paths, and the policies every method is measured against.

A policy picks each stage's end volumes (targets) from the stage, the start volumes and the stage's inflows;
the stage LP then dispatches at least cost (``rlcert.envs.hydro.stage``). Targets are projected into the
interval one stage can always reach — [min volume, min(max volume, v_in + K (w − min turbined flow))]: spilling
reaches anything lower, and water from upstream can always be spilled on — so every stage is feasible (the
"reachable" targets of Rosemberg et al. 2024, §4; a policy's own squashing keeps the projection idle).

Baselines (same paths for all): the **wait-and-see** bound (each path solved as one LP knowing all its
inflows: a lower bound on any policy's expected cost), the **myopic** policy (each stage at least cost with
the end volume free: water has no future value) and the **deterministic** policy (the horizon LP on the mean
inflows gives a volume trajectory, which the policy follows as targets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rlcert.envs.hydro.case import HydroCase
from rlcert.envs.hydro.stage import StageProblem, add_stage
from rlcert.reports.errors import InvalidValueError

__all__ = [
    "TargetPolicy",
    "Rollout",
    "reachable_interval",
    "sample_inflow_paths",
    "simulate",
    "myopic_targets",
    "deterministic_policy",
    "wait_and_see_costs",
    "HorizonProblem",
]

TargetPolicy = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""(stage, start volumes, stage inflows) -> target end volumes."""


def reachable_interval(case: HydroCase, v_in: np.ndarray, inflow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The end volumes one stage can reach whatever the plants upstream do (see the module docstring)."""
    low = np.array([p.min_volume for p in case.plants])
    top = np.array([p.max_volume for p in case.plants])
    least_outflow = np.array([p.min_turn for p in case.plants])
    high = np.minimum(top, np.asarray(v_in) + case.water_balance_k * (np.asarray(inflow) - least_outflow))
    return low, np.maximum(high, low)


def sample_inflow_paths(case: HydroCase, horizon: int, count: int, seed: int) -> np.ndarray:
    """(count, horizon, plants) inflows: each stage draws one of the case's joint scenarios uniformly and
    independently of the other stages (stagewise independence, as SDDP assumes), from ``SeedSequence(seed)``."""
    if horizon < 1 or count < 1:
        raise InvalidValueError(f"horizon and count must be >= 1, got {horizon} and {count}")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    picks = rng.integers(0, case.scenarios, size=(count, horizon))
    stages = np.arange(horizon)
    return np.stack([case.stage_inflows(t)[:, picks[:, t]].T for t in stages], axis=1)


@dataclass(frozen=True)
class Rollout:
    """What a policy did on each path: stage costs and the volumes after each stage."""

    costs: np.ndarray
    """(paths, horizon) stage costs."""
    volumes: np.ndarray
    """(paths, horizon + 1, plants): the start volumes, then the end volumes of each stage."""
    projected: int
    """Stage decisions whose targets had to be projected into the reachable interval."""

    @property
    def total_costs(self) -> np.ndarray:
        return self.costs.sum(axis=1)

    def mean_and_interval(self, level: float = 0.95) -> tuple[float, float, float]:
        """Mean total cost and its Student t interval over the paths (empirical)."""
        from scipy import stats

        totals = self.total_costs
        mean = float(totals.mean())
        if len(totals) < 2:
            return mean, mean, mean
        half = float(stats.t.ppf(0.5 + level / 2, len(totals) - 1) * totals.std(ddof=1) / np.sqrt(len(totals)))
        return mean, mean - half, mean + half


def simulate(case: HydroCase, policy: TargetPolicy, paths: np.ndarray, stage: StageProblem | None = None) -> Rollout:
    """Roll ``policy`` over every inflow path (paths × horizon × plants), projecting its targets into the
    reachable interval, and record costs and volumes."""
    stage = stage or StageProblem(case)
    count, horizon, plants = paths.shape
    costs = np.zeros((count, horizon))
    volumes = np.zeros((count, horizon + 1, plants))
    volumes[:, 0] = case.initial_volume
    projected = 0
    for i in range(count):
        for t in range(horizon):
            v_in, inflow = volumes[i, t], paths[i, t]
            low, high = reachable_interval(case, v_in, inflow)
            wanted = np.asarray(policy(t, v_in, inflow), dtype=float)
            target = np.clip(wanted, low, high)
            projected += int(not np.allclose(target, wanted, rtol=0, atol=1e-12))
            solution = stage.solve(v_in, inflow, target)
            costs[i, t] = solution.cost
            volumes[i, t + 1] = solution.v_out
    return Rollout(costs, volumes, projected)


def myopic_targets(case: HydroCase) -> TargetPolicy:
    """Each stage at least cost with a free end volume: whatever end volume that LP leaves is the target."""
    free = StageProblem(case, targets=False)
    return lambda t, v_in, inflow: free.solve(v_in, inflow).v_out


class HorizonProblem:
    """The whole horizon as one LP (a pyomo block per stage, each stage's start volume the end volume of the
    stage before), with the inflows as mutable Params, solved by pyomo's persistent HiGHS interface."""

    def __init__(self, case: HydroCase, horizon: int):
        import pyomo.environ as pyo

        self.case, self.horizon = case, horizon
        model = pyo.ConcreteModel(name=f"{case.name} horizon of {horizon}")
        model.T = pyo.RangeSet(0, horizon - 1)
        model.P = pyo.RangeSet(0, len(case.plants) - 1)
        model.inflow = pyo.Param(model.T, model.P, mutable=True, initialize=0.0)
        model.stage = pyo.Block(model.T)
        start = case.initial_volume
        for t in model.T:
            v_in = start if t == 0 else model.stage[t - 1].v_out
            add_stage(model.stage[t], case, v_in, {r: model.inflow[t, r] for r in model.P})
        model.cost = pyo.Objective(expr=sum(model.stage[t].stage_cost for t in model.T))
        self.model = model
        self.solver = pyo.SolverFactory("appsi_highs")

    def solve(self, inflows: np.ndarray) -> tuple[float, np.ndarray]:
        """(total cost, (horizon, plants) end volumes) for one path of (horizon, plants) inflows."""
        import pyomo.environ as pyo

        model = self.model
        for t in range(self.horizon):
            for r in range(len(self.case.plants)):
                model.inflow[t, r] = float(inflows[t, r])
        self.solver.solve(model)
        volumes = np.array([[pyo.value(model.stage[t].v_out[r]) for r in model.P] for t in model.T])
        return float(pyo.value(model.cost)), volumes


def deterministic_policy(case: HydroCase, horizon: int) -> TargetPolicy:
    """Follow the volume trajectory of the horizon LP on the mean inflows (the deterministic equivalent)."""
    mean_inflows = np.stack([case.stage_inflows(t).mean(axis=1) for t in range(horizon)])
    _, trajectory = HorizonProblem(case, horizon).solve(mean_inflows)
    return lambda t, v_in, inflow: trajectory[t]


def wait_and_see_costs(case: HydroCase, paths: np.ndarray) -> np.ndarray:
    """Each path's least cost knowing all its inflows in advance: a lower bound on every policy's cost on it."""
    problem = HorizonProblem(case, paths.shape[1])
    return np.array([problem.solve(path)[0] for path in paths])
