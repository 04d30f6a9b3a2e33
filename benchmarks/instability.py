"""The instability analysis of 10 Pong episodes on this machine's cores, and the two choices that make it fit.

1. A full ``rlcert instability`` analysis of ``--episodes`` (10) clean Pong episodes with every shift (a second
   clean set, PGD, C&W, blur, the STORI profiles): its wall time, and its stages' share.
2. The per-state unstable-direction search batched (``--batch`` states a forward pass) against one state at a
   time, on ``--states`` Pong states, in the same process: states per second and the ratio.
3. G_S by ARPACK (only products with V and Vᵀ) against a full SVD of V (what a script would write without the
   d x d matrix, which at d = 28,224 would take 6.4 GB), on the same directions: seconds and the ratio, and the
   two directions' agreement.

    python benchmarks/instability.py                 # 10 episodes, every shift (minutes on 2 cores)
    python benchmarks/instability.py --episodes 2 --skip-full
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from rlcert.agents import load_policy
from rlcert.analyses.instability import InstabilityConfig, analyze_instability
from rlcert.diagnostics.instability import principal_directions, unstable_directions
from rlcert.envs.options import RolloutOptions
from rlcert.envs.rollout import run, stack_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="zoo:pong-ppo")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--states", type=int, default=256, help="states of the batched-vs-single comparison")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--skip-full", action="store_true", help="only the two comparisons")
    args = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")

    if not args.skip_full:
        start = time.perf_counter()
        result = analyze_instability(args.policy, config=InstabilityConfig(episodes=args.episodes),
                                     rollout=RolloutOptions(progress=False))  # fmt: skip
        total = time.perf_counter() - start
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"full analysis, {args.episodes} episodes, {len(result.shifted)} shifted sets: {total:.0f} s "
              f"({total / 60:.1f} min), peak memory {peak:.1f} GB")  # fmt: skip
        for finding in result.findings():
            print(f"  {finding.name}: {finding.value:.4f}")

    policy = load_policy(args.policy)
    recorded = run(policy, "pong", 1, record_steps=True, seed=0)
    states = stack_frames(recorded.records[0].frames, 4)[: args.states]
    start = time.perf_counter()
    batched = unstable_directions(policy, states, 0.01, batch=args.batch)
    batched_rate = len(states) / (time.perf_counter() - start)
    single_states = states[: max(8, len(states) // 16)]
    start = time.perf_counter()
    single = unstable_directions(policy, single_states, 0.01, batch=1)
    single_rate = len(single_states) / (time.perf_counter() - start)
    # Convolutions sum in another order at another batch size, so a gradient entry near zero can change sign:
    # the l-inf directions agree entry by entry up to those.
    equal = float(np.mean(np.isclose(single.directions, batched.directions[: len(single_states)], atol=1e-6)))
    print(f"unstable directions: batched {batched_rate:.1f} states/s, one at a time {single_rate:.1f} states/s, "
          f"ratio {batched_rate / single_rate:.1f}x ({equal:.2%} of the direction entries equal)")  # fmt: skip

    start = time.perf_counter()
    arpack = principal_directions(batched.directions, 3)
    arpack_s = time.perf_counter() - start
    start = time.perf_counter()
    _, _, rows = np.linalg.svd(batched.directions.astype(np.float64), full_matrices=False)
    full_s = time.perf_counter() - start
    agreement = abs(float(rows[0] @ arpack.principal))
    print(f"G_S of {len(states)} x {batched.directions.shape[1]}: ARPACK {arpack_s:.2f} s, full SVD {full_s:.2f} s, "
          f"ratio {full_s / arpack_s:.1f}x, |cos| between them {agreement:.6f}")  # fmt: skip


if __name__ == "__main__":
    main()
