"""Seeds of sub-runs derived from a run's seed, so no two random streams of one analysis ever overlap.

Arithmetic on seeds (``seed + 1`` for the attacked episodes, ``seed + i`` per episode) makes the streams of
``--seed 0`` and ``--seed 1`` share work: the attacked run of one is the clean run of the other. Every
sub-run instead takes a child of ``SeedSequence(seed)`` named by what it is, as the rollout engine does for
its chunks (``rlcert.envs.rollout.chunk_seeds``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["child_seed", "SUB_RUN"]

# Sub-run keys are ``(SUB_RUN, k)``: a chunk's key is ``(chunk_index,)`` and its streams' keys are
# ``(chunk_index, j)``, and no run reaches 2**64 - 0x5EED chunks, so no sub-run key is ever a chunk's.
SUB_RUN = 2**64 - 0x5EED


def child_seed(seed: int, *spawn_key: int) -> int:
    """A 32-bit seed for the sub-run ``spawn_key`` of the run ``seed`` (a ``SeedSequence`` child)."""
    if not spawn_key:
        raise ValueError("child_seed needs a spawn key naming the sub-run")  # a bug, not a user error
    return int(np.random.SeedSequence(seed, spawn_key=(SUB_RUN, *spawn_key)).generate_state(1)[0])
