import pytest

from envs.generic_probes import ConceptDrift, RandomActionExecution
from envs.probe_suites import builtin_suite, load_suite, parse_probe_stack, suite_settings


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
    from envs.factory import make_raw_env

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
    from envs.factory import make_raw_env
    from envs.probe_suites import stori_paper_settings
    from envs.stori import stori_profiles

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
