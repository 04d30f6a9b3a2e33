"""Hydrothermal dispatch as a gymnasium CMDP: ``rlcert/HydroDispatch-v0``.

Each step is one stage: the agent picks, for every reservoir, where in its reachable interval the stage
should end (an action in [0, 1] per plant: 0 the lowest volume one stage can reach, 1 the highest), and the
stage LP dispatches at least cost (``rlcert.envs.hydro.stage``). The reward is minus the stage's generation
cost (thermal and hydro, scaled by ``cost_scale``); the constraint cost ``info["cost"]`` is the unserved load
(pu), which the stage LP would otherwise price at the deficit cost. Inflows are drawn each stage from the
case's joint scenarios (stagewise independent) with the env's own generator, seeded by ``reset(seed=)``.

The observation holds the start volumes over their maxima, the stage's inflows over their means, and the
season (sin and cos of the stage's position in the inflow cycle).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlcert.envs.hydro.case import bundled_case
from rlcert.envs.hydro.simulate import reachable_interval
from rlcert.envs.hydro.stage import StageProblem
from rlcert.reports.validation import check_count, check_finite

__all__ = ["HydroDispatchEnv", "HYDRO_DISPATCH_ID"]

HYDRO_DISPATCH_ID = "rlcert/HydroDispatch-v0"


class HydroDispatchEnv(gym.Env):
    """Long-term hydrothermal dispatch, one stage per step (see the module docstring)."""

    metadata = {"render_modes": []}

    def __init__(self, case: str = "tiny", horizon: int = 12, cost_scale: float = 1e-3, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError(f"{HYDRO_DISPATCH_ID} does not render, got render_mode={render_mode!r}")
        self.render_mode = None
        check_count("horizon", horizon)
        check_finite("cost_scale", cost_scale, 0, strict=True)
        self.case = bundled_case(case)
        self.horizon, self.cost_scale = horizon, float(cost_scale)
        self.stage = StageProblem(self.case)
        plants = len(self.case.plants)
        self._top = np.array([p.max_volume for p in self.case.plants])
        self._inflow_scale = np.maximum(self.case.inflows.mean(axis=(0, 2)), 1e-9)
        self.action_space = gym.spaces.Box(0.0, 1.0, (plants,), np.float32)
        low = np.concatenate([np.zeros(2 * plants), [-1.0, -1.0]]).astype(np.float32)
        largest_inflow = self.case.inflows.max(axis=(0, 2)) / self._inflow_scale  # the case's inflows are all there are
        high = np.concatenate([np.ones(plants), largest_inflow, [1.0, 1.0]]).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def _draw_inflow(self) -> np.ndarray:
        scenario = int(self.np_random.integers(self.case.scenarios))
        return self.case.stage_inflows(self._t)[:, scenario]

    def _observation(self) -> np.ndarray:
        season = 2 * np.pi * (self._t % self.case.inflows.shape[0]) / self.case.inflows.shape[0]
        parts = [self._volumes / np.maximum(self._top, 1e-9), self._inflow / self._inflow_scale,
                 [np.sin(season), np.cos(season)]]  # fmt: skip
        return np.concatenate(parts).astype(np.float32)

    def reset(self, *, seed: int | None = None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._volumes = self.case.initial_volume.copy()
        self._inflow = self._draw_inflow()
        return self._observation(), {}

    def step(self, action):
        fraction = np.clip(np.asarray(action, dtype=float), 0.0, 1.0)
        low, high = reachable_interval(self.case, self._volumes, self._inflow)
        solution = self.stage.solve(self._volumes, self._inflow, low + fraction * (high - low))
        deficit = float(solution.deficit.sum())
        generation_cost = solution.stage_cost - self.case.deficit_cost * deficit
        self._volumes = solution.v_out
        self._t += 1
        truncated = self._t >= self.horizon
        if not truncated:
            self._inflow = self._draw_inflow()
        info = {"cost": deficit, "stage_cost": solution.stage_cost}
        return self._observation(), -generation_cost * self.cost_scale, False, truncated, info


if HYDRO_DISPATCH_ID not in gym.registry:
    gym.register(id=HYDRO_DISPATCH_ID, entry_point="rlcert.envs.hydro.env:HydroDispatchEnv")
