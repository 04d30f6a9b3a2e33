import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from certify.lipschitz import layer_operator_norm, lipschitz_upper_bound


def conv_matrix(layer, shape):
    """The dense matrix of a convolution on inputs of ``shape`` (brute force, for small cases)."""
    size = int(np.prod(shape))
    basis = torch.eye(size).reshape(size, *shape)
    with torch.no_grad():
        columns = nn.functional.conv2d(basis, layer.weight, None, layer.stride, layer.padding)
    return columns.reshape(size, -1).T.double()


@given(seed=st.integers(0, 1000), stride=st.integers(1, 3), padding=st.integers(0, 2))
def test_conv_bounds_are_at_least_the_exact_norms(seed, stride, padding):
    torch.manual_seed(seed)
    layer = nn.Conv2d(2, 3, 3, stride=stride, padding=padding)
    matrix = conv_matrix(layer, (2, 7, 7))
    assert layer_operator_norm(layer, "2") >= float(torch.linalg.matrix_norm(matrix, ord=2)) - 1e-9
    assert layer_operator_norm(layer, "inf") >= float(matrix.abs().sum(dim=1).max()) - 1e-9


def test_linear_norms_are_exact():
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 0.0, 0.0], [0.0, -4.0, 1.0]]))
    assert layer_operator_norm(layer, "2") == pytest.approx(np.linalg.norm([[3, 0, 0], [0, -4, 1]], 2))
    assert layer_operator_norm(layer, "inf") == pytest.approx(5.0)


@given(seed=st.integers(0, 1000), norm=st.sampled_from(["2", "inf"]))
def test_no_pair_of_inputs_stretches_more_than_the_bound(seed, norm):
    torch.manual_seed(seed)
    module = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 2)
    )
    bound = lipschitz_upper_bound(module, norm)
    x = torch.randn(200, 1, 5, 5)
    y = x + 0.1 * torch.randn(200, 1, 5, 5)
    order = float("inf") if norm == "inf" else 2
    with torch.no_grad():
        stretch = (module(x) - module(y)).norm(p=order, dim=1) / (x - y).flatten(1).norm(p=order, dim=1)
    assert torch.all(stretch <= bound + 1e-6)


def test_bad_norm():
    with pytest.raises(ValueError, match="norm must be"):
        layer_operator_norm(nn.Linear(2, 2), "1")
