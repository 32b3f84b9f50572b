"""Browsing: leagues, their clubs and series, and a series' standings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Text, bindparam, cast, exists, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from rally.db import PostgresSql, postgres_sql
from rally.models import Club, ClubLeague, League, Series, SeriesStats, Team
from rally.services.errors import SeriesNotFound
from rally.services.leagues import league_by_key
from rally.services.plan import Plan, run

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class LeagueInfo:
    """A league by its stable key."""

    league: str
    name: str
    series_count: int


@dataclass(frozen=True)
class SeriesInfo:
    """A series of one league."""

    series_id: int
    name: str
    league: str
    team_count: int


@dataclass(frozen=True)
class TeamSummary:
    """A team in a list."""

    team_id: int
    team: str
    club: str


@dataclass(frozen=True)
class StandingRow:
    """One team's line in its series' standings."""

    position: int
    team_id: int | None
    team: str
    points: int | None
    matches_won: int | None
    matches_lost: int | None
    matches_tied: int | None
    lines_won: int | None
    lines_lost: int | None
    sets_won: int | None
    sets_lost: int | None
    games_won: int | None
    games_lost: int | None


@dataclass(frozen=True)
class Standings:
    """A series' standings; `rows` is empty only when the series truly has no standings rows."""

    series_id: int
    series: str
    league: str
    league_name: str
    rows: list[StandingRow]
    #: Rally computed the rows from match results (the scraped standings were unusable).
    computed: bool = False


def list_leagues(session: Session) -> list[LeagueInfo]:
    """Return every league with its number of series."""
    count = select(func.count(Series.id)).where(Series.league_id == League.id).scalar_subquery()
    rows = session.execute(
        select(League.league_id, League.league_name, count).order_by(League.league_id)
    )
    return [LeagueInfo(league=key, name=name, series_count=n) for key, name, n in rows]


def league_series(session: Session, *, league: str) -> list[SeriesInfo]:
    """Return the series of a league (LeagueNotFound for an unknown key)."""
    found = league_by_key(session, league=league)
    teams = select(func.count(Team.id)).where(Team.series_id == Series.id).scalar_subquery()
    rows = session.execute(
        select(Series.id, Series.name, teams).where(Series.league_id == found.id)
    ).all()
    return sorted(
        (
            SeriesInfo(series_id=sid, name=name, league=found.league_id, team_count=n)
            for sid, name, n in rows
        ),
        key=lambda s: series_sort_key(s.name),
    )


def league_clubs(session: Session, *, league: str) -> list[str]:
    """Return the club names of a league, for the claim form."""
    found = league_by_key(session, league=league)
    return list(
        session.scalars(
            select(Club.name)
            .join(ClubLeague, ClubLeague.club_id == Club.id)
            .where(ClubLeague.league_id == found.id)
            .order_by(Club.name)
        )
    )


def series_sort_key(name: str) -> tuple[object, ...]:
    """Sort "Series 2" before "Series 10" and letters after numbers."""
    parts: list[object] = []
    for token in name.replace("Series ", "", 1).split():
        digits = "".join(ch for ch in token if ch.isdigit())
        if digits and token.startswith(digits):
            parts.append((0, int(digits), token[len(digits) :]))
        else:
            parts.append((1, 0, token))
    return tuple(parts)


def series_teams(session: Session, *, series_id: int) -> list[TeamSummary]:
    """Return the teams of a series (SeriesNotFound for an unknown id)."""
    if session.get(Series, series_id) is None:
        raise SeriesNotFound(f"There is no series {series_id}.")
    rows = session.execute(
        select(Team.id, Team.team_name, Club.name)
        .join(Club, Club.id == Team.club_id)
        .where(Team.series_id == series_id)
        .order_by(Team.team_name)
    )
    return [TeamSummary(team_id=tid, team=name, club=club) for tid, name, club in rows]


# --- Standings: one definition of the rows and their order -----------------------------------
#
# `_ranked_rows` (a series' rows, their names and positions) is written once. The session path
# reads it with the series' names; on PostgreSQL the API's hottest answer has the database
# build the same rows into the JSON document (no Python rows, no re-serializing).

