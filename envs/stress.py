"""The stress-test runner: a fixed trained policy's return under each probe of a suite, at each severity,
against the unperturbed baseline.

Every setting runs through the rollout engine with the run's seed, so a perturbed run starts from the
same initial states as the baseline (common random numbers): the per-episode returns are paired, and
the relative drop 1 − mean(P)/mean(B) gets a Student-t confidence interval on the linearised residuals
of the paired ratio estimator (Cochran, *Sampling Techniques*, 3rd ed., §6.4), see :func:`relative_drop`.
All figures are ``empirical``: what the probed episodes showed, never a bound. A setting passes when the
whole interval lies within the user's tolerance, fails when all of it lies beyond, and is inconclusive
otherwise (run more episodes); below :func:`verdict_min_episodes` episodes it gets no verdict at all.

Unlike STORI (Barsainyan et al. 2025), which trains agents *in* the perturbed env, this measures a fixed
policy zero-shot: how much the stochasticity it never saw costs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from rlcert.envs.factory import EnvSpec, resolve_env_spec
from rlcert.envs.probes import ProbeStack
from rlcert.envs.rollout import Episodes, run
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding

__all__ = [
    "ProbeSetting",
    "SettingResult",
    "StressReport",
    "TOO_FEW_EPISODES",
    "VERDICTS",
    "relative_drop",
    "verdict_min_episodes",
    "drop_verdict",
    "stress_test",
]

TOO_FEW_EPISODES = "too few episodes"
"""The verdict of a setting with fewer episodes than :func:`verdict_min_episodes` asks for: none."""

VERDICTS = ("pass", "fail", "inconclusive", TOO_FEW_EPISODES)
"""Every verdict a setting can get."""


@dataclass(frozen=True)
class ProbeSetting:
    """One point of a severity sweep: a probe family at one severity, as a probe stack."""

    family: str
    """The sweep it belongs to, e.g. "type 1 random actions"."""
    severity: float
    """The swept parameter's value (a probability, a noise level, ...)."""
    stack: ProbeStack
    severity_name: str = "p"


@dataclass(frozen=True)
class SettingResult:
    setting: ProbeSetting
    mean_return: float
    stderr_return: float
    drop: float
    """Relative drop of the mean return vs the baseline (0.3 = 30 % lower; negative = higher)."""
    drop_low: float
    drop_high: float
    verdict: str
    """'pass', 'fail' or 'inconclusive' against the tolerance, or 'too few episodes' (no verdict: fewer
    than ``verdict_min_episodes(confidence)`` paired episodes)."""
    episodes: int
    cut_episodes: int | None = None
    """Episodes the env's step limit ended rather than the game (a stalled policy; None: not recorded)."""


@dataclass(frozen=True)
class StressReport:
    policy: str
    env: str
    baseline_mean: float
    baseline_stderr: float
    floor: float
    tolerance: float
    confidence: float
    episodes: int
    seed: int
    results: tuple[SettingResult, ...] = field(default=())
    baseline_cut_episodes: int | None = None
    actions: str = "greedy"
    """How the policy chose its actions in every setting: ``greedy`` or ``sampled``."""

    @property
    def passed(self) -> bool:
        """True only when every setting passed; a failed, inconclusive or undecided (too few episodes)
        setting makes it False — a run too small for verdicts never reads as passed."""
        return bool(self.results) and all(result.verdict == "pass" for result in self.results)

    @property
    def min_episodes_for_verdict(self) -> int:
        """The fewest paired episodes that get a pass/fail verdict at this report's confidence."""
        return verdict_min_episodes(self.confidence)

    def findings(self) -> list[Finding]:
        common = {"policy": self.policy, "env": self.env, "episodes": self.episodes, "seed": self.seed,
                  "actions": self.actions}  # fmt: skip
        findings = [
            Finding(
                "baseline_return",
                self.baseline_mean,
                "empirical",
                params={**common, "stderr": self.baseline_stderr, "cut_episodes": self.baseline_cut_episodes},
                method="unperturbed episodes",
            )
        ]
        for result in self.results:
            params = {
                **common,
                "probe": result.setting.stack.label,
                "family": result.setting.family,
                result.setting.severity_name: result.setting.severity,
                "mean_return": result.mean_return,
                "stderr_return": result.stderr_return,
                "tolerance": self.tolerance,
                "verdict": result.verdict,
                "min_episodes_for_verdict": self.min_episodes_for_verdict,
                "cut_episodes": result.cut_episodes,
            }
            findings.append(
                Finding(
                    f"relative_return_drop[{result.setting.family} @ {result.setting.severity:g}]",
                    result.drop,
                    "empirical",
                    confidence=self.confidence,
                    interval=(result.drop_low, result.drop_high),
                    params=params,
                    seed=self.seed,
                    method="paired ratio estimator, Student-t interval on its linearised residuals",
                )
            )
        return findings


