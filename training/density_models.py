"""Online density models of observations: the surprise that Adversarial Surprise and SMiRL reward.

Fickinger, Jaques et al. (2021, §3; REFERENCE §6) and Berseth et al. (SMiRL, ICLR 2021, §2) fit a density
p_θ(o) to the observations of an episode as they arrive and reward an agent with log p_θ(o_t), computed before
o_t is added. Three models, each a product over the observation's features (so log p is a sum):

* :class:`CategoricalDensity` — one categorical per feature (minigrid: each cell's object, colour and state
  index), the posterior predictive of a symmetric Dirichlet(``prior``) given the counts:
  p(o_f = k) = (n_fk + prior) / (n + K · prior);
* :class:`BernoulliDensity` — one Bernoulli per binary feature, the Beta(``prior``, ``prior``) posterior
  predictive: p(o_f = 1) = (n_f1 + prior) / (n + 2 · prior);
* :class:`GaussianDensity` — one Gaussian per feature with the observations' mean and (population) variance,
  the variance floored at ``min_variance``; before any observation N(0, 1).

The authors' code uses maximum-likelihood frequencies clipped away from 0; a pseudo-count is the same estimate
with the clipping replaced by a proper prior, so every log-likelihood is finite and exact to check by hand.
``parameters()`` are the sufficient statistics θ the players observe beside o and t.
"""

from __future__ import annotations

import math

import numpy as np

from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite

__all__ = ["CategoricalDensity", "BernoulliDensity", "GaussianDensity", "make_density", "DENSITY_MODELS"]

DENSITY_MODELS = ("categorical", "bernoulli", "gaussian")


class CategoricalDensity:
    """Per-feature categorical over ``classes`` values (module docstring)."""

    def __init__(self, features: int, classes: int, prior: float = 1.0) -> None:
        check_count("features", features)
        check_count("classes", classes, 2)
        check_finite("prior", prior, 0, strict=True)
        self.features, self.classes, self.prior = int(features), int(classes), float(prior)
        self.reset()

    def reset(self) -> None:
        self.counts = np.zeros((self.features, self.classes))
        self.size = 0

    def _values(self, observation: np.ndarray) -> np.ndarray:
        values = np.asarray(observation).reshape(-1).astype(np.int64)
        if values.shape != (self.features,) or values.min(initial=0) < 0 or values.max(initial=0) >= self.classes:
            raise InvalidValueError(
                f"a categorical density over {self.features} features with values 0..{self.classes - 1} got "
                f"shape {np.asarray(observation).shape} with values {values.min(initial=0)}..{values.max(initial=0)}"
            )
        return values

    def probabilities(self) -> np.ndarray:
        return (self.counts + self.prior) / (self.size + self.classes * self.prior)

    def log_prob(self, observation: np.ndarray) -> float:
        values = self._values(observation)
        return float(np.log(self.probabilities()[np.arange(self.features), values]).sum())

    def add(self, observation: np.ndarray) -> None:
        self.counts[np.arange(self.features), self._values(observation)] += 1
        self.size += 1

    def parameters(self) -> np.ndarray:
        return self.probabilities().reshape(-1).astype(np.float32)

    def entropy(self) -> float:
        p = self.probabilities()
        return float(-(p * np.log(p)).sum())


class BernoulliDensity:
    """Per-feature Bernoulli over binary features (module docstring)."""

    def __init__(self, features: int, prior: float = 1.0) -> None:
        check_count("features", features)
        check_finite("prior", prior, 0, strict=True)
        self.features, self.prior = int(features), float(prior)
        self.reset()

    def reset(self) -> None:
        self.ones = np.zeros(self.features)
        self.size = 0

    def _values(self, observation: np.ndarray) -> np.ndarray:
        values = np.asarray(observation, dtype=np.float64).reshape(-1)
        if values.shape != (self.features,) or not np.isin(values, (0.0, 1.0)).all():
            raise InvalidValueError(
                f"a Bernoulli density over {self.features} binary features got shape {np.asarray(observation).shape}"
                " with values other than 0 and 1"
            )
        return values

    def probabilities(self) -> np.ndarray:
        return (self.ones + self.prior) / (self.size + 2 * self.prior)

    def log_prob(self, observation: np.ndarray) -> float:
        x, p = self._values(observation), self.probabilities()
        return float((x * np.log(p) + (1 - x) * np.log1p(-p)).sum())

    def add(self, observation: np.ndarray) -> None:
        self.ones += self._values(observation)
        self.size += 1

    def parameters(self) -> np.ndarray:
        return self.probabilities().astype(np.float32)

    def entropy(self) -> float:
        p = self.probabilities()
        return float(-(p * np.log(p) + (1 - p) * np.log1p(-p)).sum())


class GaussianDensity:
    """Per-feature Gaussian with the observations' mean and floored variance (module docstring)."""

    def __init__(self, features: int, min_variance: float = 1e-2) -> None:
        check_count("features", features)
        check_finite("min_variance", min_variance, 0, strict=True)
        self.features, self.min_variance = int(features), float(min_variance)
        self.reset()

    def reset(self) -> None:
        self.total = np.zeros(self.features)
        self.squares = np.zeros(self.features)
        self.size = 0

    def _values(self, observation: np.ndarray) -> np.ndarray:
        values = np.asarray(observation, dtype=np.float64).reshape(-1)
        if values.shape != (self.features,) or not np.isfinite(values).all():
            raise InvalidValueError(
                f"a Gaussian density over {self.features} features got shape {np.asarray(observation).shape} "
                "or a value that is not finite"
            )
        return values

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance per feature."""
        if self.size == 0:
            return np.zeros(self.features), np.ones(self.features)
        mean = self.total / self.size
        return mean, np.maximum(self.squares / self.size - mean**2, self.min_variance)

    def log_prob(self, observation: np.ndarray) -> float:
        x = self._values(observation)
        mean, variance = self.moments()
        return float((-0.5 * np.log(2 * math.pi * variance) - (x - mean) ** 2 / (2 * variance)).sum())

    def add(self, observation: np.ndarray) -> None:
        x = self._values(observation)
        self.total += x
        self.squares += x**2
        self.size += 1

    def parameters(self) -> np.ndarray:
        mean, variance = self.moments()
        return np.concatenate([mean, np.sqrt(variance)]).astype(np.float32)

    def entropy(self) -> float:
        _, variance = self.moments()
        return float((0.5 * np.log(2 * math.pi * math.e * variance)).sum())


def make_density(kind: str, features: int, classes: int = 11):
    """A fresh density model: ``categorical`` (``classes`` values per feature; minigrid's object indices run to
    10), ``bernoulli`` or ``gaussian``."""
    if kind == "categorical":
        return CategoricalDensity(features, classes)
    if kind == "bernoulli":
        return BernoulliDensity(features)
    if kind == "gaussian":
        return GaussianDensity(features)
    raise InvalidValueError(f"density must be one of {', '.join(DENSITY_MODELS)}, got {kind!r}")
