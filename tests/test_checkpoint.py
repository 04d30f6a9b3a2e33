import shutil
import warnings

import numpy as np
import pytest

from conftest import make_mlp_policy
from rlcert.envs.checkpoint import CheckpointMismatchError, CheckpointWarning, ChunkCheckpoint
from rlcert.envs.rollout import ChunkResult, EpisodeRecord, run
from rlcert.reports.errors import RlcertError

RESULT = ChunkResult(np.array([1.0, 2.0]), np.array([3, 4]), np.array([0.0, 0.5]), cut=np.array([True, False]))


def _assert_same_chunk(loaded: ChunkResult, expected: ChunkResult) -> None:
    for name in ("returns", "lengths", "costs", "cut"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(expected, name))
        assert getattr(loaded, name).dtype == getattr(expected, name).dtype


def test_chunks_round_trip_and_missing_ones_are_none(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    checkpoint.save(2, RESULT)
    _assert_same_chunk(ChunkCheckpoint(tmp_path, {"seed": 1}).load(2, 2), RESULT)
    assert checkpoint.load(0, 2) is None
    assert not list(tmp_path.glob("*.tmp*"))


def test_chunks_with_records_are_recomputed_quietly(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    record = EpisodeRecord(np.zeros((1, 4)), np.zeros((1, 4)), np.zeros(1), np.zeros(1))
    checkpoint.save(0, ChunkResult(np.zeros(1), np.ones(1, dtype=int), np.zeros(1), (record,), np.zeros(1, bool)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert checkpoint.load(0, 1) is None


def test_a_different_run_is_refused(tmp_path):
    ChunkCheckpoint(tmp_path, {"seed": 1, "env": "cartpole5"})
    with pytest.raises(CheckpointMismatchError, match="differs in: seed"):
        ChunkCheckpoint(tmp_path, {"seed": 2, "env": "cartpole5"})


@pytest.mark.parametrize("content", [b'{"seed": 1', b"[1, 2]", b"\xff\xfe not utf-8", b""])
def test_a_broken_manifest_stops_the_run_naming_the_file(tmp_path, content):
    (tmp_path / "manifest.json").write_bytes(content)
    with pytest.raises(RlcertError, match=r"manifest\.json.*delete the directory or choose another") as raised:
        ChunkCheckpoint(tmp_path, {"seed": 1})
    assert str(tmp_path / "manifest.json") in str(raised.value) and "\n" not in str(raised.value)


def test_an_unreadable_manifest_stops_the_run_naming_the_file(tmp_path):
    (tmp_path / "manifest.json").mkdir()
    with pytest.raises(RlcertError, match=r"manifest\.json.*delete the directory or choose another"):
        ChunkCheckpoint(tmp_path, {"seed": 1})


def test_a_checkpoint_path_that_is_a_file_is_a_user_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(RlcertError, match="taken.*choose another"):
        ChunkCheckpoint(tmp_path / "taken", {"seed": 1})


def _load_warning(checkpoint: ChunkCheckpoint, index: int, num_episodes: int) -> str:
    with pytest.warns(CheckpointWarning) as caught:
        assert checkpoint.load(index, num_episodes) is None
    (warning,) = caught
    return str(warning.message)


def test_a_chunk_in_the_old_format_is_recomputed_with_a_warning(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    np.savez(tmp_path / "chunk_00000.npz", returns=RESULT.returns, lengths=RESULT.lengths, costs=RESULT.costs)
    message = _load_warning(checkpoint, 0, 2)
    assert str(tmp_path / "chunk_00000.npz") in message and "recomput" in message


def test_a_chunk_must_be_the_chunk_it_claims(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    checkpoint.save(0, RESULT)
    assert "episodes" in _load_warning(checkpoint, 0, 250)  # a shrunken sample
    shutil.copy(tmp_path / "chunk_00000.npz", tmp_path / "chunk_00001.npz")
    assert "chunk 0" in _load_warning(checkpoint, 1, 2)  # another chunk's episodes
    other_run = ChunkCheckpoint(tmp_path / "other", {"seed": 2})
    other_run.save(0, RESULT)
    shutil.copy(tmp_path / "other" / "chunk_00000.npz", tmp_path / "chunk_00000.npz")
    assert "another run" in _load_warning(checkpoint, 0, 2)


def test_a_chunk_with_arrays_of_the_wrong_kind_is_not_trusted(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    checkpoint.save(0, ChunkResult(RESULT.returns, RESULT.lengths.astype(float) + 0.5, RESULT.costs, cut=RESULT.cut))
    assert "lengths" in _load_warning(checkpoint, 0, 2)


def test_no_bit_flip_anywhere_in_a_chunk_changes_what_is_loaded(tmp_path):
    """Every damaged byte either leaves the chunk's content intact (zip padding, timestamps) or makes the
    chunk recomputed with a warning: never a different result, never a traceback."""
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    checkpoint.save(0, RESULT)
    path = tmp_path / "chunk_00000.npz"
    clean = path.read_bytes()
    positions, recomputed = range(0, len(clean), 5), 0
    for position in positions:
        damaged = bytearray(clean)
        damaged[position] ^= 1 << (position % 8)
        path.write_bytes(bytes(damaged))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = checkpoint.load(0, 2)
        if loaded is None:
            assert len(caught) == 1 and caught[0].category is CheckpointWarning
            recomputed += 1
        else:
            _assert_same_chunk(loaded, RESULT)
    assert recomputed > len(positions) // 2  # most bytes matter (the zip CRCs, the arrays, the hash)


def test_truncated_chunks_are_recomputed_with_a_warning(tmp_path):
    checkpoint = ChunkCheckpoint(tmp_path, {"seed": 1})
    checkpoint.save(0, RESULT)
    path = tmp_path / "chunk_00000.npz"
    clean = path.read_bytes()
    for length in (0, 10, len(clean) // 2, len(clean) - 1):
        path.write_bytes(clean[:length])
        assert str(path) in _load_warning(checkpoint, 0, 2)


# --- acceptance: what run() returns from a tampered checkpoint is what a clean run returns ----------------

ENV, EPISODES, CHUNK = "cartpole5?max_steps=40", 30, 10


@pytest.fixture(scope="module")
def policy():
    return make_mlp_policy(seed=0)


@pytest.fixture(scope="module")
def clean(policy):
    return run(policy, ENV, EPISODES, seed=9, chunk_size=CHUNK)


def _shrink(directory, policy):
    with np.load(directory / "chunk_00001.npz") as data:
        kept = {name: data[name] for name in data.files}
    np.savez(directory / "chunk_00001.npz", **{k: v[:3] if v.ndim else v for k, v in kept.items()})


def _shrink_old_format(directory, policy):
    np.savez(directory / "chunk_00001.npz", returns=np.ones(3), lengths=np.ones(3, int), costs=np.zeros(3))


def _truncate(directory, policy):
    path = directory / "chunk_00001.npz"
    path.write_bytes(path.read_bytes()[:-40])


def _copy_other_index(directory, policy):
    shutil.copy(directory / "chunk_00002.npz", directory / "chunk_00001.npz")


def _copy_other_seed(directory, policy):
    other = directory.parent / "other-seed"
    run(policy, ENV, EPISODES, seed=10, chunk_size=CHUNK, checkpoint_dir=other)
    shutil.copy(other / "chunk_00001.npz", directory / "chunk_00001.npz")


def _flip_a_return_bit(directory, policy):
    path = directory / "chunk_00001.npz"
    content = bytearray(path.read_bytes())
    with np.load(path) as data:
        first_return = data["returns"][0].tobytes()
    position = content.find(first_return)
    content[position + 6] ^= 0x10
    path.write_bytes(bytes(content))


@pytest.mark.parametrize(
    "tamper", [_shrink, _shrink_old_format, _truncate, _copy_other_index, _copy_other_seed, _flip_a_return_bit]
)
def test_a_tampered_chunk_gives_the_clean_runs_episodes(policy, clean, tmp_path, tamper):
    directory = tmp_path / "run"
    first = run(policy, ENV, EPISODES, seed=9, chunk_size=CHUNK, checkpoint_dir=directory)
    np.testing.assert_array_equal(first.returns, clean.returns)
    assert not np.array_equal(clean.returns[10:20], clean.returns[20:30])  # a copied chunk would show
    tamper(directory, policy)
    with pytest.warns(CheckpointWarning, match="chunk_00001.npz"):
        resumed = run(policy, ENV, EPISODES, seed=9, chunk_size=CHUNK, checkpoint_dir=directory)
    for name in ("returns", "lengths", "costs", "cut"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(clean, name))
    with warnings.catch_warnings():  # the recomputed chunk replaced the damaged one
        warnings.simplefilter("error")
        again = run(policy, ENV, EPISODES, seed=9, chunk_size=CHUNK, checkpoint_dir=directory)
    np.testing.assert_array_equal(again.returns, clean.returns)
