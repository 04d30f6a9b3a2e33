"""Audit suites: the policies, the env, the run's options and the checks with their pass criteria (TOML).

Example suite::

    title = "CartPole agent before release"
    policies = ["zoo:cartpole5-ppo-sigma0.2"]     # or policy = "..."
    seed = 0                                       # also: workers, executor ("local" or "ray"), chunk_size, probe

    [[check]]
    kind = "reward_certificate"                    # see `rlcert audit --list-checks`
    episodes = 10000                               # any field of the analysis's config
    budgets = "0:1:0.2"
    pass = { finding = "certified_expected_return@B=0.4", at_least = 150 }

    [[check]]
    kind = "stress"
    suite = "generic"

Every key is checked before any episode runs: an unknown key, a value of the wrong type or out of range, a
check that does not apply to a policy is one error naming the file, the line, the key and what is valid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlcert.audit.checks import CheckKind, Criterion, check_kind, check_kinds
from rlcert.envs.options import RolloutOptions
from rlcert.reports.config_docs import field_type
from rlcert.reports.errors import InvalidValueError, RlcertError
from rlcert.reports.toml_document import read_toml

__all__ = ["CheckSpec", "AuditSuite", "load_audit_suite", "default_audit_suite", "SUITE_KEYS", "DEFAULT_POLICY"]

DEFAULT_POLICY = "zoo:cartpole5-ppo-sigma0.2"
_ROLLOUT_KEYS = ("seed", "workers", "executor", "ray_address", "chunk_size", "probe")
SUITE_KEYS = ("title", "policy", "policies", "env", *_ROLLOUT_KEYS, "check")
_CHECK_KEYS = ("kind", "name", "pass")
_PASS_KEYS = ("finding", "at_least", "at_most")


@dataclass(frozen=True)
class CheckSpec:
    """One check of a suite: the analysis, its config and an optional pass criterion."""

    kind: str
    config: Any
    criterion: Criterion | None = None
    name: str = ""
    """Shown in the report (default: the check kind's title)."""

    @property
    def check(self) -> CheckKind:
        return check_kind(self.kind)

    @property
    def display_name(self) -> str:
        return self.name or self.check.title

    def to_dict(self) -> dict[str, Any]:
        criterion = None if self.criterion is None else dataclasses.asdict(self.criterion)
        return {"kind": self.kind, "name": self.name, "config": dataclasses.asdict(self.config), "pass": criterion}


@dataclass(frozen=True)
class AuditSuite:
    """What an audit runs. ``rollout`` holds the options every check shares (seed, workers, chunking, a probe
    stack under every episode); checkpoints and progress bars are the runner's business."""

    policies: tuple[str, ...]
    checks: tuple[CheckSpec, ...]
    rollout: RolloutOptions = RolloutOptions()
    env: str | None = None
    title: str = "rlcert robustness audit"
    source: str = "the default suite"
    """Where the suite came from (a file path, or the default suite)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "source": self.source,
            "policies": list(self.policies),
            "env": self.env,
            "rollout": {key: getattr(self.rollout, key) for key in _ROLLOUT_KEYS},
            "checks": [check.to_dict() for check in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditSuite:
        """The suite a resumed audit saved (``to_dict``); validated again, as a file would be."""
        try:
            checks = tuple(
                CheckSpec(
                    c["kind"],
                    check_kind(c["kind"]).config_class(**c["config"]),
                    Criterion(**c["pass"]) if c["pass"] else None,
                    c["name"],
                )
                for c in data["checks"]
            )
            return cls(
                tuple(data["policies"]),
                checks,
                RolloutOptions(**data["rollout"], progress=True),
                data["env"],
                data["title"],
                data["source"],
            )
        except (KeyError, TypeError) as exc:
            raise InvalidValueError(f"not a saved audit suite ({type(exc).__name__}: {exc})") from None

    def fingerprint(self) -> str:
        """What a resumed audit must match: the suite, as it was resolved."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _type_name(kind: type) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(kind, kind.__name__)


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """``value`` if it has the field's type (an integer is a number too), else an error naming both."""
    kind, optional = field_type(annotation)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        raise InvalidValueError(f"{name} must be {_type_name(kind)}, got {value!r}")
    return value


def _config(kind: CheckKind, fields: dict[str, Any], refuse) -> Any:
    hints = typing.get_type_hints(kind.config_class)
    valid = [f.name for f in dataclasses.fields(kind.config_class)]
    values = {}
    for key, value in fields.items():
        if key not in valid:
            raise refuse(
                f"unknown key {key!r} for a {kind.name} check; valid keys: {', '.join([*_CHECK_KEYS, *valid])}", key
            )
        try:
            values[key] = _check_type(key, value, hints[key])
        except InvalidValueError as exc:
            raise refuse(str(exc), key) from None
    try:
        return kind.config_class(**values)
    except RlcertError as exc:
        raise refuse(str(exc), *_named_key(str(exc), values)) from None


def _named_key(message: str, keys) -> list[str]:
    """The key an error message names (``--chunk-size`` or ``chunk_size``), so that it points at its line."""
    words = message.replace(",", " ").replace(":", " ").split()
    named = next((k for k in keys if f"--{k.replace('_', '-')}" in words or k in words), None)
    return [] if named is None else [named]


def _criterion(value: Any, refuse) -> Criterion:
    if not isinstance(value, dict):
        raise refuse(f'pass must be a table such as {{ finding = "...", at_least = 150 }}, got {value!r}')
    unknown = sorted(set(value) - set(_PASS_KEYS))
    if unknown:
        raise refuse(f"unknown key {unknown[0]!r} in pass; valid keys: {', '.join(_PASS_KEYS)}", "pass", unknown[0])
    if not isinstance(value.get("finding"), str):
        raise refuse('pass needs finding = "<name of one of the check\'s findings>"', "pass")
    try:
        return Criterion(value["finding"], value.get("at_least"), value.get("at_most"))
    except InvalidValueError as exc:
        raise refuse(str(exc), "pass") from None


def load_audit_suite(path: str | Path) -> AuditSuite:
    """Read and check an audit suite file (see the module docstring); nothing runs here."""
    path = Path(path)
    data, lines = read_toml(path, "audit suite")

    def refuse_at(where: tuple[Any, ...]):
        def refuse(message: str, *key: Any) -> InvalidValueError:
            return InvalidValueError(f"{path}:{lines.line((*where, *key))}: {message}")

        return refuse

    refuse = refuse_at(())
    for key in data:
        if key not in SUITE_KEYS:
            raise refuse(f"unknown key {key!r}; valid keys: {', '.join(SUITE_KEYS)}", key)
    if "policy" in data and "policies" in data:
        raise refuse("give policy or policies, not both", "policies")
    policies = data.get("policies", [data["policy"]] if "policy" in data else [DEFAULT_POLICY])
    if not (isinstance(policies, list) and policies and all(isinstance(p, str) and p for p in policies)):
        raise refuse(f"policies must be a non-empty list of policy references, got {policies!r}", "policies")
    for key, kind in (("title", str), ("env", str)):
        if key in data and not isinstance(data[key], kind):
            raise refuse(f"{key} must be a string, got {data[key]!r}", key)
    rollout_fields = {key: data[key] for key in _ROLLOUT_KEYS if key in data}
    hints = typing.get_type_hints(RolloutOptions)
    try:
        rollout = RolloutOptions(**{k: _check_type(k, v, hints[k]) for k, v in rollout_fields.items()})
    except RlcertError as exc:
        raise refuse(str(exc), *_named_key(str(exc), rollout_fields)) from None
    entries = data.get("check", [])
    if not (isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries)):
        raise refuse("a suite needs at least one [[check]] table", "check")
    checks = []
    for index, entry in enumerate(entries):
        refuse_check = refuse_at(("check", index))
        if not isinstance(entry.get("kind"), str):
            raise refuse_check(f"each [[check]] needs kind = one of: {', '.join(sorted(check_kinds()))}")
        try:
            kind = check_kind(entry["kind"])
        except RlcertError as exc:
            raise refuse_check(str(exc), "kind") from None
        name = entry.get("name", "")
        if not isinstance(name, str):
            raise refuse_check(f"name must be a string, got {name!r}", "name")
        config = _config(kind, {k: v for k, v in entry.items() if k not in _CHECK_KEYS}, refuse_check)
        criterion = _criterion(entry["pass"], refuse_check) if "pass" in entry else None
        checks.append(CheckSpec(kind.name, config, criterion, name))
    return AuditSuite(
        tuple(policies),
        tuple(checks),
        rollout,
        data.get("env"),
        data.get("title", AuditSuite.title),
        str(path),
    )


def default_audit_suite(policies: Sequence[str] | None = None, env: str | None = None) -> AuditSuite:
    """Every registered check with its default-audit config, for ``policies`` (default: the bundled smoothed
    CartPole agent). A check that applies to none of the policies is left out; one that applies to some is
    reported as not applicable for the others."""
    policies = tuple(policies or (DEFAULT_POLICY,))
    checks = []
    for kind in check_kinds().values():
        config = kind.config_class(**kind.default_config)
        checks.append(CheckSpec(kind.name, config))
    return AuditSuite(policies, tuple(checks), RolloutOptions(), env)
