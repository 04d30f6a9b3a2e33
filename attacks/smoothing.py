"""Gaussian policy smoothing as a ``Defense`` (Kumar, Levine & Feizi, ICLR 2022, §3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rlcert.attacks.base import Defense
from rlcert.reports.errors import InvalidValueError

__all__ = ["GaussianSmoothing", "DefenseRecord", "RAW_FRAMES"]

RAW_FRAMES = "raw frames before stacking"
"""Where smoothing noise is drawn: one draw per raw frame, before the frame stack (Kumar et al. 2022, §3)."""


@dataclass(frozen=True)
class DefenseRecord:
    """What defended a run's episodes, as ``rlcert.envs.rollout.Episodes.defense`` keeps it (immutable), so a
    certificate can check the noise it assumes is the noise the episodes were run with."""

    name: str
    """The defense's class name."""
    sigma: float | None = None
    """Std of the Gaussian noise the policy saw; None for a defense that adds no Gaussian noise."""
    noise: str | None = None
    """Where the noise was drawn (:data:`RAW_FRAMES`); None without noise."""

    def to_dict(self) -> dict[str, str | float | None]:
        return {"name": self.name, "sigma": self.sigma, "noise": self.noise}


@dataclass(frozen=True)
class GaussianSmoothing(Defense):
    """Add fresh N(0, sigma^2 I) noise to every raw observation frame before frame stacking.

    One draw per frame per step, no vote: the smoothed policy is the base policy acting on noisy
    observations, which is what the adaptive Neyman–Pearson reward certificate of Kumar et al. (2022,
    Thm. 1) covers. ``sigma`` is in the env's normalized observation units (pixels in [0, 1] for Atari).
    The noise generator is the rollout engine's per-chunk defense generator, so it is seeded.
    """

    sigma: float
    """Standard deviation of the noise, > 0."""

    def __post_init__(self) -> None:
        if not (isinstance(self.sigma, (int, float)) and math.isfinite(self.sigma) and self.sigma > 0):
            raise InvalidValueError(f"sigma must be a finite number > 0, got {self.sigma!r}")

    def transform_frames(self, frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (frames + rng.normal(0.0, self.sigma, size=frames.shape)).astype(np.float32)

    def describe(self) -> DefenseRecord:
        """The record ``rlcert.envs.rollout.run`` keeps on the episodes this defense produced."""
        return DefenseRecord(type(self).__name__, float(self.sigma), RAW_FRAMES)
