import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from rlcert.certify.lipschitz import layer_operator_norm, lipschitz_upper_bound, local_lipschitz_bound


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


def lipschitz_net(seed, activation):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2, padding=1), activation(), nn.Flatten(), nn.Linear(27, 6), activation(),
        nn.Linear(6, 3),
    )  # fmt: skip


@given(
    seed=st.integers(0, 1000),
    activation=st.sampled_from([nn.ReLU, nn.Tanh]),
    norm=st.sampled_from(["2", "inf"]),
    eps=st.floats(0.01, 0.5),
)
def test_local_bound_holds_for_every_sampled_pair_and_gradient_in_the_ball(seed, activation, norm, eps):
    module = lipschitz_net(seed, activation)
    x = torch.randn(1, 1, 5, 5)
    local = float(local_lipschitz_bound(module, x, eps, norm)[0])
    order = float("inf") if norm == "inf" else 2
    generator = torch.Generator().manual_seed(seed)

    def inside(count):
        step = 2 * torch.rand(count, 1, 5, 5, generator=generator) - 1
        if norm == "2":
            radius = torch.rand(count, 1, 1, 1, generator=generator)
            step = step / step.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * radius
        return x + eps * step

    a, b = inside(300), inside(300)
    with torch.no_grad():
        stretch = (module(a) - module(b)).norm(p=order, dim=1) / (a - b).flatten(1).norm(p=order, dim=1)
    assert torch.all(stretch <= local * (1 + 1e-5))
    for point in inside(10):
        jacobian = torch.autograd.functional.jacobian(lambda z: module(z[None])[0], point).flatten(1)
        induced = jacobian.abs().sum(1).max() if norm == "inf" else torch.linalg.matrix_norm(jacobian, ord=2)
        assert induced <= local * (1 + 1e-5)


@given(seed=st.integers(0, 1000), norm=st.sampled_from(["2", "inf"]))
def test_local_bound_tightens_with_crown_and_never_exceeds_the_global_bound(seed, norm):
    module = lipschitz_net(seed, nn.ReLU)
    x = torch.randn(3, 1, 5, 5)
    ibp = local_lipschitz_bound(module, x, 0.2, norm, "ibp")
    crown = local_lipschitz_bound(module, x, 0.2, norm, "crown")
    assert torch.all(crown <= ibp * (1 + 1e-5))
    assert torch.all(crown <= lipschitz_upper_bound(module, norm) * (1 + 1e-6))


def test_local_bound_of_one_margin_on_a_linear_network_is_its_gradient_norm():
    module = nn.Sequential(nn.Linear(4, 3))
    spec = torch.tensor([[[1.0, -1.0, 0.0]]])
    gradient = (module[0].weight[0] - module[0].weight[1]).detach()
    for norm, dual in (("2", gradient.norm()), ("inf", gradient.abs().sum())):
        assert float(local_lipschitz_bound(module, torch.zeros(1, 4), 0.3, norm, spec=spec)[0]) == pytest.approx(
            float(dual), rel=1e-5
        )


def test_local_bound_bad_input():
    with pytest.raises(ValueError, match="unknown method 'alpha-crown' for the local Lipschitz bound"):
        local_lipschitz_bound(nn.Sequential(nn.Linear(2, 2)), torch.zeros(1, 2), 0.1, "2", "alpha-crown")
    with pytest.raises(ValueError, match="eps must be finite and >= 0"):
        local_lipschitz_bound(nn.Sequential(nn.Linear(2, 2)), torch.zeros(1, 2), -0.1)
