"""The primal–dual graph method of Lipschitz-constrained imitation (Al Makdah, Krishnan & Pasqualetti,
IEEE OJ-CSYS 2022, §IV; REFERENCE §5), with a McShane extension that makes the learned map α-Lipschitz
everywhere, for low-dimensional states.

The policy's values F_i = π(x_i) at M sample states are the unknowns. A k-nearest-neighbour graph (k = 5 in the
paper) over the samples carries one constraint per edge e = (i, j), ‖F_i − F_j‖ ≤ α ‖x_i − x_j‖, with a
multiplier λ_e ≥ 0. Euler steps of the primal–dual dynamics

    dF/dt = −(F L_λ + ∇_F loss),        dλ_e/dt = ‖F b_e‖ − α ‖X b_e‖  (projected onto λ_e ≥ 0),

(L_λ the λ-weighted graph Laplacian, b_e the edge's incidence vector, loss the mean squared error to the expert's
actions; each vertex's primal step divided by 1 + its weighted degree, which keeps explicit Euler stable as λ
grows) trade the fit against the edge constraints. The constraints hold on edges only, so the values need not
be α-Lipschitz over all pairs; the McShane extension π(x)_k = min_i [F_ik + α ‖x − x_i‖] is α-Lipschitz in each
output whatever the F_i are (a minimum of α-Lipschitz functions), and equals F_ik at x_i wherever the values are
α-Lipschitz. Its constant is therefore certified by that theorem (``rlcert.certify.lipschitz_extension``, which
``certify.lipschitz_upper_bound`` calls), not by the solver's progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from rlcert.certify.bounds import check_norm
from rlcert.certify.lipschitz_extension import EXTENSION_KINDS, McShaneExtension
from rlcert.reports.errors import InvalidValueError
from rlcert.reports.validation import check_count, check_finite
from rlcert.training.demonstrations import Demonstrations

__all__ = ["GraphImitationConfig", "GraphImitation", "McShaneExtension", "train_graph_policy"]


@dataclass(frozen=True)
class GraphImitationConfig:
    """Settings of the primal–dual graph method."""

    alpha: float
    """The Lipschitz bound of each output coordinate (states in ``norm``)."""
    norm: str = "2"
    """'2' or 'inf': the state norm of the constraint and of the extension."""
    neighbours: int = 5
    """k of the k-nearest-neighbour graph (the paper's 5)."""
    samples: int = 2_000
    """M: demonstration pairs kept as graph vertices (evenly spaced; 0: all)."""
    steps: int = 3_000
    """Euler steps of the primal–dual dynamics."""
    step_size: float = 0.2
    """Euler step of F (the loss is the mean squared error, so its gradient scales with 1/M)."""
    dual_step: float = 1.0
    """Euler step of the multipliers."""
    extension: str = "midpoint"
    """'mcshane' (min_i [F_i + α‖x − x_i‖], the paper's) or 'midpoint' (its average with Whitney's max_i [F_i −
    α‖x − x_i‖]; both α-Lipschitz, rlcert.certify.lipschitz_extension). McShane's minimum leans toward the lowest
    value near a state far from the samples: on Pendulum it played -1,438 at α = 8 to 32 (graph method, 2,000
    vertices), worse than at α = 4."""

    def __post_init__(self) -> None:
        check_finite("alpha", self.alpha, 0, strict=True)
        check_norm(self.norm)
        for name in ("neighbours", "steps"):
            check_count(name, getattr(self, name))
        if self.samples < 0 or self.samples == 1:
            raise InvalidValueError(f"samples must be 0 (all) or at least 2, got {self.samples}")
        check_finite("step_size", self.step_size, 0, strict=True)
        check_finite("dual_step", self.dual_step, 0, strict=True)
        if self.extension not in EXTENSION_KINDS:
            raise InvalidValueError(f"extension must be one of {', '.join(EXTENSION_KINDS)}, got {self.extension!r}")


@dataclass(frozen=True)
class GraphImitation:
    """The extended policy map, the edge constraints' state at the end, and the fit."""

    extension: McShaneExtension
    config: GraphImitationConfig
    edges: int
    worst_edge_violation: float
    """max_e (‖F_i − F_j‖∞ − α ‖x_i − x_j‖) at the end (≤ 0: every edge constraint holds)."""
    training_error: float
    """Largest ‖π(x_i) − u_i‖∞ of the extension over the graph's samples."""
    train_seconds: float


def _edges(states: np.ndarray, neighbours: int, norm: str) -> np.ndarray:
    if len(states) < 2:
        return np.empty((0, 2), dtype=np.int64)
    tree = cKDTree(states)
    k = min(neighbours + 1, len(states))
    _, index = tree.query(states, k=k, p=2 if norm == "2" else np.inf)
    pairs = {(min(i, j), max(i, j)) for i, row in enumerate(index) for j in row[1:] if i != j}
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def train_graph_policy(demonstrations: Demonstrations, config: GraphImitationConfig) -> GraphImitation:
    """Run the primal–dual dynamics on the demonstrations' k-NN graph and extend the values (module docstring)."""
    if demonstrations.discrete:
        raise InvalidValueError("the graph method fits continuous actions; these demonstrations hold discrete ones")
    states = demonstrations.states.reshape(len(demonstrations), -1).astype(np.float64)
    actions = demonstrations.actions.reshape(len(demonstrations), -1).astype(np.float64)
    if config.samples and config.samples < len(states):
        keep = np.linspace(0, len(states) - 1, config.samples).round().astype(int)
        states, actions = states[keep], actions[keep]
    edges = _edges(states, config.neighbours, config.norm)
    if len(edges) == 0:
        raise InvalidValueError("one demonstration pair: the graph has no edge; give at least two")
    order = 2 if config.norm == "2" else np.inf
    gaps = np.linalg.norm(states[edges[:, 0]] - states[edges[:, 1]], ord=order, axis=1)
    values = actions.copy()  # start from the expert's own actions
    multipliers = np.zeros(len(edges))
    started = time.perf_counter()
    for _ in range(config.steps):
        differences = values[edges[:, 0]] - values[edges[:, 1]]  # F b_e for every edge
        # F L_λ: each edge pulls its two ends together with weight λ_e
        pull = np.zeros_like(values)
        np.add.at(pull, edges[:, 0], multipliers[:, None] * differences)
        np.add.at(pull, edges[:, 1], -multipliers[:, None] * differences)
        gradient = 2 * (values - actions) / len(values)
        # Explicit Euler on F L_λ is stable only while step · (largest eigenvalue of L_λ ≤ 2 · weighted degree)
        # stays below 2, and λ grows: each vertex's step is divided by 1 + its weighted degree (a Jacobi
        # preconditioner; the same fixed points, a stable step however large λ gets).
        degree = np.bincount(edges.ravel(), weights=np.repeat(multipliers, 2), minlength=len(values))
        values -= (config.step_size / (1 + degree))[:, None] * (pull + gradient)
        violation = np.abs(values[edges[:, 0]] - values[edges[:, 1]]).max(1) - config.alpha * gaps
        multipliers = np.maximum(0.0, multipliers + config.dual_step * violation)
    train_seconds = time.perf_counter() - started
    extension = McShaneExtension(
        torch.as_tensor(states), torch.as_tensor(values), config.alpha, config.norm, config.extension
    )
    with torch.no_grad():
        fitted = extension(torch.as_tensor(states)).double().numpy()
    worst = float((np.abs(values[edges[:, 0]] - values[edges[:, 1]]).max(1) - config.alpha * gaps).max())
    return GraphImitation(extension, config, len(edges), worst, float(np.abs(fitted - actions).max()), train_seconds)
