"""rlcert: certify and stress-test trained reinforcement-learning policies (version and the CLI live here)."""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__", "versions"]

try:
    __version__ = metadata.version("rlcert")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"


def versions() -> dict[str, str]:
    """Versions of rlcert and the libraries whose behaviour a result depends on (stored with findings)."""
    import platform

    found = {"rlcert": __version__, "python": platform.python_version()}
    for package in ("numpy", "scipy", "torch", "gymnasium", "ale-py"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return found
