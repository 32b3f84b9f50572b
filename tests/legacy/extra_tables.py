"""Tables Rally does not know, as the old application grew them, added to a legacy database.

One table per kind of reference: a foreign key to series with and without a league column,
to teams, to players, and bare id columns without any constraint (with and without a primary
key). Rows reference existing rows of a loaded legacy database.
"""

from __future__ import annotations

import sqlalchemy as sa

KINDS = {
    "captain_notes": (
        "CREATE TABLE captain_notes (id serial PRIMARY KEY, "
        "series_id integer NOT NULL REFERENCES series(id), "
        "league_id integer REFERENCES leagues(id), note text)",
        # One note per (series, league) that uses the series: each must follow its league.
        "INSERT INTO captain_notes (series_id, league_id, note) "
        "SELECT series_id, league_id, 'note' FROM series_leagues ORDER BY series_id, league_id",
    ),
    "series_notes": (
        "CREATE TABLE series_notes (id serial PRIMARY KEY, "
        "series_id integer REFERENCES series(id), note text)",
        "INSERT INTO series_notes (series_id, note) SELECT id, 'n' FROM series ORDER BY id",
    ),
    "polls": (
        "CREATE TABLE polls (id serial PRIMARY KEY, team_id integer NOT NULL REFERENCES teams(id), "
        "question text)",
        "INSERT INTO polls (team_id, question) SELECT id, 'who plays?' FROM teams ORDER BY id",
    ),
    "saved_lineups": (
        "CREATE TABLE saved_lineups (id serial PRIMARY KEY, "
        "player_id integer REFERENCES players(id), "
        "captain_player_id integer REFERENCES players(id), line text)",
        "INSERT INTO saved_lineups (player_id, captain_player_id, line) "
        "SELECT id, MIN(id) OVER (), 'L1' FROM players ORDER BY id",
    ),
    "activity_log": (
        # No constraint, no primary key: ids by column name only.
        "CREATE TABLE activity_log (series_id integer, team_id integer, player_id integer, "
        "action text)",
        "INSERT INTO activity_log SELECT t.series_id, t.id, p.id, 'joined' FROM teams t "
        "JOIN players p ON p.team_id = t.id ORDER BY t.id, p.id",
    ),
    "pickup_games": (
        "CREATE TABLE pickup_games (id serial PRIMARY KEY, home_team_id integer, "
        "away_team_id bigint, where_ text)",
        "INSERT INTO pickup_games (home_team_id, away_team_id, where_) "
        "SELECT MIN(id), MAX(id), 'park' FROM teams",
    ),
}


def add(conn: sa.Connection, kinds: list[str] | None = None) -> None:
    """Create the unknown tables (all kinds by default) and fill them."""
    for kind in kinds or list(KINDS):
        for statement in KINDS[kind]:
            conn.execute(sa.text(statement))


def constraints(conn: sa.Connection) -> set[tuple[str, str, str]]:
    """(table, name, definition) of every constraint of the unknown tables."""
    return {
        (str(t), str(n), str(d))
        for t, n, d in conn.execute(
            sa.text(
                "SELECT r.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class r ON r.oid = c.conrelid WHERE r.relname = ANY(:t)"
            ),
            {"t": list(KINDS)},
        )
    }
