"""rlcert: certify and stress-test trained reinforcement-learning policies (version and the CLI live here)."""

from __future__ import annotations

from rlcert.reports.versions import RLCERT_VERSION as __version__
from rlcert.reports.versions import versions

__all__ = ["__version__", "versions"]
