import json
import signal
import subprocess
import sys
import time
import warnings

import pytest

import rlcert.audit.runner as runner
from rlcert.analyses.evaluation import EvaluationConfig
from rlcert.analyses.reward import RewardCertificateConfig
from rlcert.analyses.stress import StressTestConfig
from rlcert.audit.checks import Criterion
from rlcert.audit.document import AuditDocument
from rlcert.audit.runner import AuditWarning, resume_audit, run_audit
from rlcert.audit.suite import AuditSuite, CheckSpec, load_audit_suite
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

SMOOTHED = "zoo:cartpole5-ppo-sigma0.2"


def _suite(**rollout) -> AuditSuite:
    checks = (
        CheckSpec("evaluation", EvaluationConfig(episodes=12)),
        CheckSpec(
            "reward_certificate",
            RewardCertificateConfig(episodes=300, budgets="0,0.2", bound="dkw"),
            Criterion("certified_expected_return@B=0.2", at_least=50),
        ),
        CheckSpec("stress", StressTestConfig(suite="StickyActions:p=0.25", episodes=6)),
    )
    return AuditSuite((SMOOTHED,), checks, RolloutOptions(chunk_size=100, progress=False, **rollout), source="test")


def _without_timing(value):
    """The report with what differs between two runs of the same audit left out: times and dates."""
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in ("wall_time_s", "created")}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def _report(out_dir) -> dict:
    return _without_timing(json.loads((out_dir / "report.json").read_text()))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("whole")
    document = run_audit(_suite(), out_dir, command="rlcert audit test", progress=False)
    return out_dir, document


def test_an_audit_writes_its_three_files_and_a_verdict_per_check(uninterrupted):
    out_dir, document = uninterrupted
    assert {"report.json", "report.md", "report.html"} <= {p.name for p in out_dir.iterdir()}
    assert [c.kind for c in document.checks] == ["evaluation", "reward_certificate", "stress"]
    evaluation, reward, stress = document.checks
    assert evaluation.verdict == "info" and evaluation.headline.name == "mean_return"
    assert reward.verdict == "pass" and reward.headline.name == "certified_expected_return@B=0.2"
    assert stress.verdict in ("pass", "fail", "inconclusive") and stress.reason
    assert all(check.reading and check.parameters for check in document.checks)
    assert document.subjects[0]["policy_sha256"] and len(document.subjects[0]["policy_sha256"]) == 64
    assert AuditDocument.from_json((out_dir / "report.json").read_text()).checks == document.checks


