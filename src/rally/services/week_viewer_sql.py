"""Hot paths of the weekly pages on PostgreSQL: the viewer and the availability grid, one
statement each.

Each answers exactly as its general counterpart (`week.viewer`, `availability.team_grid`);
tests compare them on hand-made edge rows and the real corpus. The team page's statement is
in `rally.services.week_sql`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from rally.services.errors import TeamNotFound
from rally.services.team_page import CAPTAIN_FLAGS
from rally.services.week import Viewer

if TYPE_CHECKING:
    import psycopg

#: The answers of the roster (CTE `roster`) for the matches (CTE `fx`), as `answers_for`
#: picks them (a linked answer wins over a legacy one of that day; the newest legacy one wins
#: among those), and their counts per match.
_ANSWERS_CTES = """), answers AS (
    SELECT DISTINCT ON (f.id, a.player_id) f.id AS sid, a.player_id,
           a.availability_status AS code, a.notes
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
)"""


_VIEWER_SQL = """
SELECT u.id, u.email, u.first_name, u.last_name, v.team_id,
       EXISTS (SELECT 1 FROM player_claims pc JOIN players p ON p.id = pc.player_id
                WHERE pc.user_id = u.id AND p.team_id = v.team_id),
       f.id, f.salt, s.expires_at
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
) -> tuple[Viewer, dt.datetime] | None:
    """Return the viewer of a live session token and when the session expires (PostgreSQL,
    one statement), or None."""
    from rally.services.accounts import token_hash, utcnow

    if not token or len(token) > 200:
        return None
    cursor = await connection.execute(
        _VIEWER_SQL,
        {"token_hash": token_hash(token), "now": utcnow(), "team_id": team_id},
        prepare=True,
    )
    row = await cursor.fetchone()
    return (Viewer(*row[:-1]), row[-1]) if row else None


#: `availability.team_grid` with its sign-in and rights checks in one statement: the user of
#: the session token, the team, the user's rows on it and the grid document.
_GRID_SQL = """
WITH me AS (
    SELECT user_id FROM user_sessions
     WHERE token_hash = %(token_hash)s AND expires_at > %(now)s
), t AS (
    SELECT tm.id, tm.team_name, l.league_id AS league_key, l.league_name
      FROM teams tm JOIN leagues l ON l.id = tm.league_id
     WHERE tm.id = %(team_id)s
), mine AS (
    SELECT p.id, p.captain_status
      FROM me JOIN player_claims pc ON pc.user_id = me.user_id
      JOIN players p ON p.id = pc.player_id
     WHERE p.team_id = %(team_id)s
), rights AS (
    SELECT count(*) AS n,
           coalesce(bool_or(lower(trim(coalesce(captain_status, ''))) = ANY(%(flags)s)),
                    false) AS captain,
           coalesce(json_agg(id ORDER BY id), '[]'::json) AS own
      FROM mine
), roster AS (
    SELECT p.id, p.first_name, p.last_name, p.captain_status
      FROM players p WHERE p.team_id = %(team_id)s AND p.is_active IS NOT FALSE
), fx AS (
    SELECT s.id, s.match_date, s.match_time, s.location,
           coalesce(s.home_team_id = %(team_id)s, false) AS home,
           CASE WHEN s.home_team_id = %(team_id)s THEN s.away_team ELSE s.home_team END
               AS opponent,
           row_number() OVER (ORDER BY s.match_date, s.match_time, s.id) AS i
      FROM schedule s
     WHERE (s.home_team_id = %(team_id)s OR s.away_team_id = %(team_id)s)
       AND s.match_date >= %(today)s
{answers}
SELECT (SELECT user_id FROM me), t.team_name, t.league_name,
       (SELECT n FROM rights) > 0 AND (SELECT user_id FROM me) IS NOT NULL,
       (SELECT count(*) FROM fx),
       json_build_object(
    'team_id', t.id, 'team', t.team_name, 'league', t.league_key,
    'league_name', t.league_name, 'today', %(today)s::date,
    'matches', coalesce((SELECT json_agg(json_build_object(
            'schedule_id', f.id, 'date', f.match_date, 'time', f.match_time,
            'opponent', f.opponent, 'home', f.home, 'location', f.location,
            'counts', json_build_object(
                'available', coalesce(c.available, 0),
                'unavailable', coalesce(c.unavailable, 0),
                'unsure', coalesce(c.unsure, 0),
                'unanswered', (SELECT count(*) FROM roster) - coalesce(c.answered, 0))
        ) ORDER BY f.i) FROM fx f LEFT JOIN counts c ON c.sid = f.id), '[]'::json),
    'players', coalesce((SELECT json_agg(json_build_object(
            'player_id', r.id, 'name', r.first_name || ' ' || r.last_name,
            'captain', lower(trim(coalesce(r.captain_status, ''))) = ANY(%(flags)s),
            'mine', r.id IN (SELECT id FROM mine),
            'editable', r.id IN (SELECT id FROM mine) OR (SELECT captain FROM rights),
            'answers', coalesce((SELECT json_agg(CASE WHEN a.code IS NULL THEN NULL
                    ELSE json_build_object(
                        'status', CASE a.code WHEN 1 THEN 'available'
                                              WHEN 2 THEN 'unavailable' ELSE 'unsure' END,
                        'note', a.notes) END ORDER BY f.i)
                FROM fx f LEFT JOIN answers a ON a.sid = f.id AND a.player_id = r.id),
                '[]'::json)
        ) ORDER BY r.last_name, r.first_name, r.id) FROM roster r), '[]'::json),
    'captain', (SELECT captain FROM rights),
    'mine', (SELECT own FROM rights)
)::text
  FROM t
""".replace("{answers}", _ANSWERS_CTES)


async def grid_json(
    connection: psycopg.AsyncConnection[Any], *, token: str, team_id: int, today: dt.date
) -> str | None:
    """Return `availability.team_grid` as the API's JSON for the user of a session token.

    None when the token is no live session; TeamNotFound, TeamNotClaimed as the service.
    """
    from rally.services.accounts import token_hash, utcnow
    from rally.services.availability import no_upcoming, not_claimed

    if not token or len(token) > 200:
        return None
    cursor = await connection.execute(
        _GRID_SQL,
        {
            "token_hash": token_hash(token),
            "now": utcnow(),
            "team_id": team_id,
            "today": today,
            "flags": list(CAPTAIN_FLAGS),
        },
        prepare=True,
    )
    row = await cursor.fetchone()
    if row is None:
        # No such team; whether the token is alive decides between 401 and 404.
        cursor = await connection.execute(
            "SELECT 1 FROM user_sessions WHERE token_hash = %s AND expires_at > %s",
            (token_hash(token), utcnow()),
        )
        if await cursor.fetchone() is None:
            return None
        raise TeamNotFound(f"There is no team {team_id}.")
    user_id, team, league_name, member, matches, doc = row
    if user_id is None:
        return None
    if not member:
        raise not_claimed(team)
    empty = None if matches else no_upcoming(team, league_name)
    return f'{doc[:-1]}, "empty" : {json.dumps(empty)}}}'
