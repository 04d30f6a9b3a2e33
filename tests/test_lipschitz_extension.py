"""The McShane extension's certified constant (rlcert.certify.lipschitz_extension): hand-computed conversions
between state and action norms, and sampled ratios that never exceed it."""

import math

import numpy as np
import pytest
import torch

from rlcert.certify.lipschitz import lipschitz_upper_bound
from rlcert.certify.lipschitz_extension import McShaneExtension, extension_lipschitz_bound, find_extension
from rlcert.reports.errors import InvalidValueError


def _extension(norm: str, states: int = 3, outputs: int = 2, alpha: float = 1.5, kind="mcshane") -> McShaneExtension:
    rng = np.random.default_rng(0)
    anchors = torch.as_tensor(rng.normal(size=(40, states)))
    values = torch.as_tensor(rng.normal(scale=5.0, size=(40, outputs)))  # far from alpha-Lipschitz values
    return McShaneExtension(anchors, values, alpha, norm, kind)


@pytest.mark.parametrize("own, query, expected", [
    ("2", "2", 1.5 * math.sqrt(2)),  # each output 1.5-Lipschitz; two outputs in l2
    ("2", "inf", 1.5 * math.sqrt(3)),  # ||x - y||_2 <= sqrt(3) ||x - y||_inf
    ("inf", "inf", 1.5),
    ("inf", "2", 1.5 * math.sqrt(2)),  # ||x - y||_inf <= ||x - y||_2
])  # fmt: skip
def test_the_constant_follows_the_theorem_and_the_norm_inequalities(own, query, expected):
    extension = _extension(own)
    assert extension_lipschitz_bound(extension, query) == pytest.approx(expected)
    assert lipschitz_upper_bound(torch.nn.Sequential(torch.nn.Flatten(), extension), query) == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["mcshane", "midpoint"])
@pytest.mark.parametrize("own", ["2", "inf"])
@pytest.mark.parametrize("query", ["2", "inf"])
def test_sampled_ratios_never_exceed_the_certified_constant(own, query, kind):
    extension = _extension(own, kind=kind)
    rng = np.random.default_rng(1)
    x = torch.as_tensor(rng.normal(scale=2.0, size=(3000, 3)))
    y = torch.cat([x[:1500] + 1e-3 * torch.as_tensor(rng.normal(size=(1500, 3))),
                   torch.as_tensor(rng.normal(scale=2.0, size=(1500, 3)))])  # fmt: skip
    order = 2 if query == "2" else math.inf
    with torch.no_grad():
        top = torch.linalg.vector_norm(extension(x) - extension(y), ord=order, dim=1)
    ratios = top / torch.linalg.vector_norm(x - y, ord=order, dim=1)
    assert float(ratios.max()) <= extension_lipschitz_bound(extension, query) * (1 + 1e-9)


def test_only_an_extension_is_found_and_a_bad_norm_is_refused():
    extension = _extension("2")
    assert find_extension(extension) is extension
    assert find_extension(torch.nn.Sequential(torch.nn.Flatten(), extension)) is extension
    assert find_extension(torch.nn.Sequential(torch.nn.Linear(3, 2))) is None
    with pytest.raises(InvalidValueError):
        McShaneExtension(torch.zeros(2, 3), torch.zeros(2, 1), 1.0, "1")
