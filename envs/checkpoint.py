"""Checkpoints of finished rollout chunks, so an interrupted run resumes without losing episodes.

A checkpoint can only ever save work, never change a result: a chunk file is used only when it proves it
is the chunk the run asks for (format, run fingerprint, chunk index, episode count, array kinds and a
SHA-256 of its whole content). Anything else (a truncated or bit-flipped file, a chunk copied in from
another index or another run, a file written before chunks carried this proof) is recomputed with a
:class:`CheckpointWarning` that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

from rlcert.envs.chunks import ChunkResult
from rlcert.reports.errors import InvalidValueError, OperationError, RlcertWarning

__all__ = ["ChunkCheckpoint", "CheckpointMismatchError", "CheckpointWarning", "CHUNK_FORMAT"]

CHUNK_FORMAT = 2
"""Version of what a chunk file holds; chunks of another version are recomputed, never read as this one.
(1: the arrays alone, before chunks carried their identity and content hash.)"""

# What each array of a chunk must be, as numpy dtype kinds.
_EPISODE_ARRAYS = {"returns": "f", "lengths": "iu", "costs": "f"}
_OPTIONAL_ARRAYS = {"cut": "b"}  # absent where a caller saved a result without step-limit cuts
_KIND_NAMES = {"f": "float", "iu": "integer", "b": "bool"}
_IDENTITY = ("format", "run", "chunk_index", "episodes", "has_records")
_DIGEST = "sha256"


class CheckpointMismatchError(InvalidValueError):
    """The checkpoint directory holds chunks of a different run."""


class CheckpointWarning(RlcertWarning):
    """A checkpointed chunk could not be trusted and is recomputed; the message names the file and why."""


class ChunkCheckpoint:
    """A directory of ``chunk_XXXXX.npz`` files plus ``manifest.json`` naming the run they belong to.

    Every chunk records the run it belongs to (a hash of the manifest's fingerprint), its chunk index,
    its episode count and a SHA-256 over all its arrays; :meth:`load` returns a chunk only when all of
    them match what the run expects. Files are written atomically (temporary file, then rename) so a crash
    mid-write never leaves a half file, and read with ``allow_pickle=False``.

    Example:
        >>> import tempfile
        >>> from rlcert.envs.chunks import ChunkResult
        >>> checkpoint = ChunkCheckpoint(tempfile.mkdtemp(), {"seed": 0})
        >>> checkpoint.save(0, ChunkResult(np.ones(3), np.ones(3, dtype=int), np.zeros(3)))
        >>> checkpoint.load(0, num_episodes=3).returns
        array([1., 1., 1.])
    """

    def __init__(self, directory: str | Path, fingerprint: dict):
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OperationError(
                f"cannot use {str(self.directory)!r} as a checkpoint directory ({_reason(error)}); choose another"
            ) from None
        manifest = self.directory / "manifest.json"
        if manifest.exists():
            stored = _read_manifest(manifest)
            if stored != fingerprint:
                changed = sorted(k for k in set(stored) | set(fingerprint) if stored.get(k) != fingerprint.get(k))
                raise CheckpointMismatchError(
                    f"checkpoint directory {str(self.directory)!r} belongs to a different run "
                    f"(differs in: {', '.join(changed)}); use another directory or delete it"
                )
        else:
            _write_atomically(manifest, json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")
        # The chunk format is part of the run's identity, so no chunk of another format can pass as this run's.
        canonical = json.dumps({"chunk_format": CHUNK_FORMAT, "run": fingerprint}, sort_keys=True)
        self.run_id = hashlib.sha256(canonical.encode()).hexdigest()

    def _path(self, index: int) -> Path:
        return self.directory / f"chunk_{index:05d}.npz"

    def load(self, index: int, num_episodes: int) -> ChunkResult | None:
        """Chunk ``index`` of this run, holding ``num_episodes`` episodes, or None where it must be (re)computed.

        None without a word where there is no file or the chunk kept per-step records (those are not
        checkpointed); None with a :class:`CheckpointWarning` where the file is not provably that chunk.
        """
        path = self._path(index)
        if not path.exists():
            return None
        try:  # our own file handle: np.load leaks its own when the zip is damaged
            with open(path, "rb") as file, np.load(file, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        # A damaged zip fails in whichever layer the damage hits (zipfile, struct, numpy's header parser,
        # allocation of a garbled shape, a garbled compression flag): every failure means the same thing.
        except Exception as error:
            return _distrust(path, f"unreadable ({_reason(error)})")
        problem = self._problem(arrays, index, num_episodes)
        if problem is not None:
            return _distrust(path, problem)
        if arrays["has_records"]:  # the run that saved it recorded steps; a resume needs them again
            return None
        return ChunkResult(arrays["returns"], arrays["lengths"], arrays["costs"], cut=arrays.get("cut"))

    def _problem(self, arrays: dict[str, np.ndarray], index: int, num_episodes: int) -> str | None:
        """Why ``arrays`` are not chunk ``index`` of this run with ``num_episodes`` episodes (None: they are)."""
        if "format" not in arrays and _DIGEST not in arrays:
            return "in an older format without the run, chunk index and content hash it must prove"
        expected = {*_IDENTITY, *_EPISODE_ARRAYS, _DIGEST}
        unknown, missing = set(arrays) - expected - set(_OPTIONAL_ARRAYS), expected - set(arrays)
        if unknown or missing:
            return f"not a chunk file (unknown entries: {sorted(unknown)}, missing: {sorted(missing)})"
        digest = arrays.pop(_DIGEST)
        if digest.shape != () or digest.dtype.kind != "U" or str(digest) != _content_digest(arrays):
            return "damaged (its content does not match its SHA-256)"
        identity = {name: arrays[name].item() if arrays[name].shape == () else None for name in _IDENTITY}
        if identity["format"] != CHUNK_FORMAT:
            return f"in chunk format {identity['format']!r}, not {CHUNK_FORMAT}"
        if identity["run"] != self.run_id:
            return f"from another run (its run fingerprint differs from {str(self.directory / 'manifest.json')!r})"
        if identity["chunk_index"] != index:
            return f"chunk {identity['chunk_index']!r} of this run, copied in as chunk {index}"
        if identity["episodes"] != num_episodes:
            return f"a chunk of {identity['episodes']!r} episodes where chunk {index} has {num_episodes}"
        for name, kinds in {**_EPISODE_ARRAYS, **_OPTIONAL_ARRAYS}.items():
            array = arrays.get(name)
            if array is not None and (array.shape != (num_episodes,) or array.dtype.kind not in kinds):
                return (
                    f"holding {name} of dtype {array.dtype} and shape {array.shape}, "
                    f"not {_KIND_NAMES[kinds]} of shape ({num_episodes},)"
                )
        if not isinstance(identity["has_records"], bool):
            return f"holding has_records = {identity['has_records']!r}, not a bool"
        return None

    def save(self, index: int, result: ChunkResult) -> None:
        arrays = {
            "returns": np.asarray(result.returns),
            "lengths": np.asarray(result.lengths),
            "costs": np.asarray(result.costs),
            **({"cut": np.asarray(result.cut)} if result.cut is not None else {}),
            "format": np.array(CHUNK_FORMAT),
            "run": np.array(self.run_id),
            "chunk_index": np.array(index),
            "episodes": np.array(len(result.returns)),
            "has_records": np.array(result.records is not None),
        }
        path = self._path(index)
        tmp = path.with_name(f"{path.stem}.tmp.npz")
        np.savez(tmp, **arrays, **{_DIGEST: np.array(_content_digest(arrays))})
        os.replace(tmp, path)


def _content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes (so no entry can change unnoticed)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _distrust(path: Path, problem: str) -> None:
    warnings.warn(f"checkpoint chunk {str(path)!r} is {problem}; recomputing it", CheckpointWarning, stacklevel=3)
    return None


def _read_manifest(path: Path) -> dict:
    """The fingerprint stored in ``path``; a manifest that is not one stops the run (its chunks cannot be placed)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        problem = None if isinstance(stored, dict) else f"holds a JSON {type(stored).__name__}, not an object"
    except (OSError, ValueError) as error:  # ValueError: malformed JSON or bytes that are not UTF-8
        problem = f"cannot be read ({_reason(error)})"
    if problem is not None:
        raise OperationError(
            f"checkpoint manifest {str(path)!r} {problem}, so its chunks cannot be matched to this run; "
            "delete the directory or choose another checkpoint directory"
        )
    return stored


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _reason(error: BaseException) -> str:
    """One line saying what went wrong (an OSError's strerror, else the exception's first line)."""
    text = getattr(error, "strerror", None) or next(iter(str(error).splitlines()), "")
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
