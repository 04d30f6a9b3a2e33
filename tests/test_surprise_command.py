"""`rlcert train surprise` and `rlcert surprise-report`: smoke runs that write what they say, resume, and refuse
bad input in one line."""

import json

import pytest

from rlcert.cli import main


def test_train_then_report(tmp_path, capsys):
    run_dir = tmp_path / "as"
    args = ["train", "surprise", "--frames", "4096", "--envs", "2", "--episodes-per-update", "2", "--run-dir",
            str(run_dir)]  # fmt: skip
    assert main(args) == 0
    assert "Control in the dark" in capsys.readouterr().out
    curve = json.loads((run_dir / "curve.json").read_text())
    assert curve["curve"][-1]["frames"] == 4096 and curve["config"]["method"] == "adversarial-surprise"
    assert main(args) == 0  # finished: the rerun resumes at the end and trains nothing more
    assert "4,096 frames" in capsys.readouterr().out
    out = tmp_path / "report"
    assert main(["surprise-report", "--runs", str(run_dir), "--episodes", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["evidence"] == "empirical" and "adversarial-surprise" in report["runs"]
    assert (out / "training.png").stat().st_size > 10_000 and (out / "episodes.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["train", "surprise", "--method", "asp"], "method must be one of adversarial-surprise, smirl, rnd, random"),
    (["train", "surprise", "--density", "mixture"], "density must be one of categorical, bernoulli, gaussian"),
    (["train", "surprise", "--frames", "0"], "frames"),
    (["surprise-report", "--runs", "/nonexistent/run"], "holds no checkpoint.pt"),
])  # fmt: skip
def test_bad_input_is_refused_in_one_line(args, message, capsys, tmp_path):
    extra = ["--run-dir", str(tmp_path / "r")] if args[0] == "train" else ["--out", str(tmp_path / "o")]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
