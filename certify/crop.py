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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats

from attacks.base import TorchPolicy
from certify.confidence import check_alpha
from reports.errors import InvalidValueError
from reports.findings import Finding

__all__ = ["SmoothedActionCertificate", "smoothed_action_certificate", "visited_state_certificate"]


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
        """Fraction of states whose smoothed action is certified at ℓ2 radius ``eps``."""
        return float(np.mean(self.radii >= eps)) if eps > 0 else float(np.mean(self.radii > 0))

    def findings(self, eps_values: list[float], **context: Any) -> list[Finding]:
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


def smoothed_action_certificate(
    policy: TorchPolicy,
    observations: np.ndarray,
    sigma: float,
    samples: int = 10_000,
    alpha: float = 0.05,
    score_range: tuple[float, float] | None = None,
    seed: int = 0,
    batch_rows: int = 65_536,
) -> SmoothedActionCertificate:
    """CROP-LoAct radii at each observation of ``observations`` (shape ``(states, *obs_shape)``).

    Args:
        policy: a ``TorchPolicy`` with a discrete action space.
        sigma: smoothing noise std (> 0) on the whole policy observation.
        samples: Monte-Carlo noise samples per state (CROP: 10,000).
        alpha: the radius of each state holds with probability >= 1 − alpha.
        score_range: (V_min, V_max) the scores are clipped to. Required for Q-values (e.g.
            reward range / (1 − γ)); None for logits, which are certified as softmax probabilities.
        seed: seed of the noise.
        batch_rows: noisy rows per forward pass (memory bound).
    """
    if not (math.isfinite(sigma) and sigma > 0):
        raise InvalidValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    alpha = check_alpha(alpha)
    if not isinstance(samples, int) or samples < 2:
        raise InvalidValueError(f"samples must be an integer >= 2, got {samples!r}")
    observations = np.asarray(observations, dtype=np.float32)
    if observations.shape[1:] != tuple(policy.observation_space.shape):
        raise InvalidValueError(
            f"observations must have shape (states, {', '.join(map(str, policy.observation_space.shape))}), "
            f"got {observations.shape}"
        )
    n_actions = getattr(policy.action_space, "n", None)
    if n_actions is None:
        raise InvalidValueError("CROP certifies discrete actions; this policy's action space is continuous")
    if score_range is None:
        if getattr(policy, "output", None) == "q_values":
            raise InvalidValueError(
                "Q-value policies need score_range=(V_min, V_max), e.g. (0, 100) for CartPole with γ=0.99"
            )
        low, high, kind = 0.0, 1.0, "probabilities"
    else:
        low, high = (float(v) for v in score_range)
        if not low < high:
            raise InvalidValueError(f"score_range must be (V_min, V_max) with V_min < V_max, got {score_range}")
        kind = "values"
    generator = torch.Generator().manual_seed(int(seed))
    per_pass = max(1, batch_rows // samples)
    means = np.zeros((len(observations), n_actions))
    with torch.no_grad():
        for start in range(0, len(observations), per_pass):
            block = torch.as_tensor(observations[start : start + per_pass])
            noisy = block.unsqueeze(1) + sigma * torch.randn(
                (len(block), samples, *block.shape[1:]), generator=generator
            )
            scores = policy.scores(noisy.reshape(-1, *block.shape[1:])).reshape(len(block), samples, n_actions)
            scores = torch.softmax(scores, dim=-1) if kind == "probabilities" else scores.clamp(low, high)
            means[start : start + len(block)] = scores.mean(dim=1).double().numpy()
    margin = (high - low) * math.sqrt(math.log(n_actions / alpha) / (2 * samples))
    order = np.argsort(-means, axis=1)
    top = np.take_along_axis(means, order[:, :1], axis=1)[:, 0]
    runner_up = np.take_along_axis(means, order[:, 1:2], axis=1)[:, 0]
    p_top = np.clip((top - margin - low) / (high - low), 0.0, 1.0)
    p_runner = np.clip((runner_up + margin - low) / (high - low), 0.0, 1.0)
    radii = 0.5 * sigma * (stats.norm.ppf(p_top) - stats.norm.ppf(p_runner))
    radii = np.where(np.isfinite(radii) & (radii > 0), radii, 0.0)
    return SmoothedActionCertificate(order[:, 0], radii, float(sigma), samples, alpha, (low, high), kind)


def visited_state_certificate(
    policy: TorchPolicy,
    env: str,
    episodes: int,
    sigma: float,
    seed: int = 0,
    **certificate_kwargs: Any,
) -> SmoothedActionCertificate:
    """CROP radii at every state visited in ``episodes`` episodes of the Gaussian-smoothed policy.

    The states are the clean policy observations (raw frames stacked as the engine stacks them);
    ``certified_fraction(eps)`` of the result is the fraction of visited states certified at ``eps``.
    """
    from attacks.smoothing import GaussianSmoothing
    from envs.factory import resolve_env_spec
    from envs.rollout import run, stack_frames

    spec = resolve_env_spec(env)
    rollouts = run(policy, spec, episodes, defense=GaussianSmoothing(sigma), seed=seed, record_steps=True)
    states = np.concatenate([stack_frames(r.frames, spec.frame_stack) for r in rollouts.records])
    return smoothed_action_certificate(policy, states, sigma, seed=seed, **certificate_kwargs)
