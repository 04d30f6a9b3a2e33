"""``rlcert certify reward`` and ``rlcert certify smoothed-actions``: the smoothing certificates on the CLI."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from reports.errors import InvalidValueError
from rlcert.config import RolloutOptions

__all__ = [
    "CertifyRewardConfig",
    "CertifySmoothedActionsConfig",
    "certify_reward",
    "certify_smoothed_actions",
    "load_returns",
]


@dataclass(frozen=True)
class CertifyRewardConfig(RolloutOptions):
    """Certify a lower bound on the expected return of a Gaussian-smoothed policy under any adaptive
    l2 observation attack of total budget B (Kumar et al. 2022); statistical at confidence 1 - alpha."""

    policy: str = "zoo:cartpole5-ppo-sigma0.2"
    """Policy: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    sigma: float | None = None
    """Smoothing noise std on every raw frame; defaults to the noise a zoo agent was trained with."""
    budgets: str = "0:1:0.2"
    """Total l2 budgets: start:stop:step (stop included) or a comma list."""
    episodes: int = 10_000
    """Clean smoothed episodes behind the certificate."""
    alpha: float = 0.05
    """1 - confidence of the certificate."""
    bound: str = "ell"
    """Confidence band: ell (simultaneous, variance-adaptive), clopper-pearson, dkw or hoeffding."""
    range: str | None = None
    """Range a:b every return lies in; defaults to what the env's rules imply (CartPole-v0: 0:200)."""
    success_min_return: float | None = None
    """Certify P(success) instead, success = return >= this (MountainCar-v0 goal reached: -199)."""
    from_returns: str | None = None
    """Certify returns saved by another tool (JSON list or .npy) instead of running the policy."""
    attack_episodes: int = 0
    """If > 0, attack this many smoothed episodes per budget with the adaptive l2 PGD (empirical check)."""
    attack_noise_samples: int = 128
    """Noise samples of the attack's expectation over noise."""
    undefended: str | None = None
    """Also attack this policy without smoothing (e.g. zoo:cartpole5-dqn), for comparison."""
    out: str = "results/certify_reward.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""


@dataclass(frozen=True)
class CertifySmoothedActionsConfig:
    """Per-state certificates (CROP-LoAct, Wu et al. 2022): the certified l2 radius of the smoothed
    action at every state visited along episodes, and the fraction certified at each eps."""

    policy: str = "zoo:cartpole5-ppo-sigma0.2"
    """Policy reference."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    sigma: float | None = None
    """Smoothing noise std; defaults to the noise a zoo agent was trained with."""
    episodes: int = 5
    """Episodes whose visited states are certified."""
    samples: int = 10_000
    """Noise samples per state."""
    alpha: float = 0.05
    """Each state's radius holds with probability >= 1 - alpha."""
    eps: str = "0.05,0.1,0.2"
    """Radii at which to report the certified fraction."""
    score_range: str | None = None
    """V_min:V_max for Q-value policies (defaults to a zoo agent's value range); logits need none."""
    seed: int = 0
    """Seed of the episodes and the noise."""
    out: str = "results/certify_smoothed_actions.json"
    """Where to write the JSON report."""


def load_returns(path: str | Path) -> np.ndarray:
    """Episode returns from a JSON list (or {"returns": [...]}), a .npy array, or a text file of numbers."""
    path = Path(path)
    if not path.is_file():
        raise InvalidValueError(f"returns file {str(path)!r} does not exist")
    try:
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        elif path.suffix == ".json":
            data = json.loads(path.read_text())
            values = data.get("returns") if isinstance(data, dict) else data
        else:
            values = np.loadtxt(path, ndmin=1)
        returns = np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError, OSError) as exc:
        raise InvalidValueError(f"cannot read returns from {str(path)!r}: {exc}") from None
    if returns.ndim != 1 or returns.size == 0 or not np.all(np.isfinite(returns)):
        raise InvalidValueError(f"{str(path)!r} must hold a non-empty flat list of finite returns")
    return returns


def _parse_range(text: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(":"))
    except ValueError:
        raise InvalidValueError(f"range must look like a:b (e.g. 0:200), got {text!r}") from None
    return low, high


def _zoo_meta(policy: str) -> dict[str, Any] | None:
    if not policy.startswith("zoo:"):
        return None
    from agents import zoo_entry

    return zoo_entry(policy[len("zoo:") :]).meta


