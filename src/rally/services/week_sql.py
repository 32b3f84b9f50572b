"""Hot paths of the weekly pages: each page's data from one statement.

Each function answers exactly as its general counterpart (`week.team_week`, `week.viewer`,
`availability.team_grid`); tests compare them on hand-made edge rows and the real corpus.
The documents are built by the database as JSON, so Python neither builds nor re-serializes
rows. The team page's statement is written once in SQLAlchemy Core (`rally.db.json_sql`)
and serves both backends: PostgreSQL runs it on the app's asynchronous autocommit
connections, SQLite in the request's session. The viewer and the grid (PostgreSQL only) are in
`rally.services.week_viewer_sql`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from rally.db import PostgresSql, postgres_sql
from rally.db import json_sql as js
from rally.models import (
    Club,
    League,
    MatchScore,
    Player,
    PlayerAvailability,
    Schedule,
    Series,
    Team,
)
from rally.services.availability import LEAGUE_TZ
from rally.services.errors import TeamNotFound
from rally.services.team_page import CAPTAIN_FLAGS
from rally.services.week import empty_reasons

if TYPE_CHECKING:
    import psycopg


@lru_cache(maxsize=1)
def _team_week_statement() -> Select[Any]:
    """`team_week` as one statement on either backend: the document (keys in the dataclass's
    order), then the section sizes and names that `empty_reasons` needs. Bound parameters:
    team_id, today, limit (the newest `limit` results get their lines)."""
    team_id = bindparam("team_id", type_=Integer)
    today = bindparam("today", type_=Date)
    limit = bindparam("limit", type_=Integer)
    tm, lg, cl, se = (x.__table__.c for x in (Team, League, Club, Series))
    leagues, clubs, series = (x.__table__ for x in (League, Club, Series))
    p, s, m, a = (x.__table__.c for x in (Player, Schedule, MatchScore, PlayerAvailability))
    players, schedule, scores, answers = (
        x.__table__ for x in (Player, Schedule, MatchScore, PlayerAvailability)
    )
    t = (
        select(
            tm.id,
            tm.team_name,
            tm.league_id.label("lid"),
            lg.league_id.label("league_key"),
            lg.league_name,
            cl.name.label("club"),
            se.name.label("series"),
            se.id.label("series_id"),
        )
        .join(leagues, lg.id == tm.league_id)
        .join(clubs, cl.id == tm.club_id)
        .join(series, se.id == tm.series_id)
        .where(tm.id == team_id)
        .cte("t")
    )
    # Every line the team played; a row whose home team is unknown (NULL) is an away row.
    home = func.coalesce(m.home_team_id == t.c.id, false())
    won = (m.winner == "home") == home
    ms = (
        select(
            m.id,
            m.match_date,
            m.line,
            m.scores,
            home.label("home"),
            case((home, m.away_team), else_=m.home_team).label("opponent"),
            case((home, m.home_player_1_id), else_=m.away_player_1_id).label("our1"),
            case((home, m.home_player_2_id), else_=m.away_player_2_id).label("our2"),
            case((home, m.away_player_1_id), else_=m.home_player_1_id).label("their1"),
            case((home, m.away_player_2_id), else_=m.home_player_2_id).label("their2"),
            case(
                (or_(m.winner == "home", m.winner == "away"), case((won, "won"), else_="lost")),
                (m.winner == "tie", "tied"),
            ).label("result"),
            func.row_number()
            .over(order_by=[m.match_date.nulls_last(), m.line.nulls_last(), m.id])
            .label("rn"),
        )
        .select_from(t)
        .join(scores, or_(m.home_team_id == t.c.id, m.away_team_id == t.c.id))
        .cte("ms")
    )
    match_key = (ms.c.match_date, ms.c.opponent, ms.c.home)
    groups = (
        select(
            *match_key,
            func.min(ms.c.rn).label("first"),
            func.max(ms.c.rn).label("last"),
            func.count().filter(ms.c.result == "won").label("won"),
            func.count().filter(ms.c.result == "lost").label("lost"),
            func.row_number().over(order_by=func.min(ms.c.rn).desc()).label("newest"),
        )
        .group_by(*match_key)
        .cte("groups")
    )
    # Only the newest `limit` matches get their lines' names and JSON.
    shown = (
        select(ms, groups.c.first, groups.c.last, groups.c.won, groups.c.lost)
        .join(
            groups,
            and_(
                groups.c.match_date.is_not_distinct_from(ms.c.match_date),
                groups.c.opponent.is_not_distinct_from(ms.c.opponent),
                groups.c.home == ms.c.home,
            ),
        )
        .where(groups.c.newest <= limit)
        .cte("shown")
    )
    # The four player ids of each shown line, one row each (empty ids left out), named by
    # one join: hash-joinable on both backends.
    positions = [literal_column(str(i), Integer) for i in range(4)]
    slots = union_all(
        *(
            select(shown.c.id, i.label("i"), x.label("x")).where(x != "")
            for i, x in zip(
                positions, (shown.c.our1, shown.c.our2, shown.c.their1, shown.c.their2), strict=True
            )
        )
    ).cte("slots")
    ranked = (
        select(
            p.tenniscores_player_id.label("tid"),
            (p.first_name + " " + p.last_name).label("name"),
            func.row_number()
            .over(partition_by=p.tenniscores_player_id, order_by=p.id.desc())
            .label("k"),
        )
        .join(t, p.league_id == t.c.lid)
        .where(p.tenniscores_player_id.in_(select(slots.c.x)))
        .subquery()
    )
    # One name per source id: the newest row's; the id itself when no row has it.
    names = select(ranked.c.tid, ranked.c.name).where(ranked.c.k == 1).subquery()
    named = (
        select(
            slots.c.id,
            *(
                func.max(case((slots.c.i == i, func.coalesce(names.c.name, slots.c.x))))
                for i in positions
            ),
        )
        .outerjoin(names, names.c.tid == slots.c.x)
        .group_by(slots.c.id)
        .subquery()
    )
    at = list(named.c)[1:]

    def side_names(one: Any, two: Any) -> ColumnElement[Any]:
        # A side's players as a JSON array, in line order.
        return case(
            (and_(one.is_not(None), two.is_not(None)), js.array(one, two)),
            (one.is_not(None), js.array(one)),
            (two.is_not(None), js.array(two)),
            else_=js.array(),
        )

    lines = select(
        shown,
        side_names(at[0], at[1]).label("our_names"),
        side_names(at[2], at[3]).label("their_names"),
    ).outerjoin(named, named.c.id == shown.c.id)
    lines_cte = lines.cte("lines")
    line_doc = js.object_(
        "line",
        lines_cte.c.line,
        "players",
        js.doc(lines_cte.c.our_names),
        "opponents",
        js.doc(lines_cte.c.their_names),
        "scores",
        lines_cte.c.scores,
        "result",
        lines_cte.c.result,
    )
    # Each match's lines, in order: the array grows row by row and is whole on the match's
    # last line, where the match's document is built once.
    results_rows = select(
        lines_cte,
        js.array_agg(
            line_doc,
            order_by=[lines_cte.c.rn],
            partition_by=[lines_cte.c.match_date, lines_cte.c.opponent, lines_cte.c.home],
            running=True,
        ).label("lines"),
    ).cte("results_rows")
    rr = results_rows.c
    results = (
        select(
            rr.first,
            js.object_(
                "date",
                rr.match_date,
                "opponent",
                rr.opponent,
                "home",
                js.boolean(rr.home),
                "lines_won",
                rr.won,
                "lines_lost",
                rr.lost,
                "lines",
                js.doc(rr.lines),
            ).label("doc"),
        )
        .where(rr.rn == rr.last)
        .cte("results")
    )
    ours = union_all(
        select(ms.c.our1.label("tid"), ms.c.result), select(ms.c.our2, ms.c.result)
    ).subquery()
    record = (
        select(
            ours.c.tid,
            func.count().filter(ours.c.result == "won").label("won"),
            func.count().filter(ours.c.result == "lost").label("lost"),
        )
        .where(ours.c.tid != "", or_(ours.c.result == "won", ours.c.result == "lost"))
        .group_by(ours.c.tid)
        .cte("record")
    )
    roster = (
        select(
            p.id,
            p.first_name,
            p.last_name,
            p.pti,
            p.captain_status,
            func.coalesce(record.c.won, p.wins, 0).label("wins"),
            func.coalesce(record.c.lost, p.losses, 0).label("losses"),
        )
        .select_from(t)
        .join(players, p.team_id == t.c.id)
        .outerjoin(record, record.c.tid == p.tenniscores_player_id)
        .where(p.is_active.is_not(False))
        .cte("roster")
    )
    fx = (
        select(
            s.id,
            s.match_date,
            s.match_time,
            s.location,
            func.coalesce(s.home_team_id == t.c.id, false()).label("home"),
            case((s.home_team_id == t.c.id, s.away_team), else_=s.home_team).label("opponent"),
        )
        .select_from(t)
        .join(schedule, or_(s.home_team_id == t.c.id, s.away_team_id == t.c.id))
        .cte("fx")
    )
    # The roster's answers for the dated matches, as `answers_for` picks them: one tied to
    # the match wins over a legacy one of that day, the newest legacy one among those.
    picked = (
        select(
            fx.c.id.label("sid"),
            a.availability_status.label("code"),
            func.row_number()
            .over(
                partition_by=[fx.c.id, a.player_id],
                order_by=[a.schedule_id.is_(None), a.updated_at.desc().nulls_last(), a.id.desc()],
            )
            .label("k"),
        )
        .select_from(roster)
        .join(answers, a.player_id == roster.c.id)
        .join(
            fx,
            and_(
                fx.c.match_date.is_not(None),
                or_(
                    a.schedule_id == fx.c.id,
                    and_(
                        a.schedule_id.is_(None),
                        js.league_day(a.match_date, js.sql_literal(LEAGUE_TZ.key))
                        == fx.c.match_date,
                    ),
                ),
            ),
        )
        .subquery()
    )
    counts = (
        select(
            picked.c.sid,
            func.count().filter(picked.c.code == 1).label("available"),
            func.count().filter(picked.c.code == 2).label("unavailable"),
            func.count().label("answered"),
        )
        .where(picked.c.k == 1)
        .group_by(picked.c.sid)
        .cte("counts")
    )
    roster_size = select(func.count()).select_from(roster).scalar_subquery()
    available = func.coalesce(counts.c.available, 0)
    unavailable = func.coalesce(counts.c.unavailable, 0)
    answered = func.coalesce(counts.c.answered, 0)
    matches = (
        select(
            fx,
            js.object_(
                "schedule_id",
                fx.c.id,
                "date",
                fx.c.match_date,
                "weekday",
                js.weekday(fx.c.match_date),
                "time",
                js.iso_time(fx.c.match_time),
                "opponent",
                fx.c.opponent,
                "home",
                js.boolean(fx.c.home),
                "location",
                fx.c.location,
                "counts",
                js.object_(
                    "available",
                    available,
                    "unavailable",
                    unavailable,
                    # Any other status code counts as unsure, as in `availability.count`.
                    "unsure",
                    answered - available - unavailable,
                    "unanswered",
                    roster_size - answered,
                ),
            ).label("doc"),
            or_(fx.c.match_date.is_(None), fx.c.match_date >= today).label("upcoming"),
        )
        .outerjoin(counts, counts.c.sid == fx.c.id)
        .cte("matches")
    )
    mx = matches.c

    def listed(cte: Any, value: Any, order_by: list[Any], where: Any = None) -> ColumnElement[Any]:
        query = select(js.array_agg(value, order_by=order_by)).select_from(cte).limit(1)
        return js.or_empty((query if where is None else query.where(where)).scalar_subquery())

    def size(cte: Any, where: Any = None) -> ColumnElement[int]:
        query = select(func.count()).select_from(cte)
        return (query if where is None else query.where(where)).scalar_subquery()

    upcoming = mx.upcoming
    r = roster.c
    captain = func.lower(func.trim(func.coalesce(r.captain_status, ""))).in_(
        [js.sql_literal(flag) for flag in CAPTAIN_FLAGS]
    )
    document = js.object_(
        "team_id",
        t.c.id,
        "team",
        t.c.team_name,
        "league",
        t.c.league_key,
        "league_name",
        t.c.league_name,
        "club",
        t.c.club,
        "series",
        t.c.series,
        "series_id",
        t.c.series_id,
        "today",
        js.as_date(today),
        "next_match",
        js.doc(
            select(mx.doc)
            .where(upcoming, mx.match_date.is_not(None))
            .order_by(mx.match_date, mx.match_time.is_(None), mx.match_time, mx.id)
            .limit(1)
            .scalar_subquery()
        ),
        "upcoming",
        listed(
            matches,
            js.doc(mx.doc),
            [mx.match_date.is_(None), mx.match_date, mx.match_time.is_(None), mx.match_time, mx.id],
            upcoming,
        ),
        "past",
        listed(
            matches,
            js.doc(mx.doc),
            [
                mx.match_date.desc(),
                mx.match_time.is_not(None).desc(),
                mx.match_time.desc(),
                mx.id.desc(),
            ],
            ~upcoming,
        ),
        "results",
        listed(results, js.doc(results.c.doc), [results.c.first.desc()]),
        "results_total",
        size(groups),
        "roster",
        listed(
            roster,
            js.object_(
                "player_id",
                r.id,
                "first_name",
                r.first_name,
                "last_name",
                r.last_name,
                "pti",
                cast(r.pti, Float),
                "wins",
                r.wins,
                "losses",
                r.losses,
                "captain",
                js.boolean(captain),
            ),
            [r.last_name, r.first_name, r.id],
        ),
    )
    return select(
        js.text(document),
        size(matches, upcoming),
        size(matches, ~upcoming),
        size(groups),
        size(roster),
        t.c.team_name,
        t.c.league_name,
    ).select_from(t)


def _document(row: Any, team_id: int) -> str:
    if row is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    doc, upcoming, past, results, roster, team, league_name = row
    reasons = empty_reasons(
        team=team,
        league_name=league_name,
        upcoming=upcoming,
        past=past,
        results=results,
        roster=roster,
    )
    # The document ends with "}": append the reasons without parsing it again.
    return f'{doc[:-1]}, "empty" : {json.dumps(reasons)}}}'


def _params(team_id: int, today: dt.date, results_limit: int | None) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "today": today,
        "limit": _ALL if results_limit is None else results_limit,
    }


#: `limit` that keeps every result.
_ALL = 2**31 - 1


@lru_cache(maxsize=1)
def _team_week_postgresql() -> PostgresSql:
    """The statement compiled for psycopg."""
    return postgres_sql(_team_week_statement())


async def team_week_json(
    connection: psycopg.AsyncConnection[Any],
    *,
    team_id: int,
    today: dt.date,
    results_limit: int | None = None,
) -> str:
    """Return `team_week` as the API's JSON, built by PostgreSQL in one round trip."""
    compiled = _team_week_postgresql()
    cursor = await connection.execute(
        compiled.sql, compiled.params(_params(team_id, today, results_limit)), prepare=True
    )
    return _document(await cursor.fetchone(), team_id)