def relative_drop(
    baseline: np.ndarray, perturbed: np.ndarray, floor: float = 0.0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(drop, low, high): 1 − (mean(P) − floor)/(mean(B) − floor) and its paired confidence interval.

    ``floor`` is the worst score the game allows (0 for most; −21 for a full game of Pong), so a drop of
    1 means "as bad as it gets". Episodes must be paired (same seeds, same order).

    Method: the ratio estimator R = mean(P)/mean(B) is linearised as in Cochran (*Sampling Techniques*,
    3rd ed., 1977, §6.4): its standard error is sd(P − R·B)/(√n · mean(B)), from the paired residuals. The
    interval uses Student's t quantile with n − 1 degrees of freedom (Student 1908, "The probable error
    of a mean", *Biometrika* 6) rather than the normal one: with a handful of episodes the residuals'
    standard deviation is itself a rough estimate, and the z interval then covers far less than it
    claims (at n = 2 a nominal 90 % covers about 66 %; with t about 90 %, ``tests/test_stress.py``).

    The interval is kept inside what the returns allow: when no perturbed return is below the floor, the
    mean perturbed return is not either and the drop is at most 1 exactly, so the upper limit is clipped
    there. (A floor set too high — returns below it — gets no clip: a drop above 1 then says so honestly,
    where refusing would throw away every episode already run.) A ceiling would bound the drop
    from below only through the *true* baseline mean (drop ≥ 1 − (high − floor)/μ_B); clipping at the
    sample mean instead halves the coverage when the perturbed returns sit at the ceiling, so no such
    clip is made.
    """
    baseline = np.asarray(baseline, dtype=float) - floor
    perturbed = np.asarray(perturbed, dtype=float) - floor
    if baseline.shape != perturbed.shape or baseline.ndim != 1 or len(baseline) < 2:
        raise InvalidValueError("relative_drop needs two paired 1-D samples of at least 2 episodes")
    if not (np.all(np.isfinite(baseline)) and np.all(np.isfinite(perturbed))):
        raise InvalidValueError("relative_drop needs finite returns")
    base_mean = baseline.mean()
    if base_mean <= 0:
        raise InvalidValueError(
            f"the baseline's mean return ({base_mean + floor:g}) is not above the floor ({floor:g}): "
            "a relative drop is undefined; give the game's lowest score as the floor"
        )
    ratio = perturbed.mean() / base_mean
    residual = perturbed - ratio * baseline  # the ratio estimator's linearisation
    stderr = math.sqrt(np.var(residual, ddof=1) / len(baseline)) / base_mean
    quantile = stats.t.ppf(0.5 + confidence / 2, df=len(baseline) - 1)
    drop = 1.0 - ratio
    high = drop + quantile * stderr
    if np.all(perturbed >= 0):  # no return below the floor: the drop cannot exceed 1
        high = min(high, 1.0)
    return float(drop), float(drop - quantile * stderr), float(high)


def verdict_min_episodes(confidence: float) -> int:
    """The fewest paired episodes that support a pass/fail verdict at ``confidence``: ⌈log2(2/(1 − confidence))⌉.

    The t interval is exact only for normal residuals, and a few episodes cannot show whether theirs
    are. The verdict's distribution-free counterpart, the exact sign test on the paired residuals
    P_i − (1 − tolerance)·B_i (Conover, *Practical Nonparametric Statistics*, 3rd ed., 1999, §3.4),
    reaches a two-sided level 1 − confidence only when even its most extreme outcome — every episode on
    the same side, probability 2·2⁻ⁿ — is that rare, i.e. n ≥ log2(2/(1 − confidence)): 6 episodes at
    95 %, 5 at 90 %, 8 at 99 %. Below that no sample whatever could decide without trusting normality,
    so the verdict is withheld rather than read off an interval whose level the data cannot support.
    """
    return max(2, math.ceil(math.log2(2 / (1 - confidence)) - 1e-9))  # 1e-9: log2(8.000…01) is 3


def drop_verdict(low: float, high: float, tolerance: float, episodes: int, confidence: float) -> str:
    """'pass' when the drop's whole interval is within ``tolerance``, 'fail' when all of it is beyond,
    'inconclusive' otherwise; 'too few episodes' below ``verdict_min_episodes(confidence)``."""
    if episodes < verdict_min_episodes(confidence):
        return TOO_FEW_EPISODES
    if high <= tolerance:
        return "pass"
    if low > tolerance:
        return "fail"
    return "inconclusive"


def stress_test(
    policy,
    env: str | EnvSpec,
    settings: Sequence[ProbeSetting],
    episodes: int,
    *,
    tolerance: float = 0.2,
    confidence: float = 0.95,
    floor: float = 0.0,
    seed: int = 0,
    policy_name: str = "policy",
    checkpoint_dir: str | Path | None = None,
    baseline_probe: ProbeStack | None = None,
    **run_options: Any,
) -> StressReport:
    """Run the baseline and every setting for ``episodes`` episodes each and compare them.

    ``baseline_probe`` is the stack the baseline runs under (None: the bare env); a setting's stack is the
    whole stack its episodes run under, so a probe under every episode is in ``baseline_probe`` and at the
    bottom of every setting's stack. ``run_options`` go to ``rlcert.envs.rollout.run`` (executor, chunk_size,
    progress). With ``checkpoint_dir`` each setting checkpoints its chunks in its own subfolder, so an
    interrupted stress test resumes.
    """
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance and math.isfinite(tolerance)):
        raise InvalidValueError(f"tolerance must be a relative drop >= 0 (0.2 = 20 %), got {tolerance!r}")
    if not 0 < confidence < 1:
        raise InvalidValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if not settings:
        raise InvalidValueError("a stress test needs at least one probe setting")
    spec = resolve_env_spec(env)

    def episodes_for(index: int, stack: ProbeStack | None) -> Episodes:
        folder = None if checkpoint_dir is None else Path(checkpoint_dir) / f"setting-{index:03d}"
        return run(policy, spec, episodes, probe=stack, seed=seed, checkpoint_dir=folder, **run_options)

    baseline = episodes_for(0, baseline_probe)
    results = []
    for index, setting in enumerate(settings, start=1):
        perturbed = episodes_for(index, setting.stack)
        drop, low, high = relative_drop(baseline.returns, perturbed.returns, floor, confidence)
        results.append(
            SettingResult(
                setting,
                perturbed.mean_return,
                perturbed.stderr_return,
                drop,
                low,
                high,
                drop_verdict(low, high, tolerance, episodes, confidence),
                episodes,
                perturbed.cut_episodes,
            )
        )
    return StressReport(
        policy_name,
        str(spec),
        baseline.mean_return,
        baseline.stderr_return,
        floor,
        tolerance,
        confidence,
        episodes,
        seed,
        tuple(results),
        baseline.cut_episodes,
        baseline.actions,
    )
