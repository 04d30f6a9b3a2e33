import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from rlcert.certify.bounds import UnsupportedLayerError, compute_bounds, margin_bounds

METHODS = ["ibp", "crown", "alpha-crown"]


def random_mlp(seed, widths, activation):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])


def small_cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 3, 3, stride=1),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(3 * 2 * 2, 5),
        nn.ReLU(),
        nn.Linear(5, 3),
    )


def samples_in_ball(x, eps, norm, count, rng, low=None, high=None):
    shape = (count, *x.shape[1:])
    if norm == "inf":
        points = x + eps * (2 * torch.as_tensor(rng.random(shape), dtype=torch.float32) - 1)
    else:
        direction = torch.as_tensor(rng.normal(size=shape), dtype=torch.float32)
        direction /= direction.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))
        radius = eps * torch.as_tensor(rng.random(count), dtype=torch.float32) ** (1 / x[0].numel())
        points = x + direction * radius.view(-1, *([1] * (x.dim() - 1)))
    if low is not None:
        points = points.clamp(min=low, max=high)  # stays in the ball (projection onto a box shrinks distances)
    return points


def pgd_extremes(module, x, eps, norm, steps=30):
    """Points inside the ball that push each output up and down (a strong check of soundness)."""
    outputs = module(x).shape[-1]
    points = []
    for sign in (1.0, -1.0):
        for k in range(outputs):
            delta = torch.zeros_like(x, requires_grad=True)
            for _ in range(steps):
                value = sign * module(x + delta)[:, k].sum()
                (grad,) = torch.autograd.grad(value, delta)
                with torch.no_grad():
                    if norm == "inf":
                        delta += 0.25 * eps * grad.sign()
                        delta.clamp_(-eps, eps)
                    else:
                        delta += (
                            0.25
                            * eps
                            * grad
                            / grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
                        )
                        size = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
                        delta *= (eps / size).clamp(max=1.0).view(-1, *([1] * (x.dim() - 1)))
            points.append((x + delta).detach())
    return torch.cat(points)


@given(
    seed=st.integers(0, 10_000),
    hidden=st.lists(st.integers(2, 12), min_size=1, max_size=3),
    activation=st.sampled_from([nn.ReLU, nn.Tanh]),
    eps=st.floats(0.001, 0.5),
    norm=st.sampled_from(["inf", "2"]),
)
def test_every_sampled_and_attacked_point_of_an_mlp_is_inside_the_bounds(seed, hidden, activation, eps, norm):
    module = random_mlp(seed, [4, *hidden, 3], activation)
    center_rng, rng = (np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2))
    x = torch.as_tensor(center_rng.normal(size=(1, 4)), dtype=torch.float32)
    points = torch.cat([samples_in_ball(x, eps, norm, 300, rng), pgd_extremes(module, x, eps, norm)])
    with torch.no_grad():
        values = module(points)
    for method in METHODS:
        lower, upper = compute_bounds(module, x, eps, norm, method, alpha_steps=5)
        assert torch.all(values >= lower - 1e-4) and torch.all(values <= upper + 1e-4), method


@settings(max_examples=30)  # each example runs three methods and a PGD attack per output and sign
@given(seed=st.integers(0, 10_000), eps=st.floats(0.001, 0.3), norm=st.sampled_from(["inf", "2"]))
def test_small_cnn_bounds_hold_for_sampled_and_attacked_points(seed, eps, norm):
    module = small_cnn(seed)
    center_rng, rng = (np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2))
    x = torch.as_tensor(center_rng.random((1, 2, 7, 7)), dtype=torch.float32)
    points = torch.cat([samples_in_ball(x, eps, norm, 200, rng), pgd_extremes(module, x, eps, norm, steps=15)])
    with torch.no_grad():
        values = module(points)
    for method in METHODS:
        lower, upper = compute_bounds(module, x, eps, norm, method, alpha_steps=3)
        assert torch.all(values >= lower - 1e-4) and torch.all(values <= upper + 1e-4), method


