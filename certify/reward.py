"""Policy-smoothing reward certificates (Kumar, Levine & Feizi, ICLR 2022, arXiv 2106.11420).

Threat model: an adaptive adversary perturbs every observation, with one total ℓ2 budget B over the
episode (sqrt(Σ_t ‖ε_t‖²) <= B); the agent adds fresh N(0, σ²I) noise to every raw frame
(``attacks.GaussianSmoothing``). Their adaptive Neyman–Pearson lemma (Thm. 1) says that any event
with probability p without attack keeps probability at least Φ(Φ⁻¹(p) − B/σ) under attack. Applied
to the events {R >= v} this gives, from N clean smoothed episodes with returns in [a, b] and
simultaneous lower confidence bounds p̲(v) on P(R >= v) (``rlcert.certify.confidence``):

    E[R_attacked] >= a + Σ_k (v_k − v_{k−1}) · Φ(Φ⁻¹(p̲(v_k)) − B/σ),   v_0 = a        (Kumar §4.2)

which holds with probability >= 1 − α over the sampled episodes: a ``statistical`` certificate.
Binary outcomes (one-round Pong win, Mountain Car success) use the same lemma on the success event,
and the percentile form certifies P(R_attacked >= v) >= q.

The certificate holds only for the σ the episodes were smoothed with. Given the :class:`rlcert.envs.rollout.Episodes`
of a run, every function here reads σ from the defense the episodes record and refuses a different σ,
episodes run without Gaussian smoothing, and attacked episodes; a plain array of returns (from another
tool) needs σ spelled out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from rlcert.attacks.smoothing import RAW_FRAMES
from rlcert.certify.confidence import BAND_METHODS, check_alpha, clopper_pearson_lower, survival_lower_band
from rlcert.reports.errors import InvalidValueError, UnknownNameError
from rlcert.reports.findings import Finding

if TYPE_CHECKING:
    from rlcert.envs.rollout import Episodes

__all__ = [
    "RewardCertificate",
    "BinaryCertificate",
    "reward_certificate",
    "binary_certificate",
    "percentile_certificate",
    "attacked_probability_lower",
    "parse_budgets",
    "minimum_episodes",
]


def attacked_probability_lower(p_lower: np.ndarray | float, budget: float, sigma: float) -> np.ndarray:
    """Φ(Φ⁻¹(p) − B/σ): the least probability an event of clean probability >= p keeps under attack."""
    p = np.clip(np.asarray(p_lower, dtype=np.float64), 0.0, 1.0)
    return stats.norm.cdf(stats.norm.ppf(p) - budget / sigma)


def _check_sigma(sigma: float) -> float:
    if not (isinstance(sigma, (int, float, np.floating)) and math.isfinite(sigma) and sigma > 0):
        raise InvalidValueError(f"sigma must be a finite number > 0 (the smoothing noise std), got {sigma!r}")
    return float(sigma)


def _is_episodes(returns: Any) -> bool:
    # Imported here so that importing certify does not import the env stack (and envs may import certify).
    from rlcert.envs.rollout import Episodes

    return isinstance(returns, Episodes)


def _explicit_sigma(sigma: float | None) -> float:
    if sigma is None:
        raise InvalidValueError(
            "sigma is required with plain returns or counts (the smoothing noise std the episodes ran with); "
            "pass the Episodes from rlcert.envs.run to have it read and checked"
        )
    return _check_sigma(sigma)


def _smoothed_returns(
    returns: Sequence[float] | np.ndarray | Episodes, sigma: float | None
) -> tuple[np.ndarray, float]:
    """The returns to certify and the σ they were smoothed with, checked against what the episodes record."""
    if not _is_episodes(returns):
        return np.asarray(returns, dtype=np.float64).ravel(), _explicit_sigma(sigma)
    if returns.attack is not None:
        raise InvalidValueError(
            f"these episodes ran under an attack ({returns.attack}); a smoothing certificate needs clean "
            "smoothed episodes: run them with the defense and no attack"
        )
    defense = returns.defense
    if defense is None or defense.sigma is None or defense.noise != RAW_FRAMES:
        ran = "no defense" if defense is None else f"defense {defense.name}"
        raise InvalidValueError(
            f"these episodes ran without Gaussian smoothing ({ran}); certify episodes run with "
            "defense=GaussianSmoothing(sigma)"
        )
    if sigma is not None and _check_sigma(sigma) != defense.sigma:
        raise InvalidValueError(
            f"sigma={float(sigma):g} differs from the noise these episodes were smoothed with "
            f"(sigma={defense.sigma:g}); a certificate holds only for the sigma its episodes ran with: "
            "leave sigma out or rerun the episodes"
        )
    return np.asarray(returns.returns, dtype=np.float64), defense.sigma


def _check_budgets(budgets: Sequence[float] | np.ndarray | None) -> np.ndarray:
    if budgets is None:
        raise InvalidValueError("give the budgets to certify (total l2 norms over the episode, e.g. [0, 0.2, 0.4])")
    budgets = np.atleast_1d(np.asarray(budgets, dtype=np.float64))
    if budgets.size == 0:
        raise InvalidValueError("give at least one budget")
    if not np.all(np.isfinite(budgets)) or np.any(budgets < 0):
        raise InvalidValueError(
            f"budgets must be finite and >= 0 (total l2 norm over the episode), got {budgets.tolist()}"
        )
    return budgets


def parse_budgets(text: str) -> np.ndarray:
    """``"0:1:0.2"`` (start:stop:step, stop included) or ``"0,0.2,0.5"`` into an array of budgets."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0:
                raise ValueError
            count = int(math.floor((stop - start) / step + 1e-9)) + 1
            return _check_budgets(np.round(start + step * np.arange(count), 10))
        return _check_budgets([float(x) for x in text.split(",") if x.strip()])
    except ValueError as exc:
        if "budgets must" in str(exc):
            raise
        raise InvalidValueError(
            f"budgets must look like 0:1:0.1 (start:stop:step) or 0,0.2,0.5; got {text!r}"
        ) from None


