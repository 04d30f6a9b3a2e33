"""Every command of the CLI, driven with random malformed arguments and suite files (issue 19).

Each example takes a command, a few valid options and one malformed one, and asserts what a user must see:
exit code 2, one line on stderr that names the bad value, no traceback, and no output file written. The
malformed values are chosen to be invalid for their option whatever else is given, so every example must
be refused before any episode runs (a missing check shows up as a slow example or a wrong message).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rlcert.cli import main

POSITIVE_INT = ["0", "-3", "abc", "1.5"]
NONNEGATIVE_INT = ["-1", "x", "2.5"]
POSITIVE_FLOAT = ["0", "-0.1", "nan", "inf", "abc"]
NONNEGATIVE_FLOAT = ["-0.1", "nan", "-inf", "abc"]
OPEN_PROBABILITY = ["0", "1", "1.5", "-0.2", "nan"]
# A malformed value, or (value, the part of it the error must name) where only a part is wrong.
PROBE = [("Bogus:p=1", "Bogus"), ("RandomActionExecution:q=0.1", "'q'"), ("RandomActionExecution:p=7", "7"),
         ("StickyActions:p=x", "'x'")]  # fmt: skip
POLICY = [("zoo:nope", "'nope'"), "missing.zip", "/nonexistent/weights.pt"]
ENV = ["NoSuchEnv-v9", ("cartpole5?bogus=1", "'bogus'")]
ROLLOUT = {"--seed": NONNEGATIVE_INT, "--workers": POSITIVE_INT, "--chunk-size": POSITIVE_INT, "--probe": PROBE}

# command -> (valid options that keep any accidental run short, {option: malformed values})
COMMANDS: dict[tuple[str, ...], tuple[list[str], dict[str, list[str]]]] = {
    ("evaluate",): (
        ["--episodes", "3", "--no-progress"],
        {**ROLLOUT, "--episodes": POSITIVE_INT, "--sigma": NONNEGATIVE_FLOAT, "--policy": POLICY, "--env": ENV,
         "--actions": ["argmax", "random"]},
    ),
    ("certify", "reward"): (
        ["--episodes", "20", "--no-progress"],
        {**ROLLOUT, "--episodes": POSITIVE_INT, "--sigma": POSITIVE_FLOAT, "--alpha": OPEN_PROBABILITY,
         "--budgets": ["1:0:0.2", "a,b", "-1", "0:1:0", "0:1:-0.1"], "--bound": ["wilson", "bonferroni"],
         "--range": ["5:1", "a:b", "0:nan", "3"], "--attack-episodes": NONNEGATIVE_INT,
         "--attack-noise-samples": POSITIVE_INT, "--success-min-return": ["nan", "inf", "abc"],
         "--policy": POLICY, "--env": ENV, "--from-returns": ["/nonexistent/returns.npy"]},
    ),
    ("certify", "smoothed-actions"): (
        ["--episodes", "1", "--samples", "10"],
        {"--episodes": POSITIVE_INT, "--samples": POSITIVE_INT, "--alpha": OPEN_PROBABILITY,
         "--sigma": POSITIVE_FLOAT, "--eps": ["-1", "0", "x", "0.1,nan"], "--score-range": ["5:1", "a:b"],
         "--seed": NONNEGATIVE_INT, "--policy": POLICY, "--env": ENV},
    ),
    ("certify", "actions"): (
        ["--episodes", "1", "--max-states", "2", "--radius-iterations", "2"],
        {"--episodes": POSITIVE_INT, "--eps": ["-1", "0", "x"], "--norm": ["3", "l1"], "--method": ["foo"],
         "--seed": NONNEGATIVE_INT, "--radius-max": POSITIVE_FLOAT, "--radius-iterations": POSITIVE_INT,
         "--max-states": NONNEGATIVE_INT, "--probe": PROBE, "--policy": POLICY, "--env": ENV},
    ),
    ("stress",): (
        ["--episodes", "2", "--no-progress", "--suite", "RandomActionExecution:p=0.1"],
        {**ROLLOUT, "--episodes": ["0", "1", "-2", "x"], "--tolerance": NONNEGATIVE_FLOAT,
         "--confidence": OPEN_PROBABILITY, "--floor": ["nan", "abc"], "--suite": PROBE, "--policy": POLICY,
         "--env": ENV, "--actions": ["argmax"]},
    ),
    ("certify", "constraints"): (
        ["--episodes", "2", "--no-progress"],
        {**ROLLOUT, "--episodes": POSITIVE_INT, "--limit": ["-1", "nan", "x"], "--alpha": OPEN_PROBABILITY,
         "--attack-eps": NONNEGATIVE_FLOAT, "--critic-episodes": POSITIVE_INT, "--policy": POLICY, "--env": ENV},
    ),
    ("instability",): (
        ["--episodes", "1", "--max-states", "20", "--window", "5", "--shifts", "clean", "--no-progress"],
        {**ROLLOUT, "--episodes": POSITIVE_INT, "--eps": POSITIVE_FLOAT, "--norm": ["1", "l1"],
         "--steps": POSITIVE_INT, "--components": POSITIVE_INT, "--max-states": NONNEGATIVE_INT,
         "--window": ["1", "0", "x"], "--shifts": ["fgsm", "blur", "stori"], "--attack-eps": POSITIVE_FLOAT,
         "--blur-sigma": POSITIVE_FLOAT, "--policy": POLICY, "--env": ENV},
    ),
    ("hijack",): (
        ["--episodes", "2", "--hijacker-timesteps", "64", "--no-progress"],
        {**ROLLOUT, "--episodes": ["1", "0", "x"], "--steps": POSITIVE_INT, "--start": NONNEGATIVE_INT,
         "--window": POSITIVE_INT, "--objective": ["reward"], "--hijacker-timesteps": POSITIVE_INT,
         "--clean-episodes": POSITIVE_INT, "--policy": POLICY, "--env": ENV},
    ),
    ("surprise-report",): (
        ["--episodes", "2"],
        {"--episodes": POSITIVE_INT, "--layout-seed": NONNEGATIVE_INT, "--seed": NONNEGATIVE_INT,
         "--runs": ["/nonexistent/run"]},
    ),
    ("train", "lipschitz"): (
        ["--episodes", "2", "--pairs", "100", "--demo-episodes", "1"],
        {"--alpha": ["0", "-1", "nan", "x"], "--norm": ["1"], "--method": ["graph", "lipsdp"],
         "--pairs": POSITIVE_INT, "--demo-episodes": POSITIVE_INT, "--epochs": POSITIVE_INT, "--hidden": ["16,0", "x"],
         "--episodes": POSITIVE_INT, "--seed": NONNEGATIVE_INT, "--expert": POLICY, "--env": ENV},
    ),
    ("train", "tsddr"): (
        ["--case", "tiny", "--horizon", "2", "--iterations", "1", "--batch", "2", "--evaluation-paths", "2"],
        {"--case": ["chile"], "--horizon": POSITIVE_INT, "--iterations": POSITIVE_INT, "--batch": POSITIVE_INT,
         "--learning-rate": POSITIVE_FLOAT, "--evaluation-paths": ["1", "0", "x"], "--seed": NONNEGATIVE_INT,
         "--workers": POSITIVE_INT},
    ),
    ("train", "ppo-lagrangian"): (
        ["--task", "hydro", "--timesteps", "64", "--episodes", "2", "--no-baseline"],
        {"--task": ["pendulum"], "--limit": ["-1", "nan", "x"], "--timesteps": POSITIVE_INT,
         "--lambda-lr": NONNEGATIVE_FLOAT, "--seed": NONNEGATIVE_INT, "--episodes": ["1", "0", "x"]},
    ),
    ("audit",): (
        ["--no-progress"],
        {"--policies": [("zoo:nope", "'nope'"), ","], "--env": ENV, "--resume": ["/nonexistent/audit"]},
    ),
    ("zoo", "train", "cartpole5-dqn"): (
        [],
        {"--stop-after": ["0", "-5", "x"], "--final-episodes": ["1", "0", "x"]},
    ),
}  # fmt: skip

SUITE = """{top}
[[sweep]]
name = "random actions"
probe = "RandomActionExecution"
params = {{ per = "step"{param} }}
severity = "p"
values = [0.1]
{sweep}
"""


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse exits on its own errors
            code = exit_.code
    return code, err.getvalue()


def _assert_refused(argv: list[str], bad: str, out: Path) -> None:
    code, err = _run(argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    # Library warnings (gymnasium's deprecation notices) may precede it; the error itself is one line.
    errors = [line for line in lines if line.startswith("rlcert: error:")]
    assert len(errors) == 1 and errors[0] == lines[-1], (argv, err)
    assert bad in errors[0], (argv, bad, errors[0])
    assert not out.exists() and not out.with_suffix(".png").exists(), argv


@settings(max_examples=60)
@given(data=st.data())
def test_every_command_refuses_a_malformed_option_in_one_line(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    command = data.draw(st.sampled_from(sorted(COMMANDS)))
    valid, malformed = COMMANDS[command]
    option = data.draw(st.sampled_from(sorted(malformed)))
    value = data.draw(st.sampled_from(malformed[option]))
    bad, named = value if isinstance(value, tuple) else (value, value)
    out = tmp / "report.json"
    argv = [*command, *valid, f"{option}={bad}"]
    if command[0] == "train":
        argv += ["--out-dir", str(tmp / "agent")]
    elif command[0] != "zoo":
        argv += ["--out", str(out)]
    else:
        argv += ["--out-dir", str(tmp / "agent"), "--run-dir", str(tmp / "run")]
    _assert_refused(argv, named, out)
    assert not (tmp / "agent").exists() and not (tmp / "run").exists()


@settings(max_examples=20)
@given(
    place=st.sampled_from(["top", "sweep", "param"]),
    key=st.from_regex(r"[a-z]{3,10}", fullmatch=True).filter(
        lambda k: (
            k
            not in {
                "tolerance",
                "episodes",
                "floor",
                "name",
                "probe",
                "params",
                "severity",
                "values",
                "drift",
                "per",
                "actions",
                "p",
                "sweep",
                "seed",
            }
        )  # fmt: skip
    ),
)
def test_a_suite_file_with_an_unknown_key_is_refused(place, key, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("suite")
    parts = {"top": "", "sweep": "", "param": ""}
    parts[place] = {"top": f"{key} = 0.25", "sweep": f"{key} = 1", "param": f", {key} = 0.5"}[place]
    suite = tmp / "suite.toml"
    suite.write_text(SUITE.format(**parts))
    out = tmp / "report.json"
    argv = ["stress", "--env", "cartpole5?max_steps=10", "--episodes", "2", "--no-progress"]
    _assert_refused([*argv, "--suite", str(suite), "--out", str(out)], key, out)


def test_an_unwritable_out_is_refused_by_every_command(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / "report.json"
    for command, (valid, _) in COMMANDS.items():
        if command[0] not in ("zoo", "train"):
            _assert_refused([*command, *valid, "--out", str(out)], str(out), out)


AUDIT_SUITE = """{top}
[[check]]
kind = "evaluation"
episodes = 3
{check}
"""


@settings(max_examples=20)
@given(
    place=st.sampled_from(["top", "check", "pass"]),
    key=st.from_regex(r"[a-z]{3,10}", fullmatch=True).filter(
        lambda k: (
            k
            not in {
                "title",
                "policy",
                "policies",
                "env",
                "seed",
                "workers",
                "probe",
                "check",
                "kind",
                "name",
                "pass",
                "episodes",
                "sigma",
                "actions",
                "finding",
            }
        )  # fmt: skip
    ),
)
def test_an_audit_suite_with_an_unknown_key_is_refused(place, key, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    parts = {"top": "", "check": ""}
    if place == "pass":
        parts["check"] = f'pass = {{ finding = "mean_return", at_least = 1, {key} = 2 }}'
    else:
        parts[place] = f"{key} = 1"
    suite = tmp / "suite.toml"
    suite.write_text(AUDIT_SUITE.format(**parts))
    out = tmp / "audit"
    _assert_refused(["audit", str(suite), "--no-progress", "--out", str(out)], key, out)
