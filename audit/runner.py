"""Run an audit suite: every check on every policy, each finished check saved as it ends, resumable.

An audit directory holds ``audit-suite.json`` (the suite as it runs, and its fingerprint), one record per
finished check in ``checks/`` (written atomically, with the SHA-256 of its plots), the episode checkpoints of
the check in progress in ``checkpoints/``, the plots in ``plots/``, and at the end ``report.json``,
``report.md`` and ``report.html``. ``resume=True`` continues an interrupted audit: a finished check whose
record verifies is not run again, the check in progress resumes from its finished chunks, and the report is
the one an uninterrupted audit writes (timing fields aside).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlcert.analyses.subject import Subject, resolve_subject
from rlcert.audit.checks import CheckKind, Verdict
from rlcert.audit.document import AuditDocument, CheckRecord, Parameter
from rlcert.audit.render import write_report
from rlcert.audit.suite import AuditSuite, CheckSpec
from rlcert.envs.options import RolloutOptions
from rlcert.reports.config_docs import field_docs
from rlcert.reports.errors import InvalidValueError, OperationError, RlcertWarning

__all__ = ["run_audit", "resume_audit", "SUITE_FILE", "AuditWarning"]

SUITE_FILE = "audit-suite.json"
_SUITE_FORMAT = "rlcert-audit-suite/1"


class AuditWarning(RlcertWarning):
    """A saved check record that does not verify and is run again."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.removeprefix("zoo:")).strip("-")[:60] or "policy"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def _parameters(spec: CheckSpec, rollout_params: dict[str, Any]) -> tuple[Parameter, ...]:
    """The check's parameter table: every config field with its docstring, then the shared run options."""
    docs = field_docs(type(spec.config))
    rows = [
        Parameter(f.name, getattr(spec.config, f.name), docs.get(f.name, "")) for f in dataclasses.fields(spec.config)
    ]

    rollout_docs = field_docs(RolloutOptions)
    rows += [Parameter(name, value, rollout_docs.get(name, "")) for name, value in rollout_params.items()]
    return tuple(rows)


def _not_applicable(record_id: str, spec: CheckSpec, subject: Subject, reason: str) -> CheckRecord:
    return CheckRecord(
        record_id, spec.kind, spec.display_name, subject.reference, str(subject.env), "info",
        f"does not apply: {reason}", None, None, (), "", (), (),
    )  # fmt: skip


def _verdict(spec: CheckSpec, kind: CheckKind, result: Any, findings) -> Verdict:
    if spec.criterion is not None:
        return spec.criterion.judge(findings)
    if kind.own_verdict is not None:
        return kind.own_verdict(result)
    return Verdict("info", "no pass criterion: the figure is reported as it is")


def _run_check(record_id: str, spec: CheckSpec, subject: Subject, suite: AuditSuite, out_dir: Path, progress: bool):
    kind = spec.check
    checkpoint = out_dir / "checkpoints" / record_id if kind.checkpoints else None
    rollout = dataclasses.replace(
        suite.rollout, checkpoint_dir=None if checkpoint is None else str(checkpoint), progress=progress
    )
    start = time.perf_counter()
    result = kind.run(subject, spec.config, rollout)
    findings = tuple(result.findings())
    plot = result.plot(out_dir / "plots" / f"{record_id}.png")
    verdict = _verdict(spec, kind, result, findings)
    headline = kind.headline(result)
    if spec.criterion is not None:
        headline = next(f for f in findings if f.name == spec.criterion.finding)
    extra = result.report_extra() if hasattr(result, "report_extra") else {}
    return CheckRecord(
        record_id,
        spec.kind,
        spec.display_name,
        subject.reference,
        str(subject.env),
        verdict.verdict,
        verdict.reason,
        None if spec.criterion is None else spec.criterion.describe(),
        headline,
        findings,
        kind.reading(result),
        _parameters(spec, rollout.result_params()),
        () if plot is None else (str(Path(plot).relative_to(out_dir)),),
        extra,
        time.perf_counter() - start,
    )


def _save_record(out_dir: Path, record: CheckRecord, fingerprint: str) -> None:
    plots = {name: _sha256(out_dir / name) for name in record.plots}
    text = json.dumps({"fingerprint": fingerprint, "plots_sha256": plots, "record": record.to_dict()}, indent=1)
    _write_atomic(out_dir / "checks" / f"{record.id}.json", text)


def _load_record(out_dir: Path, record_id: str, fingerprint: str) -> CheckRecord | None:
    """A finished check's record, or None when there is none or it does not verify (then it runs again)."""
    path = out_dir / "checks" / f"{record_id}.json"
    if not path.exists():
        return None
    try:
        saved = json.loads(path.read_text())
        if saved["fingerprint"] != fingerprint:
            raise ValueError("it belongs to another suite")
        record = CheckRecord.from_dict(saved["record"])
        for name, digest in saved["plots_sha256"].items():
            if _sha256(out_dir / name) != digest:
                raise ValueError(f"its plot {name} changed")
        if record.id != record_id or set(saved["plots_sha256"]) != set(record.plots):
            raise ValueError("it is not the record of this check")
    except (OSError, ValueError, KeyError, TypeError, InvalidValueError) as exc:
        warnings.warn(AuditWarning(f"{path} does not verify ({exc}); the check runs again"), stacklevel=2)
        return None
    return record


