"""The constraint certificate (rlcert.analyses.constraints) and its audit check."""

import pytest

from rlcert.analyses.constraints import ConstraintConfig, certify_constraints
from rlcert.certify.confidence import clopper_pearson_upper
from rlcert.envs import CARTPOLE_COST_ID
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

QUIET = RolloutOptions(progress=False)


def test_the_violation_probability_is_bounded_by_clopper_pearson(tmp_path):
    result = certify_constraints("zoo:cartpole-ppo", CARTPOLE_COST_ID, ConstraintConfig(limit=350, episodes=20), QUIET)
    mean, rate, bound = result.findings()
    assert (mean.evidence.value, rate.evidence.value, bound.evidence.value) == ("empirical", "empirical", "statistical")
    violations = int((result.episodes.costs > 350).sum())
    assert bound.value == pytest.approx(clopper_pearson_upper(violations, 20, 0.05)) and bound.value >= rate.value
    assert result.plot(tmp_path / "costs.png").stat().st_size > 0


def test_an_env_without_a_cost_is_refused_before_any_episode_runs():
    with pytest.raises(InvalidValueError, match="reports no cost"):
        certify_constraints("zoo:cartpole5-dqn", None, ConstraintConfig(episodes=2), QUIET)
    with pytest.raises(InvalidValueError, match="--limit"):
        ConstraintConfig(limit=-1)


def test_the_audit_runs_the_constraints_check_where_the_env_reports_a_cost(tmp_path):
    from rlcert.audit import AuditSuite, CheckSpec, run_audit
    from rlcert.audit.checks import Criterion

    check = CheckSpec(
        "constraints",
        ConstraintConfig(limit=50, episodes=10),
        Criterion("violation_probability_upper@limit=50", at_most=0.5),
    )
    document = run_audit(
        AuditSuite(("zoo:cartpole-ppo",), (check,), QUIET, CARTPOLE_COST_ID, source="t"), tmp_path / "a"
    )
    (record,) = document.checks
    assert record.verdict == "fail"  # the unconstrained agent drifts off centre in every episode


def test_rlcert_certify_constraints_writes_a_report(tmp_path, capsys):
    from rlcert.cli import main
    from rlcert.reports.findings import AuditReport

    out = tmp_path / "c.json"
    assert (
        main(["certify", "constraints", "--episodes", "5", "--limit", "400", "--no-progress", "--out", str(out)]) == 0
    )
    findings = AuditReport.from_json(out.read_text()).findings
    assert findings[-1].name == "violation_probability_upper@limit=400" and out.with_suffix(".png").exists()
    assert "constraint certificate" in " ".join(capsys.readouterr().out.split())
