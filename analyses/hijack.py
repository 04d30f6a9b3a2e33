"""The hijack stress test: does a learned hijacker hurt a trained policy more than a random one of the same
length? (Adversarial Surprise as a stress test, Fickinger, Jaques et al. 2021, §6; REFERENCE §6.)

1. A surprise model of the policy's familiar states: a per-feature Gaussian fitted to its clean episodes
   (``rlcert.training.hijacker.fit_surprise_model``), with the level 95 % of clean observations stay below.
2. A learned hijacker trained with PPO to maximize what the frozen policy suffers after it hands the body back
   (its surprise, or its return loss; ``rlcert.training.hijacker``).
3. ``episodes`` paired episodes (the same seeds) three times: clean, hijacked by uniformly random actions, and
   hijacked by the learned hijacker, each hijack ``steps`` steps long from agent step ``start``
   (``rlcert.envs.hijack.Hijack``, a probe). Per episode:

   * the policy's return;
   * its mean surprise over the ``window`` steps after the hijack (an episode that ends inside the window keeps
     its last frame's surprise for the rest);
   * its recovery time: steps after the hijack until an observation is familiar again (surprise at or below the
     clean 95 % level); an episode that never recovers within the window counts the whole window.

4. The learned-minus-random difference of each, paired by episode, with a 95 % Student-t interval.

Everything is ``empirical``: one learned hijacker is one attack found, not the worst there is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Policy
from rlcert.certify.confidence import mean_t_interval
from rlcert.envs.hijack import Hijack
from rlcert.envs.options import RolloutOptions
from rlcert.envs.rollout import run
from rlcert.envs.seeding import child_seed
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count
from rlcert.training.hijacker import HIJACK_OBJECTIVES, HijackerConfig, SurpriseModel, TrainedHijacker, train_hijacker

__all__ = ["HijackStressConfig", "HijackOutcome", "HijackStressTest", "hijack_stress_test", "METRICS"]

METRICS = ("return", "surprise", "recovery_steps")
HIJACKER_STREAM, EVALUATION_STREAM = 41, 42


@dataclass(frozen=True)
class HijackStressConfig:
    """The hijack stress test (module docstring)."""

    steps: int = 10
    """Hijacked steps."""
    start: int = 50
    """Agent step at which the evaluated hijacks begin."""
    window: int = 50
    """Steps after the hijack over which surprise and recovery are measured."""
    episodes: int = 100
    """Paired episodes of each condition (clean, random hijack, learned hijack)."""
    objective: str = "surprise"
    """What the learned hijacker maximizes: surprise or return-loss."""
    hijacker_timesteps: int = 20_000
    """Hijacker steps of PPO training."""
    clean_episodes: int = 20
    """Clean episodes the surprise model is fitted to."""

    def __post_init__(self) -> None:
        for name in ("steps", "window", "episodes", "hijacker_timesteps", "clean_episodes"):
            check_count(name, getattr(self, name))
        check_count("start", self.start, 0)
        if self.episodes < 2:
            raise InvalidValueError(f"--episodes must be at least 2 for a paired interval, got {self.episodes}")
        if self.objective not in HIJACK_OBJECTIVES:
            raise InvalidValueError(
                f"--objective must be one of {', '.join(HIJACK_OBJECTIVES)}, got {self.objective!r}"
            )

    def hijacker(self, seed: int) -> HijackerConfig:
        """Training hijacks start within half the window of the evaluated start, so the learner sees that situation
        and its neighbours."""
        spread = max(1, self.window // 2)
        return HijackerConfig(self.steps, self.window, (max(0, self.start - spread), self.start + spread),
                              self.objective, self.hijacker_timesteps, self.clean_episodes, seed)  # fmt: skip


@dataclass(frozen=True)
class HijackOutcome:
    """Per-episode metrics of one condition (arrays over the paired episodes)."""

    condition: str
    returns: np.ndarray
    surprise: np.ndarray
    recovery_steps: np.ndarray
    hijacked: np.ndarray
    """True where the episode lasted until the hijack began."""

    def metric(self, name: str) -> np.ndarray:
        return {"return": self.returns, "surprise": self.surprise, "recovery_steps": self.recovery_steps}[name]


@dataclass(frozen=True)
class HijackStressTest:
    subject: Subject
    config: HijackStressConfig
    rollout: RolloutOptions
    hijacker: TrainedHijacker
    outcomes: tuple[HijackOutcome, ...]
    """clean, random, learned."""
    seconds: float

    def outcome(self, condition: str) -> HijackOutcome:
        return next(o for o in self.outcomes if o.condition == condition)

    def difference(self, metric: str, confidence: float = 0.95) -> tuple[float, float, float]:
        """Mean of learned − random over the paired episodes in which both hijacks happened, and its Student-t
        interval."""
        learned, random = self.outcome("learned"), self.outcome("random")
        both = learned.hijacked & random.hijacked
        return mean_t_interval(learned.metric(metric)[both] - random.metric(metric)[both], confidence)

    def label(self) -> str:
        return (f"{self.subject.label()}, hijacked for {self.config.steps} steps from step {self.config.start}, "
                f"{self.config.episodes} paired episodes")  # fmt: skip

    def findings(self) -> tuple[Finding, ...]:
        params = {"steps": self.config.steps, "start": self.config.start, "window": self.config.window,
                  "objective": self.config.objective, "episodes": self.config.episodes}  # fmt: skip
        findings = []
        for outcome in self.outcomes:
            for metric in METRICS:
                values = outcome.metric(metric)[outcome.hijacked] if outcome.condition != "clean" else \
                    outcome.metric(metric)  # fmt: skip
                if len(values) < 2:
                    continue
                mean, low, high = mean_t_interval(values)
                findings.append(Finding(f"{metric}@{outcome.condition}", mean, "empirical", confidence=0.95,
                                        interval=(low, high), params=params | {"condition":
                                        outcome.condition}, seed=self.rollout.seed,
                                        method=f"mean over the episodes ({outcome.condition})"))  # fmt: skip
        for metric in METRICS:
            mean, low, high = self.difference(metric)
            if np.isfinite(mean):
                findings.append(Finding(f"{metric}_learned_minus_random", mean, "empirical", confidence=0.95,
                                        interval=(low, high), params=params, seed=self.rollout.seed,
                                        method="paired by episode seed; Student-t interval"))  # fmt: skip
        return tuple(findings)

    def to_dict(self) -> dict[str, Any]:
        return {"config": vars(self.config), "subject": self.subject.to_dict(), "seconds": round(self.seconds, 1),
                "familiar_level": self.hijacker.model.familiar_level,
                "hijacker_training": {"seconds": round(self.hijacker.seconds, 1), "curve": list(self.hijacker.curve)},
                "differences": {m: dict(zip(("mean", "low", "high"), self.difference(m))) for m in METRICS},
                "outcomes": {o.condition: {m: o.metric(m).tolist() for m in METRICS} | {"hijacked": o.hijacked.tolist()}
                             for o in self.outcomes}}  # fmt: skip

    def plot(self, path: str | Path) -> Path:
        from rlcert.reports.plots import plot_hijack_stress

        return plot_hijack_stress(self, path)


def _outcome(condition: str, records, model: SurpriseModel, config: HijackStressConfig) -> HijackOutcome:
    returns, surprise, recovery, hijacked = [], [], [], []
    release = config.start + config.steps
    for record in records:
        frames = np.asarray(record.frames, dtype=np.float64).reshape(len(record.frames), -1)
        returns.append(float(np.sum(record.rewards)))
        hijacked.append(len(frames) > config.start)
        after = frames[min(release, len(frames) - 1) :][: config.window]
        after = np.concatenate([after, np.repeat(after[-1:], config.window - len(after), axis=0)])
        levels = np.array([model.surprise(frame) for frame in after])
        surprise.append(float(levels.mean()))
        familiar = np.flatnonzero(levels <= model.familiar_level)
        recovery.append(float(familiar[0]) if len(familiar) else float(config.window))
    return HijackOutcome(condition, np.array(returns), np.array(surprise), np.array(recovery), np.array(hijacked))


def hijack_stress_test(
    policy: str | Path | Policy | Subject,
    env: str | None = None,
    config: HijackStressConfig | None = None,
    rollout: RolloutOptions | None = None,
) -> HijackStressTest:
    """Train a hijacker of the policy and compare its damage with a random hijack's (module docstring)."""
    config = config or HijackStressConfig()
    rollout = rollout or RolloutOptions()
    started = time.perf_counter()
    subject = resolve_subject(policy, env)
    trained = train_hijacker(subject.policy, subject.env, config.hijacker(child_seed(rollout.seed, HIJACKER_STREAM)))
    seed = child_seed(rollout.seed, EVALUATION_STREAM)
    conditions = {"clean": None, "random": "random", "learned": trained.policy}
    outcomes = []
    for condition, controller in conditions.items():

        def probe(env, controller=controller):
            return Hijack(env, config.start, config.steps, controller) if controller is not None else env

        episodes = run(subject.policy, subject.env, config.episodes, probe=None if controller is None else probe,
                       seed=seed, record_steps=True, chunk_size=rollout.chunk_size)  # fmt: skip
        outcomes.append(_outcome(condition, episodes.records, trained.model, config))
    return HijackStressTest(subject, config, rollout, trained, tuple(outcomes), time.perf_counter() - started)
