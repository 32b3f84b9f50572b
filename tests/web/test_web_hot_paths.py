"""The fast paths of standings and team switching answer exactly as the general ones do."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from web_helpers import bearer, register

from rally.services.standings import Standings, series_standings

_STANDINGS = TypeAdapter(Standings)


def _add_stats(engine: sa.Engine, world: dict[str, int], **values: Any) -> None:
    row = {"league_id": world["league_APTA"], "series_id": world["series_apta_s12"], **values}
    columns = ", ".join(row)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"INSERT INTO series_stats ({columns}) VALUES (:{', :'.join(row)})"), row
        )


def _api_and_service(client: TestClient, engine: sa.Engine, series_id: int) -> tuple[Any, Any]:
    answer = client.get(f"/api/series/{series_id}/standings")
    assert answer.status_code == 200, answer.text
    with Session(engine) as session:
        expected = _STANDINGS.dump_python(
            series_standings(session, series_id=series_id), mode="json"
        )
    return answer.json(), expected


def test_standings_api_equals_the_service_for_every_series(
    client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    # Edge rows: a team-less row (name from the stats), a tie on points and wins, no points.
    _add_stats(engine, world, team="Guest Team", points=20, matches_won=2)
    _add_stats(engine, world, team="Aardvarks", points=20, matches_won=2)
    _add_stats(engine, world, team="No Points Yet", points=None, matches_won=None)
    with engine.connect() as conn:
        series_ids = conn.execute(sa.text("SELECT id FROM series ORDER BY id")).scalars().all()
    assert len(series_ids) >= 5
    for series_id in series_ids:
        answer, expected = _api_and_service(client, engine, series_id)
        assert answer == expected
    table, _ = _api_and_service(client, engine, world["series_apta_s12"])
    assert [(r["position"], r["team"], r["team_id"]) for r in table["rows"]] == [
        (1, "Wilmette 12", world["team_wilmette_12"]),
        (2, "Aardvarks", None),
        (3, "Guest Team", None),
        (4, "Tennaqua 12", world["team_tennaqua_12"]),
        (5, "No Points Yet", None),
    ]


def test_standings_follow_data_changes_at_once(
    client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    series_id = world["series_apta_s12"]
    before = client.get(f"/api/series/{series_id}/standings").json()
    assert [r["team"] for r in before["rows"]] == ["Wilmette 12", "Tennaqua 12"]
    # What a re-import does: rows updated, renamed, removed, in the same process.
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE series_stats SET points = 99 WHERE team_id = :t"),
            {"t": world["team_tennaqua_12"]},
        )
        conn.execute(
            sa.text("UPDATE teams SET team_name = 'Tennaqua Twelve' WHERE id = :t"),
            {"t": world["team_tennaqua_12"]},
        )
    after = client.get(f"/api/series/{series_id}/standings").json()
    assert [(r["team"], r["points"]) for r in after["rows"]] == [
        ("Tennaqua Twelve", 99),
        ("Wilmette 12", 30),
    ]
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM series_stats WHERE series_id = :s"), {"s": series_id})
    assert client.get(f"/api/series/{series_id}/standings").json()["rows"] == []


def test_switch_keeps_the_legacy_column_and_sign_out_ends_it_at_once(
    client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    reg = register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    token, user_id = reg["token"], reg["user"]["id"]
    client.post("/api/me/claims", json={"player_id": world["player_aaron_s1"]})
    for team, league in (("team_midtown_s1", "league_NSTF"), ("team_tennaqua_12", "league_APTA")):
        switched = client.put(
            "/api/me/context", json={"team_id": world[team]}, headers=bearer(token)
        )
        assert switched.status_code == 200, switched.text
        with engine.connect() as conn:
            legacy = conn.execute(
                sa.text("SELECT league_context FROM users WHERE id = :u"), {"u": user_id}
            ).scalar_one()
        assert legacy == world[league]
    # Sign-in is checked before the body: a bad token with a bad body is still 401.
    stranger = {"Authorization": "Bearer not-a-session"}
    assert client.put("/api/me/context", json={"team_id": "x"}, headers=stranger).status_code == 401
    assert client.post("/api/logout", headers=bearer(token)).status_code == 204
    after = client.put(
        "/api/me/context", json={"team_id": world["team_midtown_s1"]}, headers=bearer(token)
    )
    assert after.status_code == 401
    with engine.connect() as conn:
        team = conn.execute(
            sa.text("SELECT team_id FROM user_contexts WHERE user_id = :u"), {"u": user_id}
        ).scalar_one()
    assert team == world["team_tennaqua_12"]


def test_switch_answers_alike_whatever_the_shape_of_a_valid_body(
    client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    token = register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")["token"]
    client.post("/api/me/claims", json={"player_id": world["player_aaron_s1"]})
    midtown, tennaqua = world["team_midtown_s1"], world["team_tennaqua_12"]
    plain = client.put("/api/me/context", json={"team_id": midtown}, headers=bearer(token))
    # A numeric string validates too (pydantic's lax mode): the general path answers it.
    lax = client.put("/api/me/context", json={"team_id": str(midtown)}, headers=bearer(token))
    assert plain.status_code == lax.status_code == 200, lax.text
    assert plain.json() == lax.json()
    assert plain.json()["context"]["league"] == "NSTF"
    foreign = str(world["team_wilmette_12"])
    assert client.put("/api/me/context", json={"team_id": foreign}).status_code == 403
    assert client.put("/api/me/context", json={"team_id": "987654"}).status_code == 404
    # Not JSON: refused as malformed, and nothing is switched.
    text_body = client.put(
        "/api/me/context",
        content=f'{{"team_id": {tennaqua}}}',
        headers={**bearer(token), "Content-Type": "text/plain"},
    )
    assert text_body.status_code == 422
    assert client.get("/api/me/context").json()["context"]["team_id"] == midtown
