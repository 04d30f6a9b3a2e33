"""Decision-boundary instability of a policy (Korkmaz, ICML 2024; REFERENCE §4): its principal unstable
directions over the states it visits, how they turn along an episode, and how much of them a shift keeps.

The pieces are ``rlcert.diagnostics.instability`` (directions, G_S, Λ, sliding windows, spectrum) and
``rlcert.diagnostics.shifts`` (PGD, minimal C&W-style and blur shifts); this module runs the episodes:

* the baseline: ``episodes`` clean greedy episodes (SeedSequence child 0 of the run's seed): every state's
  unstable direction, G_S and the top-k subspace from at most ``max_states`` of them (evenly spaced), and the
  oscillation along each episode (the angle between the G of consecutive ``window``-state windows, and ‖∇J‖);
* the shifted sets: ``clean`` (as many clean episodes from another seed: how stable G is under no shift at all),
  ``pgd`` and ``cw`` (the baseline states moved by the attacks), ``blur`` (blurred frames, images only) and
  ``stori`` (episodes under each STORI stochasticity profile of the game, Atari only). For each, G_Ψ and
  Λ(S_Ψ, S) against the baseline.

Every figure is empirical: a local search on sampled states.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.diagnostics.instability import (
    PrincipalDirections,
    direction_spectrum,
    feature_correlation_quotient,
    principal_directions,
    sliding_directions,
    unstable_directions,
)
from rlcert.envs.options import RolloutOptions
from rlcert.envs.rollout import run
from rlcert.envs.seeding import child_seed
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite

__all__ = ["InstabilityConfig", "ShiftedSet", "InstabilityAnalysis", "analyze_instability", "SHIFTS"]

SHIFTS = ("clean", "pgd", "cw", "blur", "stori")
IMAGE_SHIFTS = ("blur", "stori")
# SeedSequence children of the run's seed: the second clean set, and the episodes under each STORI profile.
CLEAN_SUB_RUN, STORI_SUB_RUN = 1, 2


@dataclass(frozen=True)
class InstabilityConfig:
    """Decision-boundary instability (Korkmaz 2024): the principal unstable directions of the policy over its
    visited states, their oscillation along episodes, and the share of them a shift keeps (Feature Correlation
    Quotient); all empirical."""

    episodes: int = 10
    """Clean greedy episodes of the baseline set (and of the second clean set)."""
    eps: float = 0.01
    """Radius of each state's unstable-direction search, in observation units (1/255 = one pixel level)."""
    norm: str = "inf"
    """Norm of that search: inf or 2."""
    steps: int = 10
    """Gradient steps of each state's search."""
    components: int = 3
    """Principal unstable directions kept (the top of the subspace and its explained shares)."""
    max_states: int = 1000
    """States of each set behind its principal directions and Λ, evenly spaced (0: all)."""
    window: int = 50
    """Consecutive states per sliding window along an episode (oscillation of G over time)."""
    shifts: str | None = None
    """Comma list of shifted sets: clean, pgd, cw, blur, stori (default: clean,pgd,cw, plus blur,stori on Atari)."""
    attack_eps: float = 0.01
    """l-inf radius of the pgd shift."""
    blur_sigma: float = 1.0
    """Standard deviation, in pixels, of the blur shift."""

    def __post_init__(self) -> None:
        check_count("episodes", self.episodes)
        check_finite("eps", self.eps, 0, strict=True)
        if self.norm not in ("inf", "2"):
            raise InvalidValueError(f"--norm must be inf or 2, got {self.norm!r}")
        check_count("steps", self.steps)
        check_count("components", self.components)
        check_count("max_states", self.max_states, 0)
        check_count("window", self.window, 2)
        check_finite("attack_eps", self.attack_eps, 0, strict=True)
        check_finite("blur_sigma", self.blur_sigma, 0, strict=True)
        self.shift_names(atari=True)  # the names; whether they apply to the env is checked with the env

    def shift_names(self, atari: bool) -> tuple[str, ...]:
        """The shifted sets to compare, checked against what applies to the env."""
        if self.shifts is None:
            return SHIFTS if atari else tuple(s for s in SHIFTS if s not in IMAGE_SHIFTS)
        names = tuple(name.strip() for name in self.shifts.split(",") if name.strip())
        unknown = [name for name in names if name not in SHIFTS]
        if unknown or not names:
            raise InvalidValueError(f"--shifts must be a comma list of {', '.join(SHIFTS)}, got {self.shifts!r}")
        if not atari and (image := [name for name in names if name in IMAGE_SHIFTS]):
            raise InvalidValueError(
                f"--shifts {','.join(image)} applies to Atari image observations only; this env's observations are "
                f"vectors (use {', '.join(s for s in SHIFTS if s not in IMAGE_SHIFTS)})"
            )
        return names


