"""State shifts the instability diagnostic compares a policy's unstable directions under (Korkmaz 2024, §5-6):
observations moved by a worst-case attack, by a minimal-perturbation attack, or blurred.

These make *shifted state sets* for the Feature Correlation Quotient, not attacks on episodes: each takes a batch
of policy observations and returns the shifted batch.

* :func:`pgd_shift` — untargeted projected gradient ascent on the cross-entropy against the greedy action inside
  an ℓ∞ ball of radius ε (``rlcert.attacks.pgd.pgd_linf``; Madry et al. 2018, §2.1), on the whole observation.
* :func:`minimal_shift` — the C&W ℓ2 attack (Carlini & Wagner 2017, §V): minimise ‖δ‖² + c · max(f_y − max_{j≠y}
  f_j + κ, 0) with Adam for a few values of c, keeping the smallest δ that flips the greedy action y (a state no
  tried c flips keeps δ = 0). Compact: a fixed c schedule instead of their binary search, no tanh box change of
  variable (observations are clipped to their box instead).
* :func:`blur_shift` — a Gaussian blur of every frame of an image observation.
"""

from __future__ import annotations

import numpy as np
import torch

from rlcert.attacks.base import TorchPolicy
from rlcert.attacks.pgd import pgd_linf
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite

__all__ = ["pgd_shift", "minimal_shift", "blur_shift"]


def _batches(states: np.ndarray, batch: int):
    for start in range(0, len(states), batch):
        yield torch.as_tensor(np.asarray(states[start : start + batch], dtype=np.float32))


def _clip(x: torch.Tensor, box: tuple[float, float] | None) -> torch.Tensor:
    return x if box is None else x.clamp(*box)


def pgd_shift(
    policy: TorchPolicy, states: np.ndarray, eps: float, steps: int = 10, box=None, batch: int = 256
) -> np.ndarray:
    """``states`` moved by untargeted ℓ∞ PGD of radius ``eps`` (clipped to ``box``, e.g. (0, 1) for pixels)."""
    check_finite("attack_eps", eps, 0, strict=True)
    check_count("steps", steps)
    return np.concatenate([pgd_linf(policy.scores, s, eps, steps, box).numpy() for s in _batches(states, batch)])


def minimal_shift(
    policy: TorchPolicy,
    states: np.ndarray,
    constants: tuple[float, ...] = (0.1, 1.0, 10.0),
    steps: int = 15,
    learning_rate: float = 0.01,
    kappa: float = 0.0,
    box=None,
    batch: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """``states`` moved by the compact C&W ℓ2 attack (module docstring), and each state's ‖δ‖₂ (inf: no flip)."""
    check_count("steps", steps)
    out, sizes = [], []
    for s in _batches(states, batch):
        with torch.no_grad():
            greedy = policy.scores(s).argmax(1)
        best = torch.zeros_like(s)
        best_size = torch.full((len(s),), float("inf"))
        for c in constants:
            delta = torch.zeros_like(s, requires_grad=True)
            optimizer = torch.optim.Adam([delta], lr=learning_rate)
            for _ in range(steps):
                scores = policy.scores(_clip(s + delta, box))
                own = scores.gather(1, greedy[:, None]).squeeze(1)
                others = scores.scatter(1, greedy[:, None], float("-inf")).max(1).values
                size = delta.flatten(1).pow(2).sum(1)
                loss = (size + c * (own - others + kappa).clamp(min=0)).sum()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    shifted = _clip(s + delta, box)
                    flipped = policy.scores(shifted).argmax(1) != greedy
                    norms = (shifted - s).flatten(1).norm(dim=1)
                    better = flipped & (norms < best_size)
                    best[better], best_size[better] = (shifted - s)[better], norms[better]
        out.append((s + best).numpy())
        sizes.append(best_size.numpy())
    return np.concatenate(out), np.concatenate(sizes)


def blur_shift(states: np.ndarray, sigma: float, image_dims: int = 2) -> np.ndarray:
    """Every frame of image observations (..., H, W) blurred by a Gaussian of ``sigma`` pixels."""
    from scipy.ndimage import gaussian_filter

    check_finite("blur_sigma", sigma, 0, strict=True)
    states = np.asarray(states, dtype=np.float32)
    if states.ndim < 1 + image_dims:
        raise InvalidValueError(f"blur needs image observations (..., H, W), got states of shape {states.shape[1:]}")
    sigmas = (0,) * (states.ndim - image_dims) + (sigma,) * image_dims
    return gaussian_filter(states, sigma=sigmas, mode="nearest").astype(np.float32)
