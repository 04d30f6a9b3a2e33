"""Checks of option values shared by the library's configs and the command line: each refuses a bad value
with one line naming the option, the value and what is valid (an :class:`InvalidValueError`)."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

from rlcert.reports.errors import InvalidValueError

__all__ = [
    "check_count",
    "check_finite",
    "check_fraction",
    "check_probability_open",
    "check_output_path",
    "check_output_dir",
    "parse_radii",
    "parse_range",
]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an integer >= ``minimum``, or an error naming the option, the value and the valid range."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidValueError(f"{_flag(name)} must be an integer >= {minimum}, got {value!r}")
    return value


def check_finite(name: str, value: Any, low: float | None = None, *, strict: bool = False) -> float:
    """``value`` as a finite number (>= ``low``, or > ``low`` when ``strict``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if not ok:
        bound = "" if low is None else f" {'>' if strict else '>='} {low:g}"
        raise InvalidValueError(f"{_flag(name)} must be a finite number{bound}, got {value!r}")
    return float(value)


def check_fraction(name: str, value: Any) -> float:
    """``value`` in [0, 1] (a share of something)."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1):
        raise InvalidValueError(f"{_flag(name)} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_probability_open(name: str, value: Any) -> float:
    """``value`` strictly between 0 and 1 (a confidence level or its complement α)."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1):
        raise InvalidValueError(f"{_flag(name)} must lie strictly between 0 and 1, got {value!r}")
    return float(value)


def check_output_path(name: str, path: str | os.PathLike) -> Path:
    """Refuse an output file that could not be written, before any computation: the report must not be lost
    at the end of a long run. Nothing is created here (a refused command writes nothing)."""
    path = Path(path)
    if str(path) in ("", ".") or path.is_dir():
        raise InvalidValueError(f"{_flag(name)} must name a file, got {str(path)!r} (a directory)")
    ancestor = _existing_ancestor(name, path, path.absolute().parent)

    def write() -> None:
        if path.exists():
            with open(path, "ab"):
                pass
        elif ancestor == path.absolute().parent:
            tempfile.TemporaryFile(dir=ancestor).close()
        else:
            os.rmdir(tempfile.mkdtemp(dir=ancestor))

    _trial_write(name, path, ancestor, write)
    return path


def check_output_dir(name: str, path: str | os.PathLike) -> Path:
    """Refuse an output directory that could not be created or written, before any computation (nothing is
    created here)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InvalidValueError(f"{_flag(name)} must name a directory, got {str(path)!r} (a file)")
    ancestor = _existing_ancestor(name, path, path.absolute())
    _trial_write(name, path, ancestor, lambda: os.rmdir(tempfile.mkdtemp(dir=ancestor)))
    return path


def _existing_ancestor(name: str, path: Path, start: Path) -> Path:
    """The nearest folder at or above ``start`` that exists; an error when it is not a directory."""
    ancestor = start
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidValueError(f"{_flag(name)} {str(path)!r} cannot be written: {str(ancestor)!r} is not a directory")
    return ancestor


def _trial_write(name: str, path: Path, ancestor: Path, write) -> None:
    """Run ``write`` (creates and removes something): a trial write, not os.access, since root passes every
    access check, even on a read-only mount."""
    try:
        write()
    except OSError as exc:
        raise InvalidValueError(
            f"{_flag(name)} {str(path)!r} cannot be written: {exc.strerror or exc} in {str(ancestor)!r}"
        ) from None


def parse_radii(text: str, name: str) -> list[float]:
    """A comma list of perturbation sizes, each finite and > 0 (a radius of 0 or less certifies nothing)."""
    flag = _flag(name)
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise InvalidValueError(f"{flag} must be a comma list of numbers > 0, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise InvalidValueError(f"{flag} values must be finite and > 0, got {item.strip()!r} in {text!r}")
        values.append(value)
    return values


def parse_range(text: str, name: str = "range") -> tuple[float, float]:
    """``a:b`` as finite numbers a < b (the range every return, or every score, lies in)."""
    message = f"--{name.replace('_', '-')} must look like a:b with finite a < b (e.g. 0:200), got {text!r}"
    try:
        low, high = (float(x) for x in text.split(":"))
    except ValueError:
        raise InvalidValueError(message) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidValueError(message)
    return low, high
