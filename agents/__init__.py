"""Policies: adapters (zoo, Stable-Baselines3, torch state_dict), the bundled agent zoo, and trainers."""

from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.loading import load_policy, policy_actions, policy_env
from rlcert.agents.policies import TorchModulePolicy
from rlcert.agents.recipes import RECIPES, ZooRecipe
from rlcert.agents.sb3 import load_sb3_zip
from rlcert.agents.zoo import ZooEntry, load_zoo_policy, zoo_entries, zoo_entry

__all__ = [
    "PolicyLoadError",
    "load_policy",
    "policy_env",
    "policy_actions",
    "TorchModulePolicy",
    "RECIPES",
    "ZooRecipe",
    "load_sb3_zip",
    "ZooEntry",
    "load_zoo_policy",
    "zoo_entries",
    "zoo_entry",
]