def minimum_episodes(alpha: float, method: str = "ell", thresholds: int = 1) -> int:
    """The fewest episodes for which the band can certify P(R >= v) >= 1/2 even if every return is >= v."""
    alpha = check_alpha(alpha)
    if method == "dkw":
        return math.ceil(math.log(2 / alpha) / (2 * 0.25))
    if method == "hoeffding":
        return math.ceil(math.log(thresholds / alpha) / (2 * 0.25))
    # Clopper–Pearson with all n successes at level η: η^(1/n) >= 1/2  <=>  n >= log2(1/η); η >= α/n for ELL.
    level = alpha / thresholds if method == "clopper-pearson" else alpha
    n = 1
    while True:
        eta = level if method == "clopper-pearson" else alpha / n
        if eta ** (1 / n) >= 0.5:
            return n
        n += 1


@dataclass(frozen=True)
class RewardCertificate:
    """Certified lower bounds on the expected return under every adaptive ℓ2 adversary of budget B."""

    budgets: np.ndarray
    """Total ℓ2 budgets B, in the env's normalized observation units."""
    certified: np.ndarray
    """Certified lower bound on E[return] for each budget (holds with probability >= 1 − α)."""
    sigma: float
    alpha: float
    bound: str
    """Confidence band used: ell, clopper-pearson, dkw or hoeffding."""
    episodes: int
    clean_mean: float
    """Mean return of the clean smoothed episodes (empirical, for reference)."""
    low: float
    high: float
    thresholds: np.ndarray
    survival_lower: np.ndarray
    """The band: simultaneous lower bounds on P(R >= threshold) without attack."""

    @property
    def confidence(self) -> float:
        return 1.0 - self.alpha

    def at(self, budget: float) -> float:
        index = np.flatnonzero(np.isclose(self.budgets, budget))
        if index.size == 0:
            raise UnknownNameError(f"no certificate at budget {budget}; budgets: {self.budgets.tolist()}")
        return float(self.certified[index[0]])

    def findings(self, **context: Any) -> list[Finding]:
        params = {
            "sigma": self.sigma,
            "alpha": self.alpha,
            "bound": self.bound,
            "episodes": self.episodes,
            "range": [self.low, self.high],
            **context,
        }
        return [
            Finding(
                name=f"certified_expected_return@B={budget:g}",
                value=value,
                evidence="statistical",
                confidence=self.confidence,
                method=f"policy smoothing (Kumar et al. 2022), {self.bound} band",
                description=f"lower bound on E[return] under any adaptive l2 attack of total budget {budget:g}",
                params={**params, "budget": float(budget)},
            )
            for budget, value in zip(self.budgets, self.certified)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "budgets": self.budgets.tolist(),
            "certified": self.certified.tolist(),
            "sigma": self.sigma,
            "alpha": self.alpha,
            "bound": self.bound,
            "episodes": self.episodes,
            "clean_mean": self.clean_mean,
            "range": [self.low, self.high],
        }


