"""The built-in audit checks: one registration per library analysis."""

from __future__ import annotations

from typing import Any

from rlcert.analyses.action_certificates import (
    ActionCertificatesAnalysis,
    ActionCertificatesConfig,
    certify_action_robustness,
)
from rlcert.analyses.constraints import ConstraintAnalysis, ConstraintConfig, certify_constraints
from rlcert.analyses.evaluation import Evaluation, EvaluationConfig, evaluate_policy
from rlcert.analyses.hijack import HijackStressConfig, HijackStressTest, hijack_stress_test
from rlcert.analyses.instability import InstabilityAnalysis, InstabilityConfig, analyze_instability
from rlcert.analyses.lipschitz import LipschitzAnalysis, LipschitzConfig, lipschitz_bounds
from rlcert.analyses.reward import RewardCertificateAnalysis, RewardCertificateConfig, certify_reward
from rlcert.analyses.smoothed_actions import SmoothedActionsAnalysis, SmoothedActionsConfig, certify_smoothed_actions
from rlcert.analyses.stress import StressAnalysis, StressTestConfig, stress_test_policy
from rlcert.analyses.subject import Subject
from rlcert.audit.checks import CheckKind, Verdict, register_check
from rlcert.reports.findings import Finding

__all__: list[str] = []


def _always(subject: Subject, config: Any) -> str | None:
    return None


def _needs_smoothing_noise(subject: Subject, config: Any) -> str | None:
    if subject.trained_sigma or config.sigma is not None:
        return None
    return f"{subject.reference} was not trained with smoothing noise: give sigma in the check to certify it"


def _needs_torch_policy(subject: Subject, config: Any = None) -> str | None:
    if hasattr(subject.policy, "scores"):
        return None
    return f"{subject.reference} has no differentiable scores (a TorchPolicy is needed)"


def _needs_module(subject: Subject, config: Any = None) -> str | None:
    if hasattr(subject.policy, "module"):
        return None
    return f"{subject.reference} exposes no torch network to propagate bounds through"


def _evaluation_reading(result: Evaluation) -> str:
    return (
        f"The mean return over {len(result.episodes)} seeded episodes is what was observed (empirical): an estimate "
        "with a 95 % normal-approximation interval, not a bound. It says how the policy plays in this env as "
        "configured, nothing about perturbed observations or other envs."
    )


