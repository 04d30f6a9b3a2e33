"""Decision-boundary instability of a deep policy: principal unstable directions over states, time and shifts.

Korkmaz (ICML 2024, "Understanding and Diagnosing Deep Reinforcement Learning", arXiv 2406.16979; REFERENCE §4)
asks where a policy's decision boundary lies close to the states it visits, and how that changes across states,
over time and under distribution shift. The pieces, each a function here:

* :func:`unstable_directions` — for every state s, the small perturbation that most raises the softmax
  cross-entropy J(s) = CE(softmax(f(s)), argmax f(s)) against the policy's own greedy action (f its logits or
  Q-values): projected gradient ascent inside an ε-ball; v(s) = s_adv − s. Also ‖∇_s J(s)‖, the local steepness.
* :func:`principal_directions` — L(S) = Σ_s v(s) v(s)ᵀ over a state set S; its top eigenvectors are the top
  right singular vectors of the stacked V (one row per state), found by Lanczos iterations that only multiply
  by V and Vᵀ (``scipy.sparse.linalg.svds``), never forming the d × d matrix (d = 28,224 for 4 stacked 84 × 84
  Atari frames). G_S is the first; each direction's explained share is σ_i² / ‖V‖_F².
* :func:`feature_correlation_quotient` — Λ(S_Ψ, S) = G_Ψᵀ L(S) G_Ψ / λ_max(L(S)) = ‖V_S G_Ψ‖² / σ_1(V_S)²: how
  much of the baseline set's unstable energy the shifted set's principal direction captures, relative to the
  most any unit direction captures. L(S) is positive semi-definite and G_Ψ has unit norm, so by the Rayleigh
  quotient 0 ≤ Λ ≤ 1, with Λ = 1 exactly when G_Ψ is a top eigenvector of L(S) (e.g. S_Ψ = S). The paper gives
  Λ as a quotient in [0, 1] without its formula in the summaries we have; this is the natural one (REFERENCE §4).
* :func:`sliding_directions` — G of consecutive windows along an episode and the angle between neighbours
  (sign-free: a direction and its negative are the same axis), the paper's oscillation measure.
* :func:`direction_spectrum` — the centred 2-D Fourier magnitude of G per image channel.

Everything here is empirical: directions found by a local search, on the states sampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rlcert.attacks.base import TorchPolicy
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite

__all__ = [
    "UnstableDirections",
    "unstable_directions",
    "PrincipalDirections",
    "principal_directions",
    "feature_correlation_quotient",
    "sliding_directions",
    "direction_spectrum",
]


@dataclass(frozen=True)
class UnstableDirections:
    """Per-state unstable directions of a state set."""

    directions: np.ndarray
    """(states, d) float32: v(s) = s_adv − s, flattened."""
    gradient_norms: np.ndarray
    """(states,): ‖∇_s J(s)‖₂ at the unperturbed state."""
    flipped: np.ndarray
    """(states,) bool: whether s + v(s) changes the greedy action."""
    shape: tuple[int, ...]
    """The observation shape the flattened directions come from."""


def unstable_directions(
    policy: TorchPolicy,
    states: np.ndarray,
    eps: float,
    norm: str = "inf",
    steps: int = 10,
    batch: int = 256,
) -> UnstableDirections:
    """v(s) for every state by ``steps`` steps of projected gradient ascent on J inside the ``norm`` ball of
    radius ``eps``, in batches of ``batch`` states (module docstring). Deterministic: it starts at δ = 0."""
    check_finite("eps", eps, 0, strict=True)
    check_count("steps", steps)
    check_count("batch", batch)
    if norm not in ("inf", "2"):
        raise InvalidValueError(f"--norm must be 'inf' or '2', got {norm!r}")
    if not hasattr(policy, "scores"):
        raise InvalidValueError("the instability analysis needs a policy with a differentiable network (scores)")
    states = np.asarray(states, dtype=np.float32)
    shape = tuple(states.shape[1:])
    directions, norms, flipped = [], [], []
    size = 2.5 * eps / steps
    for start in range(0, len(states), batch):
        s = torch.as_tensor(states[start : start + batch])
        delta = torch.zeros_like(s, requires_grad=True)
        with torch.no_grad():
            greedy = policy.scores(s).argmax(1)
        for step in range(steps):
            loss = torch.nn.functional.cross_entropy(policy.scores(s + delta), greedy, reduction="sum")
            (gradient,) = torch.autograd.grad(loss, delta)
            flat = gradient.flatten(1)
            if step == 0:
                norms.append(flat.norm(dim=1).numpy())
            with torch.no_grad():
                if norm == "inf":
                    delta = (delta + size * gradient.sign()).clamp(-eps, eps)
                else:
                    direction = flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)
                    moved = delta.flatten(1) + size * direction
                    moved = moved * (eps / moved.norm(dim=1, keepdim=True).clamp_min(1e-12)).clamp(max=1.0)
                    delta = moved.reshape(delta.shape)
            delta.requires_grad_(True)
        with torch.no_grad():
            flipped.append((policy.scores(s + delta).argmax(1) != greedy).numpy())
        directions.append(delta.detach().flatten(1).numpy())
    return UnstableDirections(np.concatenate(directions), np.concatenate(norms), np.concatenate(flipped), shape)


@dataclass(frozen=True)
class PrincipalDirections:
    """The top-k eigenvectors of L(S) = Σ v vᵀ."""

    vectors: np.ndarray
    """(k, d): unit rows, the first being G_S; each signed so that its first largest-magnitude entry is positive.
    Fewer than the k asked for when V's numerical rank is lower."""
    singular_values: np.ndarray
    """(k,): σ_i of V, so λ_i(L) = σ_i²."""
    explained: np.ndarray
    """(k,): σ_i² / ‖V‖_F², the share of the unstable energy along each direction."""

    @property
    def principal(self) -> np.ndarray:
        return self.vectors[0]


