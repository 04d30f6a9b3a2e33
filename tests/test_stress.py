import numpy as np
import pytest

from rlcert.envs.generic_probes import FeatureDropout, RandomActionExecution
from rlcert.envs.probes import ProbeStack
from rlcert.envs.stress import (
    TOO_FEW_EPISODES,
    ProbeSetting,
    drop_verdict,
    relative_drop,
    stress_test,
    verdict_min_episodes,
)


def test_relative_drop_is_one_minus_the_ratio_of_means_above_the_floor():
    baseline, perturbed = np.array([10.0, 12, 14, 16]), np.array([5.0, 6, 7, 8])
    drop, low, high = relative_drop(baseline, perturbed)
    assert drop == pytest.approx(0.5) and low == pytest.approx(0.5) and high == pytest.approx(0.5)  # exact ratio
    drop, _, _ = relative_drop(np.array([-1.0, 1.0]), np.array([-21.0, -21.0]), floor=-21)
    assert drop == pytest.approx(1.0)  # as bad as the game allows


@pytest.mark.parametrize("episodes", [2, 3, 4, 5, 6, 7, 8, 9, 10, 60])
def test_relative_drop_interval_covers_the_true_drop_at_its_level_down_to_two_episodes(episodes):
    rng = np.random.default_rng(episodes)  # seeded: the same simulation every run
    covered = 0
    for _ in range(800):
        start = rng.normal(0, 1, episodes)  # shared initial conditions make the pairs correlated
        baseline = 100 + 10 * start + rng.normal(0, 5, episodes)
        perturbed = 70 + 8 * start + rng.normal(0, 5, episodes)
        _, low, high = relative_drop(baseline, perturbed, confidence=0.9)
        covered += low <= 0.3 <= high
    assert 0.86 <= covered / 800 <= 0.94  # binomial sd at 800 draws: 0.011


@pytest.mark.parametrize("episodes", [2, 4, 6, 10])
def test_relative_drop_interval_covers_returns_capped_by_the_game(episodes):
    # Returns bounded in [0, 200] with a pile at the cap, as a step limit makes them; far from normal.
    def returns(rng, size):
        start = rng.normal(0, 1, size)
        baseline = np.clip(150 + 60 * start + rng.normal(0, 30, size), 0, 200)
        return baseline, np.clip(110 + 60 * start + rng.normal(0, 50, size), 0, 200)

    rng = np.random.default_rng([7, episodes])
    population_baseline, population_perturbed = returns(rng, 400_000)
    true_drop = 1 - population_perturbed.mean() / population_baseline.mean()
    covered = 0
    for _ in range(800):
        _, low, high = relative_drop(*returns(rng, episodes), confidence=0.9)
        covered += low <= true_drop <= high
    assert 0.84 <= covered / 800 <= 0.95


def test_relative_drop_stays_within_what_the_floor_allows():
    # Two episodes whose normal-z interval reached past a 100 % drop (the perturbed mean below the floor).
    drop, low, high = relative_drop(np.array([10.0, 100.0]), np.array([5.0, 0.0]))
    assert drop == pytest.approx(1 - 5 / 110) and high == 1.0 and low < drop - 0.5  # t with 1 df: wide
    # A return below the floor (the floor was set too high): no clip, the drop above 1 is reported as it is.
    drop, _, high = relative_drop(np.array([10.0, 100.0]), np.array([-1.0, 0.0]))
    assert drop > 1 and high > drop


def test_no_verdict_below_the_episodes_a_distribution_free_test_needs():
    assert [verdict_min_episodes(c) for c in (0.5, 0.9, 0.95, 0.99)] == [2, 5, 6, 8]
    assert drop_verdict(0.0, 0.0, 0.2, episodes=5, confidence=0.95) == TOO_FEW_EPISODES
    assert drop_verdict(0.0, 0.0, 0.2, episodes=6, confidence=0.95) == "pass"
    assert drop_verdict(0.5, 0.6, 0.2, episodes=6, confidence=0.95) == "fail"
    assert drop_verdict(0.1, 0.6, 0.2, episodes=6, confidence=0.95) == "inconclusive"


def test_a_stress_test_with_too_few_episodes_gives_no_verdict_and_does_not_pass(balancing_policy):
    settings = [ProbeSetting("random actions", 0.0, ProbeStack.of(RandomActionExecution, p=0.0))]
    report = stress_test(balancing_policy, "cartpole5?max_steps=100", settings, 2, tolerance=0.2, seed=1)
    (result,) = report.results
    assert result.drop == 0 and result.verdict == TOO_FEW_EPISODES
    assert not report.passed
    finding = report.findings()[1]
    assert finding.params["verdict"] == TOO_FEW_EPISODES and finding.params["min_episodes_for_verdict"] == 6


def test_relative_drop_bad_input():
    with pytest.raises(ValueError, match="not above the floor"):
        relative_drop(np.array([-3.0, -3.0]), np.array([-3.0, -2.0]), floor=-3)
    with pytest.raises(ValueError, match="finite returns"):
        relative_drop(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
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
