"""The server-rendered pages: forms with CSRF tokens, the claim flow, switching, standings."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import PASSWORD, new_email

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_up(client: TestClient, first: str = "Aaron", last: str = "Walsh") -> str:
    page = client.get("/register")
    assert page.status_code == 200 and 'name="viewport"' in page.text
    email = new_email()
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_of(page.text),
            "email": email,
            "password": PASSWORD,
            "first_name": first,
            "last_name": last,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/claim"
    return email


def test_form_posts_need_the_csrf_token(client: TestClient, engine: sa.Engine) -> None:
    client.get("/register")
    body = {"email": new_email(), "password": PASSWORD, "first_name": "A", "last_name": "B"}
    refused = client.post("/register", data=body)
    assert refused.status_code == 403 and "reload the page" in refused.text
    forged = client.post("/register", data={**body, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    # A token minted for another browser does not work either.
    other = TestClient(client.app)
    stolen = csrf_of(other.get("/register").text)
    assert client.post("/register", data={**body, "csrf_token": stolen}).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 0

    sign_up(client)
    teams = client.get("/teams")
    logout = client.post("/logout", data={"csrf_token": "nope"})
    assert logout.status_code == 403
    assert client.post("/logout", data={"csrf_token": csrf_of(teams.text)}).status_code == 200
    assert client.get("/team", follow_redirects=False).headers["location"].startswith("/login")


def test_claim_confirm_switch_and_standings_pages(
    client: TestClient, world: dict[str, int]
) -> None:
    sign_up(client)
    form = client.get("/claim", params={"league": "APTA_CHICAGO"})
    assert "Tennaqua" in form.text and "Series 12" in form.text and "Midtown" not in form.text
    result = client.post(
        "/claim",
        data={
            "csrf_token": csrf_of(form.text),
            "league": "APTA_CHICAGO",
            "club": "Tennaqua",
            "series": "Series 12",
            "first_name": "Aaron",
            "last_name": "Walsh",
        },
    )
    assert result.status_code == 200 and result.url.path == "/suggestions"
    assert "Are these you too?" in result.text
    assert "Midtown S1" in result.text and "Midtown S2A" in result.text
    for player in ("player_aaron_s1", "player_aaron_s2a"):
        page = client.get("/suggestions")
        done = client.post(
            "/claims", data={"csrf_token": csrf_of(page.text), "player_id": str(world[player])}
        )
        assert done.status_code == 200
    assert "Are these you too?" not in client.get("/suggestions").text

    teams = client.get("/teams")
    assert teams.text.count('action="/context"') == 2  # the current team has no button
    switched = client.post(
        "/context",
        data={"csrf_token": csrf_of(teams.text), "team_id": str(world["team_midtown_s1"])},
    )
    assert switched.url.path == "/team" and "<h1>Midtown S1</h1>" in switched.text
    standings = client.get("/standings")
    assert (
        "<h1>Series 1</h1>" in standings.text and "North Shore Tennis Foundation" in standings.text
    )
    assert "Wilmette S1 T1" in standings.text and "Wilmette 1<" not in standings.text
    assert "No series data" not in standings.text
    foreign = client.post(
        "/context",
        data={"csrf_token": csrf_of(teams.text), "team_id": str(world["team_wilmette_12"])},
    )
    assert (
        foreign.status_code == 403 and "not a team of a player record you claimed" in foreign.text
    )


def test_claim_page_outcomes(client: TestClient, world: dict[str, int]) -> None:
    sign_up(client, "Jimmy", "Walsh")
    form = client.get("/claim", params={"league": "APTA_CHICAGO"})
    data = {
        "csrf_token": csrf_of(form.text),
        "league": "APTA_CHICAGO",
        "club": "Tennaqua",
        "series": "Series 12",
        "first_name": "Jimmy",
        "last_name": "Walsh",
    }
    choose = client.post("/claim", data=data)
    assert "choose yours" in choose.text and choose.text.count("This is me") == 2
    none = client.post("/claim", data={**data, "first_name": "Mary"})
    assert "No player named Mary Walsh" in none.text
    unknown = client.post("/claim", data={**data, "club": "Nowhere"})
    assert unknown.status_code == 404 and "has no club" in unknown.text


def test_sign_in_page_errors_and_throttling(client: TestClient) -> None:
    email = sign_up(TestClient(client.app))
    page = client.get("/login")
    data = {"csrf_token": csrf_of(page.text), "email": email, "password": "wrong!!!"}
    for _ in range(5):
        wrong = client.post("/login", data=data)
        assert wrong.status_code == 401 and "incorrect" in wrong.text
    with client.app.state.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(  # a sixth failure just now: the next try waits 2 s
            sa.text(
                "INSERT INTO login_attempts (email, client, attempted_at) "
                "VALUES (:e, 'testclient', :t)"
            ),
            {"e": email, "t": dt.datetime.now(dt.UTC)},
        )
    blocked = client.post("/login", data={**data, "password": PASSWORD})
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    assert "Retry-After" in blocked.headers


def test_sign_in_page_redirects_to_local_next_only(client: TestClient) -> None:
    email = sign_up(TestClient(client.app))
    token = csrf_of(client.get("/login").text)
    ok = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    for target in ("/\\evil.example", "https://evil.example", "/team"):
        token = csrf_of(client.get("/login").text)
        again = client.post(
            "/login",
            data={"csrf_token": token, "email": email, "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert again.headers["location"] == ("/team" if target == "/team" else "/")


def test_browse_pages_and_no_series_data(client: TestClient, world: dict[str, int]) -> None:
    leagues = client.get("/leagues")
    assert "APTA Chicago" in leagues.text and "/leagues/NSTF" in leagues.text
    league = client.get("/leagues/NSTF")
    assert "Series 2A" in league.text and "Series 12" not in league.text
    assert client.get("/leagues/NOPE").status_code == 404
    empty = client.get(f"/series/{world['series_apta_s2']}")
    assert "No series data" in empty.text and "Tennaqua 2" in empty.text
    full = client.get(f"/series/{world['series_apta_s12']}")
    assert "No series data" not in full.text
    assert full.text.index("Wilmette 12") < full.text.index("Tennaqua 12")
    team = client.get(f"/teams/{world['team_tennaqua_12']}")
    assert "37.6" in team.text and "Line 1" in team.text and "Wilmette 12" in team.text
    missing = client.get("/teams/999999")
    assert missing.status_code == 404 and "There is no team" in missing.text
    assert "<html" in client.get("/no/such/page").text
