"""Browsing: leagues, their clubs and series, and a series' standings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from rally.models import Club, ClubLeague, League, Series, SeriesStats, Team
from rally.services.errors import SeriesNotFound
from rally.services.leagues import league_by_key

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


@lru_cache(maxsize=1)
def _standings_statement() -> Any:
    # Built once: the standings page is the hottest read, and building a SELECT costs more
    # than running it. One round trip gives the series' name and league with its rows.
    s = SeriesStats
    return (
        select(
            Series.name,
            League.league_id,
            League.league_name,
            s.id,
            s.team_id,
            func.coalesce(Team.team_name, s.team),
            s.computed,
            *(getattr(s, name) for name in _STAT_FIELDS),
        )
        .select_from(Series)
        .join(League, League.id == Series.league_id)
        .outerjoin(s, s.series_id == Series.id)
        .outerjoin(Team, Team.id == s.team_id)
        .where(Series.id == bindparam("series_id"))
        .order_by(s.points.desc().nulls_last(), s.matches_won.desc().nulls_last(), s.team, s.id)
    )


def series_standings(session: Session, *, series_id: int) -> Standings:
    """Return a series' standings ordered by points (SeriesNotFound for an unknown id)."""
    rows = session.connection().execute(_standings_statement(), {"series_id": series_id}).all()
    if not rows:
        raise SeriesNotFound(f"There is no series {series_id}.")
    head = rows[0]
    stats = [r for r in rows if r[3] is not None]
    return Standings(
        series_id=series_id,
        series=head[0],
        league=head[1],
        league_name=head[2],
        rows=[
            StandingRow(
                position=i,
                team_id=r[4],
                team=r[5] or "",
                **dict(zip(_STAT_FIELDS, r[7:], strict=True)),
            )
            for i, r in enumerate(stats, start=1)
        ],
        computed=any(bool(r[6]) for r in stats),
    )


#: The API's standings document built by PostgreSQL in one round trip: the same shape, order
#: and values as `series_standings` serialized (a test compares the two), without building
#: and re-serializing rows in Python. Keys keep their order (json, not jsonb).
_STANDINGS_JSON_SQL = """
SELECT json_build_object(
    'series_id', se.id, 'series', se.name,
    'league', l.league_id, 'league_name', l.league_name,
    'rows', coalesce((
        SELECT json_agg(json_build_object(
            'position', r.position, 'team_id', r.team_id, 'team', r.team,
            'points', r.points, 'matches_won', r.matches_won, 'matches_lost', r.matches_lost,
            'matches_tied', r.matches_tied, 'lines_won', r.lines_won, 'lines_lost', r.lines_lost,
            'sets_won', r.sets_won, 'sets_lost', r.sets_lost,
            'games_won', r.games_won, 'games_lost', r.games_lost
        ) ORDER BY r.position)
        FROM (
            SELECT row_number() OVER (
                       ORDER BY s.points DESC NULLS LAST, s.matches_won DESC NULLS LAST,
                                s.team, s.id
                   ) AS position,
                   s.team_id, coalesce(t.team_name, s.team, '') AS team, s.points,
                   s.matches_won, s.matches_lost, s.matches_tied, s.lines_won, s.lines_lost,
                   s.sets_won, s.sets_lost, s.games_won, s.games_lost
            FROM series_stats s LEFT JOIN teams t ON t.id = s.team_id
            WHERE s.series_id = se.id
        ) r
    ), '[]'::json),
    'computed', coalesce(
        (SELECT bool_or(s.computed) FROM series_stats s WHERE s.series_id = se.id), false
    )
)::text
FROM series se JOIN leagues l ON l.id = se.league_id
WHERE se.id = %s
"""


async def standings_json(connection: psycopg.AsyncConnection[Any], *, series_id: int) -> bytes:
    """Return a series' standings as the API's JSON, built by PostgreSQL (SeriesNotFound).

    The hottest read skips the ORM session: one prepared statement on an autocommit
    connection, awaited so that the event loop serves other requests during the round trip.
    """
    cursor = await connection.execute(_STANDINGS_JSON_SQL, (series_id,), prepare=True)
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
