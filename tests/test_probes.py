import pickle

import numpy as np
import pytest

from rlcert.envs.executors import InProcessExecutor, ProcessPoolExecutor
from rlcert.envs.generic_probes import ConceptDrift, FeatureDropout, ObservationNoise, RandomActionExecution
from rlcert.envs.probes import ProbeStack
from rlcert.envs.rollout import run


def test_a_stack_applies_agent_level_probes_innermost_first_and_has_no_emulator_part():
    stack = ProbeStack.of(RandomActionExecution, p=0.2).then(ConceptDrift, after=5, mode="cyclic")
    assert stack.wrap_emulator is None
    assert stack.label == "RandomActionExecution(p=0.2) + ConceptDrift(after=5, mode='cyclic')"
    assert pickle.loads(pickle.dumps(stack)) == stack
    assert ProbeStack.of(ObservationNoise, sigma=0.1) + stack == ProbeStack(
        (ProbeStack.of(ObservationNoise, sigma=0.1).layers[0], *stack.layers)
    )


def test_probed_runs_reproduce_from_the_seed_with_any_number_of_workers(balancing_policy):
    stack = ProbeStack.of(RandomActionExecution, p=0.3).then(FeatureDropout, p=0.1)
    kwargs = dict(seed=3, chunk_size=8, probe=stack)
    one = run(balancing_policy, "cartpole5", 24, executor=InProcessExecutor(), **kwargs)
    two = run(balancing_policy, "cartpole5", 24, executor=ProcessPoolExecutor(2), **kwargs)
    np.testing.assert_array_equal(one.returns, two.returns)
    clean = run(balancing_policy, "cartpole5", 24, seed=3, chunk_size=8)
    other = run(balancing_policy, "cartpole5", 24, seed=4, chunk_size=8, probe=stack)
    assert one.mean_return < clean.mean_return  # a third of the pushes random: the pole falls sooner
    assert not np.array_equal(one.returns, other.returns)


def test_only_probe_classes_can_be_stacked():
    with pytest.raises(TypeError, match="a probe must be a Probe subclass"):
        ProbeStack.of(dict)


@pytest.mark.parametrize(
    ("probe", "params", "message"),
    [
        (
            RandomActionExecution,
            {"q": 0.1},
            r"RandomActionExecution has no parameter 'q'; its parameters: p, per='step'",
        ),
        (RandomActionExecution, {}, r"RandomActionExecution needs parameter p; its parameters: p, per='step'"),
        (ObservationNoise, {"sigma": "abc"}, r"ObservationNoise parameter sigma must be a number, got 'abc'"),
        (ObservationNoise, {"sigma": 0.1, "clip": "maybe"}, r"parameter clip must be true or false, got 'maybe'"),
        (FeatureDropout, {"p": 0.1, "fill": "abc"}, r"FeatureDropout parameter fill must be a number, got 'abc'"),
        (FeatureDropout, {"p": 0.1, "features": "a"}, r"parameter features must be .*integers.*, got 'a'"),
        (RandomActionExecution, {"p": 0.1, "actions": 3.5}, r"parameter actions must be .*integers.*, got 3.5"),
        (ConceptDrift, {"after": True}, r"ConceptDrift parameter after must be an integer, got True"),
    ],
)
def test_a_bad_probe_parameter_is_one_line_naming_it_the_probe_and_the_valid_ones(probe, params, message):
    from rlcert.reports.errors import InvalidValueError

    with pytest.raises(InvalidValueError, match=message) as raised:
        ProbeStack.of(probe, **params)
    assert "\n" not in str(raised.value)


def test_probe_parameters_are_stored_as_a_hashable_recipe():
    stack = ProbeStack.of(RandomActionExecution, p=1, actions=[0, 1])  # a TOML array arrives as a list
    assert stack.layers == ((RandomActionExecution, (("actions", (0, 1)), ("p", 1))),)
    assert ProbeStack.of(RandomActionExecution, p=0.1, actions=1).layers[0][1][0] == ("actions", (1,))
    hash(stack)
