"""Reward certificate: a lower bound on a smoothed policy's expected return (or success probability) under any
adaptive ℓ2 observation attack of total budget B, with an optional empirical attack check.

Kumar, Levine & Feizi (2022), "Policy Smoothing for Provably Robust Reinforcement Learning", §4 (expected
return through the survival-function band) and §5 (success probabilities, Clopper–Pearson). Statistical at
confidence 1 − α; the attacked means (adaptive budgeted PGD with expectation over the noise) are empirical.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.attacks.smoothed_pgd import BudgetedSmoothedPGD
from rlcert.attacks.smoothing import GaussianSmoothing
from rlcert.certify.confidence import BAND_METHODS
from rlcert.certify.reward import (
    BinaryCertificate,
    RewardCertificate,
    binary_certificate,
    parse_budgets,
    reward_certificate,
)
from rlcert.envs.factory import known_return_range
from rlcert.envs.options import RolloutOptions
from rlcert.envs.rollout import run
from rlcert.envs.seeding import child_seed
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.plots import plot_certificate_curve
from rlcert.reports.validation import check_count, check_finite, check_probability_open, parse_range

__all__ = [
    "RewardCertificateConfig",
    "RewardCertificateAnalysis",
    "certify_reward",
    "certify_saved_returns",
    "ATTACK_SUB_RUN",
]

# The attacked episodes' seed: SeedSequence child 1 of the run's seed (rlcert.envs.seeding), never seed + 1,
# which is the clean run of seed + 1.
ATTACK_SUB_RUN = 1


@dataclass(frozen=True)
class RewardCertificateConfig:
    """Certify a lower bound on the expected return of a Gaussian-smoothed policy under any adaptive
    l2 observation attack of total budget B (Kumar et al. 2022); statistical at confidence 1 - alpha."""

    sigma: float | None = None
    """Smoothing noise std on every raw frame; defaults to the noise a zoo agent was trained with."""
    budgets: str | None = None
    """Total l2 budgets: start:stop:step (stop included) or a comma list (default: 0 to 5 sigma in steps of
    sigma, 0:1:0.2 at sigma = 0.2; the certificate falls with B / sigma, so fixed budgets say nothing at a
    small sigma)."""
    episodes: int | None = None
    """Clean smoothed episodes behind the certificate (default 10000; not with saved returns, which are what
    they are)."""
    alpha: float = 0.05
    """1 - confidence of the certificate."""
    bound: str | None = None
    """Confidence band: ell (default; simultaneous, variance-adaptive), clopper-pearson, dkw or hoeffding. A
    success certificate (success_min_return) always uses Clopper-Pearson."""
    range: str | None = None
    """Range a:b every return lies in; defaults to what the env's rules imply (CartPole-v0: 0:200)."""
    success_min_return: float | None = None
    """Certify P(success) instead, success = return >= this (MountainCar-v0 goal reached: -199)."""
    attack_episodes: int = 0
    """If > 0, attack this many smoothed episodes per budget with the adaptive l2 PGD (empirical check)."""
    attack_noise_samples: int = 128
    """Noise samples of the attack's expectation over noise."""
    undefended: str | None = None
    """Also attack this policy without smoothing (e.g. zoo:cartpole5-dqn), for comparison."""

    def __post_init__(self) -> None:
        super_init = getattr(super(), "__post_init__", None)
        if super_init is not None:
            super_init()
        if self.budgets is not None:
            parse_budgets(self.budgets)
        check_probability_open("alpha", self.alpha)
        if self.sigma is not None:
            check_finite("sigma", self.sigma, 0, strict=True)
        if self.episodes is not None:
            check_count("episodes", self.episodes)
        check_count("attack_episodes", self.attack_episodes, 0)
        check_count("attack_noise_samples", self.attack_noise_samples)
        if self.range is not None:
            parse_range(self.range)
        if self.success_min_return is not None:
            check_finite("success_min_return", self.success_min_return)
        if self.bound is not None and self.bound not in BAND_METHODS:
            raise InvalidValueError(f"--bound must be one of {', '.join(BAND_METHODS)}, got {self.bound!r}")
        if self.success_min_return is not None and self.bound not in (None, "clopper-pearson"):
            raise InvalidValueError(
                f"--bound {self.bound} does not apply to a success certificate (--success-min-return), which "
                "always uses Clopper-Pearson: leave --bound out"
            )
        if self.undefended is not None and self.attack_episodes == 0:
            raise InvalidValueError("--undefended needs --attack-episodes > 0 (the undefended agent is attacked)")

    @property
    def band(self) -> str:
        """The band actually used: Clopper-Pearson for a success certificate, else ``bound`` (default ell)."""
        return "clopper-pearson" if self.binary else (self.bound or "ell")

    def budget_values(self, sigma: float) -> np.ndarray:
        """The budgets given, else 0, σ, ..., 5σ."""
        if self.budgets is not None:
            return parse_budgets(self.budgets)
        return np.round(sigma * np.arange(6), 12)

    @property
    def episode_count(self) -> int:
        return 10_000 if self.episodes is None else self.episodes

    @property
    def binary(self) -> bool:
        return self.success_min_return is not None

    def applied(self, ran_episodes: bool) -> dict[str, Any]:
        """The options that shaped a result, defaults resolved; none that could not apply."""
        options = asdict(self) | {"bound": self.band, "episodes": self.episode_count}
        if not ran_episodes:
            for name in ("episodes", "attack_episodes", "attack_noise_samples", "undefended"):
                options.pop(name)
        elif self.attack_episodes == 0:
            for name in ("attack_episodes", "attack_noise_samples", "undefended"):
                options.pop(name)
        return {name: value for name, value in options.items() if value is not None}


