"""``rlcert train tsddr``: train Two-Stage Deep Decision Rules on a hydrothermal case and compare it with the
baselines on shared out-of-sample inflow paths."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from rlcert.config import narrow
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_output_dir
from rlcert.training.tsddr import TrainingConfig

__all__ = ["TrainTsddrConfig", "train_tsddr_command", "TrainPpoLagrangianConfig", "train_ppo_lagrangian_command"]


@dataclass(frozen=True)
class TrainTsddrConfig(TrainingConfig):
    """Train a TS-DDR policy (Rosemberg et al. 2024) on a hydrothermal case through the duals of its stage LPs,
    then evaluate it with the wait-and-see bound and the deterministic and myopic policies (and SDDP with --sddp)
    on the same out-of-sample inflow paths."""

    case: str = "bolivia"
    """Bundled case: bolivia (28 buses, 11 reservoirs) or tiny (a 3-bus cascade)."""
    out_dir: str = "runs/tsddr"
    """Where weights.pt, meta.json and the training checkpoint go; a rerun resumes from the checkpoint."""
    evaluation_paths: int = 100
    """Out-of-sample inflow paths shared by every policy."""
    sddp: bool = False
    """Also train SDDP on the horizon and evaluate its policy on the same paths."""

    def __post_init__(self) -> None:
        super().__post_init__()
        from rlcert.envs.hydro.case import BUNDLED_CASES

        if self.case not in BUNDLED_CASES:
            raise InvalidValueError(f"--case must be one of {', '.join(BUNDLED_CASES)}, got {self.case!r}")
        check_count("evaluation_paths", self.evaluation_paths, 2)
        check_output_dir("out_dir", self.out_dir)


def command_line(words: str, config) -> str:
    """The command that reproduces a training run: ``words`` and every option that differs from its default
    (the output folder and the worker count aside, which change nothing in what is trained)."""
    parts = [words]
    for f in dataclasses.fields(config):
        value, flag = getattr(config, f.name), "--" + f.name.replace("_", "-")
        if f.name in ("out_dir", "workers") or value == f.default:
            continue
        parts.append((flag if value else "--no-" + flag[2:]) if isinstance(value, bool) else f"{flag} {value}")
    return " ".join(parts)


def train_tsddr_command(config: TrainTsddrConfig) -> int:
    from rich.table import Table

    from rlcert.envs.hydro import bundled_case
    from rlcert.reports.console import report_console
    from rlcert.reports.plots import plot_learning_curve
    from rlcert.training.tsddr import compare_with_baselines, save_tsddr, train_tsddr

    case, training = bundled_case(config.case), narrow(TrainingConfig, config)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = train_tsddr(case, training, out / "checkpoint.pt")
    comparison = compare_with_baselines(case, result, training, config.evaluation_paths, sddp=config.sddp)
    command = command_line("rlcert train tsddr", config)
    folder = save_tsddr(result, config.case, training, out, command, evaluation=comparison.to_dict())
    curve = [{"timesteps": step + 1, "kind": "train", "return": cost} for step, cost in enumerate(result.costs)]
    plot_learning_curve(curve, folder / "learning_curve.png",
                        f"{folder.name}: mean training cost ({config.horizon} + {config.buffer} stages, {config.batch} "
                        "paths) per gradient step", point_label="gradient step's mean cost", xlabel="gradient steps",
                        ylabel="mean total cost of the training paths")  # fmt: skip
    table = Table(title=f"{case.name} · {config.horizon} stages · {config.evaluation_paths} shared out-of-sample paths "
                        "· mean total cost (empirical) and its 95 % interval")  # fmt: skip
    for column in ("policy", "mean cost", "95 % interval", "vs wait-and-see", "training"):
        table.add_column(column, justify="right")
    bound = comparison.wait_and_see
    for name, (mean, low, high), seconds in comparison.rows:
        training_text = "-" if seconds is None else f"{seconds:.0f} s"
        table.add_row(name, f"{mean:,.0f}", f"[{low:,.0f}, {high:,.0f}]", f"{mean / bound - 1:+.2%}", training_text)
    table.add_row("wait-and-see bound", f"{bound:,.0f}", "", "", "(perfect information)")
    console = report_console()
    console.print(table)
    if comparison.sddp is not None:
        record = comparison.sddp
        mean, low, high = record["upper_bound"]
        console.print(
            f"SDDP: {record['iterations']} iterations, {record['cuts']} cuts; deterministic lower bound "
            f"{record['lower_bound']:,.0f} (sound for its sampled inflow model), simulated upper bound {mean:,.0f} "
            f"[{low:,.0f}, {high:,.0f}] (95 %); {'converged' if record['converged'] else 'NOT converged'}"
        )
    console.print(f"policy written to {folder} (weights.pt, meta.json, learning_curve.png)")
    return 0


@dataclass(frozen=True)
class TrainPpoLagrangianConfig:
    """Train PPO-Lagrangian (Ray, Achiam & Amodei 2019) on a constrained task and, by default, plain PPO with the
    same seeds and budget as its baseline; write both agents in the zoo's format with their learning curves."""

    task: str = "cartpole-drift"
    """Constrained task: cartpole-drift (CartPole paid to drift right, cost for leaving the centre) or hydro (the
    tiny hydrothermal case under a minimum-storage curve). It sets the env, cost limit, budget and PPO settings."""
    limit: float | None = None
    """Largest acceptable mean episode cost (default: the task's)."""
    timesteps: int | None = None
    """Environment steps of each training run (default: the task's)."""
    lambda_lr: float | None = None
    """Dual step size: λ moves by lambda_lr x (mean episode cost - limit) after each rollout (default: the task's)."""
    seed: int = 0
    baseline: bool = True
    """Also train plain PPO (λ held at 0) with the same seeds and budget: the comparison the method is judged by."""
    episodes: int = 1000
    """Seeded evaluation episodes of each trained agent."""
    out_dir: str = "runs/ppo-lagrangian"
    """Where the agents (TASK-ppo-lagrangian/ and the baseline TASK-ppo/, each in the zoo's format), curves.csv and
    curves.png go."""

    def __post_init__(self) -> None:
        from rlcert.training.ppo_lagrangian import CONSTRAINED_TASKS

        if self.task not in CONSTRAINED_TASKS:
            raise InvalidValueError(f"--task must be one of {', '.join(CONSTRAINED_TASKS)}, got {self.task!r}")
        check_count("episodes", self.episodes, 2)
        check_output_dir("out_dir", self.out_dir)
        self.training_config()  # refuses a bad --limit, --timesteps, --lambda-lr or --seed before any training

    def training_config(self, lagrangian: bool = True):
        from rlcert.training.ppo_lagrangian import CONSTRAINED_TASKS, LagrangianConfig

        task = CONSTRAINED_TASKS[self.task]
        given = {"limit": self.limit, "timesteps": self.timesteps, "lambda_lr": self.lambda_lr}
        chosen = {key: getattr(task, key) if value is None else value for key, value in given.items()}
        return LagrangianConfig(env=task.env, n_envs=task.n_envs, seed=self.seed, lagrangian=lagrangian, **chosen)


