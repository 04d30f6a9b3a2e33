import pytest

from conftest import make_mlp_policy
from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.loading import load_policy, policy_actions


def test_state_dict_with_architecture_beside_it(tmp_path):
    policy = make_mlp_policy()
    policy.save(tmp_path / "agent.pt", tmp_path / "agent.json")
    assert load_policy(tmp_path / "agent.pt").fingerprint == policy.fingerprint
    (tmp_path / "agent.json").rename(tmp_path / "architecture.json")
    assert load_policy(str(tmp_path / "agent.pt")).fingerprint == policy.fingerprint
    assert (
        load_policy(tmp_path / "agent.pt", architecture=tmp_path / "architecture.json").fingerprint
        == policy.fingerprint
    )


def test_wrong_shapes_in_a_state_dict_are_named(tmp_path):
    make_mlp_policy(hidden=16).save(tmp_path / "agent.pt", tmp_path / "unused.json")
    make_mlp_policy(hidden=32).save(tmp_path / "other.pt", tmp_path / "agent.json")
    with pytest.raises(PolicyLoadError, match=r"wrong shapes 1.weight: file \(16, 20\) vs architecture \(32, 20\)"):
        load_policy(tmp_path / "agent.pt")


def test_missing_pieces_are_named(tmp_path):
    with pytest.raises(PolicyLoadError, match="does not exist"):
        load_policy(tmp_path / "nothing.pt")
    (tmp_path / "lonely.pt").write_bytes(b"")
    with pytest.raises(PolicyLoadError, match="no architecture JSON"):
        load_policy(tmp_path / "lonely.pt")
    with pytest.raises(PolicyLoadError, match="cannot tell what kind of policy"):
        load_policy(tmp_path / "model.onnx")
    with pytest.raises(PolicyLoadError, match="no zoo agent named 'cartpole5-dq'; did you mean cartpole5-dqn"):
        load_policy("zoo:cartpole5-dq")


def test_action_selection_defaults_to_what_a_zoo_score_used():
    from rlcert.agents.zoo import zoo_entries

    for entry in zoo_entries():
        assert policy_actions(f"zoo:{entry.name}", None) == entry.evaluation.get("actions", "greedy")
    assert policy_actions("zoo:cartpole5-dqn", None) == "greedy"
    assert policy_actions("model.zip", None) == "greedy"
    assert policy_actions("zoo:cartpole5-dqn", "sampled") == "sampled"  # an explicit choice wins
