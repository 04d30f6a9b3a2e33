"""Online density models (rlcert.training.density_models): log-likelihoods, parameters and entropies against
hand-computed values, computed before an observation is added."""

import math

import numpy as np
import pytest

from rlcert.reports.errors import InvalidValueError
from rlcert.training.density_models import BernoulliDensity, CategoricalDensity, GaussianDensity, make_density


def test_categorical_is_the_dirichlet_posterior_predictive_per_feature():
    model = CategoricalDensity(features=2, classes=3)
    assert model.log_prob([0, 2]) == pytest.approx(2 * math.log(1 / 3))  # nothing seen: uniform
    model.add([0, 2])
    # counts (1, 0, 0) and (0, 0, 1) of n = 1: p = (count + 1) / (1 + 3)
    assert model.log_prob([0, 1]) == pytest.approx(math.log(2 / 4) + math.log(1 / 4))
    assert model.parameters().tolist() == pytest.approx([0.5, 0.25, 0.25, 0.25, 0.25, 0.5])
    assert model.entropy() == pytest.approx(2 * -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    model.add([0, 2])
    assert model.log_prob([0, 2]) == pytest.approx(2 * math.log(3 / 5))
    model.reset()
    assert model.size == 0 and model.log_prob([1, 1]) == pytest.approx(2 * math.log(1 / 3))


def test_bernoulli_is_the_beta_posterior_predictive_per_feature():
    model = BernoulliDensity(features=2)
    assert model.log_prob([1, 0]) == pytest.approx(2 * math.log(0.5))
    model.add([1, 0])
    model.add([1, 1])
    # ones (2, 1) of n = 2: p = (ones + 1) / (2 + 2)
    assert model.parameters().tolist() == pytest.approx([0.75, 0.5])
    assert model.log_prob([1, 0]) == pytest.approx(math.log(0.75) + math.log(0.5))
    assert model.log_prob([0, 1]) == pytest.approx(math.log(0.25) + math.log(0.5))
    assert model.entropy() == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) + math.log(2))


def test_gaussian_uses_the_observed_mean_and_floored_variance():
    model = GaussianDensity(features=1, min_variance=0.01)
    assert model.log_prob([1.0]) == pytest.approx(-0.5 * math.log(2 * math.pi) - 0.5)  # N(0, 1) before anything
    model.add([1.0])
    assert model.log_prob([1.0]) == pytest.approx(-0.5 * math.log(2 * math.pi * 0.01))  # variance 0 -> floor
    model.add([3.0])  # mean 2, variance (1 + 9) / 2 - 4 = 1
    assert model.log_prob([2.0]) == pytest.approx(-0.5 * math.log(2 * math.pi))
    assert model.log_prob([4.0]) == pytest.approx(-0.5 * math.log(2 * math.pi) - 2.0)
    assert model.parameters().tolist() == pytest.approx([2.0, 1.0])
    assert model.entropy() == pytest.approx(0.5 * math.log(2 * math.pi * math.e))


def test_bad_observations_and_kinds_are_refused_in_one_line():
    with pytest.raises(InvalidValueError, match="values 0..2 got shape"):
        CategoricalDensity(2, 3).log_prob([0, 3])
    with pytest.raises(InvalidValueError, match="values other than 0 and 1"):
        BernoulliDensity(2).add([0.5, 1])
    with pytest.raises(InvalidValueError, match="not finite"):
        GaussianDensity(1).add([np.nan])
    with pytest.raises(InvalidValueError, match="density must be one of categorical, bernoulli, gaussian"):
        make_density("mixture", 3)
