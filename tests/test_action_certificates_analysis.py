"""The action-certificates analysis (rlcert.analyses.action_certificates): what `rlcert certify actions` runs."""

import numpy as np
import pytest

from rlcert.reports.errors import InvalidValueError

ANALYSIS_ENV = "cartpole5?max_steps=30"


def _analysis(seed=0, **options):
    from rlcert.analyses.action_certificates import ActionCertificatesConfig, certify_action_robustness
    from rlcert.envs.options import RolloutOptions

    config = ActionCertificatesConfig(**{"eps": "0.001,0.05", "episodes": 2, "max_states": 20, **options})
    return certify_action_robustness("zoo:cartpole5-dqn", ANALYSIS_ENV, config, RolloutOptions(seed, progress=False))


@pytest.fixture(scope="module")
def analysis():
    return _analysis()


def test_the_analysis_makes_the_commands_sound_findings(analysis):
    findings = analysis.findings()
    names = [f.name for f in findings]
    assert all(f.evidence.value == "sound" for f in findings)
    expected = ["mean_certified_radius"]
    for row in analysis.per_eps:
        expected += [f"certified_state_fraction@eps={row.eps:g}", f"local_lipschitz_max@eps={row.eps:g}"]
        for trajectory in row.trajectories:  # a sound episode certifies its return as well
            expected += ["certified_step_fraction", *(["certified_episode_return"] if trajectory.sound else [])]
    assert names == [*expected, "global_lipschitz"]
    assert names.count("certified_step_fraction") == 4  # one per episode and eps
    radius = findings[0]
    assert (
        analysis.states == 20 and radius.params["states"] == 20 and radius.value == pytest.approx(analysis.radii.mean())
    )
    assert (
        radius.params["seed"] == 0 and radius.params["policy"] == "zoo:cartpole5-dqn" and radius.params["policy_sha256"]
    )
    assert (
        "cartpole5-dqn on CartPole-v0" in analysis.label()
        and "20 states of 2 episodes · crown · linf" in analysis.label()
    )
    assert [row[0] for row in analysis.table_rows()] == ["0.001", "0.05"]
    assert len(analysis.TABLE_COLUMNS) == len(analysis.table_rows()[0])
    assert analysis.report_extra()["radii"] == analysis.radii.tolist()


def test_the_same_seed_gives_the_same_radii(analysis):
    again = _analysis(lipschitz=False, trajectories=False)
    assert np.array_equal(again.radii, analysis.radii)
    assert [f.name for f in again.findings()] == [
        "mean_certified_radius",
        "certified_state_fraction@eps=0.001",
        "certified_state_fraction@eps=0.05",
    ]
    assert not np.array_equal(_analysis(seed=1, lipschitz=False, trajectories=False).radii, analysis.radii)


def test_the_certified_fractions_agree_with_the_radii(analysis):
    """A state certified at eps has a radius of at least eps less the bisection's resolution, and a state whose
    radius reaches eps is certified there (the radius is a certified size)."""
    resolution = analysis.config.radius_max / 2**analysis.config.radius_iterations
    for row in analysis.per_eps:
        assert np.mean(analysis.radii >= row.eps) <= row.certified_fraction
        assert row.certified_fraction <= np.mean(analysis.radii >= row.eps - resolution)
    assert analysis.per_eps[0].certified_fraction >= analysis.per_eps[1].certified_fraction


def test_a_checkpoint_dir_is_refused_in_one_line_before_any_episode_runs(monkeypatch):
    from rlcert.analyses import visited_states

    monkeypatch.setattr(visited_states, "run", None)  # calling it would be a TypeError
    with pytest.raises(InvalidValueError) as refused:
        from rlcert.analyses.action_certificates import certify_action_robustness
        from rlcert.envs.options import RolloutOptions

        certify_action_robustness("zoo:cartpole5-dqn", ANALYSIS_ENV, rollout=RolloutOptions(checkpoint_dir="ckpt"))
    message = str(refused.value)
    assert "checkpoint_dir does not apply to action certificates" in message and "\n" not in message


def test_the_plot_is_the_survival_curve_of_the_radii(analysis, tmp_path):
    assert analysis.plot(tmp_path / "radii.png").stat().st_size > 0
