"""A Lipschitz extension of a policy's values at sample states, and its certified constant.

McShane (1934), "Extension of range of functions": given values F_i at points x_i, the map
π(x)_k = min_i [F_ik + α ‖x − x_i‖] is α-Lipschitz in each output coordinate k on the whole space (a minimum of
α-Lipschitz cones), whatever the F_i are, and equals F_ik at x_i wherever the values are themselves α-Lipschitz;
Whitney's max_i [F_ik − α ‖x − x_i‖] is the smallest such extension, and their average is one too.
Al Makdah, Krishnan & Pasqualetti (IEEE OJ-CSYS 2022, §IV) need it to turn a policy constrained on the edges of a
sample graph into one certified everywhere (REFERENCE §5). The constant below follows from that theorem and the
norm inequalities ‖v‖∞ ≤ ‖v‖₂ ≤ √n ‖v‖∞, so it is ``sound``; bound propagation (CROWN) does not apply to a
minimum over thousands of cones, which is why this map has its own entry point.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rlcert.certify.bounds import check_norm
from rlcert.reports.errors import InvalidValueError

__all__ = ["McShaneExtension", "extension_lipschitz_bound", "find_extension", "EXTENSION_KINDS"]

EXTENSION_KINDS = ("mcshane", "midpoint")


class McShaneExtension(nn.Module):
    """π(x)_k = min_i [values_ik + α ‖x − anchors_i‖] over flattened states: α-Lipschitz in every output
    coordinate, with ‖·‖ the extension's own state ``norm`` (module docstring).

    ``kind="midpoint"`` returns the average of that (McShane's, the largest α-Lipschitz extension) and Whitney's
    max_i [values_ik − α ‖x − anchors_i‖] (the smallest): still α-Lipschitz (an average of two α-Lipschitz maps),
    equal to the values at the anchors under the same condition, and not biased toward the lowest nearby value
    as McShane's minimum is far from the anchors."""

    def __init__(self, anchors: torch.Tensor, values: torch.Tensor, alpha: float, norm: str, kind: str = "mcshane"):
        super().__init__()
        check_norm(norm)
        if kind not in EXTENSION_KINDS:
            raise InvalidValueError(f"kind must be one of {', '.join(EXTENSION_KINDS)}, got {kind!r}")
        self.kind = kind
        # float64: the minimum of cones is α-Lipschitz exactly; float32 rounding of near-equal states would show
        # ratios a few 1e-4 above α
        self.register_buffer("anchors", anchors.detach().clone().double())
        self.register_buffer("values", values.detach().clone().double())
        self.alpha, self.norm = float(alpha), norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distances = torch.cdist(x.flatten(1).double(), self.anchors, p=2.0 if self.norm == "2" else float("inf"))
        upper = (self.values[None] + self.alpha * distances[..., None]).amin(1)
        if self.kind == "mcshane":
            return upper.to(x.dtype)
        lower = (self.values[None] - self.alpha * distances[..., None]).amax(1)
        return (0.5 * (upper + lower)).to(x.dtype)


def extension_lipschitz_bound(extension: McShaneExtension, norm: str = "2") -> float:
    """A sound Lipschitz constant of ``extension`` from states in ``norm`` to its outputs in ``norm``.

    Each output coordinate is α-Lipschitz in the extension's own state norm. Measured in ℓ∞ states, an ℓ2
    extension is α√n-Lipschitz (‖x − y‖₂ ≤ √n ‖x − y‖∞, n the state dimension); an ℓ∞ extension measured in ℓ2
    states stays α (‖x − y‖∞ ≤ ‖x − y‖₂). The m coordinates together are then as Lipschitz in ℓ∞ and √m times
    more in ℓ2."""
    check_norm(norm)
    states, outputs = int(extension.anchors.shape[1]), int(extension.values.shape[1])
    per_output = extension.alpha * (math.sqrt(states) if extension.norm == "2" and norm == "inf" else 1.0)
    return per_output * (math.sqrt(outputs) if norm == "2" else 1.0)


def find_extension(module: nn.Module) -> McShaneExtension | None:
    """The extension ``module`` computes: itself, or the one layer of an ``nn.Sequential`` whose other layers are
    Flatten (None for any other network)."""
    if isinstance(module, McShaneExtension):
        return module
    if isinstance(module, nn.Sequential):
        rest = [layer for layer in module if not isinstance(layer, nn.Flatten)]
        if len(rest) == 1 and isinstance(rest[0], McShaneExtension):
            return rest[0]
    return None
