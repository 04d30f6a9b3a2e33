import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from rlcert.certify.confidence import survival_lower_band
from rlcert.certify.reward import (
    attacked_probability_lower,
    binary_certificate,
    minimum_episodes,
    parse_budgets,
    percentile_certificate,
    reward_certificate,
)
from rlcert.reports.errors import InvalidValueError


def test_certificate_follows_the_formula():
    returns = np.array([200.0] * 90 + [50.0] * 10)
    cert = reward_certificate(returns, sigma=0.5, budgets=[0.0, 0.5], alpha=0.05, bound="dkw", low=0, high=200)
    band = survival_lower_band(returns, np.array([50.0, 200.0]), 0.05, "dkw")
    for budget, value in zip([0.0, 0.5], cert.certified):
        shifted = stats.norm.cdf(stats.norm.ppf(band) - budget / 0.5)
        assert value == pytest.approx(50 * shifted[0] + 150 * shifted[1])


def test_bonferroni_grid_uses_every_integer_threshold():
    returns = np.array([200.0] * 95 + [10.0] * 5)
    cert = reward_certificate(returns, 0.2, [0.0], bound="clopper-pearson", low=0, high=200)
    assert len(cert.thresholds) == 200 and cert.thresholds[0] == 1 and cert.thresholds[-1] == 200


@given(
    st.lists(st.integers(0, 200), min_size=20, max_size=80),
    st.sampled_from(["ell", "dkw", "clopper-pearson", "hoeffding"]),
    st.floats(-500, 500),
)
def test_certificate_is_below_the_clean_mean_decreasing_and_shift_equivariant(values, bound, shift):
    returns = np.asarray(values, dtype=float)
    budgets = [0.0, 0.1, 0.5, 1.0]
    cert = reward_certificate(returns, 0.25, budgets, bound=bound, low=0, high=200)
    assert cert.certified[0] <= returns.mean() + 1e-9
    assert np.all(np.diff(cert.certified) <= 1e-9) and np.all(cert.certified >= 0)
    moved = reward_certificate(returns + shift, 0.25, budgets, bound=bound, low=shift, high=200 + shift)
    np.testing.assert_allclose(moved.certified, cert.certified + shift, atol=1e-6)


def test_negative_returns_are_supported():
    returns = -np.random.default_rng(0).integers(90, 200, size=500).astype(float)  # MountainCar-like
    cert = reward_certificate(returns, 0.2, [0.0, 0.2], low=-200, high=0)
    assert -200 <= cert.certified[1] < cert.certified[0] <= returns.mean()


def test_binary_certificate():
    cert = binary_certificate(950, 1000, sigma=0.2, budgets=[0.0, 0.2])
    assert cert.clean_lower == pytest.approx(stats.beta.ppf(0.05, 950, 51))
    assert cert.certified[0] == pytest.approx(cert.clean_lower)
    assert cert.certified[1] == pytest.approx(stats.norm.cdf(stats.norm.ppf(cert.clean_lower) - 1.0))
    assert binary_certificate(0, 10, 0.2, [0.1]).certified[0] == 0.0


def test_percentile_certificate():
    returns = np.array([200.0] * 990 + list(range(10)))
    result = percentile_certificate(returns, 0.2, [0.0, 0.2, 2.0], probability=0.5)
    assert result[0] == 200.0 and result[1] == 200.0 and np.isnan(result[2])
    with pytest.raises(ValueError, match="probability"):
        percentile_certificate(returns, 0.2, [0.0], probability=1.0)


def test_attacked_probability_is_the_neyman_pearson_bound():
    assert attacked_probability_lower(0.5, 0.0, 1.0) == pytest.approx(0.5)
    assert attacked_probability_lower(stats.norm.cdf(2.0), 1.0, 0.5) == pytest.approx(0.5)


