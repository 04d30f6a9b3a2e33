"""CROWN bounds of convolutional pre-activations with the backward weights kept as local patches.

A neuron of a convolution's output depends only on its receptive field, so the linear function CROWN
substitutes backward for it is zero everywhere else. Held as a dense tensor over the whole input (as
the generic backward pass does), 98 % of the work on the Nature-CNN multiplies zeros. Here each
neuron's weights live in a K×K window whose position follows from the neuron's grid position: going
back through a convolution (kernel k, stride s, padding p, dilation d) the window grows to
K' = (K − 1)·s + (k − 1)·d + 1, with stride S' = S·s and offset P' = P·s + p; activation relaxations
and the input set are read through the same windows (``unfold``). This is the "patches" mode of
auto_LiRPA (Xu et al., NeurIPS 2020, §3.3 and appendix), written for ``nn.Sequential`` prefixes of
Conv2d, ReLU, Tanh and Identity layers.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from rlcert.certify.layers import is_activation

__all__ = ["patches_apply", "patch_lower_bounds"]

# Patch elements per chunk of states: bounds memory at a few hundred MB (one Nature-CNN state at conv3).
PATCH_BUDGET = 1 << 25


def patches_apply(layers: list[nn.Module], shapes: list[tuple[int, ...]], index: int) -> bool:
    """Whether the pre-activation of ``layers[index]`` can be bounded in patch mode."""
    prefix = layers[:index]
    return (
        len(shapes[0]) == 3
        and len(shapes[index]) == 3
        and any(isinstance(layer, nn.Conv2d) for layer in prefix)
        and all(isinstance(layer, (nn.Conv2d, nn.Identity)) or is_activation(layer) for layer in prefix)
    )


def _largest_patch(layers, shapes, index) -> int:
    """Elements of one neuron's largest patch on the way back from ``layers[index]`` to the input."""
    kernel, largest = 1, shapes[index][0]
    for position in range(index - 1, -1, -1):
        layer = layers[position]
        if isinstance(layer, nn.Conv2d):
            (k, _), (s, _), (d, _) = layer.kernel_size, layer.stride, layer.dilation
            kernel = (kernel - 1) * s + (k - 1) * d + 1
            largest = max(largest, shapes[position][0] * kernel * kernel)
    return largest


def _windows(x: torch.Tensor, kernel: int, stride: int, offset: int, grid: tuple[int, int]) -> torch.Tensor:
    """(batch, C, K, K, H, W): the K×K window of ``x`` (batch, C, h, w) seen by each target grid position.

    Positions outside ``x`` read as 0 (they are padding, whose value is 0 and whose weights we zero).
    """
    height, width = grid
    h, w = x.shape[-2:]
    pad_bottom = max(offset, (height - 1) * stride - offset + kernel - h)
    pad_right = max(offset, (width - 1) * stride - offset + kernel - w)
    padded = functional.pad(x, (offset, pad_right, offset, pad_bottom))
    columns = functional.unfold(padded, kernel, stride=stride)
    rows = (h + offset + pad_bottom - kernel) // stride + 1
    cols = (w + offset + pad_right - kernel) // stride + 1
    windows = columns.view(x.shape[0], x.shape[1], kernel, kernel, rows, cols)
    return windows[..., :height, :width]


def _aligned(windows: torch.Tensor) -> torch.Tensor:
    """Windows (b, C, K, K, H, W) laid out like patches (b, 1, H, W, C, K, K)."""
    return windows.permute(0, 4, 5, 1, 2, 3).unsqueeze(1)


def _valid(level, kernel, stride, offset, grid, dtype) -> torch.Tensor:
    """1 where a patch element lies on the level's grid, 0 where it lies in the padding."""
    return _aligned(_windows(torch.ones(1, 1, *level[1:], dtype=dtype), kernel, stride, offset, grid))


def _patch_lower(layers, shapes, relaxations, index, input_set, sign: float) -> torch.Tensor:
    """Lower bounds of ``sign`` × every pre-activation neuron of ``layers[index]`` over the input set."""
    channels, height, width = shapes[index]
    batch = input_set.center.shape[0]
    dtype = input_set.center.dtype
    patch = sign * torch.eye(channels, dtype=dtype).view(1, channels, 1, 1, channels, 1, 1)
    patch = patch.expand(batch, channels, height, width, channels, 1, 1)
    bias = torch.zeros(batch, channels, height, width, dtype=dtype)
    kernel, stride, offset = 1, 1, 0
    for position in range(index - 1, -1, -1):
        layer = layers[position]
        level = shapes[position + 1]  # the layer's output: where the patch lives now
        if isinstance(layer, nn.Conv2d):
            patch = patch * _valid(level, kernel, stride, offset, (height, width), dtype)
            if layer.bias is not None:
                bias = bias + (patch.sum(dim=(-1, -2)) * layer.bias).sum(-1)
            flat = patch.reshape(-1, level[0], kernel, kernel)
            flat = functional.conv_transpose2d(
                flat, layer.weight, None, layer.stride, 0, 0, layer.groups, layer.dilation
            )
            patch = flat.view(batch, channels, height, width, *flat.shape[1:])
            (k, _), (s, _), (p, _), (d, _) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
            kernel, stride, offset = (kernel - 1) * s + (k - 1) * d + 1, stride * s, offset * s + p
        elif is_activation(layer):
            low_slope, low_bias, up_slope, up_bias = (
                _aligned(_windows(term, kernel, stride, offset, (height, width))) for term in relaxations[position]
            )
            positive, negative = patch.clamp(min=0), patch.clamp(max=0)
            bias = bias + (positive * low_bias + negative * up_bias).sum(dim=(-1, -2, -3))
            patch = positive * low_slope + negative * up_slope
    center = _aligned(_windows(input_set.center, kernel, stride, offset, (height, width)))
    patch = patch * _valid(shapes[0], kernel, stride, offset, (height, width), dtype)
    eps = torch.as_tensor(input_set.eps, dtype=dtype)
    eps = eps.view(-1, 1, 1, 1) if eps.dim() else eps
    dual = patch.abs().sum(dim=(-1, -2, -3)) if input_set.norm == "inf" else patch.flatten(-3).norm(dim=-1)
    ball = (patch * center).sum(dim=(-1, -2, -3)) - eps * dual
    lower, upper = (_aligned(_windows(end, kernel, stride, offset, (height, width))) for end in input_set.box())
    box = (patch.clamp(min=0) * lower + patch.clamp(max=0) * upper).sum(dim=(-1, -2, -3))
    return torch.maximum(ball, box) + bias


def patch_lower_bounds(layers, shapes, relaxations, index, input_set, subset) -> tuple[torch.Tensor, torch.Tensor]:
    """(lower, upper) CROWN bounds of the pre-activation of ``layers[index]``, states chunked to fit memory.

    ``subset(input_set, rows)`` restricts an input set (and the relaxations) to some states.
    """
    channels, height, width = shapes[index]
    per_state = channels * height * width * _largest_patch(layers, shapes, index)
    chunk = max(1, PATCH_BUDGET // per_state)
    lowers, uppers = [], []
    for start in range(0, input_set.center.shape[0], chunk):
        rows = slice(start, start + chunk)
        part, part_relaxations = subset(input_set, relaxations, rows)
        lowers.append(_patch_lower(layers, shapes, part_relaxations, index, part, 1.0))
        uppers.append(-_patch_lower(layers, shapes, part_relaxations, index, part, -1.0))
    return torch.cat(lowers), torch.cat(uppers)