def _resolve_policy_env_sigma(policy_ref: str, env: str | None, sigma: float | None) -> tuple[Any, str, float]:
    from agents import load_policy, policy_env

    meta = _zoo_meta(policy_ref)
    policy = load_policy(policy_ref)
    env = policy_env(policy_ref, env)
    if sigma is None:
        trained = (meta or {}).get("training", {}).get("noise_sigma", 0.0)
        if not trained:
            raise InvalidValueError("--sigma is required (this policy was not trained with smoothing noise)")
        sigma = float(trained)
    return policy, env, float(sigma)


def _mean_and_stderr(values: np.ndarray) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def _attack_check(policy, env, budget, sigma, config, outcome, context, name) -> tuple[tuple[float, float], Any]:
    """Mean (and standard error) of the outcome under the adaptive attack; smoothed when sigma > 0."""
    from attacks import BudgetedSmoothedPGD, GaussianSmoothing
    from envs import make_executor, run
    from reports import Finding

    episodes = run(
        policy,
        env,
        config.attack_episodes,
        attack=BudgetedSmoothedPGD(budget, sigma, noise_samples=config.attack_noise_samples),
        defense=GaussianSmoothing(sigma) if sigma > 0 else None,
        seed=config.seed + 1,
        executor=make_executor(config.workers),
        chunk_size=config.chunk_size,
        progress=config.progress,
        probe=config.probe_stack(),
    )
    mean_and_stderr = _mean_and_stderr(outcome(episodes.returns))
    method = "adaptive budgeted l2 PGD" + (" with expectation over noise" if sigma > 0 else ", no smoothing")
    finding = Finding(
        f"{name}@B={budget:g}",
        mean_and_stderr[0],
        "empirical",
        method=method,
        params={
            **context,
            "budget": budget,
            "sigma": sigma,
            "episodes": config.attack_episodes,
            "noise_samples": config.attack_noise_samples if sigma > 0 else 1,
        },
    )
    return mean_and_stderr, finding


