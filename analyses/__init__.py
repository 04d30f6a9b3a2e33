"""Analyses: one library call per analysis, taking a policy, an env spec and a config, returning a result."""

from rlcert.analyses.action_certificates import (
    ActionCertificatesAnalysis,
    ActionCertificatesAtEps,
    ActionCertificatesConfig,
    certify_action_robustness,
)
from rlcert.analyses.constraints import ConstraintAnalysis, ConstraintConfig, certify_constraints
from rlcert.analyses.evaluation import Evaluation, EvaluationConfig, evaluate_policy
from rlcert.analyses.lipschitz import LipschitzAnalysis, LipschitzConfig, LocalLipschitz, lipschitz_bounds
from rlcert.analyses.reward import (
    RewardCertificateAnalysis,
    RewardCertificateConfig,
    certify_reward,
    certify_saved_returns,
)
from rlcert.analyses.smoothed_actions import SmoothedActionsAnalysis, SmoothedActionsConfig, certify_smoothed_actions
from rlcert.analyses.stress import StressAnalysis, StressTestConfig, stress_test_policy
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
    "SmoothedActionsConfig",
    "SmoothedActionsAnalysis",
    "certify_smoothed_actions",
    "ActionCertificatesConfig",
    "ActionCertificatesAtEps",
    "ActionCertificatesAnalysis",
    "certify_action_robustness",
    "LipschitzConfig",
    "LipschitzAnalysis",
    "LocalLipschitz",
    "lipschitz_bounds",
    "ConstraintConfig",
    "ConstraintAnalysis",
    "certify_constraints",
    "StressTestConfig",
    "StressAnalysis",
    "stress_test_policy",
]
