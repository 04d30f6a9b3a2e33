"""The robustness audit: suites of checks, the check registry, a resumable runner and the report files."""

from rlcert.audit.checks import CheckKind, Criterion, Verdict, check_kind, check_kinds, register_check
from rlcert.audit.document import AuditDocument, CheckRecord
from rlcert.audit.render import render_html, render_markdown, write_report
from rlcert.audit.runner import resume_audit, run_audit
from rlcert.audit.suite import AuditSuite, CheckSpec, default_audit_suite, load_audit_suite

__all__ = [
    "AuditSuite",
    "CheckSpec",
    "load_audit_suite",
    "default_audit_suite",
    "run_audit",
    "resume_audit",
    "AuditDocument",
    "CheckRecord",
    "render_html",
    "render_markdown",
    "write_report",
    "CheckKind",
    "Criterion",
    "Verdict",
    "register_check",
    "check_kind",
    "check_kinds",
]