def train_ppo_lagrangian_command(config: TrainPpoLagrangianConfig) -> int:
    import csv

    from rich.table import Table

    from rlcert.reports.console import report_console
    from rlcert.reports.plots import plot_constrained_training
    from rlcert.training.ppo_lagrangian import CONSTRAINED_TASKS, save_constrained_agent, train_ppo_lagrangian

    task = CONSTRAINED_TASKS[config.task]
    out = Path(config.out_dir)
    console = report_console()
    runs, metas = {}, {}
    folders = {}
    for name, lagrangian in (("PPO-Lagrangian", True), ("PPO", False)):
        if not lagrangian and not config.baseline:
            continue
        training = config.training_config(lagrangian)
        console.print(f"training {name} on {training.env} for {training.timesteps:,} steps …")
        runs[name] = train_ppo_lagrangian(training, task.ppo)
        folders[name] = out / f"{config.task}-{name.lower()}"
        command = command_line("rlcert train ppo-lagrangian", config)
        metas[name] = save_constrained_agent(
            runs[name], folders[name], folders[name].name, command, config.episodes, f"{name}, {task.description}"
        )
    limit = config.training_config().limit
    with open(out / "curves.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["run", "timesteps", "mean_return", "mean_cost", "lambda"])
        writer.writerows((name, *row) for name, training in runs.items() for row in training.curve)
    plot = plot_constrained_training({n: r.curve for n, r in runs.items()}, limit, out / "curves.png",
                                     title=f"{task.env}: training episodes, cost limit {limit:g}")  # fmt: skip
    table = Table(title=f"{task.env} · cost limit {limit:g} · {config.episodes} seeded evaluation episodes "
                        "(empirical, ± 1.96 SE)")  # fmt: skip
    columns = ("agent", "actions", "mean return", "mean episode cost", "episodes over the limit", "final λ", "training")
    for column in columns:
        table.add_column(column, justify="right")
    for name, meta in metas.items():
        training = meta["training"]
        rows = [(meta["evaluation"]["actions"], meta["evaluation"])]
        rows += [("greedy", meta["evaluation"]["greedy"])] if "greedy" in meta["evaluation"] else []
        for actions, evaluation in rows:
            table.add_row(
                name,
                actions,
                f"{evaluation['mean_return']:.2f} ± {1.96 * evaluation['stderr_return']:.2f}",
                f"{evaluation['mean_cost']:.2f} ± {1.96 * evaluation['stderr_cost']:.2f}",
                f"{evaluation['violation_rate']:.1%}",
                f"{training['final_lambda']:.3g}",
                f"{training['wall_time_s']:.0f} s",
            )
    console.print(table)
    console.print(f"agents written to {' and '.join(map(str, folders.values()))}; learning curves to {plot}")
    return 0
