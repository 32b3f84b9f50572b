"""Acceptance scenario of issue 5 on the real corpus imported from ../shared."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from web_helpers import make_app, register
from week_oracle import team_week

from rally.db import make_engine
from rally.etl.importer import import_paths
from rally.services.week import TeamWeek


@pytest.fixture(scope="module", params=("postgresql", "sqlite"))
def corpus_app(
    request: pytest.FixtureRequest,
    db_factory: Any,
    shared_leagues_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FastAPI]:
    """The app on a database holding the whole real corpus, imported once per backend."""
    url = db_factory.create(request.param)
    engine = make_engine(url)
    try:
        report = import_paths(engine, [shared_leagues_dir])
    finally:
        engine.dispose()
    failed = {key: league.error for key, league in report.leagues.items() if league.error}
    assert not failed, failed
    yield make_app(url, tmp_path_factory.mktemp("corpus"))
    db_factory.drop(url)


def _league_of_teams(app: FastAPI, team_ids: list[int]) -> set[str]:
    with app.state.engine.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT DISTINCT l.league_id FROM teams t JOIN leagues l ON l.id = t.league_id "
                    "WHERE t.id IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": team_ids},
            ).scalars()
        )


def test_aaron_walsh_claims_confirms_and_switches(corpus_app: FastAPI) -> None:
    aaron = TestClient(corpus_app)
    reg = register(aaron, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    claim = reg["claim"]
    assert claim["status"] == "linked", claim
    apta = claim["claimed"]
    assert (apta["league"], apta["club"], apta["series"], apta["team"]) == (
        "APTA_CHICAGO",
        "Tennaqua",
        "Series 12",
        "Tennaqua 12",
    )

    offered = aaron.get("/api/me/suggestions").json()
    nstf = [r for r in offered if r["league"] == "NSTF"]
    assert {(r["club"], r["series"]) for r in nstf} == {
        ("Midtown", "Series 1"),
        ("Midtown", "Series 2A"),
    }
    assert all(r["first_name"] == "Aaron" and r["last_name"] == "Walsh" for r in offered)
    assert len(aaron.get("/api/me/claims").json()) == 1  # offered, not linked
    for record in nstf:
        response = aaron.post("/api/me/claims", json={"player_id": record["player_id"]})
        assert response.status_code == 201, response.text

    teams = aaron.get("/api/me/teams").json()
    assert sorted((t["league"], t["series"]) for t in teams) == [
        ("APTA_CHICAGO", "Series 12"),
        ("NSTF", "Series 1"),
        ("NSTF", "Series 2A"),
    ]
    seen_series: dict[tuple[str, str], int] = {}
    for team in teams:
        switched = aaron.put("/api/me/context", json={"team_id": team["team_id"]})
        assert switched.status_code == 200, switched.text
        context = aaron.get("/api/me/context").json()["context"]
        assert (context["team_id"], context["league"], context["series"]) == (
            team["team_id"],
            team["league"],
            team["series"],
        )
        table = aaron.get(f"/api/series/{context['series_id']}/standings").json()
        assert table["league"] == team["league"] and table["series"] == team["series"]
        assert table["rows"], f"{team['series']} of {team['league']} has standings"
        ids = [r["team_id"] for r in table["rows"]]
        assert None not in ids and _league_of_teams(corpus_app, ids) == {team["league"]}
        if team["league"] == "NSTF":  # the APTA standings file has no "Tennaqua 12" row
            assert team["team_id"] in ids
        seen_series[(team["league"], team["series"])] = context["series_id"]

    nstf_s1 = aaron.get(f"/api/series/{seen_series[('NSTF', 'Series 1')]}/standings").json()
    assert all(" S1" in row["team"] for row in nstf_s1["rows"])
    apta_s1 = next(
        s for s in aaron.get("/api/leagues/APTA_CHICAGO/series").json() if s["name"] == "Series 1"
    )
    assert apta_s1["series_id"] != seen_series[("NSTF", "Series 1")]
    page = aaron.get("/standings")
    assert "No series data" not in page.text and "Midtown S2A" in page.text

    rival = TestClient(corpus_app)
    late = register(rival, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    assert late["claim"]["status"] == "none" and "already claimed" in late["claim"]["message"]
    refused = rival.post("/api/me/claims", json={"player_id": apta["player_id"]})
    assert refused.status_code == 409 and "already claimed" in refused.json()["error"]
    with corpus_app.state.engine.connect() as conn:
        owner = conn.execute(
            sa.text("SELECT user_id FROM player_claims WHERE player_id = :p"),
            {"p": apta["player_id"]},
        ).scalar()
    assert owner == reg["user"]["id"]

    # Issue 13: Aaron marks availability on his NSTF team; his other teams never show it.
    corpus_app.state.today = lambda: dt.date(2025, 5, 1)  # before the NSTF season
    pages = {t["team_id"]: aaron.get(f"/api/teams/{t['team_id']}").json() for t in teams}
    nstf_team = next(
        t for t in teams if t["league"] == "NSTF" and pages[t["team_id"]]["next_match"]
    )
    record = next(r for r in nstf if r["series"] == nstf_team["series"])["player_id"]
    match = pages[nstf_team["team_id"]]["next_match"]["schedule_id"]
    marked = aaron.put(
        f"/api/players/{record}/availability/{match}", json={"status": "available", "note": "yes"}
    )
    assert marked.status_code == 200, marked.text
    grid = aaron.get(f"/api/teams/{nstf_team['team_id']}/availability").json()
    mine = next(r for r in grid["players"] if r["player_id"] == record)
    assert mine["answers"][0] == {"status": "available", "note": "yes"}
    assert grid["matches"][0]["counts"]["available"] == 1
    for other in (t for t in teams if t["team_id"] != nstf_team["team_id"]):
        page = aaron.get(f"/api/teams/{other['team_id']}").json()
        assert all(m["counts"]["available"] == 0 for m in page["upcoming"] + page["past"])
        other_grid = aaron.get(f"/api/teams/{other['team_id']}/availability").json()
        assert all(a is None for r in other_grid["players"] for a in r["answers"])
        if not page["upcoming"] and not page["past"]:
            league = "APTA Chicago" if other["league"] == "APTA_CHICAGO" else None
            if league:  # the real APTA files publish no schedule for Tennaqua 12
                assert page["empty"]["upcoming"] == (
                    f"{league} has published no schedule for {other['team']}."
                )
            assert other_grid["empty"]
    refused = aaron.put(
        f"/api/players/{apta['player_id']}/availability/{match}", json={"status": "available"}
    )
    assert refused.status_code == 404  # an NSTF match is no match of the APTA team
    with corpus_app.state.engine.connect() as conn:
        answers = conn.execute(sa.text("SELECT player_id FROM player_availability")).scalars()
        assert list(answers) == [record]


def test_team_api_equals_the_service_on_the_corpus(corpus_app: FastAPI) -> None:
    # On PostgreSQL the API answers from one statement: it must agree with the service,
    # for the team with the most results and a sample of the others.
    today = dt.date(2025, 3, 1)
    corpus_app.state.today = lambda: today
    with corpus_app.state.engine.connect() as conn:
        ids = (
            conn.execute(
                sa.text(
                    "SELECT t.id FROM teams t LEFT JOIN match_scores m "
                    "ON m.home_team_id = t.id OR m.away_team_id = t.id "
                    "GROUP BY t.id ORDER BY count(m.id) DESC, t.id"
                )
            )
            .scalars()
            .all()
        )
    # One client for all requests (one event loop: its asynchronous connections are reused).
    with TestClient(corpus_app) as client, Session(corpus_app.state.engine) as session:
        for team_id in [ids[0], *ids[1::25]]:
            answer = client.get(f"/api/teams/{team_id}")
            assert answer.status_code == 200, answer.text
            doc = team_week(session, team_id=team_id, today=today)
            assert answer.json() == TypeAdapter(TeamWeek).dump_python(doc, mode="json"), team_id
