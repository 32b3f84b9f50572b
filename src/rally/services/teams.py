"""My teams and switching the team context (the team page is in `team_page`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from rally.db import is_postgres
from rally.models import (
    Club,
    League,
    Player,
    PlayerClaim,
    Series,
    Team,
    User,
    UserContext,
)
from rally.services.accounts import token_hash
from rally.services.errors import TeamNotClaimed, TeamNotFound

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class TeamRef:
    """A team of one of the user's claimed records."""

    team_id: int
    team: str
    league: str
    league_name: str
    club: str
    series: str
    series_id: int
    player_id: int
    current: bool


@dataclass(frozen=True)
class Context:
    """The team the user is looking at, with that team's own series and league."""

    team_id: int
    team: str
    series_id: int
    series: str
    league: str
    league_name: str
    club: str


_TEAM_COLUMNS = (
    Team.id,
    Team.team_name,
    League.league_id,
    League.league_name,
    Club.name,
    Series.name,
    Series.id,
)


def team_select() -> Select[int, str, str, str, str, str, int]:
    """Select a team with its club, series and league names (`_TEAM_COLUMNS`)."""
    return (
        select(*_TEAM_COLUMNS)
        .join(League, League.id == Team.league_id)
        .join(Club, Club.id == Team.club_id)
        .join(Series, Series.id == Team.series_id)
    )


def my_teams(session: Session, *, user_id: int) -> list[TeamRef]:
    """Return every team of every record the user claimed, across leagues."""
    current = session.scalar(select(UserContext.team_id).where(UserContext.user_id == user_id))
    rows = session.execute(
        team_select()
        .add_columns(Player.id)
        .join(Player, Player.team_id == Team.id)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(PlayerClaim.user_id == user_id)
        .order_by(League.league_id, Series.name, Team.team_name)
    ).all()
    seen: set[int] = set()
    teams: list[TeamRef] = []
    for tid, team, key, lname, club, series, sid, pid in rows:
        if tid in seen:
            continue
        seen.add(tid)
        teams.append(
            TeamRef(
                team_id=tid,
                team=team,
                league=key,
                league_name=lname,
                club=club,
                series=series,
                series_id=sid,
                player_id=pid,
                current=tid == current,
            )
        )
    return teams


def _context(row: tuple[object, ...]) -> Context:
    tid, team, key, lname, club, series, sid = row
    return Context(
        team_id=tid,  # type: ignore[arg-type]
        team=team,  # type: ignore[arg-type]
        league=key,  # type: ignore[arg-type]
        league_name=lname,  # type: ignore[arg-type]
        club=club,  # type: ignore[arg-type]
        series=series,  # type: ignore[arg-type]
        series_id=sid,  # type: ignore[arg-type]
    )


def current_context(session: Session, *, user_id: int) -> Context | None:
    """Return the user's team context, always with the team's own series, or None."""
    row = session.execute(
        team_select()
        .join(UserContext, UserContext.team_id == Team.id)
        .where(UserContext.user_id == user_id)
    ).first()
    return _context(tuple(row)) if row else None


@lru_cache(maxsize=1)
def _switch_statement() -> Any:
    # Built once (team switching is hot): the team, its league and whether the user claimed
    # a record on it, in one round trip.
    claimed = (
        select(Player.league_id)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(PlayerClaim.user_id == bindparam("user_id"), Player.team_id == Team.id)
        .limit(1)
        .scalar_subquery()
    )
    return team_select().add_columns(claimed).where(Team.id == bindparam("team_id"))


@lru_cache(maxsize=2)
def _upsert_statement(dialect_name: str) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    stmt = dialect.insert(UserContext).values(
        user_id=bindparam("user_id"),
        league_id=bindparam("league_id"),
        team_id=bindparam("team_id"),
        series_id=bindparam("series_id"),
        last_updated=bindparam("now"),
    )
    # One statement, so concurrent switches of one user cannot collide on the insert.
    return stmt.on_conflict_do_update(
        index_elements=[UserContext.user_id],
        set_={
            "league_id": stmt.excluded.league_id,
            "team_id": stmt.excluded.team_id,
            "series_id": stmt.excluded.series_id,
            "last_updated": stmt.excluded.last_updated,
        },
    )


