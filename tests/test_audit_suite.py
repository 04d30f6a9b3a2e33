import textwrap

import pytest

from rlcert.analyses.reward import RewardCertificateConfig
from rlcert.audit.suite import AuditSuite, default_audit_suite, load_audit_suite
from rlcert.reports.errors import InvalidValueError

SUITE = """\
title = "release check"
policies = ["zoo:cartpole5-ppo-sigma0.2", "zoo:cartpole5-dqn-sigma0.2"]
seed = 3
chunk_size = 100

[[check]]
kind = "reward_certificate"
episodes = 2000
budgets = "0,0.2,0.4"
pass = { finding = "certified_expected_return@B=0.4", at_least = 150 }

[[check]]
kind = "stress"
name = "sticky actions"
suite = "StickyActions:p=0.25"
episodes = 20
"""


def _write(tmp_path, text: str):
    path = tmp_path / "suite.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_suite_reads_into_configs_criteria_and_run_options(tmp_path):
    suite = load_audit_suite(_write(tmp_path, SUITE))
    assert suite.title == "release check" and len(suite.policies) == 2
    assert suite.rollout.seed == 3 and suite.rollout.chunk_size == 100
    reward, stress = suite.checks
    assert reward.config == RewardCertificateConfig(episodes=2000, budgets="0,0.2,0.4")
    assert reward.criterion.finding == "certified_expected_return@B=0.4" and reward.criterion.at_least == 150
    assert stress.display_name == "sticky actions" and stress.criterion is None
    # What a resumed audit reads back is the same suite.
    again = AuditSuite.from_dict(suite.to_dict())
    assert again.fingerprint() == suite.fingerprint() and again.checks == suite.checks


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("polices = ['zoo:cartpole5-dqn']\n[[check]]\nkind = 'evaluation'\n", 1, ["'polices'", "policies"]),
        ("[[check]]\nkind = 'evaluation'\n\n[[check]]\nkind = 'stress'\ntolerence = 0.1\n", 6,
         ["'tolerence'", "tolerance", "stress"]),
        ("[[check]]\nkind = 'reward_certificate'\npass = { finding = 'x', atleast = 1 }\n", 3,
         ["'atleast'", "at_least"]),
        ("[[check]]\nkind = 'rewards'\n", 2, ["'rewards'", "reward_certificate"]),
        ("[[check]]\nkind = 'reward_certificate'\nbudgets = [0, 0.2]\n", 3, ["budgets must be a string", "[0, 0.2]"]),
        ("[[check]]\nkind = 'reward_certificate'\nepisodes = 0\n", 3, ["episodes", "got 0"]),
        ("[[check]]\nkind = 'evaluation'\nepisodes = 5.5\n", 3, ["episodes must be an integer", "5.5"]),
        ("seed = -1\n[[check]]\nkind = 'evaluation'\n", 1, ["seed", "-1"]),
        ("title = 'no checks'\n", 1, ["at least one [[check]]"]),
        ("[[check]]\nname = 'what kind?'\n", 1, ["needs kind", "evaluation"]),
        ("policy = 'zoo:a'\npolicies = ['zoo:b']\n[[check]]\nkind = 'evaluation'\n", 2, ["policy or policies"]),
    ],
)  # fmt: skip
def test_every_bad_key_or_value_is_one_error_naming_the_file_line_and_what_is_valid(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(InvalidValueError) as error:
        load_audit_suite(path)
    message = str(error.value)
    assert message.startswith(f"{path}:{line}:"), message
    assert all(word in message for word in words), message
    assert "\n" not in message


def test_a_file_that_is_not_a_suite_is_refused_in_one_line(tmp_path):
    with pytest.raises(InvalidValueError, match="does not exist"):
        load_audit_suite(tmp_path / "missing.toml")
    with pytest.raises(InvalidValueError, match="not valid TOML"):
        load_audit_suite(_write(tmp_path, "[[check]\n"))


def test_the_default_suite_has_every_check_with_its_default_budget():
    suite = default_audit_suite()
    kinds = [check.kind for check in suite.checks]
    assert kinds[0] == "evaluation" and {"reward_certificate", "stress", "action_certificates"} <= set(kinds)
    reward = next(c for c in suite.checks if c.kind == "reward_certificate")
    assert reward.config.attack_episodes > 0  # the certificate is checked against an attack by default
    assert suite.policies == ("zoo:cartpole5-ppo-sigma0.2",)
    assert default_audit_suite(["zoo:cartpole5-dqn", "zoo:mountaincar-dqn"]).policies == (
        "zoo:cartpole5-dqn",
        "zoo:mountaincar-dqn",
    )


@pytest.mark.parametrize(
    "opening",
    [
        'title = "CartPole agent before release"',
        'title = "Freeway: vanilla vs SA-DQN"',
        'title = "CartPole: plain, noise-trained, Lipschitz-trained"',
    ],
)
def test_the_readme_suites_load(tmp_path, opening):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = readme.split("```toml\n" + opening, 1)[1].split("```", 1)[0]
    path = tmp_path / "suite.toml"
    path.write_text(opening + example)
    suite = load_audit_suite(path)
    assert suite.policies and suite.checks
