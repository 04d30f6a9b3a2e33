"""Lipschitz-constrained imitation (Al Makdah, Krishnan & Pasqualetti, IEEE OJ-CSYS 2022, §III; REFERENCE §5):
learn π from expert pairs (x_i, u_i) by min (1/N) Σ ℓ(π(x_i), u_i) subject to Lip(π) ≤ α, the constant that
bounds how far a state-measurement perturbation δ can move the action: ‖π(x + δ) − π(x)‖ ≤ α ‖δ‖.

This module holds the neural variant: an MLP whose every affine layer is kept within the operator norm
r = α^(1/L) (L affine layers; ReLU is 1-Lipschitz), so Lip(π) ≤ ∏ ‖W_l‖ ≤ α. Two ways to keep it there:

* ``projection``: after every optimizer step each W_l is mapped back onto its norm ball, exactly: in ℓ2 its
  singular values are clipped to r (the Euclidean projection onto the spectral-norm ball); in ℓ∞ every row whose
  ℓ1 norm exceeds r is rescaled to r (the induced ∞-norm is the largest row ℓ1 norm).
* ``spectral-norm`` (ℓ2 only): torch's ``parametrizations.spectral_norm`` (W = r · V / σ̂(V), σ̂ by power
  iteration). σ̂ underestimates σ, so the trained layers can exceed r (measured: 4.03 for α = 4); the export
  divides each layer by max(1, σ(W)/r) with the exact σ.
* ``orthogonal`` (ℓ2 only): torch's ``parametrizations.orthogonal`` (W = r · Q, Q with orthonormal rows or
  columns, every singular value r), Lipschitz by construction (Anil, Lucas & Grosse 2019 use such layers for
  certified networks); exported with the same exact rescale. It spends the whole budget in every direction where
  projection lets singular values shrink: on CartPole at α = 4 it played 216 against projection's 64 (measured
  beside orthogonium 0.0.4's ``OrthoLinear``, 238, which needs a package for the same parametrization).

Either way the policy is exported as a plain ``nn.Sequential`` of Linear and ReLU layers (so CROWN and the
smoothing certificate apply to it), and its constant is certified by ``rlcert.certify.lipschitz`` from the
exported weights (``sound``), not taken from the training loop. Discrete actions are fitted with cross-entropy
on the logits (the constant then bounds the logits; a margin m certifies radius m / (√2 α) in ℓ2); continuous
actions with the squared error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlcert.agents.policies import TorchModulePolicy
from rlcert.certify.bounds import check_norm
from rlcert.certify.lipschitz import lipschitz_upper_bound
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite
from rlcert.training.demonstrations import Demonstrations

__all__ = ["LipschitzImitationConfig", "LipschitzImitation", "train_lipschitz_policy", "project_layer"]

METHODS = ("projection", "spectral-norm", "orthogonal")
# Methods that scale a normalized parametrization by r in the forward pass and rescale exactly at export.
_PARAMETRIZED = ("spectral-norm", "orthogonal")


@dataclass(frozen=True)
class LipschitzImitationConfig:
    """Settings of one Lipschitz-constrained imitation run."""

    alpha: float
    """The bound Lip(π) ≤ α, in the induced ``norm`` (states to logits or actions)."""
    norm: str = "2"
    """'2' or 'inf': the norm of state perturbations and of action changes."""
    method: str = "projection"
    """'projection' (exact, after every step), 'spectral-norm' or 'orthogonal' (torch's parametrizations, ℓ2
    only)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the MLP (ReLU)."""
    epochs: int = 30
    batch_size: int = 256
    learning_rate: float = 3e-3
    seed: int = 0
    """Seed of the initial weights and of the minibatch order."""

    def __post_init__(self) -> None:
        check_finite("alpha", self.alpha, 0, strict=True)
        check_norm(self.norm)
        if self.method not in METHODS:
            raise InvalidValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.method in _PARAMETRIZED and self.norm != "2":
            raise InvalidValueError(f"method {self.method!r} bounds the l2 operator norm only; use norm '2'")
        for name in ("epochs", "batch_size"):
            check_count(name, getattr(self, name))
        if not self.hidden or any(width < 1 for width in self.hidden):
            raise InvalidValueError(f"hidden must be one or more positive widths, got {self.hidden}")
        check_finite("learning_rate", self.learning_rate, 0, strict=True)


@dataclass(frozen=True)
class LipschitzImitation:
    """A trained Lipschitz-constrained policy, its certified constant and how well it fits the expert."""

    policy: TorchModulePolicy
    config: LipschitzImitationConfig
    certified_constant: float
    """Product of the exported layers' exact operator norms (sound), ≤ α up to float rounding."""
    training_error: float
    """Discrete: the share of demonstration states where the greedy action differs from the expert's.
    Continuous: the largest ‖π(x_i) − u_i‖ in ``norm`` over the demonstrations."""
    pairs: int
    expert: str
    train_seconds: float

    def save(self, out_dir: str | Path, env: str, command: str, evaluation: Any, name: str, seed: int) -> Path:
        """Write ``weights.pt`` and a zoo-style ``meta.json`` (architecture, the training settings, the certified
        constant and ``evaluation``, an ``Episodes`` of the policy in ``env``) to ``out_dir``; ``seed`` is the run's
        seed (the weights' seed is its child). The folder loads as ``--policy OUT_DIR/weights.pt`` (or
        ``zoo:NAME`` once in the zoo)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.policy.save(out / "weights.pt", out / "architecture.json")
        (out / "architecture.json").unlink()  # meta.json carries it, as in the zoo
        config = self.config
        meta = {
            "name": name,
            "description": f"Lipschitz-constrained imitation of {self.expert} (alpha {config.alpha:g}, "
            f"l{config.norm}, {config.method})",
            "env": env,
            "algorithm": "Lipschitz imitation",
            "architecture": self.policy.architecture(),
            "training": {
                "command": command,
                "seed": seed,
                "weights_seed": config.seed,
                "timesteps": self.pairs,
                "expert": self.expert,
                "pairs": self.pairs,
                "noise_sigma": 0.0,
                "hyperparameters": {"alpha": config.alpha, "norm": config.norm, "method": config.method,
                                    "hidden": list(config.hidden), "epochs": config.epochs,
                                    "batch_size": config.batch_size, "learning_rate": config.learning_rate},
                "wall_time_s": round(self.train_seconds, 2),
            },
            "lipschitz": {"certified_constant": self.certified_constant, "norm": config.norm, "evidence": "sound",
                          "training_error": self.training_error,
                          "method": "product of the exported layers' exact operator norms (rlcert.certify.lipschitz)"},
            "evaluation": {"episodes": len(evaluation), "seed": evaluation.seed,
                           "mean_return": evaluation.mean_return, "stderr_return": evaluation.stderr_return,
                           "evidence": "empirical"},
            "min_score": None,
            "value_range": None,
        }  # fmt: skip
        (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        return out

    def findings(self) -> tuple[Finding, ...]:
        params = {"alpha": self.config.alpha, "norm": self.config.norm, "method": self.config.method,
                  "expert": self.expert, "pairs": self.pairs}  # fmt: skip
        return (
            Finding("certified_lipschitz_constant", self.certified_constant, "sound", params=params,
                    method="product of the exported layers' exact operator norms (rlcert.certify.lipschitz)"),
            Finding("training_error", self.training_error, "empirical", params=params,
                    method="on the demonstrations the policy was fitted to"),
        )  # fmt: skip


def project_layer(layer: nn.Linear, radius: float, norm: str) -> None:
    """Map ``layer.weight`` onto {W : ‖W‖ ≤ radius} in the induced ``norm`` (in place; see the module docstring)."""
    with torch.no_grad():
        weight = layer.weight
        if norm == "2":
            u, s, vh = torch.linalg.svd(weight, full_matrices=False)
            weight.copy_(u @ torch.diag(s.clamp(max=radius)) @ vh)
        else:
            rows = weight.abs().sum(dim=1, keepdim=True)
            weight.mul_(torch.clamp(radius / rows.clamp(min=1e-30), max=1.0))


def _mlp(inputs: int, hidden: tuple[int, ...], outputs: int) -> nn.Sequential:
    widths = (inputs, *hidden, outputs)
    layers: list[nn.Module] = []
    for index in range(len(widths) - 1):
        layers.append(nn.Linear(widths[index], widths[index + 1]))
        if index < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def train_lipschitz_policy(
    demonstrations: Demonstrations, config: LipschitzImitationConfig, observation_space: gym.Space,
    action_space: gym.Space,
) -> LipschitzImitation:  # fmt: skip
    """Fit a Lipschitz-bounded MLP to ``demonstrations`` (module docstring) and certify the exported policy.

    The spaces are the expert's (its env's stacked observation space and action space)."""
    discrete = isinstance(action_space, gym.spaces.Discrete)
    if discrete != demonstrations.discrete:
        raise InvalidValueError(
            f"the demonstrations hold {'discrete' if demonstrations.discrete else 'continuous'} actions but the "
            f"action space is {action_space}"
        )
    states = torch.as_tensor(demonstrations.states.reshape(len(demonstrations), -1), dtype=torch.float32)
    actions = torch.as_tensor(demonstrations.actions)
    outputs = int(action_space.n) if discrete else int(np.prod(action_space.shape))
    if not discrete:
        actions = actions.reshape(len(actions), -1).float()
    seeds = np.random.SeedSequence(config.seed).spawn(2)  # initial weights, minibatch order
    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's torch stream
        torch.manual_seed(int(seeds[0].generate_state(1)[0]))
        network = _mlp(states.shape[1], config.hidden, outputs)
        linears = [layer for layer in network if isinstance(layer, nn.Linear)]
        if config.method == "spectral-norm":  # its power iteration starts from a random vector
            for layer in linears:
                nn.utils.parametrizations.spectral_norm(layer)
        elif config.method == "orthogonal":
            for layer in linears:
                nn.utils.parametrizations.orthogonal(layer)
    radius = config.alpha ** (1 / len(linears))

    def forward(x: torch.Tensor) -> torch.Tensor:
        if config.method == "projection":
            return network(x)
        for layer in network:  # each normalized layer scaled to the radius
            x = layer(x) * radius if isinstance(layer, nn.Linear) else layer(x)
        return x

    if config.method == "projection":
        for layer in linears:
            project_layer(layer, radius, config.norm)
    loss_of = nn.functional.cross_entropy if discrete else nn.functional.mse_loss
    optimizer = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    order = torch.Generator().manual_seed(int(seeds[1].generate_state(1)[0]))
    started = time.perf_counter()
    for _ in range(config.epochs):
        permutation = torch.randperm(len(states), generator=order)
        for start in range(0, len(states), config.batch_size):
            batch = permutation[start : start + config.batch_size]
            loss = loss_of(forward(states[batch]), actions[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if config.method == "projection":
                for layer in linears:
                    project_layer(layer, radius, config.norm)
    train_seconds = time.perf_counter() - started
    network.eval()  # a spectral_norm layer read in eval mode keeps its power-iteration vectors
    exported = _export(network, config, radius)
    output = "logits" if discrete else "action_mean"
    policy = TorchModulePolicy(
        exported, observation_space, action_space, output, name=f"lipschitz-alpha{config.alpha:g}"
    )
    with torch.no_grad():
        predicted = exported(states)
    if discrete:
        error = float((predicted.argmax(1) != actions).float().mean())
    else:
        error = float(torch.linalg.vector_norm(predicted - actions, ord=2 if config.norm == "2" else float("inf"),
                                               dim=1).max())  # fmt: skip
    return LipschitzImitation(policy, config, lipschitz_upper_bound(exported, config.norm), error,
                              len(demonstrations), demonstrations.expert, train_seconds)  # fmt: skip


def _export(network: nn.Sequential, config: LipschitzImitationConfig, radius: float) -> nn.Sequential:
    """A plain ``nn.Sequential`` (Flatten, then Linear and ReLU) computing the trained policy, with every Linear
    exactly within ``radius``."""
    layers: list[nn.Module] = [nn.Flatten()]
    for layer in network:
        if not isinstance(layer, nn.Linear):
            layers.append(nn.ReLU())
            continue
        plain = nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            weight, bias = layer.weight.detach().clone(), layer.bias.detach().clone()
            if config.method in _PARAMETRIZED:
                weight, bias = weight * radius, bias * radius
                # the power iteration's σ̂ can fall short of σ: rescale by the exact norm
                weight /= max(1.0, float(torch.linalg.matrix_norm(weight.double(), ord=2)) / radius)
            plain.weight.copy_(weight)
            plain.bias.copy_(bias)
        layers.append(plain)
    return nn.Sequential(*layers).eval()
