"""The player page's rows in one statement, written once for both backends.

`rally.services.players` shapes the page from the person's player rows, their PTI history,
the lines they played (the newest shown, all counted in the record). Read one query at a
time, that took four round trips or more (the person's rows, the rows claimed with them, then
history and lines per source id); under load each round trip is a wait on a busy event loop,
and those waits made the page's first answers its slowest. Here the database answers them all
in one statement, as one JSON text (rally.db.json_sql: PostgreSQL's json functions or
SQLite's JSON1): `[rows, history, lines, record]`.

- rows: each player row of the person, as `[record_select() columns..., club id, wins,
  losses, is_active, k]` (k 0: same source id and league as the page's player; 1: claimed by
  the same account), ordered as the page lists them;
- history: `[date, end_pti, series]` of every source id of the person, oldest first;
- lines: the `RECENT_MATCHES` newest lines any source id played, each as the row
  `players._line` reads (match columns, the source id, the four slots, their player ids and
  names, the match id);
- record: `[team_id, won, lost]` over every line played (not only the shown ones).

Orders are spelled out to the last tie (codepoint order for text, as Python sorts), so the
page is the one the row-by-row reading gave; tests compare both on the real corpus.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from rally.db import json_sql as js
from rally.models import Club, League, MatchScore, Player, PlayerClaim, PlayerHistory, Series
from rally.services.records import record_select

#: Lines listed on a page (the record counts them all).
RECENT_MATCHES = 20


class codepoint_order(FunctionElement[Any]):
    """Text compared code point by code point, as Python compares strings: PostgreSQL's "C"
    collation (UTF-8 bytes); SQLite's default BINARY collation already does."""

    type = Text()
    inherit_cache = True


