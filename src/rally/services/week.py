"""The team page a player opens every week: next match, upcoming, results, roster.

`team_week` works on any backend through the ORM. `team_week_json` is the PostgreSQL hot
path: the whole document built by one prepared statement (a test checks that both answer
the same for every team).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rally.models import Player, Schedule, Team
from rally.services.availability import Counts, answers_for, count
from rally.services.errors import TeamNotFound
from rally.services.team_page import MatchResult, RosterEntry, team_detail
from rally.services.teams import team_select

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Header:
    """A team's names."""

    team_id: int
    team: str
    league: str
    league_name: str
    club: str
    series: str
    series_id: int


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


def team_header(session: Session, *, team_id: int) -> Header:
    """Return a team's names (TeamNotFound)."""
    row = session.execute(team_select().where(Team.id == team_id)).first()
    if row is None:
        raise TeamNotFound(f"There is no team {team_id}.")
    return Header(*row)


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
    fixtures = session.execute(
        select(Schedule).where(
            or_(Schedule.home_team_id == team_id, Schedule.away_team_id == team_id)
        )
    ).scalars()
    dated = [f for f in fixtures]
    active = session.scalars(
        select(Player.id).where(Player.team_id == team_id, Player.is_active.is_not(False))
    ).all()
    answers = answers_for(
        session,
        player_ids=list(active),
        matches=[(f.id, f.match_date) for f in dated if f.match_date is not None],
    )

    def match(f: Schedule) -> Match:
        return Match(
            schedule_id=f.id,
            date=f.match_date,
            weekday=f.match_date.strftime("%A") if f.match_date else None,
            time=f.match_time,
            opponent=opponent_of(f, team_id),
            home=f.home_team_id == team_id,
            location=f.location,
            counts=count([answers.get((pid, f.id)) for pid in active]),
        )

    upcoming = sorted(
        (f for f in dated if f.match_date is None or f.match_date >= today),
        key=lambda f: (
            f.match_date is None,
            f.match_date or dt.date.min,
            f.match_time is None,
            f.match_time or dt.time(0),
            f.id,
        ),
    )
    past = sorted(
        (f for f in dated if f.match_date is not None and f.match_date < today),
        key=lambda f: (f.match_date, f.match_time is not None, f.match_time or dt.time(0), f.id),
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
        next_match=next((match(f) for f in upcoming if f.match_date is not None), None),
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


#: `team_week` as one statement: PostgreSQL builds the document (keys in the dataclass's
#: order) and returns the section sizes that `empty_reasons` needs.
_TEAM_WEEK_SQL = """
WITH t AS (
    SELECT tm.id, tm.team_name, tm.league_id AS lid, l.league_id AS league_key, l.league_name,
           c.name AS club, se.name AS series, se.id AS series_id
      FROM teams tm
      JOIN leagues l ON l.id = tm.league_id
      JOIN clubs c ON c.id = tm.club_id
      JOIN series se ON se.id = tm.series_id
     WHERE tm.id = %(team_id)s
), ms AS (
    SELECT m.id, m.match_date, m.line, m.scores, h.home,
           CASE WHEN h.home THEN m.away_team ELSE m.home_team END AS opponent,
           CASE WHEN h.home THEN ARRAY[m.home_player_1_id, m.home_player_2_id]
                ELSE ARRAY[m.away_player_1_id, m.away_player_2_id] END AS ours,
           CASE WHEN h.home THEN ARRAY[m.away_player_1_id, m.away_player_2_id]
                ELSE ARRAY[m.home_player_1_id, m.home_player_2_id] END AS theirs,
           CASE WHEN m.winner IN ('home', 'away') THEN
                     CASE WHEN (m.winner = 'home') = h.home THEN 'won' ELSE 'lost' END
                WHEN m.winner = 'tie' THEN 'tied' END AS result,
           row_number() OVER (ORDER BY m.match_date, m.line, m.id) AS rn
      FROM t JOIN match_scores m ON m.home_team_id = t.id OR m.away_team_id = t.id
     -- A row of this team whose home team is unknown (NULL) is an away row, as in Python.
     CROSS JOIN LATERAL (SELECT coalesce(m.home_team_id = t.id, false) AS home) h
), names AS (
    SELECT DISTINCT ON (p.tenniscores_player_id) p.tenniscores_player_id AS tid,
           p.first_name || ' ' || p.last_name AS name
      FROM t JOIN players p ON p.league_id = t.lid
     WHERE p.tenniscores_player_id IN (SELECT unnest(ours || theirs) FROM ms)
     ORDER BY p.tenniscores_player_id, p.id DESC
), lines AS (
    SELECT ms.*,
           ARRAY(SELECT coalesce(n.name, u.x) FROM unnest(ms.ours) WITH ORDINALITY u(x, i)
                   LEFT JOIN names n ON n.tid = u.x WHERE u.x <> '' ORDER BY u.i) AS our_names,
           ARRAY(SELECT coalesce(n.name, u.x) FROM unnest(ms.theirs) WITH ORDINALITY u(x, i)
                   LEFT JOIN names n ON n.tid = u.x WHERE u.x <> '' ORDER BY u.i) AS their_names
      FROM ms
), results AS (
    SELECT min(rn) AS first,
           json_build_object(
               'date', match_date, 'opponent', opponent, 'home', home,
               'lines_won', count(*) FILTER (WHERE result = 'won'),
               'lines_lost', count(*) FILTER (WHERE result = 'lost'),
               'lines', json_agg(json_build_object(
                   'line', line, 'players', our_names, 'opponents', their_names,
                   'scores', scores, 'result', result) ORDER BY rn)
           ) AS doc
      FROM lines GROUP BY match_date, opponent, home
), record AS (
    SELECT u.x AS tid, count(*) FILTER (WHERE result = 'won') AS won,
           count(*) FILTER (WHERE result = 'lost') AS lost
      FROM ms, unnest(ms.ours) u(x)
     WHERE u.x <> '' AND result IN ('won', 'lost')
     GROUP BY u.x
), roster AS (
    SELECT p.id, p.first_name, p.last_name, p.pti, p.captain_status,
           coalesce(r.won, p.wins, 0) AS wins, coalesce(r.lost, p.losses, 0) AS losses,
           r.tid IS NOT NULL AS counted
      FROM t JOIN players p ON p.team_id = t.id
      LEFT JOIN record r ON r.tid = p.tenniscores_player_id
     WHERE p.is_active IS NOT FALSE
), fx AS (
    SELECT s.id, s.match_date, s.match_time, s.location,
           coalesce(s.home_team_id = t.id, false) AS home,
           CASE WHEN s.home_team_id = t.id THEN s.away_team ELSE s.home_team END AS opponent
      FROM t JOIN schedule s ON s.home_team_id = t.id OR s.away_team_id = t.id
), answers AS (
    SELECT DISTINCT ON (f.id, a.player_id) f.id AS sid, a.availability_status AS code
      FROM roster r
      JOIN player_availability a ON a.player_id = r.id
      JOIN fx f ON a.schedule_id = f.id
                OR (a.schedule_id IS NULL
                    AND (a.match_date AT TIME ZONE 'America/Chicago')::date = f.match_date)
     ORDER BY f.id, a.player_id, a.schedule_id IS NULL, a.updated_at DESC NULLS LAST, a.id DESC
), counts AS (
    SELECT sid, count(*) FILTER (WHERE code = 1) AS available,
           count(*) FILTER (WHERE code = 2) AS unavailable,
           count(*) FILTER (WHERE code = 3) AS unsure, count(*) AS answered
      FROM answers GROUP BY sid
), matches AS (
    SELECT f.*, json_build_object(
               'schedule_id', f.id, 'date', f.match_date,
               'weekday', to_char(f.match_date, 'FMDay'), 'time', f.match_time,
               'opponent', f.opponent, 'home', f.home, 'location', f.location,
               'counts', json_build_object(
                   'available', coalesce(c.available, 0),
                   'unavailable', coalesce(c.unavailable, 0),
                   'unsure', coalesce(c.unsure, 0),
                   'unanswered', (SELECT count(*) FROM roster) - coalesce(c.answered, 0))
           ) AS doc,
           f.match_date IS NULL OR f.match_date >= %(today)s AS upcoming
      FROM fx f LEFT JOIN counts c ON c.sid = f.id
)
SELECT json_build_object(
    'team_id', t.id, 'team', t.team_name, 'league', t.league_key,
    'league_name', t.league_name, 'club', t.club, 'series', t.series,
    'series_id', t.series_id, 'today', %(today)s::date,
    'next_match', (SELECT doc FROM matches WHERE upcoming AND match_date IS NOT NULL
                    ORDER BY match_date, match_time IS NULL, match_time, id LIMIT 1),
    'upcoming', coalesce((SELECT json_agg(doc ORDER BY match_date IS NULL, match_date,
                                          match_time IS NULL, match_time, id)
                            FROM matches WHERE upcoming), '[]'::json),
    'past', coalesce((SELECT json_agg(doc ORDER BY match_date DESC,
                                      match_time IS NOT NULL DESC, match_time DESC, id DESC)
                        FROM matches WHERE NOT upcoming), '[]'::json),
    'results', coalesce((SELECT json_agg(doc ORDER BY first DESC)
                           FROM (SELECT doc, first FROM results ORDER BY first DESC
                                 LIMIT %(limit)s) newest), '[]'::json),
    'results_total', (SELECT count(*) FROM results),
    'roster', coalesce((SELECT json_agg(json_build_object(
                    'player_id', id, 'first_name', first_name, 'last_name', last_name,
                    'pti', pti::float8, 'wins', wins, 'losses', losses,
                    'captain', lower(trim(coalesce(captain_status, '')))
                               = ANY(%(captain_flags)s))
                    ORDER BY last_name, first_name, id) FROM roster), '[]'::json)
)::text,
    (SELECT count(*) FROM matches WHERE upcoming),
    (SELECT count(*) FROM matches WHERE NOT upcoming),
    (SELECT count(*) FROM results),
    (SELECT count(*) FROM roster),
    t.team_name, t.league_name
FROM t
"""


async def team_week_json(
    connection: psycopg.AsyncConnection[Any],
    *,
    team_id: int,
    today: dt.date,
    results_limit: int | None = None,
) -> str:
    """Return `team_week` as the API's JSON, built by PostgreSQL in one round trip."""
    from rally.services.team_page import CAPTAIN_FLAGS

    cursor = await connection.execute(
        _TEAM_WEEK_SQL,
        {
            "team_id": team_id,
            "today": today,
            "limit": results_limit,
            "captain_flags": list(CAPTAIN_FLAGS),
        },
        prepare=True,
    )
    row = await cursor.fetchone()
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


_VIEWER_SQL = """
SELECT u.id, u.email, u.first_name, u.last_name, v.team_id,
       EXISTS (SELECT 1 FROM player_claims pc JOIN players p ON p.id = pc.player_id
                WHERE pc.user_id = u.id AND p.team_id = v.team_id),
       f.id, f.salt
  FROM user_sessions s
  JOIN users u ON u.id = s.user_id
  LEFT JOIN user_contexts c ON c.user_id = u.id
  CROSS JOIN LATERAL (SELECT coalesce(%(team_id)s::integer, c.team_id) AS team_id) v
  LEFT JOIN LATERAL (
      SELECT id, salt FROM calendar_feeds
       WHERE user_id = u.id AND team_id = v.team_id AND revoked_at IS NULL
       ORDER BY id LIMIT 1) f ON true
 WHERE s.token_hash = %(token_hash)s AND s.expires_at > %(now)s
"""


async def viewer_for_token(
    connection: psycopg.AsyncConnection[Any], *, token: str | None, team_id: int | None
) -> Viewer | None:
    """Return the viewer of a live session token (PostgreSQL, one statement), or None."""
    from rally.services.accounts import token_hash, utcnow

    if not token or len(token) > 200:
        return None
    cursor = await connection.execute(
        _VIEWER_SQL,
        {"token_hash": token_hash(token), "now": utcnow(), "team_id": team_id},
        prepare=True,
    )
    row = await cursor.fetchone()
    return Viewer(*row) if row else None


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
