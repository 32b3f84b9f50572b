"""Availability: who can play each upcoming match of a team, per player row and match.

An answer belongs to one player *row* (a person has one row per team) and one match
(`schedule` row), so a player's availability on one team never shows on another. Legacy
answers carried through the upgrade that could not be tied to a match keep only their date:
they count for their player's match of that day until someone answers again.

Who may answer: `answer_rights` is the one place that decides (a player for their own
claimed rows; a captain, by the roster's captain flag, for teammates of their own team).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from rally.errors import UsageError
from rally.models import Player, PlayerAvailability, PlayerClaim, Schedule, Team
from rally.services.errors import (
    AvailabilityNotAllowed,
    MatchNotFound,
    PlayerNotFound,
    TeamNotClaimed,
    TeamNotFound,
)
from rally.services.team_page import is_captain

#: The leagues' time zone: match dates and times are local to it.
LEAGUE_TZ = ZoneInfo("America/Chicago")
Status = Literal["available", "unavailable", "unsure"]
#: Legacy codes of player_availability.availability_status.
STATUS_CODES: dict[str, int] = {"available": 1, "unavailable": 2, "unsure": 3}
STATUS_NAMES: dict[int, Status] = {1: "available", 2: "unavailable", 3: "unsure"}
MAX_NOTE = 500


def league_today(now: dt.datetime | None = None) -> dt.date:
    """Return today's date in the leagues' time zone."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(LEAGUE_TZ).date()


@dataclass(frozen=True)
class Counts:
    """Answers for one match among the team's current roster."""

    available: int = 0
    unavailable: int = 0
    unsure: int = 0
    unanswered: int = 0


@dataclass(frozen=True)
class Answer:
    """One player's answer for one match."""

    status: Status
    note: str | None


@dataclass(frozen=True)
class GridMatch:
    """An upcoming match, a column of the grid."""

    schedule_id: int
    date: dt.date
    time: dt.time | None
    opponent: str | None
    home: bool
    location: str | None
    counts: Counts


@dataclass(frozen=True)
class GridRow:
    """A roster player and their answers, one per upcoming match (None: not answered)."""

    player_id: int
    name: str
    captain: bool
    mine: bool
    editable: bool
    answers: list[Answer | None]


@dataclass(frozen=True)
class Grid:
    """The team's availability: players x upcoming matches."""

    team_id: int
    team: str
    league: str
    league_name: str
    today: dt.date
    matches: list[GridMatch]
    players: list[GridRow]
    captain: bool = False
    empty: str | None = None
    mine: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AnswerOut:
    """The answer stored by `set_availability`."""

    player_id: int
    schedule_id: int
    date: dt.date
    status: Status
    note: str | None


@dataclass(frozen=True)
class Rights:
    """What a user may do on one team: their own rows there, and whether they captain it."""

    team_id: int
    team: str
    own: frozenset[int]
    captain: bool

    def may_answer_for(self, player_id: int) -> bool:
        """Tell whether the user may answer for this player row of the team."""
        return player_id in self.own or self.captain


def not_claimed(team: str) -> TeamNotClaimed:
    """The error for a team of no record the user claimed."""
    return TeamNotClaimed(
        f"{team} is not a team of a player record you claimed; claim your record on it first."
    )


def no_upcoming(team: str, league_name: str) -> str:
    """Why a team's availability grid is empty, in a player's words."""
    return (
        f"{league_name} has published no upcoming matches for {team}, "
        "so there is nothing to answer yet."
    )


