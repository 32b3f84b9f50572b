"""The team page computed in Python, row by row: the oracle the team statement is tested against.

`rally.services.week_sql` builds the team page in one statement on both backends; this is an
independent implementation of the same rules (six plain statements and Python), kept with
the tests that compare the two on hand-made edge rows and on the real corpus.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, or_, select, union
from sqlalchemy.orm import Session

from rally.models import MatchScore, Player, Schedule, Team
from rally.services.availability import answers_for, count
from rally.services.errors import TeamNotFound
from rally.services.team_page import LineResult, MatchResult, RosterEntry, is_captain
from rally.services.teams import team_select
from rally.services.week import Match, TeamWeek, empty_reasons


@dataclass(frozen=True)
class Fixture:
    """A scheduled match of the team."""

    schedule_id: int
    date: dt.date | None
    time: dt.time | None
    home_team: str | None
    away_team: str | None
    location: str | None
    home: bool


@dataclass(frozen=True)
class TeamDetail:
    """A team's page."""

    team_id: int
    team: str
    league: str
    league_name: str
    club: str
    series: str
    series_id: int
    roster: list[RosterEntry]
    schedule: list[Fixture]
    results: list[MatchResult]


@dataclass(frozen=True)
class _Statements:
    header: Any
    roster: Any
    fixtures: Any
    matches: Any
    names: Any


@lru_cache(maxsize=1)
def _statements() -> _Statements:
    """The page's statements, built once with bind parameters (Core, no ORM objects): every
    view of a team page runs them, and building or loading entities costs more than SQLite
    takes to answer."""
    team = bindparam("team_id", type_=Integer)
    players, schedule, scores = Player.__table__.c, Schedule.__table__.c, MatchScore.__table__.c
    return _Statements(
        header=team_select().add_columns(Team.league_id).where(Team.id == team),
        roster=select(
            players.id,
            players.tenniscores_player_id,
            players.first_name,
            players.last_name,
            players.pti,
            players.wins,
            players.losses,
            players.captain_status,
        )
        .where(players.team_id == team, players.is_active.is_not(False))
        .order_by(players.last_name, players.first_name, players.id),
        fixtures=select(
            schedule.id,
            schedule.match_date,
            schedule.match_time,
            schedule.home_team,
            schedule.away_team,
            schedule.location,
            schedule.home_team_id,
        )
        .where(or_(schedule.home_team_id == team, schedule.away_team_id == team))
        .order_by(schedule.match_date, schedule.match_time, schedule.id),
        matches=select(
            scores.match_date,
            scores.home_team,
            scores.away_team,
            scores.home_team_id,
            scores.home_player_1_id,
            scores.home_player_2_id,
            scores.away_player_1_id,
            scores.away_player_2_id,
            scores.scores,
            scores.winner,
            scores.line,
        )
        .where(or_(scores.home_team_id == team, scores.away_team_id == team))
        # Unknown dates and lines last on both backends (SQLite sorts NULL first).
        .order_by(scores.match_date.nulls_last(), scores.line.nulls_last(), scores.id),
        # The names of every player id on the team's lines, one per source id: the newest
        # row's (the team page's fast path agrees). One constant statement (no list of ids).
        names=select(players.tenniscores_player_id, players.first_name, players.last_name)
        .where(
            players.league_id == bindparam("league_id", type_=Integer),
            players.tenniscores_player_id.in_(
                union(
                    *(
                        select(column).where(
                            or_(scores.home_team_id == team, scores.away_team_id == team)
                        )
                        for column in (
                            scores.home_player_1_id,
                            scores.home_player_2_id,
                            scores.away_player_1_id,
                            scores.away_player_2_id,
                        )
                    )
                )
            ),
        )
        .order_by(players.id),
    )


def team_detail(session: Session, *, team_id: int) -> TeamDetail:
    """Return a team's roster (PTI, record), schedule and results by line (TeamNotFound)."""
    statements = _statements()
    conn = session.connection()
    params = {"team_id": team_id}
    row = conn.execute(statements.header, params).first()
    if row is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    league_id = row[7]
    players = conn.execute(statements.roster, params).all()
    fixtures = conn.execute(statements.fixtures, params).all()
    matches = conn.execute(statements.matches, params).all()
    names: dict[str, str] = {}
    if matches:
        rows = conn.execute(statements.names, {**params, "league_id": league_id})
        names = {tid: f"{first} {last}" for tid, first, last in rows}
    record: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    grouped: dict[tuple[object, ...], list[LineResult]] = defaultdict(list)
    for m in matches:
        home = m.home_team_id == team_id
        ours = (
            (m.home_player_1_id, m.home_player_2_id)
            if home
            else (m.away_player_1_id, m.away_player_2_id)
        )
        theirs = (
            (m.away_player_1_id, m.away_player_2_id)
            if home
            else (m.home_player_1_id, m.home_player_2_id)
        )
        result = None
        if m.winner in ("home", "away"):
            result = "won" if (m.winner == "home") == home else "lost"
        elif m.winner == "tie":
            result = "tied"
        for pid in ours:
            if pid and result in ("won", "lost"):
                record[pid][0 if result == "won" else 1] += 1
        opponent = m.away_team if home else m.home_team
        grouped[(m.match_date, opponent, home)].append(
            LineResult(
                line=m.line,
                players=[names.get(p, p) for p in ours if p],
                opponents=[names.get(p, p) for p in theirs if p],
                scores=m.scores,
                result=result,
            )
        )
    results = [
        MatchResult(
            date=date,  # type: ignore[arg-type]
            opponent=opponent,  # type: ignore[arg-type]
            home=bool(home),
            lines_won=sum(line.result == "won" for line in lines),
            lines_lost=sum(line.result == "lost" for line in lines),
            lines=lines,
        )
        for (date, opponent, home), lines in grouped.items()
    ]
    roster = [
        RosterEntry(
            player_id=pid,
            first_name=first,
            last_name=last,
            pti=float(pti) if pti is not None else None,
            # Rosters often carry 0-0; the lines played for this team say more.
            wins=record[tid][0] if tid in record else (wins or 0),
            losses=record[tid][1] if tid in record else (losses or 0),
            captain=is_captain(captain),
        )
        for pid, tid, first, last, pti, wins, losses, captain in players
    ]
    return TeamDetail(
        team_id=row[0],
        team=row[1],
        league=row[2],
        league_name=row[3],
        club=row[4],
        series=row[5],
        series_id=row[6],
        roster=roster,
        schedule=[
            Fixture(
                schedule_id=f.id,
                date=f.match_date,
                time=f.match_time,
                home_team=f.home_team,
                away_team=f.away_team,
                location=f.location,
                home=f.home_team_id == team_id,
            )
            for f in fixtures
        ],
        results=results,
    )


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
