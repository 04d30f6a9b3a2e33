import numpy as np
import pytest

from envs.checkpoint import CheckpointMismatchError, ChunkCheckpoint
from envs.rollout import ChunkResult, EpisodeRecord


def test_chunks_round_trip_and_missing_ones_are_none(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    result = ChunkResult(np.array([1.0, 2.0]), np.array([3, 4]), np.array([0.0, 0.5]))
    checkpoint.save(2, result)
    loaded = ChunkCheckpoint(tmp_path, {"seed": 1}).load(2)
    np.testing.assert_array_equal(loaded.returns, result.returns)
    np.testing.assert_array_equal(loaded.costs, result.costs)
    assert checkpoint.load(0) is None
    assert not list(tmp_path.glob("*.tmp.npz"))
    assert loaded.cut is None  # a chunk saved without step-limit cuts (as before they were recorded)
    checkpoint.save(3, ChunkResult(result.returns, result.lengths, result.costs, cut=np.array([True, False])))
    assert checkpoint.load(3).cut.tolist() == [True, False]


def test_chunks_with_records_are_recomputed(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    record = EpisodeRecord(np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(1), np.zeros(1))
    checkpoint.save(0, ChunkResult(np.zeros(1), np.ones(1, dtype=int), np.zeros(1), (record,)))
    assert checkpoint.load(0) is None


def test_a_different_run_is_refused(tmp_path):
    ChunkCheckpoint(tmp_path, {"seed": 1, "env": "cartpole5"})
    with pytest.raises(CheckpointMismatchError, match="differs in: seed"):
        ChunkCheckpoint(tmp_path, {"seed": 2, "env": "cartpole5"})