@given(seed=st.integers(0, 10_000), eps=st.floats(0.01, 0.5), norm=st.sampled_from(["inf", "2"]))
def test_crown_is_never_looser_than_ibp_and_alpha_crown_never_looser_than_crown(seed, eps, norm):
    module = random_mlp(seed, [4, 16, 16, 3], nn.ReLU)
    x = torch.as_tensor(np.random.default_rng(seed).normal(size=(3, 4)), dtype=torch.float32)
    ibp, _ = margin_bounds(module, x, eps, norm, "ibp")
    crown, _ = margin_bounds(module, x, eps, norm, "crown")
    alpha, _ = margin_bounds(module, x, eps, norm, "alpha-crown", alpha_steps=10)
    assert torch.all(crown >= ibp - 1e-5) and torch.all(alpha >= crown - 1e-6)


def test_bounds_of_a_linear_network_are_exact():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Flatten(), nn.Linear(6, 4), nn.Identity(), nn.Linear(4, 2))
    x = torch.randn(2, 3, 2)
    weight = module[3].weight @ module[1].weight
    center = module(x)
    for norm, dual in (("inf", weight.abs().sum(1)), ("2", weight.norm(dim=1))):
        for method in ("crown", "alpha-crown"):
            lower, upper = compute_bounds(module, x, 0.1, norm, method)
            torch.testing.assert_close(lower, center - 0.1 * dual, atol=1e-5, rtol=0)
            torch.testing.assert_close(upper, center + 0.1 * dual, atol=1e-5, rtol=0)


def test_the_observation_box_tightens_and_stays_sound():
    module = random_mlp(3, [4, 8, 2], nn.ReLU)
    x = torch.full((1, 4), 0.02)
    loose, _ = compute_bounds(module, x, 0.1, "inf", "crown")
    tight, _ = compute_bounds(module, x, 0.1, "inf", "crown", low=0.0, high=1.0)
    assert torch.all(tight >= loose - 1e-6)
    points = samples_in_ball(x, 0.1, "inf", 500, np.random.default_rng(0), low=0.0, high=1.0)
    assert torch.all(module(points) >= tight - 1e-5)


def test_unsupported_layers_are_named():
    with pytest.raises(UnsupportedLayerError, match="cannot bound layer type Sigmoid; supported: Linear, Conv2d"):
        compute_bounds(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()), torch.zeros(1, 2), 0.1)


def test_margins_certify_a_confident_state_and_not_an_ambiguous_one():
    module = nn.Sequential(nn.Linear(1, 2))
    with torch.no_grad():
        module[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        module[0].bias.zero_()
    margins, actions = margin_bounds(module, torch.tensor([[1.0], [0.01]]), 0.1)
    assert actions.tolist() == [0, 0]
    assert margins[0, 0] == pytest.approx(2 * 1.0 - 2 * 0.1) and margins[1, 0] < 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"norm": "1"}, "norm must be 'inf' or '2', got '1'"),
        ({"method": "exact"}, "unknown method 'exact'; choose one of ibp, crown, alpha-crown"),
        ({"method": "alpha-crown", "alpha_steps": -1}, "alpha_steps must be an integer >= 0"),
        ({"method": "alpha-crown", "alpha_lr": float("nan")}, "alpha_lr must be a finite number > 0"),
        ({"low": 0.5, "high": 0.5}, "low must be below high"),
        ({"low": float("nan")}, "low must be a finite number or None"),
    ],
)
def test_nonsense_bound_options_are_refused_naming_the_value(options, message):
    from rlcert.reports.errors import InvalidValueError

    module = random_mlp(0, [2, 4, 2], nn.ReLU)
    for bound in (compute_bounds, margin_bounds):
        with pytest.raises(InvalidValueError, match=message):
            bound(module, torch.zeros(1, 2), 0.1, **options)
