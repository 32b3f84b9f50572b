"""Browser tests of the player, search, club and series pages at 390x844 and on a desktop.

Each page gets a screenshot (test-output/screenshots/pages/) and an axe-core check with zero
violations allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from axe import assert_accessible
from test_web_browser import PHONE, SCREENSHOTS, browser  # noqa: F401  (the fixture)
from web_fixtures import seed
from web_helpers import live_server, make_app

from rally.db import make_engine

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture(scope="module")
def server(
    db_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, int]]]:
    """The seeded app on PostgreSQL with a PTI history for Aaron Walsh."""
    url = db_factory.create("postgresql")
    engine = make_engine(url)
    try:
        ids = seed(engine)
        with engine.begin() as conn:
            for day, pti in (
                ("2024-09-03", 41.2),
                ("2024-10-08", 39.9),
                ("2024-11-19", 38.4),
                ("2025-01-10", 37.6),
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO player_history (player_id, league_id, series, date, end_pti) "
                        "VALUES (:p, :l, 'Series 12', :d, :v)"
                    ),
                    {"p": ids["player_aaron_apta"], "l": ids["league_APTA"], "d": day, "v": pti},
                )
    finally:
        engine.dispose()
    with live_server(make_app(url, tmp_path_factory.mktemp("pages"))) as base:
        yield base, ids
    db_factory.drop(url)


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:  # noqa: F811
    """A fresh page at the phone's or the desktop's size."""
    size = VIEWPORTS[request.param]
    phone = size == PHONE
    # bypass_csp: the accessibility check injects axe-core as an inline script, which
    # Rally's Content-Security-Policy (rightly) refuses.
    context = browser.new_context(
        bypass_csp=True, viewport=size, device_scale_factor=2 if phone else 1, is_mobile=phone
    )
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.viewport_name = request.param
    yield tab
    context.close()


def _check(page: Any, name: str) -> None:
    """Screenshot the page, check it fits the screen's width and has no axe violations."""
    folder = SCREENSHOTS / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{page.viewport_name}-{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} is {width}px wide"
    assert_accessible(page)


def test_player_page_with_its_chart(server: tuple[str, dict[str, int]], page: Any) -> None:
    base, ids = server
    page.goto(f"{base}/teams/{ids['team_tennaqua_12']}")
    page.locator("#roster a", has_text="Aaron Walsh").click()  # roster names lead to the player page
    page.wait_for_url(f"{base}/players/{ids['player_aaron_apta']}")
    assert page.locator("h1").inner_text() == "Aaron Walsh"
    chart = page.locator("svg.chart")
    assert chart.locator("circle").count() == 4
    box = chart.bounding_box()
    assert box is not None and box["width"] <= page.viewport_size["width"] and box["height"] > 100
    assert "PTI 37.6" in page.locator("p.sub").inner_text()
    assert page.locator(".played li").count() == 2
    _check(page, "player")
    page.click(".played li >> text=James Walsh")  # partners lead to their page
    page.wait_for_url(f"{base}/players/{ids['player_james']}")


def test_search_tells_namesakes_apart(server: tuple[str, dict[str, int]], page: Any) -> None:
    base, _ids = server
    page.goto(f"{base}/")
    page.click("nav >> text=Find a player")
    page.fill("input[name=q]", "aron walsh")
    page.click("button:has-text('Search')")
    page.wait_for_url(f"{base}/search?*")
    hits = page.locator("#hits li")
    texts = [hits.nth(i).inner_text() for i in range(hits.count())]
    aarons = [t for t in texts if t.startswith("Aaron Walsh")]
    assert len(aarons) == 3
    assert any("Midtown S1 · Series 1 · North Shore Tennis Foundation" in t for t in aarons)
    assert any("Tennaqua 12 · Series 12 · APTA Chicago" in t for t in aarons)
    _check(page, "search")
    page.select_option("select[name=league]", "NSTF")
    page.click("button:has-text('Search')")
    page.wait_for_url(f"{base}/search?*league=NSTF*")
    assert all("North Shore" in hits.nth(i).inner_text() for i in range(hits.count()))


def test_club_page(server: tuple[str, dict[str, int]], page: Any) -> None:
    base, ids = server
    page.goto(f"{base}/teams/{ids['team_tennaqua_12']}")
    page.click("p.sub >> text=Tennaqua")
    page.wait_for_url(f"{base}/clubs/*")
    assert page.locator("h1").inner_text() == "Tennaqua"
    cards = page.locator("ul.cards li")
    assert cards.count() == 4
    assert "2 of 2" in cards.nth(2).inner_text()
    _check(page, "club")


def test_standings_keep_the_team_column_in_view(
    server: tuple[str, dict[str, int]], page: Any
) -> None:
    base, ids = server
    page.goto(f"{base}/series/{ids['series_apta_s12']}")
    scroller = page.locator("div.scroll")
    team = page.locator("table.standings tbody tr").nth(0).locator("th.team")
    # Scrolled all the way right (Lines, Sets, Games in view), the team name still shows whole.
    scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    page.wait_for_timeout(100)
    box, frame = team.bounding_box(), scroller.bounding_box()
    assert box is not None and frame is not None
    assert frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
    assert team.inner_text() == "Wilmette 12"
    games = page.locator("table.standings thead th").nth(6).bounding_box()
    assert games is not None and games["x"] + games["width"] <= frame["x"] + frame["width"] + 1
    assert page.locator("svg.chart rect").count() == 2
    assert page.locator(".fixtures li").count() == 2
    _check(page, "standings")
    # A tap anywhere on a row (here its points) opens the team.
    page.locator("table.standings tbody tr").nth(1).locator("td.num").first.click()
    page.wait_for_url(f"{base}/teams/{ids['team_tennaqua_12']}")


def test_error_pages(server: tuple[str, dict[str, int]], page: Any) -> None:
    base, _ids = server
    for path, name, words in (
        ("/series/abc", "error-422", "is not a series number"),
        ("/players/987654", "error-404", "There is no player 987654."),
    ):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status in (404, 422)
        assert words in page.locator("[role=alert]").inner_text()
        _check(page, name)
