"""The team page a player opens every week: next match, upcoming, results, roster.

`team_week` works on any backend through the ORM; `week_sql` holds the PostgreSQL hot paths
(a test checks that both answer the same for every team).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rally.models import Player, Schedule, Team
from rally.services.availability import Counts, answers_for, count
from rally.services.errors import TeamNotFound
from rally.services.team_page import Fixture, MatchResult, RosterEntry, team_detail
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


def team_week(
    session: Session, *, team_id: int, today: dt.date, results_limit: int | None = None
) -> TeamWeek:
    """Return a team's page as of `today` (TeamNotFound); `results_limit` newest results."""
    detail = team_detail(session, team_id=team_id)
    dated = detail.schedule
    # The roster is the team's active players: the ones whose answers count.
    active = [entry.player_id for entry in detail.roster]
    answers = answers_for(
        session,
        player_ids=active,
        matches=[(f.schedule_id, f.date) for f in dated if f.date is not None],
    )

    def match(f: Fixture) -> Match:
        return Match(
            schedule_id=f.schedule_id,
            date=f.date,
            weekday=f.date.strftime("%A") if f.date else None,
            time=f.time,
            opponent=f.away_team if f.home else f.home_team,
            home=f.home,
            location=f.location,
            counts=count([answers.get((pid, f.schedule_id)) for pid in active]),
        )

    upcoming = sorted(
        (f for f in dated if f.date is None or f.date >= today),
        key=lambda f: (
            f.date is None,
            f.date or dt.date.min,
            f.time is None,
            f.time or dt.time(0),
            f.schedule_id,
        ),
    )
    past = sorted(
        (f for f in dated if f.date is not None and f.date < today),
        key=lambda f: (f.date, f.time is not None, f.time or dt.time(0), f.schedule_id),
        reverse=True,
    )
    results = detail.results[::-1]
    return TeamWeek(
        team_id=detail.team_id,
        team=detail.team,
        league=detail.league,
        league_name=detail.league_name,
        club=detail.club,
        series=detail.series,
        series_id=detail.series_id,
        today=today,
        next_match=next((match(f) for f in upcoming if f.date is not None), None),
        upcoming=[match(f) for f in upcoming],
        past=[match(f) for f in past],
        results=results if results_limit is None else results[:results_limit],
        results_total=len(results),
        roster=detail.roster,
        empty=empty_reasons(
            team=detail.team,
            league_name=detail.league_name,
            upcoming=len(upcoming),
            past=len(past),
            results=len(results),
            roster=len(detail.roster),
        ),
    )


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
