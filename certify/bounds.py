"""Sound output bounds of policy networks over input balls: IBP, CROWN and α-CROWN.

* IBP (interval bound propagation; Gowal et al. 2018): push an axis-aligned box through every layer.
* CROWN (Zhang et al., NeurIPS 2018): bound each activation between two linear functions of its
  pre-activation (adaptive lower slope for ReLU; parallel chord/tangent lines for Tanh), substitute
  backward from the quantity of interest to the input, and take the worst case of the resulting
  linear function over the input set in closed form (dual norms). Pre-activation bounds of every
  activation layer come from the same backward substitution, layer by layer; for convolutional
  layers the backward weights are kept as local patches (``rlcert.certify.conv_patches``), and a ReLU neuron
  whose interval bounds already prove it stable gets no backward pass (its relaxation is exact).
* α-CROWN (Xu et al., ICLR 2021): the lower slope of each unstable ReLU may be any α ∈ [0, 1]; we
  optimise it by projected gradient ascent on the bound itself, starting from CROWN's choice and
  keeping the best bound seen, so it is never looser than CROWN.

Input sets are ℓ∞ or ℓ2 balls of radius ε around each state, optionally intersected with the valid
observation box (pixels in [0, 1]); bounds are batched over states. Networks are ``nn.Sequential``
stacks of the layers in ``SUPPORTED_LAYERS`` (eval-mode BatchNorm folded, ``rlcert.certify.layers``).
auto_LiRPA implements the same methods but its PyPI release does not import on torch 2.x, so rlcert
carries this implementation.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
from torch import nn

from rlcert.certify.conv_patches import patch_lower_bounds, patches_apply
from rlcert.certify.layers import SUPPORTED_LAYERS, UnsupportedLayerError, is_activation, network_layers
from rlcert.certify.relaxations import activation_relaxation
from rlcert.reports.errors import InvalidValueError

__all__ = [
    "SUPPORTED_LAYERS",
    "UnsupportedLayerError",
    "network_layers",
    "InputSet",
    "check_bound_options",
    "check_norm",
    "compute_bounds",
    "margin_bounds",
]

METHODS = ("ibp", "crown", "alpha-crown")
NORMS = ("inf", "2")


def check_norm(norm: str) -> str:
    """``norm`` if it is one the bounds support ("inf" or "2"), else an error naming it."""
    if norm not in NORMS:
        raise InvalidValueError(f"norm must be 'inf' or '2', got {norm!r}")
    return norm


def _is_number(value) -> bool:
    """A finite real number (numpy scalars included, bools not)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def check_bound_options(
    norm: str = "inf",
    method: str = "crown",
    low: float | None = None,
    high: float | None = None,
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
) -> None:
    """Refuse options a bound computation cannot use, before it starts (each error names the value and
    the valid range): an unknown norm or method, an empty observation box, α-CROWN's step count or rate."""
    check_norm(norm)
    if method not in METHODS:
        raise InvalidValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    for name, end in (("low", low), ("high", high)):
        if end is not None and not _is_number(end):
            raise InvalidValueError(f"{name} must be a finite number or None (no box), got {end!r}")
    if low is not None and high is not None and not low < high:
        raise InvalidValueError(f"low must be below high (the valid observation box), got low={low!r}, high={high!r}")
    if isinstance(alpha_steps, bool) or not isinstance(alpha_steps, numbers.Integral) or alpha_steps < 0:
        raise InvalidValueError(f"alpha_steps must be an integer >= 0 (alpha-CROWN's steps), got {alpha_steps!r}")
    if not (_is_number(alpha_lr) and alpha_lr > 0):
        raise InvalidValueError(f"alpha_lr must be a finite number > 0 (alpha-CROWN's step size), got {alpha_lr!r}")


