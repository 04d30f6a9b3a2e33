import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_mlp_policy
from rlcert.cli import build_parser, main
from rlcert.reports.findings import AuditReport


def test_evaluate_writes_a_report_and_prints_a_table(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert (
        main(["evaluate", "--policy", "zoo:cartpole5-dqn", "--episodes", "20", "--out", str(out), "--no-progress"]) == 0
    )
    report = AuditReport.from_json(out.read_text())
    finding = report.findings[0]
    assert finding.name == "mean_return" and finding.evidence.value == "empirical"
    assert report.subject["env"] == "cartpole5" and finding.params["episodes"] == 20
    assert "mean return" in capsys.readouterr().out


def test_evaluate_with_sampled_actions_says_so(tmp_path, capsys):
    out = tmp_path / "s.json"
    args = ["evaluate", "--policy", "zoo:cartpole-ppo", "--actions", "sampled", "--episodes", "3"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    finding = AuditReport.from_json(out.read_text()).findings[0]
    assert finding.params["actions"] == "sampled" and "sampled from the policy's distribution" in finding.description
    assert "(sampled actions)" in " ".join(capsys.readouterr().out.split())  # the table wraps its title


def test_evaluate_title_names_the_policy_env_probe_sigma_and_episodes(tmp_path, capsys):
    out = tmp_path / "p.json"
    args = ["evaluate", "--policy", "zoo:cartpole5-dqn", "--episodes", "3", "--probe", "StickyActions:p=0.25"]
    assert main([*args, "--sigma", "0.2", "--out", str(out), "--no-progress"]) == 0
    title = " ".join(capsys.readouterr().out.split())  # the table wraps its title
    assert "under probe StickyActions(p=0.25)" in title and "σ=0.2" in title and "N=3" in title
    description = AuditReport.from_json(out.read_text()).findings[0].description
    assert "cartpole5" in description and "StickyActions" in description and "N=3" in description


def test_evaluate_is_identical_with_one_and_two_workers(tmp_path):
    values = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}.json"
        main(
            [
                "evaluate",
                "--policy",
                "zoo:cartpole5-dqn",
                "--sigma",
                "0.2",
                "--episodes",
                "40",
                "--chunk-size",
                "10",
                "--workers",
                str(workers),
                "--seed",
                "3",
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        values.append(json.loads(out.read_text())["findings"][0]["value"])
    assert values[0] == values[1]


def test_state_dict_policy_needs_an_env(tmp_path, capsys):
    make_mlp_policy().save(tmp_path / "a.pt", tmp_path / "a.json")
    assert main(["evaluate", "--policy", str(tmp_path / "a.pt"), "--no-progress"]) == 2
    assert "--env is required" in capsys.readouterr().err
    assert (
        main(
            [
                "evaluate",
                "--policy",
                str(tmp_path / "a.pt"),
                "--env",
                "cartpole5",
                "--episodes",
                "3",
                "--out",
                str(tmp_path / "o.json"),
                "--no-progress",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env", "CartPol-v0"], "unknown env 'CartPol-v0'; closest valid names: CartPole-v0"),
        (["--policy", "zoo:cartpole"], "no zoo agent named 'cartpole'"),
        (["--policy", "missing.zip", "--env", "cartpole5"], "does not exist"),
        (["--episodes", "0"], "--episodes must be an integer >= 1, got 0"),
        (["--sigma", "-1"], "--sigma must be a finite number >= 0, got -1.0"),
        (["--env", "CartPole-v1"], "expects observations of shape (5, 4)"),
        (["--actions", "sampled"], "actions='sampled' needs a policy with an action distribution"),
        (["--policy", "zoo:cartpole-ppo", "--actions", "argmax"], "--actions must be greedy or sampled, got 'argmax'"),
    ],
)
def test_bad_input_gives_a_one_line_error(args, message, capsys, tmp_path):
    assert main(["evaluate", *args, "--no-progress", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_corrupt_zip_is_reported_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["evaluate", "--policy", str(bad), "--env", "cartpole5", "--no-progress"]) == 2
    assert "not a valid zip archive" in capsys.readouterr().err


def test_zoo_list_shows_agents_and_scores(capsys):
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    assert "cartpole5-dqn" in out and "mountaincar-dqn" in out and "200.0" in out
    from rlcert.agents.recipes import RECIPES
    from rlcert.agents.zoo import zoo_entries

    # Every recipe is listed, trained or not; an untrained one with the command that trains it.
    assert all(name in out for name in RECIPES)
    untrained = set(RECIPES) - {e.name for e in zoo_entries()}
    assert out.count("not trained yet") == len(untrained)
    assert ("rlcert zoo train NAME" in out) == bool(untrained)


def test_zoo_train_unknown_name(capsys):
    assert main(["zoo", "train", "nope"]) == 2
    assert "no zoo recipe named 'nope'" in capsys.readouterr().err


def test_zoo_train_replacing_the_zoo_agent_and_an_out_dir_is_refused(tmp_path, capsys):
    assert main(["zoo", "train", "cartpole5-dqn", "--replace-zoo-agent", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--replace-zoo-agent" in err and "--out-dir" in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_during_zoo_train_prints_the_resume_command_and_exits_130(tmp_path, capsys, monkeypatch):
    import rlcert.agents.training as training

    def interrupted(*args, **kwargs):
        raise training.TrainingInterrupted("interrupted at 900 steps; x holds the run at 800 steps", tmp_path, 800)

    monkeypatch.setattr(training, "train_zoo_agent", interrupted)
    run_dir = tmp_path / "run"
    assert main(["zoo", "train", "cartpole5-dqn", "--run-dir", str(run_dir)]) == 130
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.endswith(f"resume with: rlcert zoo train cartpole5-dqn --run-dir {run_dir}")


def test_console_script_is_installed():
    exe = Path(sys.executable).parent / "rlcert"  # installed beside the interpreter by scripts/install.sh
    assert exe.is_file(), f"no rlcert console script at {exe}"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    assert "evaluate" in result.stdout and "zoo" in result.stdout


def _subcommand_paths(parser, prefix=()):
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield prefix
    for action in actions:
        for name, sub in action.choices.items():
            yield from _subcommand_paths(sub, (*prefix, name))


def test_every_command_prints_its_help(capsys):
    # argparse %-formats help text: a docstring saying "5 %" once made `rlcert stress --help` crash.
    paths = list(_subcommand_paths(build_parser()))
    assert ("stress",) in paths and ("certify", "actions") in paths and ("zoo", "train") in paths
    for path in paths:
        with pytest.raises(SystemExit) as exit_info:
            main([*path, "--help"])
        assert exit_info.value.code == 0, path
        assert "usage: rlcert " + " ".join(path) in capsys.readouterr().out
