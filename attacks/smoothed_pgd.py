"""The adaptive, budget-carrying ℓ2 attack that checks smoothing certificates empirically.

Kumar, Levine & Feizi (ICLR 2022, §5 and App. D) check their reward certificates with a greedy attack:
at every step it looks for the smallest perturbation of the current observation that flips the
*smoothed* policy's most likely action, using targeted PGD on the expectation over the smoothing
noise; when it succeeds it spends ‖δ‖² of the remaining squared budget, so the whole episode stays
within sqrt(Σ_t ‖δ_t‖²) <= B. The attacked mean return must stay above the certificate, while an
undefended agent (σ = 0) under the same attack collapses at small budgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats

from rlcert.attacks.base import Attack, AttackState, Policy, ThreatModel
from rlcert.reports.errors import InvalidValueError, UnsupportedInputError

__all__ = ["BudgetedSmoothedPGD"]


@dataclass
class BudgetedSmoothedPGD(Attack):
    """Greedy targeted ℓ2 PGD with expectation over Gaussian noise, spending one total ℓ2 budget.

    Per step, for every episode with budget left (and, with screening, a flip within reach): estimate
    the smoothed action distribution with
    ``noise_samples`` draws of N(0, σ²) on the current frame (the history frames keep the noise the
    agent already drew); target the runner-up action; take ``pgd_steps`` normalised gradient steps on
    the expected cross-entropy toward it inside balls of growing radius (up to the remaining budget);
    stop at the first iterate where the smoothed argmax is no longer the original action, and shrink
    that perturbation by bisection. Only a successful perturbation is applied and charged. With
    ``sigma = 0`` it attacks the undefended policy.

    The attack sees the noisy history the policy sees: it knows more than an attacker that cannot
    observe the agent's past noise, so it errs on the strong side when checking a certificate.

    Example:
        >>> from rlcert.agents import load_policy
        >>> from rlcert.attacks import GaussianSmoothing
        >>> from rlcert.envs import run
        >>> policy = load_policy("zoo:cartpole5-dqn")
        >>> attack = BudgetedSmoothedPGD(budget=0.4, sigma=0.2, noise_samples=16)
        >>> eps = run(policy, "cartpole5", 4, attack=attack, defense=GaussianSmoothing(0.2), seed=0)
    """

    budget: float
    """Total ℓ2 budget over the episode, in normalized observation units."""
    sigma: float
    """Std of the smoothing noise the defended agent adds (0 = undefended)."""
    noise_samples: int = 128
    """Noise draws for the expectation over noise (REFERENCE §1: 128)."""
    pgd_steps: int = 12
    """Gradient steps per attempt, spread over ``stages``."""
    stages: int = 4
    """Radii tried per attempt: remaining · 2^-(stages-1), ..., remaining / 2, remaining."""
    shrink_steps: int = 4
    """Bisection steps that shrink a successful perturbation before it is charged."""
    flip_fraction: float = 1.0
    """Largest share of the total budget one flip may cost; below 1 the attack saves budget for
    many cheap flips instead of a few expensive ones."""
    step_scale: float = 2.5
    """Each step has ℓ2 length step_scale · (stage radius) / (steps per stage)."""
    screen_factor: float | None = 1.5
    """Attempt only where the estimated flip radius σ/2·(Φ⁻¹(p̂_A) − Φ⁻¹(p̂_B)) (Cohen et al. 2019, with
    vote frequencies clipped to [1/2S, 1 − 1/2S]) is at most this multiple of the remaining budget;
    None attempts at every step. Saves the PGD where a flip is out of reach."""
    threat_model: ThreatModel = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.threat_model = ThreatModel(norm="2", budget=self.budget)
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise InvalidValueError(f"sigma must be a finite number >= 0, got {self.sigma!r}")
        for name in ("noise_samples", "pgd_steps", "stages"):
            if getattr(self, name) < 1:
                raise InvalidValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")

    def _samples(self) -> int:
        return self.noise_samples if self.sigma > 0 else 1

    def perturb(self, frames: np.ndarray, policy: Policy, state: AttackState) -> np.ndarray:
        if not hasattr(policy, "scores"):
            raise UnsupportedInputError("BudgetedSmoothedPGD needs a TorchPolicy (a differentiable scores method)")
        remaining = state.remaining_budget
        rows = np.flatnonzero(state.active & (remaining > 1e-9))
        if rows.size == 0:
            return frames
        s = self._samples()
        frame_shape = frames.shape[1:]
        per_row = (-1, *([1] * len(frame_shape)))  # broadcast a per-episode scalar over a frame
        current = torch.as_tensor(frames[rows], dtype=torch.float32)
        history = None if state.history is None else torch.as_tensor(state.history[rows], dtype=torch.float32)
        radius = torch.as_tensor(np.minimum(remaining[rows], self.flip_fraction * self.budget), dtype=torch.float32)
        noise = torch.as_tensor(state.rng.normal(0.0, 1.0, size=(rows.size, s, *frame_shape)), dtype=torch.float32)
        noise = noise * self.sigma

        def smoothed_scores(delta: torch.Tensor) -> torch.Tensor:
            """(rows, samples, actions) scores with noise on the (perturbed) current frame."""
            noisy = (current + delta).unsqueeze(1) + noise
            flat = noisy.reshape(rows.size * s, *frame_shape)
            if state.stack > 1:
                if history is None:
                    obs = flat.unsqueeze(1).expand(-1, state.stack, *frame_shape)
                else:
                    past = history.unsqueeze(1).expand(-1, s, *history.shape[1:])
                    obs = torch.cat([past.reshape(rows.size * s, *history.shape[1:]), flat.unsqueeze(1)], dim=1)
            else:
                obs = flat
            return policy.scores(obs).reshape(rows.size, s, -1)

        with torch.no_grad():
            clean = smoothed_scores(torch.zeros_like(current))
        n_actions = clean.shape[-1]
        votes = torch.nn.functional.one_hot(clean.argmax(-1), n_actions).sum(1).float()
        # Ties in the vote are broken by the mean softmax, so the runner-up is well defined.
        tie_break = torch.softmax(clean, -1).mean(1) * 1e-3
        ranking = (votes + tie_break).argsort(dim=1, descending=True)
        original, target = ranking[:, 0], ranking[:, 1]
        if self.screen_factor is not None and self.sigma > 0:
            counts = votes.gather(1, ranking[:, :2]).numpy()
            p_top = np.clip(counts[:, 0] / s, 0.5 / s, 1 - 0.5 / s)
            p_runner = np.clip(counts[:, 1] / s, 0.5 / s, 1 - 0.5 / s)
            reach = 0.5 * self.sigma * (stats.norm.ppf(p_top) - stats.norm.ppf(p_runner))
            keep = reach <= self.screen_factor * remaining[rows]
            if not keep.any():
                return frames
            rows, current, radius, noise = rows[keep], current[keep], radius[keep], noise[keep]
            history = None if history is None else history[keep]
            original, target = original[keep], target[keep]

        def flipped(scores: torch.Tensor) -> torch.Tensor:
            """Whether the majority vote over the noise samples left the original action."""
            votes_now = torch.nn.functional.one_hot(scores.argmax(-1), n_actions).sum(1)
            return votes_now.argmax(1) != original

        # Expanding radii: look for a flip inside remaining / 2^(stages-1) first, then double, so a flip
        # found costs about the least budget that suffices; the leftover budget buys later flips.
        delta = torch.zeros_like(current, requires_grad=True)
        success = torch.zeros(rows.size, dtype=torch.bool)
        found = torch.zeros_like(current)
        per_stage = max(1, self.pgd_steps // self.stages)
        for stage in range(self.stages):
            cap = radius * 2.0 ** (stage - self.stages + 1)
            step = (self.step_scale * cap / per_stage).view(per_row)
            for iteration in range(per_stage + 1):
                # One forward pass serves both the success check of the current iterate and its gradient.
                scores = smoothed_scores(delta)
                if stage + iteration > 0:
                    newly = flipped(scores.detach()) & ~success
                    found[newly] = delta.detach()[newly]
                    success |= newly
                if bool(success.all()) or iteration == per_stage:
                    break
                loss = torch.nn.functional.cross_entropy(
                    scores.reshape(-1, n_actions), target.repeat_interleave(s), reduction="sum"
                )
                (grad,) = torch.autograd.grad(loss, delta)
                with torch.no_grad():
                    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
                    delta -= (~success).float().view(per_row) * step * grad / norm.view(per_row)
                    size = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
                    delta *= torch.clamp(cap / size, max=1.0).view(per_row)  # project onto this stage's ball
            if bool(success.all()):
                break
        if bool(success.any()):
            # Shrink each successful perturbation to (about) the smallest multiple that still flips.
            with torch.no_grad():
                low, high = torch.zeros(rows.size), torch.ones(rows.size)
                for _ in range(self.shrink_steps):
                    mid = 0.5 * (low + high)
                    ok = flipped(smoothed_scores(found * mid.view(per_row)))
                    high, low = torch.where(ok, mid, high), torch.where(ok, low, mid)
                found = found * high.view(per_row)
        out = frames.copy()
        hit = success.numpy()
        if hit.any():
            chosen = found.numpy()[hit]
            out[rows[hit]] = frames[rows[hit]] + chosen
            spent = np.sum(chosen.reshape(len(chosen), -1).astype(np.float64) ** 2, axis=1)
            remaining[rows[hit]] = np.sqrt(np.maximum(remaining[rows[hit]] ** 2 - spent, 0.0))
        return out
