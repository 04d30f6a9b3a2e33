"""A small JSON description of ``nn.Sequential`` policy networks, and loading weights into it safely.

The JSON names each layer (``linear``, ``conv2d``, ``relu``, ``tanh``, ``flatten``, ``identity``) with
its sizes, plus what the outputs mean and the spaces the policy was trained on::

    {"format": "rlcert-architecture/1",
     "layers": [{"type": "flatten"}, {"type": "linear", "in": 20, "out": 256}, {"type": "relu"}, ...],
     "output": "q_values",
     "observation_shape": [5, 4],
     "action_space": {"type": "discrete", "n": 2}}

Weights are a plain ``state_dict`` file, always read with ``torch.load(..., weights_only=True)`` so a
model file can never run code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.reports.errors import InvalidValueError

__all__ = [
    "PolicyLoadError",
    "OUTPUT_KINDS",
    "build_module",
    "describe_module",
    "load_state_dict_file",
    "load_weights_into",
    "space_from_json",
    "space_to_json",
    "read_architecture",
]

FORMAT = "rlcert-architecture/1"
OUTPUT_KINDS = ("q_values", "logits", "action_mean", "squashed_action")
SUPPORTED_LAYERS = ("linear", "conv2d", "relu", "tanh", "flatten", "identity")


class PolicyLoadError(InvalidValueError):
    """A policy file is missing, corrupt, foreign or does not fit its architecture."""


def _require(layer: Mapping[str, Any], *keys: str) -> list[Any]:
    missing = [k for k in keys if k not in layer]
    if missing:
        raise PolicyLoadError(f"layer {dict(layer)} lacks {', '.join(missing)}")
    return [layer[k] for k in keys]


def build_module(layers: list[Mapping[str, Any]]) -> nn.Sequential:
    """Build the ``nn.Sequential`` a layer list describes (weights left at their init values)."""
    modules: list[nn.Module] = []
    for layer in layers:
        kind = layer.get("type")
        if kind == "linear":
            n_in, n_out = _require(layer, "in", "out")
            modules.append(nn.Linear(int(n_in), int(n_out)))
        elif kind == "conv2d":
            c_in, c_out, k, s = _require(layer, "in", "out", "kernel", "stride")
            modules.append(nn.Conv2d(int(c_in), int(c_out), int(k), int(s), int(layer.get("padding", 0))))
        elif kind == "relu":
            modules.append(nn.ReLU())
        elif kind == "tanh":
            modules.append(nn.Tanh())
        elif kind == "flatten":
            modules.append(nn.Flatten())
        elif kind == "identity":
            modules.append(nn.Identity())
        else:
            raise PolicyLoadError(f"unsupported layer type {kind!r}; supported: {', '.join(SUPPORTED_LAYERS)}")
    return nn.Sequential(*modules)


def describe_module(module: nn.Sequential) -> list[dict[str, Any]]:
    """The layer list of a supported ``nn.Sequential`` (inverse of :func:`build_module`)."""
    layers: list[dict[str, Any]] = []
    for m in module:
        if isinstance(m, nn.Linear):
            layers.append({"type": "linear", "in": m.in_features, "out": m.out_features})
        elif isinstance(m, nn.Conv2d):
            layers.append(
                {
                    "type": "conv2d",
                    "in": m.in_channels,
                    "out": m.out_channels,
                    "kernel": m.kernel_size[0],
                    "stride": m.stride[0],
                    "padding": m.padding[0],
                }
            )
        elif isinstance(m, (nn.ReLU, nn.Tanh, nn.Flatten, nn.Identity)):
            layers.append({"type": type(m).__name__.lower()})
        else:
            raise PolicyLoadError(
                f"unsupported layer type {type(m).__name__}; supported: {', '.join(SUPPORTED_LAYERS)}"
            )
    return layers


def space_to_json(space: gym.Space) -> dict[str, Any]:
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "discrete", "n": int(space.n)}
    if isinstance(space, gym.spaces.Box):

        def bound(values: np.ndarray) -> Any:  # one number when uniform (pixels: 0 and 1), else the array
            flat = values.reshape(-1)
            return flat[0].item() if flat.size and np.all(flat == flat[0]) else values.tolist()

        return {"type": "box", "shape": list(space.shape), "low": bound(space.low), "high": bound(space.high)}
    raise PolicyLoadError(f"only Discrete and Box spaces are supported, got {space}")


def space_from_json(data: Mapping[str, Any]) -> gym.Space:
    kind = data.get("type")
    if kind == "discrete":
        return gym.spaces.Discrete(int(data["n"]))
    if kind == "box":
        shape = tuple(int(s) for s in data["shape"])
        low = np.asarray(data.get("low", -np.inf), dtype=np.float32)
        high = np.asarray(data.get("high", np.inf), dtype=np.float32)
        return gym.spaces.Box(low=np.broadcast_to(low, shape), high=np.broadcast_to(high, shape), dtype=np.float32)
    raise PolicyLoadError(f"unknown space type {kind!r}; expected 'discrete' or 'box'")


def read_architecture(path: str | Path) -> dict[str, Any]:
    """Read and check an architecture JSON file."""
    path = Path(path)
    if not path.is_file():
        raise PolicyLoadError(f"architecture file {str(path)!r} does not exist")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PolicyLoadError(f"architecture file {str(path)!r} is not valid JSON: {exc}") from None
    return check_architecture(data, source=str(path))


ARCHITECTURE_KEYS = ("format", "layers", "output", "observation_shape", "observation_space", "action_space")
# The keys each layer type and space type takes: anything else is a typo that would be silently ignored.
_LAYER_KEYS = {"linear": {"in", "out"}, "conv2d": {"in", "out", "kernel", "stride", "padding"}}
_SPACE_KEYS = {"discrete": {"n"}, "box": {"shape", "low", "high"}}


def _refuse_unknown_keys(mapping: Mapping[str, Any], valid: set[str] | tuple[str, ...], where: str) -> None:
    unknown = sorted(set(mapping) - set(valid))
    if unknown:
        raise PolicyLoadError(f"{where} has the unknown key {unknown[0]!r}; valid keys: {', '.join(sorted(valid))}")


def check_architecture(data: Any, source: str = "architecture") -> dict[str, Any]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PolicyLoadError(f"{source} is not an {FORMAT} description (missing or wrong 'format')")
    _refuse_unknown_keys(data, ARCHITECTURE_KEYS, source)
    for key in ("layers", "output", "observation_shape", "action_space"):
        if key not in data:
            raise PolicyLoadError(f"{source} lacks the key {key!r}")
    if not isinstance(data["layers"], list) or not all(isinstance(layer, dict) for layer in data["layers"]):
        raise PolicyLoadError(f"{source}: layers must be a list of objects")
    for index, layer in enumerate(data["layers"]):
        _refuse_unknown_keys(layer, {"type", *_LAYER_KEYS.get(layer.get("type"), ())}, f"{source}: layer {index}")
    for key in ("observation_space", "action_space"):
        space = data.get(key)
        if isinstance(space, dict):
            _refuse_unknown_keys(space, {"type", *_SPACE_KEYS.get(space.get("type"), ())}, f"{source}: {key}")
    if data["output"] not in OUTPUT_KINDS:
        raise PolicyLoadError(f"{source}: output {data['output']!r} is not one of {', '.join(OUTPUT_KINDS)}")
    return data


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a ``state_dict`` without unpickling code; corrupt or foreign files raise PolicyLoadError."""
    path = Path(path)
    if not path.is_file():
        raise PolicyLoadError(f"weights file {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad files; all mean "not loadable"
        text = str(exc)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        culprit = next((line for line in lines if "Unsupported global" in line), None)
        if culprit is not None:
            # weights_only refuses anything but tensors and plain containers: the file wants to run code.
            raise PolicyLoadError(
                f"{str(path)!r} holds objects other than tensors and was refused ({culprit})"
            ) from None
        detail = next(
            (line for line in lines if line.startswith("Unsupported")), lines[0] if lines else type(exc).__name__
        )
        raise PolicyLoadError(f"{str(path)!r} is not a readable torch weights file ({detail})") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise PolicyLoadError(f"{str(path)!r} is not a state_dict (a mapping of names to tensors)")
    return dict(state)


def load_weights_into(module: nn.Module, state: Mapping[str, torch.Tensor], source: str = "weights") -> None:
    """Copy ``state`` into ``module`` (as float32), naming every missing, extra or misshapen tensor."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: file {tuple(state[k].shape)} vs architecture {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing tensors {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected tensors {', '.join(extra)}")
    if wrong:
        problems.append(f"wrong shapes {'; '.join(wrong)}")
    if problems:
        raise PolicyLoadError(f"{source} does not fit the architecture: {'; '.join(problems)}")
    floats = {}
    for k, v in state.items():
        v = v.to(torch.float32)
        if not torch.isfinite(v).all():
            raise PolicyLoadError(f"{source}: tensor {k!r} contains NaN or infinite values")
        floats[k] = v
    module.load_state_dict(floats)
