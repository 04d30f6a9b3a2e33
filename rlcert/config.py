"""Command-line options generated from configuration dataclasses (field docstrings become help text)."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import math
import os
import tempfile
import textwrap
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from rlcert.reports.errors import InvalidValueError

__all__ = [
    "RolloutOptions",
    "ActionOption",
    "field_docs",
    "add_dataclass_arguments",
    "dataclass_from_args",
    "check_count",
    "check_finite",
    "check_probability_open",
    "check_output_path",
    "OneLineErrorParser",
    "parse_radii",
]

T = TypeVar("T")


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
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidValueError(f"{_flag(name)} {str(path)!r} cannot be written: {str(ancestor)!r} is not a directory")
    try:  # a trial write, not os.access: root passes every access check, even on a read-only mount
        if path.exists():
            with open(path, "ab"):
                pass
        elif ancestor == path.absolute().parent:
            tempfile.TemporaryFile(dir=ancestor).close()
        else:
            os.rmdir(tempfile.mkdtemp(dir=ancestor))
    except OSError as exc:
        raise InvalidValueError(
            f"{_flag(name)} {str(path)!r} cannot be written: {exc.strerror or exc} in {str(ancestor)!r}"
        ) from None
    return path


@dataclasses.dataclass(frozen=True)
class RolloutOptions:
    """How episodes are run; shared by every command that runs episodes."""

    seed: int = 0
    """Seed of the run; with chunk-size it fixes every random draw, whatever the number of workers."""
    workers: int = 1
    """Worker processes (1 = in this process)."""
    chunk_size: int = 250
    """Episodes per chunk, run in lockstep with one batched policy call per step."""
    checkpoint_dir: str | None = None
    """Save finished chunks here and resume from the ones already there."""
    progress: bool = True
    """Show progress bars."""
    probe: str | None = None
    """Run every episode under these probes, e.g. RandomActionExecution:p=0.1,per=frame+ConceptDrift:after=200
    (see `rlcert stress`); certificates then hold for the probed env."""

    def __post_init__(self) -> None:
        check_count("seed", self.seed, 0)
        check_count("workers", self.workers)
        check_count("chunk_size", self.chunk_size)
        self.probe_stack()  # a malformed probe is refused before any episode runs

    def probe_stack(self):
        """The parsed ``probe`` option (None when absent)."""
        if self.probe is None:
            return None
        from rlcert.envs.probe_suites import parse_probe_stack

        return parse_probe_stack(self.probe)


@dataclasses.dataclass(frozen=True)
class ActionOption:
    """How a policy picks its actions; for commands that measure returns (certificates always use the greedy
    action)."""

    actions: str | None = None
    """greedy (the argmax action) or sampled (drawn from a PPO/A2C policy's own action distribution with a
    seeded generator); default: what the zoo agent's recorded score used, else greedy."""

    def __post_init__(self) -> None:
        if self.actions not in (None, "greedy", "sampled"):
            raise InvalidValueError(f"--actions must be greedy or sampled, got {self.actions!r}")
        super_init = getattr(super(), "__post_init__", None)
        if super_init is not None:
            super_init()


@cache
def field_docs(cls: type) -> dict[str, str]:
    """The string literal under each field of a dataclass (its attribute docstring), by field name,
    including the fields it inherits."""
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__[1:]):
        if dataclasses.is_dataclass(base):
            docs.update(field_docs(base))
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return docs
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    for node, following in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(type, optional) for ``X`` and ``X | None``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def parse_radii(text: str, name: str) -> list[float]:
    """A comma list of perturbation sizes, each finite and > 0 (a radius of 0 or less certifies nothing)."""
    flag = "--" + name.replace("_", "-")
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


class OneLineErrorParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit code 2), like every other user error of
    the command line; ``--help`` still shows the usage. Subcommand parsers inherit the class."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"rlcert: error: {self.prog}: {' '.join(message.split())}\n")


def argparse_help(doc: str) -> str:
    """Text as argparse help: one paragraph, "%" escaped (argparse %-formats help; "5 %" crashed --help)."""
    return " ".join(doc.split()).replace("%", "%%")


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One ``--option`` per field of ``cls`` (a positional argument for fields without default), typed,
    with the field's docstring and default as help."""
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind, optional = _base_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = argparse_help(docs.get(f.name, ""))
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and not optional:
            parser.add_argument(f.name, type=kind, help=help_text)  # a required field is positional
            continue
        help_text += " (default: %(default)s)" if default is not None else ""
        parser.add_argument(flag, type=kind, default=default, help=help_text, metavar=f.name.upper())


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
