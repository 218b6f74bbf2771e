"""The report in a real headless Chromium: no network, no console errors, no alerts, filter works.

Screenshots (1280x800 and 390x844, full page) go to $ADVISE_SCREENSHOTS, else to tmp_path.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from advisor.report import render_report
from report_fixture import XSS_IMG, make_predictions, make_results

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = make_results()
    html_path, _ = render_report(results, make_predictions(results), tmp_path_factory.mktemp("report"))
    return html_path


def _shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ADVISE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_report_in_browser(browser, report: Path, tmp_path: Path, viewport: str) -> None:
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=True)
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_timeout(200)

    assert requests == [report.as_uri()], requests
    assert problems == []
    assert dialogs == []
    assert page.get_by_text(XSS_IMG).count() > 0  # shown as text
    assert page.locator("#evidence-table img").count() == 0

    shots = _shots_dir(tmp_path)
    page.screenshot(path=str(shots / f"report-{viewport}-top.png"))
    page.screenshot(path=str(shots / f"report-{viewport}-full.png"), full_page=True)
    assert (shots / f"report-{viewport}-full.png").stat().st_size > 10_000

    # the filter box appears (JavaScript on) and narrows the evidence rows
    rows = page.locator("#evidence-table tbody tr")
    total = rows.count()
    assert total > 5 and page.locator("#evidence-tools").is_visible()
    page.fill("#evidence-filter", "ex-004")
    visible = page.locator("#evidence-table tbody tr:visible")
    assert visible.count() == 1 and "ex-004" in visible.first.inner_text()
    assert page.locator("#evidence-count").inner_text() == f"1 of {total} rows shown"
    page.fill("#evidence-filter", "")
    assert page.locator("#evidence-table tbody tr:visible").count() == total

    # clicking a lever's header sorts by that lever's total, descending on the second click
    header = page.locator("#evidence-table thead th button", has_text="finetune")
    header.click()
    header.click()
    column = [c.get_attribute("data-sort") for c in page.locator("#evidence-table tbody tr td:nth-child(7)").all()]
    values = [float(v) if v else -1.0 for v in column]
    assert values == sorted(values, reverse=True)
    page.fill("#evidence-filter", "")

    # nothing overflows the viewport sideways except inside the scrolling table boxes
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a {width}px viewport"

    page.locator("#evidence").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"report-{viewport}-evidence-sorted.png"))
    assert dialogs == [] and problems == []
    context.close()


def test_report_without_javascript_shows_everything(browser, report: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(report.as_uri(), wait_until="load")
    assert page.locator("#evidence-tools").is_hidden()  # a filter that cannot work is not offered
    rows = page.locator("#evidence-table tbody tr")
    assert rows.count() > 5 and rows.count() == page.locator("#evidence-table tbody tr:visible").count()
    assert page.get_by_text("Use finetune for support-triage").is_visible()
    context.close()
