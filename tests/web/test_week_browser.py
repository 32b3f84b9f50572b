"""Browser tests of the weekly pages at 390x844 and on a desktop, with an axe-core check.

axe-core comes from npm (package.json, pinned by package-lock.json; `make install` puts it in
node_modules) and is injected into each page: every page must have zero violations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_web_browser import PHONE, SCREENSHOTS, browser  # noqa: F401 (fixture)
from web_fixtures import seed
from web_helpers import PASSWORD, make_app, new_email, serving
from week_fixtures import TODAY, add_week

from rally.db import make_engine

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["phone", "desktop"])
def week_server(
    request: pytest.FixtureRequest, db_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int], str]]:
    """The app on a fresh PostgreSQL database (one per screen) with the weekly fixtures and a
    fixed clock, under uvicorn; and the screen to test it on."""
    url = db_factory.create("postgresql")
    engine = make_engine(url)
    try:
        ids = seed(engine)
        ids.update(add_week(engine, ids))
    finally:
        engine.dispose()
    app = make_app(url, tmp_path_factory.mktemp("week-browser"))
    app.state.today = lambda: TODAY
    with serving(app) as base:
        yield base, ids, str(request.param)
    db_factory.drop(url)


@pytest.fixture(scope="module")
def axe_source(require_resource: Callable[[bool, str], None]) -> str:
    """The axe-core script installed from npm by `make install`."""
    require_resource(AXE.is_file(), f"axe-core not found at {AXE} (run make install)")
    return AXE.read_text()


def _check(page: Any, axe: str, name: str) -> None:
    """Save a screenshot, then assert that axe-core finds no violation on the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.add_script_tag(content=axe)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)"""
    )
    assert violations == [], f"{name}: {violations}"


def _signed_in_aaron(base: str, ids: dict[str, int]) -> str:
    """Aaron Walsh with his APTA (captain) and NSTF records, on Tennaqua 12; his token."""
    with httpx.Client(base_url=base, timeout=30) as http:
        reg = http.post(
            "/api/register",
            json={
                "email": new_email(),
                "password": PASSWORD,
                "first_name": "Aaron",
                "last_name": "Walsh",
                "league": "APTA_CHICAGO",
                "club": "Tennaqua",
                "series": "Series 12",
            },
        )
        reg.raise_for_status()
        token = str(reg.json()["token"])
        auth = {"Authorization": f"Bearer {token}"}
        http.post("/api/me/claims", json={"player_id": ids["player_aaron_s1"]}, headers=auth)
        http.put("/api/me/context", json={"team_id": ids["team_tennaqua_12"]}, headers=auth)
    return token


def test_next_match_availability_and_calendar(
    week_server: tuple[str, dict[str, int], str],
    browser: Any,  # noqa: F811
    axe_source: str,
) -> None:
    base, ids, screen = week_server
    token = _signed_in_aaron(base, ids)
    phone = screen == "phone"
    # bypass_csp: the accessibility check injects axe-core as an inline script, which
    # Rally's Content-Security-Policy (rightly) refuses.
    context = browser.new_context(
        bypass_csp=True,
        viewport=PHONE if phone else DESKTOP,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
    )
    context.add_cookies([{"name": "rally_session", "value": token, "url": base}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{base}/team")
        card = page.locator("#next")
        assert "Tue Jan 14, 2025" in card.inner_text() and "vs Wilmette 12" in card.inner_text()
        assert "1 in" in card.inner_text()
        if phone:  # the page fits a phone: nothing wider than the screen
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        _check(page, axe_source, f"week-{screen}-01-team")

        page.click("text=Can you play?")
        page.wait_for_url(f"{base}/teams/{ids['team_tennaqua_12']}/availability*")
        match = page.locator(f"#match-{ids['apta_next']}")
        assert "1 in" in match.locator(".counts").inner_text()
        with page.expect_navigation():
            match.locator("button[value=available]").click()
        match = page.locator(f"#match-{ids['apta_next']}")
        assert "2 in" in match.locator(".counts").inner_text()
        assert match.locator("button[value=available]").get_attribute("aria-pressed") == "true"
        row = page.locator("table.grid-table tr.mine")
        assert "Available" in row.inner_text()
        _check(page, axe_source, f"week-{screen}-02-availability")

        page.goto(f"{base}/team")
        with page.expect_navigation():
            page.click("text=Get a calendar link for Tennaqua 12")
        url = page.input_value("#feed-url")
        assert url.startswith(f"{base}/calendar/") and url.endswith(".ics")
        _check(page, axe_source, f"week-{screen}-03-team-calendar")
        assert httpx.get(url).text.startswith("BEGIN:VCALENDAR")

        page.goto(f"{base}/calendar")
        assert page.locator("li.feed").count() == 1
        _check(page, axe_source, f"week-{screen}-04-calendar")

        page.goto(f"{base}/teams/{ids['team_tennaqua_2']}")
        assert "has published no schedule for Tennaqua 2" in page.inner_text("main")
        _check(page, axe_source, f"week-{screen}-05-empty-team")
    finally:
        context.close()
