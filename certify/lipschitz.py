"""Sound global Lipschitz upper bounds of policy networks: the product of layer operator norms.

ReLU and Tanh are 1-Lipschitz, so ‖f(x) − f(y)‖ <= (∏_l ‖W_l‖) ‖x − y‖ for the induced norm of each
affine layer (Szegedy et al. 2014; the certificate Lipschitz-constrained imitation relies on,
Al Makdah et al. 2022). Every factor here is an exact norm or a proven upper bound, never an
estimate, so the product is ``sound`` (and usually loose: tighter local bounds come from bound
propagation).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from certify.bounds import network_layers

__all__ = ["layer_operator_norm", "lipschitz_upper_bound"]


def layer_operator_norm(layer: nn.Module, norm: str = "2") -> float:
    """An upper bound on the induced ``norm`` (2 or inf) of an affine layer's linear part.

    Linear: the spectral norm (exact, from the SVD) or the largest absolute row sum (exact for inf).
    Conv2d: inf — the largest absolute kernel sum of an output channel (each output sums one kernel's
    worth of inputs); 2 — sqrt(‖A‖₁‖A‖∞) of the convolution matrix A, where each input pixel meets every
    kernel offset at most once, so the largest column sum is at most the largest per-input-channel
    kernel sum (Hölder's interpolation bound, sound for any stride and padding).
    """
    if norm not in ("2", "inf"):
        raise ValueError(f"norm must be '2' or 'inf', got {norm!r}")
    if not isinstance(layer, (nn.Linear, nn.Conv2d)):
        return 1.0  # ReLU and Tanh are 1-Lipschitz; Flatten and Identity change nothing
    weight = layer.weight.detach().double()
    if isinstance(layer, nn.Linear):
        if norm == "2":
            return float(torch.linalg.matrix_norm(weight, ord=2))
        return float(weight.abs().sum(dim=1).max())
    if layer.groups != 1:
        raise ValueError("grouped convolutions are not supported by the Lipschitz bound")
    row_sum = float(weight.abs().sum(dim=(1, 2, 3)).max())  # ‖A‖∞: one output channel's kernel
    column_sum = float(weight.abs().sum(dim=(0, 2, 3)).max())  # ‖A‖₁: one input channel, all offsets
    return row_sum if norm == "inf" else math.sqrt(row_sum * column_sum)


def lipschitz_upper_bound(module: nn.Module, norm: str = "2") -> float:
    """∏ of the layers' operator-norm bounds: a sound global Lipschitz constant of ``module``."""
    bound = 1.0
    for layer in network_layers(module):
        bound *= layer_operator_norm(layer, norm)
    return bound
