"""The database itself refuses rows that point at another league's series, team or player."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError


@dataclass
class World:
    """Two leagues that both have a "Series 1", each with one team and one player."""

    apta: int
    nstf: int
    apta_s1: int
    nstf_s1: int
    club: int
    apta_team: int
    nstf_team: int
    apta_player: int
    user: int


def _insert(conn: sa.Connection, sql: str, **params: object) -> int:
    return int(conn.execute(sa.text(sql + " RETURNING id"), params).scalar_one())


@pytest.fixture
def world(engine: sa.Engine) -> Iterator[World]:
    with engine.begin() as conn:
        apta = _insert(
            conn, "INSERT INTO leagues (league_id, league_name) VALUES ('APTA_CHICAGO', 'APTA')"
        )
        nstf = _insert(conn, "INSERT INTO leagues (league_id, league_name) VALUES ('NSTF', 'NSTF')")
        series = (
            "INSERT INTO series (name, display_name, league_id) VALUES ('Series 1', 'Series 1', :l)"
        )
        apta_s1 = _insert(conn, series, l=apta)
        nstf_s1 = _insert(conn, series, l=nstf)
        club = _insert(conn, "INSERT INTO clubs (name) VALUES ('Tennaqua')")
        team = (
            "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
            "VALUES (:c, :s, :l, :n, :n)"
        )
        apta_team = _insert(conn, team, c=club, s=apta_s1, l=apta, n="Tennaqua 1")
        nstf_team = _insert(conn, team, c=club, s=nstf_s1, l=nstf, n="Tennaqua S1")
        apta_player = _insert(
            conn,
            "INSERT INTO players (tenniscores_player_id, first_name, last_name, league_id, "
            "club_id, series_id, team_id) VALUES ('p1', 'Aaron', 'Walsh', :l, :c, :s, :t)",
            l=apta,
            c=club,
            s=apta_s1,
            t=apta_team,
        )
        user = _insert(
            conn, "INSERT INTO users (email, password_hash) VALUES ('a@example.com', 'x')"
        )
    yield World(apta, nstf, apta_s1, nstf_s1, club, apta_team, nstf_team, apta_player, user)


def _refused(engine: sa.Engine, sql: str, **params: object) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def test_same_series_name_in_two_leagues_is_two_rows(engine: sa.Engine, world: World) -> None:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT league_id FROM series WHERE name = 'Series 1'")).all()
    assert sorted(r[0] for r in rows) == sorted([world.apta, world.nstf])


def test_series_name_unique_within_a_league(engine: sa.Engine, world: World) -> None:
    _refused(
        engine,
        "INSERT INTO series (name, display_name, league_id) VALUES ('Series 1', 'x', :l)",
        l=world.nstf,
    )


def test_team_pointing_at_another_leagues_series_is_refused(
    engine: sa.Engine, world: World
) -> None:
    _refused(
        engine,
        "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
        "VALUES (:c, :s, :l, 'Tennaqua 2', 'Tennaqua 2')",
        c=world.club,
        s=world.nstf_s1,
        l=world.apta,
    )


def test_club_may_field_two_teams_in_one_series(engine: sa.Engine, world: World) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
                "VALUES (:c, :s, :l, 'Tennaqua 1b', 'Tennaqua 1b')"
            ),
            {"c": world.club, "s": world.apta_s1, "l": world.apta},
        )


def test_player_on_another_leagues_team_is_refused(engine: sa.Engine, world: World) -> None:
    _refused(
        engine,
        "INSERT INTO players (tenniscores_player_id, first_name, last_name, league_id, "
        "club_id, series_id, team_id) VALUES ('p2', 'A', 'B', :l, :c, :s, :t)",
        l=world.apta,
        c=world.club,
        s=world.apta_s1,
        t=world.nstf_team,
    )


def test_standings_row_on_another_leagues_series_is_refused(
    engine: sa.Engine, world: World
) -> None:
    _refused(
        engine,
        "INSERT INTO series_stats (league_id, series, team, series_id, team_id, points) "
        "VALUES (:l, 'Series 1', 'Tennaqua 1', :s, :t, 3)",
        l=world.apta,
        s=world.nstf_s1,
        t=world.apta_team,
    )


def test_player_row_moving_to_another_leagues_series_is_refused(
    engine: sa.Engine, world: World
) -> None:
    _refused(
        engine,
        "UPDATE players SET series_id = :s WHERE id = :p",
        s=world.nstf_s1,
        p=world.apta_player,
    )


def test_context_must_agree_with_its_team(engine: sa.Engine, world: World) -> None:
    insert = (
        "INSERT INTO user_contexts (user_id, league_id, team_id, series_id) VALUES (:u, :l, :t, :s)"
    )
    # The team's own series: accepted.
    with engine.begin() as conn:
        conn.execute(
            sa.text(insert),
            {"u": world.user, "l": world.apta, "t": world.apta_team, "s": world.apta_s1},
        )
        conn.execute(sa.text("DELETE FROM user_contexts"))
    # Same-named series of another league, another league's team, or no series: refused.
    _refused(engine, insert, u=world.user, l=world.apta, t=world.apta_team, s=world.nstf_s1)
    _refused(engine, insert, u=world.user, l=world.apta, t=world.nstf_team, s=world.apta_s1)
    _refused(engine, insert, u=world.user, l=world.apta, t=world.apta_team, s=None)


def test_team_moving_series_carries_its_contexts_within_its_league(
    engine: sa.Engine, world: World
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO user_contexts (user_id, league_id, team_id, series_id) "
                "VALUES (:u, :l, :t, :s)"
            ),
            {"u": world.user, "l": world.apta, "t": world.apta_team, "s": world.apta_s1},
        )
        apta_s2 = _insert(
            conn,
            "INSERT INTO series (name, display_name, league_id) VALUES ('Series 2', 'S2', :l)",
            l=world.apta,
        )
        conn.execute(sa.text("UPDATE players SET series_id = :s"), {"s": apta_s2})
        conn.execute(
            sa.text("UPDATE teams SET series_id = :s WHERE id = :t"),
            {"s": apta_s2, "t": world.apta_team},
        )
        moved = conn.execute(sa.text("SELECT series_id FROM user_contexts")).scalar_one()
    assert moved == apta_s2
    # Another league's series stays out of reach, for the team and so for its contexts.
    _refused(
        engine,
        "UPDATE teams SET series_id = :s WHERE id = :t",
        s=world.nstf_s1,
        t=world.apta_team,
    )
