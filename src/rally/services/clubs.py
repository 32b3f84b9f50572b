"""Club pages: every team of a club across series and leagues, with its standing and record."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from rally.models import Club, League, Series, SeriesStats, Team
from rally.services.errors import ClubNotFound
from rally.services.plan import Plan, run
from rally.services.standings import series_sort_key


@dataclass(frozen=True)
class ClubTeam:
    """A team of the club: its series, league and place in the series' standings."""

    team_id: int
    team: str
    league: str
    league_name: str
    series: str
    series_id: int
    position: int | None
    team_count: int | None
    points: int | None
    matches_won: int | None
    matches_lost: int | None
    matches_tied: int | None


@dataclass(frozen=True)
class ClubPage:
    """A club and all its teams."""

    club_id: int
    name: str
    teams: list[ClubTeam]


@dataclass(frozen=True)
class ClubInfo:
    """A club in a list: its leagues (by name) and number of teams."""

    club_id: int
    name: str
    team_count: int
    leagues: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any]:
    teams = (
        select(
            Club.id,
            Club.name,
            Team.id,
            Team.team_name,
            League.league_id,
            League.league_name,
            Series.name,
            Series.id,
        )
        .select_from(Club)
        .outerjoin(Team, Team.club_id == Club.id)
        .outerjoin(Series, Series.id == Team.series_id)
        .outerjoin(League, League.id == Team.league_id)
        .where(Club.id == bindparam("club_id"))
    )
    s = SeriesStats
    # Every standings row of the club's series, in the standings' own order
    # (standings.series_standings), so positions agree; ranked here rather than by a window
    # function, which PostgreSQL re-ran for each team when it misjudged the row counts.
    standings = (
        select(s.series_id, s.team_id, s.points, s.matches_won, s.matches_lost, s.matches_tied)
        .where(s.series_id.in_(select(Team.series_id).where(Team.club_id == bindparam("club_id"))))
        .order_by(
            s.series_id,
            s.points.desc().nulls_last(),
            s.matches_won.desc().nulls_last(),
            s.team,
            s.id,
        )
    )
    return teams, standings


def club_page_plan(*, club_id: int) -> Plan[ClubPage]:
    """Plan of `club_page` (see rally.services.plan)."""
    teams_q, standings_q = _statements()
    rows = yield teams_q, {"club_id": club_id}
    if not rows:
        raise ClubNotFound(f"There is no club {club_id}.")
    place: dict[int, tuple[int, Any]] = {}
    count: dict[int, int] = defaultdict(int)
    for row in (yield standings_q, {"club_id": club_id}):
        count[row[0]] += 1
        if row[1] is not None:
            place[row[1]] = (count[row[0]], row)
    teams = []
    for r in rows:
        if r[2] is None:
            continue
        position, stats = place.get(r[2], (None, (None,) * 6))
        teams.append(
            ClubTeam(
                team_id=r[2],
                team=r[3],
                league=r[4],
                league_name=r[5],
                series=r[6],
                series_id=r[7],
                position=position,
                team_count=count[r[7]] if position else None,
                points=stats[2],
                matches_won=stats[3],
                matches_lost=stats[4],
                matches_tied=stats[5],
            )
        )
    teams.sort(key=lambda t: (t.league_name, series_sort_key(t.series), t.team))
    return ClubPage(club_id=rows[0][0], name=rows[0][1], teams=teams)


def club_page(session: Session, *, club_id: int) -> ClubPage:
    """Return a club with every team it fields (ClubNotFound for an unknown id)."""
    return run(session, club_page_plan(club_id=club_id))


def list_clubs(session: Session) -> list[ClubInfo]:
    """Return every club that fields a team, with its leagues and number of teams."""
    rows = session.execute(
        select(Club.id, Club.name, League.league_name, func.count(Team.id))
        .join(Team, Team.club_id == Club.id)
        .join(League, League.id == Team.league_id)
        .group_by(Club.id, Club.name, League.league_name)
        .order_by(Club.name, League.league_name)
    ).all()
    clubs: dict[int, ClubInfo] = {}
    for club_id, name, league_name, count in rows:
        info = clubs.setdefault(club_id, ClubInfo(club_id=club_id, name=name, team_count=0))
        info.leagues.append(league_name)
        clubs[club_id] = ClubInfo(
            club_id=club_id, name=name, team_count=info.team_count + count, leagues=info.leagues
        )
    return list(clubs.values())


def club_id_by_name(session: Session, *, name: str) -> int:
    """Return the id of the club of this name, ignoring case (ClubNotFound)."""
    found = session.scalar(select(Club.id).where(func.lower(Club.name) == name.strip().lower()))
    if found is None:
        raise ClubNotFound(f"There is no club named {name.strip()!r}.")
    return found