@dataclass(frozen=True)
class ShiftedSet:
    """One shifted state set compared with the baseline."""

    name: str
    """``clean``, ``pgd``, ``cw``, ``blur`` or ``stori: <profile>``."""
    states: int
    principal: PrincipalDirections
    quotient: float
    """Λ(S_Ψ, S) against the baseline, in [0, 1]."""
    detail: dict[str, float | None]
    """What else describes the shift (e.g. the C&W attack's median ‖δ‖₂ and the share of states it flipped)."""


@dataclass(frozen=True)
class InstabilityAnalysis:
    subject: Subject
    config: InstabilityConfig
    rollout: RolloutOptions
    shape: tuple[int, ...]
    """The policy observation's shape (G reshaped to it is the heat-map)."""
    states: int
    """Baseline states behind G_S."""
    principal: PrincipalDirections
    """G_S and the top-k subspace of the baseline."""
    flip_share: float
    """Share of the baseline states whose ε-search changes the greedy action."""
    gradient_norms: tuple[np.ndarray, ...]
    """‖∇_s J‖ along each baseline episode."""
    oscillation: tuple[np.ndarray, ...]
    """Angles (degrees) between consecutive windows' G along each baseline episode long enough for two windows."""
    shifted: tuple[ShiftedSet, ...]
    wall_time_s: float

    def label(self) -> str:
        return (
            f"{self.subject.label()}{self.rollout.probe_phrase()} · {self.states} states of {self.config.episodes} "
            f"episodes · l{self.config.norm} eps={self.config.eps:g}"
        )

    @property
    def mean_oscillation(self) -> float | None:
        angles = np.concatenate(self.oscillation) if self.oscillation else np.empty(0)
        return float(angles.mean()) if len(angles) else None

    def oscillation_interval(self, confidence: float = 0.95) -> tuple[float, float] | None:
        """A Student-t interval for the mean oscillation with the episodes as clusters: consecutive windows of
        one episode are correlated, independent episodes are not. Cluster-robust standard error of the pooled
        mean m = ΣS_e / ΣN_e (S_e: the angles' sum in episode e, N_e: their count):
        sqrt(n/(n−1) Σ_e (S_e − m N_e)²) / ΣN_e, with n−1 degrees of freedom; None with fewer than 2 episodes."""
        from scipy.stats import t as student_t

        counts = np.array([len(a) for a in self.oscillation if len(a)], dtype=float)
        if len(counts) < 2:
            return None
        sums = np.array([a.sum() for a in self.oscillation if len(a)])
        mean, n = sums.sum() / counts.sum(), len(counts)
        stderr = np.sqrt(n / (n - 1) * np.sum((sums - mean * counts) ** 2)) / counts.sum()
        half = float(student_t.ppf(0.5 + confidence / 2, n - 1) * stderr)
        return (float(mean) - half, float(mean) + half)

    def spectrum(self) -> np.ndarray:
        """|FFT2(G_S)| per frame channel, centred (image observations only)."""
        return direction_spectrum(self.principal.principal, self.shape)

    def findings(self) -> tuple[Finding, ...]:
        params = self.subject.to_dict() | self.rollout.result_params()
        params |= {"eps": self.config.eps, "norm": self.config.norm, "states": self.states}
        method = f"PGD on the greedy cross-entropy, {self.config.steps} steps; top singular vectors of V (ARPACK)"
        found = [
            Finding("principal_explained_share", float(self.principal.explained[0]), "empirical", params=params,
                    method=method, description="share of the unstable energy sum ||v||^2 along G_S"),
            Finding(f"top{len(self.principal.explained)}_explained_share", float(self.principal.explained.sum()),
                    "empirical", params=params, method=method),
            Finding("flip_share", self.flip_share, "empirical", params=params, method=method,
                    description="share of states whose eps-search changes the greedy action"),
            Finding("mean_gradient_norm", float(np.mean(np.concatenate(self.gradient_norms))), "empirical",
                    params=params, method="||grad_s CE(softmax f(s), argmax f(s))||_2 over the baseline states"),
        ]  # fmt: skip
        if self.mean_oscillation is not None:
            interval = self.oscillation_interval()
            found.append(Finding("mean_oscillation_deg", self.mean_oscillation, "empirical", unit="degrees",
                                 confidence=0.95 if interval else None, interval=interval,
                                 params=params | {"window": self.config.window},
                                 method="angle between the G of consecutive windows along each episode; interval: "
                                        "Student-t over episodes (cluster-robust)"))  # fmt: skip
        quotient = "Lambda = ||V_S G_shift||^2 / sigma_1(V_S)^2 (Rayleigh quotient of L(S))"
        for shift in self.shifted:
            shift_params = params | {"shift": shift.name, "shift_states": shift.states} | shift.detail
            found.append(Finding(f"feature_correlation_quotient@shift={shift.name}", shift.quotient, "empirical",
                                 params=shift_params, method=quotient))  # fmt: skip
        return tuple(found)

    def plot(self, path: str | Path) -> Path:
        """G_S as a heat-map per frame channel (image observations: with its 2-D spectrum), Λ per shift and the
        oscillation along the episodes."""
        from rlcert.reports.plots import plot_instability

        return plot_instability(self, path)

    def report_extra(self) -> dict[str, Any]:
        return {"config": asdict(self.config) | self.rollout.result_params(), "wall_time_s": self.wall_time_s,
                "shape": list(self.shape), "principal_direction": self.principal.principal.tolist()
                if self.principal.principal.size <= 1000 else None}  # fmt: skip


