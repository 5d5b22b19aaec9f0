"""The HTML page in a real headless browser (Debian chromium + chromedriver, driven by Selenium).

`.ci/run` installs `chromium`, `chromium-driver` (apt) and `selenium` (pip, test extra). The browser
runs with no network access and a fresh profile, and never downloads a driver (the Service names
Debian's chromedriver explicitly).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from leaderboard.html import write_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EVIL = "<script>window.__pwned = 1</script>"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra (pip install -e .[test])")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip("Debian chromium and chromium-driver are needed (apt-get install -y chromium chromium-driver; "
                ".ci/run installs them)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lb-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _column(driver, table_id: str, idx: int, attr: bool = True) -> list:
    script = ("var t = document.getElementById(arguments[0]);"
              "return Array.prototype.map.call(t.tBodies[0].rows, function (r) {"
              "  var c = r.cells[arguments[1]];"
              "  return arguments[2] ? c.getAttribute('data-sort') : c.textContent; });")
    script = script.replace("arguments[1]", str(idx)).replace("arguments[2]", "true" if attr else "false")
    return driver.execute_script(script, table_id)


def _floats(values):
    return [float(v) if v not in ("", None) else None for v in values]


def test_page_sorts_columns_shows_names_verbatim_and_logs_no_error(browser, tmp_path, synth, rec):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    recs = synth() + [rec(model=EVIL, dataset="shapes3d-procedural", dataset_hash="sha256:" + "cd" * 32,
                          metric="mig", metric_params={}, train_seed=i, value=0.05 * i) for i in range(2)]
    path = write_html(tmp_path / "leaderboard.html", recs, reps=200, plot_reps=50)
    browser.get(path.resolve().as_uri())
    assert browser.title == "Disentanglement benchmark leaderboard"

    # per-dataset table: click "IQM" (column 3): ascending, then descending
    table = "cells-v0"
    before = _floats(_column(browser, table, 3))
    heads = browser.find_elements(By.CSS_SELECTOR, f"#{table} thead th")
    assert heads[3].text.startswith("IQM")
    heads[3].click()
    asc = _floats(_column(browser, table, 3))
    assert asc != before
    assert asc == sorted(before)
    assert heads[3].get_attribute("aria-sort") == "ascending"
    heads[3].click()
    desc = _floats(_column(browser, table, 3))
    assert desc == sorted(before, reverse=True)
    assert heads[3].get_attribute("aria-sort") == "descending"

    # ranking table: click "model" (column 2): alphabetical
    agg = "agg-v0"
    browser.find_elements(By.CSS_SELECTOR, f"#{agg} thead th")[2].click()
    names = [n for n in _column(browser, agg, 2) if n != EVIL]
    assert names == sorted(names, key=str.lower)

    # the hostile name is text, shown verbatim, and never ran
    cells = _column(browser, "records-v0", 0, attr=False)
    assert EVIL in cells
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018

    # provenance on demand
    first = browser.find_element(By.CSS_SELECTOR, "#records-v0 tbody tr details")
    assert not first.find_element(By.TAG_NAME, "pre").is_displayed()
    first.find_element(By.TAG_NAME, "summary").click()
    pre = first.find_element(By.TAG_NAME, "pre")
    assert pre.is_displayed() and '"provenance": "measured"' in pre.text and '"git_commit": "abc123"' in pre.text

    # filter box
    box = browser.find_element(By.CSS_SELECTOR, "input.filter")
    box.send_keys("qlae")
    shown = browser.execute_script(
        "return Array.prototype.filter.call(document.getElementById('records-v0').tBodies[0].rows,"
        " function (r) { return r.style.display !== 'none'; }).map(function (r) { return r.cells[0].textContent; });")
    assert shown and set(shown) == {"qlae"}

    # figures decoded by the browser
    widths = browser.execute_script("return Array.prototype.map.call(document.images, function (i) {"
                                    " return i.naturalWidth; });")
    assert len(widths) >= 7 and min(widths) > 100

    logs = browser.get_log("browser")
    assert [entry for entry in logs if entry["level"] in ("SEVERE", "WARNING")] == []
    # the check above can see errors: a deliberate one is caught
    browser.execute_script("console.error('probe-error')")
    assert any("probe-error" in entry["message"] for entry in browser.get_log("browser"))
