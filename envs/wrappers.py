"""Small gymnasium wrappers the env presets and the trainers need."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from rlcert.reports.errors import InvalidValueError

__all__ = ["EndOnFirstNonzeroReward", "GaussianFrameNoise"]


class EndOnFirstNonzeroReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """End the episode at the first step with a nonzero reward.

    Turns Pong into the one-round game of Kumar et al. (ICLR 2022, §5): the return is +1 for a won
    point and -1 for a lost one, so the certificate is on the probability of winning.

    Example:
        >>> import gymnasium as gym
        >>> env = EndOnFirstNonzeroReward(gym.make("CartPole-v1"))  # CartPole pays 1 on every step
        >>> _ = env.reset(seed=0)
        >>> env.step(0)[2]
        True
    """

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated or float(reward) != 0.0, truncated, info


class GaussianFrameNoise(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Add fresh N(0, sigma^2 I) noise to every raw frame (Gaussian data augmentation).

    Kumar et al. (ICLR 2022, §5) train the agents they certify with the same noise the smoothed
    policy sees at test time; wrapping the env *below* the frame stack gives each raw frame exactly
    one noise draw, as at certification time. Noise comes from ``self.np_random``, seeded by
    ``reset(seed=...)``.

    Example:
        >>> import gymnasium as gym
        >>> env = GaussianFrameNoise(gym.make("CartPole-v1"), sigma=0.2)
        >>> obs, _ = env.reset(seed=0)
    """

    def __init__(self, env: gym.Env, sigma: float):
        if not np.isfinite(sigma) or sigma < 0:
            raise InvalidValueError(f"sigma must be a finite number >= 0, got {sigma!r}")
        gym.utils.RecordConstructorArgs.__init__(self, sigma=sigma)
        gym.ObservationWrapper.__init__(self, env)
        self.sigma = float(sigma)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        noise = self.np_random.normal(0.0, self.sigma, size=np.shape(observation))
        return (observation + noise).astype(np.float32)
