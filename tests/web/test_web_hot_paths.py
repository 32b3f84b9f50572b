"""The fast paths of standings and team switching answer exactly as the general ones do."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import psycopg
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from web_fixtures import seed
from web_helpers import FAST_HASHER, PASSWORD, bearer, register

from rally.db import make_engine
from rally.errors import RallyError
from rally.services.accounts import (
    register_user,
    start_session,
    user_for_token,
    user_id_for_token,
)
from rally.services.claims import claim_player
from rally.services.standings import Standings, series_standings
from rally.services.teams import switch_team, switch_team_at_once, switch_team_on

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


def _switch_story(engine: sa.Engine, run: Any) -> list[Any]:
    """Two users claim the same kind of records; `run(user_id, team_id)` switches one of them.

    Returns what each switch answered and what it left in the database, by name.
    """
    world = seed(engine)
    with Session(engine) as s, s.begin():
        user_ids = []
        for email in ("a@example.com", "b@example.com"):
            user = register_user(
                s,
                email=email,
                password=PASSWORD,
                first_name="Aaron",
                last_name="Walsh",
                hasher=FAST_HASHER,
            )
            s.flush()
            user_ids.append(user.id)
    with Session(engine) as s, s.begin():
        # The first user claims two records; the second one has none.
        for player in ("player_aaron_s1", "player_aaron_apta"):
            claim_player(s, user_id=user_ids[0], player_id=world[player])
    story = []
    for who, team in [
        (0, "team_midtown_s1"),
        (0, "team_tennaqua_12"),
        (0, "team_wilmette_12"),
        (1, "team_midtown_s1"),
        (0, None),
        (0, "team_midtown_s1"),
    ]:
        team_id = world[team] if team else 987654
        try:
            answer: Any = dataclasses.asdict(run(user_ids[who], team_id))
            answer.pop("team_id")
            answer.pop("series_id")
        except RallyError as exc:
            answer = (type(exc).__name__, str(exc))
        with engine.connect() as conn:
            state = conn.execute(
                sa.text(
                    "SELECT u.email, t.team_name, s.name, l.league_id, lc.league_id "
                    "FROM users u LEFT JOIN user_contexts c ON c.user_id = u.id "
                    "LEFT JOIN teams t ON t.id = c.team_id LEFT JOIN series s ON s.id = c.series_id "
                    "LEFT JOIN leagues l ON l.id = c.league_id "
                    "LEFT JOIN leagues lc ON lc.id = u.league_context ORDER BY u.email"
                )
            ).all()
        story.append((answer, [tuple(row) for row in state]))
    return story


def _orm_switch(engine: sa.Engine) -> Any:
    def run(user_id: int, team_id: int) -> Any:
        with Session(engine) as s, s.begin():
            return switch_team(s, user_id=user_id, team_id=team_id)

    return run


def _core_switch(engine: sa.Engine) -> Any:
    def run(user_id: int, team_id: int) -> Any:
        with engine.begin() as conn:
            return switch_team_on(conn, user_id=user_id, team_id=team_id)

    return run


def _async_switch(url: str) -> Any:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def run(user_id: int, team_id: int) -> Any:
        async def go() -> Any:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                return await switch_team_at_once(conn, user_id=user_id, team_id=team_id)

        return asyncio.run(go())

    return run


def test_every_team_switch_path_answers_and_writes_alike(db_factory: Any) -> None:
    """The ORM switch and the connection-level hot path (SQLite) on both backends and the
    asynchronous hot path on PostgreSQL give the same answers and leave the same rows."""
    stories = []
    runners = [
        ("sqlite", lambda engine, _url: _orm_switch(engine)),
        ("sqlite", lambda engine, _url: _core_switch(engine)),
        ("postgresql", lambda engine, _url: _orm_switch(engine)),
        ("postgresql", lambda engine, url: _async_switch(url)),
    ]
    for backend, make_run in runners:
        url = db_factory.create(backend)
        engine = make_engine(url)
        try:
            stories.append(_switch_story(engine, make_run(engine, url)))
        finally:
            engine.dispose()
            db_factory.drop(url)
    assert stories[0] == stories[1] == stories[2] == stories[3]
    answers = [answer for answer, _ in stories[0]]
    assert answers[0]["league"] == "NSTF" and answers[1]["league"] == "APTA_CHICAGO"
    assert answers[2][0] == answers[3][0] == "TeamNotClaimed"
    assert answers[4][0] == "TeamNotFound"
    # The refused switches changed nothing; the legacy column follows the context.
    assert stories[0][2][1] == stories[0][1][1]
    assert stories[0][5][1][0] == ("a@example.com", "Midtown S1", "Series 1", "NSTF", "NSTF")


def test_both_session_lookups_agree(pg_db_url: str) -> None:
    engine = make_engine(pg_db_url)
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        user = register_user(
            s,
            email="t@example.com",
            password=PASSWORD,
            first_name="T",
            last_name="U",
            hasher=FAST_HASHER,
        )
        s.flush()
        live = start_session(s, user=user).token
        expired = start_session(s, user=user, now=now - dt.timedelta(days=30)).token
        user_id = user.id
    conninfo = (
        make_url(pg_db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )

    async def fast(token: str) -> tuple[int, dt.datetime, dt.datetime | None] | None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return await user_id_for_token(conn, token=token)

    try:
        for token in (live, expired, "unknown", ""):
            with Session(engine) as s:
                found = user_for_token(s, token=token)
            fast_found = asyncio.run(fast(token))
            assert (fast_found[0] if fast_found else None) == (found.id if found else None)
        fast_live = asyncio.run(fast(live))
        assert fast_live is not None and fast_live[0] == user_id
    finally:
        engine.dispose()
