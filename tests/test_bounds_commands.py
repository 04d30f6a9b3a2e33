from reports.findings import AuditReport
from rlcert.cli import main


def test_certify_actions_reports_sound_fractions_radii_and_trajectories(tmp_path, capsys):
    out = tmp_path / "actions.json"
    assert (
        main(
            [
                "certify",
                "actions",
                "--env",
                "cartpole5?max_steps=30",
                "--eps",
                "0.00001,0.5",
                "--episodes",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = AuditReport.from_json(out.read_text())
    findings = {f.name: f for f in report.findings}
    assert all(f.evidence.value == "sound" for f in report.findings)
    assert findings["certified_state_fraction@eps=1e-05"].value == 1.0
    assert findings["certified_state_fraction@eps=0.5"].value < 1.0
    assert sum(f.name == "certified_episode_return" for f in report.findings) == 2  # both episodes at tiny eps
    assert len(report.extra["radii"]) == 60 and "sound action certificates" in capsys.readouterr().out
    # Lipschitz bounds: the local one over a tiny ball is far below the global product, both sound.
    local = findings["local_lipschitz_max@eps=1e-05"]
    assert 0 < local.value < findings["global_lipschitz"].value
    assert findings["local_lipschitz_max@eps=0.5"].value >= local.value


def test_certify_actions_subsamples_states(tmp_path):
    out = tmp_path / "actions.json"
    args = ["certify", "actions", "--env", "cartpole5?max_steps=30", "--eps", "0.01", "--episodes", "1"]
    assert main([*args, "--max-states", "7", "--no-lipschitz", "--no-trajectories", "--out", str(out)]) == 0
    report = AuditReport.from_json(out.read_text())
    assert len(report.extra["radii"]) == 7
    assert not any("lipschitz" in f.name or "step_fraction" in f.name for f in report.findings)
    assert main([*args, "--max-states", "-1", "--out", str(out)]) == 2


def test_certify_actions_bad_input(tmp_path, capsys):
    assert (
        main(
            [
                "certify",
                "actions",
                "--method",
                "exact",
                "--eps",
                "0.1",
                "--episodes",
                "1",
                "--env",
                "cartpole5?max_steps=5",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    assert "unknown method 'exact'" in capsys.readouterr().err
