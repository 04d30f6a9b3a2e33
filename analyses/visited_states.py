"""The states a policy visits: one recorded run of clean greedy episodes, stacked into the observations the
policy sees and evenly subsampled, with the box those observations lie in. Shared by the analyses that bound
the policy network at its visited states (sound action certificates, local Lipschitz bounds).

The episodes come from the rollout engine (``rlcert.envs.rollout.run(..., record_steps=True)``), so episode i
of a run with seed s is the engine's episode i of seed s, whatever the workers or the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from rlcert.analyses.subject import Subject
from rlcert.envs.options import RolloutOptions
from rlcert.envs.rollout import Episodes, run, stack_frames
from rlcert.reports.errors import InvalidValueError

__all__ = ["VisitedStates", "visit_states", "evenly_spaced"]


@dataclass(frozen=True)
class VisitedStates:
    """The recorded episodes and the policy observations taken from them."""

    episodes: Episodes
    """The run, with every episode's per-step records (what whole-trajectory certificates certify)."""
    states: np.ndarray
    """Policy observations (frames stacked as the policy sees them), at most ``max_states`` of them, evenly
    spaced over the run."""
    low: float | None
    """Lower end of the box every observation lies in (None: unbounded)."""
    high: float | None
    """Upper end of that box (None: unbounded)."""


def evenly_spaced(states: np.ndarray, max_states: int) -> np.ndarray:
    """At most ``max_states`` of ``states``, evenly spaced from the first to the last (0: all of them)."""
    if 0 < max_states < len(states):
        return states[np.linspace(0, len(states) - 1, max_states).round().astype(int)]
    return states


def visit_states(
    subject: Subject, episodes: int, max_states: int, rollout: RolloutOptions, analysis: str
) -> VisitedStates:
    """Run ``episodes`` clean greedy episodes of ``subject`` (recording every step) and collect the policy's
    observations, subsampled to ``max_states`` (0: all). ``analysis`` names the caller in its errors."""
    if rollout.checkpoint_dir is not None:
        # One line, naming the option: the per-step records would be lost on a resumed chunk.
        raise InvalidValueError(
            f"checkpoint_dir does not apply to {analysis}: its episodes keep per-step records, which are not "
            "checkpointed; leave it None"
        )
    if not isinstance(getattr(subject.policy, "module", None), nn.Module):
        raise InvalidValueError(
            f"{subject.reference} has no PyTorch network (a .module) for {analysis} to bound; give a zoo agent, "
            "an SB3 .zip or a .pt state_dict"
        )
    recorded = run(subject.policy, subject.env, episodes, record_steps=True, **rollout.run_options())
    stack = subject.env.frame_stack
    states = np.concatenate([stack_frames(record.frames, stack) for record in recorded.records])
    low, high = subject.env.observation_box or (None, None)  # pixels stay in [0, 1]
    return VisitedStates(recorded, evenly_spaced(states, max_states), low, high)
