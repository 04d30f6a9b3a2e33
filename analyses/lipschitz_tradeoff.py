"""What a Lipschitz bound buys and costs in closed loop: the α sweep of Lipschitz-constrained imitation.

Al Makdah, Krishnan & Pasqualetti (IEEE OJ-CSYS 2022, §V; REFERENCE §5) learn a policy from expert pairs under
Lip(π) ≤ α and argue that α trades nominal performance for robustness to bounded perturbations of the state
*measurement*: a small α cannot fit the expert (the learning error grows), a large α lets an attacker of radius ε
move the action by up to α·ε. The attacked return should therefore peak at an intermediate α that moves left as
ε grows, while the nominal return rises with α.

:func:`lipschitz_tradeoff` measures that, one α at a time, from the same demonstrations, initial weights and
evaluation episodes (common random numbers, so the curves differ by α only):

1. demonstrations of the expert (``rlcert.training.demonstrations``), and a held-out set of expert states;
2. per α, a policy trained under the bound (``rlcert.training.lipschitz_imitation``, or the graph method with its
   McShane extension for low-dimensional continuous states) and its constant certified by ``rlcert.certify``;
3. per α, the closed-loop return with clean observations, under a per-step attack of radius ε in ℓ2 and ℓ∞ that
   maximises the episode cost (``rlcert.attacks.cost_critic``: PGD toward the action a critic of the policy's
   return, Q_c = −Q fitted by fitted Q evaluation, rates costliest), and under random noise of the same size
   (``rlcert.attacks.random_noise``);
4. the guarantee terms for continuous actions: the training error e_train, the covering radius r_N of the
   samples, the expert's local Lipschitz constant L* over the r_N-balls around them (sound, Fast-Lip), and the
   bound they imply, e_learn ≤ e_train + (α + L*)·r_N, which grows by α·ε under an attack of radius ε.

Returns are ``empirical``, certified constants ``sound``. r_N is the largest distance from a held-out expert state
to its nearest sample: it covers the held-out states exactly and the rest of the expert's state distribution
only empirically, so the implied bounds are labelled ``empirical``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from scipy import stats
from scipy.spatial import cKDTree
from torch import nn

from rlcert.agents.policies import TorchModulePolicy
from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.attacks.base import Attack, Policy
from rlcert.attacks.cost_critic import CostCriticAttack
from rlcert.attacks.random_noise import RandomObservationNoise
from rlcert.certify.bounds import check_norm
from rlcert.certify.lipschitz import lipschitz_upper_bound, local_lipschitz_bound
from rlcert.envs.options import RolloutOptions
from rlcert.envs.rollout import run
from rlcert.envs.seeding import SUB_RUN, child_seed
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding
from rlcert.reports.validation import check_count, check_finite, parse_radii
from rlcert.training.cost_critic import fit_cost_critic
from rlcert.training.demonstrations import Demonstrations, collect_demonstrations
from rlcert.training.lipschitz_graph import GraphImitationConfig, train_graph_policy
from rlcert.training.lipschitz_imitation import METHODS, LipschitzImitationConfig, train_lipschitz_policy

__all__ = ["TradeoffConfig", "ClosedLoopReturn", "TradeoffPoint", "LipschitzTradeoff", "lipschitz_tradeoff",
           "TRADEOFF_METHODS", "TRADEOFF_ATTACKS", "imitation_config", "parse_widths", "DEMOS_STREAM",
           "TRAINING_STREAM"]  # fmt: skip

TRADEOFF_METHODS = (*METHODS, "graph")
TRADEOFF_ATTACKS = ("critic", "noise")
# Sub-runs of the sweep's seed (SeedSequence children): each stream is shared by every α (common random numbers).
DEMOS_STREAM, HOLDOUT_STREAM, TRAINING_STREAM, CRITIC_STREAM, EVALUATION_STREAM = 11, 12, 13, 14, 15


@dataclass(frozen=True)
class TradeoffConfig:
    """The α sweep of Lipschitz-constrained imitation under state-measurement attacks (module docstring)."""

    alphas: str = "0.5,1,2,4,8,16,32,64"
    """Comma list of Lipschitz bounds α to train under."""
    eps: str = "0.05,0.1,0.2"
    """Comma list of per-step attack radii ε, in the env's observation units."""
    attack_norms: str = "2,inf"
    """Comma list of the attack norms: 2, inf or both."""
    attacks: str = "critic,noise"
    """critic (PGD toward the costliest action by a fitted critic of the return), noise (random, same size), or both."""
    norm: str = "2"
    """The norm of the Lipschitz bound (states to logits or actions): 2 or inf."""
    method: str = "projection"
    """projection, spectral-norm, orthogonal (neural, rlcert.training.lipschitz_imitation) or graph (primal-dual
    graph method with a McShane extension; continuous actions)."""
    pairs: int = 10_000
    """Demonstration pairs (state, expert action) trained on."""
    demo_episodes: int = 50
    """Expert episodes the pairs come from (the first ``pairs`` pairs are kept)."""
    holdout_episodes: int = 10
    """Further expert episodes whose states measure the covering radius r_N of the pairs."""
    episodes: int = 20
    """Closed-loop episodes per policy and setting (the same seeds for every α)."""
    attack_steps: int = 10
    """PGD steps of the critic attack per observation."""
    critic_episodes: int = 20
    """Episodes of each policy the critic is fitted on (fitted Q evaluation, 20 % random actions)."""
    critic_gamma: float = 0.95
    """Discount of the critic: how far ahead the attack looks (1 / (1 - γ) steps)."""
    epochs: int = 30
    """Training epochs of each neural policy."""
    replicates: int = 1
    """Policies trained per α from the same demonstrations with independent initial weights and minibatch orders;
    a point's return is then their mean with policies as clusters (replicate 0 is the policy `rlcert train
    lipschitz` trains with the same seed)."""
    hidden: str = "64,64"
    """Hidden layer widths of each neural policy (ReLU)."""

    def __post_init__(self) -> None:
        parse_radii(self.alphas, "alphas")
        for value in self.eps.split(","):
            check_finite("eps", _number(value, "eps"), 0)
        norms = [item.strip() for item in self.attack_norms.split(",")]
        if not norms or any(item not in ("2", "inf") for item in norms) or len(set(norms)) < len(norms):
            raise InvalidValueError(f"--attack-norms must be a comma list of 2 and inf, got {self.attack_norms!r}")
        attacks = [item.strip() for item in self.attacks.split(",")]
        if any(item not in TRADEOFF_ATTACKS for item in attacks) or len(set(attacks)) < len(attacks):
            raise InvalidValueError(
                f"--attacks must be a comma list of {', '.join(TRADEOFF_ATTACKS)}, got {self.attacks!r}"
            )
        check_norm(self.norm)
        if self.method not in TRADEOFF_METHODS:
            raise InvalidValueError(f"--method must be one of {', '.join(TRADEOFF_METHODS)}, got {self.method!r}")
        for name in ("pairs", "demo_episodes", "holdout_episodes", "episodes", "attack_steps", "critic_episodes",
                     "epochs", "replicates"):  # fmt: skip
            check_count(name, getattr(self, name))
        if not 0 <= self.critic_gamma < 1:
            raise InvalidValueError(f"--critic-gamma must be in [0, 1), got {self.critic_gamma!r}")
        self.hidden_widths()
        if self.method == "graph" and self.replicates > 1:
            raise InvalidValueError("--replicates above 1 needs a neural method: the graph method is deterministic")
        # the imitation configs refuse what they cannot do (spectral-norm with the inf norm) before any episode
        if self.method != "graph":
            self.imitation(self.alpha_values()[0], 0, 0)

    def alpha_values(self) -> list[float]:
        return parse_radii(self.alphas, "alphas")

    def eps_values(self) -> list[float]:
        return [_number(value, "eps") for value in self.eps.split(",")]

    def norm_values(self) -> list[str]:
        return [item.strip() for item in self.attack_norms.split(",")]

    def attack_kinds(self) -> list[str]:
        return [item.strip() for item in self.attacks.split(",")]

    def hidden_widths(self) -> tuple[int, ...]:
        return parse_widths(self.hidden)

    def imitation(self, alpha: float, seed: int, replicate: int) -> LipschitzImitationConfig:
        return imitation_config(alpha, self.norm, self.method, self.hidden, self.epochs, seed, replicate)


