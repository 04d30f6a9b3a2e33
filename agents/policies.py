"""``TorchModulePolicy``: the adapter every loaded policy becomes (zoo, SB3, state_dict + JSON)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.agents.architecture import (
    FORMAT,
    OUTPUT_KINDS,
    PolicyLoadError,
    build_module,
    check_architecture,
    describe_module,
    load_state_dict_file,
    load_weights_into,
    space_from_json,
    space_to_json,
)
from rlcert.reports.errors import InvalidValueError

__all__ = ["TorchModulePolicy"]


class TorchModulePolicy:
    """A deterministic policy computed by an ``nn.Module`` (implements ``attacks.TorchPolicy``).

    ``output`` says what the module's outputs are: ``q_values`` or ``logits`` (the action is the
    argmax), ``action_mean`` (a Box action, clipped to the action space as SB3 does at test time) or
    ``squashed_action`` (already in [-1, 1], rescaled to the action bounds, as SAC/TD3 actors).

    The policy computes with its own copy of ``module``, taken when it is built, in eval mode with its
    parameters frozen: the deployed network that certificates and bounds reason about (dropout off,
    batch norm on its running statistics, no parameter gradients when an attack differentiates
    ``scores``). The caller's module is never changed (a user who wraps the module they train gets it
    back with its modes, flags and statistics as they were), and later training of it does not reach the
    policy: wrap it again. A copy rather than SB3's per-call ``set_training_mode``: switching the modes of
    a 2x256 MLP and back cost about 60 µs per call against a 0.7 ms forward pass at batch 250 (one CPU
    thread), and a module that stays in eval mode is also what ``policy.module`` readers (bound
    propagation refuses a training-mode batch norm) need.

    Example:
        >>> from torch import nn
        >>> import gymnasium as gym
        >>> net = nn.Sequential(nn.Linear(4, 2))
        >>> policy = TorchModulePolicy(net, gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2))
        >>> policy.act(np.zeros((3, 4), dtype=np.float32)).shape
        (3,)
    """

    def __init__(
        self,
        module: nn.Module,
        observation_space: gym.Space,
        action_space: gym.Space,
        output: str = "q_values",
        name: str | None = None,
    ):
        if output not in OUTPUT_KINDS:
            raise InvalidValueError(f"output must be one of {', '.join(OUTPUT_KINDS)}, got {output!r}")
        discrete = isinstance(action_space, gym.spaces.Discrete)
        if discrete != (output in ("q_values", "logits")):
            raise InvalidValueError(f"output {output!r} does not fit the action space {action_space}")
        self.module = copy.deepcopy(module).eval().requires_grad_(False)
        self.observation_space = observation_space
        self.action_space = action_space
        self.output = output
        self.name = name

    def __repr__(self) -> str:
        return f"TorchModulePolicy(name={self.name!r}, output={self.output!r}, obs={self.observation_space.shape})"

    def scores(self, obs: torch.Tensor) -> torch.Tensor:
        return self.module(obs)

    def _forward(self, obs: np.ndarray) -> torch.Tensor:
        """The module's outputs on a checked batch of observations."""
        obs = np.asarray(obs, dtype=np.float32)
        shape = self.observation_space.shape
        if obs.shape[1:] != shape:
            raise InvalidValueError(
                f"{self.name or 'policy'} expects a batch of observations of shape "
                f"(batch, {', '.join(map(str, shape))}), got {obs.shape}"
            )
        if not np.isfinite(obs).all():
            bad = np.flatnonzero(~np.isfinite(obs.reshape(len(obs), -1)).all(axis=1))
            raise InvalidValueError(f"observations contain NaN or inf (batch rows {bad[:5].tolist()}); check the env")
        with torch.no_grad():
            return self.module(torch.from_numpy(obs))

    def act(self, obs: np.ndarray) -> np.ndarray:
        out = self._forward(obs)
        if self.output in ("q_values", "logits"):
            return out.argmax(dim=1).numpy()
        actions = out.numpy().reshape((len(obs), *self.action_space.shape))
        low, high = self.action_space.low, self.action_space.high
        if self.output == "squashed_action":
            actions = low + (np.clip(actions, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
        return np.clip(actions, low, high).astype(np.float32)

    @property
    def samples_actions(self) -> bool:
        """Whether :meth:`sample` can draw actions: the outputs are logits of a categorical distribution."""
        return self.output == "logits"

    def sample(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Actions drawn from the policy's own distribution, softmax(logits), one uniform from ``rng`` per row.

        This is how a PPO or A2C agent acts while it trains, and how rl-baselines3-zoo evaluates Atari
        agents; :meth:`act` is the greedy (argmax) action that certificates reason about.
        """
        if not self.samples_actions:
            raise InvalidValueError(
                f"{self.name or 'policy'} outputs {self.output}, not logits: it has no action distribution to sample "
                "(sampled actions need a PPO or A2C policy with a Discrete action space)"
            )
        # An inverse-CDF draw takes exactly one uniform per row, so the generator's stream (and every later
        # draw from it) never depends on the probabilities.
        probabilities = torch.softmax(self._forward(obs).double(), dim=1).numpy()
        cumulative = np.cumsum(probabilities, axis=1)
        uniforms = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
        return np.minimum((cumulative <= uniforms).sum(axis=1), probabilities.shape[1] - 1)

    @property
    def fingerprint(self) -> str:
        """A hash of the weights and architecture, so checkpoints know which policy made them."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.architecture(), sort_keys=True).encode())
        for key, tensor in sorted(self.module.state_dict().items()):
            digest.update(key.encode())
            digest.update(tensor.detach().cpu().numpy().tobytes())
        return digest.hexdigest()[:16]

    # -- saving and loading -------------------------------------------------------------------------------

    def architecture(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "layers": describe_module(self.module),
            "output": self.output,
            "observation_shape": list(self.observation_space.shape),
            "observation_space": space_to_json(self.observation_space),
            "action_space": space_to_json(self.action_space),
        }

    def save(self, weights_path: str | Path, architecture_path: str | Path, half: bool = False) -> None:
        """Write the weights (optionally fp16, to keep big zoo files small) and the architecture JSON."""
        state = {k: (v.half() if half else v).contiguous() for k, v in self.module.state_dict().items()}
        torch.save(state, weights_path)
        Path(architecture_path).write_text(json.dumps(self.architecture(), indent=2) + "\n")

    @classmethod
    def from_architecture(
        cls, architecture: dict[str, Any], weights: str | Path, name: str | None = None
    ) -> TorchModulePolicy:
        arch = check_architecture(architecture)
        module = build_module(arch["layers"])
        load_weights_into(module, load_state_dict_file(weights), source=f"weights file {str(weights)!r}")
        obs_shape = tuple(int(s) for s in arch["observation_shape"])
        if "observation_space" in arch:
            obs_space = space_from_json(arch["observation_space"])
        else:
            obs_space = gym.spaces.Box(-np.inf, np.inf, obs_shape, dtype=np.float32)
        if obs_space.shape != obs_shape:
            raise PolicyLoadError(f"observation_shape {obs_shape} disagrees with observation_space {obs_space}")
        policy = cls(module, obs_space, space_from_json(arch["action_space"]), arch["output"], name=name)
        _check_forward(policy)
        return policy


def _check_forward(policy: TorchModulePolicy) -> None:
    """Run one forward pass so layer-size mismatches surface at load time, not mid-rollout."""
    probe = torch.zeros((1, *policy.observation_space.shape))
    try:
        out = policy.scores(probe)
    except RuntimeError as exc:
        raise PolicyLoadError(
            f"the network cannot process observations of shape {policy.observation_space.shape}: "
            f"{str(exc).splitlines()[0]}"
        ) from None
    space = policy.action_space
    expected = int(space.n) if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))
    if out.shape != (1, expected):
        raise PolicyLoadError(
            f"the network outputs {tuple(out.shape[1:])} values per state, the action space needs {expected}"
        )
