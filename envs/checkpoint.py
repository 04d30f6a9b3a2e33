"""Checkpoints of finished rollout chunks, so an interrupted run resumes without losing episodes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reports.errors import InvalidValueError

if TYPE_CHECKING:
    from envs.rollout import ChunkResult

__all__ = ["ChunkCheckpoint", "CheckpointMismatchError"]


class CheckpointMismatchError(InvalidValueError):
    """The checkpoint directory holds chunks of a different run."""


class ChunkCheckpoint:
    """A directory of ``chunk_XXXXX.npz`` files plus ``manifest.json`` naming the run they belong to.

    Chunks are written atomically (temporary file, then rename) so a crash mid-write never leaves a
    half chunk that a resume would trust. Files are read with ``allow_pickle=False``.
    """

    def __init__(self, directory: str | Path, fingerprint: dict):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.directory / "manifest.json"
        if manifest.exists():
            stored = json.loads(manifest.read_text())
            if stored != fingerprint:
                changed = sorted(k for k in set(stored) | set(fingerprint) if stored.get(k) != fingerprint.get(k))
                raise CheckpointMismatchError(
                    f"checkpoint directory {str(self.directory)!r} belongs to a different run "
                    f"(differs in: {', '.join(changed)}); use another directory or delete it"
                )
        else:
            manifest.write_text(json.dumps(fingerprint, indent=2, sort_keys=True) + "\n")

    def _path(self, index: int) -> Path:
        return self.directory / f"chunk_{index:05d}.npz"

    def load(self, index: int) -> ChunkResult | None:
        from envs.rollout import ChunkResult

        path = self._path(index)
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            # Per-step records are not checkpointed: a resumed run that needs them recomputes the chunk.
            if "has_records" in data and bool(data["has_records"]):
                return None
            cut = data["cut"].copy() if "cut" in data else None  # chunks saved before cuts were recorded
            return ChunkResult(data["returns"].copy(), data["lengths"].copy(), data["costs"].copy(), cut=cut)

    def save(self, index: int, result: ChunkResult) -> None:
        path = self._path(index)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            returns=result.returns,
            lengths=result.lengths,
            costs=result.costs,
            has_records=np.array(result.records is not None),
            **({"cut": result.cut} if result.cut is not None else {}),
        )
        os.replace(tmp, path)