def principal_directions(directions: np.ndarray, k: int = 1) -> PrincipalDirections:
    """Top-``k`` right singular vectors of the (states, d) matrix of unstable directions (module docstring)."""
    from scipy.sparse.linalg import svds

    v = np.asarray(directions, dtype=np.float64)
    check_count("k", k)
    if v.ndim != 2 or len(v) == 0:
        raise InvalidValueError(f"need a (states, d) matrix of directions, got shape {v.shape}")
    total = float(np.sum(v * v))
    if total == 0:
        raise InvalidValueError("every unstable direction is zero: the policy's scores do not depend on its input")
    if k >= min(v.shape):  # ARPACK needs k < min(n, d); a small set is decomposed exactly
        _, sigma, rows = np.linalg.svd(v, full_matrices=False)
        sigma, rows = sigma[:k], rows[:k]
    else:
        # A fixed start vector: ARPACK otherwise draws one at random, and the result would vary from run to run.
        _, sigma, rows = svds(v, k=k, v0=np.ones(min(v.shape)) / np.sqrt(min(v.shape)), tol=1e-10)
        order = np.argsort(sigma)[::-1]
        sigma, rows = sigma[order], rows[order]
    # Directions beyond the numerical rank span an arbitrary basis of the null space: they are dropped, so a
    # rank-deficient V (the sign patterns of an l-inf search, say) reports fewer than k directions.
    rank = max(1, int(np.sum(sigma > 1e-9 * sigma[0])))
    sigma, rows = sigma[:rank], rows[:rank]
    # Sign: the first entry of largest magnitude is positive. Magnitudes are compared to 6 significant digits, so
    # that entries tied in exact arithmetic (an l-inf search gives ±eps everywhere) pick the same one every run.
    magnitude = np.round(np.abs(rows) / np.abs(rows).max(1, keepdims=True), 6)
    rows = rows * np.sign(rows[np.arange(len(rows)), magnitude.argmax(1)])[:, None]
    return PrincipalDirections(rows, sigma, sigma**2 / total)


def feature_correlation_quotient(
    baseline: np.ndarray, shifted_principal: np.ndarray, top: float | None = None
) -> float:
    """Λ(S_Ψ, S) = ‖V_S g‖² / σ_1(V_S)² for the shifted set's unit principal direction g (module docstring);
    ``top`` is σ_1(V_S) when already known (several shifts against one baseline)."""
    v = np.asarray(baseline, dtype=np.float64)
    g = np.asarray(shifted_principal, dtype=np.float64).ravel()
    top = principal_directions(v, 1).singular_values[0] if top is None else top
    return float(min(1.0, np.sum((v @ g) ** 2) / top**2))


def sliding_directions(directions: np.ndarray, window: int, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """G of each window of ``window`` consecutive states (every ``stride`` states, default ``window``: disjoint
    windows) and the angle in degrees between consecutive windows' directions, in [0, 90]."""
    check_count("window", window, 2)
    stride = window if stride is None else check_count("stride", stride)
    v = np.asarray(directions)
    starts = range(0, len(v) - window + 1, stride)
    if len(v) < window:
        raise InvalidValueError(f"--window {window} is longer than the {len(v)} states given")
    vectors = np.stack([principal_directions(v[s : s + window], 1).principal for s in starts])
    cosines = np.abs(np.sum(vectors[1:] * vectors[:-1], axis=1)).clip(0, 1)
    return vectors, np.degrees(np.arccos(cosines))


def direction_spectrum(direction: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The centred 2-D Fourier magnitude |FFT2(G)| of each channel of an image-shaped direction: (channels, H, W)."""
    if len(shape) not in (2, 3):
        raise InvalidValueError(f"a 2-D spectrum needs image observations (H, W) or (C, H, W), got shape {shape}")
    image = np.asarray(direction, dtype=np.float64).reshape(shape)
    if image.ndim == 2:
        image = image[None]
    return np.abs(np.fft.fftshift(np.fft.fft2(image), axes=(-2, -1)))
