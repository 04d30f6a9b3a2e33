import numpy as np
import pytest

from rlcert.attacks.smoothing import GaussianSmoothing


def test_noise_has_the_declared_scale_and_is_seeded():
    smoothing = GaussianSmoothing(0.2)
    frames = np.zeros((1000, 4), dtype=np.float32)
    a = smoothing.transform_frames(frames, np.random.default_rng(1))
    b = smoothing.transform_frames(frames, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert abs(a.std() - 0.2) < 0.01 and abs(a.mean()) < 0.01


def test_wrap_leaves_the_policy_alone(mlp_policy):
    assert GaussianSmoothing(0.1).wrap(mlp_policy) is mlp_policy


@pytest.mark.parametrize("sigma", [0, -1, float("nan"), "0.2"])
def test_sigma_must_be_positive(sigma):
    with pytest.raises(ValueError, match="sigma"):
        GaussianSmoothing(sigma)


def test_describe_names_the_noise_and_where_it_is_drawn():
    record = GaussianSmoothing(0.3).describe()
    assert (record.name, record.sigma, record.noise) == ("GaussianSmoothing", 0.3, "raw frames before stacking")
    with pytest.raises(AttributeError):
        record.sigma = 0.1  # what produced a run's episodes cannot change afterwards
