"""Training that makes policies worth certifying: TS-DDR and SDDP on hydrothermal dispatch, PPO-Lagrangian."""

from rlcert.training.ppo_lagrangian import LagrangianConfig, LagrangianRun, train_ppo_lagrangian
from rlcert.training.sddp import SDDP, SDDPConfig, SDDPResult
from rlcert.training.tsddr import ReachableTargetPolicy, StageCost, TrainingConfig, rollout_cost, train_tsddr

__all__ = [
    "ReachableTargetPolicy",
    "StageCost",
    "rollout_cost",
    "TrainingConfig",
    "train_tsddr",
    "SDDP",
    "SDDPConfig",
    "SDDPResult",
    "LagrangianConfig",
    "LagrangianRun",
    "train_ppo_lagrangian",
]
