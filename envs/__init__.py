"""Environments: env factory and presets, the rollout engine, STORI and generic probes, stress tests."""

from envs.executors import InProcessExecutor, ProcessPoolExecutor, make_executor
from envs.factory import PRESETS, EnvSpec, UnknownEnvError, make_env, make_raw_env, resolve_env_spec
from envs.generic_probes import ConceptDrift, FeatureDropout, ObservationNoise, RandomActionExecution, StickyActions
from envs.probe_suites import builtin_suite, load_suite, parse_probe_stack
from envs.probes import ProbeStack
from envs.rollout import Episodes, run
from envs.stori import MissingStateVariables, RandomEvents, stori_profiles
from envs.stress import ProbeSetting, StressReport, stress_test
from envs.wrappers import EndOnFirstNonzeroReward, GaussianFrameNoise

__all__ = [
    "PRESETS",
    "EnvSpec",
    "UnknownEnvError",
    "make_env",
    "make_raw_env",
    "resolve_env_spec",
    "Episodes",
    "run",
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
