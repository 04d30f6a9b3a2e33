"""``rlcert train surprise``: train Adversarial Surprise (Fickinger, Jaques et al. 2021) or one of its baselines
(SMiRL, RND, random) on the multi-room gridworld, checkpointed after every update."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_output_dir
from rlcert.training.surprise_training import SurpriseTrainingConfig

__all__ = ["TrainSurpriseConfig", "train_surprise_command", "SurpriseReportConfig", "surprise_report_command"]


@dataclass(frozen=True)
class TrainSurpriseConfig:
    """Train Adversarial Surprise's Explore and Control players (PPO, alternating rounds on one body) or a baseline
    on the multi-room gridworld of dark and flashing rooms; prints each update's coverage and returns, writes the
    curve to RUN_DIR/curve.json and resumes from RUN_DIR/checkpoint.pt."""

    method: str = "adversarial-surprise"
    """adversarial-surprise, smirl (Control alone), rnd (Random Network Distillation) or random."""
    frames: int = 5_000_000
    """Env steps in all (the authors' default is 10M)."""
    envs: int = 16
    """Games run in lockstep."""
    episodes_per_update: int = 4
    """Episodes of every game between two updates (and checkpoints)."""
    density: str = "categorical"
    """The density model of Control's observations: categorical, bernoulli or gaussian."""
    seed: int = 0
    run_dir: str | None = None
    """Where the checkpoint and the curve go (default: training-runs/surprise-METHOD); a rerun resumes there."""

    def __post_init__(self) -> None:
        self.training()
        check_count("seed", self.seed, 0)
        check_output_dir("run_dir", self.folder())

    def training(self) -> SurpriseTrainingConfig:
        return SurpriseTrainingConfig(method=self.method, frames=self.frames, envs=self.envs,
                                      episodes_per_update=self.episodes_per_update, density=self.density,
                                      seed=self.seed)  # fmt: skip

    def folder(self) -> Path:
        return Path(self.run_dir or f"training-runs/surprise-{self.method}")


def train_surprise_command(config: TrainSurpriseConfig) -> int:
    from rlcert.reports.console import report_console
    from rlcert.training.surprise_training import train_surprise

    console = report_console()
    folder = config.folder()
    folder.mkdir(parents=True, exist_ok=True)

    def report(row: dict) -> None:
        console.print(f"{config.method}: {row['frames']:>9,} frames · rooms {row['rooms_visited']:.2f} · cells "
                      f"{row['cells_visited']:.1f} · lights frozen {row['rooms_frozen']:.2f} · Control in the dark "
                      f"{row['dark_share']:.2f} · Control return {row['control_return']:.0f}")  # fmt: skip

    run = train_surprise(config.training(), folder / "checkpoint.pt", on_update=report)
    (folder / "curve.json").write_text(
        json.dumps(
            {
                "config": vars(config.training()) | {"hidden": list(config.training().hidden)},
                "seconds": round(run.seconds, 1),
                "curve": list(run.curve),
            },
            indent=1,
        )
        + "\n"
    )
    console.print(f"{config.method}: {run.curve[-1]['frames']:,} frames in {run.seconds / 60:.1f} min; curve written "
                  f"to {folder / 'curve.json'}")  # fmt: skip
    return 0


@dataclass(frozen=True)
class SurpriseReportConfig:
    """Compare trained Adversarial Surprise and baseline runs: coverage and returns over training, the observation
    entropy over an episode (the sawtooth) and visitation heat-maps of one layout; writes training.png,
    episodes.png and report.json to OUT (all empirical)."""

    runs: str = ("training-runs/surprise-adversarial-surprise,training-runs/surprise-smirl,training-runs/surprise-rnd,"
                 "training-runs/surprise-random")  # fmt: skip
    """Comma list of run folders (each with the checkpoint.pt of rlcert train surprise); finished or not."""
    episodes: int = 16
    """Episodes each run's players play for the sawtooth and the heat-map."""
    layout_seed: int = 5
    """The layout every one of those episodes resets to (one map for the heat-maps)."""
    seed: int = 0
    out: str = "results/surprise"

    def __post_init__(self) -> None:
        check_count("episodes", self.episodes)
        check_count("layout_seed", self.layout_seed, 0)
        check_count("seed", self.seed, 0)
        for folder in self.folders():
            if not (folder / "checkpoint.pt").is_file():
                raise InvalidValueError(f"--runs: {folder} holds no checkpoint.pt (train it: rlcert train surprise)")
        check_output_dir("out", self.out)

    def folders(self) -> list[Path]:
        return [Path(item.strip()) for item in self.runs.split(",") if item.strip()]


def surprise_report_command(config: SurpriseReportConfig) -> int:
    from rlcert.analyses.surprise_exploration import play_surprise
    from rlcert.reports.console import report_console
    from rlcert.reports.plots import plot_surprise_episodes, plot_surprise_training
    from rlcert.training.surprise_training import load_surprise_run

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {}
    for folder in config.folders():
        run = load_surprise_run(folder / "checkpoint.pt")
        runs[run.config.method] = run
    plays = {
        method: play_surprise(run, config.episodes, config.seed, config.layout_seed) for method, run in runs.items()
    }
    plot_surprise_training({method: run.curve for method, run in runs.items()}, out / "training.png")
    plot_surprise_episodes(plays, out / "episodes.png")
    report = {method: {"frames": run.curve[-1]["frames"] if run.curve else 0, "seconds": round(run.seconds, 1),
                       "last_update": run.curve[-1] if run.curve else None, "play": plays[method].to_dict()}
              for method, run in runs.items()}  # fmt: skip
    (out / "report.json").write_text(json.dumps({"evidence": "empirical", "layout_seed": config.layout_seed,
                                                 "runs": report}, indent=1) + "\n")  # fmt: skip
    console = report_console()
    for method, entry in report.items():
        play = entry["play"]
        console.print(f"{method}: {entry['frames']:,} frames · rooms {play['mean_rooms_visited']:.2f} · cells "
                      f"{play['mean_cells_visited']:.1f} per episode on layout {config.layout_seed} "
                      "(empirical)")  # fmt: skip
    console.print(f"written to {out}: training.png, episodes.png, report.json")
    return 0
