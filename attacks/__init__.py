"""The shared attack/defense/probe interface, observation attacks, instability analysis, surprise adversary."""

from rlcert.attacks.base import Attack, AttackState, Defense, Policy, Probe, ThreatModel, TorchPolicy
from rlcert.attacks.cost_critic import CostCritic, CostCriticAttack
from rlcert.attacks.pgd import FramePGD, pgd_linf
from rlcert.attacks.random_noise import RandomObservationNoise
from rlcert.attacks.smoothed_pgd import BudgetedSmoothedPGD
from rlcert.attacks.smoothing import GaussianSmoothing

__all__ = [
    "Attack",
    "AttackState",
    "Defense",
    "Policy",
    "Probe",
    "ThreatModel",
    "TorchPolicy",
    "GaussianSmoothing",
    "BudgetedSmoothedPGD",
    "CostCritic",
    "CostCriticAttack",
    "FramePGD",
    "pgd_linf",
    "RandomObservationNoise",
]