def answer_rights(session: Session, *, user_id: int, team_id: int) -> Rights:
    """Return the user's rights on a team (TeamNotFound; TeamNotClaimed without a claim).

    The one authorization point of availability: a claim on a row of the team lets the user
    see the team's answers and answer for that row; a claimed row flagged captain lets them
    answer for every player of that team.
    """
    team = session.execute(select(Team.id, Team.team_name).where(Team.id == team_id)).first()
    if team is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    rows = session.execute(
        select(Player.id, Player.captain_status)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(PlayerClaim.user_id == user_id, Player.team_id == team_id)
    ).all()
    if not rows:
        raise not_claimed(team.team_name)
    return Rights(
        team_id=team_id,
        team=team.team_name,
        own=frozenset(pid for pid, _ in rows),
        captain=any(is_captain(flag) for _, flag in rows),
    )


def _day(value: dt.datetime) -> dt.date:
    # PostgreSQL returns aware timestamps; SQLite keeps the local wall time it was given.
    return value.astimezone(LEAGUE_TZ).date() if value.tzinfo else value.date()


@lru_cache(maxsize=1)
def _answers_statement() -> Any:
    # Built once (every team page runs it): players' answers linked to one of the matches,
    # or legacy ones tied to a date only, oldest first.
    a = PlayerAvailability.__table__.c
    return (
        select(a.player_id, a.schedule_id, a.match_date, a.availability_status, a.notes)
        .where(
            a.player_id.in_(bindparam("player_ids", expanding=True)),
            or_(
                a.schedule_id.in_(bindparam("schedule_ids", expanding=True)),
                a.schedule_id.is_(None),
            ),
        )
        .order_by(a.updated_at.asc().nulls_first(), a.id.asc())
    )


def answers_for(
    session: Session, *, player_ids: list[int], matches: list[tuple[int, dt.date]]
) -> dict[tuple[int, int], Answer]:
    """Return (player_id, schedule_id) -> answer; an answer tied to the match wins over a
    legacy answer of the same day, and the newest legacy answer wins among those."""
    if not player_ids or not matches:
        return {}
    by_day: dict[dt.date, list[int]] = {}
    for sid, day in matches:
        by_day.setdefault(day, []).append(sid)
    ids = [sid for sid, _ in matches]
    rows = session.connection().execute(
        _answers_statement(), {"player_ids": player_ids, "schedule_ids": ids}
    )
    found: dict[tuple[int, int], Answer] = {}
    legacy: dict[tuple[int, int], Answer] = {}
    for pid, linked, when, code, note in rows:
        if pid is None:
            continue
        answer = Answer(status=STATUS_NAMES.get(code, "unsure"), note=note)
        if linked is not None:
            found[(pid, linked)] = answer
        else:  # later rows overwrite: the newest legacy answer of the day wins
            for match in by_day.get(_day(when), ()):
                legacy[(pid, match)] = answer
    return {**legacy, **found}


def count(answers: list[Answer | None]) -> Counts:
    """Count a match's answers."""
    statuses = [a.status for a in answers if a is not None]
    return Counts(
        available=statuses.count("available"),
        unavailable=statuses.count("unavailable"),
        unsure=statuses.count("unsure"),
        unanswered=sum(a is None for a in answers),
    )


