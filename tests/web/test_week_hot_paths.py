"""The team page's one statement answers exactly as the general service, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.orm import Session
from web_fixtures import seed
from week_fixtures import TODAY, add_week
from week_oracle import team_week

from rally.db import make_engine
from rally.models import User
from rally.services.week import TeamWeek
from rally.services.week_sql import team_week_json, team_week_text

_DOC = TypeAdapter(TeamWeek)


def statement_docs(url: str, team_ids: list[int], today: dt.date, limit: int | None) -> list[Any]:
    """The team documents of the one team statement, as each backend serves them:
    PostgreSQL on an asynchronous psycopg connection, SQLite in a session."""
    if url.startswith("sqlite"):
        engine = make_engine(url)
        try:
            with Session(engine) as session:
                return [
                    _loads(team_week_text(session, team_id=t, today=today, results_limit=limit))
                    for t in team_ids
                ]
        finally:
            engine.dispose()
    conninfo = sa.make_url(url).set(drivername="postgresql").render_as_string(False)

    async def fast() -> list[Any]:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return [
                _loads(await team_week_json(conn, team_id=t, today=today, results_limit=limit))
                for t in team_ids
            ]

    return asyncio.run(fast())


def fast_and_general(url: str, team_ids: list[int], today: dt.date, limit: int | None) -> None:
    """Assert, for every team, that the statement's document equals the service's."""
    answers = statement_docs(url, team_ids, today, limit)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            for team_id, answer in zip(team_ids, answers, strict=True):
                doc = team_week(session, team_id=team_id, today=today, results_limit=limit)
                assert answer == _DOC.dump_python(doc, mode="json"), team_id
    finally:
        engine.dispose()


def _loads(text: str) -> Any:
    import json

    return json.loads(text)


def _edges(engine: sa.Engine, ids: dict[str, int], week: dict[str, int]) -> None:
    """Rows the statement must treat like the service: no date, no time, no players, a tie,
    legacy answers (newest of a day wins; a linked answer wins over it), inactive players."""
    apta, team = ids["league_APTA"], ids["team_tennaqua_12"]
    rival = ids["team_wilmette_12"]
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO schedule (league_id, match_date, match_time, home_team, away_team, "
                "home_team_id, away_team_id) VALUES (:l, NULL, NULL, 'Tennaqua 12', 'TBD', :t, NULL),"
                " (:l, '2025-01-22', NULL, 'Guests', 'Tennaqua 12', NULL, :t),"
                " (:l, '2025-01-21', NULL, 'Tennaqua 12', 'Wilmette 12', :t, :r)"
            ),
            {"l": apta, "t": team, "r": rival},
        )
        conn.execute(
            sa.text(
                "INSERT INTO match_scores (league_id, match_date, home_team, away_team, "
                "home_team_id, away_team_id, home_player_1_id, home_player_2_id, "
                "away_player_1_id, away_player_2_id, scores, winner, line) VALUES "
                "(:l, '2025-01-03', 'Wilmette 12', 'Tennaqua 12', :r, :t, 'apta-rs', NULL, "
                "'apta-ann', 'unknown-id', '6-4, 4-6', 'tie', 'Line 3'),"
                "(:l, '2025-01-03', 'Wilmette 12', 'Tennaqua 12', :r, :t, '', NULL, "
                "'apta-jim', NULL, NULL, NULL, NULL),"
                "(:l, NULL, 'Tennaqua 12', 'Guests', :t, NULL, 'apta-jw', 'apta-aw', "
                "NULL, NULL, '6-0, 6-0', 'home', 'Line 1'),"
                "(:l, '2025-01-02', 'Unknown Club', 'Tennaqua 12', NULL, :t, 'x1', NULL, "
                "'apta-aw', NULL, '6-1, 6-1', 'away', 'Line 2')"
            ),
            {"l": apta, "t": team, "r": rival},
        )
        for status, stamp, linked in (
            (2, "2025-01-01T10:00:00+00:00", None),
            (3, "2025-01-02T10:00:00+00:00", None),
            (1, None, None),
            (2, "2025-01-01T09:00:00+00:00", week["apta_next"]),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO player_availability (player_name, player_id, match_date, "
                    "availability_status, series_id, league_id, updated_at, schedule_id) VALUES "
                    "('x', :p, :d, :s, :se, :l, :u, :sid)"
                ),
                {
                    "p": ids["player_jim"] if linked is None else ids["player_james"],
                    "d": "2025-01-14T02:00:00-06:00",
                    "s": status,
                    "se": ids["series_apta_s12"],
                    "l": apta,
                    "u": stamp,
                    "sid": linked,
                },
            )
        conn.execute(
            sa.text("UPDATE players SET is_active = false WHERE id = :p"), {"p": ids["player_ann"]}
        )


def _edge_world(url: str) -> list[int]:
    """Seed the web world, its week and the edge rows; return every team id."""
    engine = make_engine(url)
    try:
        ids = seed(engine)
        week = add_week(engine, ids)
        _edges(engine, ids, week)
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT id FROM teams ORDER BY id")).scalars())
    finally:
        engine.dispose()


DAYS = (TODAY, dt.date(2024, 12, 1), dt.date(2025, 6, 1))


@pytest.mark.parametrize("limit", [None, 1])
def test_team_week_statement_equals_service_for_every_team(db_url: str, limit: int | None) -> None:
    team_ids = _edge_world(db_url)
    for today in DAYS:
        fast_and_general(db_url, team_ids, today, limit)


def test_team_week_statement_answers_the_same_on_both_backends(db_factory: Any) -> None:
    """The same rows give the same team documents on SQLite and PostgreSQL."""
    lite, pg = db_factory.create("sqlite"), db_factory.create("postgresql")
    try:
        team_ids = _edge_world(lite)
        assert _edge_world(pg) == team_ids
        for today in DAYS:
            for limit in (None, 1):
                lite_docs = statement_docs(lite, team_ids, today, limit)
                assert statement_docs(pg, team_ids, today, limit) == lite_docs, (today, limit)
        # The edge rows are in the documents compared (not only empty sections).
        docs = statement_docs(lite, team_ids, TODAY, None)
        assert any(doc["results"] and doc["upcoming"] and doc["roster"] for doc in docs)
        counts = [m["counts"] for doc in docs for m in doc["upcoming"] + doc["past"]]
        assert any(c["unavailable"] for c in counts) and any(c["unsure"] for c in counts)
        assert any(m["date"] is None for doc in docs for m in doc["upcoming"])
    finally:
        db_factory.drop(pg)


def test_grid_statement_equals_service(pg_db_url: str) -> None:
    from rally.services.accounts import start_session
    from rally.services.availability import Grid, team_grid
    from rally.services.week_viewer_sql import grid_json

    engine = make_engine(pg_db_url)
    try:
        ids = seed(engine)
        week = add_week(engine, ids)
        _edges(engine, ids, week)
        tokens = {}
        with Session(engine) as session, session.begin():
            for name, rows in (
                ("aaron", ["player_aaron_apta", "player_aaron_s1"]),
                ("james", ["player_james"]),
            ):
                user_id = session.execute(
                    sa.text(
                        "INSERT INTO users (email, password_hash) VALUES (:e, 'x') RETURNING id"
                    ),
                    {"e": f"{name}@example.com"},
                ).scalar_one()
                for row in rows:
                    session.execute(
                        sa.text(
                            "INSERT INTO player_claims (user_id, player_id, league_id) "
                            "SELECT :u, id, league_id FROM players WHERE id = :p"
                        ),
                        {"u": user_id, "p": ids[row]},
                    )
                user = session.get(User, user_id)
                tokens[name] = (user_id, start_session(session, user=user).token)
    finally:
        engine.dispose()
    conninfo = sa.make_url(pg_db_url).set(drivername="postgresql").render_as_string(False)
    cases = [
        (name, team, today)
        for name, teams in (
            ("aaron", ["team_tennaqua_12", "team_midtown_s1"]),
            ("james", ["team_tennaqua_12"]),
        )
        for team in teams
        for today in (TODAY, dt.date(2024, 12, 1), dt.date(2025, 6, 1))
    ]

    async def fast() -> list[Any]:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            return [
                _loads(
                    await grid_json(conn, token=tokens[name][1], team_id=ids[team], today=today)
                    or "null"
                )
                for name, team, today in cases
            ]

    answers = asyncio.run(fast())
    engine = make_engine(pg_db_url)
    try:
        with Session(engine) as session:
            for (name, team, today), answer in zip(cases, answers, strict=True):
                grid = team_grid(session, user_id=tokens[name][0], team_id=ids[team], today=today)
                expected = TypeAdapter(Grid).dump_python(grid, mode="json")
                assert answer == expected, (name, team, today)
    finally:
        engine.dispose()
