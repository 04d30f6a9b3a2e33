"""``rlcert certify actions``: sound per-state action certificates by bound propagation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

__all__ = ["CertifyActionsConfig", "certify_actions_command"]


@dataclass(frozen=True)
class CertifyActionsConfig:
    """Sound per-state certificates by bound propagation (IBP, CROWN, alpha-CROWN): the fraction of
    visited states whose action no observation perturbation of size eps can change, their certified
    radii, and whole-episode certificates when every state of an episode is certified."""

    policy: str = "zoo:cartpole5-dqn"
    """Policy reference (its network must be Linear/Conv2d/ReLU/Tanh/Flatten layers)."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    eps: str = "0.001,0.01,0.05"
    """Perturbation sizes (comma list) in normalized observation units (1/255 = one pixel level). State
    fractions and radii bound the whole policy observation; the trajectory certificates treat eps as a
    per-frame budget (for l2 that is sqrt(stack) * eps on a stacked observation)."""
    norm: str = "inf"
    """Norm of the perturbation: inf or 2."""
    method: str = "crown"
    """ibp, crown or alpha-crown."""
    episodes: int = 3
    """Clean episodes whose states are certified (one trajectory certificate each)."""
    seed: int = 0
    """Seed of the first episode (episode i uses seed + i)."""
    radius_max: float = 0.5
    """Upper end of the bisection for certified radii."""
    out: str = "results/certify_actions.json"
    """Where to write the JSON report."""


def certify_actions_command(config: CertifyActionsConfig) -> int:
    from rich.console import Console
    from rich.table import Table

    from agents import load_policy, policy_env
    from certify.action_certificates import certified_radii, certify_actions, certify_trajectory
    from envs.factory import resolve_env_spec
    from envs.rollout import run, stack_frames
    from reports import AuditReport, Finding
    from rlcert import versions

    policy = load_policy(config.policy)
    spec = resolve_env_spec(policy_env(config.policy, config.env))
    low, high = (0.0, 1.0) if spec.atari else (None, None)  # pixels stay in [0, 1]
    eps_values = [float(x) for x in config.eps.split(",") if x.strip()]
    findings, rows = [], []
    trajectories = {
        eps: [
            certify_trajectory(
                policy, spec, eps, seed=config.seed + i, norm=config.norm, method=config.method, low=low, high=high
            )
            for i in range(config.episodes)
        ]
        for eps in eps_values
    }
    # The same clean episodes the trajectory certificates ran (episode i starts from seed + i).
    states = np.concatenate(
        [
            stack_frames(
                run(policy, spec, 1, seed=config.seed + i, chunk_size=1, record_steps=True).records[0].frames,
                spec.frame_stack,
            )
            for i in range(config.episodes)
        ]
    )
    radii = certified_radii(policy, states, config.norm, config.method, max_eps=config.radius_max, low=low, high=high)
    params = {
        "policy": config.policy,
        "env": str(spec),
        "norm": config.norm,
        "method": config.method,
        "episodes": config.episodes,
        "states": len(states),
    }
    findings.append(
        Finding(
            "mean_certified_radius",
            float(radii.mean()),
            "sound",
            params=params,
            method=f"{config.method} margin bounds, bisection",
        )
    )
    for eps in eps_values:
        fraction = certify_actions(
            policy, states, eps, config.norm, config.method, low=low, high=high
        ).certified_fraction
        findings.append(
            Finding(
                f"certified_state_fraction@eps={eps:g}",
                fraction,
                "sound",
                params={**params, "eps": eps},
                method=f"{config.method} margin bounds",
            )
        )
        for trajectory in trajectories[eps]:
            findings += trajectory.findings(policy=config.policy, env=str(spec))
        sound = [t for t in trajectories[eps] if t.sound]
        rows.append((eps, fraction, len(sound), [t.first_uncertified_step for t in trajectories[eps]]))
    report = AuditReport(
        "rlcert certify actions",
        [replace(f, versions=versions()) for f in findings],
        subject={"policy": config.policy, "env": str(spec)},
        extra={"config": asdict(config), "radii": radii.tolist()},
    )
    path = report.save(config.out)
    table = Table(
        title=f"sound action certificates · {config.method} · l{config.norm} · mean radius {radii.mean():.4g}"
    )
    for column in ("eps", "certified states", "sound episodes", "first uncertified step per episode"):
        table.add_column(column, justify="right")
    for eps, fraction, sound, firsts in rows:
        table.add_row(
            f"{eps:g}",
            f"{fraction:.1%}",
            f"{sound}/{config.episodes}",
            ", ".join("-" if f is None else str(f) for f in firsts),
        )
    console = Console()
    console.print(table)
    console.print(f"report written to {path}")
    return 0
