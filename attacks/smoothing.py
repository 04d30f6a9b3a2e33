"""Gaussian policy smoothing as a ``Defense`` (Kumar, Levine & Feizi, ICLR 2022, §3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from attacks.base import Defense
from reports.errors import InvalidValueError

__all__ = ["GaussianSmoothing"]


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
