"""Sound per-state and whole-trajectory action certificates from bound propagation.

A state is certified at ε when every margin score(a*) − score(a), a ≠ a*, has a positive lower bound
over the ε-ball (``rlcert.certify.bounds.margin_bounds``): no observation perturbation of that size can
change the action. For a deterministic policy in an env that is deterministic given its seed, if
every state visited by the clean run is certified, no per-step ε-adversary can change any action,
so the clean return is a *sound* certificate of that episode's return (Zhang et al. 2020, SA-MDP;
the "certified trajectory" argument of CROP §4.3 without smoothing).

The episodes come from the rollout engine (``rlcert.envs.rollout.run(..., record_steps=True)``), so episode i of
a run with seed s is the engine's episode i of seed s: every episode's stream is a ``SeedSequence`` child
of the run's seed, and the runs of two seeds share no episode. Each episode plays in its own slot of the
batched env, so an adversary that cannot change its actions cannot change its return either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rlcert.attacks.base import TorchPolicy
from rlcert.certify.bounds import check_bound_options, margin_bounds
from rlcert.reports.errors import InvalidValueError, OperationError
from rlcert.reports.findings import Finding
from rlcert.reports.progress import progress_bar

if TYPE_CHECKING:
    from rlcert.envs.rollout import Episodes

__all__ = [
    "ActionCertificate",
    "certify_actions",
    "certified_radii",
    "state_batch_size",
    "TrajectoryCertificate",
    "certify_episodes",
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


def _is_count(value, minimum: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum


def _check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not (isinstance(eps, (int, float, np.number)) and math.isfinite(eps) and eps >= 0):
        raise InvalidValueError(f"eps must be a finite number >= 0, got {eps!r}")
    return float(eps)


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
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
) -> ActionCertificate:
    """Certify the policy's action at each observation against every ε-perturbation (batched;
    ``batch`` >= 1 states at a time, default ``state_batch_size``; α-CROWN options as in ``margin_bounds``)."""
    eps = _check_eps(eps)
    check_bound_options(norm, method, low, high, alpha_steps, alpha_lr)
    if batch is not None and not _is_count(batch, 1):
        raise InvalidValueError(f"batch must be an integer >= 1 (states per bound computation), got {batch!r}")
    observations = np.asarray(observations, dtype=np.float32)
    batch = batch or state_batch_size(observations)
    lows, actions = [], []
    for start in range(0, len(observations), batch):
        x = torch.as_tensor(observations[start : start + batch])
        margins, chosen = margin_bounds(
            policy.module, x, eps, norm, method, low=low, high=high, alpha_steps=alpha_steps, alpha_lr=alpha_lr
        )
        lows.append(margins.min(dim=1).values.numpy())
        actions.append(chosen.numpy())
    smallest = np.concatenate(lows) if lows else np.zeros(0, np.float32)
    chosen = np.concatenate(actions) if actions else np.zeros(0, np.int64)
    return ActionCertificate(smallest > 0, smallest, chosen, eps, norm, method)


def certified_radii(
    policy: TorchPolicy,
    observations: np.ndarray,
    norm: str = "inf",
    method: str = "crown",
    max_eps: float = 1.0,
    iterations: int = 12,
    low: float | None = None,
    high: float | None = None,
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
    progress: bool = False,
) -> np.ndarray:
    """Largest certified radius of each state, by bisection on ε (bounds only loosen as ε grows).

    The returned radius is certified (a lower end of the bisection bracket), within max_eps / 2^iterations
    of the largest radius this method can certify below ``max_eps`` (> 0); ``iterations`` >= 1.
    ``progress`` shows a bar over the states bounded.
    """
    if isinstance(max_eps, bool) or not (
        isinstance(max_eps, (int, float, np.number)) and math.isfinite(max_eps) and max_eps > 0
    ):
        raise InvalidValueError(f"max_eps must be a finite number > 0 (the bisection's upper end), got {max_eps!r}")
    if not _is_count(iterations, 1):
        # Zero steps would report radius 0 at every state, however many are certified.
        raise InvalidValueError(f"iterations must be an integer >= 1 (bisection steps), got {iterations!r}")
    check_bound_options(norm, method, low, high, alpha_steps, alpha_lr)
    observations = np.asarray(observations, dtype=np.float32)
    batch = state_batch_size(observations)
    radii = []
    with progress_bar(progress, len(observations), f"states bounded · {method} radii") as advance:
        for start in range(0, len(observations), batch):
            radii.append(_bisect_radii(policy, observations[start : start + batch], norm, method, max_eps,
                                       iterations, low, high, alpha_steps, alpha_lr))  # fmt: skip
            advance(len(radii[-1]))
    return np.concatenate(radii) if radii else np.zeros(0)


def _bisect_radii(policy, observations, norm, method, max_eps, iterations, low, high, alpha_steps, alpha_lr):
    """One batch of :func:`certified_radii`."""
    x = torch.as_tensor(observations)
    below, above = np.zeros(len(x)), np.full(len(x), float(max_eps))
    for _ in range(iterations):
        middle = (below + above) / 2
        eps = torch.as_tensor(middle, dtype=torch.float32)
        margins, _ = margin_bounds(
            policy.module, x, eps, norm, method, low=low, high=high, alpha_steps=alpha_steps, alpha_lr=alpha_lr
        )
        ok = (margins.min(dim=1).values > 0).numpy()
        below = np.where(ok, middle, below)
        above = np.where(ok, above, middle)
    return below


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
    """Seed of the run the episode belongs to."""
    episode: int = 0
    """Index of the episode in that run (with ``seed`` and ``chunk_size``, what reproduces it)."""
    chunk_size: int = 250
    """Episodes per chunk of that run (the engine seeds each chunk from the run's seed)."""

    @property
    def sound(self) -> bool:
        """True when the clean return is a sound certificate against every per-step eps adversary."""
        return self.first_uncertified_step is None

    def findings(self, **context: Any) -> list[Finding]:
        params = {
            "eps": self.eps,
            "norm": self.norm,
            "method": self.method,
            "seed": self.seed,
            "episode": self.episode,
            "chunk_size": self.chunk_size,
            **context,
        }
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


def _check_clean_records(episodes: Episodes) -> None:
    """Refuse episodes whose states are not what a clean greedy policy saw, or were not recorded."""
    if episodes.records is None:
        raise InvalidValueError("certify_episodes needs the episodes' states: run them with record_steps=True")
    if episodes.actions != "greedy":
        raise InvalidValueError(f"certify_episodes needs greedy episodes, got actions={episodes.actions!r}")
    if getattr(episodes, "defense", None) is not None or any(
        not np.array_equal(record.seen, record.frames) for record in episodes.records
    ):
        raise InvalidValueError(
            "certify_episodes certifies clean episodes: run them without attack or defense (a probe is fine)"
        )


def certify_episodes(
    policy: TorchPolicy,
    episodes: Episodes,
    eps: float,
    norm: str = "inf",
    method: str = "crown",
    low: float | None = None,
    high: float | None = None,
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
) -> tuple[TrajectoryCertificate, ...]:
    """Certify every policy observation of each recorded clean episode at ``eps`` (one certificate each).

    ``episodes`` come from ``rlcert.envs.rollout.run(policy, env, n, seed=..., record_steps=True)``, with a
    seeded probe if any (the probed env is still deterministic given the seed, so the certificate holds
    for that probed episode). Frames are stacked after the adversary acts, so a per-frame ℓ∞ budget ε
    bounds the stacked observation in ℓ∞ by ε as well; for ℓ2 a per-frame ε gives at most sqrt(k)·ε on a
    k-frame stack, which is what we certify.
    """
    from rlcert.envs.factory import resolve_env_spec
    from rlcert.envs.rollout import stack_frames

    eps = _check_eps(eps)
    check_bound_options(norm, method, low, high, alpha_steps, alpha_lr)
    _check_clean_records(episodes)
    stack = resolve_env_spec(episodes.env).frame_stack
    observations = [stack_frames(record.frames, stack) for record in episodes.records]
    radius = eps * math.sqrt(stack) if norm == "2" else eps
    result = certify_actions(
        policy, np.concatenate(observations), radius, norm, method, low, high, None, alpha_steps, alpha_lr
    )
    if not np.array_equal(result.actions, np.concatenate([record.actions for record in episodes.records])):
        raise OperationError("the policy's recorded actions differ from its argmax: is it deterministic?")
    ends = np.cumsum([len(o) for o in observations])
    certificates = []
    for index, (certified, clean_return) in enumerate(zip(np.split(result.certified, ends[:-1]), episodes.returns)):
        uncertified = np.flatnonzero(~certified)
        certificates.append(
            TrajectoryCertificate(
                clean_return=float(clean_return),
                steps=len(certified),
                certified_steps=int(certified.sum()),
                first_uncertified_step=int(uncertified[0]) if uncertified.size else None,
                eps=eps,
                norm=norm,
                method=method,
                seed=episodes.seed,
                episode=index,
                chunk_size=episodes.chunk_size,
            )
        )
    return tuple(certificates)


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
    alpha_steps: int = 20,
    alpha_lr: float = 0.1,
) -> TrajectoryCertificate:
    """Run one clean episode (the rollout engine's episode 0 of ``seed``, under ``probe`` if given) and
    certify every policy observation along it at ``eps`` (see :func:`certify_episodes`)."""
    from rlcert.envs.rollout import run

    _check_eps(eps)
    check_bound_options(norm, method, low, high, alpha_steps, alpha_lr)
    episodes = run(policy, env, 1, seed=seed, record_steps=True, probe=probe)
    return certify_episodes(policy, episodes, eps, norm, method, low, high, alpha_steps, alpha_lr)[0]
