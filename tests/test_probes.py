import pickle

import numpy as np
import pytest

from envs.executors import InProcessExecutor, ProcessPoolExecutor
from envs.generic_probes import ConceptDrift, FeatureDropout, ObservationNoise, RandomActionExecution
from envs.probes import ProbeStack
from envs.rollout import run


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
