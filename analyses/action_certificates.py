"""Sound action certificates at visited states by bound propagation: the certified radius of every visited
state, the fraction of states whose action no perturbation of size ε can change, whole-episode certificates
when every state of an episode is certified, and the policy network's Lipschitz bounds.

The margins are bounded by IBP (Gowal et al. 2018), CROWN (Zhang et al. 2018) or α-CROWN (Xu et al. 2021;
``rlcert.certify.bounds``); a certified clean trajectory certifies its return against every per-step
ε-adversary (Zhang et al. 2020, "Robust Deep Reinforcement Learning against Adversarial Perturbations on
State Observations", SA-MDP; ``rlcert.certify.action_certificates``). Local Lipschitz bounds: Fast-Lip,
Weng et al. (2018), §3.3 (``rlcert.analyses.lipschitz``). Every figure is sound.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.analyses.lipschitz import (
    LocalLipschitz,
    global_lipschitz_finding,
    local_lipschitz_at,
    local_lipschitz_finding,
)
from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.analyses.visited_states import visit_states
from rlcert.attacks.base import Policy
from rlcert.certify.action_certificates import (
    TrajectoryCertificate,
    certified_radii,
    certify_actions,
    certify_episodes,
)
from rlcert.certify.bounds import check_bound_options
from rlcert.certify.lipschitz import lipschitz_upper_bound
from rlcert.envs.options import RolloutOptions
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite, parse_radii

__all__ = [
    "ActionCertificatesConfig",
    "ActionCertificatesAtEps",
    "ActionCertificatesAnalysis",
    "certify_action_robustness",
]


@dataclass(frozen=True)
class ActionCertificatesConfig:
    """Sound per-state certificates by bound propagation (IBP, CROWN, alpha-CROWN): the fraction of
    visited states whose action no observation perturbation of size eps can change, their certified
    radii, and whole-episode certificates when every state of an episode is certified."""

    eps: str = "0.001,0.01,0.05"
    """Perturbation sizes (comma list) in normalized observation units (1/255 = one pixel level). State
    fractions and radii bound the whole policy observation; the trajectory certificates treat eps as a
    per-frame budget (for l2 that is sqrt(stack) * eps on a stacked observation)."""
    norm: str = "inf"
    """Norm of the perturbation: inf or 2."""
    method: str = "crown"
    """ibp, crown or alpha-crown."""
    episodes: int = 3
    """Clean episodes whose states are certified (one trajectory certificate each)."""
    radius_max: float = 0.5
    """Upper end of the bisection for certified radii."""
    radius_iterations: int = 12
    """Bisection steps per radius (each one bound computation per state); the radius is within
    radius_max / 2^iterations of the largest this method certifies."""
    max_states: int = 0
    """Certify state fractions, radii and local Lipschitz bounds on at most this many visited states,
    evenly spaced (0: all of them; CROWN takes seconds per Atari state on a CPU)."""
    trajectories: bool = True
    """Whole-episode certificates (every visited state certified at each eps); turn off to certify only a
    sample of states (--max-states) of long Atari episodes."""
    lipschitz: bool = True
    """Also report the global Lipschitz product and the local Lipschitz bound over each eps-ball."""

    def __post_init__(self) -> None:
        # Every option is checked here, before any episode runs or any bound is computed.
        super_init = getattr(super(), "__post_init__", None)
        if super_init is not None:
            super_init()
        self.eps_values  # noqa: B018 - parsed here so a malformed list is refused before any episode runs
        check_bound_options(self.norm, self.method)
        check_count("episodes", self.episodes)
        check_finite("radius_max", self.radius_max, 0, strict=True)
        check_count("radius_iterations", self.radius_iterations)
        check_count("max_states", self.max_states, 0)

    @property
    def eps_values(self) -> list[float]:
        return parse_radii(self.eps, "eps")

    @property
    def relaxation(self) -> str:
        """Pre-activation bounds of the local Lipschitz bound: IBP's for ibp, CROWN's otherwise (alpha-CROWN
        optimizes the final margins, not the intermediate bounds Fast-Lip uses)."""
        return "ibp" if self.method == "ibp" else "crown"


@dataclass(frozen=True)
class ActionCertificatesAtEps:
    """What one perturbation size certifies."""

    eps: float
    certified_fraction: float
    """Fraction of the certified states (``ActionCertificatesAnalysis.states``) whose action is certified."""
    local_lipschitz: LocalLipschitz | None
    """The local Lipschitz bound over these states' eps-balls (None when not computed)."""
    trajectories: tuple[TrajectoryCertificate, ...]
    """One whole-episode certificate per episode (empty when not computed)."""

    @property
    def sound_episodes(self) -> int:
        """Episodes whose every state is certified: their clean return is guaranteed."""
        return sum(t.sound for t in self.trajectories)


