"""Lipschitz-constrained imitation of CartPole from 10k demonstrations: what the bound costs in training time.

In one process, on the same demonstrations (``--pairs`` greedy pairs of zoo:cartpole-ppo), the same MLP (4-64-64-2,
ReLU), the same epochs and minibatches:

1. the baseline: plain imitation, Adam on the cross-entropy with no constraint (what a research script runs);
2. ``projection``: the same with every layer projected onto its spectral-norm ball after each step (an SVD per
   layer per step) — the issue's budget is "under a few minutes on CPU";
3. ``spectral-norm``: torch's parametrization (power iteration per step) with the exact rescale at export;

each with its wall time, its ratio to the baseline, the certified constant and the clean return of 20 episodes.

    python benchmarks/lipschitz_imitation.py               # alpha 64, 30 epochs
    python benchmarks/lipschitz_imitation.py --alpha 8 --threads 2
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from rlcert.agents import load_policy
from rlcert.certify.lipschitz import lipschitz_upper_bound
from rlcert.envs.rollout import run
from rlcert.training.demonstrations import collect_demonstrations
from rlcert.training.lipschitz_imitation import LipschitzImitationConfig, train_lipschitz_policy


def plain_imitation(states: torch.Tensor, actions: torch.Tensor, epochs: int, batch: int, seed: int) -> nn.Module:
    """The unconstrained baseline: the same network and minibatches, no projection."""
    torch.manual_seed(seed)
    network = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        permutation = torch.randperm(len(states), generator=order)
        for start in range(0, len(states), batch):
            rows = permutation[start : start + batch]
            loss = nn.functional.cross_entropy(network(states[rows]), actions[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return network.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--alpha", type=float, default=64.0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}")
    expert = load_policy("zoo:cartpole-ppo")
    start = time.perf_counter()
    demos = collect_demonstrations(expert, "CartPole-v1", 50, seed=0, expert="zoo:cartpole-ppo", max_pairs=args.pairs)
    print(f"{len(demos)} demonstration pairs collected in {time.perf_counter() - start:.1f} s")
    states = torch.as_tensor(demos.states)
    actions = torch.as_tensor(demos.actions)

    start = time.perf_counter()
    plain = plain_imitation(states, actions, args.epochs, 256, 0)
    baseline = time.perf_counter() - start
    print(f"baseline (no constraint): {baseline:.2f} s, certified constant "
          f"{lipschitz_upper_bound(plain, '2'):.4g} (sound, l2)")  # fmt: skip
    for method in ("projection", "spectral-norm"):
        config = LipschitzImitationConfig(args.alpha, "2", method, epochs=args.epochs)
        start = time.perf_counter()
        trained = train_lipschitz_policy(demos, config, expert.observation_space, expert.action_space)
        seconds = time.perf_counter() - start
        played = run(trained.policy, "CartPole-v1", 20, seed=0)
        print(f"{method}: {seconds:.2f} s ({seconds / baseline:.2f}x the baseline), certified constant "
              f"{trained.certified_constant:.4g} <= alpha {args.alpha:g}, training error {trained.training_error:.3f}, "
              f"return {played.mean_return:.1f} over 20 episodes")  # fmt: skip


if __name__ == "__main__":
    main()
