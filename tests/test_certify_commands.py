import json

import numpy as np
import pytest

from reports.findings import AuditReport
from rlcert.certify_commands import load_returns
from rlcert.cli import main


def test_certify_reward_from_a_zoo_agent_with_the_attack_overlay(tmp_path, capsys):
    out = tmp_path / "cert.json"
    code = main(
        [
            "certify",
            "reward",
            "--episodes",
            "200",
            "--budgets",
            "0,0.4",
            "--attack-episodes",
            "4",
            "--attack-noise-samples",
            "8",
            "--undefended",
            "zoo:cartpole5-dqn",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    report = AuditReport.from_json(out.read_text())
    names = [f.name for f in report.findings]
    assert "certified_expected_return@B=0.4" in names and "attacked_mean_return@B=0.4" in names
    assert "undefended_attacked_mean_return@B=0.4" in names
    certified = {f.name: f for f in report.findings}["certified_expected_return@B=0.4"]
    assert certified.evidence.value == "statistical" and certified.confidence == 0.95
    assert certified.params["sigma"] == 0.2 and certified.params["range"] == [0.0, 200.0]
    assert (tmp_path / "cert.png").stat().st_size > 10_000
    assert "certified expected return" in capsys.readouterr().out


def test_certify_reward_from_saved_returns(tmp_path):
    returns = np.r_[np.full(990, 200.0), np.arange(10.0)]
    np.save(tmp_path / "r.npy", returns)
    (tmp_path / "r.json").write_text(json.dumps(returns.tolist()))
    for name in ("r.npy", "r.json"):
        out = tmp_path / f"{name}.report.json"
        assert (
            main(
                [
                    "certify",
                    "reward",
                    "--from-returns",
                    str(tmp_path / name),
                    "--sigma",
                    "0.2",
                    "--range",
                    "0:200",
                    "--budgets",
                    "0:0.4:0.2",
                    "--bound",
                    "dkw",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        findings = AuditReport.from_json(out.read_text()).findings
        assert [f.params.get("budget") for f in findings[1:]] == [0.0, 0.2, 0.4]


def test_binary_certificate_on_the_command_line(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps([-120.0] * 95 + [-200.0] * 5))
    out = tmp_path / "b.json"
    assert (
        main(
            [
                "certify",
                "reward",
                "--from-returns",
                str(tmp_path / "r.json"),
                "--sigma",
                "0.2",
                "--range=-200:0",
                "--success-min-return=-199",
                "--budgets",
                "0,0.2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    findings = {f.name: f for f in AuditReport.from_json(out.read_text()).findings}
    assert findings["clean_success_rate"].value == 0.95
    assert findings["certified_success_probability@B=0.2"].value < findings["certified_success_probability@B=0"].value


@pytest.mark.parametrize(
    "args, message",
    [
        (["--sigma", "0"], "sigma must be a finite number > 0"),
        (["--budgets=-1,0"], "budgets must be finite and >= 0"),
        (["--alpha", "1.5"], "alpha must lie strictly between 0 and 1"),
        (["--range", "0:100"], "outside the declared range"),
        (["--episodes", "5"], "too few for confidence"),
        (["--bound", "wilson"], "unknown bound"),
        (["--policy", "zoo:cartpole5-dqn"], "--sigma is required"),
        (["--env", "Pendulum-v1", "--policy", "zoo:cartpole-ppo", "--sigma", "0.1"], "expects observations"),
    ],
)
def test_bad_input_gives_a_one_line_error(args, message, capsys, tmp_path):
    code = main(["certify", "reward", "--episodes", "50", "--no-progress", "--out", str(tmp_path / "x.json"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_load_returns_validates(tmp_path):
    (tmp_path / "bad.json").write_text('{"returns": [1, "x"]}')
    with pytest.raises(ValueError, match="cannot read returns"):
        load_returns(tmp_path / "bad.json")
    (tmp_path / "nan.txt").write_text("1\nnan\n")
    with pytest.raises(ValueError, match="finite"):
        load_returns(tmp_path / "nan.txt")
    with pytest.raises(ValueError, match="does not exist"):
        load_returns(tmp_path / "none.npy")


def test_certify_smoothed_actions(tmp_path, capsys):
    out = tmp_path / "crop.json"
    assert main(["certify", "smoothed-actions", "--episodes", "1", "--samples", "200", "--out", str(out)]) == 0
    report = AuditReport.from_json(out.read_text())
    assert report.findings[0].name == "mean_certified_radius" and len(report.extra["radii"]) == 200
    assert (
        main(
            [
                "certify",
                "smoothed-actions",
                "--policy",
                "zoo:cartpole5-dqn",
                "--sigma",
                "0.2",
                "--episodes",
                "1",
                "--samples",
                "50",
                "--out",
                str(out),
            ]
        )
        == 0
    )  # Q-values: range from the zoo's value_range
