"""Training that makes policies worth certifying: TS-DDR and its yardstick SDDP on hydrothermal dispatch."""

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
]
