"""Long-term hydrothermal dispatch cases: a PowerModels network, its hydro plants and their inflow scenarios.

The format is the one of HydroPowerModels.jl and of the Bolivia example of DecisionRules.jl (Rosemberg et al.
2024, "Two-Stage Deep Decision Rules", arXiv 2405.14973, §5): a folder holding ``PowerModels.json`` (buses,
branches, generators, loads, ``cost_deficit``, ``baseMVA``), ``hydro.json`` (``Hydrogenerators``: volume and
turbine limits, production factor, cascade links, the generator each plant drives) and ``inflows.csv``
(stage rows × plant-major columns, plant × scenarios + ω).

How this loader reads the data — the choices of the authors' DC stage model (checked against the stage model
they exported, ``DCPPowerModel.mof.json``; REFERENCE §7):

* the water balance converts flows with K = 0.0036 per stage (``stage_hours`` is not read), spills and
  volumes are in volume units: v_out = v_in + K (w − q + Σ upstream q) − s + Σ upstream s;
* load = 0.6 × each load's nominal ``pd`` (``_demand.csv`` is not read);
* costs are linear, in $/pu·h per stage, not multiplied by hours; hydro generators carry their own cost
  (10 in Bolivia's data); deficit costs ``cost_deficit`` × ``baseMVA`` per pu at every bus (6,000 for Bolivia);
* the DC power flow uses the series susceptance x / (r² + x²) (divided by the tap ratio); phase shifters are
  refused; the reference bus angle is 0;
* reservoirs start empty (``initial_volume`` in Bolivia's file is uninitialised, ~1e-316) and the final
  volume is free;
* inflow rows repeat cyclically: stage t uses row t mod (rows in the file).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from rlcert.reports.errors import InvalidValueError, UnknownNameError

__all__ = ["HydroPlant", "HydroCase", "load_case", "bundled_case", "BUNDLED_CASES", "WATER_BALANCE_K", "LOAD_SCALE"]

WATER_BALANCE_K = 0.0036
LOAD_SCALE = 0.6
BUNDLED_CASES = ("bolivia", "tiny")
_PLANT_KEYS = {"name", "index", "index_grid", "min_volume", "max_volume", "min_turn", "max_turn",
               "production_factor", "downstream_turn", "downstream_spill", "initial_volume", "final_volume",
               "spill_cost", "minimal_outflow_violation_cost", "minimal_volume_violation_cost"}  # fmt: skip


@dataclass(frozen=True)
class HydroPlant:
    """One reservoir with its turbines; ``generator`` is the position of the generator it drives."""

    name: str
    generator: int
    min_volume: float
    max_volume: float
    min_turn: float
    max_turn: float
    production_factor: float
    """MW per unit of turbined flow (pu of generation = production_factor × q / baseMVA)."""
    downstream_turn: tuple[int, ...]
    """Positions of the plants this plant's turbined water flows into."""
    downstream_spill: tuple[int, ...]
    """Positions of the plants its spilled water flows into."""


