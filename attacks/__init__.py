"""The shared attack/defense/probe interface, observation attacks, instability analysis, surprise adversary."""

from attacks.base import Attack, AttackState, Defense, Policy, Probe, ThreatModel, TorchPolicy
from attacks.conformance import PolicyCheckError, check_policy
from attacks.smoothed_pgd import BudgetedSmoothedPGD
from attacks.smoothing import GaussianSmoothing

__all__ = [
    "Attack",
    "AttackState",
    "Defense",
    "Policy",
    "Probe",
    "ThreatModel",
    "TorchPolicy",
    "PolicyCheckError",
    "check_policy",
    "GaussianSmoothing",
    "BudgetedSmoothedPGD",
]