def imitation_config(alpha: float, norm: str, method: str, hidden: str, epochs: int, seed: int,
                     replicate: int = 0) -> LipschitzImitationConfig:  # fmt: skip
    """The neural training settings at α; the weights and minibatch order of ``replicate`` come from a child of
    the run's ``seed`` (replicate 0's is the one ``rlcert train lipschitz`` uses with the same seed)."""
    key = (TRAINING_STREAM,) if replicate == 0 else (TRAINING_STREAM, replicate)
    return LipschitzImitationConfig(alpha, norm, method, parse_widths(hidden), epochs, seed=child_seed(seed, *key))


def parse_widths(text: str) -> tuple[int, ...]:
    """``--hidden``: a comma list of positive layer widths."""
    try:
        widths = tuple(int(item) for item in text.split(","))
    except ValueError:
        raise InvalidValueError(f"--hidden must be a comma list of positive widths, got {text!r}") from None
    if any(width < 1 for width in widths):
        raise InvalidValueError(f"--hidden must be a comma list of positive widths, got {text!r}")
    return widths


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidValueError(f"--{name} must be a comma list of numbers, got {text!r}") from None


@dataclass(frozen=True)
class ClosedLoopReturn:
    """The mean return of one policy in one setting (empirical)."""

    attack: str
    """'none' (clean observations), 'critic' or 'noise'."""
    norm: str | None
    eps: float
    mean: float
    stderr: float
    """Standard error of ``mean``: over episodes for one policy, over the policies' means for several."""
    episodes: int
    """Episodes in all (per policy times ``policies``)."""
    policies: int = 1

    def half_width(self, confidence: float = 0.95) -> float:
        """Half the Student-t interval of ``mean``: over the policies' means (policies − 1 degrees of freedom)
        for several policies, over the episodes for one."""
        freedom = self.policies - 1 if self.policies > 1 else self.episodes - 1
        return float(stats.t.ppf(0.5 + confidence / 2, max(freedom, 1)) * self.stderr)


