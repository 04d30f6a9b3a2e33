"""The rlcert error family: what a user did wrong, as opposed to a bug in rlcert.

Every error a user can cause by what they pass in (a value outside its valid range, a file that is not
what it claims, a name that does not exist) is an :class:`RlcertError`. The command line catches this
family only and prints its message as one line (exit code 2); anything else is a bug and keeps its
traceback. The subclasses also derive from the matching built-in exception, so ``except ValueError``
in a user's own code keeps working.

This module sits at the bottom of the library: it imports nothing from rlcert.
"""

from __future__ import annotations

__all__ = [
    "RlcertError",
    "InvalidValueError",
    "UnknownNameError",
    "UnsupportedInputError",
    "OperationError",
    "RlcertWarning",
]


class RlcertError(Exception):
    """Base of every user-caused error; its message names the bad value and what is valid."""


class InvalidValueError(RlcertError, ValueError):
    """A value outside what is valid (a negative episode count, a malformed budget list, ...)."""


class UnknownNameError(RlcertError, KeyError):
    """A name that does not exist (a zoo agent, a recipe, a probe, a budget without a certificate)."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class UnsupportedInputError(RlcertError, TypeError):
    """An input of a kind an analysis cannot handle (a layer bound propagation does not support, a probe
    that needs a discrete action space, ...)."""


class OperationError(RlcertError, RuntimeError):
    """An operation that cannot proceed as asked (a missing optional dependency, a run that cannot
    resume); the message says what to do."""


class RlcertWarning(UserWarning):
    """Something a user must hear about that did not stop the run (a damaged checkpoint chunk that was
    recomputed, a cache entry that failed its check); the CLI prints it as one ``rlcert: warning:`` line."""
