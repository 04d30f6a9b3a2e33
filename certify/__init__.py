"""Certificates: confidence bounds, policy-smoothing reward certificates, bound propagation, Lipschitz bounds."""

from rlcert.certify.action_certificates import (
    ActionCertificate,
    TrajectoryCertificate,
    certified_radii,
    certify_actions,
    certify_episodes,
    certify_trajectory,
)
from rlcert.certify.bounds import UnsupportedLayerError, check_bound_options, compute_bounds, margin_bounds
from rlcert.certify.confidence import (
    BAND_METHODS,
    LevelCacheWarning,
    clopper_pearson_lower,
    clopper_pearson_upper,
    dkw_margin,
    ell_local_level,
    hoeffding_lower,
    survival_lower_band,
)
from rlcert.certify.crop import SmoothedActionCertificate, smoothed_action_certificate, visited_state_certificate
from rlcert.certify.lipschitz import layer_operator_norm, lipschitz_upper_bound, local_lipschitz_bound
from rlcert.certify.reward import (
    BinaryCertificate,
    RewardCertificate,
    binary_certificate,
    parse_budgets,
    percentile_certificate,
    reward_certificate,
)

__all__ = [
    "ActionCertificate",
    "TrajectoryCertificate",
    "certified_radii",
    "certify_actions",
    "certify_episodes",
    "certify_trajectory",
    "check_bound_options",
    "LevelCacheWarning",
    "UnsupportedLayerError",
    "compute_bounds",
    "margin_bounds",
    "layer_operator_norm",
    "lipschitz_upper_bound",
    "local_lipschitz_bound",
    "BAND_METHODS",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "dkw_margin",
    "ell_local_level",
    "hoeffding_lower",
    "survival_lower_band",
    "SmoothedActionCertificate",
    "smoothed_action_certificate",
    "visited_state_certificate",
    "BinaryCertificate",
    "RewardCertificate",
    "binary_certificate",
    "parse_budgets",
    "percentile_certificate",
    "reward_certificate",
]
