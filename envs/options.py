"""Options shared by every analysis that runs episodes: seed, workers, chunking, checkpoints, progress, a
probe stack under every episode, and how a policy picks its actions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from rlcert.envs.executors import EXECUTORS, Executor, check_ray_available, make_executor
from rlcert.envs.probe_suites import parse_probe_stack
from rlcert.envs.probes import ProbeStack
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count

__all__ = ["RolloutOptions", "ActionOption"]


@dataclasses.dataclass(frozen=True)
class RolloutOptions:
    """How episodes are run; shared by every command that runs episodes."""

    seed: int = 0
    """Seed of the run; with chunk-size it fixes every random draw, whatever the number of workers."""
    workers: int = 1
    """Worker processes (1 = in this process); with --executor ray, the CPUs of the local Ray."""
    executor: str = "local"
    """local (this process, or a pool of worker processes) or ray (Ray tasks; needs rlcert[ray]); the same seed
    gives the same numbers on either."""
    ray_address: str | None = None
    """Address of an existing Ray cluster (with --executor ray; default: a local Ray started and stopped here)."""
    chunk_size: int = 250
    """Episodes per chunk, run in lockstep with one batched policy call per step."""
    checkpoint_dir: str | None = None
    """Save finished chunks here and resume from the ones already there."""
    progress: bool = True
    """Show progress bars."""
    probe: str | None = None
    """Run every episode under these probes, e.g. RandomActionExecution:p=0.1,per=frame+ConceptDrift:after=200
    (see `rlcert probes`); certificates then hold for the probed env, and a stress test runs its baseline
    under it too."""

    def __post_init__(self) -> None:
        check_count("seed", self.seed, 0)
        check_count("workers", self.workers)
        check_count("chunk_size", self.chunk_size)
        if self.executor not in EXECUTORS:
            raise InvalidValueError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.ray_address is not None and self.executor != "ray":
            raise InvalidValueError(f"--ray-address {self.ray_address} needs --executor ray")
        if self.executor == "ray":
            check_ray_available()
        self.probe_stack()  # a malformed probe is refused before any episode runs

    def probe_stack(self) -> ProbeStack | None:
        """The parsed ``probe`` option (None when absent)."""
        return None if self.probe is None else parse_probe_stack(self.probe)

    def probe_phrase(self) -> str:
        """`` under probe LABEL`` for a label that says what a result holds for (empty without a probe)."""
        probe = self.probe_stack()
        return f" under probe {probe.label}" if probe is not None else ""

    def make_executor(self) -> Executor:
        return make_executor(self.workers, self.executor, self.ray_address)

    def result_params(self) -> dict[str, Any]:
        """The options that shape a result (for its report): the seed, the chunking and the probe stack. Workers,
        checkpoints and progress bars never change a number."""
        probe = self.probe_stack()
        return {"seed": self.seed, "chunk_size": self.chunk_size} | ({"probe": probe.label} if probe else {})

    def run_options(self, checkpoint_subdir: str | None = None) -> dict[str, Any]:
        """Keyword arguments of :func:`rlcert.envs.run` for these options. ``checkpoint_subdir`` keeps a sub-run
        (the attacked episodes of one budget, say) in its own folder of the checkpoint directory."""
        checkpoint = self.checkpoint_dir
        if checkpoint is not None and checkpoint_subdir is not None:
            checkpoint = str(Path(checkpoint) / checkpoint_subdir)
        return {
            "seed": self.seed,
            "executor": self.make_executor(),
            "chunk_size": self.chunk_size,
            "checkpoint_dir": checkpoint,
            "progress": self.progress,
            "probe": self.probe_stack(),
        }


@dataclasses.dataclass(frozen=True)
class ActionOption:
    """How a policy picks its actions; for commands that measure returns (certificates always use the greedy
    action)."""

    actions: str | None = None
    """greedy (the argmax action) or sampled (drawn from a PPO/A2C policy's own action distribution with a
    seeded generator); default: what the zoo agent's recorded score used, else greedy."""

    def __post_init__(self) -> None:
        if self.actions not in (None, "greedy", "sampled"):
            raise InvalidValueError(f"--actions must be greedy or sampled, got {self.actions!r}")
        super_init = getattr(super(), "__post_init__", None)
        if super_init is not None:
            super_init()
