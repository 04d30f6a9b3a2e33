"""Command-line options generated from configuration dataclasses (field docstrings become help text).

The configs themselves, their checks and the shared rollout options live in the library
(``rlcert.reports.validation``, ``rlcert.envs.options``): this module only turns them into arguments."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any, TypeVar

from rlcert.reports.config_docs import field_docs, field_type

__all__ = ["OneLineErrorParser", "argparse_help", "add_dataclass_arguments", "dataclass_from_args", "narrow"]

T = TypeVar("T")


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
        kind, optional = field_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = argparse_help(docs.get(f.name, ""))
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and not optional:
            parser.add_argument(f.name, type=kind, help=help_text)  # a required field is positional
            continue
        if f.metadata.get("positional"):  # an optional positional argument, e.g. `rlcert audit [SUITE]`
            parser.add_argument(f.name, type=kind, nargs="?", default=default, help=help_text, metavar=f.name.upper())
            continue
        help_text += " (default: %(default)s)" if default is not None else ""
        parser.add_argument(flag, type=kind, default=default, help=help_text, metavar=f.name.upper())


def dataclass_from_args(cls: type[T], args: argparse.Namespace) -> T:
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


def narrow(cls: type[T], config: Any) -> T:
    """The ``cls`` part of a command's config (which adds the policy, env and output path to the library's
    config and rollout options): what the library call takes, and all that its report records."""
    return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})
