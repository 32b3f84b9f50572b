"""Triggers that translate the old application's legacy-shaped writes into league-correct rows.

The old application does not know the new columns and looks series up by NAME, so it may hand
a team of CNSWPL the id of APTA's "Series 1". Each referencing table gets a BEFORE INSERT OR
UPDATE trigger that fills the row's league the way `analysis.py` decides it, then
re-points the row to the series of the same name in its own league (creating it when the
league has none yet). A context gets its team's series and league. Before the split every
series is still shared, so `rally_online_series_for` is the identity until the split
transaction replaces it.

The backfill's own batches set ``rally.online_backfill = on`` for their transaction: they
compute the same values set-based, so the row triggers step aside.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

SERIES_FOR = "rally_online_series_for"
TRIGGER = "rally_online_translate"
FOLLOW_TRIGGER = "rally_online_contexts_follow"

_IDENTITY = f"""
CREATE OR REPLACE FUNCTION {SERIES_FOR}(sid integer, lg integer) RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT sid $$"""

# After the split: the series of the same name in league `lg`; an unclaimed (league-less)
# series is claimed by the first league that uses it; otherwise a new row is made.
_SPLIT = f"""
CREATE OR REPLACE FUNCTION {SERIES_FOR}(sid integer, lg integer) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE s record; hit integer;
BEGIN
    IF sid IS NULL OR lg IS NULL THEN RETURN sid; END IF;
    SELECT id, name, display_name, league_id, updated_at INTO s FROM series WHERE id = sid;
    IF NOT FOUND OR s.league_id = lg THEN RETURN sid; END IF;
    SELECT id INTO hit FROM series WHERE name = s.name AND league_id = lg;
    IF hit IS NOT NULL THEN RETURN hit; END IF;
    IF s.league_id IS NULL THEN
        UPDATE series SET league_id = lg WHERE id = sid AND league_id IS NULL;
        IF FOUND THEN RETURN sid; END IF;
    END IF;
    INSERT INTO series (name, display_name, league_id, updated_at)
    VALUES (s.name, s.display_name, lg, s.updated_at)
    ON CONFLICT (name, league_id) DO NOTHING RETURNING id INTO hit;
    IF hit IS NULL THEN
        SELECT id INTO hit FROM series WHERE name = s.name AND league_id = lg;
    END IF;
    RETURN hit;
END $$"""

# The league of a row, as analysis.py decides it, from the row's own columns.
_LEAGUE_OF: dict[str, tuple[str, tuple[str, ...]]] = {
    # table: (expression, columns whose change makes the league worth re-deriving)
    "series_stats": ("(SELECT league_id FROM teams WHERE id = NEW.team_id)", ("team_id",)),
    "player_availability": (
        "COALESCE((SELECT league_id FROM players WHERE id = NEW.player_id), "
        "(SELECT COALESCE(t.league_id, c.league_id) FROM user_contexts c "
        "LEFT JOIN teams t ON t.id = c.team_id WHERE c.user_id = NEW.user_id), "
        "(SELECT league_id FROM series WHERE id = NEW.series_id))",
        ("player_id", "user_id"),
    ),
    "user_instructions": (
        "COALESCE((SELECT league_id FROM teams WHERE id = NEW.team_id), "
        "(SELECT league_id FROM series WHERE id = NEW.series_id))",
        ("team_id", "series_id"),
    ),
    "schedule": (
        "COALESCE((SELECT league_id FROM teams WHERE id = NEW.home_team_id), "
        "(SELECT league_id FROM teams WHERE id = NEW.away_team_id))",
        ("home_team_id", "away_team_id"),
    ),
    "match_scores": (
        "COALESCE((SELECT league_id FROM teams WHERE id = NEW.home_team_id), "
        "(SELECT league_id FROM teams WHERE id = NEW.away_team_id))",
        ("home_team_id", "away_team_id"),
    ),
    "player_history": ("(SELECT league_id FROM players WHERE id = NEW.player_id)", ("player_id",)),
}
SERIES_TABLES = ("teams", "players", "series_stats", "player_availability", "user_instructions")
TABLES = (*SERIES_TABLES, "schedule", "match_scores", "player_history", "user_contexts")


#: Advisory lock class of the availability link (with the player id as second key).
LINK_LOCK = 110004
#: Once player_availability.schedule_id exists (revision 0004, built before the window): an
#: answer the old application writes (it knows no schedule_id) is linked to that day's match
#: of its player's team, as 0004 links the legacy rows; the newest answer wins, so an older
#: answer of that player holding the match lets go of it (UNIQUE (player_id, schedule_id)).
_LINK = f"""
IF NEW.schedule_id IS NULL AND NEW.player_id IS NOT NULL
   AND (TG_OP = 'INSERT' OR OLD.schedule_id IS NULL) THEN
    SELECT min(s.id) INTO link FROM players p
      JOIN schedule s ON s.home_team_id = p.team_id OR s.away_team_id = p.team_id
     WHERE p.id = NEW.player_id
       AND s.match_date = (NEW.match_date AT TIME ZONE 'America/Chicago')::date;
    IF link IS NOT NULL THEN
        -- The backfill's batch links under the same lock: one waits for the other's commit,
        -- then sees its link (instead of both linking the match: a unique violation).
        PERFORM pg_advisory_xact_lock({LINK_LOCK}, NEW.player_id);
        UPDATE player_availability SET schedule_id = NULL
         WHERE player_id = NEW.player_id AND schedule_id = link
           AND id IS DISTINCT FROM NEW.id;
        NEW.schedule_id := link;
    END IF;
