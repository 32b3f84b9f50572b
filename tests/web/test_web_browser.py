"""Browser tests: headless Debian chromium driving the real server on a phone-sized screen."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web_fixtures import seed
from web_helpers import PASSWORD, make_app, new_email, serving

from rally.db import make_engine

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
CHROMIUM = os.environ.get("RALLY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(
    db_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """The app under uvicorn in a background thread on 127.0.0.1 and a free port."""
    url = db_factory.create("postgresql")
    engine = make_engine(url)
    try:
        ids = seed(engine)
    finally:
        engine.dispose()
    with serving(make_app(url, tmp_path_factory.mktemp("browser"))) as base:
        yield base, ids
    db_factory.drop(url)


@pytest.fixture(scope="module")
def browser(require_resource: Callable[[bool, str], None]) -> Iterator[Any]:
    """Debian's chromium, headless (never a downloaded browser)."""
    require_resource(
        Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None,
        f"chromium not found at {CHROMIUM} (apt-get install chromium)",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_register_claim_switch_and_read_standings(
    live_server: tuple[str, dict[str, int]], browser: Any
) -> None:
    base, _ids = live_server
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{base}/")
        _shot(page, "01-home")
        page.click("text=Create an account")
        page.fill("input[name=email]", new_email())
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=first_name]", "Aaron")
        page.fill("input[name=last_name]", "Walsh")
        _shot(page, "02-register")
        page.click("button:has-text('Create account')")
        page.wait_for_url(f"{base}/claim")

        page.select_option("select[name=league]", "APTA_CHICAGO")  # submits on change
        page.wait_for_selector("#claim-form")
        page.select_option("select[name=club]", "Tennaqua")
        page.select_option("select[name=series]", "Series 12")
        assert page.input_value("input[name=first_name]") == "Aaron"
        _shot(page, "03-claim")
        page.click("button:has-text('Find me')")
        page.wait_for_url(f"{base}/suggestions")
        offered = page.locator("#offered li")
        assert offered.count() == 2
        assert "Midtown S1" in offered.nth(0).inner_text()
        _shot(page, "04-suggestions")
        for _ in range(2):
            # Each confirmation posts and comes back to /suggestions: wait for that load.
            with page.expect_navigation():
                page.locator("#offered li button").first.click()
        assert page.locator("#offered").count() == 0
        assert page.locator("li.claimed").count() == 3

        page.click("text=Continue to my teams")
        page.wait_for_url(f"{base}/teams")
        _shot(page, "05-teams")
        page.click("button:has-text('Switch to Midtown S1')")
        page.wait_for_url(f"{base}/team")
        assert page.locator("h1").inner_text() == "Midtown S1"
        _shot(page, "06-team")

        page.click("nav >> text=Standings")
        page.wait_for_url(f"{base}/standings")
        assert page.locator("h1").inner_text() == "Series 1"
        rows = page.locator("table.standings tbody tr")
        assert [rows.nth(i).locator("th.team").inner_text() for i in range(rows.count())] == [
            "Wilmette S1 T1",
            "Midtown S1",
        ]
        assert "mine" in (rows.nth(1).get_attribute("class") or "")
        _shot(page, "07-standings")

        page.click("nav >> text=Switch")
        page.wait_for_url(f"{base}/teams")
        page.click("button:has-text('Switch to Tennaqua 12')")
        page.wait_for_url(f"{base}/team")
        assert "Series 12" in page.locator("p.sub").inner_text()
        _shot(page, "08-team-apta")
        page.click("nav >> text=Standings")
        page.wait_for_url(f"{base}/standings")
        assert page.locator("h1").inner_text() == "Series 12"
        assert "Wilmette 12" in page.locator("table.standings").inner_text()
        _shot(page, "09-standings-apta")
        # The page fits a phone: nothing wider than the viewport except scrollable tables.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
    finally:
        context.close()
