"""The findings data model every analysis reports into, and its JSON form.

A :class:`Finding` is one figure with the kind of evidence behind it:

* ``sound`` — a deterministic guarantee (bound propagation, Lipschitz products);
* ``statistical`` — holds with the stated ``confidence`` (e.g. a smoothing certificate at 1 - α);
* ``empirical`` — what a rollout, attack or probe observed; never called a bound.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.reports.errors import InvalidValueError, UnsupportedInputError
from rlcert.reports.versions import versions

__all__ = ["Evidence", "Finding", "AuditReport", "to_jsonable"]


class Evidence(str, Enum):
    SOUND = "sound"
    STATISTICAL = "statistical"
    EMPIRICAL = "empirical"


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for parameters: numpy scalars/arrays, tuples, paths and enums included."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise UnsupportedInputError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidValueError(f"{name} must be finite, got {value!r}")
    return value


@dataclass(frozen=True)
class Finding:
    """One reported figure and the evidence behind it.

    Example:
        >>> f = Finding("certified_reward", 152.3, "statistical", confidence=0.95, params={"budget": 0.4})
        >>> Finding.from_dict(f.to_dict()) == f
        True
    """

    name: str
    """What was measured, e.g. ``mean_return`` or ``certified_reward``."""
    value: float
    """The figure itself (finite)."""
    evidence: Evidence
    """``sound``, ``statistical`` or ``empirical``."""
    confidence: float | None = None
    """For ``statistical`` findings the level 1 - α they hold at; for an empirical interval, its level."""
    interval: tuple[float, float] | None = None
    """An optional (low, high) interval around ``value`` (e.g. a confidence interval of an estimate)."""
    method: str = ""
    """How the figure was computed (bound, attack, estimator)."""
    description: str = ""
    unit: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    """The parameters that produced it (JSON-able)."""
    seed: int | None = None
    versions: Mapping[str, str] = field(default_factory=versions)
    """Software that produced the figure; stamped by the library (rlcert, Python, numpy, torch, ...)."""

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidValueError("a finding needs a name")
        try:
            evidence = Evidence(self.evidence)
        except ValueError:
            raise InvalidValueError(
                f"evidence must be one of {', '.join(e.value for e in Evidence)}, got {self.evidence!r}"
            ) from None
        object.__setattr__(self, "evidence", evidence)
        object.__setattr__(self, "value", _finite("value", self.value))
        if self.confidence is not None:
            c = _finite("confidence", self.confidence)
            if not 0 < c < 1:
                raise InvalidValueError(f"confidence must lie in (0, 1), got {c}")
            object.__setattr__(self, "confidence", c)
        if evidence is Evidence.STATISTICAL and self.confidence is None:
            raise InvalidValueError(f"statistical finding {self.name!r} needs the confidence it holds at")
        if evidence is Evidence.SOUND and self.confidence is not None:
            raise InvalidValueError(f"sound finding {self.name!r} holds with certainty; it takes no confidence")
        if self.interval is not None:
            low, high = (_finite("interval", v) for v in self.interval)
            if low > high:
                raise InvalidValueError(f"interval must be (low, high) with low <= high, got {self.interval}")
            object.__setattr__(self, "interval", (low, high))
        object.__setattr__(self, "params", to_jsonable(dict(self.params)))
        object.__setattr__(self, "versions", {str(k): str(v) for k, v in dict(self.versions).items()})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["evidence"] = self.evidence.value
        data["interval"] = list(self.interval) if self.interval is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        data = dict(data)
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidValueError(f"unknown finding fields: {', '.join(sorted(unknown))}")
        if data.get("interval") is not None:
            data["interval"] = tuple(data["interval"])
        return cls(**data)


@dataclass(frozen=True)
class AuditReport:
    """Findings about one policy, ready to render (JSON now; Markdown and HTML build on the same data)."""

    title: str
    findings: tuple[Finding, ...]
    subject: Mapping[str, Any] = field(default_factory=dict)
    """What was audited: policy reference, env spec, and anything else that identifies the run."""
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Supporting data (summaries, curves) that is not itself a finding."""

    def __post_init__(self) -> None:
        findings = tuple(self.findings)
        if not all(isinstance(f, Finding) for f in findings):
            raise UnsupportedInputError("findings must be Finding objects")
        object.__setattr__(self, "findings", findings)
        object.__setattr__(self, "subject", to_jsonable(dict(self.subject)))
        object.__setattr__(self, "extra", to_jsonable(dict(self.extra)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "rlcert-report/1",
            "title": self.title,
            "created": self.created,
            "subject": self.subject,
            "findings": [f.to_dict() for f in self.findings],
            "extra": self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditReport:
        if data.get("format") != "rlcert-report/1":
            raise InvalidValueError(f"not an rlcert report (format {data.get('format')!r})")
        findings: Sequence[Mapping[str, Any]] = data.get("findings", [])
        return cls(
            title=data["title"],
            findings=tuple(Finding.from_dict(f) for f in findings),
            subject=data.get("subject", {}),
            created=data["created"],
            extra=data.get("extra", {}),
        )

    @classmethod
    def from_json(cls, text: str) -> AuditReport:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")
        return path
