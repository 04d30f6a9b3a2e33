"""The bundled agent zoo: one folder per agent with ``meta.json`` (architecture, env, training, score)
and ``weights.pt`` (a state_dict). Nothing is downloaded: every agent ships with the package.

Most entries are policies over an env's observations (``kind`` "policy"); a TS-DDR decision rule (``kind``
"tsddr") acts on a hydrothermal case's stages instead and loads with ``rlcert.training.tsddr.load_tsddr``."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlcert.agents.architecture import PolicyLoadError
from rlcert.agents.policies import TorchModulePolicy

__all__ = ["ZOO_DIR", "ZooEntry", "zoo_entries", "zoo_entry", "load_zoo_policy"]

ZOO_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ZooEntry:
    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def env(self) -> str:
        """The env a policy was trained on (a decision rule has none: it acts on a hydrothermal case)."""
        self.require_policy()
        return self.meta["env"]

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.meta.get("evaluation", {})

    @property
    def kind(self) -> str:
        """'policy' (acts on an env's observations) or 'tsddr' (a decision rule over a hydrothermal case)."""
        return self.meta.get("kind", "policy")

    def require_policy(self) -> None:
        """Refuse an entry that is not a policy over an env's observations, saying how to load it instead."""
        if self.kind != "policy":
            raise PolicyLoadError(
                f"zoo:{self.name} is a TS-DDR decision rule for the {self.meta.get('case')} hydrothermal case, not "
                f"a policy over observations: load it with rlcert.training.tsddr.load_tsddr('zoo:{self.name}')"
            )


def zoo_entries(directory: Path = ZOO_DIR) -> list[ZooEntry]:
    """Every agent folder that has a ``meta.json``, sorted by name."""
    entries = []
    for meta_path in sorted(directory.glob("*/meta.json")):
        entries.append(ZooEntry(meta_path.parent.name, meta_path.parent, json.loads(meta_path.read_text())))
    return entries


def zoo_entry(name: str, directory: Path = ZOO_DIR) -> ZooEntry:
    entries = {e.name: e for e in zoo_entries(directory)}
    if name not in entries:
        close = difflib.get_close_matches(name, list(entries), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; available: {', '.join(entries) or 'none'}"
        raise PolicyLoadError(f"no zoo agent named {name!r}{hint}")
    return entries[name]


def load_zoo_policy(name: str, directory: Path = ZOO_DIR) -> TorchModulePolicy:
    entry = zoo_entry(name, directory)
    entry.require_policy()
    return TorchModulePolicy.from_architecture(entry.meta["architecture"], entry.path / "weights.pt", name=name)
