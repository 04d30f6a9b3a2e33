from pathlib import Path

import pytest

from rlcert.envs.generic_probes import ConceptDrift, RandomActionExecution
from rlcert.envs.probe_suites import builtin_suite, load_suite, parse_probe_stack, suite_settings


def test_probe_strings_parse_into_stacks():
    stack = parse_probe_stack("RandomActionExecution:p=0.1,per=frame,actions=0|1|2+ConceptDrift:after=200")
    assert stack.layers == (
        (RandomActionExecution, (("actions", (0, 1, 2)), ("p", 0.1), ("per", "frame"))),
        (ConceptDrift, (("after", 200),)),
    )
    for text, message in (
        ("Teleport:p=0.1", "unknown probe 'Teleport'; probes: .*RandomActionExecution"),
        ("RandomActionExecution:p", "not key=value"),
        ("RandomActionExecution:p=2", "p must be a probability"),
        ("", "no probe"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_probe_stack(text)


def test_a_toml_suite_expands_into_settings(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(
        """
tolerance = 0.3
[[sweep]]
name = "random"
probe = "RandomActionExecution"
severity = "p"
values = [0.1, 0.2]
[[sweep]]
probe = "RandomActionExecution"
params = { p = 0.5 }
severity = "after"
values = [10]
drift = { mode = "cyclic" }
"""
    )
    sweeps, defaults = load_suite(path)
    settings = suite_settings(sweeps)
    assert defaults == {"tolerance": 0.3}
    expected = [("random", 0.1), ("random", 0.2), ("RandomActionExecution", 10)]
    assert [(s.family, s.severity) for s in settings] == expected
    assert settings[2].stack.label == "RandomActionExecution(p=0.5) + ConceptDrift(after=10, mode='cyclic')"


def test_bad_suites_are_refused_with_the_reason(tmp_path):
    (tmp_path / "bad.toml").write_text("[[sweep]]\nprobe = 'RandomActionExecution'\n")
    with pytest.raises(ValueError, match="sweep 1 lacks severity, values"):
        load_suite(tmp_path / "bad.toml")
    (tmp_path / "broken.toml").write_text("[[sweep]\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_suite(tmp_path / "broken.toml")
    with pytest.raises(ValueError, match="does not exist"):
        load_suite(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="unknown built-in suite"):
        builtin_suite("everything", "cartpole5")


def test_the_generic_suite_fits_the_action_space():
    discrete = {s.probe for s in builtin_suite("stori", "cartpole5")}
    continuous = {s.probe for s in builtin_suite("generic", "pendulum")}
    assert "RandomActionExecution" in discrete and "RandomActionExecution" not in continuous
    assert {"ObservationNoise", "FeatureDropout"} <= continuous


def test_the_stori_suite_of_an_atari_game_builds_every_setting_on_the_real_game():
    from rlcert.envs.factory import make_raw_env

    sweeps = builtin_suite("stori", "bankheist")
    probes = {sweep.probe for sweep in sweeps}
    assert {"RandomActionExecution", "StickyActions", "RandomEvents", "MissingStateVariables"} <= probes
    type1 = next(s for s in sweeps if s.name == "type 1 random actions")
    assert type1.params == {"per": "frame", "actions": tuple(range(10))} and type1.values == (0.05, 0.1, 0.3)
    events = {s.params["game_mode"] for s in sweeps if s.probe == "RandomEvents"}
    assert events == {"dud_bomb", "fuel_leak", "teleport", "empty_bank"}
    for setting in suite_settings(sweeps):
        env = setting.stack(make_raw_env("bankheist", wrap_emulator=setting.stack.wrap_emulator))
        env.reset(seed=0)
        env.step(0)
        env.close()


def test_the_stori_paper_suite_is_one_setting_per_paper_profile():
    from rlcert.envs.factory import make_raw_env
    from rlcert.envs.probe_suites import stori_paper_settings
    from rlcert.envs.stori import stori_profiles

    settings = stori_paper_settings("breakout")
    assert [s.family for s in settings] == [label for label, _ in stori_profiles("breakout")]
    by_kind = {s.family.split(" ")[1]: s for s in settings}
    assert (by_kind["1"].severity, by_kind["1"].severity_name) == (0.3, "p")
    assert (by_kind["2.1"].severity, by_kind["2.2"].severity, by_kind["2.2"].severity_name) == (0.25, 300.0, "after")
    for setting in settings:
        env = setting.stack(make_raw_env("breakout", wrap_emulator=setting.stack.wrap_emulator))
        env.reset(seed=0)
        env.step(1)
        env.close()
    with pytest.raises(ValueError, match="ALE games only"):
        stori_paper_settings("cartpole5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RandomActionExecution:q=0.1", r"RandomActionExecution has no parameter 'q'; its parameters: p, per="),
        ("ObservationNoise:sigma=abc", r"ObservationNoise parameter sigma must be a number, got 'abc'"),
        ("StickyActions:p=0.1,per=frame+ConceptDrift:after=x", r"ConceptDrift parameter after must be an integer"),
        ("MissingStateVariables:mode=torch,p=0.1,exact_mask=7", r"parameter exact_mask must be true or false, got 7"),
        ("RandomEvents:game_mode=teleport,p=0.1,when=3", r"RandomEvents has no parameter 'when'"),
    ],
)
def test_a_bad_probe_string_is_one_invalid_value_error(text, message):
    from rlcert.reports.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match=message) as raised:
        parse_probe_stack(text)
    assert "\n" not in str(raised.value)


SUITE = """\
tolerance = 0.3   # a comment
episodes = 20

[[sweep]]
name = "random"
probe = "RandomActionExecution"
severity = "p"
values = [0.1, 0.2]

[[sweep]]
name = "drift"
probe = "RandomActionExecution"
params = { p = 0.5, per = "step" }
severity = "after"
values = [
  10,
  20,
]
drift = { mode = "cyclic" }
"""


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        (
            "tolerance = 0.3",
            "tolerence = 0.3",
            1,
            r"unknown key 'tolerence'; valid keys: episodes, floor, sweep, toler",
        ),
        ("episodes = 20", "episodes = 20\n'seed' = 3", 3, r"unknown key 'seed'"),
        (
            'name = "random"',
            'name = "random"\nparmas = { per = "frame" }',
            6,
            r"unknown key 'parmas' in sweep 1; valid keys: drift, name, params, probe, severity, values",
        ),
        (
            'p = 0.5, per = "step"',
            'p = 0.5, prr = "step"',
            13,
            r"sweep 2 \('drift'\): RandomActionExecution has no parameter 'prr'; its parameters: p, per='step'",
        ),
        (
            'mode = "cyclic"',
            'mode = "cyclic", mood = 1',
            19,
            r"sweep 2 \('drift'\): ConceptDrift has no parameter 'mood'",
        ),
        (
            'drift = { mode = "cyclic" }',
            '[sweep.drift]\nmode = "cyclic"\nmood = 1',
            21,
            r"ConceptDrift has no parameter 'mood'",
        ),
        ('severity = "p"', 'severity = "q"', 7, r"severity 'q' of sweep 1 is not a parameter of RandomActionExecution"),
        (
            'probe = "RandomActionExecution"\nseverity = "p"',
            'probe = "Teleport"\nseverity = "p"',
            6,
            r"unknown probe 'Teleport'; probes: .*RandomActionExecution",
        ),
        ("episodes = 20", "episodes = 'many'", 2, r"episodes must be a whole number of episodes >= 1, got 'many'"),
        ("tolerance = 0.3", "tolerance = -1", 1, r"tolerance must be a relative drop >= 0"),
        (
            'p = 0.5, per = "step"',
            'p = 0.5, per = "step", after = 3',
            13,
            r"sweep 2 \('drift'\): RandomActionExecution has no parameter 'after'",
        ),
        (
            'mode = "cyclic"',
            'mode = "cyclic", after = 3',
            19,
            r"'after' of sweep 2 is its severity; it cannot also be in drift",
        ),
        (
            'name = "random"',
            'name = "random"\nparams = { p = 0.1 }',
            6,
            r"'p' of sweep 1 is its severity; it cannot also be in params",
        ),
        (
            "values = [\n  10,",
            "values = [\n  10.5,",
            15,
            r"sweep 2 \('drift'\): ConceptDrift parameter after must be an integer",
        ),
        (
            "values = [0.1, 0.2]",
            "values = [0.1, 2]",
            4,
            r"sweep 1 \('random'\): p must be a probability in \[0, 1\], got 2",
        ),
        ("values = [0.1, 0.2]", "values = [0.1, 'x']", 8, r"values of sweep 1 must be a list of numbers"),
    ],
)
def test_every_unknown_or_bad_key_of_a_suite_names_it_and_its_line(tmp_path, old, new, line, message):
    from rlcert.reports.errors import InvalidValueError

    assert old in SUITE
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.replace(old, new, 1))
    with pytest.raises(InvalidValueError, match=message) as raised:
        load_suite(path)
    assert str(raised.value).startswith(f"{path}:{line}: ") and "\n" not in str(raised.value)


