"""The Lipschitz analysis (rlcert.analyses.lipschitz): global and local bounds at the visited states."""

import pytest

from rlcert.analyses.action_certificates import ActionCertificatesConfig, certify_action_robustness
from rlcert.analyses.lipschitz import LipschitzConfig, lipschitz_bounds
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError

ENV = "cartpole5?max_steps=30"
QUIET = RolloutOptions(progress=False)


def test_sound_global_and_local_bounds_as_the_action_certificates_report_them():
    config = LipschitzConfig(eps="0.00001,0.5", episodes=2, max_states=20)
    result = lipschitz_bounds("zoo:cartpole5-dqn", ENV, config, QUIET)
    findings = {f.name: f for f in result.findings()}
    assert list(findings) == ["local_lipschitz_max@eps=1e-05", "local_lipschitz_max@eps=0.5", "global_lipschitz"]
    assert all(f.evidence.value == "sound" for f in findings.values())
    tiny, large = findings["local_lipschitz_max@eps=1e-05"], findings["local_lipschitz_max@eps=0.5"]
    assert 0 < tiny.value <= large.value <= findings["global_lipschitz"].value
    assert tiny.params["local_lipschitz_mean"] <= tiny.value and tiny.params["states"] == 20
    assert "20 states of 2 episodes" in result.label() and result.plot("unused.png") is None
    # The same states and the same bounds as the action certificates' (one helper collects the states).
    certificates = certify_action_robustness(
        "zoo:cartpole5-dqn", ENV, ActionCertificatesConfig(eps="0.00001,0.5", episodes=2, max_states=20), QUIET
    )
    same = {f.name: f.value for f in certificates.findings() if "lipschitz" in f.name}
    assert same == {name: f.value for name, f in findings.items()}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"relaxation": "alpha-crown"}, "relaxation must be ibp or crown, got 'alpha-crown'"),
        ({"norm": "1"}, "norm must be 'inf' or '2', got '1'"),
        ({"eps": "0"}, "'0'"),
        ({"episodes": 0}, "--episodes must be an integer >= 1, got 0"),
        ({"max_states": -1}, "--max-states must be an integer >= 0, got -1"),
    ],
)
def test_options_out_of_range_are_refused(options, message):
    with pytest.raises(InvalidValueError, match=message):
        LipschitzConfig(**options)


def test_a_checkpoint_dir_and_a_policy_without_a_network_are_refused_in_one_line():
    with pytest.raises(InvalidValueError) as refused:
        lipschitz_bounds("zoo:cartpole5-dqn", ENV, rollout=RolloutOptions(checkpoint_dir="ckpt"))
    assert "checkpoint_dir does not apply to Lipschitz bounds" in str(refused.value)

    class NoNetwork:
        name = "no-network"

    with pytest.raises(InvalidValueError) as refused:
        lipschitz_bounds(NoNetwork(), ENV)
    assert "no-network has no PyTorch network" in str(refused.value) and "\n" not in str(refused.value)
