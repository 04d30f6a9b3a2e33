"""The audit report's data: one record per check and the document that holds them (``report.json``).

The JSON form is versioned (``rlcert-audit/1``) and described by the JSON Schema shipped beside this module
(``report.schema.json``); Markdown and HTML render from these objects alone, so a report read back from its
JSON renders to the same pages.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from rlcert.reports.errors import InvalidValueError
from rlcert.reports.findings import Finding, to_jsonable
from rlcert.reports.versions import versions

__all__ = ["FORMAT", "SCHEMA_PATH", "Parameter", "CheckRecord", "AuditDocument"]

FORMAT = "rlcert-audit/1"
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def _from_mapping(cls, data: Any, what: str):
    """``cls(**data)`` refusing unknown or missing keys with their names (a report is never half-read)."""
    if not isinstance(data, Mapping):
        raise InvalidValueError(f"{what} must be an object, got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InvalidValueError(f"unknown {what} key {unknown[0]!r}; valid keys: {', '.join(sorted(names))}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise InvalidValueError(f"{what}: {exc}") from None


@dataclass(frozen=True)
class Parameter:
    """One row of a check's parameter table: the config field, its value and its docstring."""

    name: str
    value: Any
    doc: str


@dataclass(frozen=True)
class CheckRecord:
    """What one check of one policy found, with everything its report section shows."""

    id: str
    """Unique within the audit, e.g. ``02-reward_certificate-cartpole5-ppo-sigma0.2``; names its files."""
    kind: str
    title: str
    policy: str
    env: str
    verdict: str
    """pass, fail, inconclusive or info."""
    reason: str
    """Why the verdict (the criterion and the evidence, or why the check did not apply)."""
    criterion: str | None
    headline: Finding | None
    findings: tuple[Finding, ...]
    reading: str
    """What the figure does and does not guarantee, in plain language."""
    parameters: tuple[Parameter, ...]
    plots: tuple[str, ...]
    """Plot files, relative to the audit directory."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "parameters", tuple(self.parameters))
        object.__setattr__(self, "plots", tuple(self.plots))
        object.__setattr__(self, "extra", to_jsonable(dict(self.extra)))

    @property
    def applied(self) -> bool:
        """False for a check that did not apply to this policy (no findings; the reason says why)."""
        return bool(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "policy": self.policy,
            "env": self.env,
            "verdict": self.verdict,
            "reason": self.reason,
            "criterion": self.criterion,
            "headline": None if self.headline is None else self.headline.to_dict(),
            "findings": [f.to_dict() for f in self.findings],
            "reading": self.reading,
            "parameters": [{"name": p.name, "value": to_jsonable(p.value), "doc": p.doc} for p in self.parameters],
            "plots": list(self.plots),
            "extra": self.extra,
            "wall_time_s": self.wall_time_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckRecord:
        data = dict(data)
        data["headline"] = None if data.get("headline") is None else Finding.from_dict(data["headline"])
        data["findings"] = tuple(Finding.from_dict(f) for f in data.get("findings", ()))
        data["parameters"] = tuple(_from_mapping(Parameter, p, "parameter") for p in data.get("parameters", ()))
        data["plots"] = tuple(data.get("plots", ()))
        return _from_mapping(cls, data, "check")


@dataclass(frozen=True)
class AuditDocument:
    """A whole audit: what was audited, by which command and software, and every check's record."""

    title: str
    subjects: tuple[Mapping[str, Any], ...]
    """One entry per policy: its reference, env and the SHA-256 of its weights file."""
    suite: Mapping[str, Any]
    """The suite as it ran (AuditSuite.to_dict)."""
    command: str
    """The command that reproduces the audit."""
    checks: tuple[CheckRecord, ...]
    comparisons: tuple[Mapping[str, str], ...] = ()
    """With several policies: one combined plot per check, {"title", "plot"} (relative to the audit directory)."""
    software: Mapping[str, str] = field(default_factory=versions)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    wall_time_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "subjects", tuple(to_jsonable(dict(s)) for s in self.subjects))
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "comparisons", tuple(dict(c) for c in self.comparisons))
        object.__setattr__(self, "suite", to_jsonable(dict(self.suite)))

    def verdict_counts(self) -> dict[str, int]:
        counts = {"pass": 0, "fail": 0, "inconclusive": 0, "info": 0}
        for check in self.checks:
            counts[check.verdict] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "title": self.title,
            "created": self.created,
            "command": self.command,
            "software": dict(self.software),
            "subjects": [dict(s) for s in self.subjects],
            "suite": self.suite,
            "checks": [c.to_dict() for c in self.checks],
            "comparisons": [dict(c) for c in self.comparisons],
            "wall_time_s": self.wall_time_s,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditDocument:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise InvalidValueError(f"not an rlcert audit report (format {found!r}; expected {FORMAT!r})")
        data = {k: v for k, v in data.items() if k != "format"}
        data["checks"] = tuple(CheckRecord.from_dict(c) for c in data.get("checks", ()))
        data["subjects"] = tuple(data.get("subjects", ()))
        data["comparisons"] = tuple(data.get("comparisons", ()))
        return _from_mapping(cls, data, "report")

    @classmethod
    def from_json(cls, text: str) -> AuditDocument:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidValueError(f"not an rlcert audit report (not JSON: {exc})") from None
        return cls.from_dict(data)