def team_grid(session: Session, *, user_id: int, team_id: int, today: dt.date) -> Grid:
    """Return the team's availability grid for its matches from `today` on (rights apply)."""
    from rally.services.week import opponent_of, team_header

    rights = answer_rights(session, user_id=user_id, team_id=team_id)
    header = team_header(session, team_id=team_id)
    fixtures = session.execute(
        select(Schedule)
        .where(
            or_(Schedule.home_team_id == team_id, Schedule.away_team_id == team_id),
            Schedule.match_date >= today,
        )
        .order_by(Schedule.match_date, Schedule.match_time, Schedule.id)
    ).scalars()
    upcoming = [f for f in fixtures if f.match_date is not None]
    roster = session.execute(
        select(Player.id, Player.first_name, Player.last_name, Player.captain_status)
        .where(Player.team_id == team_id, Player.is_active.is_not(False))
        .order_by(Player.last_name, Player.first_name, Player.id)
    ).all()
    answers = answers_for(
        session,
        player_ids=[r.id for r in roster],
        matches=[(f.id, f.match_date) for f in upcoming],  # type: ignore[misc]
    )
    rows = [
        GridRow(
            player_id=r.id,
            name=f"{r.first_name} {r.last_name}",
            captain=is_captain(r.captain_status),
            mine=r.id in rights.own,
            editable=rights.may_answer_for(r.id),
            answers=[answers.get((r.id, f.id)) for f in upcoming],
        )
        for r in roster
    ]
    matches = [
        GridMatch(
            schedule_id=f.id,
            date=f.match_date,  # type: ignore[arg-type]
            time=f.match_time,
            opponent=opponent_of(f, team_id),
            home=f.home_team_id == team_id,
            location=f.location,
            counts=count([row.answers[i] for row in rows]),
        )
        for i, f in enumerate(upcoming)
    ]
    empty = None
    if not matches:
        empty = no_upcoming(header.team, header.league_name)
    return Grid(
        team_id=team_id,
        team=header.team,
        league=header.league,
        league_name=header.league_name,
        today=today,
        matches=matches,
        players=rows,
        captain=rights.captain,
        empty=empty,
        mine=sorted(rights.own),
    )


def set_availability(
    session: Session,
    *,
    user_id: int,
    player_id: int,
    schedule_id: int,
    status: str,
    note: str | None,
    today: dt.date,
) -> AnswerOut:
    """Store a player's answer for one upcoming match of their team (rights apply).

    PlayerNotFound / MatchNotFound (404), AvailabilityNotAllowed or TeamNotClaimed (403),
    UsageError (422) for an unknown status, a long note or a match already played.
    """
    if status not in STATUS_CODES:
        raise UsageError(
            f"Availability must be one of available, unavailable or unsure, not {status!r}."
        )
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise UsageError(f"A note can be at most {MAX_NOTE} characters.")
    player = session.get(Player, player_id)
    if player is None or player.team_id is None:
        raise PlayerNotFound(f"There is no player record {player_id} on a team.")
    rights = answer_rights(session, user_id=user_id, team_id=player.team_id)
    if not rights.may_answer_for(player_id):
        raise AvailabilityNotAllowed(
            f"Only {player.first_name} {player.last_name} or a captain of {rights.team} "
            "can set this availability."
        )
    match = session.get(Schedule, schedule_id)
    if match is None or player.team_id not in (match.home_team_id, match.away_team_id):
        raise MatchNotFound(f"Match {schedule_id} is not a match of {rights.team}.")
    if match.match_date is None or match.match_date < today:
        raise UsageError(f"The match of {match.match_date or 'no date'} can no longer be answered.")
    values = {
        "availability_status": STATUS_CODES[status],
        "notes": note,
        "user_id": user_id,
        "match_date": dt.datetime.combine(
            match.match_date, match.match_time or dt.time(0), tzinfo=LEAGUE_TZ
        ),
        "updated_at": func.current_timestamp(),
    }
    A = PlayerAvailability
    result = session.execute(
        update(A).where(A.player_id == player_id, A.schedule_id == schedule_id).values(values)
    )
    done = getattr(result, "rowcount", 0)
    if not done:
        # A legacy answer of that day becomes this match's answer (rather than a second one).
        legacy = session.scalars(
            select(A)
            .where(A.player_id == player_id, A.schedule_id.is_(None))
            .order_by(A.updated_at.desc().nulls_last(), A.id.desc())
        ).all()
        row = next((r for r in legacy if _day(r.match_date) == match.match_date), None)
        if row is None:
            row = A(
                player_name=f"{player.first_name} {player.last_name}",
                player_id=player_id,
                series_id=player.series_id,
                league_id=player.league_id,
            )
            session.add(row)
        row.schedule_id = schedule_id
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return AnswerOut(
        player_id=player_id,
        schedule_id=schedule_id,
        date=match.match_date,
        status=status,  # type: ignore[arg-type]
        note=note,
    )
