import pytest

from rlcert.audit.checks import CheckKind, Criterion, check_kind, check_kinds, register_check
from rlcert.reports.errors import InvalidValueError, UnknownNameError
from rlcert.reports.findings import Finding


def _findings():
    return (
        Finding("certified_expected_return@B=0.4", 152.0, "statistical", confidence=0.95),
        Finding("certified_state_fraction@eps=0.01", 0.9, "sound"),
        Finding("mean_return", 180.0, "empirical", confidence=0.95, interval=(170.0, 190.0)),
        Finding("attacked_mean_return@B=0.4", 199.0, "empirical"),
    )


@pytest.mark.parametrize(
    "criterion, verdict",
    [
        (Criterion("certified_expected_return@B=0.4", at_least=150), "pass"),
        (Criterion("certified_expected_return@B=0.4", at_least=160), "fail"),
        (Criterion("certified_state_fraction@eps=0.01", at_least=0.9), "pass"),
        (Criterion("certified_state_fraction@eps=0.01", at_most=0.5), "fail"),
        # An empirical interval decides only when all of it is on one side of the threshold.
        (Criterion("mean_return", at_least=165), "pass"),
        (Criterion("mean_return", at_least=195), "fail"),
        (Criterion("mean_return", at_least=180), "inconclusive"),
        (Criterion("mean_return", at_most=200), "pass"),
        (Criterion("mean_return", at_most=160), "fail"),
        (Criterion("mean_return", at_least=150, at_most=185), "inconclusive"),
        (Criterion("attacked_mean_return@B=0.4", at_least=190), "pass"),
    ],
)
def test_a_criterion_judges_bounds_as_bounds_and_estimates_by_their_interval(criterion, verdict):
    judged = criterion.judge(_findings())
    assert judged.verdict == verdict, judged.reason
    assert criterion.finding in judged.reason


def test_the_reason_says_what_kind_of_evidence_decided():
    assert "statistical bound" in Criterion("certified_expected_return@B=0.4", at_least=1).judge(_findings()).reason
    assert "(certain)" in Criterion("certified_state_fraction@eps=0.01", at_least=0.1).judge(_findings()).reason
    assert "95% interval" in Criterion("mean_return", at_least=1).judge(_findings()).reason


def test_a_criterion_on_a_finding_the_check_does_not_make_names_the_ones_it_makes():
    with pytest.raises(InvalidValueError, match="'certified_reward'.*mean_return"):
        Criterion("certified_reward", at_least=1).judge(_findings())


@pytest.mark.parametrize("kwargs", [{}, {"at_least": float("nan")}, {"at_most": "high"}, {"at_least": True}])
def test_a_criterion_needs_a_finite_threshold(kwargs):
    with pytest.raises(InvalidValueError):
        Criterion("mean_return", **kwargs)


def test_every_built_in_analysis_is_registered_once():
    kinds = check_kinds()
    expected = {"evaluation", "reward_certificate", "smoothed_actions", "action_certificates", "lipschitz", "stress"}
    assert expected <= set(kinds)
    with pytest.raises(UnknownNameError, match="unknown check kind 'rewards'.*reward_certificate"):
        check_kind("rewards")
    clash = CheckKind("evaluation", "another", dict, lambda *a: None, lambda *a: None, lambda r: r, lambda r: "")
    with pytest.raises(ValueError, match="already registered"):
        register_check(clash)
