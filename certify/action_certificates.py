"""Sound per-state and whole-trajectory action certificates from bound propagation.

A state is certified at ε when every margin score(a*) − score(a), a ≠ a*, has a positive lower bound
over the ε-ball (``certify.bounds.margin_bounds``): no observation perturbation of that size can
change the action. For a deterministic policy in an env that is deterministic given its seed, if
every state visited by the clean run is certified, no per-step ε-adversary can change any action,
so the clean return is a *sound* certificate of that episode's return (Zhang et al. 2020, SA-MDP;
the "certified trajectory" argument of CROP §4.3 without smoothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from attacks.base import TorchPolicy
from certify.bounds import margin_bounds
from reports.errors import InvalidValueError, OperationError
from reports.findings import Finding

__all__ = [
    "ActionCertificate",
    "certify_actions",
    "certified_radii",
    "state_batch_size",
    "TrajectoryCertificate",
    "certify_trajectory",
]


@dataclass(frozen=True)
class ActionCertificate:
    """Which states keep their action under every perturbation of size eps (sound)."""

    certified: np.ndarray
    """Per state: True when every margin lower bound is > 0."""
    margins: np.ndarray
    """Per state: the smallest margin lower bound."""
    actions: np.ndarray
    eps: float
    norm: str
    method: str

    @property
    def certified_fraction(self) -> float:
        return float(np.mean(self.certified))


# Input floats per bound-propagation batch. CROWN's backward matrices grow with (input size × neurons)
# per state: on the Mnih-2013 Atari CNN (4×84×84 inputs) a state costs about 0.1 GB, so 256 of them at
# once would need ~25 GB; this budget gives 9 Atari states (~1.4 GB, near the fastest per-state rate
# measured) and the full 256 for small vector observations.
_BATCH_INPUT_FLOATS = 2**18


def state_batch_size(observations: np.ndarray, largest: int = 256) -> int:
    """How many states to bound at once: ``largest`` for small observations, fewer for images."""
    per_state = max(1, int(np.prod(np.shape(observations)[1:])))
    return max(1, min(largest, _BATCH_INPUT_FLOATS // per_state))


def certify_actions(
    policy: TorchPolicy,
    observations: np.ndarray,
    eps: float,
    norm: str = "inf",
    method: str = "crown",
    low: float | None = None,
    high: float | None = None,
    batch: int | None = None,
    **kwargs: Any,
) -> ActionCertificate:
    """Certify the policy's action at each observation against every ε-perturbation (batched;
    ``batch`` defaults to ``state_batch_size``)."""
    if not (math.isfinite(eps) and eps >= 0):
        raise InvalidValueError(f"eps must be a finite number >= 0, got {eps!r}")
    observations = np.asarray(observations, dtype=np.float32)
    batch = batch or state_batch_size(observations)
    lows, actions = [], []
    for start in range(0, len(observations), batch):
        x = torch.as_tensor(observations[start : start + batch])
        margins, chosen = margin_bounds(policy.module, x, eps, norm, method, low=low, high=high, **kwargs)
        lows.append(margins.min(dim=1).values.numpy())
        actions.append(chosen.numpy())
    smallest = np.concatenate(lows)
    return ActionCertificate(smallest > 0, smallest, np.concatenate(actions), float(eps), norm, method)


def certified_radii(
    policy: TorchPolicy,
    observations: np.ndarray,
    norm: str = "inf",
    method: str = "crown",
    max_eps: float = 1.0,
    iterations: int = 12,
    low: float | None = None,
    high: float | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Largest certified radius of each state, by bisection on ε (bounds only loosen as ε grows).

    The returned radius is certified (a lower end of the bisection bracket), within max_eps / 2^iterations
    of the largest radius this method can certify.
    """
    observations = np.asarray(observations, dtype=np.float32)
    batch = state_batch_size(observations)
    radii = []
    for start in range(0, len(observations), batch):
        x = torch.as_tensor(observations[start : start + batch])
        below, above = np.zeros(len(x)), np.full(len(x), float(max_eps))
        for _ in range(iterations):
            middle = (below + above) / 2
            eps = torch.as_tensor(middle, dtype=torch.float32)
            margins, _ = margin_bounds(policy.module, x, eps, norm, method, low=low, high=high, **kwargs)
            ok = (margins.min(dim=1).values > 0).numpy()
            below = np.where(ok, middle, below)
            above = np.where(ok, above, middle)
        radii.append(below)
    return np.concatenate(radii) if radii else np.zeros(0)


@dataclass(frozen=True)
class TrajectoryCertificate:
    """A clean episode and whether every state on it is certified at eps."""

    clean_return: float
    steps: int
    certified_steps: int
    first_uncertified_step: int | None
    eps: float
    norm: str
    method: str
    seed: int

    @property
    def sound(self) -> bool:
        """True when the clean return is a sound certificate against every per-step eps adversary."""
        return self.first_uncertified_step is None

    def findings(self, **context: Any) -> list[Finding]:
        params = {"eps": self.eps, "norm": self.norm, "method": self.method, "seed": self.seed, **context}
        findings = [
            Finding(
                "certified_step_fraction",
                self.certified_steps / self.steps,
                "sound",
                params=params,
                method=f"{self.method} margin bounds on every visited state",
            )
        ]
        if self.sound:
            findings.append(
                Finding(
                    "certified_episode_return",
                    self.clean_return,
                    "sound",
                    params=params,
                    description="every visited state is certified: no per-step eps adversary "
                    "can change any action, so this return is guaranteed",
                )
            )
        return findings


def certify_trajectory(
    policy: TorchPolicy,
    env: str,
    eps: float,
    seed: int = 0,
    norm: str = "inf",
    method: str = "crown",
    low: float | None = None,
    high: float | None = None,
    probe=None,
    **kwargs: Any,
) -> TrajectoryCertificate:
    """Run one clean episode from ``seed`` and certify every policy observation along it at ``eps``.

    Frames are stacked after the adversary acts, so a per-frame ℓ∞ budget ε bounds the stacked
    observation in ℓ∞ by ε as well; for ℓ2 a per-frame ε gives at most sqrt(k)·ε on a k-frame stack,
    which is what we certify. With a seeded ``probe`` (``envs.probes.ProbeStack``) the probed env is
    still deterministic given the seed, so the certificate holds for that probed episode.
    """
    from envs.factory import resolve_env_spec
    from envs.rollout import run, stack_frames

    spec = resolve_env_spec(env)
    episodes = run(policy, spec, 1, seed=seed, chunk_size=1, record_steps=True, probe=probe)
    record = episodes.records[0]
    observations = stack_frames(record.frames, spec.frame_stack)
    radius = eps * math.sqrt(spec.frame_stack) if norm == "2" else eps
    result = certify_actions(policy, observations, radius, norm, method, low=low, high=high, **kwargs)
    if not np.array_equal(result.actions, record.actions):
        raise OperationError("the policy's recorded actions differ from its argmax: is it deterministic?")
    uncertified = np.flatnonzero(~result.certified)
    return TrajectoryCertificate(
        clean_return=float(episodes.returns[0]),
        steps=len(observations),
        certified_steps=int(result.certified.sum()),
        first_uncertified_step=int(uncertified[0]) if uncertified.size else None,
        eps=float(eps),
        norm=norm,
        method=method,
        seed=seed,
    )
