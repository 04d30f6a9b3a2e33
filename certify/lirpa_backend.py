"""Optional backend: the same bounds through auto_LiRPA, for users who have a working install.

auto_LiRPA's PyPI release (0.3) needs torch < 1.13 and its newer releases are git-only and pin
torch < 2.9 (REFERENCE §2), so rlcert never depends on it; where it imports, this adapter lets a
user cross-check ``rlcert.certify.bounds`` against it (same spec, same input set, same methods).
"""

from __future__ import annotations

import torch
from torch import nn

from rlcert.reports.errors import InvalidValueError, OperationError

__all__ = ["auto_lirpa_available", "compute_bounds_auto_lirpa"]

_METHODS = {"ibp": "IBP", "crown": "CROWN", "alpha-crown": "alpha-CROWN"}


def auto_lirpa_available() -> bool:
    """True when ``auto_LiRPA`` imports with the installed torch."""
    try:
        import auto_LiRPA  # noqa: F401
    except Exception:  # an ImportError, or the AttributeErrors it raises on torch 2.x
        return False
    return True


def compute_bounds_auto_lirpa(
    module: nn.Module,
    x: torch.Tensor,
    eps: float,
    norm: str = "inf",
    method: str = "crown",
    low: float | None = None,
    high: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(lower, upper) output bounds from auto_LiRPA, with the arguments of ``rlcert.certify.compute_bounds``."""
    if not auto_lirpa_available():
        raise OperationError("auto_LiRPA is not importable here; rlcert.certify.compute_bounds needs no backend")
    if method not in _METHODS:
        raise InvalidValueError(f"unknown method {method!r}; choose one of {', '.join(_METHODS)}")
    from auto_LiRPA import BoundedModule, BoundedTensor
    from auto_LiRPA.perturbations import PerturbationLpNorm

    x = torch.as_tensor(x, dtype=torch.float32)
    x_low = None if low is None else torch.full_like(x, low).maximum(x - eps)
    x_high = None if high is None else torch.full_like(x, high).minimum(x + eps)
    perturbation = PerturbationLpNorm(norm=float("inf") if norm == "inf" else 2.0, eps=eps, x_L=x_low, x_U=x_high)
    bounded = BoundedModule(module, torch.empty_like(x))
    lower, upper = bounded.compute_bounds(x=(BoundedTensor(x, perturbation),), method=_METHODS[method])
    return lower.detach(), upper.detach()
