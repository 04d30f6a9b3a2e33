import pytest
import torch
from torch import nn

from rlcert.certify.bounds import compute_bounds
from rlcert.certify.layers import UnsupportedLayerError, network_layers


def with_statistics(module: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters, then switch to eval."""
    torch.manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                layer.running_mean.normal_()
                layer.running_var.uniform_(0.2, 3.0)
                layer.weight.normal_()
                layer.bias.normal_()
    return module.eval()


def run_layers(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def test_batchnorm_after_an_affine_layer_is_folded_into_it_exactly():
    module = with_statistics(
        nn.Sequential(
            nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(27, 4), nn.BatchNorm1d(4)
        )  # fmt: skip
    )
    layers = network_layers(module)
    assert [type(layer).__name__ for layer in layers] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    x = torch.randn(5, 2, 5, 5)
    torch.testing.assert_close(run_layers(layers, x), module(x), atol=1e-5, rtol=1e-5)


def test_a_standalone_batchnorm_becomes_a_diagonal_affine_layer():
    module = with_statistics(
        nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.BatchNorm2d(3), nn.Flatten(), nn.ReLU(), nn.BatchNorm1d(27))
    )
    layers = network_layers(module)
    assert [type(layer).__name__ for layer in layers] == ["Conv2d", "ReLU", "Conv2d", "Flatten", "ReLU", "Linear"]
    x = torch.randn(5, 2, 5, 5)
    torch.testing.assert_close(run_layers(layers, x), module(x), atol=1e-5, rtol=1e-5)


def test_bounds_through_batchnorm_contain_sampled_outputs():
    module = with_statistics(
        nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 2), nn.Dropout())
    )
    x = torch.randn(1, 3)
    points = x + 0.2 * (2 * torch.rand(500, 3) - 1)
    with torch.no_grad():
        values = module(points)
    for method in ("ibp", "crown", "alpha-crown"):
        lower, upper = compute_bounds(module, x, 0.2, "inf", method, alpha_steps=3)
        assert torch.all(values >= lower - 1e-5) and torch.all(values <= upper + 1e-5), method


def test_batchnorm_in_training_mode_is_refused():
    module = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with pytest.raises(ValueError, match="BatchNorm1d is in training mode.*module.eval"):
        network_layers(module)


def test_unsupported_layers_and_padding_modes_are_named():
    with pytest.raises(UnsupportedLayerError, match="cannot bound layer type LayerNorm; supported: .*BatchNorm2d"):
        network_layers(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)))
    with pytest.raises(UnsupportedLayerError, match="padding_mode='circular'"):
        network_layers(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")))
