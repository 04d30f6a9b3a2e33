"""The decision-boundary instability diagnostics (rlcert.diagnostics.instability) on policies whose unstable
directions are known by construction."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlcert.diagnostics.instability import (
    direction_spectrum,
    feature_correlation_quotient,
    principal_directions,
    sliding_directions,
    unstable_directions,
)
from rlcert.reports.errors import InvalidValueError

D = 20


def _unit(rng, d=D):
    w = rng.normal(size=d)
    return w / np.linalg.norm(w)


class _TwoRegionPolicy:
    """Two actions with logits ±(w·s): the decision boundary is the hyperplane w·s = 0, and the direction that
    moves s across it fastest is ±w. States with s[0] > 0 use w_right, the others w_left."""

    def __init__(self, w_right: np.ndarray, w_left: np.ndarray | None = None):
        self.w_right = torch.as_tensor(w_right, dtype=torch.float32)
        self.w_left = self.w_right if w_left is None else torch.as_tensor(w_left, dtype=torch.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (len(w_right),), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def scores(self, obs):
        margin = torch.where(obs[:, 0] > 0, obs @ self.w_right, obs @ self.w_left)[:, None]
        return torch.cat([margin, -margin], dim=1)

    def act(self, obs):
        with torch.no_grad():
            return self.scores(torch.as_tensor(obs)).argmax(1).numpy()


def _states(rng, n, side):
    s = rng.normal(size=(n, D)).astype(np.float32)
    s[:, 0] = side * np.abs(s[:, 0]) + side * 0.5  # keep clear of the region boundary s[0] = 0
    return s


def test_the_principal_unstable_direction_of_a_linear_boundary_is_its_normal():
    rng = np.random.default_rng(0)
    w = _unit(rng)
    policy = _TwoRegionPolicy(w)
    states = _states(rng, 200, 1)
    found = unstable_directions(policy, states, eps=0.1, norm="2", steps=5)
    principal = principal_directions(found.directions, k=2)
    assert abs(principal.principal @ w) >= 0.99
    assert principal.explained[0] >= 0.99 and found.directions.shape == (200, D)
    # the l-inf ball's steepest direction is the sign pattern of the normal
    signs = principal_directions(unstable_directions(policy, states, eps=0.1, norm="inf").directions).principal
    assert abs(signs @ (np.sign(w) / np.sqrt(D))) >= 0.99
    # the local steepness is |d CE / ds| = |w| times the same factor for every state at equal margin
    assert np.all(found.gradient_norms > 0)


def test_two_regions_give_a_two_dimensional_unstable_subspace_with_shares_as_their_sizes():
    rng = np.random.default_rng(1)
    w_right, w_left = _unit(rng), _unit(rng)
    w_left -= (w_left @ w_right) * w_right
    w_left /= np.linalg.norm(w_left)
    policy = _TwoRegionPolicy(w_right, w_left)
    states = np.concatenate([_states(rng, 300, 1), _states(rng, 100, -1)])
    principal = principal_directions(unstable_directions(policy, states, eps=0.1, norm="2").directions, k=2)
    assert abs(principal.vectors[0] @ w_right) >= 0.99 and abs(principal.vectors[1] @ w_left) >= 0.99
    assert principal.explained == pytest.approx([0.75, 0.25], abs=0.01)


def test_lambda_is_one_for_the_same_set_and_falls_with_the_angle_of_the_shift():
    rng = np.random.default_rng(2)
    w = _unit(rng)
    baseline = unstable_directions(_TwoRegionPolicy(w), _states(rng, 150, 1), eps=0.1, norm="2").directions
    same = principal_directions(baseline).principal
    assert feature_correlation_quotient(baseline, same) == pytest.approx(1.0, abs=1e-9)
    other = _unit(rng)
    shifted = unstable_directions(_TwoRegionPolicy(other), _states(rng, 150, 1), eps=0.1, norm="2").directions
    shift_direction = principal_directions(shifted).principal
    quotient = feature_correlation_quotient(baseline, shift_direction)
    assert quotient == pytest.approx((w @ other) ** 2, abs=0.02) and quotient < 0.5


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 40), d=st.integers(2, 30))
def test_lambda_always_lies_in_zero_one(seed, n, d):
    rng = np.random.default_rng(seed)
    baseline = rng.normal(size=(n, d))
    g = rng.normal(size=d)
    assert 0.0 <= feature_correlation_quotient(baseline, g / np.linalg.norm(g)) <= 1.0


def test_sliding_windows_see_the_direction_turn_where_the_episode_changes_region():
    rng = np.random.default_rng(3)
    w_right, w_left = _unit(rng), _unit(rng)
    w_left -= (w_left @ w_right) * w_right
    policy = _TwoRegionPolicy(w_right, w_left / np.linalg.norm(w_left))
    episode = np.concatenate([_states(rng, 40, 1), _states(rng, 40, -1)])
    found = unstable_directions(policy, episode, eps=0.1, norm="2")
    vectors, angles = sliding_directions(found.directions, window=20)
    assert vectors.shape == (4, D) and angles.shape == (3,)
    assert angles[0] < 5 and angles[2] < 5 and angles[1] > 85


def test_the_spectrum_of_a_stripe_pattern_peaks_at_its_frequency():
    x = np.cos(2 * np.pi * 4 * np.arange(16) / 16)
    image = np.tile(x, (16, 1))[None]  # one channel, 4 cycles across the width
    spectrum = direction_spectrum(image.ravel(), (1, 16, 16))
    peak = np.unravel_index(np.argmax(spectrum[0]), spectrum[0].shape)
    assert peak in {(8, 4), (8, 12)}  # centred: frequency ±4 along the width
    with pytest.raises(InvalidValueError, match="image observations"):
        direction_spectrum(np.ones(4), (4,))


def test_bad_inputs_are_refused_with_the_value():
    policy = _TwoRegionPolicy(np.ones(D) / np.sqrt(D))
    with pytest.raises(InvalidValueError, match="--eps"):
        unstable_directions(policy, np.ones((2, D), np.float32), eps=0)
    with pytest.raises(InvalidValueError, match="--norm must be 'inf' or '2', got 'l1'"):
        unstable_directions(policy, np.ones((2, D), np.float32), eps=0.1, norm="l1")
    with pytest.raises(InvalidValueError, match="every unstable direction is zero"):
        principal_directions(np.zeros((3, D)))
    with pytest.raises(InvalidValueError, match="--window 50 is longer than the 10 states"):
        sliding_directions(np.ones((10, D)), window=50)
