"""Long-term hydrothermal dispatch: cases (PowerModels + hydro JSON), DC stage problems and their solvers."""

from rlcert.envs.hydro.case import BUNDLED_CASES, HydroCase, HydroPlant, bundled_case, load_case

__all__ = ["HydroCase", "HydroPlant", "load_case", "bundled_case", "BUNDLED_CASES"]
