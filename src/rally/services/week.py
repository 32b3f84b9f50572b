"""The team page a player opens every week: next match, upcoming, results, roster.

`TeamWeek` is the page's document; `rally.services.week_sql` builds it in one statement on
both backends (the tests compare it with a row-by-row oracle, tests/web/week_oracle.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rally.models import Player, Schedule, Team
from rally.services.availability import Counts
from rally.services.errors import TeamNotFound
from rally.services.team_page import MatchResult, RosterEntry
from rally.services.teams import Context, team_select


@dataclass(frozen=True)
class Match:
    """A scheduled match seen from the team, with the team's availability answers for it."""

    schedule_id: int
    date: dt.date | None
    weekday: str | None
    time: dt.time | None
    opponent: str | None
    home: bool
    location: str | None
    counts: Counts


@dataclass(frozen=True)
class TeamWeek:
    """A team's page. `past` and `results` are newest first; `empty` says why a section is
    empty, by section name (upcoming, past, results, roster)."""

    team_id: int
    team: str
    league: str
    league_name: str
    club: str
    series: str
    series_id: int
    today: dt.date
    next_match: Match | None
    upcoming: list[Match]
    past: list[Match]
    results: list[MatchResult]
    results_total: int
    roster: list[RosterEntry]
    empty: dict[str, str]


def team_header(session: Session, *, team_id: int) -> Context:
    """Return a team with its series and league names (TeamNotFound)."""
    row = session.execute(team_select().where(Team.id == team_id)).first()
    if row is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    tid, team, league, league_name, club, series, series_id = row
    return Context(
        team_id=tid,
        team=team,
        series_id=series_id,
        series=series,
        league=league,
        league_name=league_name,
        club=club,
    )


def opponent_of(fixture: Schedule, team_id: int) -> str | None:
    """Return the other team's name of a fixture."""
    return fixture.away_team if fixture.home_team_id == team_id else fixture.home_team


def empty_reasons(
    *, team: str, league_name: str, upcoming: int, past: int, results: int, roster: int
) -> dict[str, str]:
    """Say, in a player's words, why each empty section of a team's page is empty."""
    reasons: dict[str, str] = {}
    if not upcoming:
        reasons["upcoming"] = (
            f"{league_name} has published no schedule for {team}."
            if not past
            else f"All {past} published matches of {team} are behind us; "
            f"{league_name} has not published more."
        )
    if not past and upcoming:
        reasons["past"] = f"The season of {team} has not started yet."
    if not results:
        reasons["results"] = f"{league_name} has published no results for {team} yet."
    if not roster:
        reasons["roster"] = f"{league_name} has published no roster for {team}."
    return reasons


@dataclass(frozen=True)
class Viewer:
    """A signed-in user looking at a team page: the team (`team_id`, their context's when
    none was asked for), whether they claimed a record on it, and their live feed of it."""

    user_id: int
    email: str
    first_name: str | None
    last_name: str | None
    team_id: int | None
    member: bool
    feed_id: int | None
    feed_salt: str | None


def viewer(session: Session, *, user_id: int, team_id: int | None) -> Viewer:
    """`viewer_for_token` through the ORM, for a user already signed in (any backend)."""
    from rally.models import CalendarFeed, PlayerClaim, User, UserContext

    user = session.get(User, user_id)
    assert user is not None
    if team_id is None:
        team_id = session.scalar(select(UserContext.team_id).where(UserContext.user_id == user_id))
    member = team_id is not None and bool(
        session.scalar(
            select(PlayerClaim.id)
            .join(Player, Player.id == PlayerClaim.player_id)
            .where(PlayerClaim.user_id == user_id, Player.team_id == team_id)
            .limit(1)
        )
    )
    feed = session.execute(
        select(CalendarFeed.id, CalendarFeed.salt)
        .where(
            CalendarFeed.user_id == user_id,
            CalendarFeed.team_id == team_id,
            CalendarFeed.revoked_at.is_(None),
        )
        .order_by(CalendarFeed.id)
        .limit(1)
    ).first()
    return Viewer(
        user.id,
        user.email,
        user.first_name,
        user.last_name,
        team_id,
        member,
        feed[0] if feed else None,
        feed[1] if feed else None,
    )
