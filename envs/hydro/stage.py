"""The DC stage problem of long-term hydrothermal dispatch, built once in pyomo, solved many times in highspy.

One stage (Rosemberg et al. 2024, §5; the DC model of HydroPowerModels): given the volumes ``v_in`` at the
start, the inflows ``w`` and the target volumes ``x̂`` at the end, dispatch thermal and hydro generation over
a DC network at least cost::

    min  Σ c_g pg_g + c_def Σ deficit_b
    s.t. Σ_{g at b} pg_g + deficit_b − Σ_{lines out of b} p_l + Σ_{lines into b} p_l = load_b     (each bus)
         p_l = b_l (θ_from − θ_to),  |p_l| ≤ rate_l,  θ_ref = 0                                    (each line)
         v_out_r + K q_r − K Σ_up q_u + s_r − Σ_up s_u = v_in_r + K w_r                             (each reservoir)
         baseMVA · pg_{g(r)} = ρ_r q_r                                                              (each plant)
         v_out_r = x̂_r                                                                              (the targets)

with bounds on generation, turbined flow q, spill s ≥ 0 and volumes. The start volumes, inflows and targets
enter only the right-hand sides, so the model is compiled once (pyomo's standard-form compiler) and held in a
persistent highspy model whose row bounds alone change between solves. The duals of the target rows are
∂cost/∂x̂ (envelope theorem): TS-DDR's gradient (``rlcert.envs.hydro`` tests check them against finite
differences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlcert.envs.hydro.case import HydroCase
from rlcert.reports.errors import InvalidValueError, OperationError

__all__ = ["StageSolution", "StageProblem", "build_pyomo_stage", "add_stage"]


def add_stage(block, case: HydroCase, v_in, inflow) -> None:
    """Add one stage's variables and constraints to a pyomo ``block`` (a model or a block of a horizon model),
    with ``block.stage_cost`` its cost. ``v_in`` and ``inflow`` index by plant: Params, numbers, or the end
    volumes of the stage before (a horizon model)."""
    import pyomo.environ as pyo

    plants = range(len(case.plants))
    block.B, block.G, block.L, block.R = (pyo.RangeSet(0, n - 1) for n in (
        case.buses, len(case.gen_bus), len(case.branch_from), len(case.plants)))  # fmt: skip
    block.theta = pyo.Var(block.B, bounds=lambda m, b: (0.0, 0.0) if b == case.reference_bus else (None, None))
    block.pg = pyo.Var(block.G, bounds=lambda m, g: (case.gen_min[g], case.gen_max[g]))
    block.flow = pyo.Var(block.L, bounds=lambda m, line: (-case.branch_limit[line], case.branch_limit[line]))
    block.deficit = pyo.Var(block.B, bounds=(0.0, None))
    block.v_out = pyo.Var(block.R, bounds=lambda m, r: (case.plants[r].min_volume, case.plants[r].max_volume))
    block.turbined = pyo.Var(block.R, bounds=lambda m, r: (case.plants[r].min_turn, case.plants[r].max_turn))
    block.spill = pyo.Var(block.R, bounds=(0.0, None))
    generation_cost = sum(case.gen_cost[g] * block.pg[g] for g in block.G)
    block.stage_cost = pyo.Expression(expr=generation_cost + case.deficit_cost * sum(block.deficit[b] for b in block.B))

    def bus_balance(m, b):
        generation = sum(m.pg[g] for g in m.G if case.gen_bus[g] == b)
        out = sum(m.flow[line] for line in m.L if case.branch_from[line] == b)
        into = sum(m.flow[line] for line in m.L if case.branch_to[line] == b)
        return generation + m.deficit[b] - out + into == float(case.bus_load[b])

    def line_flow(m, line):
        theta = m.theta[int(case.branch_from[line])] - m.theta[int(case.branch_to[line])]
        return m.flow[line] - case.branch_susceptance[line] * theta == 0

    k = case.water_balance_k
    upstream_turn = {r: [u for u in plants if r in case.plants[u].downstream_turn] for r in plants}
    upstream_spill = {r: [u for u in plants if r in case.plants[u].downstream_spill] for r in plants}

    def water_balance(m, r):
        arriving = k * sum(m.turbined[u] for u in upstream_turn[r]) + sum(m.spill[u] for u in upstream_spill[r])
        return m.v_out[r] + k * m.turbined[r] + m.spill[r] - arriving == v_in[r] + k * inflow[r]

    def turbine(m, r):
        plant = case.plants[r]
        return case.base_mva * m.pg[plant.generator] - plant.production_factor * m.turbined[r] == 0

    block.bus_balance = pyo.Constraint(block.B, rule=bus_balance)
    block.line_flow = pyo.Constraint(block.L, rule=line_flow)
    block.water_balance = pyo.Constraint(block.R, rule=water_balance)
    block.turbine = pyo.Constraint(block.R, rule=turbine)


def build_pyomo_stage(case: HydroCase, targets: bool = True):
    """The stage problem as a pyomo model; ``v_in``, ``inflow`` and ``target`` are mutable Params. Without
    ``targets`` the end volumes are free (the myopic problem)."""
    import pyomo.environ as pyo

    model = pyo.ConcreteModel(name=f"{case.name} DC stage")
    plants = pyo.RangeSet(0, len(case.plants) - 1)
    model.v_in = pyo.Param(plants, mutable=True, initialize=0.0)
    model.inflow = pyo.Param(plants, mutable=True, initialize=0.0)
    add_stage(model, case, model.v_in, model.inflow)
    model.cost = pyo.Objective(expr=model.stage_cost)
    if targets:
        model.target = pyo.Param(model.R, mutable=True, initialize=0.0)
        model.target_volume = pyo.Constraint(model.R, rule=lambda m, r: m.v_out[r] == m.target[r])
    return model


@dataclass(frozen=True)
class StageSolution:
    """One solved stage. ``target_duals[r]`` = ∂cost/∂x̂_r; ``water_duals[r]`` = ∂cost/∂(v_in_r + K w_r)."""

    cost: float
    v_out: np.ndarray
    turbined: np.ndarray
    spill: np.ndarray
    generation: np.ndarray
    deficit: np.ndarray
    target_duals: np.ndarray | None
    water_duals: np.ndarray
    future_cost: float = 0.0
    """The value of the future-cost variable (SDDP's cuts; 0 without them). ``cost`` includes it."""

    @property
    def stage_cost(self) -> float:
        """The cost of this stage alone (``cost`` less the future cost)."""
        return self.cost - self.future_cost


class StageProblem:
    """The stage LP of ``case`` in a persistent highspy model; only row bounds change between solves.

    Example:
        >>> from rlcert.envs.hydro import bundled_case
        >>> case = bundled_case("tiny")
        >>> stage = StageProblem(case)
        >>> solution = stage.solve(np.zeros(2), case.stage_inflows(0)[:, 0], np.full(2, 0.001))
        >>> solution.target_duals.shape
        (2,)
    """

    def __init__(self, case: HydroCase, targets: bool = True):
        import highspy
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        self.case, self.targets = case, targets
        model = build_pyomo_stage(case, targets)
        form = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
        columns = {id(var): j for j, var in enumerate(form.columns)}
        rows = {id(con): i for i, (con, _) in enumerate(form.rows)}
        self._columns = {name: np.array([columns[id(getattr(model, name)[i])] for i in getattr(model, name)])
                         for name in ("v_out", "turbined", "spill", "pg", "deficit")}  # fmt: skip
        self._water_rows = np.array([rows[id(model.water_balance[r])] for r in model.R], dtype=np.int32)
        self._target_rows = (
            np.array([rows[id(model.target_volume[r])] for r in model.R], dtype=np.int32) if targets else None
        )
        self._offset = float(np.asarray(form.c_offset).ravel()[0]) if np.size(form.c_offset) else 0.0
        matrix = form.A.tocsc()
        rhs = np.asarray(form.rhs, dtype=float)
        senses = [sense for _, sense in form.rows]
        lower = np.array([rhs[i] if s in (0, 1) else -highspy.kHighsInf for i, s in enumerate(senses)])
        upper = np.array([rhs[i] if s in (0, -1) else highspy.kHighsInf for i, s in enumerate(senses)])
        col_lower = np.array([v.lb if v.lb is not None else -highspy.kHighsInf for v in form.columns], dtype=float)
        col_upper = np.array([v.ub if v.ub is not None else highspy.kHighsInf for v in form.columns], dtype=float)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = matrix.shape[1], matrix.shape[0]
        lp.col_cost_ = np.asarray(form.c.todense()).ravel().astype(float)
        lp.col_lower_, lp.col_upper_ = col_lower, col_upper
        lp.row_lower_, lp.row_upper_ = lower, upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.passModel(lp)
        self._optimal = highspy.HighsModelStatus.kOptimal
        self.variables, self.rows = lp.num_col_, lp.num_row_
        self.equality_rows = sum(1 for s in senses if s == 0)
        self._future_column: int | None = None
        self.cuts = 0

    def add_cut(self, intercept: float, slopes: np.ndarray) -> None:
        """Add the Benders cut future_cost >= intercept + slopes · v_out (SDDP); the first cut adds the
        future-cost variable (cost 1, >= 0, since no stage costs less than nothing)."""
        import highspy

        if self._future_column is None:
            self._highs.addCol(1.0, 0.0, highspy.kHighsInf, 0, np.array([], dtype=np.int32), np.array([], dtype=float))
            self._future_column = self._highs.getNumCol() - 1
        columns = np.concatenate([[self._future_column], self._columns["v_out"]]).astype(np.int32)
        values = np.concatenate([[1.0], -np.asarray(slopes, dtype=float)])
        self._highs.addRow(float(intercept), highspy.kHighsInf, len(columns), columns, values)
        self.cuts += 1

    def restart(self) -> None:
        """Forget the basis the last solve ended in: the next solve starts cold, as on a fresh model."""
        self._highs.clearSolver()

    def solve(self, v_in: np.ndarray, inflow: np.ndarray, target: np.ndarray | None = None) -> StageSolution:
        """Solve with start volumes ``v_in``, inflows ``inflow`` and end targets ``target`` (all per plant)."""
        case = self.case
        water = np.asarray(v_in, dtype=float) + case.water_balance_k * np.asarray(inflow, dtype=float)
        self._highs.changeRowsBounds(len(water), self._water_rows, water, water)
        if self.targets:
            if target is None:
                raise InvalidValueError("this stage problem has target rows: pass the target volumes")
            target = np.asarray(target, dtype=float)
            self._highs.changeRowsBounds(len(target), self._target_rows, target, target)
        elif target is not None:
            raise InvalidValueError("this stage problem has free end volumes: a target cannot apply")
        self._highs.run()
        status = self._highs.getModelStatus()
        if status != self._optimal:
            # A warm start from a basis many cuts ago can end in "Unknown": solve again from scratch before
            # calling the problem what it is.
            self._highs.clearSolver()
            self._highs.run()
            status = self._highs.getModelStatus()
        if status != self._optimal:
            hint = " (targets outside what the inflows and limits can reach?)" if self.targets else ""
            raise OperationError(f"the stage LP of {case.name} is {self._highs.modelStatusToString(status)}{hint}")
        solution = self._highs.getSolution()
        x = np.asarray(solution.col_value)
        duals = np.asarray(solution.row_dual)
        return StageSolution(
            cost=float(self._highs.getInfo().objective_function_value) + self._offset,
            v_out=x[self._columns["v_out"]],
            turbined=x[self._columns["turbined"]],
            spill=x[self._columns["spill"]],
            generation=x[self._columns["pg"]],
            deficit=x[self._columns["deficit"]],
            target_duals=duals[self._target_rows] if self.targets else None,
            water_duals=duals[self._water_rows],
            future_cost=float(x[self._future_column]) if self._future_column is not None else 0.0,
        )
