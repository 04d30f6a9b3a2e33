import pytest

from rlcert.cli import main
from rlcert.reports.findings import AuditReport


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


@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--radius-iterations", "0"], "--radius-iterations must be an integer >= 1, got 0"),
        (["--radius-max", "0"], "--radius-max must be a finite number > 0, got 0.0"),
        (["--radius-max", "nan"], "--radius-max must be a finite number > 0, got nan"),
        (["--episodes", "0"], "--episodes must be an integer >= 1, got 0"),
        (["--seed=-1"], "--seed must be an integer >= 0, got -1"),
        (["--max-states=-1"], "--max-states must be an integer >= 0, got -1"),
        (["--eps=-1"], "'-1'"),
        (["--eps", "0"], "'0'"),
        (["--eps", "0.1,abc"], "'0.1,abc'"),
        (["--norm", "1"], "norm must be 'inf' or '2', got '1'"),
        (["--method", "exact"], "unknown method 'exact'"),
        (["--probe", "NoSuchProbe:p=1"], "NoSuchProbe"),
        (["--chunk-size", "0"], "--chunk-size must be an integer >= 1, got 0"),
        (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
        (["--checkpoint-dir", "ckpt"], "--checkpoint-dir does not apply to certify actions"),
    ],
)
def test_nonsense_options_are_refused_before_any_episode_runs(tmp_path, capsys, monkeypatch, option, named):
    """Issue 19: --radius-iterations 0 reported radius 0 while 58% of the states were certified."""
    from rlcert.analyses import visited_states as rollout  # where the analyses call the rollout engine

    def no_rollout(*args, **kwargs):
        raise AssertionError("an episode ran before the options were checked")

    monkeypatch.setattr(rollout, "run", no_rollout)
    out = tmp_path / "actions.json"
    assert main(["certify", "actions", "--env", "cartpole5?max_steps=5", *option, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_an_unwritable_out_is_refused_before_any_episode_runs(tmp_path, capsys, monkeypatch):
    from rlcert.analyses import visited_states as rollout  # where the analyses call the rollout engine

    monkeypatch.setattr(rollout, "run", None)  # calling it would be a TypeError traceback
    (tmp_path / "file").write_text("")
    assert main(["certify", "actions", "--out", str(tmp_path / "file" / "actions.json")]) == 2
    assert "--out" in capsys.readouterr().err


def test_seeds_share_no_episode_and_every_certificate_uses_one_run(tmp_path, monkeypatch):
    """Episode i of --seed s is the rollout engine's episode i of seed s (SeedSequence children of the
    seed), run once for the trajectory and state certificates alike: seeds 0 and 1 share no episode
    (with ``seed + i`` arithmetic, episode 1 of seed 0 was episode 0 of seed 1)."""
    from rlcert.analyses import visited_states as rollout  # where the analyses call the rollout engine

    real_run, runs = rollout.run, []

    def recording_run(*args, **kwargs):
        runs.append(real_run(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(rollout, "run", recording_run)
    first_states = {}
    for seed in (0, 1):
        runs.clear()
        out = tmp_path / f"seed{seed}.json"
        args = ["certify", "actions", "--env", "cartpole5?max_steps=4", "--episodes", "3", "--seed", str(seed)]
        assert main([*args, "--method", "ibp", "--radius-iterations", "2", "--no-lipschitz", "--out", str(out)]) == 0
        assert len(runs) == 1 and runs[0].seed == seed and len(runs[0]) == 3
        first_states[seed] = [record.frames[0].tobytes() for record in runs[0].records]
        report = AuditReport.from_json(out.read_text())
        episodes = [f.params["episode"] for f in report.findings if f.name == "certified_step_fraction"]
        assert episodes == [0, 1, 2] * 3  # one certificate per episode and eps
    assert not set(first_states[0]) & set(first_states[1])


def test_the_title_says_what_the_certificates_hold_for(tmp_path, capsys):
    out = tmp_path / "a.json"
    args = ["certify", "actions", "--episodes", "1", "--eps", "0.001", "--max-states", "3", "--no-trajectories",
            "--no-lipschitz", "--env", "cartpole5?max_steps=5", "--probe", "StickyActions:p=0.1"]  # fmt: skip
    assert main([*args, "--radius-iterations", "2", "--no-progress", "--out", str(out)]) == 0
    printed = "".join(capsys.readouterr().out.split())
    assert (
        "zoo:cartpole5-dqnonCartPole-v0?stack=5&max_steps=5underprobeStickyActions(p=0.1)·3statesof1episodes" in printed
    )
