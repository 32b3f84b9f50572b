"""Search quality and player pages on the whole real corpus, on both backends."""

from __future__ import annotations

import random
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from player_oracle import same_pages
from sqlalchemy.orm import Session
from test_web_acceptance import corpus_app  # noqa: F401  (the fixture: corpus per backend)

from rally.services.person_names import normalize

ACCENTED = str.maketrans({"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "n": "ñ"})


def _people(app: FastAPI, count: int) -> list[tuple[str, str, str]]:
    """A fixed sample of active players with plain two-part names: (first, last, league)."""
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT DISTINCT p.first_name, p.last_name, l.league_id FROM players p "
                "JOIN leagues l ON l.id = p.league_id WHERE p.is_active IS NOT false "
                "ORDER BY 3, 2, 1"
            )
        ).all()
    plain = [
        (first, last, league)
        for first, last, league in rows
        if first.isalpha() and last.isalpha() and len(first) >= 3 and len(last) >= 5
    ]
    return random.Random(14).sample(plain, count)


def _names(client: TestClient, query: str, league: str | None = None) -> list[str]:
    params = {"q": query, "limit": 5, **({"league": league} if league else {})}
    response = client.get("/api/search/players", params=params)
    assert response.status_code == 200, response.text
    return [normalize(f"{h['first_name']} {h['last_name']}") for h in response.json()]


def test_search_quality_exact_accents_and_typos(corpus_app: FastAPI) -> None:  # noqa: F811
    client = TestClient(corpus_app)
    people = _people(corpus_app, 40)
    exact = accents = typos = 0
    for first, last, league in people:
        wanted = normalize(f"{first} {last}")
        exact += _names(client, f"{first} {last}", league)[:1] == [wanted]
        accents += _names(client, f"{first} {last}".lower().translate(ACCENTED).upper())[:1] == [
            wanted
        ]
        cut = len(last) // 2  # one letter of the last name missing, and no capitals
        typos += wanted in _names(client, f"{first} {last[:cut]}{last[cut + 1 :]}".lower(), league)
    assert (exact, accents) == (len(people), len(people))
    assert typos >= 0.9 * len(people), f"{typos} of {len(people)} found despite a typo"


def test_namesakes_in_two_leagues_are_told_apart(corpus_app: FastAPI) -> None:  # noqa: F811
    with corpus_app.state.engine.connect() as conn:
        first, last = conn.execute(
            sa.text(
                "SELECT a.first_name, a.last_name FROM players a JOIN players b "
                "ON a.first_name = b.first_name AND a.last_name = b.last_name "
                "AND a.league_id < b.league_id ORDER BY 2, 1 LIMIT 1"
            )
        ).one()
    client = TestClient(corpus_app)
    hits = client.get("/api/search/players", params={"q": f"{first} {last}"}).json()
    same = [h for h in hits if (h["first_name"], h["last_name"]) == (first, last)]
    assert len({h["league"] for h in same}) >= 2
    # Every hit of that name says where it plays, and no two say the same.
    described = [(h["league_name"], h["club"], h["series"], h["team"]) for h in same]
    assert len(set(described)) == len(described) and all(all(d) for d in described)
    page = client.get("/search", params={"q": f"{first} {last}"}).text
    for league_name, _club, series, team in described:
        assert f"{team} · {series} · {league_name}" in page


def test_player_pages_of_the_corpus(corpus_app: FastAPI) -> None:  # noqa: F811
    client = TestClient(corpus_app)
    with corpus_app.state.engine.connect() as conn:
        busiest: Any = conn.execute(
            sa.text(
                "SELECT p.id, count(*) FROM players p JOIN match_scores m "
                "ON m.league_id = p.league_id AND m.home_player_1_id = p.tenniscores_player_id "
                "GROUP BY p.id ORDER BY 2 DESC, 1 LIMIT 1"
            )
        ).one()
        club_id = conn.execute(sa.text("SELECT id FROM clubs WHERE name = 'Tennaqua'")).scalar()
    body = client.get(f"/api/players/{busiest[0]}").json()
    assert len(body["matches"]) >= min(busiest[1], 20)
    assert body["wins"] + body["losses"] >= busiest[1] - 1  # a line may lack a winner
    assert any(m["opponents"] for m in body["matches"])  # some lines lack player ids
    assert client.get(f"/players/{busiest[0]}").status_code == 200
    club = client.get(f"/api/clubs/{club_id}").json()
    assert len({t["league"] for t in club["teams"]}) >= 2
    assert any(t["position"] for t in club["teams"])
    assert client.get(f"/clubs/{club_id}").status_code == 200


def test_statement_equals_oracle_on_the_corpus(corpus_app: FastAPI) -> None:  # noqa: F811
    engine = corpus_app.state.engine
    with engine.connect() as conn:
        every = list(conn.execute(sa.text("SELECT id FROM players ORDER BY id")).scalars())
        busiest = list(
            conn.execute(
                sa.text(
                    "SELECT p.id FROM players p JOIN match_scores m ON m.league_id = p.league_id "
                    "AND p.tenniscores_player_id IN (m.home_player_1_id, m.home_player_2_id, "
                    "m.away_player_1_id, m.away_player_2_id) GROUP BY p.id "
                    "ORDER BY count(*) DESC, p.id LIMIT 30"
                )
            ).scalars()
        )
    with Session(engine) as s:
        assert same_pages(s, sorted({*every[::25], *busiest})) > 350
