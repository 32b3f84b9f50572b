"""Player, search, club and series pages and their JSON twins, on both backends."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient


def _text(html: str) -> str:
    """What a reader sees: the page without tags, scripts or attribute values."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"])


def test_player_api_and_page(
    shared_client: TestClient, shared_app: tuple[Any, dict[str, int]]
) -> None:
    client, world = shared_client, shared_app[1]
    body = client.get(f"/api/players/{world['player_aaron_apta']}").json()
    assert (body["first_name"], body["league"], body["league_name"], body["pti"]) == (
        "Aaron",
        "APTA_CHICAGO",
        "APTA Chicago",
        37.6,
    )
    assert [(t["team"], t["wins"], t["losses"]) for t in body["teams"]] == [("Tennaqua 12", 1, 1)]
    assert body["history"] == []
    line = body["matches"][0]
    assert line["partner"] == {"player_id": world["player_james"], "name": "James Walsh"}
    assert [o["name"] for o in line["opponents"]] == ["Robert Smith", "José Núñez"]
    assert "There is no player" in _error(client.get("/api/players/987654"), 404)
    assert "player_id" in _error(client.get("/api/players/abc"), 422)

    page = client.get(f"/players/{world['player_aaron_apta']}")
    seen = _text(page.text)
    assert page.status_code == 200
    assert "Aaron Walsh" in seen and "PTI 37.6" in seen and "No PTI history recorded yet" in seen
    assert f'href="/players/{world["player_james"]}"' in page.text  # partner links to a page
    assert f'href="/teams/{world["team_tennaqua_12"]}"' in page.text
    assert "APTA_CHICAGO" not in seen


def test_player_page_draws_the_pti_history(
    client: TestClient, engine: Any, world: dict[str, int]
) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        for day, pti in (("2024-09-01", 40.0), ("2025-01-10", 37.6)):
            conn.execute(
                sa.text(
                    "INSERT INTO player_history (player_id, league_id, series, date, end_pti) "
                    "VALUES (:p, :l, 'Series 12', :d, :v)"
                ),
                {"p": world["player_aaron_apta"], "l": world["league_APTA"], "d": day, "v": pti},
            )
    page = client.get(f"/players/{world['player_aaron_apta']}").text
    assert (
        '<svg class="chart"' in page and "PTI of Aaron Walsh over time, from 40.0 to 37.6" in page
    )
    assert page.count("<circle") == 2
    api = client.get(f"/api/players/{world['player_aaron_apta']}").json()
    assert api["history"] == [
        {"date": "2024-09-01", "pti": 40.0, "series": "Series 12"},
        {"date": "2025-01-10", "pti": 37.6, "series": "Series 12"},
    ]


def test_search_api_and_page(shared_client: TestClient) -> None:
    client = shared_client
    hits = client.get("/api/search/players", params={"q": "jose nunez"}).json()
    assert (hits[0]["first_name"], hits[0]["last_name"], hits[0]["club"]) == (
        "José",
        "Núñez",
        "Wilmette",
    )
    nstf = client.get("/api/search/players", params={"q": "Aron Walsh", "league": "NSTF"}).json()
    assert {(h["league"], h["team"]) for h in nstf} >= {
        ("NSTF", "Midtown S1"),
        ("NSTF", "Midtown S2A"),
    }
    assert all(h["league"] == "NSTF" for h in nstf)
    limited = client.get("/api/search/players", params={"q": "walsh", "limit": 2}).json()
    assert len(limited) == 2
    assert "league" in _error(
        client.get("/api/search/players", params={"q": "x", "league": "NO PE"}), 422
    )
    assert "NOPE" in _error(
        client.get("/api/search/players", params={"q": "x", "league": "NOPE"}), 404
    )
    assert "q" in _error(client.get("/api/search/players"), 422)

    page = client.get("/search", params={"q": "Aaron Walsh"})
    seen = _text(page.text)
    assert page.status_code == 200 and "players found" in seen
    assert "Tennaqua 12 · Series 12 · APTA Chicago · Tennaqua" in seen
    assert "Midtown S2A · Series 2A · North Shore Tennis Foundation · Midtown" in seen
    assert "APTA_CHICAGO" not in seen
    empty = _text(client.get("/search", params={"q": "Zzyzx"}).text)
    assert "Nobody found" in empty and "Check the spelling" in empty
    form = client.get("/search")
    assert form.status_code == 200 and "players found" not in form.text
    assert 'role="search"' in form.text and ">APTA Chicago</option>" in form.text


