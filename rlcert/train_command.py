"""``rlcert train tsddr``: train Two-Stage Deep Decision Rules on a hydrothermal case and compare it with the
baselines on shared out-of-sample inflow paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlcert.config import narrow
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_output_dir
from rlcert.training.tsddr import TrainingConfig

__all__ = ["TrainTsddrConfig", "train_tsddr_command"]


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


def train_tsddr_command(config: TrainTsddrConfig) -> int:
    from rich.table import Table

    from rlcert.envs.hydro import bundled_case
    from rlcert.reports.console import report_console
    from rlcert.training.tsddr import compare_with_baselines, save_tsddr, train_tsddr

    case, training = bundled_case(config.case), narrow(TrainingConfig, config)
    out = Path(config.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = train_tsddr(case, training, out / "checkpoint.pt")
    comparison = compare_with_baselines(case, result, training, config.evaluation_paths, sddp=config.sddp)
    folder = save_tsddr(result, config.case, training, out, evaluation=comparison.to_dict())
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
    console.print(f"policy written to {folder} (weights.pt, meta.json)")
    return 0
