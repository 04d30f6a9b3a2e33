"""``rlcert certify reward`` and ``rlcert certify smoothed-actions``: the smoothing certificates on the CLI."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.config import (
    RolloutOptions,
    check_count,
    check_finite,
    check_output_path,
    check_probability_open,
    parse_radii,
)
from rlcert.reports.errors import InvalidValueError

__all__ = [
    "CertifyRewardConfig",
    "CertifySmoothedActionsConfig",
    "certify_reward",
    "certify_smoothed_actions",
    "load_returns",
]

DEFAULT_SMOOTHED_POLICY = "zoo:cartpole5-ppo-sigma0.2"


def _flags(names: list[str]) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in names)


@dataclass(frozen=True)
class CertifyRewardConfig(RolloutOptions):
    """Certify a lower bound on the expected return of a Gaussian-smoothed policy under any adaptive
    l2 observation attack of total budget B (Kumar et al. 2022); statistical at confidence 1 - alpha."""

    policy: str | None = None
    """Policy: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it (default:
    zoo:cartpole5-ppo-sigma0.2; not with --from-returns)."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    sigma: float | None = None
    """Smoothing noise std on every raw frame; defaults to the noise a zoo agent was trained with."""
    budgets: str = "0:1:0.2"
    """Total l2 budgets: start:stop:step (stop included) or a comma list."""
    episodes: int | None = None
    """Clean smoothed episodes behind the certificate (default 10000; with --from-returns, the file's)."""
    alpha: float = 0.05
    """1 - confidence of the certificate."""
    bound: str | None = None
    """Confidence band: ell (default; simultaneous, variance-adaptive), clopper-pearson, dkw or hoeffding. A
    success certificate (--success-min-return) always uses Clopper-Pearson."""
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

    def __post_init__(self) -> None:
        from rlcert.certify.confidence import BAND_METHODS
        from rlcert.certify.reward import parse_budgets

        super().__post_init__()
        parse_budgets(self.budgets)
        check_probability_open("alpha", self.alpha)
        if self.sigma is not None:
            check_finite("sigma", self.sigma, 0, strict=True)
        if self.episodes is not None:
            check_count("episodes", self.episodes)
        check_count("attack_episodes", self.attack_episodes, 0)
        check_count("attack_noise_samples", self.attack_noise_samples)
        if self.range is not None:
            _parse_range(self.range)
        if self.success_min_return is not None:
            check_finite("success_min_return", self.success_min_return)
        if self.bound is not None and self.bound not in BAND_METHODS:
            raise InvalidValueError(f"--bound must be one of {', '.join(BAND_METHODS)}, got {self.bound!r}")
        if self.success_min_return is not None and self.bound not in (None, "clopper-pearson"):
            raise InvalidValueError(
                f"--bound {self.bound} does not apply to a success certificate (--success-min-return), which "
                "always uses Clopper-Pearson: leave --bound out"
            )
        if self.undefended is not None and self.attack_episodes == 0:
            raise InvalidValueError("--undefended needs --attack-episodes > 0 (the undefended agent is attacked)")
        if self.from_returns is not None:
            if not Path(self.from_returns).is_file():
                raise InvalidValueError(f"--from-returns {self.from_returns!r} is not a file")
            # Episodes saved by another tool: nothing is run, so no option about running applies.
            running = {
                "policy": self.policy,
                "env": self.env,
                "episodes": self.episodes,
                "undefended": self.undefended,
                "probe": self.probe,
                "checkpoint_dir": self.checkpoint_dir,
                "attack_episodes": self.attack_episodes or None,
            }
            given = [name for name, value in running.items() if value is not None]
            if given:
                raise InvalidValueError(
                    f"--from-returns certifies returns saved elsewhere, so {_flags(given)} cannot apply: leave "
                    f"{'it' if len(given) == 1 else 'them'} out"
                )
            if self.sigma is None:
                raise InvalidValueError("--sigma is required with --from-returns (the noise the episodes had)")
            if self.range is None and self.success_min_return is None:
                raise InvalidValueError("--range a:b is required with --from-returns (the range every return lies in)")
        check_output_path("out", self.out)

    @property
    def policy_ref(self) -> str:
        return self.policy or DEFAULT_SMOOTHED_POLICY

    @property
    def band(self) -> str:
        """The band actually used: Clopper-Pearson for a success certificate, else --bound (default ell)."""
        return "clopper-pearson" if self.success_min_return is not None else (self.bound or "ell")

    @property
    def episode_count(self) -> int:
        return self.episodes or 10_000


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

    def __post_init__(self) -> None:
        check_count("episodes", self.episodes)
        check_count("samples", self.samples)
        check_probability_open("alpha", self.alpha)
        check_count("seed", self.seed, 0)
        if self.sigma is not None:
            check_finite("sigma", self.sigma, 0, strict=True)
        self.eps_values  # noqa: B018 - parsed here so a malformed list is refused before any episode runs
        if self.score_range is not None:
            _parse_range(self.score_range, "score_range")
        check_output_path("out", self.out)

    @property
    def eps_values(self) -> list[float]:
        return parse_radii(self.eps, "eps")


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
            if isinstance(data, dict) and set(data) != {"returns"}:
                unknown = sorted(set(data) - {"returns"})
                what = f"the unknown key {unknown[0]!r}" if unknown else "no key 'returns'"
                raise InvalidValueError(f"returns file {str(path)!r} has {what}; valid keys: returns")
            values = data["returns"] if isinstance(data, dict) else data
        else:
            values = np.loadtxt(path, ndmin=1)
        returns = np.asarray(values, dtype=np.float64)
    except InvalidValueError:
        raise
    except (ValueError, TypeError, OSError) as exc:  # what numpy and json raise for a file that is not numbers
        raise InvalidValueError(f"cannot read returns from {str(path)!r}: {exc}") from None
    if returns.ndim != 1 or returns.size == 0 or not np.all(np.isfinite(returns)):
        raise InvalidValueError(f"{str(path)!r} must hold a non-empty flat list of finite returns")
    return returns