@dataclass(frozen=True)
class ActionCertificatesAnalysis:
    """The certified radii of the visited states and what each eps certifies (all sound)."""

    subject: Subject
    config: ActionCertificatesConfig
    rollout: RolloutOptions
    states: int
    """How many visited states the fractions, radii and local bounds cover (``config.max_states`` or all)."""
    radii: np.ndarray
    """Certified radius of each of those states (bisection lower end; 0: not certified at any radius tried)."""
    per_eps: tuple[ActionCertificatesAtEps, ...]
    """One entry per eps of ``config.eps``, in order."""
    global_lipschitz: float | None
    """Product of the layer operator norms (None when ``config.lipschitz`` is off)."""
    wall_time_s: float

    TABLE_COLUMNS = (
        "eps",
        "certified states",
        "local Lipschitz mean / max",
        "sound episodes",
        "first uncertified step",
    )

    def label(self) -> str:
        """What the certificates hold for: policy, env, probe stack, states, episodes, method and norm."""
        under = self.rollout.probe_phrase()
        return (
            f"{self.subject.label()}{under} · {self.states} states of {self.config.episodes} episodes · "
            f"{self.config.method} · l{self.config.norm}"
        )

    def findings(self) -> tuple[Finding, ...]:
        config = self.config
        context = self.subject.to_dict() | self.rollout.result_params()
        params = context | {"norm": config.norm, "method": config.method, "episodes": config.episodes}
        params |= {"states": self.states}
        findings = [
            Finding(
                "mean_certified_radius",
                float(self.radii.mean()),
                "sound",
                params=params,
                method=f"{config.method} margin bounds, bisection",
            )
        ]
        for row in self.per_eps:
            findings.append(
                Finding(
                    f"certified_state_fraction@eps={row.eps:g}",
                    row.certified_fraction,
                    "sound",
                    params={**params, "eps": row.eps},
                    method=f"{config.method} margin bounds",
                )
            )
            if row.local_lipschitz is not None:
                findings.append(local_lipschitz_finding(row.local_lipschitz, config.norm, config.relaxation, params))
            for trajectory in row.trajectories:
                findings += trajectory.findings(**context)
        if self.global_lipschitz is not None:
            findings.append(global_lipschitz_finding(self.global_lipschitz, config.norm, self.subject))
        return tuple(findings)

    def table_rows(self) -> list[tuple[str, ...]]:
        """One row per eps under ``TABLE_COLUMNS``, as text."""
        rows = []
        for row in self.per_eps:
            local = row.local_lipschitz
            firsts = [t.first_uncertified_step for t in row.trajectories]
            rows.append(
                (
                    f"{row.eps:g}",
                    f"{row.certified_fraction:.1%}",
                    f"{local.mean:.4g} / {local.max:.4g}" if local is not None else "-",
                    f"{row.sound_episodes}/{len(firsts)}" if firsts else "not run",
                    ", ".join("-" if f is None else str(f) for f in firsts),
                )
            )
        return rows

    def plot(self, path: str | Path) -> Path:
        """The fraction of the states certified at each perturbation size (the radii's survival curve)."""
        from rlcert.reports.plots import plot_certified_fraction

        return plot_certified_fraction(
            self.radii,
            path,
            title=f"sound action certificates · {self.label()}",
            evidence="sound",
            norm=self.config.norm,
        )

    def report_extra(self) -> dict[str, Any]:
        return {"config": asdict(self.config) | self.rollout.result_params(), "radii": self.radii.tolist()}


def certify_action_robustness(
    policy: str | Path | Policy,
    env: str | None = None,
    config: ActionCertificatesConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> ActionCertificatesAnalysis:
    """Run ``config.episodes`` clean greedy episodes of ``policy`` once (recording every step) and certify
    them: trajectory certificates per eps, then certified radii, fractions and local Lipschitz bounds on at
    most ``config.max_states`` evenly spaced states. A policy object needs ``env``; its network must be
    Linear/Conv2d/ReLU/Tanh/Flatten layers. ``rollout.checkpoint_dir`` is refused (the per-step records are
    not checkpointed).

    Example:
        >>> config = ActionCertificatesConfig(episodes=1, max_states=20)
        >>> result = certify_action_robustness("zoo:cartpole5-dqn", config=config)
        >>> {f.evidence.value for f in result.findings()}
        {'sound'}
    """
    config = config or ActionCertificatesConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    # One run of the engine gives every certificate its episodes: one seeding scheme, episodes run once.
    visited = visit_states(subject, config.episodes, config.max_states, rollout, "action certificates")
    network, states, low, high = subject.policy, visited.states, visited.low, visited.high
    eps_values = config.eps_values
    radii = certified_radii(
        network, states, config.norm, config.method, config.radius_max, config.radius_iterations, low=low, high=high,
        progress=rollout.progress,
    )  # fmt: skip
    local: tuple[LocalLipschitz | None, ...] = (None,) * len(eps_values)
    if config.lipschitz:
        local = local_lipschitz_at(network, states, eps_values, config.norm, config.relaxation, low, high)
    per_eps = []
    for eps, local_bound in zip(eps_values, local):
        fraction = certify_actions(network, states, eps, config.norm, config.method, low=low, high=high)
        trajectories = ()
        if config.trajectories:
            trajectories = certify_episodes(network, visited.episodes, eps, config.norm, config.method, low, high)
        per_eps.append(ActionCertificatesAtEps(eps, fraction.certified_fraction, local_bound, trajectories))
    global_bound = lipschitz_upper_bound(network.module, config.norm) if config.lipschitz else None
    return ActionCertificatesAnalysis(
        subject, config, rollout, len(states), radii, tuple(per_eps), global_bound, time.perf_counter() - start
    )