@dataclass(frozen=True)
class RewardCertificateAnalysis:
    """A reward (or success-probability) certificate, the clean figure it starts from, and the attacked
    means that check it. ``subject`` is what was certified: the policy, env and probe stack, or the file
    the returns came from."""

    subject: Mapping[str, Any]
    config: RewardCertificateConfig
    sigma: float
    certificate: RewardCertificate | BinaryCertificate
    low: float | None
    high: float | None
    seed: int | None
    """Seed of the clean episodes (None for returns saved elsewhere)."""
    attacked: Mapping[float, tuple[float, float]] = field(default_factory=dict)
    """Budget -> (mean, standard error) of the outcome under the adaptive attack, smoothed (empirical)."""
    undefended: Mapping[float, tuple[float, float]] = field(default_factory=dict)
    """The same for ``config.undefended`` without smoothing."""
    attack_seed: int | None = None
    wall_time_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", MappingProxyType(dict(self.subject)))
        object.__setattr__(self, "attacked", MappingProxyType(dict(self.attacked)))
        object.__setattr__(self, "undefended", MappingProxyType(dict(self.undefended)))

    @property
    def episodes(self) -> int:
        return self.certificate.episodes

    @property
    def clean_value(self) -> float:
        """The clean smoothed mean return, or success rate (empirical)."""
        cert = self.certificate
        return cert.success_rate if isinstance(cert, BinaryCertificate) else cert.clean_mean

    @property
    def unit(self) -> str:
        return "success_rate" if self.config.binary else "return"

    def label(self) -> str:
        """What the certificate holds for, in one line: the policy and env (or the returns file), the probe
        stack the episodes ran under, the smoothing noise and the number of episodes."""
        subject = self.subject
        where = (
            f"returns from {subject['returns_file']}"
            if "returns_file" in subject
            else f"{subject['policy']} on {subject['env']}"
        )
        probe = f" under probe {subject['probe']}" if subject.get("probe") else ""
        return f"{where}{probe} · σ={self.sigma:g} · N={self.episodes}"

    def band_name(self) -> str:
        return "Clopper-Pearson" if self.config.binary else f"{self.config.band} band"

    def findings(self) -> tuple[Finding, ...]:
        context = ({"seed": self.seed} if self.seed is not None else {}) | dict(self.subject)
        clean_params = {**context, "sigma": self.sigma, "episodes": self.episodes}
        if self.config.binary:
            clean = Finding(
                "clean_success_rate",
                self.clean_value,
                "empirical",
                params=clean_params | {"success_min_return": self.config.success_min_return},
                method="fraction of the clean smoothed episodes that succeed",
                description=f"success rate of {self.label()}",
            )
            bounds = self.certificate.findings(**context, success_min_return=self.config.success_min_return)
        else:
            clean = Finding(
                "clean_smoothed_mean_return",
                self.clean_value,
                "empirical",
                params=clean_params,
                method="sample mean of the clean smoothed episodes",
                description=f"mean return of {self.label()}",
            )
            bounds = self.certificate.findings(**context)
        return (clean, *bounds, *self._attack_findings(context))

    def _attack_findings(self, context: dict[str, Any]) -> list[Finding]:
        findings = []
        for name, data, sigma, policy in (
            (f"attacked_mean_{self.unit}", self.attacked, self.sigma, None),
            (f"undefended_attacked_mean_{self.unit}", self.undefended, 0.0, self.config.undefended),
        ):
            method = "adaptive budgeted l2 PGD" + (" with expectation over noise" if sigma > 0 else ", no smoothing")
            for budget, (mean, stderr) in data.items():
                params = {**context, "budget": budget, "sigma": sigma, "episodes": self.config.attack_episodes}
                params |= {"noise_samples": self.config.attack_noise_samples if sigma > 0 else 1}
                params |= {"seed": self.attack_seed, "stderr": stderr} | ({"policy": policy} if policy else {})
                findings.append(Finding(f"{name}@B={budget:g}", mean, "empirical", method=method, params=params))
        return findings

    def plot(self, path: str | Path) -> Path:
        """The certified curve against the budget, with the attacked means (± 1.96 SE) overlaid."""
        return plot_certificate_curve(
            self.certificate.budgets,
            self.certificate.certified,
            path,
            clean_mean=self.clean_value,
            attacked=dict(self.attacked),
            undefended=dict(self.undefended),
            confidence=1 - self.config.alpha,
            ylabel="success probability" if self.config.binary else "expected return",
            title=f"{self.label()} · {self.band_name()}",
        )

    def report_extra(self) -> dict[str, Any]:
        """Supporting data for a report: the options applied, the return range and the certificate's curve."""
        return {
            "config": self.config.applied(ran_episodes=self.seed is not None),
            "wall_time_s": self.wall_time_s,
            "range": [self.low, self.high],
            "certificate": None if self.config.binary else self.certificate.to_dict(),
        }


