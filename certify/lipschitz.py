"""Sound Lipschitz upper bounds of policy networks: global (product of layer norms) and local (over a ball).

* Global: ReLU and Tanh are 1-Lipschitz, so ‖f(x) − f(y)‖ <= (∏_l ‖W_l‖) ‖x − y‖ for the induced norm
  of each affine layer (Szegedy et al. 2014; the certificate Lipschitz-constrained imitation relies on,
  Al Makdah et al. 2022). Every factor is an exact norm or a proven upper bound, so the product is
  ``sound`` — and usually loose, since it ignores which neurons can be active.
* Local (Fast-Lip, Weng et al. ICML 2018, §3.3): over an input ball, every (Clarke) Jacobian of the
  network is W_L D_{L-1} W_{L-1} ⋯ D_1 W_1 with each activation derivative D_l confined to the range its
  pre-activation bounds allow (exactly 0 or 1 for a stable ReLU). Interval arithmetic on that product,
  backward from the outputs, bounds every entry of every Jacobian: |J| <= M entrywise. By the mean
  value theorem for Lipschitz maps (Clarke 1983, Prop. 2.6.5) ‖f(x) − f(y)‖ <= ‖M‖ ‖x − y‖ for x, y in
  the ball, and ‖J‖ <= ‖M‖ for the 2- and ∞-induced norms. The pre-activation bounds come from CROWN
  (``rlcert.certify.bounds``), so the stable neurons it proves are what make the local bound tight.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rlcert.certify.bounds import InputSet, check_norm, layer_shapes, linear_transpose, preactivation_bounds
from rlcert.certify.layers import is_activation, network_layers
from rlcert.certify.lipschitz_extension import extension_lipschitz_bound, find_extension
from rlcert.certify.relaxations import derivative_range
from rlcert.reports.errors import InvalidValueError

__all__ = ["layer_operator_norm", "lipschitz_upper_bound", "local_lipschitz_bound"]


def layer_operator_norm(layer: nn.Module, norm: str = "2") -> float:
    """An upper bound on the induced ``norm`` (2 or inf) of an affine layer's linear part.

    Linear: the spectral norm (exact, from the SVD) or the largest absolute row sum (exact for inf).
    Conv2d: inf — the largest absolute kernel sum of an output channel (each output sums one kernel's
    worth of inputs); 2 — sqrt(‖A‖₁‖A‖∞) of the convolution matrix A, where each input pixel meets every
    kernel offset at most once, so the largest column sum is at most the largest per-input-channel
    kernel sum (Hölder's interpolation bound, sound for any stride, padding and grouping).
    """
    check_norm(norm)
    if not isinstance(layer, (nn.Linear, nn.Conv2d)):
        return 1.0  # ReLU and Tanh are 1-Lipschitz; Flatten and Identity change nothing
    weight = layer.weight.detach().double()
    if isinstance(layer, nn.Linear):
        if norm == "2":
            return float(torch.linalg.matrix_norm(weight, ord=2))
        return float(weight.abs().sum(dim=1).max())
    row_sum = float(weight.abs().sum(dim=(1, 2, 3)).max())  # ‖A‖∞: one output channel's kernel
    # ‖A‖₁: an input channel meets, in each of its groups' output channels, every kernel offset once.
    column_sum = float(weight.abs().sum(dim=(2, 3)).view(layer.groups, -1, weight.shape[1]).sum(1).max())
    return row_sum if norm == "inf" else math.sqrt(row_sum * column_sum)


def lipschitz_upper_bound(module: nn.Module, norm: str = "2") -> float:
    """∏ of the layers' operator-norm bounds: a sound global Lipschitz constant of ``module``; for a McShane
    extension (``rlcert.certify.lipschitz_extension``), the constant of its theorem."""
    extension = find_extension(module)
    if extension is not None:
        return extension_lipschitz_bound(extension, norm)
    bound = 1.0
    for layer in network_layers(module):
        bound *= layer_operator_norm(layer, norm)
    return bound


def _interval_product(mid, radius, low, high):
    """Midpoint and radius of the interval hull of [mid ± radius] · [low, high] (elementwise, low >= 0)."""
    candidates = torch.stack([(mid - radius) * low, (mid - radius) * high, (mid + radius) * low, (mid + radius) * high])
    lower, upper = candidates.min(0).values, candidates.max(0).values
    return (lower + upper) / 2, (upper - lower) / 2


def local_lipschitz_bound(
    module: nn.Module,
    x: torch.Tensor,
    eps: float | torch.Tensor,
    norm: str = "2",
    method: str = "crown",
    spec: torch.Tensor | None = None,
    low: float | None = None,
    high: float | None = None,
) -> torch.Tensor:
    """Per state, a sound Lipschitz constant of ``spec · module`` on the ε-ball around x (∩ the box).

    ``norm`` is the input ball's norm and the induced operator norm of the bound: "2" bounds
    ‖g(x) − g(y)‖₂ / ‖x − y‖₂ and "inf" bounds ‖g(x) − g(y)‖∞ / ‖x − y‖∞, for g = spec · module and
    all x, y in the ball. ``spec`` (batch, specs, outputs) defaults to the identity (every output);
    a single row such as e_a − e_b bounds the gradient norm of one decision margin. ``method`` ("ibp"
    or "crown") picks the pre-activation bounds; CROWN's are tighter. With the default spec the result is
    capped by the global ``lipschitz_upper_bound`` (both are sound; the smaller is returned).
    """
    check_norm(norm)
    if method not in ("ibp", "crown"):
        raise InvalidValueError(f"unknown method {method!r} for the local Lipschitz bound; choose ibp or crown")
    x = torch.as_tensor(x, dtype=torch.float32)
    layers = network_layers(module)
    input_set = InputSet(x, eps, norm, low, high)
    with torch.no_grad():
        shapes = layer_shapes(layers, x)
        bounds = preactivation_bounds(layers, shapes, input_set, method)
        outputs = shapes[-1][0]
        mid = torch.eye(outputs).expand(x.shape[0], outputs, outputs) if spec is None else spec.to(x.dtype)
        radius = torch.zeros_like(mid)
        for index in range(len(layers) - 1, -1, -1):
            layer = layers[index]
            if is_activation(layer):
                low_derivative, high_derivative = derivative_range(layer, *bounds[index])
                mid, radius = _interval_product(mid, radius, low_derivative[:, None], high_derivative[:, None])
            else:
                absolute = layer.weight.abs() if isinstance(layer, (nn.Linear, nn.Conv2d)) else None
                mid, radius = (
                    linear_transpose(layer, mid, shapes[index]),
                    linear_transpose(layer, radius, shapes[index], absolute),
                )
        entry_bound = (mid.abs() + radius).flatten(2)  # (batch, specs, inputs) >= every |Jacobian entry|
        if norm == "inf":
            local = entry_bound.sum(-1).max(-1).values
        else:
            local = torch.linalg.matrix_norm(entry_bound.double(), ord=2).float()
    if spec is None:
        local = torch.minimum(local, torch.tensor(lipschitz_upper_bound(module, norm), dtype=local.dtype))
    return local