@dataclass(frozen=True)
class TradeoffPoint:
    """One policy of the sweep (the expert itself when ``alpha`` is None), or the summary of an α's replicates
    (``LipschitzTradeoff.summary``)."""

    alpha: float | None
    certified_constant: float
    """Sound global Lipschitz constant of the policy's network in the sweep's norm (``rlcert.certify``)."""
    training_error: float
    """Discrete: share of demonstration states where the action differs from the expert's; continuous: the
    largest ‖π(x_i) − u_i‖ over the pairs, in the sweep's norm (0 for the expert)."""
    train_seconds: float
    returns: tuple[ClosedLoopReturn, ...]
    learning_error_bound: float | None = None
    """e_train + (α + L*)·r_N (continuous actions; empirical through r_N)."""
    policy: Policy | None = field(default=None, repr=False, compare=False)
    replicate: int = 0

    def clean(self) -> ClosedLoopReturn:
        return next(r for r in self.returns if r.attack == "none")

    def under(self, attack: str, norm: str, eps: float) -> ClosedLoopReturn | None:
        return next((r for r in self.returns if (r.attack, r.norm, r.eps) == (attack, norm, eps)), None)


@dataclass(frozen=True)
class LipschitzTradeoff:
    """The sweep: one :class:`TradeoffPoint` per α, the expert's, and the guarantee terms they share."""

    subject: Subject
    config: TradeoffConfig
    rollout: RolloutOptions
    pairs: int
    demonstration_return: float
    """The expert's mean return over the demonstration episodes."""
    covering_radius: float
    """r_N: the largest distance (sweep norm) from a held-out expert state to its nearest demonstration state."""
    expert_lipschitz: float | None
    """L*: a sound Lipschitz constant of the expert's action map over the r_N-balls around the pairs (Fast-Lip,
    IBP; None for discrete actions, whose expert is a classifier)."""
    expert: TradeoffPoint
    points: tuple[TradeoffPoint, ...]
    seconds: float

    @property
    def discrete(self) -> bool:
        return isinstance(self.subject.policy.action_space, gym.spaces.Discrete)

    def summaries(self) -> tuple[TradeoffPoint, ...]:
        """One point per α over its replicates (the points themselves with one replicate): the largest certified
        constant (the one every replicate satisfies), the mean training error, the largest implied bound, and
        each setting's mean return with policies as clusters."""
        alphas = list(dict.fromkeys(p.alpha for p in self.points))
        return tuple(self.summary(alpha) for alpha in alphas)

    def summary(self, alpha: float) -> TradeoffPoint:
        group = [p for p in self.points if p.alpha == alpha]
        if len(group) == 1:
            return group[0]
        returns = []
        for first in group[0].returns:
            means = np.array([p.under(first.attack, first.norm, first.eps).mean if first.attack != "none"
                              else p.clean().mean for p in group])  # fmt: skip
            returns.append(ClosedLoopReturn(first.attack, first.norm, first.eps, float(means.mean()),
                                            float(means.std(ddof=1) / math.sqrt(len(means))),
                                            first.episodes * len(group), len(group)))  # fmt: skip
        bounds = [p.learning_error_bound for p in group]
        return TradeoffPoint(alpha, max(p.certified_constant for p in group),
                             float(np.mean([p.training_error for p in group])), sum(p.train_seconds for p in group),
                             tuple(returns), None if None in bounds else max(bounds), group[0].policy)  # fmt: skip

    def attacked_error_bound(self, point: TradeoffPoint, norm: str, eps: float) -> float | None:
        """The implied action error under an attack of radius ε in ``norm``: e_learn + constant · ε, with ε
        converted to the sweep's norm (an ℓ∞ ball of radius ε lies in the ℓ2 ball of radius ε√n)."""
        if point.learning_error_bound is None:
            return None
        dimension = int(np.prod(self.subject.policy.observation_space.shape))
        scale = math.sqrt(dimension) if (norm, self.config.norm) == ("inf", "2") else 1.0
        return point.learning_error_bound + point.certified_constant * eps * scale

    def best_alphas(self, attack: str, norm: str, eps: float) -> tuple[float, ...]:
        """The α values with the highest mean return in a setting, every one of a tie (several policies can play
        whole episodes); empty where the setting was not run."""
        scored = [(r.mean, p.alpha) for p in self.summaries() if (r := p.under(attack, norm, eps)) is not None]
        best = max((mean for mean, _ in scored), default=None)
        return tuple(alpha for mean, alpha in scored if mean == best)

    def findings(self) -> tuple[Finding, ...]:
        base = {"expert": self.subject.reference, "env": str(self.subject.env), "norm": self.config.norm,
                "method": self.config.method, "pairs": self.pairs}  # fmt: skip
        findings = [Finding("covering_radius", self.covering_radius, "empirical", params=base,
                            method=f"largest distance from {self.config.holdout_episodes} held-out expert episodes' "
                                   "states to the nearest demonstration state")]  # fmt: skip
        if self.expert_lipschitz is not None:
            findings.append(Finding("expert_local_lipschitz", self.expert_lipschitz, "sound", params=base,
                                    method="Fast-Lip (IBP) over the covering-radius ball of every demonstration "
                                           "state, maximum"))  # fmt: skip
        for point in (self.expert, *self.points):
            params = base | {"alpha": point.alpha if point.alpha is not None else "expert"}
            if self.config.replicates > 1 and point.alpha is not None:
                params |= {"replicate": point.replicate}
            findings.append(Finding("certified_lipschitz_constant", point.certified_constant, "sound", params=params,
                                    method="rlcert.certify.lipschitz_upper_bound of the exported network"))  # fmt: skip
            if point.alpha is not None:
                findings.append(Finding("training_error", point.training_error, "empirical", params=params,
                                        method="on the demonstrations"))  # fmt: skip
            if point.learning_error_bound is not None:
                findings.append(Finding("learning_error_bound", point.learning_error_bound, "empirical",
                                        params=params, method="e_train + (alpha + L*) r_N; r_N estimated"))  # fmt: skip
            for result in point.returns:
                setting = {"attack": result.attack} | (
                    {"attack_norm": result.norm, "eps": result.eps} if result.attack != "none" else {}
                )
                half = result.half_width()
                findings.append(Finding("mean_return", result.mean, "empirical", confidence=0.95,
                                        interval=(result.mean - half, result.mean + half),
                                        params=params | setting, method=_attack_method(result.attack),
                                        seed=self.rollout.seed))  # fmt: skip
        return tuple(findings)

    def to_dict(self) -> dict[str, Any]:
        def point_dict(point: TradeoffPoint) -> dict[str, Any]:
            out = {"alpha": point.alpha, "replicate": point.replicate, "certified_constant": point.certified_constant,
                   "training_error": point.training_error, "train_seconds": round(point.train_seconds, 3),
                   "learning_error_bound": point.learning_error_bound,
                   "returns": [{"attack": r.attack, "norm": r.norm, "eps": r.eps, "mean": r.mean, "stderr": r.stderr,
                                "episodes": r.episodes, "policies": r.policies} for r in point.returns]}  # fmt: skip
            out["attacked_error_bounds"] = [
                {"norm": norm, "eps": eps, "bound": self.attacked_error_bound(point, norm, eps)}
                for norm in self.config.norm_values() for eps in self.config.eps_values()
            ] if point.learning_error_bound is not None else []  # fmt: skip
            return out

        return {"subject": self.subject.to_dict(), "config": dict(vars(self.config)),
                "rollout": self.rollout.result_params(), "pairs": self.pairs,
                "demonstration_return": self.demonstration_return, "covering_radius": self.covering_radius,
                "expert_lipschitz": self.expert_lipschitz, "expert": point_dict(self.expert),
                "points": [point_dict(p) for p in self.points],
                "summaries": [point_dict(p) for p in self.summaries()] if self.config.replicates > 1 else [],
                "seconds": round(self.seconds, 1),
                "best_alphas": [{"attack": a, "norm": n, "eps": e, "alphas": list(self.best_alphas(a, n, e))}
                               for a in self.config.attack_kinds() for n in self.config.norm_values()
                               for e in self.config.eps_values()]}  # fmt: skip

    def plot(self, path: str | Path) -> Path:
        from rlcert.reports.plots import plot_lipschitz_tradeoff

        return plot_lipschitz_tradeoff(self, path)


