"""The check registry: every analysis the audit can run, and how a check's verdict is reached.

A check kind names a library analysis (its config dataclass and the call that runs it), says when it applies
to a policy, which finding heads the summary, and how to read the figure in plain language. An analysis
joins the audit by registering one :class:`CheckKind` (``rlcert.audit.builtin_checks`` registers the
built-in ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlcert.analyses.subject import Subject
from rlcert.envs.options import RolloutOptions
from rlcert.reports.errors import InvalidValueError, UnknownNameError
from rlcert.reports.findings import Evidence, Finding

__all__ = ["VERDICTS", "CheckKind", "Criterion", "register_check", "check_kind", "check_kinds", "Verdict"]

VERDICTS = ("pass", "fail", "inconclusive", "info")
"""pass / fail: the criterion is met / not met by the evidence; inconclusive: the evidence cannot tell (an
empirical interval straddles the threshold, too few episodes); info: no criterion, the figure is reported."""


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Criterion:
    """A pass criterion on one finding of a check: its value must be at least ``at_least`` and/or at most
    ``at_most``. A sound or statistical finding is a bound and is compared as it is; an empirical finding with
    an interval passes only when the whole interval meets the criterion, fails when none of it does, and is
    inconclusive otherwise."""

    finding: str
    at_least: float | None = None
    at_most: float | None = None

    def __post_init__(self) -> None:
        if self.at_least is None and self.at_most is None:
            raise InvalidValueError(f"a pass criterion on {self.finding!r} needs at_least or at_most")
        for name in ("at_least", "at_most"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise InvalidValueError(f"{name} must be a number, got {value!r}")
            if value is not None and not math.isfinite(value):
                raise InvalidValueError(f"{name} must be finite, got {value!r}")

    def describe(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f"{self.finding} ≥ {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"{self.finding} ≤ {self.at_most:g}")
        return " and ".join(parts)

    def _meets(self, value: float) -> bool:
        return (self.at_least is None or value >= self.at_least) and (self.at_most is None or value <= self.at_most)

    def judge(self, findings: Sequence[Finding]) -> Verdict:
        by_name = {f.name: f for f in findings}
        if self.finding not in by_name:
            raise InvalidValueError(
                f"the pass criterion names {self.finding!r}, which this check does not report; it reports: "
                f"{', '.join(by_name)}"
            )
        finding = by_name[self.finding]
        evidence = finding.evidence
        if evidence in (Evidence.SOUND, Evidence.STATISTICAL):
            held = "certain" if evidence is Evidence.SOUND else f"at confidence {finding.confidence:.0%}"
            kind = "sound" if evidence is Evidence.SOUND else "statistical"
            if self._meets(finding.value):
                return Verdict("pass", f"{kind} bound {finding.value:.4g} meets {self.describe()} ({held})")
            return Verdict("fail", f"{kind} bound {finding.value:.4g} does not certify {self.describe()}")
        if finding.interval is None:
            met = self._meets(finding.value)
            how = "meets" if met else "misses"
            return Verdict(
                "pass" if met else "fail", f"observed {finding.value:.4g} {how} {self.describe()} (empirical)"
            )
        low, high = finding.interval
        level = f"{finding.confidence:.0%} interval" if finding.confidence else "interval"
        if self._meets(low) and self._meets(high):
            return Verdict("pass", f"empirical {level} [{low:.4g}, {high:.4g}] meets {self.describe()}")
        below = self.at_least is not None and high < self.at_least
        above = self.at_most is not None and low > self.at_most
        if below or above:
            return Verdict("fail", f"empirical {level} [{low:.4g}, {high:.4g}] misses {self.describe()}")
        return Verdict("inconclusive", f"empirical {level} [{low:.4g}, {high:.4g}] straddles {self.describe()}")


@dataclass(frozen=True)
class CheckKind:
    """One analysis as an audit check."""

    name: str
    """The name a suite uses (``kind = "reward_certificate"``)."""
    title: str
    """What the check shows, as a report section heading."""
    config_class: type
    """The analysis's config dataclass; a suite's check table sets its fields."""
    run: Callable[[Subject, Any, RolloutOptions], Any]
    """Run the analysis on a resolved subject; returns its immutable result."""
    applies: Callable[[Subject, Any], str | None]
    """None when the check, with its config, applies to the subject; else the reason it does not."""
    headline: Callable[[Any], Finding]
    """The finding that heads the summary table."""
    reading: Callable[[Any], str]
    """What the figure does and does not guarantee, in plain language."""
    checkpoints: bool = True
    """Whether the analysis's episodes can be checkpointed (not when they keep per-step records)."""
    own_verdict: Callable[[Any], Verdict] | None = None
    """A verdict the analysis reaches itself (a stress test against its tolerance), used without a criterion."""
    default_config: Mapping[str, Any] = field(default_factory=dict)
    """Config fields the default audit sets (sized so that ``rlcert audit`` runs in minutes on two cores)."""


_REGISTRY: dict[str, CheckKind] = {}


def register_check(kind: CheckKind) -> CheckKind:
    """Add ``kind`` to the checks an audit suite may name."""
    if kind.name in _REGISTRY and _REGISTRY[kind.name] != kind:
        raise ValueError(f"a check named {kind.name!r} is already registered")
    _REGISTRY[kind.name] = kind
    return kind


def check_kinds() -> dict[str, CheckKind]:
    import rlcert.audit.builtin_checks  # noqa: F401 - registers the built-in checks

    return dict(_REGISTRY)


def check_kind(name: str) -> CheckKind:
    kinds = check_kinds()
    if name not in kinds:
        raise UnknownNameError(f"unknown check kind {name!r}; valid kinds: {', '.join(sorted(kinds))}")
    return kinds[name]
