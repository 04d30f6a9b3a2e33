"""``rlcert certify reward`` and ``rlcert certify smoothed-actions``: the smoothing certificates on the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rlcert.analyses.reward import RewardCertificateConfig, certify_reward, certify_saved_returns
from rlcert.analyses.smoothed_actions import SmoothedActionsConfig, certify_smoothed_actions
from rlcert.config import narrow
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_output_path

__all__ = [
    "CertifyRewardConfig",
    "CertifySmoothedActionsConfig",
    "certify_reward_command",
    "certify_smoothed_actions_command",
    "load_returns",
]

DEFAULT_SMOOTHED_POLICY = "zoo:cartpole5-ppo-sigma0.2"


def _flags(names: list[str]) -> str:
    return ", ".join("--" + name.replace("_", "-") for name in names)


@dataclass(frozen=True)
class CertifyRewardConfig(RewardCertificateConfig, RolloutOptions):
    """Certify a lower bound on the expected return of a Gaussian-smoothed policy under any adaptive
    l2 observation attack of total budget B (Kumar et al. 2022); statistical at confidence 1 - alpha."""

    policy: str | None = None
    """Policy: zoo:NAME, an SB3 .zip, or a .pt state_dict with its architecture JSON beside it (default:
    zoo:cartpole5-ppo-sigma0.2; not with --from-returns)."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    from_returns: str | None = None
    """Certify returns saved by another tool (JSON list or .npy) instead of running the policy."""
    out: str = "results/certify_reward.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        super().__post_init__()
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


@dataclass(frozen=True)
class CertifySmoothedActionsConfig(SmoothedActionsConfig, RolloutOptions):
    """Per-state certificates (CROP-LoAct, Wu et al. 2022): the certified l2 radius of the smoothed
    action at every state visited along episodes, and the fraction certified at each eps."""

    policy: str = DEFAULT_SMOOTHED_POLICY
    """Policy reference."""
    env: str | None = None
    """Env spec; defaults to a zoo agent's own env."""
    out: str = "results/certify_smoothed_actions.json"
    """Where to write the JSON report (the plot goes beside it as .png)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.checkpoint_dir is not None:
            raise InvalidValueError(
                "--checkpoint-dir does not apply to certify smoothed-actions: its episodes keep per-step records, "
                "which are not checkpointed; leave it out"
            )
        check_output_path("out", self.out)


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


def certify_reward_command(config: CertifyRewardConfig) -> int:
    from rich.table import Table

    from rlcert.reports import AuditReport
    from rlcert.reports.console import report_console

    library_config = narrow(RewardCertificateConfig, config)
    if config.from_returns is not None:
        returns = load_returns(config.from_returns)
        result = certify_saved_returns(returns, float(config.sigma), library_config, source=config.from_returns)
    else:
        result = certify_reward(config.policy_ref, config.env, library_config, narrow(RolloutOptions, config))
    ran = config.from_returns is None
    extra = result.report_extra()
    extra["config"] |= {"policy": config.policy_ref} if ran else {}
    extra["config"] |= narrow(RolloutOptions, config).result_params() if ran else {}
    report = AuditReport(
        "rlcert certify reward",
        result.findings(),
        subject=dict(result.subject) | {"sigma": result.sigma, "episodes": result.episodes},
        extra=extra,
    )
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    binary = library_config.binary
    table = Table(
        title=f"certified {'success probability' if binary else 'expected return'} "
        f"(statistical, confidence {1 - config.alpha:.0%}, {result.band_name()})\n{result.label()} · "
        f"clean smoothed {result.clean_value:.4g}"
    )
    named = (("attacked (empirical)", result.attacked), ("undefended attacked (empirical)", result.undefended))
    overlays = [(name, data) for name, data in named if data]
    for column in ("budget B", "certified", *(name for name, _ in overlays)):
        table.add_column(column, justify="right")
    certificate = result.certificate
    for budget, value in zip(certificate.budgets, certificate.certified):
        cells = [data.get(float(budget)) for _, data in overlays]
        table.add_row(
            f"{budget:g}", f"{value:.4g}", *(f"{c[0]:.4g} ± {1.96 * c[1]:.2g} (95% CI)" if c else "" for c in cells)
        )
    console = report_console()
    console.print(table)
    console.print(f"report written to {path}, plot to {plot}")
    return 0


def certify_smoothed_actions_command(config: CertifySmoothedActionsConfig) -> int:
    from rlcert.reports import AuditReport, findings_table
    from rlcert.reports.console import report_console

    rollout = narrow(RolloutOptions, config)
    result = certify_smoothed_actions(config.policy, config.env, narrow(SmoothedActionsConfig, config), rollout)
    report = AuditReport(
        "rlcert certify smoothed-actions",
        result.findings(),
        subject=result.subject.to_dict() | {"sigma": result.sigma, "episodes": config.episodes},
        extra=result.report_extra(),
    )
    path = report.save(config.out)
    plot = result.plot(Path(config.out).with_suffix(".png"))
    console = report_console()
    console.print(findings_table(report.findings, title=f"CROP per-state certificates · {result.label()}"))
    console.print(f"report written to {path}, plot to {plot}")
    return 0
