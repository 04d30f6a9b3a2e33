"""``rlcert certify actions``: sound per-state action certificates by bound propagation."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rlcert.certify.bounds import check_bound_options
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite, check_output_path, parse_radii

__all__ = ["CertifyActionsConfig", "certify_actions_command"]


@dataclass(frozen=True)
class CertifyActionsConfig(RolloutOptions):
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
    radius_max: float = 0.5
    """Upper end of the bisection for certified radii."""
    radius_iterations: int = 12
    """Bisection steps per radius (each one bound computation per state); the radius is within
    radius_max / 2^iterations of the largest this method certifies."""
    max_states: int = 0
    """Certify state fractions, radii and local Lipschitz bounds on at most this many visited states,
    evenly spaced (0: all of them; CROWN takes seconds per Atari state on a CPU)."""
    trajectories: bool = True
    """Whole-episode certificates (every visited state certified at each eps); turn off to certify only a
    sample of states (--max-states) of long Atari episodes."""
    lipschitz: bool = True
    """Also report the global Lipschitz product and the local Lipschitz bound over each eps-ball."""
    out: str = "results/certify_actions.json"
    """Where to write the JSON report."""

    def __post_init__(self) -> None:
        # Every option is checked here, before any episode runs or any bound is computed.
        super().__post_init__()
        if self.checkpoint_dir is not None:
            raise InvalidValueError(
                "--checkpoint-dir does not apply to certify actions: its episodes keep per-step records, which "
                "are not checkpointed; leave it out"
            )
        self.eps_values  # noqa: B018 - parsed here so a malformed list is refused before any episode runs
        check_bound_options(self.norm, self.method)
        check_count("episodes", self.episodes)
        check_finite("radius_max", self.radius_max, 0, strict=True)
        check_count("radius_iterations", self.radius_iterations)
        check_count("max_states", self.max_states, 0)
        check_output_path("out", self.out)

    @property
    def eps_values(self) -> list[float]:
        return parse_radii(self.eps, "eps")


def certify_actions_command(config: CertifyActionsConfig) -> int:
    from rich.table import Table

    from rlcert.agents import load_policy, policy_env
    from rlcert.certify.action_certificates import certified_radii, certify_actions, certify_episodes
    from rlcert.certify.lipschitz import lipschitz_upper_bound, local_lipschitz_bound
    from rlcert.envs import make_executor, rollout
    from rlcert.envs.factory import resolve_env_spec
    from rlcert.reports import AuditReport, Finding
    from rlcert.reports.console import report_console

    policy = load_policy(config.policy)
    spec = resolve_env_spec(policy_env(config.policy, config.env))
    low, high = (0.0, 1.0) if spec.atari else (None, None)  # pixels stay in [0, 1]
    eps_values = config.eps_values
    probe = config.probe_stack()
    probe_context = {"probe": probe.label} if probe is not None else {}
    # One run of the engine gives every certificate its episodes: one seeding scheme, episodes run once.
    episodes = rollout.run(
        policy,
        spec,
        config.episodes,
        seed=config.seed,
        executor=make_executor(config.workers),
        chunk_size=config.chunk_size,
        record_steps=True,
        progress=config.progress,
        probe=probe,
    )
    findings, rows = [], []
    trajectories = {
        eps: certify_episodes(policy, episodes, eps, config.norm, config.method, low, high)
        if config.trajectories
        else ()
        for eps in eps_values
    }
    states = np.concatenate([rollout.stack_frames(record.frames, spec.frame_stack) for record in episodes.records])
    if 0 < config.max_states < len(states):
        states = states[np.linspace(0, len(states) - 1, config.max_states).round().astype(int)]
    radii = certified_radii(
        policy, states, config.norm, config.method, config.radius_max, config.radius_iterations, low=low, high=high
    )
    params = {
        "policy": config.policy,
        "env": str(spec),
        "norm": config.norm,
        "method": config.method,
        "episodes": config.episodes,
        "seed": config.seed,
        "chunk_size": config.chunk_size,
        "states": len(states),
        **probe_context,
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
        if config.lipschitz:
            relaxation = "ibp" if config.method == "ibp" else "crown"
            local = local_lipschitz_bound(
                policy.module, states, eps, config.norm, relaxation, low=low, high=high
            ).numpy()
            findings.append(
                Finding(
                    f"local_lipschitz_max@eps={eps:g}",
                    float(local.max()),
                    "sound",
                    params={**params, "eps": eps, "local_lipschitz_mean": float(local.mean())},
                    method="Fast-Lip interval Jacobian over CROWN pre-activation bounds, "
                    f"l{config.norm}->l{config.norm} induced norm, max over the visited states' eps-balls",
                )
            )
        for trajectory in trajectories[eps]:
            findings += trajectory.findings(policy=config.policy, env=str(spec), **probe_context)
        sound = [t for t in trajectories[eps] if t.sound]
        lipschitz = f"{local.mean():.4g} / {local.max():.4g}" if config.lipschitz else "-"
        firsts = [t.first_uncertified_step for t in trajectories[eps]]
        rows.append((eps, fraction, lipschitz, f"{len(sound)}/{len(firsts)}" if firsts else "not run", firsts))
    if config.lipschitz:
        findings.append(
            Finding(
                "global_lipschitz",
                lipschitz_upper_bound(policy.module, config.norm),
                "sound",
                params={"policy": config.policy, "norm": config.norm},
                method=f"product of layer l{config.norm} operator norms",
            )
        )
    report = AuditReport(
        "rlcert certify actions",
        findings,
        subject={"policy": config.policy, "env": str(spec), **probe_context},
        extra={"config": asdict(config), "radii": radii.tolist()},
    )
    path = report.save(config.out)
    under = f" under probe {probe_context['probe']}" if probe_context else ""
    table = Table(
        title=f"sound action certificates · {config.policy} on {spec}{under} · {len(states)} states of "
        f"{config.episodes} episodes · {config.method} · l{config.norm} · mean radius {radii.mean():.4g}"
    )
    columns = ("eps", "certified states", "local Lipschitz mean / max", "sound episodes", "first uncertified step")
    for column in columns:
        table.add_column(column, justify="right")
    for eps, fraction, lipschitz, sound, firsts in rows:
        table.add_row(
            f"{eps:g}",
            f"{fraction:.1%}",
            lipschitz,
            sound,
            ", ".join("-" if f is None else str(f) for f in firsts),
        )
    console = report_console()
    console.print(table)
    if config.lipschitz:
        console.print(f"global Lipschitz bound (l{config.norm}, sound): {findings[-1].value:.4g}")
    console.print(f"report written to {path}")
    return 0
