"""Wall time of a full smoothing certificate: the engine vs one episode at a time.

A full certificate is 10,000 Gaussian-smoothed CartPole-5 episodes plus the confidence band and the
certified curve. The engine runs the episodes in lockstep chunks with one batched policy call per
step; the baseline runs them one after another with the noise in a gymnasium wrapper and a policy
call per step, then computes the same certificate. Prints both wall times and their ratio.

    python benchmarks/smoothing_certificate.py
    python benchmarks/smoothing_certificate.py --baseline-episodes 2000   # baseline time extrapolated
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings

from rich.console import Console
from rich.table import Table

from baselines import plain_loop
from rlcert.agents import load_policy
from rlcert.attacks import GaussianSmoothing
from rlcert.certify import reward_certificate
from rlcert.certify.confidence import ell_local_level
from rlcert.envs import make_executor, run
from rlcert.envs.wrappers import GaussianFrameNoise

warnings.filterwarnings("ignore", message=".*out of date.*")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="zoo:cartpole5-ppo-sigma0.2")
    parser.add_argument("--env", default="cartpole5")
    parser.add_argument("--sigma", type=float, default=0.2)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument(
        "--baseline-episodes",
        type=int,
        default=10_000,
        help="episodes the baseline actually runs; its time is scaled to --episodes",
    )
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    budgets = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    policy = load_policy(args.policy)
    ell_local_level(args.episodes, 0.05)  # the band's one-off calibration is cached; time the certificate itself

    start = time.perf_counter()
    episodes = run(
        policy,
        args.env,
        args.episodes,
        defense=GaussianSmoothing(args.sigma),
        seed=0,
        executor=make_executor(args.workers),
    )
    engine_cert = reward_certificate(episodes.returns, args.sigma, budgets, low=0, high=200)
    engine_time = time.perf_counter() - start

    start = time.perf_counter()
    noise = functools.partial(GaussianFrameNoise, sigma=args.sigma)
    returns, steps, _ = plain_loop(policy, args.env, args.baseline_episodes, seed=0, wrap_raw=noise)
    base_cert = reward_certificate(returns, args.sigma, budgets, low=0, high=200)
    base_time = (time.perf_counter() - start) * args.episodes / args.baseline_episodes

    table = Table(title=f"full smoothing certificate · {args.policy} · σ={args.sigma} · {args.episodes} episodes")
    for column in ("runner", "wall s", "certified @ B=0 / 0.4 / 1.0", "clean mean"):
        table.add_column(column, justify="right")
    table.add_row(
        f"engine ({args.workers} worker{'s' if args.workers > 1 else ''})",
        f"{engine_time:.1f}",
        " / ".join(f"{engine_cert.at(b):.1f}" for b in (0.0, 0.4, 1.0)),
        f"{engine_cert.clean_mean:.2f}",
    )
    scaled = " (scaled)" if args.baseline_episodes != args.episodes else ""
    table.add_row(
        f"one episode at a time{scaled}",
        f"{base_time:.1f}",
        " / ".join(f"{base_cert.at(b):.1f}" for b in (0.0, 0.4, 1.0)),
        f"{base_cert.clean_mean:.2f}",
    )
    console = Console()
    console.print(table)
    console.print(f"[bold]speed-up (baseline wall time / engine wall time): {base_time / engine_time:.1f}x[/]")


if __name__ == "__main__":
    main()
