import json
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from rlcert.certify.confidence import (
    BAND_METHODS,
    ELL_CALIBRATION_VERSION,
    LevelCacheWarning,
    clopper_pearson_lower,
    clopper_pearson_upper,
    dkw_margin,
    ell_local_level,
    hoeffding_lower,
    order_statistic_crossing_probability,
    survival_lower_band,
)


@pytest.fixture(autouse=True, scope="module")
def private_level_cache(tmp_path_factory):
    """Calibrated ell levels go to a cache of this module's own, never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        ell_local_level.cache_clear()
        yield
    ell_local_level.cache_clear()


def test_clopper_pearson_exact_values():
    assert clopper_pearson_lower(5, 10, 0.05) == pytest.approx(0.2224, abs=1e-4)
    assert clopper_pearson_upper(5, 10, 0.05) == pytest.approx(0.7776, abs=1e-4)
    assert clopper_pearson_lower(0, 10, 0.05) == 0.0
    assert clopper_pearson_upper(10, 10, 0.05) == 1.0
    assert clopper_pearson_lower(100, 100, 0.05) == pytest.approx(0.05 ** (1 / 100))  # all successes
    np.testing.assert_allclose(
        clopper_pearson_upper(np.arange(11), 10, 0.1), 1 - clopper_pearson_lower(10 - np.arange(11), 10, 0.1)
    )


def test_hoeffding_and_dkw_exact_values():
    assert hoeffding_lower(90, 100, 0.05) == pytest.approx(0.9 - math.sqrt(math.log(20) / 200))
    assert hoeffding_lower(1, 100, 0.05) == 0.0
    assert dkw_margin(10_000, 0.05) == pytest.approx(math.sqrt(math.log(40) / 20_000))


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, float("nan")])
def test_alpha_is_validated(bad):
    with pytest.raises(ValueError, match="alpha must lie strictly between 0 and 1"):
        clopper_pearson_lower(1, 2, bad)


def test_counts_are_validated():
    with pytest.raises(ValueError, match="successes must be integers in"):
        clopper_pearson_lower(11, 10, 0.05)
    with pytest.raises(ValueError, match="trials must be a positive integer"):
        hoeffding_lower(1, 0, 0.05)


def test_crossing_probability_exact_small_cases():
    assert order_statistic_crossing_probability(np.array([0.3])) == pytest.approx(0.3)
    a, b = 0.2, 0.5  # P(U(1) >= a, U(2) >= b) = (1 - a)^2 - (b - a)^2
    assert order_statistic_crossing_probability(np.array([a, b])) == pytest.approx(1 - (1 - a) ** 2 + (b - a) ** 2)
    assert order_statistic_crossing_probability(np.zeros(5)) == pytest.approx(0.0, abs=1e-12)


def test_crossing_probability_matches_simulation():
    rng = np.random.default_rng(0)
    n = 12
    boundary = np.maximum.accumulate(np.sort(rng.uniform(0, 0.8, n)) * np.linspace(0.2, 1, n))
    uniforms = np.sort(rng.uniform(size=(200_000, n)), axis=1)
    simulated = np.mean(np.any(uniforms < boundary, axis=1))
    assert order_statistic_crossing_probability(boundary) == pytest.approx(simulated, abs=0.004)


def test_ell_level_is_calibrated_and_beats_bonferroni():
    n, alpha = 500, 0.05
    level = ell_local_level(n, alpha)
    j = np.arange(1, n + 1)
    at = order_statistic_crossing_probability(stats.beta.ppf(level, j, n - j + 1))
    above = order_statistic_crossing_probability(stats.beta.ppf(level * 1.05, j, n - j + 1))
    assert at <= alpha < above
    assert level > alpha / 200  # looser than CP + Bonferroni over CartPole's 200 thresholds


def _cartpole_like(rng, n):
    """Mostly 200, a tail of early failures: the near-1 survival curves smoothing certificates see."""
    fail = rng.random(n) < 0.03
    return np.where(fail, rng.integers(10, 200, n), 200).astype(float)


@pytest.mark.parametrize("method", BAND_METHODS)
@pytest.mark.parametrize("distribution", ["cartpole-like", "continuous"])
def test_band_covers_the_true_survival_function(method, distribution):
    """Simulate many datasets: the band must lie below the true P(R >= t) everywhere in >= 1 - alpha of them."""
    rng = np.random.default_rng(1)
    n, alpha, trials = 200, 0.1, 400
    grid = np.arange(1.0, 201.0)
    if distribution == "continuous":
        true_survival = 1 - stats.beta.cdf(grid / 200, 5, 1.5)
        draw = lambda: 200 * rng.beta(5, 1.5, n)  # noqa: E731
    else:
        true_survival = np.where(grid <= 200, 0.97 + 0.03 * (200 - np.maximum(grid, 10)) / 190, 0.0)
        true_survival = np.where(grid < 10, 1.0, true_survival)
        draw = lambda: _cartpole_like(rng, n)  # noqa: E731
    covered = 0
    for _ in range(trials):
        returns = draw()
        band = survival_lower_band(returns, grid, alpha, method)
        covered += bool(np.all(band <= true_survival + 1e-12))
    slack = 3 * math.sqrt(alpha * (1 - alpha) / trials)
    assert covered / trials >= 1 - alpha - slack


@given(st.lists(st.integers(0, 200), min_size=5, max_size=60), st.sampled_from(BAND_METHODS))
def test_band_is_a_monotone_probability(values, method):
    returns = np.asarray(values, dtype=float)
    thresholds = np.arange(1.0, 201.0)
    band = survival_lower_band(returns, thresholds, 0.05, method)
    empirical = (returns[None, :] >= thresholds[:, None]).mean(axis=1)
    assert np.all((band >= 0) & (band <= empirical + 1e-12))
    assert np.all(np.diff(band) <= 1e-12)


def test_ell_is_tighter_than_dkw_and_bonferroni_near_one():
    returns = _cartpole_like(np.random.default_rng(3), 2000)
    thresholds = np.arange(1.0, 201.0)
    ell = survival_lower_band(returns, thresholds, 0.05, "ell")
    assert np.all(ell >= survival_lower_band(returns, thresholds, 0.05, "dkw"))
    assert np.all(ell >= survival_lower_band(returns, thresholds, 0.05, "clopper-pearson"))


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown bound 'wilson'"):
        survival_lower_band(np.ones(5), np.ones(1), 0.05, "wilson")


# --- the ell level cache: a cached level is verified before it is used ------------------------------------

N_CACHED, ALPHA_CACHED = 300, 0.05


@pytest.fixture
def level_cache(tmp_path, monkeypatch):
    """A fresh cache file (and a fresh in-memory cache) for one test; yields its path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ell_local_level.cache_clear()
    yield tmp_path / "rlcert" / "ell_levels.json"
    ell_local_level.cache_clear()