def _attack_method(attack: str) -> str:
    return {"none": "clean observations",
            "critic": "per-step PGD toward the costliest action of a fitted critic of the return (CostCriticAttack)",
            "noise": "per-step random noise of the attack's size (RandomObservationNoise)"}[attack]  # fmt: skip


def _states_of(demonstrations: Demonstrations) -> np.ndarray:
    return demonstrations.states.reshape(len(demonstrations), -1).astype(np.float64)


def _covering_radius(samples: np.ndarray, queries: np.ndarray, norm: str) -> float:
    distances, _ = cKDTree(samples).query(queries, k=1, p=2 if norm == "2" else np.inf)
    return float(np.max(distances))


def _expert_local_lipschitz(expert: Policy, states: np.ndarray, radius: float, norm: str) -> float | None:
    module = getattr(expert, "module", None)
    if isinstance(expert.action_space, gym.spaces.Discrete) or module is None:
        return None
    x = torch.as_tensor(states, dtype=torch.float32).reshape(len(states), *expert.observation_space.shape)
    bounds = [local_lipschitz_bound(module, x[start : start + 2048], radius, norm, "ibp")
              for start in range(0, len(x), 2048)]  # fmt: skip
    return float(torch.cat(bounds).max())


def _training_error(policy: Policy, demonstrations: Demonstrations, norm: str) -> float:
    """On every pair: the disagreement share (discrete) or the largest action error (continuous) of the actions
    the policy takes (clipped to the action box, as in closed loop)."""
    taken = policy.act(demonstrations.states)
    if demonstrations.discrete:
        return float(np.mean(taken != demonstrations.actions))
    error = (taken - demonstrations.actions).reshape(len(demonstrations), -1)
    return float(np.max(np.linalg.norm(error, ord=2 if norm == "2" else np.inf, axis=1)))