def _plan(suite: AuditSuite, subjects: dict[str, Subject]) -> list[tuple[str, CheckSpec, Subject, str | None]]:
    """(record id, check, subject, reason it does not apply) for every check and policy, in report order."""
    plan, index = [], 0
    for spec in suite.checks:
        reasons = {ref: spec.check.applies(subject, spec.config) for ref, subject in subjects.items()}
        if all(reasons.values()) and suite.source == "the default suite":
            continue  # the default audit leaves out what applies to none of its policies
        index += 1
        for ref, subject in subjects.items():
            plan.append((f"{index:02d}-{spec.kind}-{_slug(ref)}", spec, subject, reasons[ref]))
    not_applicable = [(spec, subject, reason) for _, spec, subject, reason in plan if reason]
    if not_applicable and suite.source != "the default suite":
        spec, subject, reason = not_applicable[0]
        raise InvalidValueError(f"{suite.source}: the {spec.kind} check cannot run on {subject.reference}: {reason}")
    return plan


def _comparisons(records: list[CheckRecord], out_dir: Path) -> tuple[dict[str, str], ...]:
    """With several policies, one combined plot per check: the headline's family of findings (one per budget
    or radius) as a line per policy, or the headline alone as a bar per policy."""
    from rlcert.reports.plots import plot_comparison

    groups: dict[str, list[CheckRecord]] = {}
    for record in records:
        groups.setdefault(record.id.split("-", 2)[0] + "-" + record.kind, []).append(record)
    comparisons = []
    for key, group in groups.items():
        applied = [r for r in group if r.headline is not None]
        if len(applied) < 2:
            continue
        headline = applied[0].headline
        family, _, setting = headline.name.partition("@")
        axis = setting.partition("=")[0]
        series = {}
        for record in applied:
            if axis:
                points = [(float(f.name.rpartition("=")[2]), f.value) for f in record.findings
                          if f.name.startswith(f"{family}@{axis}=")]  # fmt: skip
            else:
                points = [(0.0, record.headline.value)]
            series[record.policy] = points
        relative = f"plots/compare-{key}.png"
        title = f"{applied[0].title} · {headline.evidence.value}"
        plot_comparison(series, out_dir / relative, title=title, xlabel=axis or "", ylabel=family)
        comparisons.append({"title": applied[0].title, "plot": relative})
    return tuple(comparisons)


def run_audit(
    suite: AuditSuite,
    out_dir: str | Path,
    *,
    command: str = "",
    progress: bool = True,
    resume: bool = False,
    on_check: Callable[[CheckRecord], None] | None = None,
) -> AuditDocument:
    """Run ``suite`` into ``out_dir`` and write report.json, report.md and report.html there.

    A fresh audit refuses a directory that already holds one (``resume_audit`` continues it). ``on_check`` is
    called with each check's record as it finishes (the console prints a line per check).
    """
    out_dir = Path(out_dir)
    suite_file = out_dir / SUITE_FILE
    fingerprint = suite.fingerprint()
    if suite_file.exists() and not resume:
        raise InvalidValueError(
            f"{str(out_dir)!r} already holds an audit: continue it with rlcert audit --resume {out_dir}, or "
            "choose another --out"
        )
    # Every policy loads and every check is planned before anything is written or run.
    subjects = {ref: resolve_subject(ref, suite.env) for ref in suite.policies}
    plan = _plan(suite, subjects)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperationError(f"cannot create the audit directory {str(out_dir)!r}: {exc.strerror}") from None
    if not resume:
        saved = {"format": _SUITE_FORMAT, "fingerprint": fingerprint, "command": command, "suite": suite.to_dict()}
        _write_atomic(suite_file, json.dumps(saved, indent=1))
    start = time.perf_counter()
    records = []
    for record_id, spec, subject, reason in plan:
        record = _load_record(out_dir, record_id, fingerprint) if resume else None
        if record is None:
            if reason:
                record = _not_applicable(record_id, spec, subject, reason)
            else:
                record = _run_check(record_id, spec, subject, suite, out_dir, progress)
            _save_record(out_dir, record, fingerprint)
        records.append(record)
        if on_check is not None:
            on_check(record)
    document = AuditDocument(
        suite.title,
        tuple(subject.to_dict() for subject in subjects.values()),
        suite.to_dict(),
        command,
        tuple(records),
        _comparisons(records, out_dir) if len(subjects) > 1 else (),
        wall_time_s=time.perf_counter() - start,
    )
    write_report(document, out_dir)
    return document


def resume_audit(
    out_dir: str | Path, *, progress: bool = True, on_check: Callable[[CheckRecord], None] | None = None
) -> AuditDocument:
    """Continue the audit in ``out_dir`` with the suite and command it was started with."""
    out_dir = Path(out_dir)
    suite_file = out_dir / SUITE_FILE
    if not suite_file.is_file():
        raise InvalidValueError(f"{str(out_dir)!r} holds no audit to resume (no {SUITE_FILE})")
    try:
        saved = json.loads(suite_file.read_text())
        if saved.get("format") != _SUITE_FORMAT:
            raise ValueError(f"format {saved.get('format')!r}")
    except (OSError, ValueError) as exc:
        raise OperationError(f"{suite_file} cannot be read ({exc}); start the audit afresh in another folder") from None
    suite = AuditSuite.from_dict(saved["suite"])
    if suite.fingerprint() != saved["fingerprint"]:
        raise OperationError(f"{suite_file} does not match its fingerprint; start the audit afresh in another folder")
    return run_audit(suite, out_dir, command=saved["command"], progress=progress, resume=True, on_check=on_check)