def team_week_text(
    session: Session, *, team_id: int, today: dt.date, results_limit: int | None = None
) -> str:
    """Return `team_week` as the API's JSON from the same statement, on any backend."""
    row = (
        session.connection()
        .execute(_team_week_statement(), _params(team_id, today, results_limit))
        .first()
    )
    return _document(row, team_id)


class TeamWeekTexts:
    """Team documents kept while the database's data version stays the same (SQLite).

    `version` reads the data version (`rally.db.writer.DataVersion.read`): any commit
    changes it and drops every kept document, so a document is never older than the last
    commit. The version is read before the statement runs, and a document is kept only under
    the version it was read at, so a commit during the statement is never hidden. Without
    `version` (PostgreSQL, SQLite in memory) nothing is kept.
    """

    def __init__(self, version: Callable[[], int] | None, size: int = 4096) -> None:
        self._version = version
        self._size = size
        self._seen: int | None = None
        self._texts: dict[tuple[int, dt.date, int | None], str] = {}
        #: Documents answered from memory and built by the statement (for tests).
        self.hits = 0
        self.misses = 0

    def peek(self, *, team_id: int, today: dt.date, results_limit: int | None = None) -> str | None:
        """Return the kept document, or None (no database work: safe on the event loop)."""
        if self._version is None:
            return None
        version = self._version()
        if version != self._seen:
            self._seen, self._texts = version, {}
            return None
        text = self._texts.get((team_id, today, results_limit))
        if text is not None:
            self.hits += 1
        return text

    def text(
        self, session: Session, *, team_id: int, today: dt.date, results_limit: int | None = None
    ) -> str:
        """Return `team_week_text`, from memory while nothing changed."""
        if self._version is None:
            return team_week_text(
                session, team_id=team_id, today=today, results_limit=results_limit
            )
        key = (team_id, today, results_limit)
        version = self._version()
        if version == self._seen and (kept := self._texts.get(key)) is not None:
            self.hits += 1
            return kept
        if version != self._seen:
            self._seen, self._texts = version, {}
        text = team_week_text(session, team_id=team_id, today=today, results_limit=results_limit)
        self.misses += 1
        texts = self._texts
        if self._seen == version:
            if len(texts) >= self._size:
                texts.clear()
            texts[key] = text
        return text
