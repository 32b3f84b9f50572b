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
    """Return the SELECT behind PlayerRecord (player, league, club, series, optional team).

    Columns are labelled with PlayerRecord's field names (plus ``source_id``, the player's
    tenniscores id, and ``league_pk``, the league's row id), so rows are read by name.
    """
    return (
        select(
            Player.id.label("player_id"),
            Player.first_name.label("first_name"),
            Player.last_name.label("last_name"),
            League.league_id.label("league"),
            League.league_name.label("league_name"),
            Club.name.label("club"),
            Series.name.label("series"),
            Series.id.label("series_id"),
            Team.team_name.label("team"),
            Team.id.label("team_id"),
            Player.pti.label("pti"),
            Player.tenniscores_player_id.label("source_id"),
            Player.league_id.label("league_pk"),
        )
        .join(League, League.id == Player.league_id)
        .join(Club, Club.id == Player.club_id)
        .join(Series, Series.id == Player.series_id)
        .outerjoin(Team, Team.id == Player.team_id)
    )


def to_record(row: Any) -> PlayerRecord:
    """Build a PlayerRecord from a row of record_select()."""
    return PlayerRecord(
        player_id=row.player_id,
        first_name=row.first_name,
        last_name=row.last_name,
        league=row.league,
        league_name=row.league_name,
        club=row.club,
        series=row.series,
        series_id=row.series_id,
        team=row.team,
        team_id=row.team_id,
        pti=float(row.pti) if row.pti is not None else None,
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