def _band():
    returns = _cartpole_like(np.random.default_rng(4), N_CACHED)
    return survival_lower_band(returns, np.arange(1.0, 201.0), ALPHA_CACHED, "ell")


@pytest.fixture(scope="module")
def clean_ell(tmp_path_factory):
    """(cache key, level, band) computed once from an empty cache."""
    root = tmp_path_factory.mktemp("clean-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(root))
        ell_local_level.cache_clear()
        level, band = ell_local_level(N_CACHED, ALPHA_CACHED), _band()
        ell_local_level.cache_clear()
    (key,) = json.loads((root / "rlcert" / "ell_levels.json").read_text())
    return key, level, band


def _crossing(n, level):
    j = np.arange(1, n + 1)
    return order_statistic_crossing_probability(stats.beta.ppf(level, j, n - j + 1))


def _tampered_values(clean_level):
    above = clean_level * 1.02
    assert _crossing(N_CACHED, above) > ALPHA_CACHED  # "slightly above" is really anti-conservative
    return {
        "alpha": ALPHA_CACHED,
        "above": above,
        "nan": float("nan"),
        "infinity": float("inf"),
        "negative": -0.01,
        "zero": 0.0,
        "below-bonferroni": 1e-300,
        "string": str(clean_level),
        "null": None,
        "bool": True,
        "list": [clean_level],
        "object": {"level": clean_level},
    }


@pytest.mark.parametrize(
    "tamper",
    [
        "alpha", "above", "nan", "infinity", "negative", "zero", "below-bonferroni",
        "string", "null", "bool", "list", "object",
    ],
)  # fmt: skip
def test_a_tampered_cached_level_gives_the_clean_certificate(level_cache, clean_ell, tamper):
    key, clean_level, clean_band = clean_ell
    level_cache.parent.mkdir()
    level_cache.write_text(json.dumps({key: _tampered_values(clean_level)[tamper]}))
    with pytest.warns(LevelCacheWarning, match=re.escape(str(level_cache))):
        np.testing.assert_array_equal(_band(), clean_band)
    assert ell_local_level(N_CACHED, ALPHA_CACHED) == clean_level
    assert json.loads(level_cache.read_text()) == {key: clean_level}  # the bad entry was overwritten


@pytest.mark.parametrize("content", [b"not json", b"[0.01]", b'{"n=300": "x"', b"\xff\xfe"])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(level_cache, clean_ell, content):
    key, clean_level, _ = clean_ell
    level_cache.parent.mkdir()
    level_cache.write_bytes(content)
    with pytest.warns(LevelCacheWarning, match=re.escape(str(level_cache))):
        assert ell_local_level(N_CACHED, ALPHA_CACHED) == clean_level
    assert json.loads(level_cache.read_text()) == {key: clean_level}


def test_the_cache_key_names_n_alpha_and_the_calibration_version(level_cache, clean_ell):
    """An entry under any other key (an older calibration, the old "n:alpha" key) is never read."""
    key, clean_level, _ = clean_ell
    assert f"v{ELL_CALIBRATION_VERSION}" in key and f"n={N_CACHED}" in key and f"alpha={ALPHA_CACHED!r}" in key
    level_cache.parent.mkdir()
    level_cache.write_text(json.dumps({f"{N_CACHED}:{ALPHA_CACHED!r}": ALPHA_CACHED, "ell-v0|n=300": 0.05}))
    assert ell_local_level(N_CACHED, ALPHA_CACHED) == clean_level
    assert json.loads(level_cache.read_text()) == {key: clean_level}  # unknown entries are dropped


def test_a_verified_cached_level_is_used_without_recalibrating(level_cache, clean_ell, monkeypatch):
    import rlcert.certify.confidence as confidence

    key, clean_level, _ = clean_ell
    level_cache.parent.mkdir()
    level_cache.write_text(json.dumps({key: clean_level}))
    monkeypatch.setattr(confidence, "_calibrate_ell_level", lambda n, alpha: pytest.fail("recalibrated"))
    assert ell_local_level(N_CACHED, ALPHA_CACHED) == clean_level


def test_ell_local_level_validates_n():
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            ell_local_level(bad, 0.05)


def test_mean_t_interval_is_the_student_t_interval_of_the_mean():
    from rlcert.certify.confidence import mean_t_interval

    mean, low, high = mean_t_interval([1.0, 2.0, 3.0])  # s.e. 1/sqrt(3), t(0.975, 2) = 4.3027
    assert mean == 2.0 and high - mean == pytest.approx(4.3027 / 3**0.5, rel=1e-4) and mean - low == high - mean
    assert all(x != x for x in mean_t_interval([5.0]))  # NaN below two values
