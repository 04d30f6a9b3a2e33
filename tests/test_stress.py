import numpy as np
import pytest

from envs.generic_probes import FeatureDropout, RandomActionExecution
from envs.probes import ProbeStack
from envs.stress import ProbeSetting, relative_drop, stress_test


def test_relative_drop_is_one_minus_the_ratio_of_means_above_the_floor():
    baseline, perturbed = np.array([10.0, 12, 14, 16]), np.array([5.0, 6, 7, 8])
    drop, low, high = relative_drop(baseline, perturbed)
    assert drop == pytest.approx(0.5) and low == pytest.approx(0.5) and high == pytest.approx(0.5)  # exact ratio
    drop, _, _ = relative_drop(np.array([-1.0, 1.0]), np.array([-21.0, -21.0]), floor=-21)
    assert drop == pytest.approx(1.0)  # as bad as the game allows


def test_relative_drop_interval_covers_the_true_drop_at_its_level():
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(400):
        start = rng.normal(0, 1, 60)  # shared initial conditions make the pairs correlated
        baseline = 100 + 10 * start + rng.normal(0, 5, 60)
        perturbed = 70 + 8 * start + rng.normal(0, 5, 60)
        _, low, high = relative_drop(baseline, perturbed, confidence=0.9)
        covered += low <= 0.3 <= high
    assert 0.85 <= covered / 400 <= 0.95


def test_relative_drop_bad_input():
    with pytest.raises(ValueError, match="not above the floor"):
        relative_drop(np.array([-3.0, -2.0]), np.array([-3.0, -3.0]))
    with pytest.raises(ValueError, match="paired"):
        relative_drop(np.ones(3), np.ones(4))


def test_stress_test_reports_each_setting_with_a_verdict(balancing_policy):
    settings = [ProbeSetting("random actions", p, ProbeStack.of(RandomActionExecution, p=p)) for p in (0.0, 0.6)] + [
        ProbeSetting("dropout", 0.2, ProbeStack.of(FeatureDropout, p=0.2))
    ]
    report = stress_test(balancing_policy, "cartpole5?max_steps=100", settings, 30, tolerance=0.2, seed=1)
    verdicts = {(r.setting.family, r.setting.severity): r for r in report.results}
    assert report.baseline_mean == pytest.approx(100.0) and report.baseline_cut_episodes == 30
    assert verdicts[("random actions", 0.0)].verdict == "pass" and verdicts[("random actions", 0.0)].drop == 0
    heavy = verdicts[("random actions", 0.6)]
    assert heavy.drop > 0.2 and heavy.verdict in ("fail", "inconclusive") and heavy.drop_low <= heavy.drop
    assert heavy.cut_episodes < 30  # heavy action noise drops the pole before the step limit
    assert not report.passed
    findings = report.findings()
    assert all(f.evidence.value == "empirical" for f in findings) and len(findings) == 4
    assert findings[2].interval == (heavy.drop_low, heavy.drop_high) and findings[2].params["verdict"] == heavy.verdict


def test_stress_test_bad_input(balancing_policy):
    setting = ProbeSetting("x", 0.1, ProbeStack.of(RandomActionExecution, p=0.1))
    with pytest.raises(ValueError, match="tolerance must be"):
        stress_test(balancing_policy, "cartpole5", [setting], 5, tolerance=-1)
    with pytest.raises(ValueError, match="at least one probe setting"):
        stress_test(balancing_policy, "cartpole5", [], 5)
