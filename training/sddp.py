"""Stochastic Dual Dynamic Programming (Pereira & Pinto 1991) on the hydrothermal stage problems: the yardstick
TS-DDR is measured against (Rosemberg et al. 2024, §5).

Each stage's future cost — the expected cost of the stages after it, as a function of its end volumes — is
approximated from below by Benders cuts. An iteration samples one inflow path (stagewise independent, each
stage drawing one of its joint scenarios uniformly), runs it forward with the current cuts to get trial
volumes, then goes backward: at every stage t it solves stage t + 1 from the trial volumes of t under every
scenario of t + 1 and adds the cut of their mean cost and mean start-volume duals to stage t. The first
stage's expected cost with its cuts is a deterministic lower bound on the optimal policy's expected cost; the
mean cost of simulated paths under the cuts' policy is a statistical upper bound (with its confidence
interval). Training stops when the lower bound comes within ``tolerance`` of that interval, or at
``max_iterations``. No maintained Python package reads this format (REFERENCE §8), hence this compact one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rlcert.envs.hydro.case import HydroCase
from rlcert.envs.hydro.simulate import Rollout, TargetPolicy, sample_inflow_paths
from rlcert.envs.hydro.stage import StageProblem
from rlcert.reports.validation import check_count, check_finite

__all__ = ["SDDPConfig", "SDDPResult", "SDDP"]


@dataclass(frozen=True)
class SDDPConfig:
    horizon: int = 96
    """Stages (the final volume is free: no cost after the last stage)."""
    max_iterations: int = 300
    check_every: int = 25
    """Iterations between upper-bound simulations."""
    simulations: int = 100
    """Paths of each upper-bound simulation."""
    tolerance: float = 0.01
    """Stop when the lower bound is within this fraction (of the upper bound's mean) of its interval's low end."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("horizon", "max_iterations", "check_every", "simulations"):
            check_count(name, getattr(self, name))
        check_count("seed", self.seed, 0)
        check_finite("tolerance", self.tolerance, 0, strict=True)


@dataclass(frozen=True)
class SDDPResult:
    iterations: int
    lower_bound: float
    """Deterministic: no policy's expected cost is below it."""
    upper_bound: tuple[float, float, float]
    """(mean, low, high) of the simulated cost under the cuts' policy, 95 % Student t interval."""
    cuts: int
    history: tuple[tuple[int, float, float, float, float], ...]
    """(iteration, lower bound, upper mean, upper low, upper high) at each check."""
    wall_time_s: float
    converged: bool
    """The lower bound reached the upper bound's interval within the tolerance."""


class SDDP:
    """Cuts for every stage of ``case`` over ``config.horizon`` stages, on persistent stage LPs."""

    def __init__(self, case: HydroCase, config: SDDPConfig):
        self.case, self.config = case, config
        self.stages = [StageProblem(case, targets=False) for _ in range(config.horizon)]
        self.cuts: list[list[tuple[float, np.ndarray]]] = [[] for _ in range(config.horizon)]
        """Each stage's cuts (intercept, slopes): its future cost is at least their maximum."""

    def _scenarios(self, t: int) -> np.ndarray:
        return self.case.stage_inflows(t).T  # (scenarios, plants)

    def lower_bound(self) -> float:
        """The first stage's expected cost including its future-cost cuts (mean over its scenarios)."""
        start = self.case.initial_volume
        return float(np.mean([self.stages[0].solve(start, w).cost for w in self._scenarios(0)]))

    def policy(self) -> TargetPolicy:
        """The cuts' policy: each stage's end volumes as its LP with the future-cost cuts chooses them."""
        return lambda t, v_in, inflow: self.stages[t].solve(v_in, inflow).v_out

    def _forward(self, path: np.ndarray) -> list[np.ndarray]:
        volumes, v = [], self.case.initial_volume
        for t, inflow in enumerate(path):
            v = self.stages[t].solve(v, inflow).v_out
            volumes.append(v)
        return volumes

    def _backward(self, volumes: list[np.ndarray]) -> None:
        for t in range(self.config.horizon - 2, -1, -1):
            trial = volumes[t]
            solutions = [self.stages[t + 1].solve(trial, w) for w in self._scenarios(t + 1)]
            mean_cost = float(np.mean([s.cost for s in solutions]))
            slopes = np.mean([s.water_duals for s in solutions], axis=0)  # ∂cost/∂v_in: start volumes enter the RHS
            intercept = mean_cost - float(slopes @ trial)
            self.stages[t].add_cut(intercept, slopes)
            self.cuts[t].append((intercept, slopes))

    def simulate(self, paths: np.ndarray) -> Rollout:
        """Costs of the cuts' policy on ``paths`` (counted without the future-cost variable)."""
        count, horizon, plants = paths.shape
        costs = np.zeros((count, horizon))
        volumes = np.zeros((count, horizon + 1, plants))
        for i, path in enumerate(paths):
            v = self.case.initial_volume
            for t, inflow in enumerate(path):
                solution = self.stages[t].solve(v, inflow)
                costs[i, t], v = solution.stage_cost, solution.v_out
                volumes[i, t + 1] = v
        return Rollout(costs, volumes, 0)

    def train(self, progress=None) -> SDDPResult:
        """Iterate until the bounds meet (see the module docstring)."""
        config, start, history = self.config, time.perf_counter(), []
        root = np.random.SeedSequence(config.seed)
        forward_seed, check_seed = (int(c.generate_state(1)[0]) for c in root.spawn(2))
        paths = sample_inflow_paths(self.case, config.horizon, config.max_iterations, forward_seed)
        upper, converged, iteration = (np.inf, -np.inf, np.inf), False, 0
        for iteration in range(1, config.max_iterations + 1):
            self._backward(self._forward(paths[iteration - 1]))
            if iteration % config.check_every == 0 or iteration == config.max_iterations:
                lower = self.lower_bound()
                checks = sample_inflow_paths(self.case, config.horizon, config.simulations, check_seed)
                upper = self.simulate(checks).mean_and_interval()
                history.append((iteration, lower, *upper))
                if progress is not None:
                    progress(history[-1])
                # The deterministic lower bound reached (within the tolerance) the upper bound's interval.
                converged = lower >= upper[1] - config.tolerance * abs(upper[0])
                if converged:
                    break
        return SDDPResult(
            iteration, self.lower_bound(), upper, sum(s.cuts for s in self.stages), tuple(history),
            time.perf_counter() - start, converged,
        )  # fmt: skip