def test_an_audit_interrupted_in_a_check_resumes_to_the_same_report(uninterrupted, tmp_path, monkeypatch):
    out_dir = tmp_path / "audit"
    real_run_check = runner._run_check

    def interrupted(record_id, spec, *args):
        if spec.kind == "stress":
            raise KeyboardInterrupt
        return real_run_check(record_id, spec, *args)

    monkeypatch.setattr(runner, "_run_check", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_audit(_suite(), out_dir, command="rlcert audit test", progress=False)
    assert len(list((out_dir / "checks").glob("*.json"))) == 2 and not (out_dir / "report.json").exists()
    monkeypatch.setattr(runner, "_run_check", real_run_check)
    ran = []
    monkeypatch.setattr(
        runner, "_run_check", lambda record_id, *a: ran.append(record_id) or real_run_check(record_id, *a)
    )
    resume_audit(out_dir, progress=False)
    assert ran == ["03-stress-cartpole5-ppo-sigma0.2"]  # finished checks are not run again
    assert _report(out_dir) == _report(uninterrupted[0])
    assert (out_dir / "report.html").read_text().count("<section") == 3


def test_a_directory_holding_an_audit_is_not_overwritten(uninterrupted):
    with pytest.raises(InvalidValueError, match="already holds an audit.*--resume"):
        run_audit(_suite(), uninterrupted[0], progress=False)


def test_a_changed_check_record_is_run_again_with_a_warning(uninterrupted, tmp_path):
    import shutil

    out_dir = tmp_path / "copy"
    shutil.copytree(uninterrupted[0], out_dir)
    record = out_dir / "checks" / "02-reward_certificate-cartpole5-ppo-sigma0.2.json"
    saved = json.loads(record.read_text())
    saved["record"]["findings"][1]["value"] = 199.0  # a certificate edited by hand
    record.write_text(json.dumps(saved))
    (out_dir / "plots" / "02-reward_certificate-cartpole5-ppo-sigma0.2.png").write_bytes(b"not the plot")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resume_audit(out_dir, progress=False)
    assert any(issubclass(w.category, AuditWarning) and "02-reward_certificate" in str(w.message) for w in caught)
    assert _report(out_dir) == _report(uninterrupted[0])


def test_a_check_that_cannot_apply_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_run_check", lambda *a: pytest.fail("a check ran"))
    suite = AuditSuite(("zoo:cartpole5-dqn",), (CheckSpec("reward_certificate", RewardCertificateConfig()),))
    suite = AuditSuite(suite.policies, suite.checks, source="my-suite.toml")
    with pytest.raises(InvalidValueError, match="reward_certificate check cannot run on zoo:cartpole5-dqn.*sigma"):
        run_audit(suite, tmp_path / "a", progress=False)


def test_the_default_suite_marks_a_check_that_does_not_apply_to_one_of_its_policies(tmp_path):
    checks = (CheckSpec("reward_certificate", RewardCertificateConfig(episodes=200, budgets="0,0.2", bound="dkw")),)
    suite = AuditSuite(("zoo:cartpole5-dqn", SMOOTHED), checks, RolloutOptions(progress=False))
    document = run_audit(suite, tmp_path / "a", progress=False)
    unsmoothed, smoothed = document.checks
    assert unsmoothed.verdict == "info" and unsmoothed.reason.startswith("does not apply") and not unsmoothed.findings
    assert smoothed.findings and smoothed.policy == SMOOTHED


@pytest.mark.slow
def test_an_audit_killed_mid_run_resumes_to_the_report_of_an_uninterrupted_one(tmp_path):
    suite_file = tmp_path / "suite.toml"
    suite_file.write_text(
        'policy = "zoo:cartpole5-ppo-sigma0.2"\nchunk_size = 250\n'
        '[[check]]\nkind = "evaluation"\nepisodes = 50\n'
        '[[check]]\nkind = "reward_certificate"\nepisodes = 4000\nbudgets = "0,0.2,0.4"\n'
    )
    command = [sys.executable, "-m", "rlcert.cli", "audit", str(suite_file), "--no-progress", "--out"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run([*command, str(whole)], check=True, capture_output=True, timeout=600)
    process = subprocess.Popen([*command, str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = killed / "checkpoints" / "02-reward_certificate-cartpole5-ppo-sigma0.2"
    deadline = time.monotonic() + 300
    while len(list(chunks.glob("chunk_*.npz"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "report.json").exists(), "the audit finished before it could be killed"
    resumed = subprocess.run(
        [sys.executable, "-m", "rlcert.cli", "audit", "--resume", str(killed), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    killed_report, whole_report = _report(killed), _report(whole)
    # The command names each audit's own directory; everything else is the same.
    assert killed_report.pop("command").endswith(f"--out {killed}") and whole_report.pop("command").endswith(str(whole))
    assert killed_report == whole_report
    assert (
        load_audit_suite(suite_file).fingerprint()
        == json.loads((killed / "audit-suite.json").read_text())["fingerprint"]
    )


def test_several_policies_get_a_side_by_side_plot_per_check(tmp_path):
    checks = (
        CheckSpec("evaluation", EvaluationConfig(episodes=4)),
        CheckSpec("reward_certificate", RewardCertificateConfig(episodes=200, budgets="0,0.2,0.4", bound="dkw")),
    )
    suite = AuditSuite(("zoo:cartpole5-dqn-sigma0.2", SMOOTHED), checks, RolloutOptions(progress=False))
    document = run_audit(suite, tmp_path / "a", progress=False)
    assert [c["plot"] for c in document.comparisons] == [
        "plots/compare-01-evaluation.png",
        "plots/compare-02-reward_certificate.png",
    ]
    assert all((tmp_path / "a" / c["plot"]).stat().st_size > 0 for c in document.comparisons)
    html = (tmp_path / "a" / "report.html").read_text()
    assert "Side by side" in html and html.count("<img") == 2 + 2  # two certificate plots, two comparisons