def _parse_range(text: str, name: str = "range") -> tuple[float, float]:
    message = f"--{name.replace('_', '-')} must look like a:b with finite a < b (e.g. 0:200), got {text!r}"
    try:
        low, high = (float(x) for x in text.split(":"))
    except ValueError:
        raise InvalidValueError(message) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidValueError(message)
    return low, high


def _zoo_meta(policy: str) -> dict[str, Any] | None:
    if not policy.startswith("zoo:"):
        return None
    from rlcert.agents import zoo_entry

    return zoo_entry(policy[len("zoo:") :]).meta


def _resolve_policy_env_sigma(policy_ref: str, env: str | None, sigma: float | None) -> tuple[Any, str, float]:
    from rlcert.agents import load_policy, policy_env

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


def _subject_label(subject: dict[str, Any], sigma: float, episodes: int) -> str:
    """What a certificate holds for, in one line: the policy and env (or the returns file), the probe stack
    the episodes ran under, the smoothing noise and the number of episodes."""
    if "returns_file" in subject:
        where = f"returns from {subject['returns_file']}"
    else:
        where = f"{subject['policy']} on {subject['env']}"
    probe = f" under probe {subject['probe']}" if subject.get("probe") else ""
    return f"{where}{probe} · σ={sigma:g} · N={episodes}"


def _attack_check(policy, env, budget, sigma, config, outcome, context, name, kind) -> tuple[tuple[float, float], Any]:
    """Mean (and standard error) of the outcome under the adaptive attack; smoothed when sigma > 0.

    The attacked episodes are the slowest part of the command, so they checkpoint beside the clean ones
    (one folder per kind and budget) and a rerun resumes them. Their seed is a child of the run's seed
    (never ``seed + 1``, which is the clean run of ``--seed 1``)."""
    from rlcert.attacks import BudgetedSmoothedPGD, GaussianSmoothing
    from rlcert.envs import make_executor, run
    from rlcert.envs.seeding import child_seed
    from rlcert.reports import Finding

    checkpoint = None
    if config.checkpoint_dir is not None:
        checkpoint = Path(config.checkpoint_dir) / f"{kind}-B{budget:g}"
    episodes = run(
        policy,
        env,
        config.attack_episodes,
        attack=BudgetedSmoothedPGD(budget, sigma, noise_samples=config.attack_noise_samples),
        defense=GaussianSmoothing(sigma) if sigma > 0 else None,
        seed=child_seed(config.seed, ATTACK_SUB_RUN),
        executor=make_executor(config.workers),
        chunk_size=config.chunk_size,
        checkpoint_dir=checkpoint,
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
            "seed": episodes.seed,
        },
    )
    return mean_and_stderr, finding


# The attacked episodes' seed: SeedSequence child 1 of the run's seed (envs.seeding).
ATTACK_SUB_RUN = 1

# Options recorded in a report only when episodes were run (not with --from-returns).
_ROLLOUT_OPTIONS = ("seed", "workers", "chunk_size", "checkpoint_dir", "progress", "probe")
_ATTACK_OPTIONS = ("attack_episodes", "attack_noise_samples", "undefended")


def _applied_options(config: CertifyRewardConfig, binary: bool) -> dict[str, Any]:
    """The options that shaped the result, with defaults resolved; none that could not apply."""
    options = asdict(config) | {"bound": config.band}
    if config.from_returns is not None:
        for name in (*_ROLLOUT_OPTIONS, *_ATTACK_OPTIONS, "policy", "env", "episodes"):
            options.pop(name, None)
    else:
        options |= {"policy": config.policy_ref, "episodes": config.episode_count}
        if config.attack_episodes == 0:
            for name in _ATTACK_OPTIONS:
                options.pop(name, None)
    if not binary:
        options.pop("success_min_return", None)
    return {name: value for name, value in options.items() if value is not None}


