"""The primal-dual graph method and its McShane extension (rlcert.training.lipschitz_graph)."""

import numpy as np
import pytest
import torch

from rlcert.reports.errors import InvalidValueError
from rlcert.training.demonstrations import Demonstrations
from rlcert.training.lipschitz_graph import GraphImitationConfig, McShaneExtension, train_graph_policy


def _demos(n: int = 400) -> Demonstrations:
    rng = np.random.default_rng(0)
    states = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    actions = np.clip(4 * states[:, :1] - states[:, 1:], -2, 2).astype(np.float32)  # Lipschitz sqrt(17) in l2
    return Demonstrations(states, actions, np.array([n]), "by hand", "none", 0, 0.0)


@pytest.mark.parametrize("norm", ["2", "inf"])
def test_the_extension_is_alpha_lipschitz_everywhere_and_the_fit_improves_with_alpha(norm):
    demos, rng = _demos(), np.random.default_rng(1)
    errors = []
    for alpha in (0.5, 2.0, 8.0):
        result = train_graph_policy(demos, GraphImitationConfig(alpha=alpha, norm=norm, samples=0))
        assert result.worst_edge_violation <= 0.01  # the dynamics end (nearly) feasible on the graph's edges
        x = torch.as_tensor(rng.uniform(-3, 3, size=(3000, 2)))  # far off the samples too; float64
        y = torch.cat([x[:1500] + 0.01 * torch.as_tensor(rng.normal(size=(1500, 2))), x[1500:].flip(0)])
        with torch.no_grad():
            change = (result.extension(x) - result.extension(y)).abs().max(1).values
        distance = torch.linalg.vector_norm(x - y, ord=2 if norm == "2" else float("inf"), dim=1)
        assert float((change / distance).max()) <= alpha * (1 + 1e-9)
        errors.append(result.training_error)
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.05  # alpha 8 can nearly follow the expert


def test_the_extension_interpolates_lipschitz_values_and_takes_the_lower_envelope_otherwise():
    anchors = torch.tensor([[0.0], [1.0]])
    exact = McShaneExtension(anchors, torch.tensor([[0.0], [0.5]]), alpha=1.0, norm="2")
    assert exact(torch.tensor([[0.0], [1.0], [0.25]])).flatten().tolist() == [0.0, 0.5, 0.25]
    steep = McShaneExtension(anchors, torch.tensor([[0.0], [3.0]]), alpha=1.0, norm="2")
    assert steep(torch.tensor([[1.0], [3.0]])).flatten().tolist() == [1.0, 3.0]  # min(0 + |x|, 3 + |x - 1|)


def test_the_midpoint_extension_averages_mcshane_and_whitney():
    anchors = torch.tensor([[0.0], [1.0]])
    steep = McShaneExtension(anchors, torch.tensor([[0.0], [3.0]]), alpha=1.0, norm="2", kind="midpoint")
    # x = 0: (min(0, 4) + max(0, 2)) / 2 = 1; x = 1: (min(1, 3) + max(-1, 3)) / 2 = 2; x = 3: (3 + 1) / 2 = 2
    assert steep(torch.tensor([[0.0], [1.0], [3.0]])).flatten().tolist() == [1.0, 2.0, 2.0]
    exact = McShaneExtension(anchors, torch.tensor([[0.0], [0.5]]), alpha=1.0, norm="2", kind="midpoint")
    assert exact(torch.tensor([[0.0], [1.0]])).flatten().tolist() == [0.0, 0.5]  # Lipschitz values: interpolated
    with pytest.raises(InvalidValueError, match="kind must be one of mcshane, midpoint"):
        McShaneExtension(anchors, torch.zeros(2, 1), 1.0, "2", kind="max")
    with pytest.raises(InvalidValueError, match="extension must be one of mcshane, midpoint"):
        GraphImitationConfig(alpha=1, extension="whitney")


def test_bad_inputs_are_refused_in_one_line():
    with pytest.raises(InvalidValueError, match="--alpha must be a finite number > 0, got -1"):
        GraphImitationConfig(alpha=-1)
    with pytest.raises(InvalidValueError, match="samples must be 0 \\(all\\) or at least 2, got 1"):
        GraphImitationConfig(alpha=1, samples=1)
    discrete = Demonstrations(np.zeros((3, 2), np.float32), np.zeros(3, np.int64), np.array([3]), "e", "x", 0, 0.0)
    with pytest.raises(InvalidValueError, match="fits continuous actions"):
        train_graph_policy(discrete, GraphImitationConfig(alpha=1))
    single = Demonstrations(np.zeros((1, 2), np.float32), np.zeros((1, 1), np.float32), np.array([1]), "e", "x", 0, 0.0)
    with pytest.raises(InvalidValueError, match="the graph has no edge"):
        train_graph_policy(single, GraphImitationConfig(alpha=1))