def _episode_frames(subject: Subject, episodes: int, seed: int, rollout: RolloutOptions, probe=None) -> list:
    """The raw frames of each of ``episodes`` clean greedy episodes (stacked only where needed: ten Pong
    episodes are 21k states, 5.4 GB as stacked float32 observations but 0.6 GB as frames)."""
    options = rollout.run_options() | {"seed": seed}
    if probe is not None:
        options["probe"] = probe
    recorded = run(subject.policy, subject.env, episodes, record_steps=True, **options)
    return [record.frames for record in recorded.records]


def _stacked_at(frames: np.ndarray, indices: np.ndarray, stack: int) -> np.ndarray:
    """The policy observations at steps ``indices`` of one episode's frames, stacked as the engine stacks them
    (before there are ``stack`` frames, the first one fills the stack)."""
    if stack == 1:
        return frames[indices]
    rows = np.clip(np.asarray(indices)[:, None] + np.arange(1 - stack, 1)[None, :], 0, None)
    return frames[rows]


def _subsampled_states(frames: list, stack: int, max_states: int) -> np.ndarray:
    """At most ``max_states`` policy observations of the episodes, evenly spaced over them (0: all)."""
    keep = _kept_per_episode([len(f) for f in frames], max_states)
    return np.concatenate([_stacked_at(f, kept, stack) for f, kept in zip(frames, keep)])


def _kept_per_episode(lengths: list[int], max_states: int) -> list[np.ndarray]:
    """For each episode, the indices of its states in the run's ``max_states`` evenly spaced ones (0: all)."""
    total = sum(lengths)
    chosen = np.arange(total) if not 0 < max_states < total else np.linspace(0, total - 1, max_states).round()
    offsets = np.cumsum([0, *lengths])
    return [chosen[(chosen >= lo) & (chosen < hi)].astype(int) - lo for lo, hi in zip(offsets[:-1], offsets[1:])]


def _compare(name: str, states: np.ndarray, baseline: np.ndarray, top: float, config: InstabilityConfig, policy,
             detail: dict[str, float] | None = None) -> ShiftedSet:  # fmt: skip
    found = unstable_directions(policy, states, config.eps, config.norm, config.steps)
    principal = principal_directions(found.directions, config.components)
    quotient = feature_correlation_quotient(baseline, principal.principal, top)
    return ShiftedSet(name, len(states), principal, quotient, detail or {})


