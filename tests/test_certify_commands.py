import json

import numpy as np
import pytest

from rlcert.certify_commands import load_returns
from rlcert.cli import main
from rlcert.reports.findings import AuditReport


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
        (["--sigma", "0"], "--sigma must be a finite number > 0"),
        (["--budgets=-1,0"], "budgets must be finite and >= 0"),
        (["--alpha", "1.5"], "alpha must lie strictly between 0 and 1"),
        (["--range", "0:100"], "outside the declared range"),
        (["--episodes", "5"], "too few for confidence"),
        (["--bound", "wilson"], "--bound must be one of ell, clopper-pearson"),
        (["--policy", "zoo:cartpole5-dqn"], "--sigma is required"),
        (
            ["--env", "Pendulum-v1", "--policy", "zoo:cartpole-ppo", "--sigma", "0.1", "--range=-2000:0"],
            "expects observations",
        ),
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
    (tmp_path / "typo.json").write_text('{"returns": [1, 2], "sigmaa": 0.2}')
    with pytest.raises(ValueError, match="has the unknown key 'sigmaa'; valid keys: returns"):
        load_returns(tmp_path / "typo.json")


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


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "zoo:cartpole5-dqn"], "--policy cannot apply"),
        (["--attack-episodes", "100"], "--attack-episodes cannot apply"),
        (["--episodes", "100"], "--episodes cannot apply"),
        (["--probe", "StickyActions:p=0.25"], "--probe cannot apply"),
        (["--success-min-return", "180", "--bound", "dkw"], "--bound dkw does not apply to a success certificate"),
    ],
)
def test_options_that_cannot_apply_are_refused(args, message, tmp_path, capsys):
    np.save(tmp_path / "r.npy", np.full(1000, 200.0))
    out = tmp_path / "x.json"
    base = ["certify", "reward", "--from-returns", str(tmp_path / "r.npy"), "--sigma", "0.2", "--range", "0:200"]
    assert main([*base, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


def test_a_report_records_what_was_computed(tmp_path):
    np.save(tmp_path / "r.npy", np.r_[np.full(990, 200.0), np.zeros(10)])
    out = tmp_path / "x.json"
    base = ["certify", "reward", "--from-returns", str(tmp_path / "r.npy"), "--sigma", "0.2", "--range", "0:200"]
    assert main([*base, "--success-min-return", "180", "--budgets", "0,0.2", "--out", str(out)]) == 0
    config = json.loads(out.read_text())["extra"]["config"]
    assert config["bound"] == "clopper-pearson"  # what a success certificate computes
    assert not {"policy", "episodes", "seed", "attack_episodes", "undefended", "probe"} & set(config)
    findings = AuditReport.from_json(out.read_text()).findings
    assert all(f.versions["rlcert"] for f in findings)


def test_every_title_says_what_the_certificate_holds_for(tmp_path, capsys, monkeypatch):
    import rlcert.analyses.reward as reward

    titles = []
    plot = reward.plot_certificate_curve
    monkeypatch.setattr(reward, "plot_certificate_curve", lambda *a, **k: titles.append(k["title"]) or plot(*a, **k))
    out = tmp_path / "x.json"
    args = ["certify", "reward", "--episodes", "200", "--budgets", "0,0.2", "--probe", "StickyActions:p=0.25"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    printed = "".join(capsys.readouterr().out.split())  # the console wraps a long title anywhere
    for text in (printed, "".join(titles[0].split())):
        assert "zoo:cartpole5-ppo-sigma0.2oncartpole5underprobeStickyActions(p=0.25)" in text, text
        assert "σ=0.2·N=200" in text, text
    report = AuditReport.from_json(out.read_text())
    assert all(f.params["probe"] == "StickyActions(p=0.25)" for f in report.findings)
    assert "under probe StickyActions(p=0.25)" in report.findings[0].description


def test_an_unwritable_out_is_refused_before_any_episode_runs(tmp_path, capsys, monkeypatch):
    from rlcert import envs

    monkeypatch.setattr(envs, "run", lambda *a, **k: pytest.fail("episodes ran before --out was checked"))
    (tmp_path / "file").write_text("")
    assert main(["certify", "reward", "--out", str(tmp_path / "file" / "x.json")]) == 2
    assert "cannot be written" in capsys.readouterr().err


def test_attacked_episodes_are_checkpointed_and_resumed(tmp_path, monkeypatch):
    checkpoints = tmp_path / "ckpt"
    args = ["certify", "reward", "--episodes", "60", "--budgets", "0,0.4", "--attack-episodes", "3", "--bound", "dkw",
            "--attack-noise-samples", "4", "--checkpoint-dir", str(checkpoints), "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a.json")]) == 0
    assert sorted(p.name for p in (checkpoints / "attacked-B0.4").glob("chunk_*.npz")) == ["chunk_00000.npz"]
    import rlcert.envs.rollout as rollout

    monkeypatch.setattr(rollout, "run_chunk", lambda task: pytest.fail("a finished chunk ran again"))
    assert main([*args, "--out", str(tmp_path / "b.json")]) == 0
    first, second = (AuditReport.from_json((tmp_path / n).read_text()).findings for n in ("a.json", "b.json"))
    assert [f.value for f in first] == [f.value for f in second]
