"""Rollout throughput: the batched engine vs a plain one-env-at-a-time gymnasium loop.

Both run the zoo DQN on CartPole-5 in this process. The baseline is how research scripts usually
evaluate a policy: one env, reset, and a torch forward pass on a batch of one at every step. The
engine runs chunks of episodes in lockstep with one batched policy call per step (and gymnasium's
numpy implementation of CartPole). Prints env-steps per second for both and their ratio.

    python benchmarks/rollout_throughput.py                       # 10,000 episodes each
    python benchmarks/rollout_throughput.py --baseline-episodes 1000 --workers 2
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from rich.console import Console
from rich.table import Table

from baselines import plain_loop
from rlcert.agents import load_policy
from rlcert.envs import make_executor, run

warnings.filterwarnings("ignore", message=".*out of date.*")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="zoo:cartpole5-dqn")
    parser.add_argument("--env", default="cartpole5")
    parser.add_argument("--episodes", type=int, default=10_000, help="episodes for the engine")
    parser.add_argument("--baseline-episodes", type=int, default=10_000, help="episodes for the plain loop")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    policy = load_policy(args.policy)
    engine_start = time.perf_counter()
    episodes = run(policy, args.env, args.episodes, seed=args.seed, executor=make_executor(args.workers))
    engine_time = time.perf_counter() - engine_start
    engine_rate = episodes.total_steps / engine_time

    base_returns, base_steps, base_time = plain_loop(policy, args.env, args.baseline_episodes, args.seed)
    base_rate = base_steps / base_time

    table = Table(title=f"rollout throughput · {args.policy} on {args.env} · torch threads {torch.get_num_threads()}")
    for column in ("runner", "episodes", "env steps", "wall s", "steps/s", "mean return"):
        table.add_column(column, justify="right")
    table.add_row(
        f"engine ({args.workers} worker{'s' if args.workers > 1 else ''})",
        str(len(episodes)),
        str(episodes.total_steps),
        f"{engine_time:.2f}",
        f"{engine_rate:,.0f}",
        f"{episodes.mean_return:.2f}",
    )
    table.add_row(
        "plain gymnasium loop",
        str(args.baseline_episodes),
        str(base_steps),
        f"{base_time:.2f}",
        f"{base_rate:,.0f}",
        f"{base_returns.mean():.2f}",
    )
    console = Console()
    console.print(table)
    console.print(f"[bold]speed-up (engine / plain loop, steps per second): {engine_rate / base_rate:.1f}x[/]")


if __name__ == "__main__":
    main()