_SERIES = bindparam("series_id", type_=Integer)


def _ranked_rows() -> Any:
    s = SeriesStats
    order = (s.points.desc().nulls_last(), s.matches_won.desc().nulls_last(), s.team, s.id)
    return (
        select(
            func.row_number().over(order_by=order).label("position"),
            s.team_id,
            func.coalesce(Team.team_name, s.team, "").label("team"),
            *(getattr(s, name) for name in _STAT_FIELDS),
        )
        .select_from(s)
        .outerjoin(Team, Team.id == s.team_id)
        .where(s.series_id == _SERIES)
    )


def _computed() -> Any:
    # Whether the series' rows were computed by Rally from its match results.
    s = SeriesStats
    return exists().where(s.series_id == _SERIES, s.computed.is_(True)).label("computed")


def _series_head() -> Any:
    return (
        select(Series.id.label("series_id"), Series.name.label("series"))
        .add_columns(League.league_id.label("league"), League.league_name.label("league_name"))
        .join(League, League.id == Series.league_id)
        .where(Series.id == _SERIES)
    )


@lru_cache(maxsize=1)
def _standings_statement() -> Any:
    # Built once: the standings page is the hottest read, and building a SELECT costs more
    # than running it. One round trip gives the series' name and league with its rows.
    ranked = _ranked_rows().subquery("r")
    return (
        _series_head()
        .add_columns(_computed(), *ranked.c)
        .outerjoin(ranked, true())
        .order_by(ranked.c.position)
    )


def standings_plan(*, series_id: int) -> Plan[Standings]:
    """Plan of `series_standings` (see rally.services.plan)."""
    rows = yield _standings_statement(), {"series_id": series_id}
    if not rows:
        raise SeriesNotFound(f"There is no series {series_id}.")
    head = rows[0]
    fields = ("position", "team_id", "team", *_STAT_FIELDS)
    return Standings(
        series_id=series_id,
        series=head.series,
        league=head.league,
        league_name=head.league_name,
        rows=[StandingRow(**{f: getattr(r, f) for f in fields}) for r in rows if r.position],
        computed=bool(head.computed),
    )


def series_standings(session: Session, *, series_id: int) -> Standings:
    """Return a series' standings ordered by points (SeriesNotFound for an unknown id)."""
    return run(session, standings_plan(series_id=series_id))


def _json_object(columns: Any) -> Any:
    # json_build_object('name', value, ...) in the columns' order (json keeps key order).
    pairs: list[Any] = []
    for column in columns:
        pairs += (literal_column(f"'{column.name}'"), column)
    return func.json_build_object(*pairs)


@lru_cache(maxsize=1)
def _standings_json_sql() -> PostgresSql:
    """The API's standings document built by PostgreSQL from the same rows, in one statement:
    the same shape, order and values as `series_standings` serialized (a test compares them)."""
    ranked = _ranked_rows().subquery("r")
    rows = select(
        func.coalesce(
            func.json_agg(aggregate_order_by(_json_object(ranked.c), ranked.c.position)),
            literal_column("'[]'::json"),
        )
    ).scalar_subquery()
    head = _series_head().subquery("head")
    document = _json_object([*head.c, rows.label("rows"), _computed()])
    return postgres_sql(select(cast(document, Text)).select_from(head))


async def standings_json(connection: psycopg.AsyncConnection[Any], *, series_id: int) -> bytes:
    """Return a series' standings as the API's JSON, built by PostgreSQL (SeriesNotFound).

    The hottest read skips the ORM session: one prepared statement on an autocommit
    connection, awaited so that the event loop serves other requests during the round trip.
    """
    statement = _standings_json_sql()
    params = statement.params({"series_id": series_id})
    cursor = await connection.execute(statement.sql, params, prepare=True)
    row = await cursor.fetchone()
    if row is None:
        raise SeriesNotFound(f"There is no series {series_id}.")
    return str(row[0]).encode()


_STAT_FIELDS = (
    "points",
    "matches_won",
    "matches_lost",
    "matches_tied",
    "lines_won",
    "lines_lost",
    "sets_won",
    "sets_lost",
    "games_won",
    "games_lost",
)
