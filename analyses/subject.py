"""What an analysis examines: a policy, the env it runs in, and what the zoo recorded about it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlcert.agents import load_policy, policy_actions, policy_env, zoo_entry
from rlcert.agents.zoo import ZOO_DIR
from rlcert.attacks.base import Policy
from rlcert.envs.factory import EnvSpec, resolve_env_spec
from rlcert.reports.errors import InvalidValueError

__all__ = ["Subject", "resolve_subject"]


@dataclass(frozen=True)
class Subject:
    """A loaded policy with the reference it came from and the env spec it runs in.

    ``meta`` is a zoo agent's meta.json (None for every other policy): the defaults an analysis takes from
    it (the σ the agent was trained with, its env, its Q-value range) are named in each analysis's config.
    """

    reference: str
    """``zoo:NAME``, a file path, or the name of a policy object handed in directly."""
    policy: Policy = field(repr=False, compare=False)
    env: EnvSpec
    meta: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    file_sha256: str | None = None
    """SHA-256 of the weights file the policy was loaded from (None for an object handed in)."""

    @property
    def trained_sigma(self) -> float:
        """The Gaussian noise σ a zoo agent was trained with (0 for every other policy)."""
        return float((self.meta or {}).get("training", {}).get("noise_sigma", 0.0) or 0.0)

    @property
    def value_range(self) -> tuple[float, float] | None:
        """A zoo DQN's recorded Q-value range (None where none is recorded)."""
        recorded = (self.meta or {}).get("value_range")
        return None if recorded is None else (float(recorded[0]), float(recorded[1]))

    def smoothing_sigma(self, sigma: float | None) -> float:
        """``sigma`` if given, else the noise the agent was trained with; refused when neither exists."""
        if sigma is not None:
            return float(sigma)
        if not self.trained_sigma:
            raise InvalidValueError(f"--sigma is required: {self.reference} was not trained with smoothing noise")
        return self.trained_sigma

    def actions(self, requested: str | None) -> str:
        """``requested`` if given, else what a zoo agent's recorded score used (greedy for any other policy)."""
        return policy_actions(self.reference, requested)

    def label(self) -> str:
        return f"{self.reference} on {self.env}"

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.reference, "env": str(self.env), "policy_sha256": self.file_sha256}


def _weights_file(reference: str) -> Path | None:
    if reference.startswith("zoo:"):
        return ZOO_DIR / reference[len("zoo:") :] / "weights.pt"
    path = Path(reference)
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_subject(policy: str | Path | Policy | Subject, env: str | EnvSpec | None = None) -> Subject:
    """Load ``policy`` (a reference: ``zoo:NAME``, an SB3 .zip, a .pt state_dict; or a policy object) and
    resolve its env: ``env`` if given, else a zoo agent's own env (required for anything else). A
    :class:`Subject` is returned as it is (an audit loads each policy once for all its checks)."""
    if isinstance(policy, Subject):
        if env is not None and resolve_env_spec(env) != policy.env:
            raise InvalidValueError(f"env {env!r} differs from the subject's env {str(policy.env)!r}")
        return policy
    if isinstance(policy, (str, Path)):
        reference = str(policy)
        loaded = load_policy(reference)
        env_name = policy_env(reference, None if env is None else str(env))
        meta = zoo_entry(reference[len("zoo:") :]).meta if reference.startswith("zoo:") else None
        weights = _weights_file(reference)
        return Subject(reference, loaded, resolve_env_spec(env_name), meta, _sha256(weights) if weights else None)
    if env is None:
        raise InvalidValueError("env is required for a policy object (only a zoo agent knows its env)")
    reference = str(getattr(policy, "name", None) or type(policy).__name__)
    return Subject(reference, policy, resolve_env_spec(env))
