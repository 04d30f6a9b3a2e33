"""The layer list bound propagation and Lipschitz bounds work on: a flattened ``nn.Sequential`` in which
every layer is affine (Linear, Conv2d), a 1-Lipschitz monotone activation (ReLU, Tanh) or a reshape.

BatchNorm in eval mode is an affine map per channel: right after a Linear or Conv2d it is folded into
that layer (Ioffe & Szegedy 2015, §3.2: at inference BN is "a linear transform applied to each
activation"), which is exact and keeps the relaxation as tight as the unnormalised network; anywhere
else it becomes a diagonal Linear (BatchNorm1d) or a depthwise 1x1 Conv2d (BatchNorm2d), so every
method sees only the layer types it already handles. Dropout in eval mode is the identity.
"""

from __future__ import annotations

import torch
from torch import nn

from rlcert.reports.errors import InvalidValueError, UnsupportedInputError

__all__ = ["SUPPORTED_LAYERS", "UnsupportedLayerError", "network_layers", "is_activation"]

SUPPORTED_LAYERS = (
    nn.Linear,
    nn.Conv2d,
    nn.ReLU,
    nn.Tanh,
    nn.Flatten,
    nn.Identity,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.Dropout,
)


class UnsupportedLayerError(UnsupportedInputError):
    """A layer bound propagation does not know how to relax."""


def is_activation(layer: nn.Module) -> bool:
    return isinstance(layer, (nn.ReLU, nn.Tanh))


def _leaf_layers(module: nn.Module) -> list[nn.Module]:
    if not isinstance(module, nn.Sequential):
        return [module]
    layers: list[nn.Module] = []
    for layer in module.children():
        layers.extend(_leaf_layers(layer))
    return layers


def _batchnorm_affine(norm: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) per channel of an eval-mode BatchNorm: y = scale * x + shift."""
    if norm.training and norm.track_running_stats:
        raise InvalidValueError(
            f"{type(norm).__name__} is in training mode, where its output depends on the batch; "
            "call module.eval() first: bounds hold for the deployed (eval-mode) network"
        )
    if norm.running_mean is None or norm.running_var is None:
        raise InvalidValueError(
            f"{type(norm).__name__} without running statistics cannot be bounded; use track_running_stats"
        )
    scale = 1.0 / torch.sqrt(norm.running_var + norm.eps)
    shift = -norm.running_mean * scale
    if norm.affine:
        scale, shift = scale * norm.weight, shift * norm.weight + norm.bias
    return scale.detach(), shift.detach()


def _fold_into(layer: nn.Linear | nn.Conv2d, scale: torch.Tensor, shift: torch.Tensor) -> nn.Module:
    """``layer`` followed by the per-output-channel affine map (scale, shift), as one layer of its type."""
    with torch.no_grad():
        if isinstance(layer, nn.Linear):
            folded = nn.Linear(layer.in_features, layer.out_features)
        else:
            folded = nn.Conv2d(
                layer.in_channels,
                layer.out_channels,
                layer.kernel_size,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.groups,
                padding_mode=layer.padding_mode,
            )
        view = (-1,) + (1,) * (layer.weight.dim() - 1)
        folded.weight.copy_(layer.weight * scale.view(view))
        bias = layer.bias if layer.bias is not None else torch.zeros_like(scale)
        folded.bias.copy_(bias * scale + shift)
    return folded.requires_grad_(False)


def _standalone(norm: nn.BatchNorm1d | nn.BatchNorm2d, scale: torch.Tensor, shift: torch.Tensor) -> nn.Module:
    with torch.no_grad():
        if isinstance(norm, nn.BatchNorm1d):
            layer = nn.Linear(len(scale), len(scale))
            layer.weight.copy_(torch.diag(scale))
        else:
            layer = nn.Conv2d(len(scale), len(scale), 1, groups=len(scale))
            layer.weight.copy_(scale.view(-1, 1, 1, 1))
        layer.bias.copy_(shift)
    return layer.requires_grad_(False)


def network_layers(module: nn.Module) -> list[nn.Module]:
    """The layers of an ``nn.Sequential`` (nested ones flattened, BatchNorm folded), checked against
    what we support; an unsupported layer raises ``UnsupportedLayerError`` naming it and the supported set."""
    layers: list[nn.Module] = []
    for layer in _leaf_layers(module):
        if not isinstance(layer, SUPPORTED_LAYERS):
            names = ", ".join(cls.__name__ for cls in SUPPORTED_LAYERS)
            raise UnsupportedLayerError(f"cannot bound layer type {type(layer).__name__}; supported: {names}")
        if isinstance(layer, nn.Dropout):
            continue  # the identity in eval mode; a policy is always evaluated in eval mode
        if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            scale, shift = _batchnorm_affine(layer)
            previous = layers[-1] if layers else None
            if isinstance(previous, (nn.Linear, nn.Conv2d)) and previous.weight.shape[0] == len(scale):
                layers[-1] = _fold_into(previous, scale, shift)
            else:
                layers.append(_standalone(layer, scale, shift))
            continue
        if isinstance(layer, nn.Conv2d) and (layer.padding_mode != "zeros" or isinstance(layer.padding, str)):
            raise UnsupportedLayerError(
                f"Conv2d with padding={layer.padding!r}, padding_mode={layer.padding_mode!r}; "
                "supported: integer zero padding"
            )
        layers.append(layer)
    return layers
