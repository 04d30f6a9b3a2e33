import json

from rlcert.cli import main
from rlcert.reports.findings import AuditReport


def test_stress_command_writes_report_and_plot(tmp_path, capsys):
    out = tmp_path / "stress.json"
    args = ["stress", "--env", "cartpole5?max_steps=40", "--suite", "RandomActionExecution:p=0.5", "--episodes", "6"]
    assert main([*args, "--tolerance", "0.1", "--no-progress", "--out", str(out)]) == 0
    report = AuditReport.from_json(out.read_text())
    assert [f.name for f in report.findings][0] == "baseline_return"
    assert report.findings[1].params["probe"] == "RandomActionExecution(p=0.5)"
    printed = capsys.readouterr().out
    assert out.with_suffix(".png").stat().st_size > 0 and "stress test" in printed
    # The zoo's default agent balances all 40 steps: the step limit ends its baseline episodes.
    assert "cut at step limit" in printed and "baseline: 6/6 episodes cut" in printed
    assert json.loads(out.read_text())["extra"]["passed"] in (True, False)


def test_stress_command_bad_input(tmp_path, capsys):
    assert main(["stress", "--suite", "RandomActionExecution:p=7", "--out", str(tmp_path / "x.json")]) == 2
    assert "p must be a probability in [0, 1], got 7" in capsys.readouterr().err


def test_stress_command_stori_paper_suite_needs_an_ale_game(tmp_path, capsys):
    assert main(["stress", "--suite", "stori-paper", "--out", str(tmp_path / "x.json")]) == 2
    assert "stori-paper profiles exist for ALE games only" in capsys.readouterr().err


def test_stress_command_records_sampled_actions(tmp_path, capsys):
    out = tmp_path / "stress.json"
    args = ["stress", "--policy", "zoo:cartpole-ppo", "--env", "CartPole-v1?max_steps=30", "--actions", "sampled"]
    assert main([*args, "--suite", "RandomActionExecution:p=0.5", "--episodes", "4", "--no-progress",
                 "--out", str(out)]) == 0  # fmt: skip
    report = AuditReport.from_json(out.read_text())
    assert {f.params["actions"] for f in report.findings} == {"sampled"}
    assert "(sampled actions)" in capsys.readouterr().out


def test_stress_command_refuses_too_few_episodes_instead_of_running_its_default(tmp_path, capsys):
    out = tmp_path / "x.json"
    assert main(["stress", "--episodes", "0", "--out", str(out)]) == 2
    assert "--episodes must be an integer >= 2, got 0" in capsys.readouterr().err and not out.exists()


def test_stress_command_title_names_env_probe_and_episodes(tmp_path, capsys):
    args = ["stress", "--env", "cartpole5?max_steps=20", "--suite", "RandomActionExecution:p=0.5", "--episodes", "4"]
    assert main([*args, "--probe", "StickyActions:p=0.1", "--no-progress", "--out", str(tmp_path / "s.json")]) == 0
    printed = "".join(capsys.readouterr().out.split())  # the console wraps a long title anywhere
    assert "onCartPole-v0?stack=5&max_steps=20underStickyActions(p=0.1)" in printed and "N=4persetting" in printed


def test_too_few_episodes_get_no_verdict_and_a_plot(tmp_path, capsys):
    out = tmp_path / "s.json"
    args = ["stress", "--env", "cartpole5?max_steps=20", "--suite", "RandomActionExecution:p=0.5", "--episodes", "2"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "no verdict below 6 episodes per setting" in printed and out.with_suffix(".png").exists()
    assert json.loads(out.read_text())["extra"]["passed"] is False
