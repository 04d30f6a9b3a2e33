"""The audit report files of a real (tiny) audit: report.json against the shipped schema, the pages rendered again
from the JSON alone, report.html as headless Chromium shows it, and report.md's links."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from rlcert.audit.document import SCHEMA_PATH, AuditDocument
from rlcert.audit.render import render_html, render_markdown
from rlcert.audit.runner import run_audit
from rlcert.audit.suite import load_audit_suite

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT_COPY = Path("/tmp/rlcert_report_screenshot.png")  # outside pytest's tmp dirs, for a person to look at

# Three checks that apply to the bundled smoothed CartPole agent, sized to run in a few seconds: one without a
# plot (evaluation), one with a pass criterion (reward certificate), one more plot (smoothed actions).
TINY_SUITE = """\
title = "tiny"
policies = ["zoo:cartpole5-ppo-sigma0.2"]
[[check]]
kind = "evaluation"
episodes = 20
[[check]]
kind = "reward_certificate"
episodes = 300
budgets = "0,0.2,0.4"
bound = "dkw"
pass = { finding = "certified_expected_return@B=0.2", at_least = 50 }
[[check]]
kind = "smoothed_actions"
episodes = 1
samples = 200
"""

# Nothing a report page needs from the network, and nothing Chromium would fetch on its own account.
CHROMIUM_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,2400",
)


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory) -> Path:
    """The directory of a tiny audit, run through the library as `rlcert audit` runs it."""
    root = tmp_path_factory.mktemp("audit")
    suite_path = root / "tiny.toml"
    suite_path.write_text(TINY_SUITE)
    out_dir = root / "out"
    run_audit(
        load_audit_suite(suite_path), out_dir, command=f"rlcert audit {suite_path} --out {out_dir}", progress=False
    )
    return out_dir


@pytest.fixture(scope="module")
def report_data(audit_dir) -> dict:
    return json.loads((audit_dir / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)  # the schema itself is a valid Draft 2020-12 schema
    return jsonschema.Draft202012Validator(schema)


def test_report_json_validates_against_the_shipped_schema(schema_validator, report_data):
    assert schema_validator.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in schema_validator.iter_errors(report_data)]
    assert errors == []
    assert [check["kind"] for check in report_data["checks"]] == [
        "evaluation",
        "reward_certificate",
        "smoothed_actions",
    ]


def _with_unknown_top_level_key(report: dict) -> None:
    report["comment"] = "not part of rlcert-audit/1"


def _with_unknown_check_key(report: dict) -> None:
    report["checks"][0]["notes"] = "not part of a check"


def _with_a_finding_without_evidence(report: dict) -> None:
    del report["checks"][1]["findings"][1]["evidence"]


def _with_a_headline_without_evidence(report: dict) -> None:
    del report["checks"][1]["headline"]["evidence"]


def _with_a_statistical_finding_without_confidence(report: dict) -> None:
    finding = report["checks"][1]["findings"][1]
    assert finding["evidence"] == "statistical"
    finding["confidence"] = None


def _with_an_unknown_evidence_kind(report: dict) -> None:
    report["checks"][1]["findings"][1]["evidence"] = "anecdotal"


@pytest.mark.parametrize(
    "corrupt",
    [
        _with_unknown_top_level_key,
        _with_unknown_check_key,
        _with_a_finding_without_evidence,
        _with_a_headline_without_evidence,
        _with_a_statistical_finding_without_confidence,
        _with_an_unknown_evidence_kind,
    ],
    ids=lambda corrupt: corrupt.__name__.removeprefix("_with_"),
)
def test_the_schema_refuses_a_corrupted_report(schema_validator, report_data, corrupt):
    report = copy.deepcopy(report_data)
    corrupt(report)
    assert not schema_validator.is_valid(report)


def test_pages_render_again_from_report_json_alone(audit_dir):
    """report.json holds everything the pages show: read back, it renders to the very files on disk."""
    json_text = (audit_dir / "report.json").read_text(encoding="utf-8")
    document = AuditDocument.from_json(json_text)
    assert document.to_json() + "\n" == json_text
    assert render_markdown(document) == (audit_dir / "report.md").read_text(encoding="utf-8")
    assert render_html(document, audit_dir) == (audit_dir / "report.html").read_text(encoding="utf-8")


def test_markdown_names_every_check_and_links_only_existing_plots(audit_dir, report_data):
    markdown = (audit_dir / "report.md").read_text(encoding="utf-8")
    for check in report_data["checks"]:
        assert f"## {check['title']} — `{check['policy']}`" in markdown
        assert f"[{check['title']}](#{check['id']})" in markdown  # the summary row links to the section ...
        assert f'<a id="{check["id"]}"></a>' in markdown  # ... and the section carries that anchor
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert sorted(linked) == sorted(plot for check in report_data["checks"] for plot in check["plots"])
    assert linked, "the tiny audit draws plots: the Markdown must link them"
    missing = [plot for plot in linked if not (audit_dir / plot).is_file()]
    assert missing == []


@contextlib.contextmanager
def _headless_chromium(user_data_dir: Path):
    """Debian's Chromium under its chromedriver, logging every network event (the performance log)."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: the report page is tested in Debian's headless Chromium; "
            "install it with `apt-get install chromium chromium-driver` (.ci/run installs Debian's chromium and "
            "chromium-driver when they are missing)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*CHROMIUM_ARGUMENTS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    # An explicit driver path: Selenium Manager, which would go online to find one, never runs.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _requested_urls(performance_log: list[dict]) -> list[str]:
    messages = (json.loads(entry["message"])["message"] for entry in performance_log)
    return [m["params"]["request"]["url"] for m in messages if m["method"] == "Network.requestWillBeSent"]


