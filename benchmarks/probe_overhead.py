"""Probe overhead: agent steps per second on Breakout with and without each probe, in one process.

Every configuration steps the same preprocessed Breakout env (frame skip 4, 84x84) with the same seeded
random actions; the ratio column is unwrapped steps/s divided by probed steps/s (the cost factor of
the probe). The RAM-based STORI probes must stay below 1.5x. For reference the table also times a
naive per-frame RAM probe (reads the whole RAM and clones/restores the emulator state on every frame,
whether or not an event fires), the ~3x cost STORI's authors report for per-frame RAM edits.

    python benchmarks/probe_overhead.py --steps 3000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from rlcert.attacks.base import Probe
from rlcert.envs.factory import make_raw_env
from rlcert.envs.probe_suites import builtin_suite, suite_settings
from rlcert.envs.probes import ProbeStack


class NaivePerFrameRAMProbe(Probe):
    """The reference point: full RAM read and a clone/restore round trip on every emulator frame."""

    level = "emulator"

    def step(self, action):
        ale = self.env.unwrapped.ale
        ale.getRAM()
        ale.restoreState(ale.cloneState())
        return self.env.step(action)


def steps_per_second(stack: ProbeStack | None, steps: int, seed: int = 0) -> float:
    env = make_raw_env("breakout", wrap_emulator=None if stack is None else stack.wrap_emulator)
    if stack is not None:
        env = stack(env)
    actions = np.random.default_rng(seed).integers(env.action_space.n, size=steps)
    env.reset(seed=seed)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(int(action))
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="agent steps per configuration")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per configuration")
    args = parser.parse_args()

    configurations: list[tuple[str, ProbeStack | None, bool]] = [("unwrapped", None, False)]
    configurations.append(("naive per-frame RAM probe (reference)", ProbeStack.of(NaivePerFrameRAMProbe), True))
    for setting in suite_settings(builtin_suite("stori", "breakout")):
        if setting.family.startswith("type 1") and setting.severity != 0.3:
            continue
        if setting.family.startswith("type 3.2") and setting.severity != 0.5:
            continue
        ram_based = "RandomEvents" in setting.stack.label or "hide_objects" in setting.stack.label
        label = f"{setting.family} ({setting.severity_name}={setting.severity:g})"
        configurations.append((label, setting.stack, ram_based))

    results = {}
    for label, stack, ram_based in configurations:
        results[label] = (max(steps_per_second(stack, args.steps, seed) for seed in range(args.repeats)), ram_based)
    baseline = results["unwrapped"][0]
    table = Table(title=f"Breakout agent steps per second (best of {args.repeats} x {args.steps} steps)")
    for column in ("configuration", "steps / s", "cost vs unwrapped", "RAM-based", "within 1.5x"):
        table.add_column(column, justify="right")
    for label, (rate, ram_based) in results.items():
        ratio = baseline / rate
        within = "" if not ram_based or label.startswith("naive") else ("yes" if ratio < 1.5 else "NO")
        table.add_row(label, f"{rate:,.0f}", f"{ratio:.2f}x", "yes" if ram_based else "", within)
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
