import json
import time

import pytest

from rlcert.cli import main

SUITE = """\
policy = "zoo:cartpole5-ppo-sigma0.2"
[[check]]
kind = "evaluation"
episodes = 10
[[check]]
kind = "reward_certificate"
episodes = 200
budgets = "0,0.2"
bound = "dkw"
pass = { finding = "certified_expected_return@B=0.2", at_least = 300 }
"""


def test_rlcert_audit_runs_a_suite_and_prints_the_summary_and_the_report_path(tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    out = tmp_path / "audit"
    assert main(["audit", str(suite), "--out", str(out), "--no-progress"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "fail" in printed  # 300 is above what 200 steps can give: the criterion is not certified
    assert f"report: {(out / 'report.html').absolute()}" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["command"] == f"rlcert audit {suite} --out {out}"
    assert [c["verdict"] for c in report["checks"]] == ["info", "fail"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resume", "RUN", "--policies", "zoo:cartpole5-dqn"], "--policies cannot apply"),
        (["--resume", "RUN", "--out", "elsewhere"], "--out cannot apply"),
        (["--resume", "/nonexistent/audit"], "not a directory holding an audit"),
        (["SUITE", "--policies", "zoo:cartpole5-dqn"], "a suite names its own policies"),
        (["--policies", ",,"], "comma list of policy references"),
        (["--out", "FILE"], "must name a directory"),
        (["--env", "cartpole5", "--policies", "zoo:cartpole5-dqn", "--out", "EMPTY"], None),
    ],
)
def test_options_that_cannot_apply_or_bad_values_are_one_line_errors(args, message, tmp_path, capsys):
    if message is None:  # a run dir with no audit in it cannot be resumed; a fresh audit into it is fine
        assert main(["audit", "--resume", str(tmp_path)]) == 2
        assert "holds no audit to resume" in capsys.readouterr().err
        return
    (tmp_path / "suite.toml").write_text(SUITE)
    (tmp_path / "file").write_text("")
    (tmp_path / "run").mkdir()
    replace = {"RUN": str(tmp_path / "run"), "SUITE": str(tmp_path / "suite.toml"), "FILE": str(tmp_path / "file")}
    assert main(["audit", *[replace.get(a, a) for a in args]]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_version():
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0


@pytest.mark.slow
def test_the_default_audit_covers_every_check_that_applies_within_five_minutes(tmp_path, capsys):
    start = time.perf_counter()
    assert main(["audit", "--out", str(tmp_path / "audit"), "--no-progress"]) == 0
    elapsed = time.perf_counter() - start
    report = json.loads((tmp_path / "audit" / "report.json").read_text())
    kinds = [c["kind"] for c in report["checks"]]
    assert kinds == [
        "evaluation",
        "reward_certificate",
        "smoothed_actions",
        "action_certificates",
        "lipschitz",
        "stress",
        "instability",
        "surprise",
    ]
    assert all(c["findings"] for c in report["checks"])
    assert elapsed < 300, f"the default audit took {elapsed:.0f} s"
