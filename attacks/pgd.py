"""Untargeted ℓ∞ PGD against a policy's greedy action (Madry et al. 2018, §2.1; for deep RL policies Huang et al.
2017 and Zhang et al. 2020, §6), on the newest frame of each observation.

:func:`pgd_linf` is the search itself: projected sign-gradient ascent on the cross-entropy between the policy's
scores and its own greedy action, inside the ℓ∞ ball of radius ε (clipped to the observation box). Three users
share it: :class:`FramePGD` (the rollout engine's attack, on each raw frame before stacking, so a history frame
keeps the perturbation the agent saw), the adversarial training of zoo agents (``rlcert.agents.sb3_setup``), and
the instability diagnostic's PGD shift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from rlcert.attacks.base import Attack, AttackState, Policy, ThreatModel
from rlcert.reports.errors import UnsupportedInputError
from rlcert.reports.validation import check_count

__all__ = ["pgd_linf", "FramePGD"]


def pgd_linf(
    scores: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    eps: float,
    steps: int,
    box: tuple[float, float] | None = None,
    embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """The perturbed ``x`` (detached): ``steps`` steps of size 2.5 ε / steps on CE(scores(embed(x + δ)), greedy),
    with ‖δ‖∞ ≤ ε and x + δ inside ``box``. ``embed`` maps the attacked part to what ``scores`` takes (e.g. the
    newest frame into its stack); the greedy action is the one at δ = 0 (``labels``, when the caller has it)."""
    embed = embed or (lambda part: part)
    if labels is not None:
        greedy = labels
    else:
        with torch.no_grad():
            greedy = scores(embed(x)).argmax(1)
    delta = torch.zeros_like(x)
    for _ in range(steps):
        delta.requires_grad_(True)
        moved = x + delta if box is None else (x + delta).clamp(*box)
        loss = torch.nn.functional.cross_entropy(scores(embed(moved)), greedy, reduction="sum")
        (gradient,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = (delta + 2.5 * eps / steps * gradient.sign()).clamp(-eps, eps)
    moved = x + delta
    return (moved if box is None else moved.clamp(*box)).detach()


@dataclass
class FramePGD(Attack):
    """Per-step ℓ∞ PGD of radius ``eps`` on each new raw frame (the history frames as the agent saw them).

    Example:
        >>> from rlcert.agents import load_policy
        >>> from rlcert.envs import run
        >>> attacked = run(load_policy("zoo:cartpole5-dqn"), "cartpole5", 2, attack=FramePGD(eps=0.05))
    """

    eps: float
    steps: int = 10
    box: tuple[float, float] | None = None
    """Where observations live (Atari pixels: (0, 1)); None: unbounded."""
    threat_model: ThreatModel = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.threat_model = ThreatModel(norm="inf", eps=self.eps)
        check_count("steps", self.steps)

    def perturb(self, frames: np.ndarray, policy: Policy, state: AttackState) -> np.ndarray:
        if not hasattr(policy, "scores"):
            raise UnsupportedInputError("FramePGD needs a TorchPolicy (a differentiable scores method)")
        rows = np.flatnonzero(state.active)
        if rows.size == 0 or self.eps == 0:
            return frames
        current = torch.as_tensor(frames[rows], dtype=torch.float32)
        history = None if state.history is None else torch.as_tensor(state.history[rows], dtype=torch.float32)

        def embed(frame: torch.Tensor) -> torch.Tensor:
            if state.stack == 1:
                return frame
            if history is None:  # the first frame fills the stack
                return frame.unsqueeze(1).expand(-1, state.stack, *frame.shape[1:])
            return torch.cat([history, frame.unsqueeze(1)], dim=1)

        out = frames.copy()
        out[rows] = pgd_linf(policy.scores, current, self.eps, self.steps, self.box, embed).numpy()
        return out
