"""`rlcert train lipschitz` and `rlcert train lipschitz-sweep`: smoke runs that write what they say, a trained
policy that loads like any other with its certified constant, and one-line refusals."""

import json

import pytest
import torch

from rlcert.agents import load_policy
from rlcert.certify.lipschitz import lipschitz_upper_bound
from rlcert.cli import main

SMALL = ["--pairs", "500", "--demo-episodes", "4", "--epochs", "4", "--hidden", "16,16"]


def test_train_lipschitz_writes_a_policy_that_loads_with_its_certified_constant(tmp_path, capsys):
    out = tmp_path / "cartpole-lipschitz"
    args = ["train", "lipschitz", "--expert", "zoo:cartpole-ppo", "--env", "CartPole-v1?max_steps=60", "--alpha",
            "8", "--episodes", "5", "--out-dir", str(out), *SMALL]  # fmt: skip
    assert main(args) == 0
    assert "certified Lipschitz constant" in capsys.readouterr().out
    meta = json.loads((out / "meta.json").read_text())
    policy = load_policy(str(out / "weights.pt"))
    assert isinstance(policy.module, torch.nn.Sequential)
    constant = lipschitz_upper_bound(policy.module, "2")
    assert constant == pytest.approx(meta["lipschitz"]["certified_constant"]) and constant <= 8 * (1 + 1e-6)
    assert meta["lipschitz"]["evidence"] == "sound" and meta["evaluation"]["episodes"] == 5
    assert meta["training"]["command"].startswith("rlcert train lipschitz --env CartPole-v1?max_steps=60 --alpha 8.0")
    assert (out / "demonstrations.npz").is_file()
    # a plain network: bound propagation (CROWN) certifies its actions like any other policy's
    report = tmp_path / "actions.json"
    assert main(["certify", "actions", "--policy", str(out / "weights.pt"), "--env", "CartPole-v1?max_steps=30",
                 "--episodes", "1", "--max-states", "10", "--eps", "0.01", "--radius-iterations", "4",
                 "--no-progress", "--out", str(report)]) == 0  # fmt: skip
    fractions = [f for f in json.loads(report.read_text())["findings"] if f["name"].startswith("certified_state")]
    assert fractions and fractions[0]["evidence"] == "sound"


def test_the_sweep_writes_its_report_and_plot(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    args = ["train", "lipschitz-sweep", "--expert", "zoo:cartpole-ppo", "--env", "CartPole-v1?max_steps=40",
            "--alphas", "2,32", "--eps", "0.1", "--attack-norms", "inf", "--episodes", "2", "--holdout-episodes", "1",
            "--critic-episodes", "2", "--attack-steps", "2", "--no-progress", "--out", str(out), *SMALL]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "eps 0.1" in printed and "covering radius" in printed
    report = json.loads(out.read_text())
    assert [p["alpha"] for p in report["extra"]["points"]] == [2.0, 32.0]
    assert out.with_suffix(".png").stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["train", "lipschitz", "--alpha", "0"], "alpha must be"),
    (["train", "lipschitz", "--method", "graph"], "method must be one of projection, spectral-norm"),
    (["train", "lipschitz", "--norm", "inf", "--method", "spectral-norm"], "bounds the l2 operator norm only"),
    (["train", "lipschitz", "--pairs", "0"], "pairs"),
    (["train", "lipschitz-sweep", "--alphas", "1,a"], "--alphas must be a comma list"),
    (["train", "lipschitz-sweep", "--probe", "RandomActionExecution:p=0.1"], "--probe does not apply to the sweep"),
    (["train", "lipschitz-sweep", "--expert", "zoo:cartpole-ppo", "--method", "graph", "--no-progress"],
     "--method graph fits continuous actions"),
])  # fmt: skip
def test_bad_input_is_refused_in_one_line(args, message, capsys, tmp_path):
    assert main([*args, *(["--out-dir", str(tmp_path / "x")] if args[1] == "lipschitz" else
                          ["--out", str(tmp_path / "x.json")])]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