def test_club_api_and_pages(
    shared_client: TestClient, shared_app: tuple[Any, dict[str, int]]
) -> None:
    client, world = shared_client, shared_app[1]
    listed = client.get("/api/clubs").json()
    tennaqua = next(c for c in listed if c["name"] == "Tennaqua")
    body = client.get(f"/api/clubs/{tennaqua['club_id']}").json()
    assert [(t["team"], t["position"], t["team_count"]) for t in body["teams"]] == [
        ("Tennaqua 1", 2, 2),
        ("Tennaqua 2", None, None),
        ("Tennaqua 12", 2, 2),
        ("Tennaqua S2A", 2, 2),
    ]
    assert "There is no club" in _error(client.get("/api/clubs/987654"), 404)

    page = client.get(f"/clubs/{tennaqua['club_id']}")
    seen = _text(page.text)
    assert "4 teams" in seen and "2 of 2 · 20 pts · 2-2-0" in seen and "no standings yet" in seen
    assert "North Shore Tennis Foundation" in seen and "APTA_CHICAGO" not in seen
    # The team page's club name leads to the club page.
    team = client.get(f"/teams/{world['team_tennaqua_12']}").text
    assert 'href="/clubs?name=Tennaqua"' in team
    assert f'href="/players/{world["player_aaron_apta"]}"' in team  # roster names are links
    found = client.get("/clubs", params={"name": "tennaqua"}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/clubs/{tennaqua['club_id']}"
    missing = client.get("/clubs", params={"name": "Nowhere"})
    assert missing.status_code == 404 and "There is no club named 'Nowhere'" in _text(missing.text)
    assert "Wilmette" in _text(client.get("/clubs").text)


def test_series_page_standings_chart_and_fixtures(
    shared_client: TestClient, shared_app: tuple[Any, dict[str, int]]
) -> None:
    client, world = shared_client, shared_app[1]
    page = client.get(f"/series/{world['series_apta_s12']}").text
    seen = _text(page)
    # Rows open their team; the team name stays a link; the chart has a bar per team.
    assert page.count('data-href="/teams/') == 2
    assert page.count("<rect") == 2 and "Points per team in Series 12, APTA Chicago" in page
    assert "Fixtures and results" in seen and "1–1" in seen and "6:30 PM at Tennaqua" in seen
    assert '<ul class="list">' not in page  # no second list of the same teams
    assert "APTA_CHICAGO" not in seen
    matches = client.get(f"/api/series/{world['series_apta_s12']}/matches").json()
    assert [(m["date"], m["home_lines"], m["away_lines"]) for m in matches] == [
        ("2025-01-07", 1, 1),
        ("2025-01-14", None, None),
    ]
    _error(client.get("/api/series/987654/matches"), 404)
    # A series without standings still lists its teams once.
    empty = client.get(f"/series/{world['series_apta_s2']}").text
    assert "No series data" in empty and empty.count("Tennaqua 2</a>") == 1


@pytest.mark.parametrize(
    ("path", "status", "sentence"),
    [
        ("/series/abc", 422, "“abc” is not a series number, so there is no such series."),
        ("/players/abc", 422, "“abc” is not a player number, so there is no such player."),
        ("/teams/12x", 422, "“12x” is not a team number"),
        ("/clubs/0", 422, "“0” is not a club number"),
        ("/series/987654", 404, "There is no series 987654."),
        ("/players/987654", 404, "There is no player 987654."),
        (
            "/search?q=" + "x" * 101,
            422,
            "The name to search for is too long: at most 100 characters.",
        ),
        ("/search?q=walsh&league=NOPE", 404, "There is no league 'NOPE'."),
        ("/no/such/page", 404, "There is no such page."),
    ],
)
def test_error_pages_speak_a_players_language(
    shared_client: TestClient, path: str, status: int, sentence: str
) -> None:
    response = shared_client.get(path)
    assert response.status_code == status
    seen = _text(response.text)
    assert sentence in seen
    for jargon in ("integer", "parse", "Input should", "field", "Traceback", "_id"):
        assert jargon not in seen, (jargon, seen)


def test_league_names_not_keys_on_record_cards_and_pickers(client: TestClient) -> None:
    from web_helpers import register

    register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    for path in ("/suggestions", "/claim", "/claim?league=APTA_CHICAGO", "/leagues", "/teams"):
        seen = _text(client.get(path).text)
        assert "APTA_CHICAGO" not in seen and "NSTF " not in seen + " ", (path, seen)
    assert "North Shore Tennis Foundation" in _text(client.get("/suggestions").text)