def _train(demonstrations: Demonstrations, alpha: float, config: TradeoffConfig, expert: Policy, seed: int,
           replicate: int) -> tuple[Policy, float]:  # fmt: skip
    """The policy trained under α (one replicate) and its training time."""
    if config.method != "graph":
        trained = train_lipschitz_policy(demonstrations, config.imitation(alpha, seed, replicate),
                                         expert.observation_space,
                                         expert.action_space)  # fmt: skip
        return trained.policy, trained.train_seconds
    graph = train_graph_policy(demonstrations, GraphImitationConfig(alpha, config.norm))
    module = nn.Sequential(nn.Flatten(), graph.extension).eval()
    policy = TorchModulePolicy(module, expert.observation_space, expert.action_space, "action_mean",
                               name=f"lipschitz-graph-alpha{alpha:g}")  # fmt: skip
    return policy, graph.train_seconds


def _closed_loop(policy: Policy, subject: Subject, config: TradeoffConfig, rollout: RolloutOptions, label: str,
                 ) -> tuple[ClosedLoopReturn, ...]:  # fmt: skip
    """Clean, attacked and noisy returns of ``policy`` on the sweep's shared evaluation episodes."""
    seed = child_seed(rollout.seed, EVALUATION_STREAM)

    def measure(attack: Attack | None, kind: str, norm: str | None, eps: float) -> ClosedLoopReturn:
        subdir = f"{label}/{kind}" + (f"-{norm}-{eps:g}" if attack is not None else "")
        episodes = run(policy, subject.env, config.episodes, attack=attack, **rollout.run_options(subdir) | {
            "seed": seed, "progress": False})  # fmt: skip
        return ClosedLoopReturn(kind, norm, eps, episodes.mean_return, episodes.stderr_return, len(episodes))

    results = [measure(None, "none", None, 0.0)]
    critic = None
    if "critic" in config.attack_kinds():
        critic = fit_cost_critic(policy, subject.env, config.critic_episodes,
                                 np.random.SeedSequence(rollout.seed, spawn_key=(SUB_RUN, CRITIC_STREAM)),
                                 gamma=config.critic_gamma, cost="negative-reward")  # fmt: skip
    for norm in config.norm_values():
        for eps in config.eps_values():
            for kind in config.attack_kinds():
                attack = (CostCriticAttack(critic, eps=eps, norm=norm, steps=config.attack_steps) if kind == "critic"
                          else RandomObservationNoise(eps, norm))  # fmt: skip
                results.append(measure(attack, kind, norm, eps))
    return tuple(results)