def analyze_instability(
    policy: str | Path | Policy,
    env: str | None = None,
    config: InstabilityConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> InstabilityAnalysis:
    """The instability diagnostic of ``policy`` (module docstring).

    Example:
        >>> config = InstabilityConfig(episodes=2, max_states=100, window=20)
        >>> result = analyze_instability("zoo:cartpole5-dqn", config=config)
        >>> sorted({f.evidence.value for f in result.findings()})
        ['empirical']
    """
    from rlcert.diagnostics.shifts import blur_shift, minimal_shift, pgd_shift

    config = config or InstabilityConfig()
    rollout = rollout or RolloutOptions()
    start = time.perf_counter()
    subject = resolve_subject(policy, env)
    names = config.shift_names(subject.env.atari)
    if not hasattr(subject.policy, "scores"):
        raise InvalidValueError(
            f"{subject.reference} has no differentiable network: the instability analysis needs one"
        )
    if rollout.checkpoint_dir is not None:
        raise InvalidValueError("checkpoint_dir does not apply to the instability analysis (it keeps per-step records)")
    if rollout.probe is not None and "stori" in names:
        raise InvalidValueError(
            "--probe does not combine with the stori shift: each STORI profile runs as its own probe stack "
            "(leave stori out of --shifts, or the probe out)"
        )
    box = subject.env.observation_box
    stack = subject.env.frame_stack
    episodes = _episode_frames(subject, config.episodes, rollout.seed, rollout)
    # The baseline's evenly spaced subset, as indices into each episode: an Atari episode's directions are
    # 28,224 floats a state, so only the kept ones outlive their episode.
    keep = _kept_per_episode([len(frames) for frames in episodes], config.max_states)
    baseline_parts, state_parts, gradient_norms, flipped, oscillation = [], [], [], [], []
    for frames, kept in zip(episodes, keep):
        states = _stacked_at(frames, np.arange(len(frames)), stack)
        found = unstable_directions(subject.policy, states, config.eps, config.norm, config.steps)
        if len(states) >= 2 * config.window:
            oscillation.append(sliding_directions(found.directions, config.window)[1])
        baseline_parts.append(found.directions[kept])
        state_parts.append(states[kept])
        gradient_norms.append(found.gradient_norms)
        flipped.append(found.flipped)
        del states, found
    shape = tuple(state_parts[0].shape[1:])
    del episodes
    baseline, states = np.concatenate(baseline_parts), np.concatenate(state_parts)
    principal = principal_directions(baseline, config.components)
    top = float(principal.singular_values[0])
    shifted = []
    for name in names:
        if name == "clean":
            other = _episode_frames(subject, config.episodes, child_seed(rollout.seed, CLEAN_SUB_RUN), rollout)
            shifted.append(_compare("clean", _subsampled_states(other, stack, config.max_states), baseline, top,
                                    config, subject.policy))  # fmt: skip
        elif name == "pgd":
            moved = pgd_shift(subject.policy, states, config.attack_eps, box=box)
            detail = {"attack_eps": config.attack_eps}
            shifted.append(_compare("pgd", moved, baseline, top, config, subject.policy, detail))
        elif name == "cw":
            moved, sizes = minimal_shift(subject.policy, states, box=box)
            reached = np.isfinite(sizes)
            detail = {"cw_flipped_share": float(reached.mean()),
                      "cw_median_l2": float(np.median(sizes[reached])) if reached.any() else None}  # fmt: skip
            shifted.append(_compare("cw", moved, baseline, top, config, subject.policy, detail))
        elif name == "blur":
            shifted.append(_compare("blur", blur_shift(states, config.blur_sigma), baseline, top, config,
                                    subject.policy, {"blur_sigma": config.blur_sigma}))  # fmt: skip
        else:  # stori: episodes under every STORI profile of the game
            from rlcert.envs.stori import stori_profiles

            for index, (label, probes) in enumerate(stori_profiles(subject.env.gym_id)):
                seed = child_seed(rollout.seed, STORI_SUB_RUN, index)
                visited = _episode_frames(subject, config.episodes, seed, rollout, probe=probes)
                shifted.append(_compare(f"stori: {label}", _subsampled_states(visited, stack, config.max_states),
                                        baseline, top, config, subject.policy))  # fmt: skip
    return InstabilityAnalysis(
        subject,
        config,
        rollout,
        shape,
        len(baseline),
        principal,
        float(np.mean(np.concatenate(flipped))),
        tuple(gradient_norms),
        tuple(oscillation),
        tuple(shifted),
        time.perf_counter() - start,
    )