def _certificate(sample, sigma: float, config: RewardCertificateConfig, low, high):
    budgets = config.budget_values(sigma)
    if config.binary:
        if isinstance(sample, np.ndarray):
            successes = int(np.sum(sample >= config.success_min_return))
            return binary_certificate(successes, len(sample), sigma, budgets, config.alpha)
        return binary_certificate(
            sample, sigma=sigma, budgets=budgets, alpha=config.alpha, success_min_return=config.success_min_return
        )
    return reward_certificate(sample, sigma, budgets, config.alpha, config.band, low, high)


def _return_range(config: RewardCertificateConfig, env) -> tuple[float | None, float | None]:
    if config.range is not None:
        return parse_range(config.range)
    if env is not None and (known := known_return_range(env)) is not None:
        return known
    if config.binary:
        return None, None
    raise InvalidValueError("--range a:b is required: rlcert does not know the return range of this env")


def _attacked_outcomes(
    subject: Subject,
    policy: Policy,
    sigma: float,
    budgets: np.ndarray,
    config: RewardCertificateConfig,
    rollout: RolloutOptions,
    kind: str,
) -> dict[float, tuple[float, float]]:
    """Mean (and standard error) of the outcome under the adaptive attack at each budget > 0; smoothed when
    sigma > 0. The attacked episodes are the slowest part, so they checkpoint beside the clean ones (one
    folder per kind and budget) and a rerun resumes them."""
    outcomes = {}
    for budget in (float(b) for b in budgets if b > 0):
        episodes = run(
            policy,
            subject.env,
            config.attack_episodes,
            attack=BudgetedSmoothedPGD(budget, sigma, noise_samples=config.attack_noise_samples),
            defense=GaussianSmoothing(sigma) if sigma > 0 else None,
            **(rollout.run_options(f"{kind}-B{budget:g}") | {"seed": child_seed(rollout.seed, ATTACK_SUB_RUN)}),
        )
        values = episodes.returns
        if config.binary:
            values = (values >= config.success_min_return).astype(float)
        stderr = float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
        outcomes[budget] = (float(np.mean(values)), stderr)
    return outcomes