def lipschitz_tradeoff(
    expert: str | Path | Policy | Subject,
    env: str | None = None,
    config: TradeoffConfig | None = None,
    rollout: RolloutOptions | None = None,
    on_point: Callable[[TradeoffPoint], None] | None = None,
) -> LipschitzTradeoff:
    """Train one Lipschitz-constrained policy per α from the expert's demonstrations and measure each in closed
    loop, clean, attacked and under noise (module docstring). ``on_point`` sees each finished point (progress)."""
    config = config or TradeoffConfig()
    rollout = rollout or RolloutOptions()
    started = time.perf_counter()
    subject = resolve_subject(expert, env)
    policy = subject.policy
    discrete = isinstance(policy.action_space, gym.spaces.Discrete)
    if config.method == "graph" and discrete:
        raise InvalidValueError("--method graph fits continuous actions; this expert's actions are discrete")
    if not hasattr(policy, "scores") and "critic" in config.attack_kinds():
        raise InvalidValueError("the critic attack needs an expert with a differentiable network (zoo, SB3, .pt)")
    if subject.env.frame_stack > 1:
        raise InvalidValueError(f"{subject.env} stacks frames; the closed-loop attacks take single observations")
    demonstrations = collect_demonstrations(policy, subject.env, config.demo_episodes,
                                            child_seed(rollout.seed, DEMOS_STREAM), subject.reference,
                                            config.pairs)  # fmt: skip
    holdout = collect_demonstrations(policy, subject.env, config.holdout_episodes,
                                     child_seed(rollout.seed, HOLDOUT_STREAM), subject.reference)  # fmt: skip
    samples = _states_of(demonstrations)
    radius = _covering_radius(samples, _states_of(holdout), config.norm)
    expert_lipschitz = _expert_local_lipschitz(policy, samples, radius, config.norm)
    expert_point = TradeoffPoint(None, lipschitz_upper_bound(policy.module, config.norm) if hasattr(policy, "module")
                                 else math.inf, 0.0, 0.0, _closed_loop(policy, subject, config, rollout, "expert"),
                                 policy=policy)  # fmt: skip
    if on_point is not None:
        on_point(expert_point)
    points = []
    for alpha in config.alpha_values():
        for replicate in range(config.replicates):
            trained, seconds = _train(demonstrations, alpha, config, policy, rollout.seed, replicate)
            error = _training_error(trained, demonstrations, config.norm)
            constant = lipschitz_upper_bound(trained.module, config.norm)
            bound = None if expert_lipschitz is None else error + (constant + expert_lipschitz) * radius
            label = f"alpha-{alpha:g}" + (f"-replicate-{replicate}" if replicate else "")
            returns = _closed_loop(trained, subject, config, rollout, label)
            point = TradeoffPoint(alpha, constant, error, seconds, returns, bound, policy=trained, replicate=replicate)
            points.append(point)
            if on_point is not None:
                on_point(point)
    return LipschitzTradeoff(subject, config, rollout, len(demonstrations), demonstrations.mean_return, radius,
                             expert_lipschitz, expert_point, tuple(points), time.perf_counter() - started)  # fmt: skip
