import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from rlcert.certify.relaxations import derivative_range, relu_relaxation, tanh_relaxation

interval = st.tuples(st.floats(-6, 6), st.floats(0, 8)).map(lambda pair: (pair[0], pair[0] + pair[1]))


@given(bounds=interval, alpha=st.floats(0, 1))
def test_relaxation_lines_enclose_the_activation_on_the_interval(bounds, alpha):
    lower, upper = torch.tensor([bounds[0]]), torch.tensor([bounds[1]])
    z = torch.linspace(bounds[0], bounds[1], 401)
    for function, lines in (
        (torch.relu, relu_relaxation(lower, upper, torch.tensor([alpha]))),
        (torch.relu, relu_relaxation(lower, upper)),
        (torch.tanh, tanh_relaxation(lower, upper)),
    ):
        low_slope, low_bias, up_slope, up_bias = lines
        assert torch.all(low_slope * z + low_bias <= function(z) + 1e-6)
        assert torch.all(function(z) <= up_slope * z + up_bias + 1e-6)


@given(bounds=interval)
def test_derivative_range_contains_every_derivative_on_the_interval(bounds):
    lower, upper = torch.tensor([bounds[0]]), torch.tensor([bounds[1]])
    z = torch.linspace(bounds[0], bounds[1], 401)
    for layer, derivative in ((nn.ReLU(), (z > 0).float()), (nn.Tanh(), 1 - torch.tanh(z) ** 2)):
        low, high = derivative_range(layer, lower, upper)
        assert torch.all(derivative >= low - 1e-6) and torch.all(derivative <= high + 1e-6)


def test_relu_derivative_range_is_exact_for_stable_neurons():
    low, high = derivative_range(nn.ReLU(), torch.tensor([0.5, -2.0, -1.0]), torch.tensor([1.0, -0.5, 1.0]))
    assert low.tolist() == [1.0, 0.0, 0.0] and high.tolist() == [1.0, 0.0, 1.0]
