"""Confidence bounds on probabilities and simultaneous lower bands on a survival function.

The reward certificate of Kumar et al. (ICLR 2022, §4) needs lower confidence bounds on
``P(R >= v)`` that hold *simultaneously* for every threshold ``v`` it uses. This module offers:

* per-threshold bounds — one-sided Clopper–Pearson (exact binomial) and Hoeffding — made simultaneous
  over a fixed threshold grid by Bonferroni (level α/K each);
* the DKW band ``p̂ − sqrt(ln(2/α) / 2N)`` (Dvoretzky–Kiefer–Wolfowitz with Massart's constant),
  simultaneous over all thresholds but with a flat margin;
* the **equal-local-level (ELL) order-statistic band**, simultaneous over all thresholds *and*
  variance-adaptive: at every count it is a Clopper–Pearson bound at one local level η, with η
  calibrated exactly so that the whole band fails with probability at most α (see
  :func:`ell_local_level` for the proof). Near p̂ ≈ 1 it is far tighter than DKW, and η is much
  larger than the Bonferroni level α/K, so it also beats CP+Bonferroni.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import stats

from rlcert.reports.errors import InvalidValueError, RlcertWarning

__all__ = [
    "BAND_METHODS",
    "ELL_CALIBRATION_VERSION",
    "LevelCacheWarning",
    "check_alpha",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "hoeffding_lower",
    "dkw_margin",
    "order_statistic_crossing_probability",
    "ell_local_level",
    "survival_lower_band",
    "mean_t_interval",
]

BAND_METHODS = ("ell", "clopper-pearson", "dkw", "hoeffding")

ELL_CALIBRATION_VERSION = 2
"""Version of the ell calibration (:func:`ell_local_level`); bump it whenever the algorithm changes, so no
level cached by another version is ever read. (1: the cache keyed by n and α alone, read unchecked.)"""

# Numeric tolerances that, with the version above, determine a calibrated level (all part of its cache key).
_POISSON_TAIL = 1e-18  # Poisson pmf values below this are dropped from a convolution kernel
_STATE_FLOOR = 1e-30  # crossing recursion: leading states below this are dropped
_LOG_LEVEL_TOLERANCE = 2e-3  # calibration stops once the feasible and infeasible log η are this close
_LOG_EXCESS_TOLERANCE = 1e-3  # ... or once log P(crossing) lies within this below log α
_CALIBRATION_ID = (
    f"ell-v{ELL_CALIBRATION_VERSION}|tail={_POISSON_TAIL!r}|floor={_STATE_FLOOR!r}"
    f"|dlog_level={_LOG_LEVEL_TOLERANCE!r}|dlog_excess={_LOG_EXCESS_TOLERANCE!r}"
)


class LevelCacheWarning(RlcertWarning):
    """The on-disk cache of calibrated ell levels held an entry or file that could not be trusted; the level
    is recomputed and the cache rewritten (the message names the file)."""


def mean_t_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Sample mean of ``values`` and its two-sided Student-t interval (n − 1 degrees of freedom; empirical);
    NaN for fewer than two values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float("nan"), float("nan"), float("nan")
    from scipy import stats

    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < float(alpha) < 1):
        raise InvalidValueError(
            f"alpha must lie strictly between 0 and 1 (e.g. 0.05 for 95% confidence), got {alpha!r}"
        )
    return float(alpha)


def _counts(successes, trials) -> tuple[np.ndarray, int]:
    k = np.asarray(successes)
    if not isinstance(trials, (int, np.integer)) or trials < 1:
        raise InvalidValueError(f"trials must be a positive integer, got {trials!r}")
    if np.any(k < 0) or np.any(k > trials) or np.any(k != np.round(k)):
        raise InvalidValueError(f"successes must be integers in [0, {trials}], got {successes!r}")
    return k.astype(np.int64), int(trials)


def clopper_pearson_lower(successes, trials: int, alpha: float) -> np.ndarray | float:
    """Exact one-sided lower bound: P[p >= bound] >= 1 - alpha (Clopper & Pearson 1934).

    The bound is the α-quantile of Beta(k, n - k + 1), and 0 when k = 0.
    """
    alpha = check_alpha(alpha)
    k, n = _counts(successes, trials)
    bound = np.where(k > 0, stats.beta.ppf(alpha, np.maximum(k, 1), n - k + 1), 0.0)
    return float(bound) if bound.ndim == 0 else bound


def clopper_pearson_upper(successes, trials: int, alpha: float) -> np.ndarray | float:
    """Exact one-sided upper bound: the (1 - α)-quantile of Beta(k + 1, n - k), and 1 when k = n."""
    alpha = check_alpha(alpha)
    k, n = _counts(successes, trials)
    bound = np.where(k < n, stats.beta.ppf(1 - alpha, k + 1, np.maximum(n - k, 1)), 1.0)
    return float(bound) if bound.ndim == 0 else bound


def hoeffding_lower(successes, trials: int, alpha: float) -> np.ndarray | float:
    """One-sided Hoeffding bound p̂ − sqrt(ln(1/α) / 2n), floored at 0."""
    alpha = check_alpha(alpha)
    k, n = _counts(successes, trials)
    bound = np.maximum(k / n - math.sqrt(math.log(1 / alpha) / (2 * n)), 0.0)
    return float(bound) if bound.ndim == 0 else bound


def dkw_margin(trials: int, alpha: float) -> float:
    """Margin ε of the DKW band: P[sup_v |F̂(v) − F(v)| > ε] <= 2 exp(−2nε²) = α (Massart 1990)."""
    alpha = check_alpha(alpha)
    return math.sqrt(math.log(2 / alpha) / (2 * trials))


def _poisson_kernel(mean: float) -> np.ndarray:
    """Poisson(mean) pmf up to where the tail drops below ``_POISSON_TAIL`` (beyond float64 relevance)."""
    if mean <= 0:
        return np.ones(1)
    pmf = stats.poisson.pmf(np.arange(int(mean + 12 * math.sqrt(mean) + 25)), mean)
    keep = np.flatnonzero(pmf >= _POISSON_TAIL)
    return pmf[: keep[-1] + 1]


def order_statistic_crossing_probability(lower: np.ndarray) -> float:
    """P[U_(j) < lower_j for some j] for the order statistics U_(1) <= ... <= U_(n) of n iid Uniform(0, 1).

    ``lower`` must be non-decreasing in [0, 1]. Computed exactly (up to float rounding) by
    Poissonization: the points of a rate-n Poisson process fall independently in the intervals
    between consecutive boundary values, so a recursion over "how many points lie left of the
    boundary" costs O(n²) small convolutions; conditioning on exactly n points at the end turns the
    Poisson probability back into the binomial one (the idea of Moscovich & Nadler, 2017). The event
    ``U_(j) >= lower_j for all j`` is: for each j, at most j − 1 points lie below ``lower_j``.
    """
    lower = np.asarray(lower, dtype=np.float64)
    n = len(lower)
    if n == 0:
        return 0.0
    if np.any(np.diff(lower) < 0) or lower[0] < 0 or lower[-1] > 1:
        raise InvalidValueError("the boundary must be non-decreasing within [0, 1]")
    state = np.zeros(n + 1)
    state[0] = 1.0
    start, previous = 0, 0.0  # state[:start] is below _STATE_FLOOR and dropped: the Poisson counts concentrate
    for j in range(1, n + 1):
        kernel = _poisson_kernel(n * (lower[j - 1] - previous))
        # Before this step at most j - 2 points lie left of the boundary; after it, the constraint
        # at j allows at most j - 1, so only state[start:j] is kept.
        state[start:j] = np.convolve(state[start:j], kernel)[: j - start]
        state[j:] = 0.0
        previous = lower[j - 1]
        while start < j - 1 and state[start] < _STATE_FLOOR:
            start += 1
    kernel = _poisson_kernel(n * (1.0 - previous))
    if len(kernel) + n - 1 < n + 1 - start:
        return 1.0
    # P(exactly n points in total): the points right of the last boundary value make up the rest.
    tail = n - np.arange(start, n)
    inside = float(np.sum(state[start:n] * np.where(tail < len(kernel), kernel[np.minimum(tail, len(kernel) - 1)], 0)))
    inside /= stats.poisson.pmf(n, n)
    return float(min(max(1.0 - inside, 0.0), 1.0))


def _ell_boundary(n: int, level: float) -> np.ndarray:
    j = np.arange(1, n + 1)
    return stats.beta.ppf(level, j, n - j + 1)


@lru_cache(maxsize=64)
def ell_local_level(n: int, alpha: float) -> float:
    """The largest local level η whose equal-local-level band fails with probability <= α.

    The band: with ``c(v) = #{i : R_i >= v}``, ``P(R >= v) >= B_η(c(v))`` for all v at once, where
    ``B_η(c)`` is the η-quantile of Beta(c, n − c + 1) (the one-sided Clopper–Pearson bound at level η).

    Proof of validity. Couple each return with a uniform: R_i = Q(U_i) with Q the quantile map for
    which S(R_i) >= U_i, where S(v) = P(R >= v) (equality for continuous R; discrete R only gains).
    The c-th largest return satisfies S(R_(c)) >= U_(c) (c-th smallest uniform), and for every v with
    c = c(v) >= 1 we have R_(c) >= v, so S(v) >= S(R_(c)) >= U_(c). Hence the band can fail only if
    U_(c) < B_η(c) for some c, and U_(c) ~ Beta(c, n − c + 1), so the failure probability is at most
    :func:`order_statistic_crossing_probability` of the boundary B_η, which we calibrate to <= α by
    root finding over log η (Bonferroni's η = α/n is always feasible, η = α never is for n > 1).
    Levels are cached in memory and in ``$XDG_CACHE_HOME/rlcert/ell_levels.json`` (default ``~/.cache``;
    calibrating N = 10,000 takes tens of seconds). The file is not trusted: an entry is read only under the key
    of this n, α, :data:`ELL_CALIBRATION_VERSION` and the numeric tolerances, and used only after one exact
    crossing-probability evaluation confirms that its band fails with probability <= α (a larger η, written by
    hand or by a bug, would make every later certificate anti-conservative). Anything else is recomputed and
    overwritten with a :class:`LevelCacheWarning`.
    Gontscharuk, Landwehr & Finner (2015) study such "equal local levels" bands; they are
    asymptotically the Berk–Jones band.
    """
    alpha = check_alpha(alpha)
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidValueError(f"n must be a positive integer (the number of returns), got {n!r}")
    n = int(n)
    if n == 1:
        return alpha
    cache = _level_cache_path()
    key = f"{_CALIBRATION_ID}|n={n}|alpha={alpha!r}"
    stored, problem = _read_level_cache(cache)
    if key in stored:
        if _is_verified_level(stored[key], n, alpha):
            return float(stored[key])
        problem = f"its level for n={n}, alpha={alpha!r} is {stored[key]!r}, which fails verification"
    if problem is not None:
        warnings.warn(
            f"ignoring the ell level cache {str(cache)!r}: {problem}; recomputing the level and rewriting it",
            LevelCacheWarning,
            stacklevel=2,
        )
    level = _calibrate_ell_level(n, alpha)
    # Entries of another calibration or with a value no calibration returns are dropped, never carried along.
    kept = {k: v for k, v in stored.items() if k.startswith(f"{_CALIBRATION_ID}|") and _is_plausible_level(v)}
    _write_level_cache(cache, {**kept, key: level})
    return level


def _calibrate_ell_level(n: int, alpha: float) -> float:
    """The largest η (within the tolerances above) with ``order_statistic_crossing_probability`` <= α."""

    def log_excess(log_level: float) -> float:
        return math.log(
            max(order_statistic_crossing_probability(_ell_boundary(n, math.exp(log_level))), 1e-300)
        ) - math.log(alpha)

    # Regula falsi (Illinois) on log η: log P(crossing) is nearly linear in log η, so a handful of
    # exact evaluations suffice. ``lo`` always stays feasible (crossing <= α).
    lo, hi = math.log(alpha / n), math.log(alpha)
    f_lo, f_hi = log_excess(lo), log_excess(hi)
    side = 0
    for _ in range(30):
        if hi - lo < _LOG_LEVEL_TOLERANCE:
            break
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        mid = min(max(mid, lo + 1e-4), hi - 1e-4)
        f_mid = log_excess(mid)
        if f_mid <= 0:
            lo, f_lo = mid, f_mid
            if side == -1:
                f_hi /= 2
            side = -1
        else:
            hi, f_hi = mid, f_mid
            if side == 1:
                f_lo /= 2
            side = 1
        if -_LOG_EXCESS_TOLERANCE <= f_mid <= 0:
            break
    return math.exp(lo)


def _is_plausible_level(value: object) -> bool:
    """A JSON number that could be a calibrated level (bools are ints in Python, and never levels)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1


def _is_verified_level(value: object, n: int, alpha: float) -> bool:
    """Whether a cached ``value`` is a level this calibration could return and its band is valid at α.

    The calibration searches [α/n, α] (Bonferroni's α/n is always feasible), so anything outside is not one
    of its results; inside, one exact evaluation decides validity (~2 s at n = 10,000, once per process).
    """
    if not _is_plausible_level(value) or not alpha / n * (1 - 1e-9) <= value <= alpha:  # exp(log(α/n)) may round
        return False
    return order_statistic_crossing_probability(_ell_boundary(n, float(value))) <= alpha


def _level_cache_path() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "rlcert" / "ell_levels.json"


def _read_level_cache(path: Path) -> tuple[dict[str, object], str | None]:
    """The cache's entries (values unchecked) and, where the file exists but is not a JSON object, why."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as error:  # ValueError: malformed JSON or bytes that are not UTF-8
        return {}, f"it cannot be read ({type(error).__name__})"
    if not isinstance(data, dict):
        return {}, f"it holds a JSON {type(data).__name__}, not an object"
    return data, None


def _write_level_cache(path: Path, levels: dict[str, object]) -> None:
    try:  # a read-only home only costs the recomputation next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(levels, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass


def survival_lower_band(returns: np.ndarray, thresholds: np.ndarray, alpha: float, method: str = "ell") -> np.ndarray:
    """Lower bounds on P(R >= t) for every t in ``thresholds``, simultaneously at confidence 1 − α.

    ``method``: ``ell`` (simultaneous over all thresholds), ``dkw`` (simultaneous over all thresholds),
    ``clopper-pearson`` and ``hoeffding`` (Bonferroni over the ``len(thresholds)`` thresholds given,
    which must therefore be chosen without looking at the data, e.g. a fixed grid).
    """
    alpha = check_alpha(alpha)
    returns = np.asarray(returns, dtype=np.float64)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    n = len(returns)
    if n < 1:
        raise InvalidValueError("need at least one return")
    counts = (returns[None, :] >= thresholds[:, None]).sum(axis=1)
    if method == "ell":
        level = ell_local_level(n, alpha)
        return np.where(counts > 0, stats.beta.ppf(level, np.maximum(counts, 1), n - counts + 1), 0.0)
    if method == "dkw":
        return np.maximum(counts / n - dkw_margin(n, alpha), 0.0)
    per_threshold = alpha / max(len(thresholds), 1)
    if method == "clopper-pearson":
        return np.asarray(clopper_pearson_lower(counts, n, per_threshold), dtype=np.float64).reshape(counts.shape)
    if method == "hoeffding":
        return np.asarray(hoeffding_lower(counts, n, per_threshold), dtype=np.float64).reshape(counts.shape)
    raise InvalidValueError(f"unknown bound {method!r}; choose one of {', '.join(BAND_METHODS)}")
