"""The hijack stress test (rlcert.analyses.hijack), its command and its audit check: paired conditions on the same
seeds, differences with intervals that contain them, empirical findings, one-line refusals."""

import json

import numpy as np
import pytest
import torch

from rlcert.analyses.hijack import HijackStressConfig, hijack_stress_test
from rlcert.cli import main
from rlcert.envs.options import RolloutOptions

torch.set_num_threads(1)
SMALL = HijackStressConfig(steps=5, start=20, window=20, episodes=6, hijacker_timesteps=512, clean_episodes=2)


@pytest.fixture(scope="module")
def result():
    return hijack_stress_test("zoo:cartpole-ppo", "CartPole-v1?max_steps=100", SMALL, RolloutOptions(progress=False))


def test_the_conditions_are_paired_and_summarized_with_intervals(result, tmp_path):
    assert [o.condition for o in result.outcomes] == ["clean", "random", "learned"]
    clean = result.outcome("clean")
    assert clean.returns.tolist() == [100.0] * 6 and clean.hijacked.all()  # the balanced policy plays on
    for metric in ("return", "surprise", "recovery_steps"):
        mean, low, high = result.difference(metric)
        learned, random = result.outcome("learned").metric(metric), result.outcome("random").metric(metric)
        assert mean == pytest.approx(float(np.mean(learned - random))) and low <= mean <= high
    assert all(0 <= r <= SMALL.window for o in result.outcomes for r in o.recovery_steps)
    assert {f.evidence.value for f in result.findings()} == {"empirical"}
    json.dumps(result.to_dict())
    assert result.plot(tmp_path / "hijack.png").stat().st_size > 10_000


def test_the_command_writes_its_report_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    out = tmp_path / "hijack.json"
    args = ["hijack", "--env", "CartPole-v1?max_steps=60", "--steps", "3", "--start", "10", "--window", "10",
            "--episodes", "3", "--hijacker-timesteps", "256", "--clean-episodes", "2", "--no-progress",
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "return_learned_minus_random" in capsys.readouterr().out
    assert json.loads(out.read_text())["extra"]["outcomes"]["learned"]
    assert main(["hijack", "--episodes", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "at least 2 for a paired interval" in err and len(err.splitlines()) == 1
    assert main(["hijack", "--objective", "reward", "--out", str(out)]) == 2
    assert "--objective must be one of surprise, return-loss" in capsys.readouterr().err


def test_a_policy_over_stacked_frames_is_hijacked_on_raw_frames():
    # the probe and the hijacker see raw frames; the frozen policy sees them stacked, as the engine stacks them
    config = HijackStressConfig(steps=3, start=10, window=10, episodes=3, hijacker_timesteps=256, clean_episodes=2)
    result = hijack_stress_test("zoo:cartpole5-dqn", "cartpole5?max_steps=40", config, RolloutOptions(progress=False))
    assert result.hijacker.policy.observation_space.shape == (4,)
    assert result.outcome("clean").returns.tolist() == [40.0] * 3


def test_the_audit_runs_the_surprise_check(tmp_path):
    from rlcert.audit import AuditSuite, CheckSpec, run_audit

    check = CheckSpec("surprise", SMALL)
    suite = AuditSuite(("zoo:cartpole-ppo",), (check,), RolloutOptions(progress=False), "CartPole-v1?max_steps=100",
                       source="t")  # fmt: skip
    (record,) = run_audit(suite, tmp_path / "a").checks
    assert record.verdict == "info" and record.headline.name == "return_learned_minus_random"
