"""Diagnostics of a trained policy that are neither attacks nor certificates: decision-boundary instability."""

from rlcert.diagnostics.instability import (
    PrincipalDirections,
    UnstableDirections,
    direction_spectrum,
    feature_correlation_quotient,
    principal_directions,
    sliding_directions,
    unstable_directions,
)

__all__ = [
    "UnstableDirections",
    "unstable_directions",
    "PrincipalDirections",
    "principal_directions",
    "feature_correlation_quotient",
    "sliding_directions",
    "direction_spectrum",
]
