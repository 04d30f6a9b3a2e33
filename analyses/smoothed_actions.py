"""Smoothed-action certificates at visited states: the certified ℓ2 radius of the Gaussian-smoothed action at
every state of N episodes, and the fraction of states certified at each ε.

CROP-LoAct, Wu, Li, Li & Li (2022), "CROP: Certifying Robust Policies for Reinforcement Learning through
Functional Smoothing", §4.1: each radius holds with probability ≥ 1 − α (statistical).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.certify.crop import SmoothedActionCertificate, visited_state_certificate
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite, check_probability_open, parse_radii, parse_range

__all__ = ["SmoothedActionsConfig", "SmoothedActionsAnalysis", "certify_smoothed_actions"]


@dataclass(frozen=True)
class SmoothedActionsConfig:
    """Per-state certificates (CROP-LoAct, Wu et al. 2022): the certified l2 radius of the smoothed
    action at every state visited along episodes, and the fraction certified at each eps."""

    sigma: float | None = None
    """Smoothing noise std; defaults to the noise a zoo agent was trained with."""
    episodes: int = 5
    """Episodes whose visited states are certified."""
    samples: int = 10_000
    """Noise samples per state."""
    alpha: float = 0.05
    """Each state's radius holds with probability >= 1 - alpha."""
    eps: str = "0.05,0.1,0.2"
    """Radii at which to report the certified fraction."""
    score_range: str | None = None
    """V_min:V_max for Q-value policies (defaults to a zoo agent's value range); logits need none."""

    def __post_init__(self) -> None:
        super_init = getattr(super(), "__post_init__", None)
        if super_init is not None:
            super_init()
        check_count("episodes", self.episodes)
        check_count("samples", self.samples)
        check_probability_open("alpha", self.alpha)
        if self.sigma is not None:
            check_finite("sigma", self.sigma, 0, strict=True)
        self.eps_values  # noqa: B018 - parsed here so a malformed list is refused before any episode runs
        if self.score_range is not None:
            parse_range(self.score_range, "score_range")

    @property
    def eps_values(self) -> list[float]:
        return parse_radii(self.eps, "eps")


@dataclass(frozen=True)
class SmoothedActionsAnalysis:
    """The radii of the visited states and what they certify."""

    subject: Subject
    config: SmoothedActionsConfig
    rollout: RolloutOptions
    sigma: float
    certificate: SmoothedActionCertificate
    wall_time_s: float

    def label(self) -> str:
        under = self.rollout.probe_phrase()
        return (
            f"{self.subject.label()}{under} · σ={self.sigma:g} · "
            f"{len(self.certificate.radii)} states of {self.config.episodes} episodes"
        )

    def findings(self) -> tuple[Finding, ...]:
        context = self.subject.to_dict() | self.rollout.result_params() | {"episodes": self.config.episodes}
        return tuple(self.certificate.findings(self.config.eps_values, **context))

    def plot(self, path: str | Path) -> Path:
        """The fraction of visited states certified at each radius (the radii's survival curve)."""
        from rlcert.reports.plots import plot_certified_fraction

        return plot_certified_fraction(
            self.certificate.radii, path, title=f"CROP per-state radii · {self.label()}", evidence="statistical"
        )

    def report_extra(self) -> dict[str, Any]:
        config = asdict(self.config) | {"sigma": self.sigma} | self.rollout.result_params()
        return {"radii": self.certificate.radii.tolist(), "config": config}


def certify_smoothed_actions(
    policy: str | Path | Policy,
    env: str | None = None,
    config: SmoothedActionsConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> SmoothedActionsAnalysis:
    """CROP radii at every state of ``config.episodes`` episodes of the smoothed ``policy``; a Q-value policy
    needs its score range (``config.score_range``, or a zoo agent's recorded one)."""
    config = config or SmoothedActionsConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    sigma = subject.smoothing_sigma(config.sigma)
    score_range = None
    if config.score_range is not None:
        score_range = parse_range(config.score_range, "score_range")
    elif getattr(subject.policy, "output", None) == "q_values":
        score_range = subject.value_range
        if score_range is None:
            raise InvalidValueError("--score-range V_min:V_max is required for a Q-value policy")
    run_options = rollout.run_options()
    seed = run_options.pop("seed")
    certificate = visited_state_certificate(
        subject.policy,
        subject.env,
        config.episodes,
        sigma,
        seed=seed,
        samples=config.samples,
        alpha=config.alpha,
        score_range=score_range,
        **run_options,
    )
    return SmoothedActionsAnalysis(subject, config, rollout, sigma, certificate, time.perf_counter() - start)
