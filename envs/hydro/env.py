"""Hydrothermal dispatch as a gymnasium CMDP: ``rlcert/HydroDispatch-v0``.

Each step is one stage: the agent picks, for every reservoir, where in its reachable interval the stage
should end (an action in [0, 1] per plant: 0 the lowest volume one stage can reach, 1 the highest), and the
stage LP dispatches at least cost (``rlcert.envs.hydro.stage``). The reward is minus the stage's operating cost
(thermal, hydro and unserved load at the deficit cost, scaled by ``cost_scale``): the objective TS-DDR and SDDP
minimise. Inflows are drawn each stage from the case's joint scenarios (stagewise independent) with the env's
own generator, seeded by ``reset(seed=)``.

The constraint is a minimum-storage security curve, the kind of rule an operator puts over the cost-minimising
dispatch to keep a reserve against droughts (Brazil's operator calls its version the risk-aversion curve):
``info["cost"]`` is 1 at every stage that ends with the stored water (all reservoirs together, as a fraction
of their total capacity) below ``security_level``. Water used now is cheap energy, so an agent that only
minimises cost draws the reservoirs down below the curve; keeping above it means burning thermal fuel.
Episodes start with every reservoir at ``start_level`` of its capacity (the cases' own data start empty,
below any curve). ``info`` also carries the stage's unserved load (``deficit``, pu) and its stored fraction.

The observation holds the start volumes over their maxima, the stage's inflows over their means, and the
season (sin and cos of the stage's position in the inflow cycle).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlcert.envs.hydro.case import bundled_case
from rlcert.envs.hydro.simulate import reachable_interval
from rlcert.envs.hydro.stage import StageProblem
from rlcert.reports.validation import check_count, check_finite, check_fraction

__all__ = ["HydroDispatchEnv", "HYDRO_DISPATCH_ID"]

HYDRO_DISPATCH_ID = "rlcert/HydroDispatch-v0"


class HydroDispatchEnv(gym.Env):
    """Long-term hydrothermal dispatch, one stage per step, under a minimum-storage curve (module docstring).

    Example:
        >>> env = HydroDispatchEnv(case="tiny", horizon=12)
        >>> _ = env.reset(seed=0)
        >>> _, reward, _, _, info = env.step(np.ones(2, dtype=np.float32))  # keep all the water one can
        >>> info["cost"], info["stored"] >= 0.5  # the storage starts at half and stays above the 0.3 curve
        (0.0, True)
    """

    metadata = {"render_modes": []}

    def __init__(self, case: str = "tiny", horizon: int = 12, cost_scale: float = 1e-3, security_level: float = 0.3,
                 start_level: float = 0.5, render_mode: str | None = None):  # fmt: skip
        if render_mode is not None:
            raise ValueError(f"{HYDRO_DISPATCH_ID} does not render, got render_mode={render_mode!r}")
        self.render_mode = None
        check_count("horizon", horizon)
        check_finite("cost_scale", cost_scale, 0, strict=True)
        check_fraction("security_level", security_level)
        check_fraction("start_level", start_level)
        self.case = bundled_case(case)
        self.horizon, self.cost_scale = horizon, float(cost_scale)
        self.security_level, self.start_level = float(security_level), float(start_level)
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
        self._volumes = self.start_level * self._top
        self._inflow = self._draw_inflow()
        return self._observation(), {}

    def step(self, action):
        fraction = np.clip(np.asarray(action, dtype=float), 0.0, 1.0)
        low, high = reachable_interval(self.case, self._volumes, self._inflow)
        solution = self.stage.solve(self._volumes, self._inflow, low + fraction * (high - low))
        self._volumes = solution.v_out
        stored = float(self._volumes.sum() / self._top.sum())
        self._t += 1
        truncated = self._t >= self.horizon
        if not truncated:
            self._inflow = self._draw_inflow()
        # The tolerance keeps a reservoir held exactly at the curve (up to the LP's rounding) on the right side.
        info = {"cost": float(stored < self.security_level - 1e-9), "deficit": float(solution.deficit.sum()),
                "stored": stored, "stage_cost": solution.stage_cost}  # fmt: skip
        return self._observation(), -solution.stage_cost * self.cost_scale, False, truncated, info


if HYDRO_DISPATCH_ID not in gym.registry:
    gym.register(id=HYDRO_DISPATCH_ID, entry_point="rlcert.envs.hydro.env:HydroDispatchEnv")
