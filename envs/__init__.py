"""Environments: the env factory and presets, batched envs, the rollout engine and its executors."""

from envs.executors import InProcessExecutor, ProcessPoolExecutor, make_executor
from envs.factory import PRESETS, EnvSpec, UnknownEnvError, make_env, make_raw_env, resolve_env_spec
from envs.rollout import Episodes, run
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
]
