"""``rlcert train lipschitz`` and ``rlcert train lipschitz-sweep``: Lipschitz-constrained imitation of an expert
(Al Makdah, Krishnan & Pasqualetti 2022), one policy with its certified constant, or the α sweep with its
closed-loop trade-off curves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlcert.analyses.lipschitz_tradeoff import DEMOS_STREAM, TradeoffConfig, imitation_config
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.envs.seeding import child_seed
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_output_dir, check_output_path
from rlcert.training.lipschitz_imitation import LipschitzImitationConfig

__all__ = ["TrainLipschitzConfig", "train_lipschitz_command", "LipschitzSweepConfig", "lipschitz_sweep_command"]


@dataclass(frozen=True)
class TrainLipschitzConfig:
    """Train a policy under a hard Lipschitz bound Lip(π) <= alpha by imitating an expert's greedy actions (Al
    Makdah et al. 2022), certify its constant from the exported weights (sound), evaluate it, and write it as a
    plain network that loads like any other policy."""

    expert: str = "zoo:cartpole-ppo"
    """The expert: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo expert's own env."""
    alpha: float = 64.0
    """The Lipschitz bound, states to logits (discrete actions) or actions (continuous), in --norm."""
    norm: str = "2"
    """2 or inf: the norm of state perturbations and of action changes."""
    method: str = "projection"
    """projection (exact, after every step), spectral-norm or orthogonal (torch's parametrizations, exactly
    rescaled at export; l2 only). The graph method's McShane extension is measured by lipschitz-sweep --method graph."""
    pairs: int = 10_000
    """Demonstration pairs trained on."""
    demo_episodes: int = 50
    """Expert episodes the pairs come from (the first --pairs pairs are kept)."""
    epochs: int = 30
    hidden: str = "64,64"
    """Hidden layer widths (ReLU)."""
    seed: int = 0
    """Seed of the demonstrations (a SeedSequence child), the weights and the evaluation episodes."""
    episodes: int = 1000
    """Clean evaluation episodes of the trained policy, recorded in meta.json."""
    out_dir: str = "runs/lipschitz"
    """Where weights.pt, meta.json and demonstrations.npz go; the folder loads as --policy OUT_DIR/weights.pt."""

    def __post_init__(self) -> None:
        check_count("pairs", self.pairs)
        check_count("demo_episodes", self.demo_episodes)
        check_count("episodes", self.episodes)
        check_count("seed", self.seed, 0)
        check_output_dir("out_dir", self.out_dir)
        self.imitation()  # refuses a bad alpha, norm, method, width or epoch count before anything runs

    def imitation(self) -> LipschitzImitationConfig:
        """The training settings; with the same seed, the sweep's policy at this alpha is this one."""
        return imitation_config(self.alpha, self.norm, self.method, self.hidden, self.epochs, self.seed)


def train_lipschitz_command(config: TrainLipschitzConfig) -> int:
    from rlcert.analyses.subject import resolve_subject
    from rlcert.envs.rollout import run
    from rlcert.reports.console import report_console
    from rlcert.train_command import command_line
    from rlcert.training.demonstrations import collect_demonstrations
    from rlcert.training.lipschitz_imitation import train_lipschitz_policy

    subject = resolve_subject(config.expert, config.env)
    demos_seed = child_seed(config.seed, DEMOS_STREAM)
    demonstrations = collect_demonstrations(subject.policy, subject.env, config.demo_episodes, demos_seed,
                                            subject.reference, config.pairs)  # fmt: skip
    trained = train_lipschitz_policy(demonstrations, config.imitation(), subject.policy.observation_space,
                                     subject.policy.action_space)  # fmt: skip
    evaluation = run(trained.policy, subject.env, config.episodes, seed=config.seed)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    demonstrations.save(out / "demonstrations.npz")
    trained.save(out, str(subject.env), command_line("rlcert train lipschitz", config), evaluation,
                 name=out.name, seed=config.seed)  # fmt: skip
    report_console().print(
        f"{out.name}: certified Lipschitz constant {trained.certified_constant:.4g} (sound, {config.norm}, alpha "
        f"{config.alpha:g}); training error {trained.training_error:.4g} on {len(demonstrations)} pairs; mean return "
        f"{evaluation.mean_return:.2f} (± {evaluation.stderr_return:.2f}) over {config.episodes} episodes "
        f"(expert's demonstrations {demonstrations.mean_return:.2f}); trained in {trained.train_seconds:.1f} s; "
        f"written to {out} (load it: --policy {out / 'weights.pt'})"
    )
    return 0