END IF;"""


def _body(table: str, *, link: bool = False) -> str:
    parts = []
    if table in _LEAGUE_OF:
        expr, inputs = _LEAGUE_OF[table]
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in inputs)
        # A new row keeps a league it was given (the new application); an old-application
        # update that changes what decides the league (it cannot set league_id) re-derives it.
        parts.append(
            f"IF TG_OP = 'INSERT' THEN NEW.league_id := COALESCE(NEW.league_id, {expr}); "
            f"ELSIF NEW.league_id IS NOT DISTINCT FROM OLD.league_id AND ({changed}) THEN "
            f"NEW.league_id := COALESCE({expr}, NEW.league_id); END IF;"
        )
    if table == "user_contexts":
        parts.append(
            "IF NEW.team_id IS NOT NULL THEN SELECT series_id, league_id "
            "INTO NEW.series_id, NEW.league_id FROM teams WHERE id = NEW.team_id; END IF;"
        )
    if table in SERIES_TABLES:
        parts.append(f"NEW.series_id := {SERIES_FOR}(NEW.series_id, NEW.league_id);")
    if link and table == "player_availability":
        parts.append(_LINK)
    return "\n    ".join(parts)


def _function(table: str, *, link: bool = False) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {TRIGGER}_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE link integer;
BEGIN
    IF current_setting('rally.online_backfill', true) = 'on' THEN RETURN NEW; END IF;
    {_body(table, link=link)}
    RETURN NEW;
END $$"""


_FOLLOW = f"""
CREATE OR REPLACE FUNCTION {FOLLOW_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The backfill re-points teams in batches and then fills every context set-based;
    -- following per team there would scan user_contexts once per row of the batch.
    IF current_setting('rally.online_backfill', true) = 'on' THEN RETURN NULL; END IF;
    UPDATE user_contexts SET series_id = NEW.series_id, league_id = NEW.league_id
    WHERE team_id = NEW.id AND (series_id IS DISTINCT FROM NEW.series_id
                                OR league_id IS DISTINCT FROM NEW.league_id);
    RETURN NULL;
END $$"""


def install_functions(conn: Connection, *, split: bool) -> None:
    """Create or replace every trigger function (no table lock)."""
    conn.execute(sa.text(_SPLIT if split else _IDENTITY))
    link = bool(
        conn.execute(
            sa.text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = 'player_availability' AND column_name = 'schedule_id'"
            )
        ).first()
    )
    for table in TABLES:
        conn.execute(sa.text(_function(table, link=link)))
    conn.execute(sa.text(_FOLLOW))


def install_trigger(conn: Connection, table: str) -> None:
    """Attach the translating trigger to `table` (a brief SHARE ROW EXCLUSIVE lock)."""
    conn.execute(
        sa.text(
            f"CREATE OR REPLACE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER}_{table}()"
        )
    )
    if table == "teams":
        conn.execute(
            sa.text(
                f"CREATE OR REPLACE TRIGGER {FOLLOW_TRIGGER} AFTER UPDATE OF series_id, "
                f"league_id ON teams FOR EACH ROW EXECUTE FUNCTION {FOLLOW_TRIGGER}()"
            )
        )


def drop_trigger(conn: Connection, table: str) -> None:
    """Detach the triggers from `table`."""
    conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}"))
    if table == "teams":
        conn.execute(sa.text(f"DROP TRIGGER IF EXISTS {FOLLOW_TRIGGER} ON teams"))


def drop_functions(conn: Connection) -> None:
    """Drop every trigger function (after the triggers)."""
    for table in TABLES:
        conn.execute(sa.text(f"DROP FUNCTION IF EXISTS {TRIGGER}_{table}()"))
    conn.execute(sa.text(f"DROP FUNCTION IF EXISTS {FOLLOW_TRIGGER}()"))
    conn.execute(sa.text(f"DROP FUNCTION IF EXISTS {SERIES_FOR}(integer, integer)"))
