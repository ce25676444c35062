"""The HTML report in a real headless Chromium: no console errors, nothing fetched, numbers visible.

Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it). Screenshots are kept in
``test-artifacts/`` (or ``$ZONEDRILL_TEST_ARTIFACTS``) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from orchestrator.results.report.document import load_result
from orchestrator.results.report.render import write_reports
from tests.handmade import hour_long_document, result_document, talk_samples, write_run
from tests.support import REPO

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without these Chromium reaches for Google's services at start, which this network refuses.
QUIET_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def artifacts() -> Path:
    """Where screenshots go."""
    folder = Path(os.environ.get("ZONEDRILL_TEST_ARTIFACTS") or REPO / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=QUIET_FLAGS)
        yield launched
        launched.close()


def open_report(browser: Browser, html: Path, shot: str) -> tuple[str, list[str], list[str], Any]:
    """Load the page; return its text, console errors, URLs it requested, and the page."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    requested: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requested.append(r.url))
    page.goto(html.as_uri(), wait_until="load")
    page.screenshot(path=str(artifacts() / shot), full_page=True)
    return page.inner_text("body"), errors, requested, page


def test_flagship_report_renders_cleanly_with_its_numbers(browser: Browser, tmp_path: Path) -> None:
    """Outcome, score, availability and RTO are on screen; no error, no outside request."""
    run = load_result(write_run(tmp_path, result_document()))
    html = next(p for p in write_reports(run) if p.suffix == ".html")
    text, errors, requested, page = open_report(browser, html, "report-flagship.png")
    assert errors == []
    assert requested == [html.as_uri()]
    assert "FAILED" in text
    assert "score 33.3 / 100" in text
    assert "availability 66.67 %" in text
    assert "RTO after pangyo: 10s" in text
    assert page.locator("#score").is_visible()
    chart = page.locator("section.probe svg").first.bounding_box()
    assert chart is not None
    assert chart["width"] > 800
    assert page.locator("svg text", has_text="RTO 10s").count() == 1
    page.close()


def test_hour_long_report_stays_light_and_readable(browser: Browser, tmp_path: Path) -> None:
    """An hour at 100ms (36,000 samples) loads without errors and draws its one failure."""
    document = hour_long_document()
    samples = talk_samples(every=0.1, chaos=3600.0, failing=1)
    run = load_result(write_run(tmp_path, document, samples))
    html = next(p for p in write_reports(run) if p.suffix == ".html")
    text, errors, _, page = open_report(browser, html, "report-one-hour.png")
    assert errors == []
    assert "score 33.3 / 100" in text
    assert page.locator("rect.fail").count() == 1
    page.close()


def test_game_day_report_opens_on_its_summary_and_trend(browser: Browser, tmp_path: Path) -> None:
    """The game-day page: summary table, a trend over both game days, each drill's charts."""
    from tests.test_gameday import run_gameday, write_drill, write_gameday  # noqa: PLC0415

    drills = [write_drill(tmp_path, "one"), write_drill(tmp_path, "packed", service="packed")]
    gameday = write_gameday(tmp_path, drills)
    for attempt in ("first", "second"):
        folder = tmp_path / attempt
        folder.mkdir()
        code, _, printed = run_gameday(folder, gameday, "--history", str(tmp_path / "h.sqlite"))
        assert code == 1, printed
    html = tmp_path / "second" / "out" / "report.html"
    text, errors, requested, page = open_report(browser, html, "report-gameday.png")
    assert errors == []
    assert requested == [html.as_uri()]
    assert "game day gd" in text
    assert "mean score" in text
    assert page.locator("#summary tr").count() == 3  # a header and one row per drill
    assert page.locator("#trend circle").count() == 2
    assert page.locator("section.drill svg").count() == 2
    box = page.locator("#summary").bounding_box()
    assert box is not None
    assert box["y"] < 400  # the summary is what the page opens on
    page.close()


def test_an_outage_is_a_gap_in_the_latency_line_not_its_fastest_answers(
    browser: Browser, tmp_path: Path
) -> None:
    """503s answered in half a millisecond were drawn as the run's best latency."""
    samples = [
        replace(s, latency=0.0005, status=503, error="status") if not s.passed else s
        for s in talk_samples()
    ]
    run = load_result(write_run(tmp_path, result_document(), samples))
    html = next(p for p in write_reports(run) if p.suffix == ".html")
    _, errors, _, page = open_report(browser, html, "report-latency-gap.png")
    assert errors == []
    lines = page.locator("section.probe svg polyline.latency")
    assert lines.count() == 2  # before the outage, and after it
    assert all(lines.nth(i).is_visible() for i in range(2))
    page.close()