@dataclass(frozen=True, eq=False)
class HydroCase:
    """A hydrothermal system in per unit, ready to build stage problems from (arrays are read-only)."""

    name: str
    base_mva: float
    bus_load: np.ndarray
    """Demand at each bus (pu), load scale applied."""
    reference_bus: int
    branch_from: np.ndarray
    branch_to: np.ndarray
    branch_susceptance: np.ndarray
    branch_limit: np.ndarray
    gen_bus: np.ndarray
    gen_min: np.ndarray
    gen_max: np.ndarray
    gen_cost: np.ndarray
    """Linear cost of each generator, $ per pu per stage."""
    deficit_cost: float
    """$ per pu of unserved load per stage, at any bus."""
    plants: tuple[HydroPlant, ...]
    inflows: np.ndarray
    """(rows, plants, scenarios): the inflow of each plant in each joint scenario; stage t uses row t mod rows."""
    water_balance_k: float = WATER_BALANCE_K

    def __post_init__(self) -> None:
        for name in ("bus_load", "branch_from", "branch_to", "branch_susceptance", "branch_limit", "gen_bus",
                     "gen_min", "gen_max", "gen_cost", "inflows"):  # fmt: skip
            array = np.array(getattr(self, name))
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    @property
    def buses(self) -> int:
        return len(self.bus_load)

    @property
    def scenarios(self) -> int:
        return self.inflows.shape[2]

    def stage_inflows(self, stage: int) -> np.ndarray:
        """(plants, scenarios) inflows of ``stage`` (0-based; rows repeat cyclically)."""
        return self.inflows[stage % self.inflows.shape[0]]

    @property
    def initial_volume(self) -> np.ndarray:
        """Reservoirs start empty (see the module docstring)."""
        return np.zeros(len(self.plants))

    def summary(self) -> str:
        return (
            f"{self.name}: {self.buses} buses, {len(self.branch_from)} branches, {len(self.gen_bus)} generators "
            f"({len(self.plants)} hydro), {self.inflows.shape[2]} inflow scenarios × {self.inflows.shape[0]} stages"
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidValueError(f"{path} does not exist: a case folder holds PowerModels.json, hydro.json and "
                                "inflows.csv") from None  # fmt: skip
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidValueError(f"{path} is not valid JSON ({exc})") from None


def _by_index(table: dict[str, Any], what: str) -> list[dict[str, Any]]:
    entries = sorted(table.values(), key=lambda entry: entry["index"])
    if [entry["index"] for entry in entries] != list(range(1, len(entries) + 1)):
        raise InvalidValueError(f"{what} indices must run 1..{len(entries)}")
    return entries


def _plants(hydro: dict[str, Any], gen_position: dict[int, int], path: Path) -> tuple[HydroPlant, ...]:
    entries = hydro.get("Hydrogenerators")
    if not isinstance(entries, list) or not entries:
        raise InvalidValueError(f"{path} needs a non-empty Hydrogenerators list")
    position = {entry["index"]: i for i, entry in enumerate(entries)}
    plants = []
    for entry in entries:
        unknown = sorted(set(entry) - _PLANT_KEYS)
        if unknown:
            raise InvalidValueError(f"{path}: plant {entry.get('name')!r} has the unknown key {unknown[0]!r}; "
                                    f"valid keys: {', '.join(sorted(_PLANT_KEYS))}")  # fmt: skip
        try:
            links = {key: tuple(position[i] for i in entry[key]) for key in ("downstream_turn", "downstream_spill")}
            generator = gen_position[entry["index_grid"]]
        except KeyError as exc:
            raise InvalidValueError(f"{path}: plant {entry['name'].strip()!r} refers to {exc}, which is no plant "
                                    "or generator") from None  # fmt: skip
        plant = HydroPlant(
            entry["name"].strip(), generator, float(entry["min_volume"]), float(entry["max_volume"]),
            float(entry["min_turn"]), float(entry["max_turn"]), float(entry["production_factor"]),
            links["downstream_turn"], links["downstream_spill"],
        )  # fmt: skip
        if not (0 <= plant.min_volume <= plant.max_volume and 0 <= plant.min_turn <= plant.max_turn):
            raise InvalidValueError(f"{path}: plant {plant.name!r} has empty volume or turbine limits")
        plants.append(plant)
    return tuple(plants)


def _inflows(path: Path, plants: int) -> np.ndarray:
    try:
        with open(path, newline="") as stream:
            rows = [[float(value) for value in row] for row in csv.reader(stream) if row]
    except FileNotFoundError:
        raise InvalidValueError(f"{path} does not exist") from None
    except ValueError as exc:
        raise InvalidValueError(f"{path} holds a value that is not a number ({exc})") from None
    table = np.asarray(rows, dtype=float)
    if table.ndim != 2 or table.shape[1] % plants:
        raise InvalidValueError(f"{path}: {table.shape} columns are not plants × scenarios for {plants} plants")
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise InvalidValueError(f"{path}: inflows must be finite and >= 0")
    scenarios = table.shape[1] // plants
    return table.reshape(table.shape[0], plants, scenarios)  # plant-major columns: plant × scenarios + ω


def load_case(folder: str | Path, load_scale: float = LOAD_SCALE, k: float = WATER_BALANCE_K) -> HydroCase:
    """The case in ``folder`` (see the module docstring for how each file is read)."""
    folder = Path(folder)
    network = _read_json(folder / "PowerModels.json")
    base_mva = float(network["baseMVA"])
    buses = _by_index(network["bus"], "bus")
    references = [b["index"] for b in buses if b["bus_type"] == 3]
    if len(references) != 1:
        raise InvalidValueError(f"{folder}: one reference bus (bus_type 3) is needed, found {len(references)}")
    branches = [b for b in _by_index(network["branch"], "branch") if b.get("br_status", 1) == 1]
    if any(b.get("shift", 0) for b in branches):
        raise InvalidValueError(f"{folder}: phase-shifting branches are not supported by the DC stage model")
    generators = [g for g in _by_index(network["gen"], "gen") if g.get("gen_status", 1) == 1]
    if any(len(g["cost"]) > 2 and any(g["cost"][:-2]) for g in generators):
        raise InvalidValueError(f"{folder}: only linear generator costs are supported (the stage problem is an LP)")
    load = np.zeros(len(buses))
    for entry in network["load"].values():
        if entry.get("status", 1) == 1:
            load[entry["load_bus"] - 1] += load_scale * entry["pd"]
    r, x = (np.array([b[key] for b in branches], dtype=float) for key in ("br_r", "br_x"))
    tap = np.array([b.get("tap", 1.0) or 1.0 for b in branches], dtype=float)
    plants = _plants(_read_json(folder / "hydro.json"), {g["index"]: i for i, g in enumerate(generators)},
                     folder / "hydro.json")  # fmt: skip
    return HydroCase(
        name=network.get("name", folder.name),
        base_mva=base_mva,
        bus_load=load,
        reference_bus=references[0] - 1,
        branch_from=np.array([b["f_bus"] - 1 for b in branches]),
        branch_to=np.array([b["t_bus"] - 1 for b in branches]),
        branch_susceptance=x / (r * r + x * x) / tap,
        branch_limit=np.array([b["rate_a"] for b in branches], dtype=float),
        gen_bus=np.array([g["gen_bus"] - 1 for g in generators]),
        gen_min=np.array([g["pmin"] for g in generators], dtype=float),
        gen_max=np.array([g["pmax"] for g in generators], dtype=float),
        gen_cost=np.array([g["cost"][-2] if len(g["cost"]) >= 2 else 0.0 for g in generators], dtype=float),
        deficit_cost=float(network["cost_deficit"]) * base_mva,
        plants=plants,
        inflows=_inflows(folder / "inflows.csv", len(plants)),
        water_balance_k=k,
    )


def bundled_case(name: str) -> HydroCase:
    """A case shipped with rlcert: ``bolivia`` (28 buses, 11 reservoirs, 15 scenarios × 48 weeks; MIT, from
    DecisionRules.jl) or ``tiny`` (a synthetic 3-bus, 2-reservoir cascade for tests)."""
    if name not in BUNDLED_CASES:
        raise UnknownNameError(f"unknown case {name!r}; bundled cases: {', '.join(BUNDLED_CASES)}")
    return load_case(Path(str(resources.files("rlcert.envs.hydro") / "cases" / name)))
