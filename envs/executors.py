"""Where the rollout engine's chunks run: in this process, in a pool of worker processes, or on Ray.

An executor maps a function over chunk tasks and yields ``(chunk_index, result)`` as chunks finish,
in any order; the engine reassembles them by index, so results never depend on the executor.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from rlcert.envs.threads import rollout_threads, torch_threads
from rlcert.reports.errors import InvalidValueError

__all__ = ["Executor", "InProcessExecutor", "ProcessPoolExecutor", "RayExecutor", "make_executor", "EXECUTORS"]

EXECUTORS = ("local", "ray")
"""local: in this process (one worker) or a pool of worker processes; ray: Ray tasks (``rlcert[ray]``)."""


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


def _run_with_threads(fn: Callable[[Any], Any], task: Any, threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(task)


class RayExecutor:
    """Run chunks as Ray tasks, one CPU each and ``workers`` in flight: on the cluster at ``address``, or on a
    local Ray started with ``workers`` CPUs at the first map and shut down when the process exits (Ray's
    start-up took 3-12 s on 2-core machines, so the local pool stays the default). Chunks are seeded by their
    index, as everywhere: the same seed gives the same episodes as the local executors."""

    def __init__(self, workers: int, address: str | None = None):
        if not isinstance(workers, int) or workers < 1:
            raise InvalidValueError(f"workers must be a positive integer, got {workers!r}")
        check_ray_available()
        self.workers = workers
        self.address = address

    def _ensure_started(self):
        import ray

        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
            if self.address is None:
                ray.init(num_cpus=self.workers, **options)
            else:
                try:
                    ray.init(address=self.address, **options)
                except (ConnectionError, RuntimeError, ValueError) as exc:
                    raise InvalidValueError(f"cannot reach the Ray cluster at {self.address!r}: {exc}") from None
            atexit.register(ray.shutdown)  # the local Ray this command started stops with it
        return ray

    def map(self, fn, tasks, indices):
        if not tasks:
            return
        ray = self._ensure_started()
        remote = ray.remote(num_cpus=1)(_run_with_threads)
        threads = rollout_threads()
        queue = list(zip(indices, tasks, strict=True))[::-1]
        pending: dict[Any, int] = {}
        try:
            while queue or pending:
                while queue and len(pending) < self.workers:  # `workers` chunks in flight, on any cluster
                    index, task = queue.pop()
                    pending[remote.remote(fn, task, threads)] = index
                (done,), _ = ray.wait(list(pending), num_returns=1)
                yield pending.pop(done), ray.get(done)
        finally:
            for ref in pending:
                ray.cancel(ref)

    def __repr__(self) -> str:
        return f"RayExecutor(workers={self.workers}, address={self.address!r})"


def check_ray_available() -> None:
    """Refuse the Ray executor, in one line, where Ray is not installed."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise InvalidValueError("the ray executor needs Ray: pip install 'rlcert[ray]'")


def make_executor(
    workers: int, executor: str = "local", address: str | None = None
) -> InProcessExecutor | ProcessPoolExecutor | RayExecutor:
    """In-process for one worker, a process pool for more; Ray tasks with ``executor="ray"``."""
    if not isinstance(workers, int) or workers < 1:
        raise InvalidValueError(f"workers must be a positive integer, got {workers!r}")
    if executor not in EXECUTORS:
        raise InvalidValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if address is not None and executor != "ray":
        raise InvalidValueError(f"a Ray address ({address!r}) needs the ray executor (--executor ray)")
    if executor == "ray":
        return RayExecutor(workers, address)
    return InProcessExecutor() if workers == 1 else ProcessPoolExecutor(workers)