def test_report_html_in_headless_chromium(audit_dir, report_data, tmp_path):
    report_url = (audit_dir / "report.html").resolve().as_uri()
    checks = report_data["checks"]
    with _headless_chromium(tmp_path / "chromium-profile") as browser:
        # Chromium opens on its new-tab page, which fetches chrome:// resources of its own: leave it for a blank
        # page first, then drop the log, so that every request logged after is the report's.
        browser.get("about:blank")
        browser.get_log("performance")
        browser.get(report_url)  # returns once the page and its images have loaded
        requested = _requested_urls(browser.get_log("performance"))
        console_errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        summary_rows = browser.execute_script(
            "return Array.from(document.querySelector('table').rows).slice(1)"
            ".map(row => [row.cells[0].textContent, row.cells[0].querySelector('a').getAttribute('href'),"
            " row.cells[2].textContent])"
        )
        sections = browser.execute_script(
            "return Array.from(document.querySelectorAll('section'))"
            ".map(section => [section.id, section.querySelector('h2').textContent])"
        )
        shown = {check["id"]: browser.find_element("id", check["id"]).is_displayed() for check in checks}
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.width])"
        )
        screenshot = tmp_path / "report.png"
        assert browser.save_screenshot(str(screenshot))
    shutil.copyfile(screenshot, SCREENSHOT_COPY)

    assert [tuple(row) for row in summary_rows] == [
        (check["title"], f"#{check['id']}", check["verdict"]) for check in checks
    ]
    assert [tuple(section) for section in sections] == [
        (check["id"], f"{check['title']} — {check['policy']}") for check in checks
    ]
    assert all(shown.values()), shown
    assert len(images) == sum(len(check["plots"]) for check in checks) > 0
    assert all(
        complete and width > 0 and height > 0 and shown_width > 0 for complete, width, height, shown_width in images
    ), images
    assert report_url in requested, "the performance log must have seen the page itself load"
    assert [url for url in requested if url != report_url and not url.startswith("data:")] == []
    assert console_errors == []  # e.g. a Content-Security-Policy violation: the page tried to load something
