"""Training methods that make policies worth certifying: TS-DDR on hydrothermal dispatch (and more to come)."""

from rlcert.training.tsddr import ReachableTargetPolicy, StageCost, rollout_cost

__all__ = ["ReachableTargetPolicy", "StageCost", "rollout_cost"]
