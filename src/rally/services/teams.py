"""My teams and switching the team context (the team page is in `team_page`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Integer, Select, bindparam, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from rally.db import PostgresSql, is_postgres, postgres_sql
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
    Team.id.label("team_id"),
    Team.team_name.label("team"),
    League.league_id.label("league"),
    League.league_name.label("league_name"),
    Club.name.label("club"),
    Series.name.label("series"),
    Series.id.label("series_id"),
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


def _context(row: Any) -> Context:
    return Context(
        team_id=row.team_id,
        team=row.team,
        league=row.league,
        league_name=row.league_name,
        club=row.club,
        series=row.series,
        series_id=row.series_id,
    )


def current_context(session: Session, *, user_id: int) -> Context | None:
    """Return the user's team context, always with the team's own series, or None."""
    row = session.execute(
        team_select()
        .join(UserContext, UserContext.team_id == Team.id)
        .where(UserContext.user_id == user_id)
    ).first()
    return _context(row) if row else None


# --- The team switch: one definition, run as one statement on PostgreSQL ---------------------
#
# The switch is built from three parts, each written once: `_lookup` (the team, its names and
# the league of a record the user claimed on it), `_upsert` (the context row, one statement so
# that concurrent switches of one user cannot collide) and `_legacy_update` (the legacy
# users.league_context column). On PostgreSQL they form one statement (data-modifying CTEs),
# which the ORM session and the asynchronous hot path both run; SQLite has no such CTEs and
# runs the same three parts in turn inside its write transaction.

_ME = bindparam("me_id", type_=Integer)
_TEAM = bindparam("wanted_team", type_=Integer)
_NOW = bindparam("now", type_=DateTime(timezone=True))


def _lookup() -> Any:
    claimed = (
        select(Player.league_id)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(PlayerClaim.user_id == _ME, Player.team_id == Team.id)
        .limit(1)
        .scalar_subquery()
    )
    return team_select().add_columns(claimed.label("claimed")).where(Team.id == _TEAM)


def _upsert(dialect_name: str, rows: Any) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    columns = ["user_id", "league_id", "team_id", "series_id", "last_updated"]
    stmt = dialect.insert(UserContext).from_select(columns, rows)
    return stmt.on_conflict_do_update(
        index_elements=[UserContext.user_id],
        set_={name: stmt.excluded[name] for name in columns[1:]},
    )


def _legacy_update(claimed: Any) -> Any:
    return (
        update(User)
        .where(User.id == _ME, claimed.is_not(None), User.league_context.is_distinct_from(claimed))
        .values(league_context=claimed)
    )


@lru_cache(maxsize=1)
def switch_statement() -> Any:
    """The whole switch as one PostgreSQL statement; its row is `_lookup`'s, if the team exists.

    The context and the legacy column are written only if the user claimed a record on it.
    """
    t = _lookup().cte("t")
    rows = select(_ME, t.c.claimed, t.c.team_id, t.c.series_id, _NOW).where(
        t.c.claimed.is_not(None)
    )
    context = _upsert("postgresql", rows).returning(literal(1)).cte("context")
    legacy = _legacy_update(t.c.claimed).returning(literal(1)).cte("legacy")
    return select(t).add_cte(context, legacy)


@lru_cache(maxsize=1)
def _sqlite_statements() -> tuple[Any, Any, Any]:
    lookup = _lookup()
    claimed = bindparam("claimed", type_=Integer)
    rows = select(_ME, claimed, _TEAM, bindparam("series_id", type_=Integer), _NOW).where(
        claimed.is_not(None)
    )
    return lookup, _upsert("sqlite", rows), _legacy_update(claimed)


def _outcome(row: Any, team_id: int) -> Context:
    if row is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    if row.claimed is None:
        raise TeamNotClaimed(
            f"{row.team} is not a team of a player record you claimed; claim the record first."
        )
    return _context(row)


def _switch_row(conn: Connection, *, user_id: int, team_id: int) -> Any:
    params = {"me_id": user_id, "wanted_team": team_id, "now": dt.datetime.now(dt.UTC)}
    if is_postgres(conn):
        # A lost context switch after a crash is harmless; do not wait for the WAL flush.
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        return conn.execute(switch_statement(), params).first()
    lookup, upsert, legacy = _sqlite_statements()
    row = conn.execute(lookup, params).first()
    if row is not None and row.claimed is not None:
        values = {**params, "claimed": row.claimed, "series_id": row.series_id}
        conn.execute(upsert, values)
        conn.execute(legacy, values)
    return row


def switch_team_on(conn: Connection, *, user_id: int, team_id: int) -> Context:
    """`switch_team` on a plain connection inside its transaction (no ORM: hot paths)."""
    return _outcome(_switch_row(conn, user_id=user_id, team_id=team_id), team_id)


def switch_team(session: Session, *, user_id: int, team_id: int) -> Context:
    """Set the user's context to a team of a claimed record (league, team, series together).

    TeamNotFound (404) for an unknown team; TeamNotClaimed (403) for a team of no record
    the user claimed. The context's series and league are taken from the team itself.
    """
    row = _switch_row(session.connection(), user_id=user_id, team_id=team_id)
    context = _outcome(row, team_id)
    # The statement wrote the legacy column behind the ORM's back: keep a loaded user current.
    user = session.identity_map.get(identity_key(User, user_id))
    if user is not None:
        set_committed_value(user, "league_context", row.claimed)
    return context


@lru_cache(maxsize=1)
def _switch_sql() -> PostgresSql:
    # The same statement as `switch_team` runs on PostgreSQL, compiled for psycopg once.
    return postgres_sql(switch_statement())


async def switch_team_at_once(
    connection: psycopg.AsyncConnection[Any], *, user_id: int, team_id: int
) -> Context:
    """`switch_team` on an autocommit PostgreSQL connection (the hot path): the same
    statement, checks and errors; the statement is its own transaction."""
    from psycopg.rows import namedtuple_row

    params = {"me_id": user_id, "wanted_team": team_id, "now": dt.datetime.now(dt.UTC)}
    cursor = connection.cursor(row_factory=namedtuple_row)
    statement = _switch_sql()
    await cursor.execute(statement.sql, statement.params(params), prepare=True)
    return _outcome(await cursor.fetchone(), team_id)
