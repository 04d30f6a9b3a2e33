"""How many threads torch may use inside rlcert's own loops, chosen on purpose rather than inherited.

torch's intra-op pool defaults to one thread per core. On a machine whose cores are shared (a user audits
one agent while training another), those threads spin-wait on each other behind the other process: on two
busy cores a batch-250 forward pass of the CartPole MLP took 113 ms with two threads against 3.3 ms with
one, and Pong evaluation ran 12.6× slower (issue 19; ``benchmarks/shared_cores.py`` measures it). The
policy batches of a rollout are small, so one thread per worker costs little on an idle machine and keeps
a shared one at its fair share. ``RLCERT_TORCH_THREADS`` overrides the choice for a whole run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from rlcert.reports.errors import InvalidValueError

__all__ = ["ROLLOUT_THREADS", "rollout_threads", "torch_threads"]

ROLLOUT_THREADS = 1
"""Threads per rollout worker (in-process, or each worker process) unless ``RLCERT_TORCH_THREADS`` says."""


def rollout_threads() -> int:
    """The torch threads one rollout worker uses: ``RLCERT_TORCH_THREADS`` if set, else :data:`ROLLOUT_THREADS`."""
    text = os.environ.get("RLCERT_TORCH_THREADS")
    if text is None:
        return ROLLOUT_THREADS
    if not text.strip().isdigit() or int(text) < 1:
        raise InvalidValueError(f"RLCERT_TORCH_THREADS must be a positive integer, got {text!r}")
    return int(text)


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with torch limited to ``threads`` intra-op threads, restoring the caller's setting after."""
    import torch

    previous = torch.get_num_threads()
    if previous == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