def test_parse_budgets():
    np.testing.assert_allclose(parse_budgets("0:1:0.2"), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(parse_budgets("0, 0.5"), [0, 0.5])
    with pytest.raises(ValueError, match="start:stop:step"):
        parse_budgets("0:1")
    with pytest.raises(ValueError, match=">= 0"):
        parse_budgets("-0.1,0.2")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sigma=0.0), "sigma must be a finite number > 0"),
        (dict(sigma=-1.0), "sigma must be a finite number > 0"),
        (dict(budgets=[-0.1]), "budgets must be finite and >= 0"),
        (dict(alpha=1.0), "alpha must lie strictly between 0 and 1"),
        (dict(high=150.0), "outside the declared range"),
        (dict(bound="bernstein"), "unknown bound"),
        (dict(returns=[200.0] * 5), "too few for confidence 0.95"),
        (dict(returns=[1.0, float("nan")] * 50), "finite numbers"),
        (dict(low=10.0, high=0.0), "low <= high"),
    ],
)
def test_bad_input_fails_early(kwargs, message):
    args = dict(returns=[200.0] * 50 + [160.0] * 50, sigma=0.2, budgets=[0.0, 0.5], alpha=0.05, low=0.0, high=200.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        reward_certificate(**args)


def test_minimum_episodes():
    assert minimum_episodes(0.05, "dkw") == 8
    assert minimum_episodes(0.05, "clopper-pearson", 200) == 12  # ceil(log2(200 / 0.05))
    assert 0.5 <= (0.05 / minimum_episodes(0.05)) ** (1 / minimum_episodes(0.05))


@pytest.fixture(scope="module")
def smoothed_episodes():
    """40 short CartPole episodes of a balancing controller smoothed with sigma = 0.2."""
    from conftest import BalancingPolicy
    from rlcert.attacks.smoothing import GaussianSmoothing
    from rlcert.envs.rollout import run

    return run(BalancingPolicy(), "cartpole5?max_steps=20", 40, seed=0, defense=GaussianSmoothing(0.2))


def test_certificates_take_episodes_and_their_recorded_sigma(smoothed_episodes):
    """The sigma a certificate uses is the one the episodes were smoothed with (issue 19, item 8)."""
    returns = smoothed_episodes.returns
    expected = reward_certificate(returns, 0.2, [0.0, 0.2], low=0, high=20)
    for sigma in (None, 0.2):
        cert = reward_certificate(smoothed_episodes, sigma, [0.0, 0.2])  # range from the env: [0, 20]
        assert cert.sigma == 0.2 and (cert.low, cert.high) == (0.0, 20.0)
        np.testing.assert_array_equal(cert.certified, expected.certified)
    np.testing.assert_array_equal(
        percentile_certificate(smoothed_episodes, budgets=[0.0, 0.2]), percentile_certificate(returns, 0.2, [0.0, 0.2])
    )
    binary = binary_certificate(smoothed_episodes, budgets=[0.0, 0.2], success_min_return=20)
    assert binary.episodes == 40 and binary.successes == int(np.sum(returns >= 20)) and binary.sigma == 0.2
    np.testing.assert_array_equal(binary.certified, binary_certificate(binary.successes, 40, 0.2, [0, 0.2]).certified)


@pytest.mark.parametrize(
    "certify",
    [
        lambda eps: reward_certificate(eps, 0.4, [0.0]),
        lambda eps: percentile_certificate(eps, 0.4, [0.0]),
        lambda eps: binary_certificate(eps, sigma=0.4, budgets=[0.0], success_min_return=20),
    ],
    ids=["reward", "percentile", "binary"],
)
def test_a_sigma_other_than_the_recorded_one_is_refused(smoothed_episodes, certify):
    with pytest.raises(InvalidValueError, match=r"sigma=0\.4 differs from .* smoothed with \(sigma=0\.2\)"):
        certify(smoothed_episodes)


def test_episodes_without_smoothing_or_under_attack_certify_nothing():
    from conftest import make_mlp_policy
    from rlcert.attacks.smoothed_pgd import BudgetedSmoothedPGD
    from rlcert.attacks.smoothing import GaussianSmoothing
    from rlcert.envs.rollout import run

    policy = make_mlp_policy()
    plain = run(policy, "cartpole5?max_steps=5", 12, seed=0)
    with pytest.raises(InvalidValueError, match="without Gaussian smoothing"):
        reward_certificate(plain, 0.2, [0.0])
    attacked = run(
        policy,
        "cartpole5?max_steps=5",
        12,
        seed=0,
        defense=GaussianSmoothing(0.2),
        attack=BudgetedSmoothedPGD(budget=0.1, sigma=0.2, noise_samples=2),
    )
    with pytest.raises(InvalidValueError, match="under an attack"):
        reward_certificate(attacked, budgets=[0.0])


def test_plain_returns_still_need_an_explicit_sigma():
    with pytest.raises(InvalidValueError, match="sigma"):
        reward_certificate([200.0] * 100, budgets=[0.0], low=0, high=200)
    with pytest.raises(InvalidValueError, match="success_min_return"):
        binary_certificate(5, 10, 0.2, [0.0], success_min_return=1.0)
