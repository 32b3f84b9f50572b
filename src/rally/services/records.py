"""Read models shared by the services: a player record with its league, club, series and team."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from rally.models import Club, League, Player, Series, Team


@dataclass(frozen=True)
class PlayerRecord:
    """One player row (a person on one team), described so a person can recognise it."""

    player_id: int
    first_name: str
    last_name: str
    league: str
    league_name: str
    club: str
    series: str
    series_id: int
    team: str | None
    team_id: int | None
    pti: float | None


def record_select() -> Any:
    """Return the SELECT behind PlayerRecord (player, league, club, series, optional team)."""
    return (
        select(
            Player.id,
            Player.first_name,
            Player.last_name,
            League.league_id,
            League.league_name,
            Club.name,
            Series.name,
            Series.id,
            Team.team_name,
            Team.id,
            Player.pti,
            Player.tenniscores_player_id,
            Player.league_id,
        )
        .join(League, League.id == Player.league_id)
        .join(Club, Club.id == Player.club_id)
        .join(Series, Series.id == Player.series_id)
        .outerjoin(Team, Team.id == Player.team_id)
    )


def to_record(row: Any) -> PlayerRecord:
    """Build a PlayerRecord from a row of record_select()."""
    return PlayerRecord(
        player_id=row[0],
        first_name=row[1],
        last_name=row[2],
        league=row[3],
        league_name=row[4],
        club=row[5],
        series=row[6],
        series_id=row[7],
        team=row[8],
        team_id=row[9],
        pti=float(row[10]) if row[10] is not None else None,
    )


def fetch_rows(session: Session, *where: ColumnElement[bool]) -> list[Any]:
    """Return record_select() rows matching `where`, ordered by league, series and team."""
    stmt = (
        record_select()
        .where(*where)
        .order_by(
            League.league_id, Series.name, Team.team_name, Player.last_name, Player.first_name
        )
    )
    return list(session.execute(stmt).all())


def records(rows: Iterable[Any]) -> list[PlayerRecord]:
    """Turn record_select() rows into PlayerRecords."""
    return [to_record(row) for row in rows]
