"""The versions a result depends on, stamped on every finding by the library itself.

A finding made through the Python API must say which software produced it as surely as one made by the
command line, so :class:`rlcert.reports.findings.Finding` takes :func:`versions` as its default. This module
sits at the bottom of the library: it imports nothing from rlcert.
"""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata

__all__ = ["RLCERT_VERSION", "versions"]

try:
    RLCERT_VERSION = metadata.version("rlcert")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    RLCERT_VERSION = "0.0.0+source"

# The libraries whose behaviour a certificate or a rollout depends on.
_PACKAGES = ("numpy", "scipy", "torch", "gymnasium", "ale-py")


@cache
def versions() -> dict[str, str]:
    """Versions of rlcert, Python and the libraries a result depends on (a fresh copy per call is not needed:
    findings copy it into their own immutable mapping)."""
    found = {"rlcert": RLCERT_VERSION, "python": platform.python_version()}
    for package in _PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found
