"""The stress test as a library call: defaults it resolves, reproducibility, and the base probe stack."""

from dataclasses import asdict

import pytest

from rlcert.analyses import StressTestConfig, stress_test_policy
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

POLICY = "zoo:cartpole5-dqn"
ENV = "cartpole5?max_steps=30"
STICKY = StressTestConfig(suite="StickyActions:p=0.25", episodes=6)
QUIET = RolloutOptions(progress=False)


@pytest.fixture(scope="module")
def sticky():
    return stress_test_policy(POLICY, ENV, STICKY, QUIET)


def test_findings_are_empirical_and_name_the_subject(sticky):
    findings = sticky.findings()
    assert [f.name for f in findings][0] == "baseline_return" and len(findings) == 2
    assert {f.evidence.value for f in findings} == {"empirical"}
    assert all(f.params["policy"] == POLICY and f.params["policy_sha256"] for f in findings)
    assert findings[1].params["probe"] == "StickyActions(p=0.25)" and "base_probe" not in findings[1].params
    assert "N=6 per setting" in sticky.label() and "mean ± standard error" in sticky.label()
    resolved = asdict(STICKY) | {"tolerance": 0.2, "floor": 0.0}
    assert sticky.report_extra() == {"config": resolved, "passed": sticky.report.passed}


def test_same_seed_gives_the_same_report(sticky):
    assert stress_test_policy(POLICY, ENV, STICKY, QUIET).report == sticky.report


def test_defaults_without_config_or_suite(sticky):
    # CartPole's returns lie in [0, T]: its floor is 0; classic control runs 100 episodes per setting.
    assert (sticky.tolerance, sticky.floor) == (0.2, 0.0)
    unset = stress_test_policy(POLICY, "cartpole5?max_steps=10", StressTestConfig(suite="StickyActions:p=0.25"), QUIET)
    assert (unset.episodes, unset.report.episodes, unset.tolerance) == (100, 100, 0.2)


def test_floor_defaults_to_the_envs_lowest_return():
    config = StressTestConfig(suite="StickyActions:p=0.25", episodes=2)
    result = stress_test_policy("zoo:mountaincar-dqn", config=config, rollout=QUIET)
    assert result.floor == result.report.floor == -200.0  # MountainCar-v0 pays -1 for each of its 200 steps


def test_suite_defaults_apply_and_the_config_overrides_them(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(
        'episodes = 3\ntolerance = 0.3\nfloor = -1.0\n\n[[sweep]]\nname = "sticky"\nprobe = "StickyActions"\n'
        'severity = "p"\nvalues = [0.25]\n'
    )
    from_suite = stress_test_policy(POLICY, ENV, StressTestConfig(suite=str(suite)), QUIET)
    assert (from_suite.episodes, from_suite.tolerance, from_suite.floor) == (3, 0.3, -1.0)
    config = StressTestConfig(suite=str(suite), episodes=2, tolerance=0.1, floor=0.0)
    overridden = stress_test_policy(POLICY, ENV, config, QUIET)
    assert (overridden.episodes, overridden.tolerance, overridden.floor) == (2, 0.1, 0.0)


def test_a_base_probe_runs_under_every_episode_the_baseline_included():
    # --probe means one thing everywhere: every episode runs under it. The drops then measure each setting
    # on the probed env.
    from rlcert.agents import load_policy
    from rlcert.envs import parse_probe_stack, run

    rollout = RolloutOptions(progress=False, probe="RandomActionExecution:p=1")
    config = StressTestConfig(suite="generic", episodes=2)
    result = stress_test_policy(POLICY, ENV, config, rollout)
    assert len(result.report.results) > 1
    assert all(r.setting.stack.label.startswith("RandomActionExecution(p=1) + ") for r in result.report.results)
    probed = run(load_policy(POLICY), ENV, 2, probe=parse_probe_stack("RandomActionExecution:p=1"), progress=False)
    unprobed = run(load_policy(POLICY), ENV, 2, progress=False)
    assert probed.mean_return != unprobed.mean_return  # else this test could not tell the two apart
    assert result.report.baseline_mean == probed.mean_return
    assert "under RandomActionExecution(p=1)" in result.label()
    baseline, *settings = result.findings()
    assert baseline.params["base_probe"] == "RandomActionExecution(p=1)"
    assert all(f.params["probe"].startswith("RandomActionExecution(p=1) + ") for f in settings)


def test_config_refuses_bad_values():
    with pytest.raises(InvalidValueError, match="--episodes must be an integer >= 2, got 1"):
        StressTestConfig(episodes=1)
    with pytest.raises(InvalidValueError, match="--suite must name a suite"):
        StressTestConfig(suite="")
    with pytest.raises(InvalidValueError, match="--actions must be greedy or sampled"):
        StressTestConfig(actions="random")
