"""The constraint certificate (rlcert.analyses.constraints) and its audit check."""

import pytest

from rlcert.analyses.constraints import ConstraintConfig, certify_constraints
from rlcert.certify.confidence import clopper_pearson_upper
from rlcert.envs import CARTPOLE_COST_ID, CARTPOLE_DRIFT_COST_ID
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
    assert findings[2].name == "violation_probability_upper@limit=400" and out.with_suffix(".png").exists()
    assert "constraint certificate" in " ".join(capsys.readouterr().out.split())


def test_under_the_cost_attack_the_same_figures_are_computed_again_and_labelled_with_the_attack():
    config = ConstraintConfig(limit=25, episodes=10, attack_eps=0.1, critic_episodes=5)
    result = certify_constraints("zoo:cartpole-drift-ppo-lagrangian", CARTPOLE_DRIFT_COST_ID, config, QUIET)
    names = [f.name for f in result.findings()]
    assert names[3:] == ["attacked_mean_episode_cost", "attacked_violation_rate",
                         "attacked_violation_probability_upper@limit=25"]  # fmt: skip
    attacked_bound = result.findings()[-1]
    assert attacked_bound.evidence.value == "statistical" and attacked_bound.params["attack_eps"] == 0.1
    assert "CostCriticAttack(eps=0.1" in attacked_bound.params["attack"] and "attack" in attacked_bound.description
    assert len(result.attacked) == 10 and result.attacked.attack.startswith("CostCriticAttack")
    extra = result.report_extra()
    assert extra["config"]["critic_episodes"] == 5 and "attacked_violations" in extra


def test_attack_options_that_cannot_apply_are_refused_or_left_out():
    with pytest.raises(InvalidValueError, match="--critic-episodes needs --attack-eps"):
        ConstraintConfig(critic_episodes=10)
    with pytest.raises(InvalidValueError, match="--attack-eps"):
        ConstraintConfig(attack_eps=-0.1)
    applied = ConstraintConfig(episodes=2).applied()
    assert "attack_eps" not in applied and "critic_episodes" not in applied
    assert ConstraintConfig(attack_eps=0.1).applied()["critic_episodes"] == 100