@dataclass(frozen=True)
class LipschitzSweepConfig(TradeoffConfig, RolloutOptions):
    """The alpha sweep of Lipschitz-constrained imitation (Al Makdah et al. 2022): one policy per alpha from the
    same demonstrations, each with its certified constant (sound) and its closed-loop return clean, under a
    per-step attack that maximizes the episode cost and under random noise of the same size (empirical), with the
    guarantee terms; writes the JSON report and the trade-off plot beside it."""

    expert: str = "zoo:cartpole-ppo"
    """The expert: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it."""
    env: str | None = None
    """Env spec; defaults to a zoo expert's own env."""
    out: str = "results/lipschitz-sweep.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        TradeoffConfig.__post_init__(self)
        RolloutOptions.__post_init__(self)
        check_output_path("out", self.out)
        if self.probe is not None:
            raise InvalidValueError("--probe does not apply to the sweep: its demonstrations and attacks are clean-env")


def lipschitz_sweep_command(config: LipschitzSweepConfig) -> int:
    from rich.table import Table

    from rlcert.analyses.lipschitz_tradeoff import lipschitz_tradeoff
    from rlcert.reports import AuditReport
    from rlcert.reports.console import report_console

    console = report_console()

    def progress(point) -> None:
        clean = point.clean()
        label = (
            "expert"
            if point.alpha is None
            else f"alpha {point.alpha:g}" + (f" (replicate {point.replicate})" if config.replicates > 1 else "")
        )
        console.print(f"{label}: certified {point.certified_constant:.4g}, clean return {clean.mean:.1f}")

    result = lipschitz_tradeoff(config.expert, config.env, narrow(TradeoffConfig, config),
                                narrow(RolloutOptions, config), on_point=progress)  # fmt: skip
    report = AuditReport("rlcert train lipschitz-sweep", result.findings(), subject=result.subject.to_dict(),
                         extra=result.to_dict())  # fmt: skip
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    kinds = config.attack_kinds()
    for norm in config.norm_values():  # one table per attack norm, one column per radius: attack / noise
        policies = f" x {config.replicates} policies" if config.replicates > 1 else ""
        table = Table(title=f"{result.subject.label()} · {result.pairs} pairs · {config.method} · mean return over "
                            f"{config.episodes} episodes{policies} (empirical) under l{norm} perturbations per step: "
                            f"{' / '.join(kinds)} · certified constant (sound, l{config.norm})")  # fmt: skip
        for column in ("alpha", "certified", "train error", "clean", *(f"eps {e:g}" for e in config.eps_values())):
            table.add_column(column, justify="right")
        for point in (*result.summaries(), result.expert):
            cells = [" / ".join(f"{point.under(k, norm, e).mean:.0f}" for k in kinds) for e in config.eps_values()]
            table.add_row("expert" if point.alpha is None else f"{point.alpha:g}", f"{point.certified_constant:.4g}",
                          f"{point.training_error:.3g}", f"{point.clean().mean:.1f}", *cells)  # fmt: skip
        console.print(table)
    console.print(f"covering radius r_N {result.covering_radius:.4g} (empirical)"
                  + ("" if result.expert_lipschitz is None else f", expert's local L* {result.expert_lipschitz:.4g} "
                     "(sound)") + f"; {result.seconds:.0f} s; report written to {path}, plot to {plot}")  # fmt: skip
    return 0
