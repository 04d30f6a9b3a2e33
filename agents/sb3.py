"""Read a Stable-Baselines3 ``.zip`` into a ``TorchModulePolicy`` without unpickling anything.

An SB3 archive holds ``data`` (JSON; objects it could not serialise are cloudpickled, but SB3 also
writes their readable attributes beside the pickle) and ``policy.pth`` (a plain ``state_dict``).
We read the spaces and ``policy_kwargs`` from the readable attributes, rebuild the deterministic
action path from the tensor names, and load ``policy.pth`` with ``weights_only=True``, so a
hostile archive cannot run code. Supported: DQN, PPO/A2C (discrete and Box actions), SAC and TD3
actors, with MLP or Nature-CNN feature extractors.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.agents.architecture import PolicyLoadError, load_weights_into
from rlcert.agents.policies import TorchModulePolicy, _check_forward

__all__ = ["load_sb3_zip"]

_ACTIVATIONS = {"ReLU": nn.ReLU, "Tanh": nn.Tanh}


def _read_archive(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    if not path.is_file():
        raise PolicyLoadError(f"SB3 file {str(path)!r} does not exist")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "data" not in names or "policy.pth" not in names:
                raise PolicyLoadError(
                    f"{str(path)!r} is a zip but not a Stable-Baselines3 model (no 'data' and 'policy.pth' inside)"
                )
            data = json.loads(archive.read("data"))
            weights = archive.read("policy.pth")
    except zipfile.BadZipFile:
        raise PolicyLoadError(f"{str(path)!r} is not a valid zip archive (corrupt or not an SB3 model)") from None
    except json.JSONDecodeError as exc:
        raise PolicyLoadError(f"{str(path)!r}: its 'data' entry is not valid JSON ({exc})") from None
    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PolicyLoadError(f"{str(path)!r}: policy.pth is not a plain state_dict ({type(exc).__name__})") from None
    return data, dict(state)


def _parse_array(text: Any, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(text, list):
        return np.asarray(text, dtype=np.float32).reshape(shape)
    numbers = re.findall(r"-?inf|-?\d+\.?\d*(?:e[-+]?\d+)?", str(text))
    values = np.array([float(x) for x in numbers], dtype=np.float32)
    if values.size == 1:
        return np.full(shape, values[0], dtype=np.float32)
    return values.reshape(shape)


def _space(entry: Any, what: str) -> gym.Space:
    if not isinstance(entry, dict) or ":type:" not in entry:
        raise PolicyLoadError(f"the SB3 archive has no readable {what}")
    kind = entry[":type:"]
    if "Discrete" in kind:
        return gym.spaces.Discrete(int(entry["n"]))
    if "Box" in kind:
        shape = tuple(int(s) for s in entry["_shape"])
        if str(entry.get("dtype")) == "uint8":
            # Image models divide uint8 pixels by 255 inside SB3; our envs already give [0, 1] pixels.
            return gym.spaces.Box(0.0, 1.0, shape, dtype=np.float32)
        return gym.spaces.Box(_parse_array(entry["low"], shape), _parse_array(entry["high"], shape), dtype=np.float32)
    raise PolicyLoadError(f"unsupported {what} {kind}; rlcert supports Discrete and Box")


def _activation(data: dict[str, Any], default: str) -> type[nn.Module]:
    kwargs = data.get("policy_kwargs") or {}
    text = str(kwargs.get("activation_fn", default)) if isinstance(kwargs, dict) else default
    for name, cls in _ACTIVATIONS.items():
        if name in text:
            return cls
    raise PolicyLoadError(f"unsupported activation {text!r}; supported: {', '.join(_ACTIVATIONS)}")


def _mlp(state: dict[str, torch.Tensor], prefix: str, activation: type[nn.Module]) -> list[tuple[str, nn.Module]]:
    """Rebuild Linear+activation pairs named ``{prefix}{i}.weight`` (SB3's create_mlp layout)."""
    layers = []
    indices = sorted({int(m.group(1)) for k in state if (m := re.fullmatch(re.escape(prefix) + r"(\d+)\.weight", k))})
    for i in indices:
        w = state[f"{prefix}{i}.weight"]
        layers.append((f"{prefix}{i}", nn.Linear(w.shape[1], w.shape[0])))
        layers.append((f"{prefix}{i}.act", activation()))
    return layers


def _features(state: dict[str, torch.Tensor], prefix: str) -> list[tuple[str, nn.Module]]:
    """The Nature-CNN extractor if its tensors are present, else SB3's FlattenExtractor."""
    if f"{prefix}cnn.0.weight" not in state:
        return [("flatten", nn.Flatten())]
    layers: list[tuple[str, nn.Module]] = []
    for i, stride in ((0, 4), (2, 2), (4, 1)):
        w = state[f"{prefix}cnn.{i}.weight"]
        layers += [
            (f"{prefix}cnn.{i}", nn.Conv2d(w.shape[1], w.shape[0], w.shape[2], stride)),
            (f"{prefix}cnn.{i}.act", nn.ReLU()),
        ]
    w = state[f"{prefix}linear.0.weight"]
    layers += [
        ("flatten", nn.Flatten()),
        (f"{prefix}linear.0", nn.Linear(w.shape[1], w.shape[0])),
        (f"{prefix}linear.0.act", nn.ReLU()),
    ]
    return layers


def _assemble(named: list[tuple[str, nn.Module]], state: dict[str, torch.Tensor], source: str) -> nn.Sequential:
    module = nn.Sequential(*(m for _, m in named))
    remapped = {}
    for position, (name, layer) in enumerate(named):
        for param, _ in layer.named_parameters():
            key = f"{name}.{param}"
            if key not in state:
                raise PolicyLoadError(f"{source}: tensor {key!r} is missing")
            remapped[f"{position}.{param}"] = state[key]
    load_weights_into(module, remapped, source=source)
    return module


def load_sb3_zip(path: str | Path, name: str | None = None) -> TorchModulePolicy:
    """Load the deterministic policy of an SB3 DQN, PPO, A2C, SAC or TD3 archive.

    Raises:
        PolicyLoadError: the file is missing, not a zip, not an SB3 model, or of an unsupported kind.
    """
    path = Path(path)
    data, state = _read_archive(path)
    obs_space = _space(data.get("observation_space"), "observation space")
    act_space = _space(data.get("action_space"), "action space")
    source = f"SB3 model {str(path)!r}"
    discrete = isinstance(act_space, gym.spaces.Discrete)
    if any(k.startswith("q_net.q_net.") for k in state):  # DQN
        named = _features(state, "q_net.features_extractor.") + _mlp(state, "q_net.q_net.", _activation(data, "ReLU"))
        named = named[:-1]  # no activation after the Q-value head
        output = "q_values"
    elif "action_net.weight" in state:  # PPO / A2C
        extractor = (
            "pi_features_extractor."
            if any(k.startswith("pi_features_extractor.") for k in state)
            else "features_extractor."
        )
        named = _features(state, extractor) + _mlp(state, "mlp_extractor.policy_net.", _activation(data, "Tanh"))
        w = state["action_net.weight"]
        named.append(("action_net", nn.Linear(w.shape[1], w.shape[0])))
        output = "logits" if discrete else "action_mean"
    elif "actor.mu.weight" in state:  # SAC: tanh-squashed Gaussian, deterministic action = tanh(mean)
        named = _features(state, "actor.features_extractor.") + _mlp(
            state, "actor.latent_pi.", _activation(data, "ReLU")
        )
        w = state["actor.mu.weight"]
        named += [("actor.mu", nn.Linear(w.shape[1], w.shape[0])), ("squash", nn.Tanh())]
        output = "squashed_action"
    elif any(k.startswith("actor.mu.") for k in state):  # TD3 / DDPG: mu is an MLP ending in tanh
        named = _features(state, "actor.features_extractor.") + _mlp(state, "actor.mu.", _activation(data, "ReLU"))
        named[-1] = ("squash", nn.Tanh())
        output = "squashed_action"
    else:
        raise PolicyLoadError(
            f"{source}: unknown algorithm (expected DQN, PPO, A2C, SAC or TD3 tensors; found "
            f"{', '.join(sorted(state)[:4])}, ...)"
        )
    if discrete != (output in ("q_values", "logits")):
        raise PolicyLoadError(f"{source}: its network does not fit its action space {act_space}")
    policy = TorchModulePolicy(_assemble(named, state, source), obs_space, act_space, output, name=name or path.stem)
    _check_forward(policy)
    return policy
