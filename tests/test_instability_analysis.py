"""The instability analysis (rlcert.analyses.instability), its command and its audit check."""

import numpy as np
import pytest

from rlcert.analyses.instability import InstabilityConfig, analyze_instability
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

QUIET = RolloutOptions(progress=False)
SMALL = InstabilityConfig(episodes=2, max_states=150, window=20, norm="2")


def test_the_analysis_reports_directions_shifts_and_oscillation_all_empirical(tmp_path):
    result = analyze_instability("zoo:cartpole5-dqn", config=SMALL, rollout=QUIET)
    findings = {f.name: f for f in result.findings()}
    assert {f.evidence.value for f in findings.values()} == {"empirical"}
    assert result.shape == (5, 4) and result.principal.vectors.shape == (3, 20)  # l2: full rank
    assert 0 < findings["principal_explained_share"].value <= findings["top3_explained_share"].value <= 1 + 1e-9
    for shift in ("clean", "pgd", "cw"):
        assert 0 <= findings[f"feature_correlation_quotient@shift={shift}"].value <= 1
    assert findings["feature_correlation_quotient@shift=cw"].params["cw_flipped_share"] > 0
    assert all(np.all((angles >= 0) & (angles <= 90)) for angles in result.oscillation)
    assert result.plot(tmp_path / "instability.png").stat().st_size > 0
    assert result.report_extra()["principal_direction"] == pytest.approx(result.principal.principal.tolist())
    low, high = findings["mean_oscillation_deg"].interval
    assert low < findings["mean_oscillation_deg"].value < high and findings["mean_oscillation_deg"].confidence == 0.95
    # Episodes are the clusters: pooled mean 30, cluster sums (30, 120) against 30 x (2, 3) windows, so the
    # standard error is sqrt(2 (30^2 + 30^2)) / 5 = 12, times t(0.975, 1 dof) = 12.706.
    from dataclasses import replace

    by_hand = replace(result, oscillation=(np.array([10.0, 20.0]), np.array([30.0, 40.0, 50.0])))
    assert by_hand.mean_oscillation == 30 and by_hand.oscillation_interval() == pytest.approx(
        (30 - 152.47, 30 + 152.47), abs=0.01
    )
    assert replace(result, oscillation=(np.array([10.0, 20.0]),)).oscillation_interval() is None


def test_the_same_seed_gives_the_same_directions():
    config = InstabilityConfig(episodes=1, max_states=60, window=20, shifts="clean")
    first, second = (analyze_instability("zoo:cartpole5-dqn", config=config, rollout=QUIET) for _ in range(2))
    # Equal up to the last bits of ARPACK's arithmetic, and never a flipped sign.
    assert np.allclose(first.principal.vectors, second.principal.vectors, atol=1e-9)
    assert np.allclose([f.value for f in first.findings()], [f.value for f in second.findings()], rtol=1e-9)


def test_options_that_cannot_apply_or_make_no_sense_are_refused_before_any_episode():
    with pytest.raises(InvalidValueError, match="--shifts blur applies to Atari image observations only"):
        analyze_instability("zoo:cartpole5-dqn", config=InstabilityConfig(shifts="blur"), rollout=QUIET)
    with pytest.raises(InvalidValueError, match="--shifts must be a comma list"):
        InstabilityConfig(shifts="pgd,fgsm")
    with pytest.raises(InvalidValueError, match="--norm must be inf or 2"):
        InstabilityConfig(norm="1")
    with pytest.raises(InvalidValueError, match="--window"):
        InstabilityConfig(window=1)
    with pytest.raises(InvalidValueError, match="checkpoint_dir does not apply"):
        analyze_instability("zoo:cartpole5-dqn", config=SMALL, rollout=RolloutOptions(checkpoint_dir="x"))
    with pytest.raises(InvalidValueError, match="--probe does not combine with the stori shift"):
        sticky = RolloutOptions(probe="StickyActions:p=0.1", progress=False)
        analyze_instability("zoo:pong-ppo", config=InstabilityConfig(shifts="stori"), rollout=sticky)


def test_rlcert_instability_writes_a_report_and_its_plot(tmp_path, capsys):
    from rlcert.cli import main
    from rlcert.reports.findings import AuditReport

    out = tmp_path / "i.json"
    args = ["instability", "--episodes", "1", "--max-states", "60", "--window", "20", "--shifts", "clean,pgd",
            "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    names = [f.name for f in AuditReport.from_json(out.read_text()).findings]
    assert "feature_correlation_quotient@shift=pgd" in names and out.with_suffix(".png").exists()
    assert "decision-boundary instability" in " ".join(capsys.readouterr().out.split())


def test_the_audit_runs_the_instability_check(tmp_path):
    from rlcert.audit import AuditSuite, CheckSpec, run_audit

    check = CheckSpec("instability", InstabilityConfig(episodes=1, max_states=60, window=20, shifts="clean"))
    document = run_audit(AuditSuite(("zoo:cartpole5-dqn",), (check,), QUIET, None, source="t"), tmp_path / "a")
    (record,) = document.checks
    assert record.verdict == "info" and record.headline.name == "feature_correlation_quotient@shift=clean"


def test_observations_stacked_at_chosen_steps_are_the_engines():
    from rlcert.analyses.instability import _stacked_at
    from rlcert.envs.rollout import stack_frames

    frames = np.random.default_rng(0).normal(size=(9, 3, 2)).astype(np.float32)
    chosen = np.array([0, 1, 4, 8])
    assert np.array_equal(_stacked_at(frames, chosen, 4), stack_frames(frames, 4)[chosen])
    assert np.array_equal(_stacked_at(frames, chosen, 1), frames[chosen])