def test_the_suite_above_is_valid():
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suite.toml"
        path.write_text(SUITE)
        sweeps, defaults = load_suite(path)
    assert defaults == {"tolerance": 0.3, "episodes": 20}
    assert [s.severity for s in suite_settings(sweeps)] == [0.1, 0.2, 10, 20]


def test_the_line_of_a_typo_survives_strings_comments_and_dotted_keys(tmp_path):
    path = tmp_path / "tricky.toml"
    path.write_text(
        '''# [[sweep]] in a comment
[[sweep]]
name = """a name over
[[sweep]] several lines, with a # and a ""quote"\"""
probe = 'RandomActionExecution'  # 'quoted' [comment]
"severity" = "p"
values = [0.1, # a comment inside an array
  0.2]
params.per = "step"
params.acts = [1, 2]
'''
    )
    with pytest.raises(ValueError, match=rf"^{path}:10: sweep 1 \('a name over\\n.*has no parameter 'acts'") as raised:
        load_suite(path)
    assert "\n" not in str(raised.value)


def test_the_readme_suite_example_runs_on_cartpole(tmp_path):
    # Its first version used per = "frame", which only ALE games have: the example must run where it is shown.
    from rlcert.analyses.stress import StressTestConfig, stress_test_policy
    from rlcert.envs.options import RolloutOptions

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = readme.split("```toml\ntolerance = 0.25", 1)[1].split("```", 1)[0]
    path = tmp_path / "my_suite.toml"
    path.write_text("tolerance = 0.25" + example)
    config = StressTestConfig(suite=str(path), episodes=2)
    result = stress_test_policy("zoo:cartpole5-dqn", "cartpole5?max_steps=20", config, RolloutOptions(progress=False))
    assert len(result.report.results) == 5


def test_every_probe_parameter_says_what_values_are_valid():
    from rlcert.envs.probe_suites import probe_catalogue

    catalogue = probe_catalogue()
    assert {p.name for p in catalogue} >= {"RandomActionExecution", "StickyActions", "MissingStateVariables"}
    for probe in catalogue:
        assert probe.summary and "``" not in probe.summary
        for name, _default, valid in probe.parameters:
            assert valid, f"{probe.name}.{name} does not say which values are valid"


def test_rlcert_probes_lists_every_probe(capsys):
    from rlcert.cli import main
    from rlcert.envs.probe_suites import probe_classes

    assert main(["probes"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in probe_classes())
