"""Linear relaxations and derivative ranges of the activations on a pre-activation interval [l, u].

``relu_relaxation`` / ``tanh_relaxation`` give lines a_L z + b_L <= act(z) <= a_U z + b_U valid on [l, u]
(CROWN, Zhang et al. NeurIPS 2018, §3.2 and Table 1); ``derivative_range`` the interval the activation's
(Clarke) derivative takes on [l, u] (Fast-Lip, Weng et al. ICML 2018, §3.3), used by the local Lipschitz
bound. Every function is elementwise and batched.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["relu_relaxation", "tanh_relaxation", "activation_relaxation", "derivative_range"]


def relu_relaxation(lower: torch.Tensor, upper: torch.Tensor, alpha: torch.Tensor | None = None):
    """(a_L, b_L, a_U, b_U) for ReLU: the chord above; below, slope ``alpha`` ∈ [0, 1] through the origin
    (CROWN's adaptive choice — the line of smaller area — when ``alpha`` is None)."""
    unstable = (lower < 0) & (upper > 0)
    active = lower >= 0
    width = (upper - lower).clamp_min(1e-12)
    up_slope = torch.where(unstable, upper / width, active.to(lower.dtype))
    up_bias = torch.where(unstable, -upper * lower / width, torch.zeros_like(lower))
    if alpha is None:
        alpha = (upper >= -lower).to(lower.dtype)
    low_slope = torch.where(unstable, alpha, active.to(lower.dtype))
    return low_slope, torch.zeros_like(lower), up_slope, up_bias


def _tanh_extremes_of_gap(lower, upper, slope):
    """Min and max over [l, u] of g(z) = tanh(z) − slope·z (critical points where tanh'(z) = slope)."""
    candidates = [lower, upper]
    root = torch.atanh(torch.sqrt((1 - slope).clamp(0.0, 1.0 - 1e-12)))
    for z in (root, -root):
        candidates.append(torch.where((z > lower) & (z < upper), z, lower))
    values = torch.stack([torch.tanh(z) - slope * z for z in candidates])
    return values.min(0).values, values.max(0).values


def tanh_relaxation(lower: torch.Tensor, upper: torch.Tensor):
    """Two lines parallel to the chord, through the extremes of tanh minus the chord: sound everywhere and
    tight on one side wherever tanh is convex or concave on [l, u]."""
    width = upper - lower
    narrow = width < 1e-6
    slope = torch.where(
        narrow, 1 - torch.tanh(lower) ** 2, (torch.tanh(upper) - torch.tanh(lower)) / width.clamp_min(1e-12)
    )
    gap_min, gap_max = _tanh_extremes_of_gap(lower, upper, slope)
    # Float rounding in tanh must not break soundness: widen by a few ulps.
    pad = 1e-6
    return slope, gap_min - pad, slope, gap_max + pad


def activation_relaxation(layer: nn.Module, lower: torch.Tensor, upper: torch.Tensor, alpha=None):
    if isinstance(layer, nn.ReLU):
        return relu_relaxation(lower, upper, alpha)
    return tanh_relaxation(lower, upper)


def derivative_range(layer: nn.Module, lower: torch.Tensor, upper: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[d_min, d_max] containing every (generalised) derivative of the activation on [l, u].

    ReLU: 0 where u <= 0, 1 where l >= 0, [0, 1] otherwise (its Clarke derivative at 0 is [0, 1]).
    Tanh: 1 − tanh² is even and falls away from 0, so its max is at the point of [l, u] closest to 0
    and its min at the end farther from 0.
    """
    if isinstance(layer, nn.ReLU):
        return (lower > 0).to(lower.dtype), (upper >= 0).to(lower.dtype)
    nearest = torch.where((lower <= 0) & (upper >= 0), torch.zeros_like(lower), torch.minimum(lower.abs(), upper.abs()))
    farthest = torch.maximum(lower.abs(), upper.abs())
    return 1 - torch.tanh(farthest) ** 2, 1 - torch.tanh(nearest) ** 2
