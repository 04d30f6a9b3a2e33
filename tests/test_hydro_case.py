import json
from pathlib import Path

import numpy as np
import pytest

from rlcert.envs.hydro import bundled_case, load_case
from rlcert.reports.errors import InvalidValueError, UnknownNameError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "bolivia-lthd"


def test_the_bolivia_case_reads_as_the_authors_dc_model_reads_it():
    case = bundled_case("bolivia")
    assert (case.buses, len(case.branch_from), len(case.gen_bus), len(case.plants)) == (28, 31, 34, 11)
    assert case.inflows.shape == (48, 11, 15)
    network = json.loads(
        (Path(__file__).resolve().parents[1] / "envs/hydro/cases/bolivia/PowerModels.json").read_text()
    )
    assert case.bus_load.sum() == pytest.approx(0.6 * sum(load["pd"] for load in network["load"].values()))
    assert case.deficit_cost == 6000.0  # cost_deficit 60 × baseMVA 100, the coefficient of the authors' stage model
    assert case.branch_susceptance[4] == pytest.approx(12.48578, abs=1e-5)  # branch 5: x / (r² + x²)
    assert case.gen_cost[case.plants[0].generator] == 10.0  # hydro is not free
    sis, cor = case.plants[0], case.plants[1]
    assert (sis.name, cor.name, cor.downstream_turn, cor.downstream_spill) == ("SIS", "COR", (0,), ())
    assert np.all(case.initial_volume == 0)
    # inflows.csv is plant-major: column plant × 15 + ω; stage t reads row t mod 48.
    assert case.stage_inflows(48 + 3)[1, 2] == case.inflows[3, 1, 2]


def test_the_bundled_case_is_the_shared_data():
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: CI has ../shared beside the checkout")
    shared, bundled = load_case(SHARED), bundled_case("bolivia")
    assert np.array_equal(shared.inflows, bundled.inflows) and np.array_equal(shared.gen_cost, bundled.gen_cost)


def test_the_tiny_case_is_a_cascade_of_two_reservoirs():
    case = bundled_case("tiny")
    assert [p.name for p in case.plants] == ["UP", "DOWN"] and case.plants[0].downstream_turn == (1,)
    assert case.inflows.shape == (12, 2, 4)


def test_bad_cases_are_refused_in_one_line(tmp_path):
    with pytest.raises(UnknownNameError, match="bundled cases: bolivia, tiny"):
        bundled_case("chile")
    with pytest.raises(InvalidValueError, match="PowerModels.json does not exist"):
        load_case(tmp_path)
    folder = Path(__file__).resolve().parents[1] / "envs/hydro/cases/tiny"
    for name in ("PowerModels.json", "inflows.csv"):
        (tmp_path / name).write_text((folder / name).read_text())
    hydro = json.loads((folder / "hydro.json").read_text())
    hydro["Hydrogenerators"][0]["max_volum"] = 3
    (tmp_path / "hydro.json").write_text(json.dumps(hydro))
    with pytest.raises(InvalidValueError, match="unknown key 'max_volum'"):
        load_case(tmp_path)
