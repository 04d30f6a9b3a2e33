import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import rlcert.certify.bounds as bounds
from rlcert.certify.bounds import compute_bounds, margin_bounds


def conv_net(seed, stride, padding, dilation, groups, activation):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=stride, padding=padding),
        activation(),
        nn.Conv2d(4, 4, 2, stride=1, padding=padding, dilation=dilation, groups=groups),
        activation(),
        nn.Identity(),
        nn.Conv2d(4, 3, 2, stride=stride),
        activation(),
        nn.Flatten(),
        nn.LazyLinear(3),
    )


@settings(max_examples=30)  # each example runs CROWN twice on a 3-conv network
@given(
    seed=st.integers(0, 1000),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    activation=st.sampled_from([nn.ReLU, nn.Tanh]),
    norm=st.sampled_from(["inf", "2"]),
)
def test_patch_mode_gives_the_same_bounds_as_the_dense_backward_pass(
    seed, stride, padding, dilation, groups, activation, norm
):
    module = conv_net(seed, stride, padding, dilation, groups, activation)
    x = torch.rand(2, 2, 11, 11)
    module(x)  # materialise the lazy layer
    box = {"low": 0.0, "high": 1.0} if seed % 2 else {}
    patched = compute_bounds(module, x, 0.05, norm, "crown", **box)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bounds, "patches_apply", lambda *args: False)
        dense = compute_bounds(module, x, 0.05, norm, "crown", **box)
    for a, b in zip(patched, dense):
        torch.testing.assert_close(a, b, atol=2e-4, rtol=1e-4)


def test_patch_mode_bounds_a_nature_cnn_state_and_its_margins():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 4),
    )  # fmt: skip
    x = torch.rand(1, 4, 84, 84)
    margins, actions = margin_bounds(module, x, 1 / 255, "inf", "crown", low=0.0, high=1.0)
    points = (x + (2 * torch.rand(64, 4, 84, 84) - 1) / 255).clamp(0, 1)
    with torch.no_grad():
        scores = module(points)
    others = [a for a in range(4) if a != int(actions[0])]
    observed = scores[:, int(actions[0])][:, None] - scores[:, others]
    assert torch.all(observed >= margins - 1e-4)
