"""A player's page: teams in every league, record per team, PTI and its history, matches.

A *player* here is a person: every row of the same source player id in one league (one row
per team), plus the rows in other leagues that the same account has claimed (the person said
so). Namesakes in other leagues are never merged by name alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from rally.services.errors import PlayerNotFound
from rally.services.plan import Plan, run
from rally.services.player_sql import RECENT_MATCHES as RECENT_MATCHES
from rally.services.player_sql import player_page_statement


@dataclass(frozen=True)
class PlayerTeam:
    """One team of the player: the player's row on it and the record of the lines played."""

    player_id: int
    league: str
    league_name: str
    club: str
    club_id: int
    series: str
    series_id: int
    team: str | None
    team_id: int | None
    pti: float | None
    wins: int
    losses: int
    active: bool


@dataclass(frozen=True)
class PtiPoint:
    """A PTI value on a date (from player_history: legacy rows and imported snapshots)."""

    date: dt.date
    pti: float
    series: str | None


@dataclass(frozen=True)
class PlayerLink:
    """A player named on a match line; `player_id` is None when no roster lists them."""

    player_id: int | None
    name: str


@dataclass(frozen=True)
class PlayedLine:
    """One line the player played: partner, opponents, score and result."""

    date: dt.date | None
    league: str
    team: str | None
    team_id: int | None
    opponent: str | None
    opponent_id: int | None
    line: str | None
    partner: PlayerLink | None
    opponents: list[PlayerLink]
    scores: str | None
    result: str | None


@dataclass(frozen=True)
class PlayerPage:
    """Everything the player page shows."""

    player_id: int
    first_name: str
    last_name: str
    league: str
    league_name: str
    pti: float | None
    wins: int
    losses: int
    teams: list[PlayerTeam]
    history: list[PtiPoint]
    matches: list[PlayedLine]


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _line(row: Any) -> PlayedLine:
    date, league, home_team, away_team, home_id, away_id, line, scores, winner, me = row[:10]
    slots, ids, names = row[10:14], row[14:18], row[18:22]
    home = me in slots[:2]
    ours, theirs = (range(0, 2), range(2, 4)) if home else (range(2, 4), range(0, 2))
    links = [
        PlayerLink(player_id=ids[i], name=names[i] or "Unlisted player") if slots[i] else None
        for i in range(4)
    ]
    partner = next((links[i] for i in ours if slots[i] and slots[i] != me), None)
    result = None
    if winner in ("home", "away"):
        result = "won" if (winner == "home") == home else "lost"
    elif winner == "tie":
        result = "tied"
    return PlayedLine(
        date=date,
        league=league,
        team=home_team if home else away_team,
        team_id=home_id if home else away_id,
        opponent=away_team if home else home_team,
        opponent_id=away_id if home else home_id,
        line=line,
        partner=partner,
        opponents=[link for i in theirs if (link := links[i]) is not None],
        scores=scores,
        result=result,
    )


def player_page_plan(*, player_id: int) -> Plan[PlayerPage]:
    """Plan of `player_page` (see rally.services.plan): one statement (rally.services.player_sql)."""
    ((text,),) = yield player_page_statement(), {"player_id": player_id}
    return shape_page(player_id, text)


def _date(value: str | None) -> dt.date | None:
    # JSON writes a date as YYYY-MM-DD (SQLite: the stored text, which may go on).
    return dt.date.fromisoformat(value[:10]) if value is not None else None


def shape_page(player_id: int, text: str) -> PlayerPage:
    """The page from the statement's JSON text (PlayerNotFound without a row of its own)."""
    rows, history, shown, counted = json.loads(text)
    # A row's last column k is 0 on the rows of the player's own source id: none, no player.
    if not any(r[-1] == 0 for r in rows):
        raise PlayerNotFound(f"There is no player {player_id}.")
    record = {team_id: (won, lost) for team_id, won, lost in counted}
    lines = [_line((_date(row[0]), *row[1:])) for row in shown]
    history_points = (
        PtiPoint(date=dt.date.fromisoformat(date[:10]), pti=float(value), series=series)
        for date, value, series in history
    )
    return assemble_page(player_id, rows, record, lines, history_points)


def assemble_page(
    player_id: int,
    rows: Sequence[Sequence[Any]],
    record: Mapping[Any, Sequence[int]],
    lines: list[PlayedLine],
    history: Iterable[PtiPoint],
) -> PlayerPage:
    """The page from the person's player rows, (wins, losses) per team id, the lines shown
    and the PTI points in order (the first of a date and value is kept)."""
    # Rows of records.record_select() and then club id, wins, losses, is_active.
    teams = [
        PlayerTeam(
            player_id=r[0],
            league=r[3],
            league_name=r[4],
            club=r[5],
            club_id=r[13],
            series=r[6],
            series_id=r[7],
            team=r[8],
            team_id=r[9],
            pti=_number(r[10]),
            # Rosters often carry 0-0; the lines played for the team say more.
            wins=record[r[9]][0] if r[9] in record else (r[14] or 0),
            losses=record[r[9]][1] if r[9] in record else (r[15] or 0),
            active=r[16] is not False,
        )
        for r in rows
    ]
    first = next(r for r in rows if r[0] == player_id)
    pti = next((t.pti for t in teams if t.player_id == player_id and t.pti is not None), None)
    points: dict[tuple[dt.date, float], PtiPoint] = {}
    for point in history:
        points.setdefault((point.date, point.pti), point)
    return PlayerPage(
        player_id=player_id,
        first_name=first[1],
        last_name=first[2],
        league=first[3],
        league_name=first[4],
        pti=pti,
        wins=sum(t.wins for t in teams),
        losses=sum(t.losses for t in teams),
        teams=teams,
        history=list(points.values()),
        matches=lines,
    )


def player_page(session: Session, *, player_id: int) -> PlayerPage:
    """Return a player's page (PlayerNotFound for an unknown id)."""
    return run(session, player_page_plan(player_id=player_id))