def _grid(low: float, high: float, resolution: float) -> np.ndarray:
    count = int(math.ceil((high - low) / resolution - 1e-9))
    return low + resolution * np.arange(1, count + 1)


def reward_certificate(
    returns: Sequence[float] | np.ndarray | Episodes,
    sigma: float | None = None,
    budgets: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
    bound: str = "ell",
    low: float | None = None,
    high: float | None = None,
    resolution: float = 1.0,
) -> RewardCertificate:
    """Certified lower bounds on E[R] under attack, from clean smoothed episode returns.

    Args:
        returns: the :class:`~rlcert.envs.rollout.Episodes` of N clean episodes of the *smoothed* policy, or their
            returns as an array (then ``sigma`` is required and nothing can check it).
        sigma: the smoothing noise std (> 0), in the same units as the budgets. With Episodes it defaults
            to the σ they were smoothed with, and any other σ is refused.
        budgets: total ℓ2 budgets B >= 0 (required).
        alpha: 1 − confidence.
        bound: ``ell`` (default; simultaneous and variance-adaptive), ``dkw``, or ``clopper-pearson`` /
            ``hoeffding`` with Bonferroni over a fixed grid of thresholds ``low + k·resolution``.
        low, high: the known range of returns (e.g. 0 and 200 for CartPole-v0). With Episodes of an env
            whose range rlcert knows (``rlcert.envs.factory.known_return_range``) that range is the default;
            otherwise ``low`` defaults to the smallest return, which is only right if no smaller return
            is possible: give it when known.
        resolution: grid step for the Bonferroni bounds (1 for integer returns).

    Example:
        >>> cert = reward_certificate([200.0] * 1000, sigma=0.2, budgets=[0, 0.2], low=0, high=200)
        >>> round(cert.at(0.0), 1), cert.at(0.2) < cert.at(0.0)
        (197.6, True)
    """
    if _is_episodes(returns) and (low is None or high is None):
        from rlcert.envs.factory import known_return_range

        known = known_return_range(returns.env)
        if known is not None:
            low = known[0] if low is None else low
            high = known[1] if high is None else high
    returns, sigma = _smoothed_returns(returns, sigma)
    budgets = _check_budgets(budgets)
    alpha = check_alpha(alpha)
    if bound not in BAND_METHODS:
        raise InvalidValueError(f"unknown bound {bound!r}; choose one of {', '.join(BAND_METHODS)}")
    if returns.size == 0 or not np.all(np.isfinite(returns)):
        raise InvalidValueError("returns must be a non-empty list of finite numbers")
    low = float(returns.min()) if low is None else float(low)
    high = float(returns.max()) if high is None else float(high)
    if not low <= high:
        raise InvalidValueError(f"the return range must have low <= high, got [{low}, {high}]")
    outside = returns[(returns < low) | (returns > high)]
    if outside.size:
        raise InvalidValueError(
            f"{outside.size} returns lie outside the declared range [{low:g}, {high:g}] "
            f"(e.g. {outside[0]:g}); fix the range or the returns"
        )
    if bound in ("clopper-pearson", "hoeffding"):
        if not resolution > 0:
            raise InvalidValueError(f"resolution must be > 0, got {resolution}")
        thresholds = _grid(low, high, resolution)
    else:
        thresholds = np.unique(returns[returns > low])
    needed = minimum_episodes(alpha, bound, max(len(thresholds), 1))
    if returns.size < needed:
        raise InvalidValueError(
            f"{returns.size} episodes are too few for confidence {1 - alpha:g} with the {bound} bound: "
            f"it needs at least {needed} to certify anything; run more episodes or raise alpha"
        )
    band = survival_lower_band(returns, thresholds, alpha, bound) if thresholds.size else np.zeros(0)
    widths = np.diff(np.concatenate([[low], thresholds]))
    certified = np.array([low + float(np.sum(widths * attacked_probability_lower(band, b, sigma))) for b in budgets])
    return RewardCertificate(
        budgets=budgets,
        certified=certified,
        sigma=sigma,
        alpha=alpha,
        bound=bound,
        episodes=int(returns.size),
        clean_mean=float(returns.mean()),
        low=low,
        high=high,
        thresholds=thresholds,
        survival_lower=band,
    )


