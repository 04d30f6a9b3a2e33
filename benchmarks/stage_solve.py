"""Bolivia stage LP solves per second: the persistent highspy model (row bounds changed between solves) vs a
fresh pyomo solve per call (set the mutable Params, solve with pyomo's HiGHS interface).

Each solve takes a different scenario's inflows and random reachable targets, as TS-DDR's forward pass does.
Both paths solve the same LPs (their costs are checked to agree). Prints solves per second and the ratio.

Then a TS-DDR minibatch (``--batch`` rows a stage, ``rlcert.envs.hydro.stage_batch``): solves per second with the
rows spread over ``--workers`` processes against the same batch solved serially, in the same process run; the
results must be equal row for row. On a busy or 2-core machine the parallel figure is bounded by the cores free.

    python benchmarks/stage_solve.py
    python benchmarks/stage_solve.py --case tiny --solves 2000
    python benchmarks/stage_solve.py --workers 4 --batch 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from rlcert.envs.hydro import bundled_case
from rlcert.envs.hydro.stage import StageProblem, build_pyomo_stage
from rlcert.envs.hydro.stage_batch import StageBatch


def _problems(case, count: int, seed: int):
    rng = np.random.default_rng(seed)
    top = np.array([p.max_volume for p in case.plants])
    for i in range(count):
        inflow = case.stage_inflows(i)[:, i % case.scenarios]
        v_in = rng.uniform(0, 0.5) * top
        reach = np.minimum(top, v_in + case.water_balance_k * inflow)
        yield v_in, inflow, rng.uniform(0.1, 0.9, len(top)) * reach


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="bolivia")
    parser.add_argument("--solves", type=int, default=5000, help="persistent highspy solves")
    parser.add_argument("--pyomo-solves", type=int, default=200, help="fresh pyomo solves (slow)")
    parser.add_argument("--batch", type=int, default=16, help="rows of the TS-DDR minibatch")
    parser.add_argument("--workers", type=int, default=2, help="processes solving the minibatch")
    parser.add_argument("--stages", type=int, default=200, help="minibatch stages timed")
    args = parser.parse_args()
    import pyomo.environ as pyo

    case = bundled_case(args.case)
    stage = StageProblem(case)
    problems = list(_problems(case, args.solves, seed=0))
    stage.solve(*problems[0])  # first solve outside the timing
    start = time.perf_counter()
    costs = [stage.solve(*problem).cost for problem in problems]
    persistent = args.solves / (time.perf_counter() - start)

    model = build_pyomo_stage(case)
    solver = pyo.SolverFactory("appsi_highs")
    fresh_costs = []
    start = time.perf_counter()
    for v_in, inflow, target in problems[: args.pyomo_solves]:
        for r in range(len(case.plants)):
            model.v_in[r], model.inflow[r], model.target[r] = v_in[r], inflow[r], target[r]
        solver.solve(model)
        fresh_costs.append(pyo.value(model.cost))
    fresh = args.pyomo_solves / (time.perf_counter() - start)
    assert np.allclose(costs[: args.pyomo_solves], fresh_costs, rtol=1e-7), "the two paths disagree"

    table = Table(title=f"{case.name} stage LP ({stage.variables} variables, {stage.rows} rows), one core")
    for column in ("path", "solves", "solves / s"):
        table.add_column(column, justify="right")
    table.add_row("persistent highspy (row bounds changed)", f"{args.solves:,}", f"{persistent:,.0f}")
    table.add_row("fresh pyomo solve per call (appsi_highs)", f"{args.pyomo_solves:,}", f"{fresh:,.0f}")
    Console().print(table)
    print(f"ratio persistent / fresh pyomo: {persistent / fresh:.1f}x")

    batches = [list(zip(*_problems(case, args.batch, seed=1 + i))) for i in range(args.stages)]
    rates, results = {}, {}
    for workers in (1, args.workers):
        with StageBatch(case, args.batch, workers) as batch:
            batch.solve(*batches[0])  # outside the timing: the workers' first round trip
            batch.restart()
            start = time.perf_counter()
            results[workers] = [batch.solve(*stage) for stage in batches]
            rates[workers] = args.batch * args.stages / (time.perf_counter() - start)
    for serial, parallel in zip(results[1], results[args.workers]):
        assert all(np.array_equal(a, b) for a, b in zip(serial, parallel)), "the workers changed a result"
    print(
        f"minibatch of {args.batch} rows x {args.stages} stages: serial {rates[1]:,.0f} solves/s, "
        f"{args.workers} workers {rates[args.workers]:,.0f} solves/s, ratio {rates[args.workers] / rates[1]:.2f}x"
    )


if __name__ == "__main__":
    main()
