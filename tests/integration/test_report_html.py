"""The HTML report in a real headless browser (Debian's Chromium and its driver, through Selenium).

The page is a real audit's report of a simulated fleet that includes hostile hosts (a FileVersion
string that is a spreadsheet formula, HTML and a Markdown row at once): it loads offline with no
console error, its counts match the JSON report, the status filter works, and the hostile value is
text, never markup. ``make e2e`` installs Chromium when it is missing (``make browser``); this test
never skips itself.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.integration.conftest import run_playbook

HOSTILE = '=HYPERLINK("http://evil.example/","x") | <script>window.pwned=1</script><img src=x onerror="window.pwned=2">\n| fake | row |'

FLEET = {
    "hosts": {
        "current": {"drivers": {"viostor.sys": "62.77.104.58017"}},
        "old01": {"drivers": {"viostor.sys": "62.77.104.58011"}},
        "old02": {"drivers": {"viostor.sys": "62, 77, 104, 58016"}},
        "evil01": {
            "drivers": {"viostor.sys": {"file_version": HOSTILE, "file_version_parts": [62, 77, 104, 58011]}}
        },
        "evil02": {"drivers": {"viostor.sys": "@SUM(1+1)*cmd|' /C calc'!A0\r<b>bold</b>"}},
        "lost01": {"reachable": False},
        "bare01": {},
    }
}


def _browser_binary(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: run `make browser` (apt-get install chromium chromium-driver)"
    return path


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = _browser_binary("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_browser_binary("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _visible_rows(driver) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#hosts tbody tr")
    return [row.get_attribute("data-status") for row in rows if row.is_displayed()]


def test_the_html_report_loads_counts_filters_and_stays_inert(make_lab, tmp_path, browser):
    lab = make_lab(FLEET)
    run = run_playbook("winfleet.updates.virtio_audit", lab.root / "inventory.yml", tmp_path / "reports")
    assert run.returncode == 0, run.output
    report = run.report("virtio_audit")
    page = tmp_path / "reports" / "virtio_audit.html"

    browser.get(page.as_uri())
    assert browser.title == "virtio driver audit"
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == [], errors

    # the counts on the page are the JSON's
    counts = {
        button.get_attribute("data-status"): int(button.find_element(By.CLASS_NAME, "count").text)
        for button in browser.find_elements(By.CSS_SELECTOR, "#counts button")
    }
    assert counts == {"all": len(report["hosts"]), **report["summary"]["by_status"]}
    assert counts["failed"] == 1 and counts["unreachable"] == 1

    # the filter shows only the rows of the status pressed, and "all" brings every row back
    assert len(_visible_rows(browser)) == len(report["hosts"])
    for status, count in report["summary"]["by_status"].items():
        browser.find_element(By.CSS_SELECTOR, f'#counts button[data-status="{status}"]').click()
        assert _visible_rows(browser) == [status] * count, status
        assert browser.find_element(By.ID, "shown").text == str(count)
    browser.find_element(By.CSS_SELECTOR, '#counts button[data-status="all"]').click()
    assert len(_visible_rows(browser)) == len(report["hosts"])

    # the run's parameters are on the page
    parameters = browser.find_element(By.ID, "parameters").text
    assert "required_capabilities" in parameters and "check_mode" in parameters

    # the hostile host's value is text: nothing ran, no element was injected
    assert browser.execute_script("return window.pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "#hosts img, #hosts b, #hosts script") == []
    cells = [cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#hosts tbody td")]
    assert any("<script>window.pwned=1</script>" in cell for cell in cells)
    assert browser.find_element(By.TAG_NAME, "body").screenshot_as_png.startswith(b"\x89PNG")

    # the same hostile value is inert in the CSV and the Markdown too
    with open(tmp_path / "reports" / "virtio_audit.csv", newline="", encoding="utf-8") as stream:
        table = {row["host"]: row for row in csv.DictReader(stream)}
    assert table["evil01"]["file_version"] == "'" + HOSTILE
    markdown = (tmp_path / "reports" / "virtio_audit.md").read_text(encoding="utf-8")
    hosts_table = markdown.split("## Hosts", 1)[1].strip().splitlines()
    assert len(hosts_table) == 2 + len(report["hosts"])
    assert "<script>" not in markdown and "<b>" not in markdown
    assert run.rows("virtio_audit")["evil01"]["file_version"] == HOSTILE  # JSON keeps the true value
