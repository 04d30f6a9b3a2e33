"""Ray on the 10,000-episode smoothing certificate: 2 Ray workers vs 1, and Ray's start-up cost on its own.

The certificate is the one ``rlcert certify reward`` computes (10,000 Gaussian-smoothed CartPole-5 episodes,
the ell band, the certified curve). Ray is started once with two CPUs and its start-up (``ray.init`` plus a
first task) is timed separately, then the same certificate runs on 1 and on 2 Ray workers (one CPU per
chunk; the number of chunks in flight is what differs) and, for reference, on the local in-process executor.
Every run gives the same certified curve (checked). Prints wall times and ratios.

    python benchmarks/ray_certificate.py                 # about a minute on two cores
    python benchmarks/ray_certificate.py --episodes 2000
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from rich.console import Console
from rich.table import Table

from rlcert.analyses import RewardCertificateConfig, certify_reward
from rlcert.envs.options import RolloutOptions

warnings.filterwarnings("ignore", message=".*out of date.*")


def _certificate(episodes: int, **options):
    config = RewardCertificateConfig(episodes=episodes, budgets="0:1:0.2")
    start = time.perf_counter()
    result = certify_reward(
        "zoo:cartpole5-ppo-sigma0.2", config=config, rollout=RolloutOptions(progress=False, **options)
    )
    return time.perf_counter() - start, result.certificate.certified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10_000)
    args = parser.parse_args()
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.get(ray.remote(lambda: None).remote())
    startup = time.perf_counter() - start

    _certificate(500)  # loads the policy and fills caches (the ell level) before anything is timed
    local_time, local = _certificate(args.episodes)
    one_time, one = _certificate(args.episodes, executor="ray", workers=1)
    two_time, two = _certificate(args.episodes, executor="ray", workers=2)
    assert np.array_equal(local, one) and np.array_equal(local, two), "executors disagree"
    ray.shutdown()

    table = Table(title=f"smoothing certificate, {args.episodes:,} CartPole-5 episodes (same certified curve on all)")
    for column in ("run", "wall time (s)", "ratio"):
        table.add_column(column, justify="right")
    table.add_row("Ray start-up (ray.init + first task)", f"{startup:.2f}", "")
    table.add_row(
        "local, in-process (1 worker)", f"{local_time:.2f}", f"{one_time / local_time:.2f}× faster than Ray-1"
    )
    table.add_row("Ray, 1 worker", f"{one_time:.2f}", "1.00×")
    table.add_row("Ray, 2 workers", f"{two_time:.2f}", f"{one_time / two_time:.2f}× faster than Ray-1")
    Console().print(table)
    print(f"ratio Ray 2 workers vs 1: {one_time / two_time:.2f}x; Ray start-up: {startup:.2f} s")


if __name__ == "__main__":
    main()
