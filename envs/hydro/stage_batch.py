"""A minibatch of stage LPs solved together, spread over worker processes (one persistent model per row).

TS-DDR's forward pass solves, at every stage, one stage LP per inflow path of its minibatch. ``StageBatch``
gives every row of the minibatch a persistent highspy model of its own, and hands contiguous blocks of rows to
``workers`` processes (each builds the models of its rows once and keeps them for the whole run).

Why a model per row rather than per worker: highspy warm-starts each solve from the basis the model last
ended in, and where an LP is degenerate (several optimal bases) the basis it stops in — and so the duals that
are TS-DDR's gradient — depends on that start. With a model per row, a row's warm starts come from its own
earlier stages alone, so the results are the same for any number of workers, serial included; and
:meth:`StageBatch.restart` at the start of each new set of paths makes them independent of earlier paths too.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback

import numpy as np

from rlcert.envs.hydro.case import HydroCase
from rlcert.envs.hydro.stage import StageProblem
from rlcert.reports.errors import OperationError, RlcertError
from rlcert.reports.validation import check_count

__all__ = ["StageBatch"]


def _solve_rows(models: list[StageProblem], v_in: np.ndarray, inflow: np.ndarray, target: np.ndarray):
    """(costs, target duals, water duals) of ``models[i]`` solved with row i of the arrays."""
    solutions = [model.solve(v, w, x) for model, v, w, x in zip(models, v_in, inflow, target)]
    return (np.array([s.cost for s in solutions]), np.array([s.target_duals for s in solutions]),
            np.array([s.water_duals for s in solutions]))  # fmt: skip


def _worker(connection, case: HydroCase, rows: int) -> None:
    """Serve solves of ``rows`` rows until told to stop (None); an error goes back as its message."""
    models = [StageProblem(case) for _ in range(rows)]
    while (request := connection.recv()) is not None:
        try:
            if request == "restart":
                for model in models:
                    model.restart()
                continue
            connection.send(_solve_rows(models, *request))
        except RlcertError as exc:  # the user's to fix (an infeasible stage): raised again in the parent
            connection.send(exc)
        except Exception:  # noqa: BLE001 -- a bug: its traceback goes to the parent, which raises it there
            connection.send(traceback.format_exc())
    connection.close()


class StageBatch:
    """``rows`` stage LPs of ``case`` solved together, row i always on model i (module docstring).

    Example:
        >>> from rlcert.envs.hydro import bundled_case
        >>> case = bundled_case("tiny")
        >>> with StageBatch(case, rows=4, workers=2) as batch:
        ...     v = np.zeros((4, 2)); w = case.stage_inflows(0).T[:4]
        ...     costs, target_duals, water_duals = batch.solve(v, w, np.zeros((4, 2)))
        >>> costs.shape, target_duals.shape
        ((4,), (4, 2))
    """

    def __init__(self, case: HydroCase, rows: int, workers: int = 1):
        check_count("rows", rows)
        check_count("workers", workers)
        self.rows, self.workers = rows, min(workers, rows)
        self._blocks = np.array_split(np.arange(rows), self.workers)
        self._models: list[StageProblem] = []
        self._connections = []
        self._processes = []
        if self.workers == 1:
            self._models = [StageProblem(case) for _ in range(rows)]
            return
        # spawn, not fork: the parent holds torch's threads and HiGHS models, which a fork would copy half-made.
        context = mp.get_context("spawn")
        for block in self._blocks:
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, case, len(block)), daemon=True)
            process.start()
            child.close()
            self._connections.append(parent)
            self._processes.append(process)

    def restart(self) -> None:
        """Start every row's next solve cold: call it when the rows begin new inflow paths, so that what a path's
        solves return depends on that path alone (not on the paths before it, nor on where a run resumed)."""
        if self.workers == 1:
            for model in self._models:
                model.restart()
        for connection in self._connections:
            connection.send("restart")

    def solve(self, v_in: np.ndarray, inflow: np.ndarray, target: np.ndarray):
        """Costs (rows,), target-row duals and water-balance duals (rows, plants) of the batch's stage LPs."""
        v_in, inflow, target = (np.asarray(a, dtype=float) for a in (v_in, inflow, target))
        if len(v_in) != self.rows:
            raise ValueError(f"this batch solves {self.rows} rows, got {len(v_in)}")  # a bug, not a user error
        if self.workers == 1:
            return _solve_rows(self._models, v_in, inflow, target)
        for connection, block in zip(self._connections, self._blocks):
            connection.send((v_in[block], inflow[block], target[block]))
        parts = []
        for connection in self._connections:
            try:
                part = connection.recv()
            except EOFError:
                raise OperationError("a stage-solving worker process died; rerun with fewer workers") from None
            if isinstance(part, RlcertError):  # an infeasible stage, say: the user's to fix, in one line
                raise part
            if isinstance(part, str):
                raise RuntimeError(f"a stage-solving worker failed:\n{part}")
            parts.append(part)
        return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))

    def close(self) -> None:
        for connection in self._connections:
            try:
                connection.send(None)
                connection.close()
            except (BrokenPipeError, OSError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        self._connections, self._processes = [], []

    def __enter__(self) -> StageBatch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()