def certify_reward(config: CertifyRewardConfig) -> int:
    from rich.table import Table

    from attacks import GaussianSmoothing
    from certify.reward import binary_certificate, parse_budgets, reward_certificate
    from envs import make_executor, run
    from envs.factory import known_return_range
    from reports import AuditReport, Finding, plot_certificate_curve
    from reports.console import report_console
    from rlcert import versions

    budgets = parse_budgets(config.budgets)
    start = time.perf_counter()
    policy = env = None
    if config.from_returns is not None:
        if config.sigma is None:
            raise InvalidValueError(
                "--sigma is required with --from-returns (the noise the episodes were smoothed with)"
            )
        sigma, returns = float(config.sigma), load_returns(config.from_returns)
        subject = {"returns_file": config.from_returns}
    else:
        policy, env, sigma = _resolve_policy_env_sigma(config.policy, config.env, config.sigma)
        clean = run(
            policy,
            env,
            config.episodes,
            defense=GaussianSmoothing(sigma),
            seed=config.seed,
            executor=make_executor(config.workers),
            chunk_size=config.chunk_size,
            checkpoint_dir=config.checkpoint_dir,
            progress=config.progress,
            probe=config.probe_stack(),
        )
        returns = clean.returns
        subject = {"policy": config.policy, "env": env}
        if config.probe is not None:
            subject["probe"] = config.probe_stack().label
    binary = config.success_min_return is not None
    low = high = None
    if config.range is not None:
        low, high = _parse_range(config.range)
    elif env is not None and (known := known_return_range(env)) is not None:
        low, high = known
    elif not binary:
        raise InvalidValueError("--range a:b is required: rlcert does not know the return range of this env")
    context = {"seed": config.seed} | subject
    if binary:
        successes = int(np.sum(returns >= config.success_min_return))
        cert = binary_certificate(successes, len(returns), sigma, budgets, config.alpha)
        clean_value, unit = cert.success_rate, "success_rate"
        findings = [
            Finding(
                "clean_success_rate",
                clean_value,
                "empirical",
                params={
                    **context,
                    "sigma": sigma,
                    "success_min_return": config.success_min_return,
                    "episodes": len(returns),
                },
            )
        ]
        findings += cert.findings(**context, success_min_return=config.success_min_return)
    else:
        cert = reward_certificate(returns, sigma, budgets, config.alpha, config.bound, low, high)
        clean_value, unit = cert.clean_mean, "return"
        findings = [
            Finding(
                "clean_smoothed_mean_return",
                clean_value,
                "empirical",
                params={**context, "sigma": sigma, "episodes": len(returns)},
            )
        ]
        findings += cert.findings(**context)

    def outcome(values: np.ndarray) -> np.ndarray:
        return (values >= config.success_min_return).astype(float) if binary else values

    attacked: dict[float, tuple[float, float]] = {}
    undefended: dict[float, tuple[float, float]] = {}
    if config.attack_episodes > 0 and policy is not None:
        for budget in (float(b) for b in budgets[budgets > 0]):
            attacked[budget], finding = _attack_check(
                policy, env, budget, sigma, config, outcome, context, f"attacked_mean_{unit}"
            )
            findings.append(finding)
            if config.undefended:
                from agents import load_policy

                undefended[budget], finding = _attack_check(
                    load_policy(config.undefended),
                    env,
                    budget,
                    0.0,
                    config,
                    outcome,
                    context | {"policy": config.undefended},
                    f"undefended_attacked_mean_{unit}",
                )
                findings.append(finding)
    findings = [replace(f, versions=versions()) for f in findings]
    report = AuditReport(
        "rlcert certify reward",
        findings,
        subject=subject | {"sigma": sigma},
        extra={
            "config": asdict(config),
            "wall_time_s": time.perf_counter() - start,
            "range": [low, high],
            "certificate": cert.to_dict() if not binary else None,
        },
    )
    path = report.save(config.out)
    plot = plot_certificate_curve(
        budgets,
        cert.certified,
        Path(config.out).with_suffix(".png"),
        clean_mean=clean_value,
        attacked=attacked,
        undefended=undefended,
        confidence=1 - config.alpha,
        ylabel="success probability" if binary else "expected return",
        title=f"{subject.get('policy', config.from_returns)} · σ={sigma:g} · N={len(returns)} · "
        + ("Clopper-Pearson" if binary else f"{config.bound} band"),
    )
    table = Table(
        title=f"certified {'success probability' if binary else 'expected return'} "
        f"(statistical, confidence {1 - config.alpha:.0%}) · clean smoothed {clean_value:.4g}"
    )
    overlays = [
        (name, data)
        for name, data in (("attacked (empirical)", attacked), ("undefended attacked (empirical)", undefended))
        if data
    ]
    for column in ("budget B", "certified", *(name for name, _ in overlays)):
        table.add_column(column, justify="right")
    for budget, value in zip(budgets, cert.certified):
        cells = [data.get(float(budget)) for _, data in overlays]
        table.add_row(f"{budget:g}", f"{value:.4g}", *(f"{c[0]:.4g} ± {1.96 * c[1]:.2g}" if c else "" for c in cells))
    console = report_console()
    console.print(table)
    console.print(f"report written to {path}, plot to {plot}")
    return 0


def certify_smoothed_actions(config: CertifySmoothedActionsConfig) -> int:
    from certify.crop import visited_state_certificate
    from reports import AuditReport, findings_table
    from reports.console import report_console
    from rlcert import versions

    policy, env, sigma = _resolve_policy_env_sigma(config.policy, config.env, config.sigma)
    score_range = None
    if config.score_range is not None:
        score_range = _parse_range(config.score_range)
    elif getattr(policy, "output", None) == "q_values":
        meta_range = (_zoo_meta(config.policy) or {}).get("value_range")
        if meta_range is None:
            raise InvalidValueError("--score-range V_min:V_max is required for a Q-value policy")
        score_range = tuple(meta_range)
    eps_values = [float(x) for x in config.eps.split(",") if x.strip()]
    cert = visited_state_certificate(
        policy,
        env,
        config.episodes,
        sigma,
        seed=config.seed,
        samples=config.samples,
        alpha=config.alpha,
        score_range=score_range,
    )
    findings = cert.findings(eps_values, policy=config.policy, env=env, episodes=config.episodes)
    report = AuditReport(
        "rlcert certify smoothed-actions",
        [replace(f, versions=versions()) for f in findings],
        subject={"policy": config.policy, "env": env, "sigma": sigma},
        extra={"radii": cert.radii.tolist()},
    )
    path = report.save(config.out)
    console = report_console()
    console.print(findings_table(report.findings, title=f"CROP per-state certificates · σ={sigma:g}"))
    console.print(f"report written to {path}")
    return 0
