import hashlib

import pytest

from rlcert.agents import load_policy
from rlcert.agents.zoo import ZOO_DIR
from rlcert.analyses.subject import resolve_subject
from rlcert.reports.errors import InvalidValueError


def test_a_zoo_reference_brings_its_env_noise_value_range_and_weights_hash():
    subject = resolve_subject("zoo:cartpole5-dqn-sigma0.2")
    assert str(subject.env) == "cartpole5" and subject.trained_sigma == 0.2 and subject.value_range is not None
    weights = (ZOO_DIR / "cartpole5-dqn-sigma0.2" / "weights.pt").read_bytes()
    assert subject.file_sha256 == hashlib.sha256(weights).hexdigest()
    assert subject.smoothing_sigma(None) == 0.2 and subject.smoothing_sigma(0.1) == 0.1
    assert resolve_subject(subject) is subject  # an audit loads each policy once


def test_what_a_policy_does_not_know_must_be_given():
    with pytest.raises(InvalidValueError, match="--sigma is required: zoo:cartpole5-dqn was not trained"):
        resolve_subject("zoo:cartpole5-dqn").smoothing_sigma(None)
    policy = load_policy("zoo:cartpole5-dqn")
    with pytest.raises(InvalidValueError, match="env is required for a policy object"):
        resolve_subject(policy)
    subject = resolve_subject(policy, "cartpole5")
    assert subject.file_sha256 is None and subject.actions(None) == "greedy"
    with pytest.raises(InvalidValueError, match="differs from the subject's env"):
        resolve_subject(resolve_subject("zoo:cartpole5-dqn"), "MountainCar-v0")
