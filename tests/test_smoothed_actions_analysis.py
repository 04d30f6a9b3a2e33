"""The CROP analysis (rlcert.analyses.smoothed_actions): what `rlcert certify smoothed-actions` runs."""

import pytest

from rlcert.analyses.smoothed_actions import SmoothedActionsConfig, certify_smoothed_actions
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

QUIET = RolloutOptions(progress=False)


def test_radii_findings_and_plot_of_the_visited_states(tmp_path):
    config = SmoothedActionsConfig(episodes=1, samples=200, eps="0.05,0.1")
    result = certify_smoothed_actions("zoo:cartpole5-ppo-sigma0.2", "cartpole5?max_steps=25", config, QUIET)
    assert len(result.certificate.radii) == 25
    names = [f.name for f in result.findings()]
    assert names == ["mean_certified_radius", "certified_state_fraction@eps=0.05", "certified_state_fraction@eps=0.1"]
    assert all(f.evidence.value == "statistical" for f in result.findings())
    assert result.plot(tmp_path / "radii.png").stat().st_size > 0


def test_a_q_value_policy_takes_its_range_from_the_zoo_and_checkpoints_are_refused():
    config = SmoothedActionsConfig(episodes=1, samples=100)
    result = certify_smoothed_actions("zoo:cartpole5-dqn-sigma0.2", "cartpole5?max_steps=10", config, QUIET)
    assert result.certificate.score_range == result.subject.value_range
    with pytest.raises(InvalidValueError, match="checkpoint_dir cannot apply"):
        certify_smoothed_actions(
            "zoo:cartpole5-ppo-sigma0.2", "cartpole5?max_steps=10", config, RolloutOptions(checkpoint_dir="ckpt")
        )