def switch_team(session: Session, *, user_id: int, team_id: int) -> Context:
    """Set the user's context to a team of a claimed record (league, team, series together).

    TeamNotFound (404) for an unknown team; TeamNotClaimed (403) for a team of no record
    the user claimed. The context's series and league are taken from the team itself.
    """
    conn = session.connection()
    row = conn.execute(_switch_statement(), {"team_id": team_id, "user_id": user_id}).first()
    if row is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    league_id = row[7]
    if league_id is None:
        raise TeamNotClaimed(
            f"{row[1]} is not a team of a player record you claimed; claim the record first."
        )
    if is_postgres(conn):
        # A lost context switch after a crash is harmless; do not wait for the WAL flush.
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    conn.execute(
        _upsert_statement(conn.dialect.name),
        {
            "user_id": user_id,
            "league_id": league_id,
            "team_id": team_id,
            "series_id": row[6],
            "now": dt.datetime.now(dt.UTC),
        },
    )
    # The legacy column: usually already loaded by the request's authentication.
    user = session.get(User, user_id)
    if user is not None and user.league_context != league_id:
        user.league_context = league_id
        session.flush()
    return _context(tuple(row[:7]))


#: `switch_team` in one statement (PostgreSQL): the user (`me`), the team, whether the user
#: claimed a record on it, and, only if so, the context upsert and the legacy
#: users.league_context column. No row: `me` found no user.
_SWITCH_SQL = """
WITH me AS ({me}), t AS (
    SELECT tm.id, tm.team_name, l.league_id AS league_key, l.league_name, c.name AS club,
           se.name AS series, se.id AS series_id,
           (SELECT p.league_id FROM players p
              JOIN player_claims pc ON pc.player_id = p.id
             WHERE pc.user_id = (SELECT user_id FROM me) AND p.team_id = tm.id
             LIMIT 1) AS claimed
      FROM teams tm
      JOIN leagues l ON l.id = tm.league_id
      JOIN clubs c ON c.id = tm.club_id
      JOIN series se ON se.id = tm.series_id
     WHERE tm.id = %(team_id)s
), context AS (
    INSERT INTO user_contexts (user_id, league_id, team_id, series_id, last_updated)
    SELECT me.user_id, t.claimed, t.id, t.series_id, %(now)s
      FROM me, t WHERE t.claimed IS NOT NULL
    ON CONFLICT (user_id) DO UPDATE SET
        league_id = excluded.league_id, team_id = excluded.team_id,
        series_id = excluded.series_id, last_updated = excluded.last_updated
    RETURNING 1
), legacy AS (
    UPDATE users SET league_context = t.claimed FROM me, t
     WHERE users.id = me.user_id AND t.claimed IS NOT NULL
       AND users.league_context IS DISTINCT FROM t.claimed
    RETURNING 1
)
SELECT t.id, t.team_name, t.league_key, t.league_name, t.club, t.series, t.series_id,
       t.claimed, me.user_id
  FROM me LEFT JOIN t ON true
"""
_SWITCH_BY_ID_SQL = _SWITCH_SQL.format(me="SELECT %(user_id)s::integer AS user_id")
_SWITCH_BY_TOKEN_SQL = _SWITCH_SQL.format(
    me="SELECT user_id FROM user_sessions WHERE token_hash = %(token_hash)s "
    "AND expires_at > %(now)s"
)


async def _switch(
    connection: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any]
) -> Context | None:
    team_id = params["team_id"]
    cursor = await connection.execute(sql, {**params, "now": dt.datetime.now(dt.UTC)}, prepare=True)
    row = await cursor.fetchone()
    if row is None:
        return None
    if row[0] is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    if row[7] is None:
        raise TeamNotClaimed(
            f"{row[1]} is not a team of a player record you claimed; claim the record first."
        )
    return _context(tuple(row[:7]))


async def switch_team_at_once(
    connection: psycopg.AsyncConnection[Any], *, user_id: int, team_id: int
) -> Context:
    """`switch_team` as one statement on an autocommit PostgreSQL connection (hot path).

    Same checks, writes and errors as `switch_team`; the statement is its own transaction.
    """
    context = await _switch(connection, _SWITCH_BY_ID_SQL, {"user_id": user_id, "team_id": team_id})
    assert context is not None  # `me` always has the one row of user_id
    return context


async def switch_team_for_token(
    connection: psycopg.AsyncConnection[Any], *, token: str, team_id: int
) -> Context | None:
    """Like `switch_team_at_once` for the user of a live session token; None if there is none.

    Sign-in check and switch in one statement: nothing is written for a dead token.
    """
    if not token or len(token) > 200:
        return None
    return await _switch(
        connection, _SWITCH_BY_TOKEN_SQL, {"token_hash": token_hash(token), "team_id": team_id}
    )
