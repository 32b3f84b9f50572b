"""The player page read row by row (four statements or more): the oracle of the one statement.

This is the reading `rally.services.players` did before `rally.services.player_sql` answered
the page in one statement (one change: the history rows of a source id come in the order of
their ids, where the order was the query plan's). The shaping of the rows into a page
(`players._line`, `players.assemble_page`) is shared; the reading is the old one. The tests
compare both on hand-made rows and on the real corpus.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pytest
from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from rally.models import Club, League, MatchScore, Player, PlayerClaim, PlayerHistory, Series
from rally.services import players
from rally.services.errors import PlayerNotFound
from rally.services.plan import Plan, run
from rally.services.players import (
    RECENT_MATCHES,
    PlayerPage,
    PtiPoint,
)
from rally.services.records import record_select


def _person_conditions() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Rows of the person of row :player_id: same source id and league; claimed together.

    Two conditions run as two queries: OR-ed, they made PostgreSQL scan every player.
    """
    me = aliased(Player)
    mine = aliased(PlayerClaim)
    claimed = aliased(PlayerClaim)
    pid: Any = bindparam("player_id")
    same_source = and_(
        Player.league_id == select(me.league_id).where(me.id == pid).scalar_subquery(),
        Player.tenniscores_player_id
        == select(me.tenniscores_player_id).where(me.id == pid).scalar_subquery(),
    )
    owner = select(mine.user_id).where(mine.player_id == pid).scalar_subquery()
    return same_source, Player.id.in_(select(claimed.player_id).where(claimed.user_id == owner))


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any, Any, Any]:
    # Built once: compiling a statement costs more than running it (see plan.run_async).
    same_source, claimed_together = _person_conditions()
    rows = (
        record_select()
        .add_columns(Club.id, Player.wins, Player.losses, Player.is_active)
        .order_by(League.league_id, Series.name, Player.id)
    )
    # One person's source id in one league: the history of its rows and the lines it played.
    source = and_(
        Player.league_id == bindparam("league_id"),
        Player.tenniscores_player_id == bindparam("source"),
    )
    history = (
        select(PlayerHistory.date, PlayerHistory.end_pti, PlayerHistory.series)
        .join(Player, Player.id == PlayerHistory.player_id)
        .where(source, PlayerHistory.date.is_not(None), PlayerHistory.end_pti.is_not(None))
        # Points of one date and value from two rows keep the first row's series: the order
        # of the history rows (the plan's order before the one statement made it explicit).
        .order_by(PlayerHistory.id)
    )
    m = MatchScore
    slots = (m.home_player_1_id, m.home_player_2_id, m.away_player_1_id, m.away_player_2_id)

    def named(slot: Any, column: Any) -> Any:
        return (
            select(column)
            .where(Player.league_id == m.league_id, Player.tenniscores_player_id == slot)
            .order_by(Player.id)
            .limit(1)
            .scalar_subquery()
        )

    matches = (
        select(
            m.match_date,
            League.league_id,
            m.home_team,
            m.away_team,
            m.home_team_id,
            m.away_team_id,
            m.line,
            m.scores,
            m.winner,
            *slots,
            *(named(slot, Player.id) for slot in slots),
            *(named(slot, Player.first_name + " " + Player.last_name) for slot in slots),
            m.id,
        )
        .join(League, League.id == m.league_id)
        .where(
            m.league_id == bindparam("league_id"),
            or_(*(slot == bindparam("source") for slot in slots)),
        )
    )
    return rows.where(same_source), rows.where(claimed_together), history, matches


def oracle_plan(*, player_id: int) -> Plan[PlayerPage]:
    """The page, row by row."""
    same_q, claimed_q, history_q, matches_q = _statements()
    params = {"player_id": player_id}
    rows = yield same_q, params
    if not rows:
        raise PlayerNotFound(f"There is no player {player_id}.")
    known = {r[0] for r in rows}
    rows += [r for r in (yield claimed_q, params) if r[0] not in known]
    history: list[Any] = []
    matches: list[Any] = []
    for league_id, source in dict.fromkeys((r[12], r[11]) for r in rows):
        step = {"league_id": league_id, "source": source}
        history += yield history_q, step
        # The source id goes in after the winner: it tells which side was the player's.
        matches += [(*r[:9], source, *r[9:]) for r in (yield matches_q, step)]
    history.sort(key=lambda h: h[0])
    matches.sort(key=lambda m: (m[6] or "", m[-1]))
    matches.sort(key=lambda m: m[0] or dt.date.min, reverse=True)
    record: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    lines = []
    for row in matches:
        played = players._line(row)
        lines.append(played)
        if played.result in ("won", "lost"):
            record[played.team_id][0 if played.result == "won" else 1] += 1
    points = (
        PtiPoint(date=date, pti=float(Decimal(value)), series=series)
        for date, value, series in history
    )
    return players.assemble_page(player_id, rows, record, lines[:RECENT_MATCHES], points)


def oracle_page(session: Session, *, player_id: int) -> PlayerPage:
    """The page, row by row (PlayerNotFound for an unknown id)."""
    return run(session, oracle_plan(player_id=player_id))


def same_pages(session: Session, player_ids: list[int]) -> int:
    """Assert the statement's page equals the oracle's for each id; return how many exist."""
    found = 0
    for player_id in player_ids:
        try:
            expected = oracle_page(session, player_id=player_id)
        except PlayerNotFound:
            with pytest.raises(PlayerNotFound):
                players.player_page(session, player_id=player_id)
            continue
        assert players.player_page(session, player_id=player_id) == expected, player_id
        found += 1
    return found