@compiles(codepoint_order, "postgresql")
def _pg_codepoint(element: codepoint_order, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


@compiles(codepoint_order)
def _sqlite_codepoint(element: codepoint_order, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


def _ordered(cte: Any, value: Any, order_by: list[Any], where: Any = None) -> Any:
    """The JSON array of `value` over the rows of `cte` (`[]` when none), in `order_by`."""
    query = select(js.array_agg(value, order_by=order_by)).select_from(cte).limit(1)
    return js.or_empty((query if where is None else query.where(where)).scalar_subquery())


@lru_cache(maxsize=1)
def player_page_statement() -> Select[Any]:
    """The statement (bound parameter: player_id); one row, one column: the JSON text."""
    pid = bindparam("player_id", type_=Integer)
    me = aliased(Player)
    mine = aliased(PlayerClaim)
    claimed = aliased(PlayerClaim)
    zero, one = literal_column("0", Integer), literal_column("1", Integer)
    # The person: rows of the same source id and league; rows claimed by the same account.
    # Two selects, not an OR (which made PostgreSQL scan every player).
    same_source = select(Player.id.label("id"), zero.label("k")).where(
        Player.league_id == select(me.league_id).where(me.id == pid).scalar_subquery(),
        Player.tenniscores_player_id
        == select(me.tenniscores_player_id).where(me.id == pid).scalar_subquery(),
    )
    owner = select(mine.user_id).where(mine.player_id == pid).scalar_subquery()
    together = select(claimed.player_id, one).where(claimed.user_id == owner)
    ids = union_all(same_source, together).subquery("ids")
    person = select(ids.c.id, func.min(ids.c.k).label("k")).group_by(ids.c.id).cte("person")
    rows = (
        record_select()
        .add_columns(
            Club.id.label("club_id"),
            Player.wins.label("wins"),
            Player.losses.label("losses"),
            Player.is_active.label("active"),
            person.c.k,
            func.row_number()
            .over(order_by=[person.c.k, League.league_id, Series.name, Player.id])
            .label("pos"),
        )
        .join(person, person.c.id == Player.id)
        .cte("rows")
    )
    r = rows.c
    # Each source id of the person in a league, ranked by its first row.
    pairs = (
        select(r.league_pk, r.source_id, func.min(r.pos).label("rank"))
        .group_by(r.league_pk, r.source_id)
        .cte("pairs")
    )
    of_pair = aliased(Player)
    history = (
        select(
            PlayerHistory.id,
            PlayerHistory.date,
            PlayerHistory.end_pti,
            PlayerHistory.series,
            pairs.c.rank,
        )
        .join(of_pair, of_pair.id == PlayerHistory.player_id)
        .join(
            pairs,
            and_(
                of_pair.league_id == pairs.c.league_pk,
                of_pair.tenniscores_player_id == pairs.c.source_id,
            ),
        )
        .where(PlayerHistory.date.is_not(None), PlayerHistory.end_pti.is_not(None))
        .cte("history")
    )
    m = MatchScore
    source = pairs.c.source_id
    slots = (m.home_player_1_id, m.home_player_2_id, m.away_player_1_id, m.away_player_2_id)
    home = or_(*(func.coalesce(slot == source, false()) for slot in slots[:2]))
    result = case(
        (
            m.winner.in_([js.sql_literal("home"), js.sql_literal("away")]),
            case(((m.winner == "home") == home, "won"), else_="lost"),
        ),
        (m.winner == "tie", "tied"),
    )
    lines = (
        select(
            m.id,
            m.league_id,
            m.match_date,
            League.league_id.label("league"),
            m.home_team,
            m.away_team,
            m.home_team_id,
            m.away_team_id,
            m.line,
            m.scores,
            m.winner,
            source.label("me"),
            *(slot.label(f"s{i}") for i, slot in enumerate(slots)),
            case((home, m.home_team_id), else_=m.away_team_id).label("team_id"),
            result.label("result"),
            func.row_number()
            .over(
                order_by=[
                    m.match_date.desc().nulls_last(),
                    codepoint_order(func.coalesce(m.line, js.sql_literal(""))),
                    m.id,
                    pairs.c.rank,
                ]
            )
            .label("rn"),
        )
        .select_from(pairs)
        # `+ 0`: SQLite would otherwise read every line of the league by its (league_id, ...)
        # index rather than the four slot indexes (as PostgreSQL does).
        .join(
            m,
            and_(m.league_id + 0 == pairs.c.league_pk, or_(*(slot == source for slot in slots))),
        )
        .join(League, League.id == m.league_id)
        .cte("lines")
    )
    ln = lines.c
    line_slots = (ln.s0, ln.s1, ln.s2, ln.s3)

    def named(slot: Any, column: Any) -> Any:
        # The first row (lowest id) of the slot's source id in the match's league.
        return (
            select(column)
            .where(Player.league_id == ln.league_id, Player.tenniscores_player_id == slot)
            .order_by(Player.id)
            .limit(1)
            .scalar_subquery()
        )

    shown = js.array(
        ln.match_date,
        ln.league,
        ln.home_team,
        ln.away_team,
        ln.home_team_id,
        ln.away_team_id,
        ln.line,
        ln.scores,
        ln.winner,
        ln.me,
        *line_slots,
        *(named(slot, Player.id) for slot in line_slots),
        *(named(slot, Player.first_name + " " + Player.last_name) for slot in line_slots),
        ln.id,
    )
    record = (
        select(
            ln.team_id,
            func.count().filter(ln.result == "won").label("won"),
            func.count().filter(ln.result == "lost").label("lost"),
        )
        .where(ln.result.in_([js.sql_literal("won"), js.sql_literal("lost")]))
        .group_by(ln.team_id)
        .cte("record")
    )
    row = js.array(
        *(getattr(r, name) for name in _ROW_COLUMNS),
        js.boolean(r.active),
        r.k,
    )
    document = js.array(
        _ordered(rows, row, [r.pos]),
        _ordered(
            history,
            js.array(history.c.date, history.c.end_pti, history.c.series),
            [history.c.date, history.c.rank, history.c.id],
        ),
        _ordered(lines, shown, [ln.rn], ln.rn <= RECENT_MATCHES),
        _ordered(
            record,
            js.array(record.c.team_id, record.c.won, record.c.lost),
            [record.c.team_id],
        ),
    )
    return select(js.text(document))


#: The columns of a row, as `players.player_page_plan` reads them (then is_active and k).
_ROW_COLUMNS = (
    "player_id",
    "first_name",
    "last_name",
    "league",
    "league_name",
    "club",
    "series",
    "series_id",
    "team",
    "team_id",
    "pti",
    "source_id",
    "league_pk",
    "club_id",
    "wins",
    "losses",
)
