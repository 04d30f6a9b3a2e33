"""``load_policy``: one entry point from a policy reference to a ``TorchModulePolicy``.

References:

* ``zoo:NAME`` — a bundled zoo agent (``rlcert zoo list``);
* ``path/to/model.zip`` — a Stable-Baselines3 archive (DQN, PPO, A2C, SAC, TD3);
* ``path/to/weights.pt`` — a torch ``state_dict``, with its architecture JSON given explicitly or
  found beside it as ``weights.json`` or ``architecture.json``, or in the ``meta.json`` beside it (the
  folder ``rlcert zoo train`` writes, like a zoo agent's).

No path through here unpickles code: weights are read with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import json
from pathlib import Path

from rlcert.agents.architecture import PolicyLoadError, read_architecture
from rlcert.agents.policies import TorchModulePolicy
from rlcert.agents.sb3 import load_sb3_zip
from rlcert.agents.zoo import load_zoo_policy, zoo_entry
from rlcert.reports.errors import InvalidValueError

__all__ = ["load_policy", "policy_env"]


def load_policy(reference: str | Path, architecture: str | Path | None = None) -> TorchModulePolicy:
    """Load a policy from a zoo name, an SB3 ``.zip`` or a ``state_dict`` + architecture JSON.

    Raises:
        PolicyLoadError: with a one-line message naming what is missing, corrupt or mismatched.
    """
    text = str(reference)
    if text.startswith("zoo:"):
        return load_zoo_policy(text[len("zoo:") :])
    path = Path(text)
    if path.suffix == ".zip":
        return load_sb3_zip(path)
    if path.suffix in (".pt", ".pth"):
        if not path.is_file():
            raise PolicyLoadError(f"weights file {text!r} does not exist")
        if architecture is None:
            candidates = [path.with_suffix(".json"), path.parent / "architecture.json"]
            architecture = next((c for c in candidates if c.is_file()), None)
        if architecture is not None:
            description = read_architecture(architecture)
        else:
            description = _meta_architecture(path.parent / "meta.json")
            if description is None:
                raise PolicyLoadError(
                    f"no architecture JSON for {text!r}: pass one, or put {path.with_suffix('.json').name}, "
                    "architecture.json or a trained agent's meta.json beside the weights"
                )
        return TorchModulePolicy.from_architecture(description, path, name=path.stem)
    raise PolicyLoadError(
        f"cannot tell what kind of policy {text!r} is: use zoo:NAME, an SB3 .zip, or a .pt state_dict "
        "with an architecture JSON"
    )


def _meta_architecture(meta_path: Path) -> dict | None:
    """The ``architecture`` entry of a trained agent's meta.json (None when there is no such file or entry)."""
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyLoadError(f"{str(meta_path)!r} is not a readable meta.json ({exc})") from None
    architecture = meta.get("architecture") if isinstance(meta, dict) else None
    return architecture if isinstance(architecture, dict) else None


def policy_env(reference: str | Path, env: str | None) -> str:
    """The env to run a policy in: ``env`` if given, else the env a zoo agent was trained on."""
    if env is not None:
        return env
    text = str(reference)
    if not text.startswith("zoo:"):
        raise InvalidValueError("--env is required for a policy that is not from the zoo")
    return zoo_entry(text[len("zoo:") :]).env


def policy_actions(reference: str | Path, actions: str | None) -> str:
    """How to pick actions: ``actions`` if given, else what a zoo agent's recorded score used (greedy for
    every other policy), so ``rlcert evaluate`` on a zoo agent reproduces its recorded score."""
    if actions is not None:
        return actions
    text = str(reference)
    if not text.startswith("zoo:"):
        return "greedy"
    return zoo_entry(text[len("zoo:") :]).evaluation.get("actions", "greedy")
