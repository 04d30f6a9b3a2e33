"""The evaluation analysis (rlcert.analyses.evaluation): what `rlcert evaluate` runs."""

import pytest

from rlcert.analyses.evaluation import EvaluationConfig, evaluate_policy
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError


def test_an_evaluation_is_an_empirical_mean_with_its_interval_and_what_it_holds_for():
    rollout = RolloutOptions(progress=False, probe="StickyActions:p=0.25", seed=4)
    result = evaluate_policy("zoo:cartpole5-dqn", "cartpole5?max_steps=40", EvaluationConfig(episodes=5), rollout)
    (finding,) = result.findings()
    assert finding.evidence.value == "empirical" and finding.interval[0] <= finding.value <= finding.interval[1]
    assert finding.params["probe"] == "StickyActions(p=0.25)" and finding.params["seed"] == 4
    assert "workers" not in finding.params  # never changes a number, so not recorded as if it did
    assert result.label().endswith("under probe StickyActions(p=0.25) · N=5")
    assert result.plot("unused.png") is None


def test_bad_values_are_refused():
    with pytest.raises(InvalidValueError, match="--episodes"):
        EvaluationConfig(episodes=0)
    with pytest.raises(InvalidValueError, match="--actions must be greedy or sampled"):
        EvaluationConfig(actions="argmax")