def certify_reward(
    policy: str | Path | Policy,
    env: str | None = None,
    config: RewardCertificateConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> RewardCertificateAnalysis:
    """Run ``config.episodes`` clean smoothed episodes of ``policy``, certify them, and (with
    ``config.attack_episodes``) attack the smoothed policy (and ``config.undefended``) at every budget.

    Example:
        >>> result = certify_reward("zoo:cartpole5-ppo-sigma0.2", config=RewardCertificateConfig(episodes=200))
        >>> [f.evidence.value for f in result.findings()][:2]
        ['empirical', 'statistical']
    """
    config = config or RewardCertificateConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    sigma = subject.smoothing_sigma(config.sigma)
    undefended = resolve_subject(config.undefended, subject.env) if config.undefended is not None else None
    low, high = _return_range(config, subject.env)
    clean = run(
        subject.policy, subject.env, config.episode_count, defense=GaussianSmoothing(sigma), **rollout.run_options()
    )
    # The episodes carry their σ: the certificate checks it against the one asked for.
    certificate = _certificate(clean, sigma, config, low, high)
    attacked, undefended_outcomes = {}, {}
    if config.attack_episodes > 0:
        budgets = config.budget_values(sigma)
        attacked = _attacked_outcomes(subject, subject.policy, sigma, budgets, config, rollout, "attacked")
        if undefended is not None:
            undefended_outcomes = _attacked_outcomes(
                subject, undefended.policy, 0.0, budgets, config, rollout, "undefended"
            )
    probe = rollout.probe_stack()
    described = {"policy": subject.reference, "env": str(subject.env)} | ({"probe": probe.label} if probe else {})
    return RewardCertificateAnalysis(
        described,
        config,
        sigma,
        certificate,
        low,
        high,
        rollout.seed,
        attacked,
        undefended_outcomes,
        child_seed(rollout.seed, ATTACK_SUB_RUN) if config.attack_episodes > 0 else None,
        time.perf_counter() - start,
    )


def certify_saved_returns(
    returns: np.ndarray, sigma: float, config: RewardCertificateConfig | None = None, source: str = "returns"
) -> RewardCertificateAnalysis:
    """Certify returns another tool saved (one per clean smoothed episode at noise ``sigma``): the certificate
    trusts the σ given with them. Nothing is run, so ``config.range`` (or a success threshold) is required."""
    config = config or RewardCertificateConfig()
    start = time.perf_counter()
    sigma = check_finite("sigma", sigma, 0, strict=True)
    running = {"episodes": config.episodes, "attack_episodes": config.attack_episodes or None}
    running |= {"undefended": config.undefended}
    given = [name for name, value in running.items() if value is not None]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise InvalidValueError(f"saved returns are certified as they are, so {flags} cannot apply: leave them out")
    if config.range is None and not config.binary:
        raise InvalidValueError("--range a:b is required with saved returns (the range every return lies in)")
    low, high = _return_range(config, None)
    returns = np.asarray(returns, dtype=np.float64)
    certificate = _certificate(returns, sigma, config, low, high)
    return RewardCertificateAnalysis(
        {"returns_file": source}, config, sigma, certificate, low, high, None, wall_time_s=time.perf_counter() - start
    )
