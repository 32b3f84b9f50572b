"""The weekly pages: my team with its next-match card, one-tap availability, calendar links."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_web_pages import csrf_of
from web_helpers import register
from week_fixtures import TODAY, add_week


@pytest.fixture
def week(app: FastAPI, engine: sa.Engine, world: dict[str, int]) -> dict[str, int]:
    app.state.today = lambda: TODAY
    return add_week(engine, world)


def _sections(html: str) -> list[str]:
    return re.findall(r'<section id="([a-z]+)"', html)


def test_my_team_page_next_match_sections_and_calendar(
    client: TestClient, world: dict[str, int], week: dict[str, int]
) -> None:
    register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    assert (
        client.put("/api/me/context", json={"team_id": world["team_tennaqua_12"]}).status_code
        == 200
    )
    page = client.get("/team")
    assert page.status_code == 200
    html = page.text
    assert _sections(html) == ["next", "upcoming", "results", "roster"]
    card = html.split('id="next"')[1].split("</section>")[0]
    assert "Tue Jan 14, 2025" in card and "6:30 PM" in card
    assert "Home: vs Wilmette 12" in card and "Tennaqua" in card
    assert "1 in</span> · 0 out · 0 maybe · 3 no answer" in card
    assert "Can you play?" in card
    assert "Past matches (1)" in html and "Tue Jan 7, 2025" in html
    # No calendar link yet: one tap makes it, and the page then shows it.
    made = client.post(
        "/calendar",
        data={
            "csrf_token": csrf_of(html),
            "team_id": str(world["team_tennaqua_12"]),
            "next": f"/teams/{world['team_tennaqua_12']}",
        },
    )
    assert made.status_code == 200 and made.url.path == f"/teams/{world['team_tennaqua_12']}"
    links = re.findall(r"http://testserver(/calendar/[0-9a-f.]+\.ics)", made.text)
    assert links and client.get(links[0]).status_code == 200
    assert "webcal://testserver/calendar/" in made.text

    # A team of someone else: browsing shows it, without availability or calendar.
    other = client.get(f"/teams/{world['team_wilmette_12']}")
    assert other.status_code == 200 and "Can you play?" not in other.text
    assert "Get a calendar link" not in other.text
    assert "Wilmette 12" in other.text


def test_one_tap_availability_updates_the_grid(
    client: TestClient, world: dict[str, int], week: dict[str, int]
) -> None:
    register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    client.put("/api/me/context", json={"team_id": world["team_tennaqua_12"]})
    page = client.get("/team/availability")
    assert page.status_code == 200 and "Can you play?" in page.text
    token = csrf_of(page.text)
    tapped = client.post(
        "/availability",
        data={
            "csrf_token": token,
            "player_id": str(world["player_aaron_apta"]),
            "schedule_id": str(week["apta_next"]),
            "status": "available",
            "note": "",
            "next": "/team/availability",
        },
    )
    assert tapped.status_code == 200 and tapped.url.path == "/team/availability"
    card = tapped.text.split(f'id="match-{week["apta_next"]}"')[1].split("</li>")[0]
    assert "2 in · 0 out · 0 maybe · 2 no answer" in card
    assert 'value="available" class="choice available chosen" aria-pressed="true"' in card
    # The captain picks a teammate, answers for him; the grid shows it.
    james = client.get(f"/team/availability?player={world['player_james']}")
    assert "Answers of James Walsh" in james.text
    client.post(
        "/availability",
        data={
            "csrf_token": token,
            "player_id": str(world["player_james"]),
            "schedule_id": str(week["apta_later"]),
            "status": "unavailable",
            "note": "away",
            "next": f"/team/availability?player={world['player_james']}",
        },
    )
    grid = client.get("/team/availability").text.split('class="grid-table"')[1]
    james_row = grid.split("James Walsh")[1].split("</tr>")[0]
    assert "Not available" in james_row and "(away)" in james_row
    # Forged posts and foreign teams are refused with a sentence.
    forged = client.post(
        "/availability",
        data={"csrf_token": "x", "player_id": "1", "schedule_id": "1", "status": "available"},
    )
    assert forged.status_code == 403 and "reload the page" in forged.text
    foreign = client.get(f"/teams/{world['team_wilmette_12']}/availability")
    assert foreign.status_code == 403 and "claim your record" in foreign.text
    wrong = client.post(
        "/availability",
        data={
            "csrf_token": token,
            "player_id": str(world["player_aaron_apta"]),
            "schedule_id": str(week["apta_next"]),
            "status": "perhaps",
        },
    )
    assert wrong.status_code == 422 and "available, unavailable or unsure" in wrong.text


def test_calendar_page_makes_and_revokes_links(
    client: TestClient, world: dict[str, int], week: dict[str, int]
) -> None:
    register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    page = client.get("/calendar")
    assert "You have no calendar link yet" in page.text
    made = client.post("/calendar", data={"csrf_token": csrf_of(page.text)})
    assert made.status_code == 200 and "All my teams" in made.text
    (link,) = re.findall(r'value="http://testserver(/calendar/[0-9a-f.]+\.ics)"', made.text)
    assert client.get(link).status_code == 200
    feed_id = re.search(r'action="/calendar/(\d+)/revoke"', made.text)
    assert feed_id
    revoked = client.post(
        f"/calendar/{feed_id.group(1)}/revoke", data={"csrf_token": csrf_of(made.text)}
    )
    assert revoked.status_code == 200 and "You have no calendar link yet" in revoked.text
    gone = client.get(link)
    assert gone.status_code == 404 and "revoked or mistyped" in gone.text


def test_team_page_without_a_team_goes_to_claim(client: TestClient, week: dict[str, int]) -> None:
    register(client)
    assert client.get("/team", follow_redirects=False).headers["location"] == "/claim"
    assert client.get("/team/availability", follow_redirects=False).headers["location"] == "/claim"
    anonymous = TestClient(client.app)
    assert anonymous.get("/team", follow_redirects=False).headers["location"].startswith("/login")
