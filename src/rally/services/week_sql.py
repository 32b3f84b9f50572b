"""PostgreSQL hot paths of the weekly pages: each page's data from one prepared statement.

Each function answers exactly as its general counterpart (`week.team_week`, `week.viewer`,
`availability.team_grid`); tests compare them on hand-made edge rows and the real corpus.
The documents are built by PostgreSQL as JSON, so Python neither builds nor re-serializes
rows; the statements run on the app's asynchronous autocommit connections.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from rally.services.errors import TeamNotFound
from rally.services.team_page import CAPTAIN_FLAGS
from rally.services.week import Viewer, empty_reasons

if TYPE_CHECKING:
    import psycopg


#: `team_week` as one statement: PostgreSQL builds the document (keys in the dataclass's
#: order) and returns the section sizes that `empty_reasons` needs.
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
), groups AS (
    SELECT match_date, opponent, home, min(rn) AS first
      FROM ms GROUP BY match_date, opponent, home
), kept AS (
    -- Only the newest `limit` matches get their lines' names and JSON.
    SELECT * FROM groups ORDER BY first DESC LIMIT %(limit)s
), shown AS (
    SELECT ms.* FROM ms JOIN kept k
      ON k.match_date IS NOT DISTINCT FROM ms.match_date
     AND k.opponent IS NOT DISTINCT FROM ms.opponent AND k.home = ms.home
), names AS (
    SELECT DISTINCT ON (p.tenniscores_player_id) p.tenniscores_player_id AS tid,
           p.first_name || ' ' || p.last_name AS name
      FROM t JOIN players p ON p.league_id = t.lid
     WHERE p.tenniscores_player_id IN (SELECT unnest(ours || theirs) FROM shown)
     ORDER BY p.tenniscores_player_id, p.id DESC
), lines AS (
    SELECT shown.*,
           ARRAY(SELECT coalesce(n.name, u.x) FROM unnest(shown.ours) WITH ORDINALITY u(x, i)
                   LEFT JOIN names n ON n.tid = u.x WHERE u.x <> '' ORDER BY u.i) AS our_names,
           ARRAY(SELECT coalesce(n.name, u.x) FROM unnest(shown.theirs) WITH ORDINALITY u(x, i)
                   LEFT JOIN names n ON n.tid = u.x WHERE u.x <> '' ORDER BY u.i) AS their_names
      FROM shown
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
{answers}, matches AS (
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
    'results', coalesce((SELECT json_agg(doc ORDER BY first DESC) FROM results), '[]'::json),
    'results_total', (SELECT count(*) FROM groups),
    'roster', coalesce((SELECT json_agg(json_build_object(
                    'player_id', id, 'first_name', first_name, 'last_name', last_name,
                    'pti', pti::float8, 'wins', wins, 'losses', losses,
                    'captain', lower(trim(coalesce(captain_status, '')))
                               = ANY(%(captain_flags)s))
                    ORDER BY last_name, first_name, id) FROM roster), '[]'::json)
)::text,
    (SELECT count(*) FROM matches WHERE upcoming),
    (SELECT count(*) FROM matches WHERE NOT upcoming),
    (SELECT count(*) FROM groups),
    (SELECT count(*) FROM roster),
    t.team_name, t.league_name
FROM t
""".replace("{answers}", _ANSWERS_CTES)


async def team_week_json(
    connection: psycopg.AsyncConnection[Any],
    *,
    team_id: int,
    today: dt.date,
    results_limit: int | None = None,
) -> str:
    """Return `team_week` as the API's JSON, built by PostgreSQL in one round trip."""
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
