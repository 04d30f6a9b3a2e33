"""Speed on a shared machine: Pong evaluation and the CartPole smoothing certificate, with and without one
competing CPU-bound process, before and after rlcert chose its torch threads (issue 19, item 16).

"Before" is torch's default intra-op pool (one thread per core); "after" is what the rollout engine now
uses (``rlcert.envs.threads.rollout_threads``: one thread per worker). The competing process is a pure-Python busy
loop, the cheapest stand-in for "training another agent on the same machine". Each cell is the best of
``--repeats`` runs in this process; the table prints the slowdown the competitor causes and the speed-up of
the thread choice, as ratios.

    python benchmarks/shared_cores.py                  # about 3 minutes on two cores
    python benchmarks/shared_cores.py --pong-steps 200 --cartpole-episodes 250 --repeats 1   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
import warnings

import torch
from rich.console import Console
from rich.table import Table

from rlcert.agents import load_policy
from rlcert.attacks import GaussianSmoothing
from rlcert.certify import reward_certificate
from rlcert.envs import run
from rlcert.envs.threads import rollout_threads

warnings.filterwarnings("ignore", message=".*out of date.*")


@contextlib.contextmanager
def competing_process(enabled: bool):
    """One CPU-bound process beside the benchmark for the duration of the block."""
    if not enabled:
        yield
        return
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it reach full speed
        yield
    finally:
        busy.kill()
        busy.wait()


@contextlib.contextmanager
def engine_threads(threads: int):
    """Run the engine's chunks with ``threads`` torch threads (what RLCERT_TORCH_THREADS selects)."""
    previous = os.environ.get("RLCERT_TORCH_THREADS")
    os.environ["RLCERT_TORCH_THREADS"] = str(threads)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["RLCERT_TORCH_THREADS"]
        else:
            os.environ["RLCERT_TORCH_THREADS"] = previous


def pong_evaluation(steps: int) -> float:
    """Agent steps per second of zoo:pong-ppo over 2 games cut at ``steps`` agent steps."""
    policy = load_policy("zoo:pong-ppo")
    episodes = run(policy, f"pong?max_steps={steps}", 2, seed=0)
    return episodes.total_steps / episodes.wall_time_s


def cartpole_certificate(episodes: int) -> float:
    """Seconds for the smoothing certificate of zoo:cartpole5-ppo-sigma0.2 from ``episodes`` episodes."""
    policy = load_policy("zoo:cartpole5-ppo-sigma0.2")
    start = time.perf_counter()
    clean = run(policy, "cartpole5", episodes, defense=GaussianSmoothing(0.2), seed=0)
    reward_certificate(clean.returns, 0.2, [0.0, 0.2, 0.4], 0.05, "dkw", 0.0, 200.0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pong-steps", type=int, default=500, help="agent steps per Pong game (2 games)")
    parser.add_argument("--cartpole-episodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    before, after = torch.get_num_threads(), rollout_threads()
    jobs = {
        "Pong evaluation, steps/s": (lambda: pong_evaluation(args.pong_steps), max),
        "CartPole certificate, s": (lambda: cartpole_certificate(args.cartpole_episodes), min),
    }
    for job, _ in jobs.values():
        job()  # warm-up: imports, zoo loading, first-call allocations
    results: dict[tuple[str, int, bool], float] = {}
    for name, (job, best) in jobs.items():
        for threads in (before, after):
            for busy in (False, True):
                with competing_process(busy), engine_threads(threads):
                    results[name, threads, busy] = best(job() for _ in range(args.repeats))

    table = Table(title=f"shared cores · {os.cpu_count()} cores · torch default {before} threads, rlcert {after}")
    for column in ("job", "threads", "idle", "1 competing process", "competitor's cost"):
        table.add_column(column, justify="right")
    for name, (_, best) in jobs.items():
        for threads in (before, after):
            idle, busy = results[name, threads, False], results[name, threads, True]
            slowdown = idle / busy if best is max else busy / idle
            label = f"{threads} ({'before' if threads == before else 'after'})"
            table.add_row(name, label, f"{idle:.3g}", f"{busy:.3g}", f"{slowdown:.2f}× slower")
    console = Console()
    console.print(table)
    for name, (_, best) in jobs.items():
        for busy in (False, True):
            old, new = results[name, before, busy], results[name, after, busy]
            speedup = new / old if best is max else old / new
            setting = "one competing process" if busy else "idle"
            console.print(f"{name}, {setting}: after/before speed ratio {speedup:.2f}")


if __name__ == "__main__":
    main()
