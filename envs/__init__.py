"""Environments: env factory and presets, the rollout engine, STORI and generic probes, stress tests."""

from rlcert.envs.cmdp import CARTPOLE_COST_ID, CARTPOLE_DRIFT_COST_ID, CartPositionCost
from rlcert.envs.conformance import PolicyCheckError, check_policy
from rlcert.envs.executors import InProcessExecutor, ProcessPoolExecutor, make_executor
from rlcert.envs.factory import PRESETS, EnvSpec, UnknownEnvError, make_env, make_raw_env, resolve_env_spec
from rlcert.envs.generic_probes import (
    ConceptDrift,
    FeatureDropout,
    ObservationNoise,
    RandomActionExecution,
    StickyActions,
)
from rlcert.envs.hydro.env import HYDRO_DISPATCH_ID
from rlcert.envs.probe_suites import builtin_suite, load_suite, parse_probe_stack
from rlcert.envs.probes import ProbeStack
from rlcert.envs.rollout import Episodes, run
from rlcert.envs.stori import MissingStateVariables, RandomEvents, stori_profiles
from rlcert.envs.stress import ProbeSetting, StressReport, stress_test
from rlcert.envs.wrappers import EndOnFirstNonzeroReward, GaussianFrameNoise

__all__ = [
    "PRESETS",
    "EnvSpec",
    "UnknownEnvError",
    "make_env",
    "make_raw_env",
    "resolve_env_spec",
    "Episodes",
    "run",
    "check_policy",
    "PolicyCheckError",
    "CartPositionCost",
    "CARTPOLE_COST_ID",
    "CARTPOLE_DRIFT_COST_ID",
    "HYDRO_DISPATCH_ID",
    "InProcessExecutor",
    "ProcessPoolExecutor",
    "make_executor",
    "EndOnFirstNonzeroReward",
    "GaussianFrameNoise",
    "ProbeStack",
    "RandomActionExecution",
    "StickyActions",
    "ObservationNoise",
    "FeatureDropout",
    "ConceptDrift",
    "RandomEvents",
    "MissingStateVariables",
    "stori_profiles",
    "parse_probe_stack",
    "load_suite",
    "builtin_suite",
    "ProbeSetting",
    "StressReport",
    "stress_test",
]