def _middle(findings: tuple[Finding, ...], prefix: str) -> Finding:
    """The middle one of a check's findings named ``prefix...`` (one per budget or radius): neither the
    trivial smallest setting nor the hardest."""
    named = [f for f in findings if f.name.startswith(prefix)]
    return named[(len(named) - 1) // 2] if len(named) > 2 else named[-1]


def _reward_reading(result: RewardCertificateAnalysis) -> str:
    what = "success probability" if result.config.binary else "expected return"
    return (
        f"With probability at least {1 - result.config.alpha:.0%} over the {result.episodes} clean smoothed episodes, "
        f"the smoothed policy's {what} under any observation attack whose total l2 perturbation over an episode "
        f"is at most B — adaptive, seeing the whole history — is at least the certified value (statistical; "
        f"Kumar et al. 2022). It holds for the smoothed policy (Gaussian noise σ = {result.sigma:g} added to every "
        "observation at test time) in this env and probe stack only: it says nothing about the policy without "
        "noise, budgets larger than B, or another env. Attacked means, where shown, are what one attack "
        "achieved (empirical): a reference above the bound, not a bound."
    )


def _smoothed_actions_reading(result: SmoothedActionsAnalysis) -> str:
    return (
        f"For each of the {len(result.certificate.radii)} states visited, with probability at least "
        f"{1 - result.config.alpha:.0%} no l2 perturbation of the observation smaller than its radius changes the "
        "smoothed policy's action there (statistical, CROP-LoAct, Wu et al. 2022). Each radius holds on its own, "
        "not all at once; the fractions are over the states these episodes visited, not over every state, and "
        "an unchanged action at each state does not by itself bound the return."
    )


register_check(
    CheckKind(
        name="evaluation",
        title="Return without perturbation",
        config_class=EvaluationConfig,
        run=lambda subject, config, rollout: evaluate_policy(subject, None, config, rollout),
        applies=_always,
        headline=lambda result: result.findings()[0],
        reading=_evaluation_reading,
    )
)
register_check(
    CheckKind(
        name="reward_certificate",
        title="Certified reward under observation attack (policy smoothing)",
        config_class=RewardCertificateConfig,
        run=lambda subject, config, rollout: certify_reward(subject, None, config, rollout),
        applies=_needs_smoothing_noise,
        headline=lambda result: _middle(result.findings(), "certified_"),
        reading=_reward_reading,
        default_config={"attack_episodes": 20, "attack_noise_samples": 64},
    )
)
register_check(
    CheckKind(
        name="smoothed_actions",
        title="Certified actions at visited states (CROP, smoothed policy)",
        config_class=SmoothedActionsConfig,
        run=lambda subject, config, rollout: certify_smoothed_actions(subject, None, config, rollout),
        applies=lambda subject, config: _needs_smoothing_noise(subject, config) or _needs_torch_policy(subject),
        headline=lambda result: _middle(result.findings(), "certified_state_fraction"),
        reading=_smoothed_actions_reading,
        checkpoints=False,
    )
)


def _action_certificates_reading(result: ActionCertificatesAnalysis) -> str:
    return (
        f"A state counts as certified at ε when bound propagation ({result.config.method}) proves that no "
        f"perturbation of its observation within the l{result.config.norm} ball of radius ε changes the "
        f"policy's action there: a sound guarantee, for the {result.states} states these episodes visited and "
        "the policy as it is (no smoothing). A sound episode has every step certified, so its return is "
        "certified against any such per-step attack. It says nothing about states never visited, larger ε, or "
        "perturbations of the dynamics."
    )


def _lipschitz_reading(result: LipschitzAnalysis) -> str:
    return (
        f"Upper bounds on how fast the network's scores can change with its input (l{result.config.norm} to "
        f"l{result.config.norm}; sound). The global bound holds everywhere and is usually loose; the local bounds "
        f"hold within each ε-ball around the {result.states} visited states. A small bound means small "
        "perturbations move the scores little; it does not by itself say whether the action changes."
    )


def _stress_verdict(result: StressAnalysis) -> Verdict:
    verdicts = [r.verdict for r in result.report.results]
    tolerance = f"a drop of at most {result.tolerance:.0%}"
    if result.passed:
        return Verdict("pass", f"every one of {len(verdicts)} settings keeps {tolerance} (empirical, paired)")
    if "fail" in verdicts:
        failed = [r for r in result.report.results if r.verdict == "fail"]
        names = ", ".join(f"{r.setting.family} @ {r.setting.severity:g}" for r in failed[:3])
        return Verdict(
            "fail", f"{len(failed)} of {len(verdicts)} settings drop more than {result.tolerance:.0%}: {names}"
        )
    return Verdict("inconclusive", f"not every setting could be told from {tolerance} at {result.episodes} episodes")


def _stress_headline(result: StressAnalysis) -> Finding:
    drops = [f for f in result.findings() if f.name.startswith("relative_return_drop")]
    return max(drops, key=lambda f: f.value) if drops else result.findings()[0]


def _stress_reading(result: StressAnalysis) -> str:
    return (
        f"The return under each probe setting against the unperturbed baseline, over {result.episodes} paired "
        "episodes each (the same seeds and initial states): what was observed (empirical), with a "
        f"{result.config.confidence:.0%} interval on each relative drop. A pass says no tested setting dropped the "
        "return beyond the tolerance; it says nothing about settings not tested, and nothing adversarial."
    )


register_check(
    CheckKind(
        name="action_certificates",
        title="Sound action certificates (bound propagation)",
        config_class=ActionCertificatesConfig,
        run=lambda subject, config, rollout: certify_action_robustness(subject, None, config, rollout),
        applies=_needs_module,
        headline=lambda result: _middle(result.findings(), "certified_state_fraction"),
        reading=_action_certificates_reading,
        checkpoints=False,
        default_config={"episodes": 2, "max_states": 100, "radius_iterations": 8, "lipschitz": False},
    )
)
register_check(
    CheckKind(
        name="lipschitz",
        title="Lipschitz bounds of the policy network",
        config_class=LipschitzConfig,
        run=lambda subject, config, rollout: lipschitz_bounds(subject, None, config, rollout),
        applies=_needs_module,
        headline=lambda result: result.findings()[-1],
        reading=_lipschitz_reading,
        checkpoints=False,
        default_config={"episodes": 1, "max_states": 100},
    )
)
register_check(
    CheckKind(
        name="stress",
        title="Stress test under environment probes",
        config_class=StressTestConfig,
        run=lambda subject, config, rollout: stress_test_policy(subject, None, config, rollout),
        applies=_always,
        headline=_stress_headline,
        reading=_stress_reading,
        own_verdict=_stress_verdict,
    )
)


def _reports_cost(subject: Subject, config: Any) -> str | None:
    from rlcert.envs.cmdp import reports_cost

    return None if reports_cost(subject.env) else f"{subject.env} reports no constraint cost (info['cost'])"


def _constraints_reading(result: ConstraintAnalysis) -> str:
    reading = (
        f"With probability at least {1 - result.config.alpha:.0%} over the {len(result.episodes)} episodes, the "
        f"chance that one episode's cost exceeds {result.config.limit:g} is at most the bound shown (statistical, "
        "Clopper-Pearson); the mean cost and the violation rate are what was observed (empirical). It holds for "
        "this env and probe stack with the policy as it acts"
    )
    if result.attacked is None:
        return reading + ", not under attack."
    return reading + (
        f"; the attacked_ figures are the same under a cost-maximising observation attack (l-inf "
        f"eps={result.config.attack_eps:g}, steered by a learned cost critic): they hold against that attack only, "
        "and a stronger attack may raise the cost further."
    )


def _constraints_headline(result: ConstraintAnalysis):
    """The clean violation bound (the attacked one, when present, is listed with the other findings)."""
    return next(f for f in result.findings() if f.name.startswith("violation_probability_upper"))


register_check(
    CheckKind(
        name="constraints",
        title="Constraint certificate (episode cost against its limit)",
        config_class=ConstraintConfig,
        run=lambda subject, config, rollout: certify_constraints(subject, None, config, rollout),
        applies=_reports_cost,
        headline=_constraints_headline,
        reading=_constraints_reading,
    )
)


def _instability_reading(result: InstabilityAnalysis) -> str:
    return (
        "G_S is the perturbation direction that most often changes the policy's action across the visited states "
        f"(found by a local search of radius {result.config.eps:g} at each state); its explained share says how "
        "much of the unstable energy one direction holds. Each Λ says how much of that direction a shifted set "
        "shares (1: the same, 0: orthogonal), and the oscillation how far it turns between consecutive windows of "
        "an episode. All are empirical descriptions of where the decision boundary lies near the sampled states, "
        "not bounds: a direction not found by the search may exist."
    )


def _instability_headline(result: InstabilityAnalysis) -> Finding:
    """The shifted set that keeps least of the baseline's unstable direction (its smallest Λ)."""
    quotients = [f for f in result.findings() if f.name.startswith("feature_correlation_quotient")]
    return min(quotients, key=lambda f: f.value) if quotients else result.findings()[0]


register_check(
    CheckKind(
        name="instability",
        title="Decision-boundary instability (principal unstable directions and their shifts)",
        config_class=InstabilityConfig,
        run=lambda subject, config, rollout: analyze_instability(subject, None, config, rollout),
        applies=_needs_module,
        headline=_instability_headline,
        reading=_instability_reading,
        checkpoints=False,
        default_config={"episodes": 2, "max_states": 200, "window": 20},
    )
)


def _surprise_reading(result: HijackStressTest) -> str:
    config = result.config
    return (
        f"A learned hijacker (PPO, {config.hijacker_timesteps} steps, maximizing the policy's {config.objective}) and "
        f"uniformly random actions each took over the policy's body for {config.steps} steps from step "
        f"{config.start}, in the same {config.episodes} seeded episodes. The figures compare what the policy then "
        "suffered: its return, its surprise (−log p of its observations under a Gaussian of its own clean "
        "observations) and the steps until an observation was familiar again, with paired 95 % intervals. All are "
        "empirical: one hijacker found is a lower bound on what a hijack can do, not the worst case."
    )


def _surprise_headline(result: HijackStressTest) -> Finding:
    """The paired difference in return between the learned and the random hijack."""
    named = [f for f in result.findings() if f.name == "return_learned_minus_random"]
    return named[0] if named else result.findings()[0]


register_check(
    CheckKind(
        name="surprise",
        title="Hijack stress test (a learned Adversarial-Surprise hijacker against a random one)",
        config_class=HijackStressConfig,
        run=lambda subject, config, rollout: hijack_stress_test(subject, None, config, rollout),
        applies=lambda subject, config=None: None,
        headline=_surprise_headline,
        reading=_surprise_reading,
        checkpoints=False,
        default_config={"episodes": 20, "hijacker_timesteps": 5_000, "clean_episodes": 10},
    )
)
