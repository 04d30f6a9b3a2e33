"""Where the rollout engine's chunks run: in this process or in a pool of worker processes.

An executor maps a function over chunk tasks and yields ``(chunk_index, result)`` as chunks finish,
in any order; the engine reassembles them by index, so results never depend on the executor.
A Ray executor (``rlcert[ray]``) plugs into the same seam.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from rlcert.envs.threads import rollout_threads, torch_threads
from rlcert.reports.errors import InvalidValueError

__all__ = ["Executor", "InProcessExecutor", "ProcessPoolExecutor", "make_executor"]


class Executor(Protocol):
    workers: int

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], indices: Sequence[int]) -> Iterator[tuple[int, Any]]:
        """Run ``fn`` on every task; yield ``(index, result)`` pairs as they complete."""
        ...


class InProcessExecutor:
    """Run chunks one after another in this process, with torch held to :func:`rlcert.envs.threads.rollout_threads`
    threads while a chunk runs (the caller's setting is restored between chunks)."""

    workers = 1

    def map(self, fn, tasks, indices):
        threads = rollout_threads()
        for index, task in zip(indices, tasks, strict=True):
            with torch_threads(threads):
                result = fn(task)
            yield index, result

    def __repr__(self) -> str:
        return "InProcessExecutor()"


def _init_worker(threads: int) -> None:
    # Each worker runs one chunk at a time; torch's own thread pool would only oversubscribe the cores.
    import torch

    torch.set_num_threads(threads)


class ProcessPoolExecutor:
    """Run chunks in ``workers`` spawned processes (spawn, not fork: torch's threads do not survive fork)."""

    def __init__(self, workers: int):
        if not isinstance(workers, int) or workers < 1:
            raise InvalidValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers

    def map(self, fn, tasks, indices):
        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(rollout_threads(),)
        ) as pool:
            futures = {pool.submit(fn, task): index for index, task in zip(indices, tasks, strict=True)}
            try:
                for future in concurrent.futures.as_completed(futures):
                    yield futures[future], future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def __repr__(self) -> str:
        return f"ProcessPoolExecutor(workers={self.workers})"


def make_executor(workers: int) -> InProcessExecutor | ProcessPoolExecutor:
    """In-process for one worker, a process pool for more."""
    if not isinstance(workers, int) or workers < 1:
        raise InvalidValueError(f"workers must be a positive integer, got {workers!r}")
    return InProcessExecutor() if workers == 1 else ProcessPoolExecutor(workers)
