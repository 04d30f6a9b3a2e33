"""Per-state certificates for smoothed actions (CROP-LoAct, Wu et al., ICLR 2022, §4.1).

The CROP-smoothed policy acts with the argmax of Gaussian-smoothed, clipped scores
Q̃(s, a) = E_Δ clip(Q(s + Δ, a), V_min, V_max), Δ ~ N(0, σ²I). Because a Gaussian-smoothed function
with values in [V_min, V_max] is Φ-Lipschitz (Salman et al. 2019), its argmax cannot change within
the ℓ2 radius

    r = σ/2 · [Φ⁻¹((Q̃₁ − Δ_H − V_min)/(V_max − V_min)) − Φ⁻¹((Q̃₂ + Δ_H − V_min)/(V_max − V_min))]

where Q̃₁, Q̃₂ are the top two Monte-Carlo estimates from m samples and Δ_H a Hoeffding margin. We
take Δ_H = (V_max − V_min)·sqrt(ln(K/α)/(2m)) — α/K per action, so the bounds hold for all K
actions at once and the radius holds with probability >= 1 − α (CROP states the per-action form).
Policies whose scores are logits are certified on their softmax probabilities, which lie in [0, 1].

Each state draws its m noise samples from its own ``SeedSequence`` child of the seed, in forward passes
whose size is fixed by the observation size alone: a state's radius depends on the seed, its position
and the state itself, never on how many other states are certified with it or on any memory setting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats

from rlcert.attacks.base import TorchPolicy
from rlcert.certify.confidence import check_alpha
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding

__all__ = [
    "SmoothedActionCertificate",
    "check_eps_values",
    "forward_rows",
    "smoothed_action_certificate",
    "visited_state_certificate",
]

# Input floats per forward pass of noisy rows. The rows per pass are fixed by the observation size (not
# by a user's memory setting) because a BLAS kernel may round a row's product differently at another
# batch size; a fixed split keeps every radius bit-reproducible. 2^22 floats (16 MB) hold every sample
# of a vector state at once and ~150 noisy Atari stacks (4x84x84) per pass.
_FORWARD_INPUT_FLOATS = 2**22

# Sub-run key of the CROP noise under a run's seed (``rlcert.envs.seeding.child_seed``): the episodes of
# ``visited_state_certificate`` use the run's seed itself, the noise this child of it.
NOISE_SUB_RUN = 0


def check_eps_values(eps_values: Iterable[float]) -> tuple[float, ...]:
    """The ℓ2 radii at which certified fractions are reported, each finite and > 0 (a radius of 0 or less
    certifies nothing), or an ``InvalidValueError`` naming the bad value."""
    values = tuple(eps_values)
    for eps in values:
        if not (_is_real(eps) and math.isfinite(eps) and eps > 0):
            raise InvalidValueError(f"eps values must be finite and > 0 (l2 radii), got {eps!r} in {list(values)}")
    return tuple(float(eps) for eps in values)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class SmoothedActionCertificate:
    """Certified ℓ2 radii of the CROP-smoothed action at a batch of states."""

    actions: np.ndarray
    """The smoothed action at each state."""
    radii: np.ndarray
    """Certified ℓ2 radius at each state (0 where the smoothed action cannot be certified)."""
    sigma: float
    samples: int
    alpha: float
    score_range: tuple[float, float]
    scores: str
    """``values`` (clipped scores) or ``probabilities`` (softmax of logits)."""

    def certified_fraction(self, eps: float) -> float:
        """Fraction of states whose smoothed action is certified at ℓ2 radius ``eps`` (0: any radius > 0)."""
        if not (_is_real(eps) and math.isfinite(eps) and eps >= 0):
            raise InvalidValueError(f"eps must be finite and >= 0 (0: any certified radius), got {eps!r}")
        return float(np.mean(self.radii >= eps)) if eps > 0 else float(np.mean(self.radii > 0))

    def findings(self, eps_values: Iterable[float], **context: Any) -> list[Finding]:
        """The mean radius and the certified fraction at each radius of ``eps_values`` (each finite, > 0)."""
        eps_values = check_eps_values(eps_values)
        params = {
            "sigma": self.sigma,
            "samples": self.samples,
            "alpha": self.alpha,
            "states": len(self.radii),
            "score_range": list(self.score_range),
            "scores": self.scores,
            **context,
        }
        out = [
            Finding(
                "mean_certified_radius",
                float(self.radii.mean()),
                "statistical",
                confidence=1 - self.alpha,
                method="CROP-LoAct (Wu et al. 2022)",
                params=params,
                description="mean certified l2 radius of the smoothed action over the states",
            )
        ]
        for eps in eps_values:
            out.append(
                Finding(
                    f"certified_state_fraction@eps={eps:g}",
                    self.certified_fraction(eps),
                    "statistical",
                    confidence=1 - self.alpha,
                    method="CROP-LoAct (Wu et al. 2022)",
                    params={**params, "eps": eps},
                    description="fraction of states whose smoothed action is certified at radius eps",
                )
            )
        return out


def forward_rows(obs_shape: tuple[int, ...], samples: int) -> int:
    """Noisy rows per forward pass: every sample of a state if it fits the input budget, else a fixed piece."""
    per_row = max(1, math.prod(obs_shape))
    return max(1, min(samples, _FORWARD_INPUT_FLOATS // per_row))


def _check_parameters(policy: TorchPolicy, sigma, samples, alpha, score_range, seed) -> tuple:
    """Validated (sigma, alpha, V_min, V_max, score kind, action count), before any work is done."""
    if not (_is_real(sigma) and math.isfinite(sigma) and sigma > 0):
        raise InvalidValueError(f"sigma must be a finite number > 0 (the smoothing noise std), got {sigma!r}")
    alpha = check_alpha(alpha)
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise InvalidValueError(f"samples must be an integer >= 1 (noise samples per state), got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidValueError(f"seed must be a non-negative integer, got {seed!r}")
    n_actions = getattr(policy.action_space, "n", None)
    if n_actions is None:
        raise InvalidValueError("CROP certifies discrete actions; this policy's action space is continuous")
    if score_range is None:
        if getattr(policy, "output", None) == "q_values":
            raise InvalidValueError(
                "Q-value policies need score_range=(V_min, V_max), e.g. (0, 100) for CartPole with γ=0.99"
            )
        return float(sigma), alpha, 0.0, 1.0, "probabilities", int(n_actions)
    try:
        low, high = (float(v) for v in score_range)
    except (TypeError, ValueError):
        raise InvalidValueError(f"score_range must be two numbers (V_min, V_max), got {score_range!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidValueError(f"score_range must be finite (V_min, V_max) with V_min < V_max, got {score_range!r}")
    return float(sigma), alpha, low, high, "values", int(n_actions)


def _mean_scores(
    policy: TorchPolicy, state: np.ndarray, noise: np.random.SeedSequence, sigma, samples, kind, low, high
):
    """Monte-Carlo mean of the (softmax or clipped) scores at ``state`` over ``samples`` noise draws."""
    rows = forward_rows(state.shape, samples)
    generator = np.random.default_rng(noise)
    center = torch.from_numpy(state)
    scores = []
    for start in range(0, samples, rows):
        # Successive draws from one generator continue one stream, so the pieces never change the noise.
        draw = generator.standard_normal((min(rows, samples - start), *state.shape), dtype=np.float32)
        piece = policy.scores(center + sigma * torch.from_numpy(draw))
        piece = torch.softmax(piece, dim=-1) if kind == "probabilities" else piece.clamp(low, high)
        scores.append(piece.numpy())
    # One fixed reduction over all of a state's samples, whatever the pieces were.
    return np.concatenate(scores).astype(np.float64).sum(axis=0) / samples


def smoothed_action_certificate(
    policy: TorchPolicy,
    observations: np.ndarray,
    sigma: float,
    samples: int = 10_000,
    alpha: float = 0.05,
    score_range: tuple[float, float] | None = None,
    seed: int = 0,
) -> SmoothedActionCertificate:
    """CROP-LoAct radii at each observation of ``observations`` (shape ``(states, *obs_shape)``).

    Args:
        policy: a ``TorchPolicy`` with a discrete action space.
        sigma: smoothing noise std (> 0) on the whole policy observation.
        samples: Monte-Carlo noise samples per state (>= 1; CROP: 10,000).
        alpha: the radius of each state holds with probability >= 1 − alpha (0 < alpha < 1).
        score_range: (V_min, V_max) the scores are clipped to. Required for Q-values (e.g.
            reward range / (1 − γ)); None for logits, which are certified as softmax probabilities.
        seed: seed of the noise (>= 0); state i draws from ``SeedSequence(seed).spawn(states)[i]``.

    Memory stays bounded by the observation size (``forward_rows``), never by a setting that could
    change the result.
    """
    sigma, alpha, low, high, kind, n_actions = _check_parameters(policy, sigma, samples, alpha, score_range, seed)
    observations = np.asarray(observations, dtype=np.float32)
    if observations.shape[1:] != tuple(policy.observation_space.shape):
        raise InvalidValueError(
            f"observations must have shape (states, {', '.join(map(str, policy.observation_space.shape))}), "
            f"got {observations.shape}"
        )
    if len(observations) == 0:
        raise InvalidValueError("observations must hold at least one state, got none")
    if not np.isfinite(observations).all():
        bad = np.flatnonzero(~np.isfinite(observations.reshape(len(observations), -1)).all(axis=1))
        raise InvalidValueError(f"observations contain NaN or inf (states {bad[:5].tolist()})")
    state_noise = np.random.SeedSequence(int(seed)).spawn(len(observations))
    means = np.zeros((len(observations), n_actions))
    with torch.no_grad():
        for index, (state, noise) in enumerate(zip(observations, state_noise)):
            means[index] = _mean_scores(policy, state, noise, sigma, samples, kind, low, high)
    margin = (high - low) * math.sqrt(math.log(n_actions / alpha) / (2 * samples))
    order = np.argsort(-means, axis=1, kind="stable")
    top = np.take_along_axis(means, order[:, :1], axis=1)[:, 0]
    runner_up = np.take_along_axis(means, order[:, 1:2], axis=1)[:, 0]
    p_top = np.clip((top - margin - low) / (high - low), 0.0, 1.0)
    p_runner = np.clip((runner_up + margin - low) / (high - low), 0.0, 1.0)
    radii = 0.5 * sigma * (stats.norm.ppf(p_top) - stats.norm.ppf(p_runner))
    radii = np.where(np.isfinite(radii) & (radii > 0), radii, 0.0)
    return SmoothedActionCertificate(order[:, 0], radii, sigma, int(samples), alpha, (low, high), kind)


def visited_state_certificate(
    policy: TorchPolicy,
    env: str,
    episodes: int,
    sigma: float,
    seed: int = 0,
    samples: int = 10_000,
    alpha: float = 0.05,
    score_range: tuple[float, float] | None = None,
    **run_options: Any,
) -> SmoothedActionCertificate:
    """CROP radii at every state visited in ``episodes`` episodes of the Gaussian-smoothed policy.

    The states are the clean policy observations (raw frames stacked as the engine stacks them);
    ``certified_fraction(eps)`` of the result is the fraction of visited states certified at ``eps``.
    The episodes run from ``seed``; the certificate's noise is a ``SeedSequence`` child of it
    (``rlcert.envs.seeding.child_seed``), so neither stream repeats the other. Every parameter is checked
    before any episode runs; the others are those of :func:`smoothed_action_certificate`. ``run_options``
    (executor, chunk_size, progress, probe) go to :func:`rlcert.envs.run`; checkpoints cannot apply, since
    the episodes keep per-step records.
    """
    from rlcert.attacks.smoothing import GaussianSmoothing
    from rlcert.envs import rollout
    from rlcert.envs.factory import resolve_env_spec
    from rlcert.envs.seeding import child_seed

    spec = resolve_env_spec(env)
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise InvalidValueError(f"episodes must be a positive integer, got {episodes!r}")
    _check_parameters(policy, sigma, samples, alpha, score_range, seed)
    if run_options.get("checkpoint_dir") is not None:
        raise InvalidValueError("checkpoint_dir cannot apply: the visited states' episodes keep per-step records")
    run_options.pop("checkpoint_dir", None)
    visited = rollout.run(
        policy, spec, episodes, defense=GaussianSmoothing(sigma), seed=seed, record_steps=True, **run_options
    )
    states = np.concatenate([rollout.stack_frames(r.frames, spec.frame_stack) for r in visited.records])
    noise_seed = child_seed(seed, NOISE_SUB_RUN)
    return smoothed_action_certificate(policy, states, sigma, samples, alpha, score_range, seed=noise_seed)