@dataclass(frozen=True)
class BinaryCertificate:
    """Certified lower bounds on the probability of success (one-round Pong win, Mountain Car goal)."""

    budgets: np.ndarray
    certified: np.ndarray
    """Lower bound on P(success) under every adaptive attack of each budget (confidence 1 − α)."""
    sigma: float
    alpha: float
    successes: int
    episodes: int
    clean_lower: float
    """Clopper–Pearson lower bound on the clean smoothed success probability."""

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes

    def findings(self, **context: Any) -> list[Finding]:
        return [
            Finding(
                name=f"certified_success_probability@B={budget:g}",
                value=value,
                evidence="statistical",
                confidence=1 - self.alpha,
                method="policy smoothing (Kumar et al. 2022), Clopper-Pearson",
                params={
                    "sigma": self.sigma,
                    "alpha": self.alpha,
                    "episodes": self.episodes,
                    "successes": self.successes,
                    "budget": float(budget),
                    **context,
                },
            )
            for budget, value in zip(self.budgets, self.certified)
        ]


def binary_certificate(
    successes: int | Episodes,
    episodes: int | None = None,
    sigma: float | None = None,
    budgets: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.05,
    *,
    success_min_return: float | None = None,
) -> BinaryCertificate:
    """Φ(Φ⁻¹(p̲) − B/σ) with p̲ the one-sided Clopper–Pearson bound on the clean success probability.

    Either counts (``successes`` of ``episodes``, with an explicit ``sigma``) or the
    :class:`~rlcert.envs.rollout.Episodes` of clean smoothed episodes as ``successes`` with
    ``success_min_return`` (an episode succeeds when its return reaches it); σ is then read from the
    episodes and any other σ is refused, as in :func:`reward_certificate`.
    """
    if _is_episodes(successes):
        if episodes is not None:
            raise InvalidValueError(
                f"episodes={episodes!r} cannot apply: the episode count comes from the Episodes given"
            )
        if not (isinstance(success_min_return, (int, float, np.number)) and math.isfinite(success_min_return)):
            raise InvalidValueError(
                f"success_min_return must be a finite number with Episodes (an episode succeeds when its return "
                f"reaches it), got {success_min_return!r}"
            )
        returns, sigma = _smoothed_returns(successes, sigma)
        successes, episodes = int(np.sum(returns >= success_min_return)), returns.size
    else:
        if success_min_return is not None:
            raise InvalidValueError(
                "success_min_return applies to Episodes only; with counts, successes are already counted"
            )
        if episodes is None:
            raise InvalidValueError("episodes (the number of episodes the successes are out of) is required")
        sigma = _explicit_sigma(sigma)
    budgets = _check_budgets(budgets)
    alpha = check_alpha(alpha)
    p_lower = float(clopper_pearson_lower(successes, episodes, alpha))
    certified = attacked_probability_lower(p_lower, budgets, sigma) if p_lower > 0 else np.zeros_like(budgets)
    return BinaryCertificate(
        budgets, np.asarray(certified, dtype=np.float64), sigma, alpha, int(successes), int(episodes), p_lower
    )


def percentile_certificate(
    returns: Sequence[float] | np.ndarray | Episodes,
    sigma: float | None = None,
    budgets: Sequence[float] | np.ndarray | None = None,
    probability: float = 0.5,
    alpha: float = 0.05,
    bound: str = "ell",
) -> np.ndarray:
    """For each budget, the largest observed return v with certified P(R_attacked >= v) >= ``probability``.

    ``probability = 0.5`` certifies the attacked median; NaN where nothing can be certified. ``returns``
    and ``sigma`` as in :func:`reward_certificate` (Episodes carry their σ).
    """
    returns, sigma = _smoothed_returns(returns, sigma)
    budgets = _check_budgets(budgets)
    alpha = check_alpha(alpha)
    if not 0 < probability < 1:
        raise InvalidValueError(f"probability must lie strictly between 0 and 1, got {probability!r}")
    if bound not in ("ell", "dkw"):
        raise InvalidValueError("the percentile form needs a band over all thresholds: bound must be 'ell' or 'dkw'")
    thresholds = np.unique(returns)
    band = survival_lower_band(returns, thresholds, alpha, bound)
    result = np.full(budgets.shape, np.nan)
    for i, budget in enumerate(budgets):
        ok = thresholds[attacked_probability_lower(band, budget, sigma) >= probability]
        if ok.size:
            result[i] = ok.max()
    return result
