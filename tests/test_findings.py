import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlcert.reports.findings import AuditReport, Evidence, Finding, to_jsonable

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | finite | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@st.composite
def findings(draw):
    evidence = draw(st.sampled_from(list(Evidence)))
    confidence = None
    if evidence is Evidence.STATISTICAL or (evidence is Evidence.EMPIRICAL and draw(st.booleans())):
        confidence = draw(st.floats(0.001, 0.999))
    interval = None
    if draw(st.booleans()):
        a, b = sorted([draw(finite), draw(finite)])
        interval = (a, b)
    return Finding(
        name=draw(st.text(min_size=1, max_size=12)),
        value=draw(finite),
        evidence=evidence,
        confidence=confidence,
        interval=interval,
        method=draw(st.text(max_size=10)),
        params=draw(st.dictionaries(st.text(max_size=6), json_values, max_size=4)),
        seed=draw(st.none() | st.integers(0, 2**32)),
        versions={"rlcert": "0.1.0"},
    )


@given(st.lists(findings(), max_size=4))
def test_reports_round_trip_through_json(items):
    report = AuditReport("audit", items, subject={"policy": "zoo:x"}, extra={"curve": [1.0, 2.0]})
    text = report.to_json()
    json.loads(text)  # standard JSON, no NaN
    assert AuditReport.from_json(text) == report


def test_statistical_needs_confidence_and_sound_takes_none():
    with pytest.raises(ValueError, match="needs the confidence"):
        Finding("bound", 1.0, "statistical")
    with pytest.raises(ValueError, match="takes no confidence"):
        Finding("bound", 1.0, "sound", confidence=0.95)
    with pytest.raises(ValueError, match=r"confidence must lie in \(0, 1\)"):
        Finding("bound", 1.0, "statistical", confidence=1.0)


def test_evidence_and_values_are_validated():
    with pytest.raises(ValueError, match="evidence must be one of sound, statistical, empirical"):
        Finding("x", 1.0, "guess")
    with pytest.raises(ValueError, match="finite"):
        Finding("x", float("nan"), "empirical")
    with pytest.raises(ValueError, match="low <= high"):
        Finding("x", 1.0, "empirical", interval=(2.0, 1.0))
    with pytest.raises(ValueError, match="unknown finding fields"):
        Finding.from_dict({"name": "x", "value": 1.0, "evidence": "sound", "bogus": 1})
    with pytest.raises(ValueError, match="not an rlcert report"):
        AuditReport.from_dict({"format": "other"})


def test_numpy_parameters_become_plain_json(tmp_path):
    f = Finding("x", np.float32(1.5), "empirical", params={"arr": np.arange(3), "n": np.int64(4), "ok": np.bool_(True)})
    assert f.params == {"arr": [0, 1, 2], "n": 4, "ok": True} and isinstance(f.value, float)
    assert to_jsonable((np.float64(2.0), None)) == [2.0, None]
    path = AuditReport("a", [f]).save(tmp_path / "sub" / "r.json")
    assert AuditReport.from_json(path.read_text()).findings[0] == f


def test_findings_made_through_the_library_carry_software_versions():
    finding = Finding("mean_return", 1.0, "empirical")
    assert finding.versions["rlcert"] and finding.versions["numpy"] == np.__version__
    assert {"python", "torch", "gymnasium"} <= set(finding.versions)
    assert Finding.from_dict(finding.to_dict()) == finding