@dataclass(frozen=True)
class InputSet:
    """The states an adversary may present: a norm ball around ``center``, intersected with a box."""

    center: torch.Tensor
    """(batch, *obs_shape) clean observations."""
    eps: float | torch.Tensor
    """Radius (a number, or one per state)."""
    norm: str = "inf"
    """"inf" or "2"."""
    low: float | torch.Tensor | None = None
    """Lower end of the valid observation box (e.g. 0 for pixels), or None."""
    high: float | torch.Tensor | None = None
    """Upper end of the valid observation box (e.g. 1 for pixels), or None."""

    def __post_init__(self) -> None:
        check_norm(self.norm)
        eps = torch.as_tensor(self.eps, dtype=self.center.dtype)
        if not torch.all(torch.isfinite(eps)) or torch.any(eps < 0):
            raise InvalidValueError(f"eps must be finite and >= 0, got {self.eps!r}")

    def _eps(self) -> torch.Tensor:
        eps = torch.as_tensor(self.eps, dtype=self.center.dtype)
        return eps.reshape(-1, *([1] * (self.center.dim() - 1))) if eps.dim() else eps

    def box(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The smallest axis-aligned box containing the set (the ℓ2 ball lies in the ℓ∞ ball of radius ε)."""
        lower, upper = self.center - self._eps(), self.center + self._eps()
        if self.low is not None:
            lower = torch.maximum(lower, torch.as_tensor(self.low, dtype=lower.dtype))
        if self.high is not None:
            upper = torch.minimum(upper, torch.as_tensor(self.high, dtype=upper.dtype))
        return lower, upper

    def minimum(self, weights: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """min over the set of weights · x + bias, for weights (batch, specs, *obs_shape).

        Both the norm ball and the box give a valid lower bound; the larger of the two is kept.
        """
        flat = weights.flatten(2)
        at_center = torch.einsum("bsi,bi->bs", flat, self.center.flatten(1))
        dual = flat.abs().sum(-1) if self.norm == "inf" else flat.norm(dim=-1)
        eps = torch.as_tensor(self.eps, dtype=flat.dtype)
        eps = eps.reshape(-1, 1) if eps.dim() else eps
        ball = at_center - eps * dual
        lower, upper = self.box()
        box = (flat.clamp(min=0) * lower.flatten(1)[:, None]).sum(-1) + (
            flat.clamp(max=0) * upper.flatten(1)[:, None]
        ).sum(-1)
        return torch.maximum(ball, box) + bias


# -- forward interval propagation ------------------------------------------------------------------------------


def _ibp_layer(layer: nn.Module, lower: torch.Tensor, upper: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(layer, (nn.Linear, nn.Conv2d)):
        center, radius = (upper + lower) / 2, (upper - lower) / 2
        if isinstance(layer, nn.Linear):
            mid = nn.functional.linear(center, layer.weight, layer.bias)
            rad = nn.functional.linear(radius, layer.weight.abs())
        else:
            mid = layer(center)
            rad = nn.functional.conv2d(
                radius, layer.weight.abs(), None, layer.stride, layer.padding, layer.dilation, layer.groups
            )
        return mid - rad, mid + rad
    if isinstance(layer, nn.Flatten):
        return layer(lower), layer(upper)
    if isinstance(layer, nn.Identity):
        return lower, upper
    return layer(lower), layer(upper)  # ReLU and Tanh are monotone


# -- backward linear substitution ----------------------------------------------------------------------------


def linear_transpose(layer: nn.Module, weights: torch.Tensor, in_shape, kernel: torch.Tensor | None = None):
    """Weights (batch, specs, *out_shape) on a linear or reshape layer's output, pulled back to its input
    (w ↦ wᵀA for the layer's linear part A; ``kernel`` replaces the layer's weight, e.g. by |W|)."""
    kernel = layer.weight if kernel is None and isinstance(layer, (nn.Linear, nn.Conv2d)) else kernel
    if isinstance(layer, nn.Linear):
        return weights @ kernel
    if isinstance(layer, nn.Conv2d):
        batch, specs = weights.shape[:2]
        flat = weights.reshape(batch * specs, *weights.shape[2:])
        out = nn.functional.conv_transpose2d(
            flat, kernel, None, layer.stride, layer.padding, 0, layer.groups, layer.dilation
        )
        pad_h, pad_w = in_shape[-2] - out.shape[-2], in_shape[-1] - out.shape[-1]
        if pad_h or pad_w:  # input rows/columns the stride never reached get zero weight
            out = nn.functional.pad(out, (0, pad_w, 0, pad_h))
        return out.reshape(batch, specs, *in_shape)
    return weights.reshape(*weights.shape[:2], *in_shape)  # Flatten and Identity


def _backward(layers, shapes, relaxations, weights: torch.Tensor, input_set: InputSet) -> torch.Tensor:
    """Lower bound of ``weights · output(layers)`` over the input set (weights: (batch, specs, *out_shape))."""
    bias = torch.zeros(weights.shape[:2], dtype=weights.dtype)
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        if is_activation(layer):
            low_slope, low_bias, up_slope, up_bias = relaxations[index]
            positive, negative = weights.clamp(min=0), weights.clamp(max=0)
            bias = (
                bias
                + (positive * low_bias[:, None]).flatten(2).sum(-1)
                + (negative * up_bias[:, None]).flatten(2).sum(-1)
            )
            weights = positive * low_slope[:, None] + negative * up_slope[:, None]
            continue
        if getattr(layer, "bias", None) is not None:
            if isinstance(layer, nn.Linear):
                bias = bias + weights @ layer.bias
            else:
                bias = bias + (weights.sum(dim=(-1, -2)) * layer.bias).sum(-1)
        weights = linear_transpose(layer, weights, shapes[index])
    return input_set.minimum(weights, bias)


SPEC_CHUNK = 512


def _unit_rows(batch: int, shape: tuple[int, ...], neurons: torch.Tensor, dtype) -> torch.Tensor:
    """The identity rows of some of a layer's neurons, as a (batch, rows, *shape) spec."""
    rows = torch.zeros(len(neurons), math.prod(shape), dtype=dtype)
    rows[torch.arange(len(neurons)), neurons] = 1.0
    return rows.reshape(1, len(neurons), *shape).expand(batch, len(neurons), *shape)


def _subset(input_set: InputSet, relaxations: dict, rows: slice):
    """The input set and relaxations of some of the states."""
    batch = input_set.center.shape[0]

    def cut(value):
        if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == batch:
            return value[rows]
        return value

    part = InputSet(
        input_set.center[rows],
        cut(torch.as_tensor(input_set.eps)),
        input_set.norm,
        cut(input_set.low),
        cut(input_set.high),
    )
    return part, {index: tuple(term[rows] for term in terms) for index, terms in relaxations.items()}


def _tightest_interval(layers, index: int, input_set: InputSet, bounds: dict):
    """Interval bounds of the pre-activation of ``layers[index]``: plain IBP from the input, intersected
    with one interval step from the previous activation's (tighter, CROWN) bounds."""
    lower, upper = _interval(layers[:index], input_set)
    previous = [position for position in bounds if position < index]
    if previous:
        position = max(previous)
        step_lower, step_upper = (layers[position](end) for end in bounds[position])  # monotone activations
        for layer in layers[position + 1 : index]:
            step_lower, step_upper = _ibp_layer(layer, step_lower, step_upper)
        lower, upper = torch.maximum(lower, step_lower), torch.minimum(upper, step_upper)
    return lower, upper


def _dense_crown_bounds(layers, shapes, relaxations, index, input_set, interval):
    """CROWN bounds of the pre-activation of ``layers[index]`` by generic backward passes.

    A ReLU neuron that the interval already proves stable (in every state) keeps its interval bounds:
    its relaxation is exact whatever the bounds, so a backward pass for it would be wasted.
    """
    shape, batch = shapes[index], input_set.center.shape[0]
    lower, upper = (end.flatten(1).clone() for end in interval)
    if isinstance(layers[index], nn.ReLU):
        neurons = torch.nonzero(((lower < 0) & (upper > 0)).any(dim=0)).flatten()
    else:
        neurons = torch.arange(lower.shape[1])
    # One backward pass per chunk of neurons keeps memory at chunk x input size (Nature-CNN on CPU).
    for chunk in torch.split(neurons, SPEC_CHUNK):
        spec = _unit_rows(batch, shape, chunk, input_set.center.dtype)
        chunk_lower = _backward(layers[:index], shapes, relaxations, spec, input_set)
        chunk_upper = -_backward(layers[:index], shapes, relaxations, -spec, input_set)
        lower[:, chunk] = torch.maximum(lower[:, chunk], chunk_lower)
        upper[:, chunk] = torch.minimum(upper[:, chunk], chunk_upper)
    return lower.reshape(batch, *shape), upper.reshape(batch, *shape)


def _crown_relaxations(layers, shapes, input_set: InputSet, alphas=None, intermediate=None):
    """Pre-activation bounds of every activation (CROWN, layer by layer) and their relaxations."""
    relaxations: dict[int, tuple] = {}
    bounds = intermediate if intermediate is not None else {}
    for index, layer in enumerate(layers):
        if not is_activation(layer):
            continue
        if index not in bounds:
            interval = _tightest_interval(layers, index, input_set, bounds)
            affine_prefix = not any(is_activation(previous) for previous in layers[:index])
            if affine_prefix and input_set.norm == "inf":
                bounds[index] = interval  # interval arithmetic is exact for an affine map of a box
            elif patches_apply(layers, shapes, index):
                lower, upper = patch_lower_bounds(layers, shapes, relaxations, index, input_set, _subset)
                bounds[index] = (torch.maximum(lower, interval[0]), torch.minimum(upper, interval[1]))
            else:
                bounds[index] = _dense_crown_bounds(layers, shapes, relaxations, index, input_set, interval)
        lower, upper = bounds[index]
        relaxations[index] = activation_relaxation(layer, lower, upper, None if alphas is None else alphas.get(index))
    return relaxations, bounds


def _interval(layers, input_set: InputSet) -> tuple[torch.Tensor, torch.Tensor]:
    lower, upper = input_set.box()
    for layer in layers:
        lower, upper = _ibp_layer(layer, lower, upper)
    return lower, upper


def layer_shapes(layers, sample: torch.Tensor) -> list[tuple[int, ...]]:
    """Input shape (without batch) of every layer, plus the output shape at the end."""
    shapes, x = [], sample[:1]
    with torch.no_grad():
        for layer in layers:
            shapes.append(tuple(x.shape[1:]))
            x = layer(x)
    shapes.append(tuple(x.shape[1:]))
    return shapes


def preactivation_bounds(layers, shapes, input_set: InputSet, method: str = "crown") -> dict[int, tuple]:
    """{index of each activation: (lower, upper) bounds of its input over the input set} by IBP or CROWN."""
    if method == "ibp":
        activations = [index for index, layer in enumerate(layers) if is_activation(layer)]
        return {index: _interval(layers[:index], input_set) for index in activations}
    return _crown_relaxations(layers, shapes, input_set)[1]


def _lower_bound(module, input_set: InputSet, spec: torch.Tensor, method: str, alpha_steps: int, alpha_lr: float):
    """Lower bounds of spec · f(x) over the input set; spec: (batch, specs, outputs)."""
    layers = network_layers(module)
    with torch.no_grad():
        if method == "ibp":
            lower, upper = _interval(layers, input_set)
            return (spec.clamp(min=0) * lower[:, None]).sum(-1) + (spec.clamp(max=0) * upper[:, None]).sum(-1)
        shapes = layer_shapes(layers, input_set.center)
        relaxations, intermediate = _crown_relaxations(layers, shapes, input_set)
        best = _backward(layers, shapes, relaxations, spec, input_set)
    if method == "crown":
        return best
    # α-CROWN: optimise the lower slopes of unstable ReLUs (intermediate bounds stay CROWN's, which is sound).
    alphas = {}
    for index, (low_slope, *_rest) in relaxations.items():
        if isinstance(layers[index], nn.ReLU):
            alphas[index] = low_slope.clone().requires_grad_(True)
    if not alphas:
        return best
    optimizer = torch.optim.Adam(list(alphas.values()), lr=alpha_lr)
    for _ in range(alpha_steps):
        optimizer.zero_grad()
        relaxed, _ = _crown_relaxations(layers, shapes, input_set, alphas, intermediate)
        bound = _backward(layers, shapes, relaxed, spec, input_set)
        best = torch.maximum(best, bound.detach())
        (-bound.sum()).backward()
        optimizer.step()
        with torch.no_grad():
            for alpha in alphas.values():
                alpha.clamp_(0.0, 1.0)
    with torch.no_grad():
        relaxed, _ = _crown_relaxations(layers, shapes, input_set, alphas, intermediate)
        return torch.maximum(best, _backward(layers, shapes, relaxed, spec, input_set))


def compute_bounds(
    module: nn.Module,
    x: torch.Tensor,
    eps: float | torch.Tensor,
    norm: str = "inf",
    method: str = "crown",
    low: float | None = None,
    high: float | None = None,
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sound (lower, upper) bounds on every output of ``module`` for all inputs in the ε-ball around x.

    Args:
        module: an ``nn.Sequential`` of Linear, Conv2d, ReLU, Tanh, Flatten and Identity layers.
        x: (batch, *obs_shape) centers.
        eps: radius (a number or one per state); ``norm``: "inf" or "2".
        method: "ibp", "crown" or "alpha-crown".
        low, high: the valid observation box the ball is intersected with (e.g. 0 and 1 for pixels).

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
        >>> lower, upper = compute_bounds(net, torch.zeros(1, 2), 0.1)
        >>> bool((lower <= net(torch.zeros(1, 2))).all() and (net(torch.zeros(1, 2)) <= upper).all())
        True
    """
    check_bound_options(norm, method, low, high, alpha_steps, alpha_lr)
    x = torch.as_tensor(x, dtype=torch.float32)
    input_set = InputSet(x, eps, norm, low, high)
    with torch.no_grad():
        outputs = module(x[:1]).shape[-1]
    spec = torch.eye(outputs).expand(x.shape[0], outputs, outputs)
    lower = _lower_bound(module, input_set, spec, method, alpha_steps, alpha_lr)
    upper = -_lower_bound(module, input_set, -spec, method, alpha_steps, alpha_lr)
    return lower.detach(), upper.detach()


def margin_bounds(
    module: nn.Module,
    x: torch.Tensor,
    eps: float | torch.Tensor,
    norm: str = "inf",
    method: str = "crown",
    actions: torch.Tensor | None = None,
    low: float | None = None,
    high: float | None = None,
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lower bounds on score(a*) − score(a) for every a ≠ a* over the ε-ball, and the actions a*.

    ``a*`` is the clean argmax unless ``actions`` is given. Returns ``(margins, actions)`` with margins of
    shape (batch, n_actions − 1); a state is certified at ε when all of its margins are > 0.
    """
    check_bound_options(norm, method, low, high, alpha_steps, alpha_lr)
    x = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        scores = module(x)
    if actions is None:
        actions = scores.argmax(dim=1)
    batch, n = scores.shape
    others = torch.stack([torch.tensor([a for a in range(n) if a != int(top)]) for top in actions])
    spec = torch.zeros(batch, n - 1, n)
    spec.scatter_(2, actions.view(-1, 1, 1).expand(batch, n - 1, 1), 1.0)
    spec.scatter_(2, others.unsqueeze(-1), -1.0)
    input_set = InputSet(x, eps, norm, low, high)
    return _lower_bound(module, input_set, spec, method, alpha_steps, alpha_lr).detach(), actions
