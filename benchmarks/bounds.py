"""Bound propagation: time per state and mean margin lower bound for IBP, CROWN and α-CROWN.

Two networks: a 2x256 ReLU MLP on CartPole-5 observations (the zoo DQN, so the margins are real) and
the Nature-CNN (84x84x4 -> 32-64-64 conv -> 512 -> 6) on random pixels in [0, 1] (random weights until
the Atari zoo lands). Prints, per method, seconds per state, the mean margin lower bound, and the
ratios against IBP (tightness: how much less negative; time: how much slower). On the CNN, CROWN also
runs with its convolutional intermediate bounds as dense backward passes (the baseline the patch mode
replaces): the same bounds, and the time ratio between the two. A second table compares the global
Lipschitz product with the local (Fast-Lip over CROWN) bound, both sound.

    python benchmarks/bounds.py --mlp-states 200 --cnn-states 2 --eps 0.01
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pytest
import torch
from rich.console import Console
from rich.table import Table
from torch import nn

import rlcert.certify.bounds as bounds
from rlcert.agents import load_policy
from rlcert.certify.bounds import margin_bounds
from rlcert.certify.lipschitz import lipschitz_upper_bound, local_lipschitz_bound
from rlcert.envs import run
from rlcert.envs.rollout import stack_frames

warnings.filterwarnings("ignore", message=".*out of date.*")


def nature_cnn(actions: int = 6) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(4, 32, 8, 4),
        nn.ReLU(),
        nn.Conv2d(32, 64, 4, 2),
        nn.ReLU(),
        nn.Conv2d(64, 64, 3, 1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3136, 512),
        nn.ReLU(),
        nn.Linear(512, actions),
    )


def measure(module, states, eps, methods, alpha_steps, **box):
    rows = {}
    for method in methods:
        start = time.perf_counter()
        margins, _ = margin_bounds(module, states, eps, "inf", method, alpha_steps=alpha_steps, **box)
        rows[method] = ((time.perf_counter() - start) / len(states), float(margins.min(dim=1).values.mean()))
    return rows


def measure_dense_crown(module, states, eps, **box):
    """CROWN with every intermediate bound from a dense backward pass (patch mode switched off)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bounds, "patches_apply", lambda *args: False)
        return measure(module, states, eps, ("crown",), 0, **box)["crown"]


def lipschitz_rows(module, states, eps, **box):
    rows = []
    for norm in ("2", "inf"):
        start = time.perf_counter()
        local = local_lipschitz_bound(module, states, eps, norm, "crown", **box)
        seconds = (time.perf_counter() - start) / len(states)
        rows.append((norm, lipschitz_upper_bound(module, norm), float(local.mean()), float(local.max()), seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-states", type=int, default=200)
    parser.add_argument("--cnn-states", type=int, default=2)
    parser.add_argument("--eps", type=float, default=0.01, help="l-inf radius for the MLP")
    parser.add_argument("--cnn-eps", type=float, default=1 / 255, help="l-inf radius for the CNN (pixels)")
    parser.add_argument("--alpha-steps", type=int, default=20)
    parser.add_argument("--skip-cnn-alpha", action="store_true", help="α-CROWN on the CNN takes minutes per state")
    args = parser.parse_args()

    policy = load_policy("zoo:cartpole5-dqn")
    records = run(policy, "cartpole5", max(1, args.mlp_states // 200 + 1), seed=0, record_steps=True).records
    mlp_states = torch.as_tensor(np.concatenate([stack_frames(r.frames, 5) for r in records])[: args.mlp_states])
    results = {
        "2x256 MLP (zoo cartpole5-dqn)": measure(
            policy.module, mlp_states, args.eps, ("ibp", "crown", "alpha-crown"), args.alpha_steps
        )
    }
    cnn_methods = ("ibp", "crown") if args.skip_cnn_alpha else ("ibp", "crown", "alpha-crown")
    cnn_states = torch.rand(args.cnn_states, 4, 84, 84)
    cnn = nature_cnn()
    results["Nature-CNN (random weights)"] = measure(
        cnn, cnn_states, args.cnn_eps, cnn_methods, args.alpha_steps, low=0.0, high=1.0
    )
    results["Nature-CNN (random weights)"]["crown, dense baseline"] = measure_dense_crown(
        cnn, cnn_states, args.cnn_eps, low=0.0, high=1.0
    )
    lipschitz = {
        f"2x256 MLP, eps={args.eps:g}": lipschitz_rows(policy.module, mlp_states, args.eps),
        f"Nature-CNN, eps={args.cnn_eps:.4g}": lipschitz_rows(cnn, cnn_states, args.cnn_eps, low=0.0, high=1.0),
    }
    table = Table(title="bound propagation · mean of the smallest margin lower bound per state")
    for column in ("network", "method", "s / state", "mean margin bound", "vs IBP: tightness gain", "vs IBP: time"):
        table.add_column(column, justify="right")
    for network, rows in results.items():
        ibp_time, ibp_margin = rows["ibp"]
        for method, (seconds, margin) in rows.items():
            gain = f"{margin - ibp_margin:+.4g}"
            table.add_row(network, method, f"{seconds:.4f}", f"{margin:.4g}", gain, f"{seconds / ibp_time:.1f}x")
    console = Console(width=140)
    console.print(table)
    patch_time, dense_time = (
        results["Nature-CNN (random weights)"]["crown"][0],
        results["Nature-CNN (random weights)"]["crown, dense baseline"][0],
    )
    console.print(
        f"Nature-CNN CROWN: patch mode {patch_time:.2f} s/state vs dense {dense_time:.2f} s/state "
        f"-> {dense_time / patch_time:.1f}x faster"
    )
    table = Table(title="sound Lipschitz bounds (p -> p induced norm): global product vs local over the eps-ball")
    for column in ("network", "norm", "global", "local mean", "local max", "global / local mean", "s / state"):
        table.add_column(column, justify="right")
    for network, rows in lipschitz.items():
        for norm, global_bound, local_mean, local_max, seconds in rows:
            table.add_row(
                network,
                norm,
                f"{global_bound:.4g}",
                f"{local_mean:.4g}",
                f"{local_max:.4g}",
                f"{global_bound / local_mean:.3g}x",
                f"{seconds:.4f}",
            )
    console.print(table)


if __name__ == "__main__":
    main()
