"""What one chunk of episodes produced: the data the rollout engine returns and a checkpoint stores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EpisodeRecord", "ChunkResult"]


@dataclass(frozen=True)
class EpisodeRecord:
    """Per-step record of one episode (``record_steps=True``): what the env showed, what the policy
    saw after attack and defense, what it did and what it got (one row per step)."""

    frames: np.ndarray
    """Raw frames as the env emitted them (before attack and defense)."""
    seen: np.ndarray
    """The same frames after the attack and the defense's frame transform (what was stacked)."""
    actions: np.ndarray
    rewards: np.ndarray


@dataclass(frozen=True)
class ChunkResult:
    returns: np.ndarray
    lengths: np.ndarray
    costs: np.ndarray
    records: tuple[EpisodeRecord, ...] | None = None
    cut: np.ndarray | None = None
    """Per episode: ended by the env's step limit rather than by the game (None: not recorded)."""