def certify_reward(config: CertifyRewardConfig) -> int:
    from rich.table import Table

    from rlcert.attacks import GaussianSmoothing
    from rlcert.certify.reward import binary_certificate, parse_budgets, reward_certificate
    from rlcert.envs import make_executor, run
    from rlcert.envs.factory import known_return_range
    from rlcert.reports import AuditReport, Finding, plot_certificate_curve
    from rlcert.reports.console import report_console

    budgets = parse_budgets(config.budgets)
    start = time.perf_counter()
    policy = env = None
    if config.from_returns is not None:
        sigma, returns = float(config.sigma), load_returns(config.from_returns)
        sample = returns  # returns from elsewhere: the certificate trusts the σ given with them
        subject = {"returns_file": config.from_returns}
    else:
        policy, env, sigma = _resolve_policy_env_sigma(config.policy_ref, config.env, config.sigma)
        clean = run(
            policy,
            env,
            config.episode_count,
            defense=GaussianSmoothing(sigma),
            seed=config.seed,
            executor=make_executor(config.workers),
            chunk_size=config.chunk_size,
            checkpoint_dir=config.checkpoint_dir,
            progress=config.progress,
            probe=config.probe_stack(),
        )
        returns, sample = clean.returns, clean  # the episodes carry their σ: the certificate checks it
        subject = {"policy": config.policy_ref, "env": env}
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
    label = _subject_label(subject, sigma, len(returns))
    context = ({"seed": config.seed} if config.from_returns is None else {}) | subject
    if binary:
        if sample is returns:
            successes = int(np.sum(returns >= config.success_min_return))
            cert = binary_certificate(successes, len(returns), sigma, budgets, config.alpha)
        else:
            cert = binary_certificate(
                sample, sigma=sigma, budgets=budgets, alpha=config.alpha, success_min_return=config.success_min_return
            )
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
                description=f"success rate of {label}",
            )
        ]
        findings += cert.findings(**context, success_min_return=config.success_min_return)
    else:
        cert = reward_certificate(sample, sigma, budgets, config.alpha, config.band, low, high)
        clean_value, unit = cert.clean_mean, "return"
        findings = [
            Finding(
                "clean_smoothed_mean_return",
                clean_value,
                "empirical",
                params={**context, "sigma": sigma, "episodes": len(returns)},
                description=f"mean return of {label}",
            )
        ]
        findings += cert.findings(**context)

    def outcome(values: np.ndarray) -> np.ndarray:
        return (values >= config.success_min_return).astype(float) if binary else values

    attacked: dict[float, tuple[float, float]] = {}
    undefended: dict[float, tuple[float, float]] = {}
    if config.attack_episodes > 0:
        for budget in (float(b) for b in budgets[budgets > 0]):
            attacked[budget], finding = _attack_check(
                policy, env, budget, sigma, config, outcome, context, f"attacked_mean_{unit}", "attacked"
            )
            findings.append(finding)
            if config.undefended:
                from rlcert.agents import load_policy

                undefended[budget], finding = _attack_check(
                    load_policy(config.undefended),
                    env,
                    budget,
                    0.0,
                    config,
                    outcome,
                    context | {"policy": config.undefended},
                    f"undefended_attacked_mean_{unit}",
                    "undefended",
                )
                findings.append(finding)
    report = AuditReport(
        "rlcert certify reward",
        findings,
        subject=subject | {"sigma": sigma, "episodes": len(returns)},
        extra={
            "config": _applied_options(config, binary),
            "wall_time_s": time.perf_counter() - start,
            "range": [low, high],
            "certificate": cert.to_dict() if not binary else None,
        },
    )
    path = report.save(config.out)
    band = "Clopper-Pearson" if binary else f"{config.band} band"
    plot = plot_certificate_curve(
        budgets,
        cert.certified,
        Path(config.out).with_suffix(".png"),
        clean_mean=clean_value,
        attacked=attacked,
        undefended=undefended,
        confidence=1 - config.alpha,
        ylabel="success probability" if binary else "expected return",
        title=f"{label} · {band}",
    )
    table = Table(
        title=f"certified {'success probability' if binary else 'expected return'} "
        f"(statistical, confidence {1 - config.alpha:.0%}, {band})\n{label} · clean smoothed {clean_value:.4g}"
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
    from rlcert.certify.crop import visited_state_certificate
    from rlcert.reports import AuditReport, findings_table
    from rlcert.reports.console import report_console

    policy, env, sigma = _resolve_policy_env_sigma(config.policy, config.env, config.sigma)
    score_range = None
    if config.score_range is not None:
        score_range = _parse_range(config.score_range, "score_range")
    elif getattr(policy, "output", None) == "q_values":
        meta_range = (_zoo_meta(config.policy) or {}).get("value_range")
        if meta_range is None:
            raise InvalidValueError("--score-range V_min:V_max is required for a Q-value policy")
        score_range = tuple(meta_range)
    eps_values = config.eps_values
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
        findings,
        subject={"policy": config.policy, "env": env, "sigma": sigma, "episodes": config.episodes},
        extra={"radii": cert.radii.tolist(), "config": asdict(config)},
    )
    path = report.save(config.out)
    console = report_console()
    title = (
        f"CROP per-state certificates · {config.policy} on {env} · σ={sigma:g} · "
        f"{len(cert.radii)} states of {config.episodes} episodes"
    )
    console.print(findings_table(report.findings, title=title))
    console.print(f"report written to {path}")
    return 0
