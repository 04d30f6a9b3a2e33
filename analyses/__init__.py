"""Analyses: one library call per analysis, taking a policy, an env spec and a config, returning a result."""

from rlcert.analyses.evaluation import Evaluation, EvaluationConfig, evaluate_policy
from rlcert.analyses.reward import (
    RewardCertificateAnalysis,
    RewardCertificateConfig,
    certify_reward,
    certify_saved_returns,
)
from rlcert.analyses.subject import Subject, resolve_subject

__all__ = [
    "Subject",
    "resolve_subject",
    "EvaluationConfig",
    "Evaluation",
    "evaluate_policy",
    "RewardCertificateConfig",
    "RewardCertificateAnalysis",
    "certify_reward",
    "certify_saved_returns",
]
