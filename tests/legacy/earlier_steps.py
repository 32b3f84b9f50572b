"""Put a legacy database through what the original project's earlier fix did to production.

Written from the observed behaviour (issue 17), in this project's own code:

`run_script` is `scripts/migrate_series_league_isolation.py --live`: a copy of `series` as
`series_backup_migration`; `series.league_id` added, nullable, set to the league with most
distinct players (NULL when no player uses the series); for every series whose players are
of several leagues, the leagues in the text order of their ids, all but the first get a new
series `"<name> (<league_name>)"` (display name the same) and only their players and teams
move there; then a foreign key `series_league_id_fkey`, `series_name_key` dropped (when it
has that name: the script carried on when it did not) and `series_name_league_unique`
UNIQUE (name, league_id). Each statement committed on its own there; here they run in the
caller's transaction (the result is the same).

`clear_series_leagues` is the hand edit that let the later revision run: its checks refuse a
series linked to several leagues or to none, so `series_leagues` is left with exactly one
link per series (its league_id, else the first league it was linked to).

`run_revision` is the Alembic revision `series_one_league_refactor`: index
`ix_series_league_id`, league_id back-filled from `series_leagues`, NOT NULL,
`fk_series_league_id` (ON UPDATE CASCADE, ON DELETE RESTRICT), `uq_series_league_name`
UNIQUE (league_id, name), `series_leagues` dropped, alembic_version set to its id.
"""

from __future__ import annotations

import sqlalchemy as sa

from rally.db import make_engine
from rally.db.shapes import AFTER_REVISION, AFTER_SCRIPT, EARLIER_REVISION, PRISTINE

SHAPES = (PRISTINE, AFTER_SCRIPT, AFTER_REVISION)


def _x(conn: sa.Connection, sql: str, **params: object) -> sa.CursorResult:  # type: ignore[type-arg]
    return conn.execute(sa.text(sql), params)


def run_script(conn: sa.Connection) -> int:
    """The earlier script, live; return how many renamed series it created."""
    player_leagues = (
        "SELECT series_id, league_id, COUNT(DISTINCT tenniscores_player_id) AS n "
        "FROM players GROUP BY series_id, league_id"
    )
    # Ties for the most players: the script took whichever row came first; the lower id here.
    primary = _x(
        conn,
        f"SELECT DISTINCT ON (series_id) series_id, league_id FROM ({player_leagues}) c "
        "ORDER BY series_id, n DESC, league_id",
    ).all()
    spanning = _x(
        conn,
        "SELECT s.id, s.name, array_agg(DISTINCT p.league_id) AS leagues FROM series s "
        "JOIN players p ON p.series_id = s.id GROUP BY s.id, s.name "
        "HAVING COUNT(DISTINCT p.league_id) > 1 ORDER BY s.name",
    ).all()
    _x(conn, "CREATE TABLE series_backup_migration AS SELECT * FROM series")
    _x(conn, "ALTER TABLE series ADD COLUMN league_id integer")
    for series_id, league_id in primary:
        _x(conn, "UPDATE series SET league_id = :l WHERE id = :s", l=league_id, s=series_id)
    created = 0
    for series_id, name, leagues in spanning:
        for league_id in sorted(leagues, key=str)[1:]:
            league_name = _x(
                conn, "SELECT league_name FROM leagues WHERE id = :l", l=league_id
            ).scalar_one()
            new_name = f"{name} ({league_name})"
            new_id = _x(
                conn,
                "INSERT INTO series (name, display_name, league_id, updated_at) "
                "VALUES (:n, :n, :l, CURRENT_TIMESTAMP) RETURNING id",
                n=new_name,
                l=league_id,
            ).scalar_one()
            for table in ("players", "teams"):
                _x(
                    conn,
                    f"UPDATE {table} SET series_id = :new WHERE series_id = :old AND league_id = :l",
                    new=new_id,
                    old=series_id,
                    l=league_id,
                )
            created += 1
    _x(
        conn,
        "ALTER TABLE series ADD CONSTRAINT series_league_id_fkey "
        "FOREIGN KEY (league_id) REFERENCES leagues(id)",
    )
    _x(conn, "ALTER TABLE series DROP CONSTRAINT IF EXISTS series_name_key")
    _x(
        conn,
        "ALTER TABLE series ADD CONSTRAINT series_name_league_unique UNIQUE (name, league_id)",
    )
    return created


def clear_series_leagues(conn: sa.Connection) -> None:
    """The operator's hand edit: one series_leagues link per series, so the revision runs."""
    _x(
        conn,
        "CREATE TEMP TABLE _one_link AS SELECT s.id, COALESCE(s.league_id, "
        "(SELECT MIN(x.league_id) FROM series_leagues x WHERE x.series_id = s.id), "
        "(SELECT MIN(id) FROM leagues)) AS league_id FROM series s",
    )
    _x(conn, "DELETE FROM series_leagues")
    _x(
        conn,
        "INSERT INTO series_leagues (series_id, league_id) "
        "SELECT id, league_id FROM _one_link ORDER BY id",
    )
    _x(conn, "DROP TABLE _one_link")


def run_revision(conn: sa.Connection) -> None:
    """The earlier Alembic revision series_one_league_refactor."""
    _x(conn, "CREATE INDEX ix_series_league_id ON series (league_id)")
    several = _x(
        conn,
        "SELECT COUNT(*) FROM (SELECT series_id FROM series_leagues GROUP BY series_id "
        "HAVING COUNT(DISTINCT league_id) > 1) x",
    ).scalar_one()
    none = _x(
        conn,
        "SELECT COUNT(*) FROM series s WHERE NOT EXISTS "
        "(SELECT 1 FROM series_leagues x WHERE x.series_id = s.id)",
    ).scalar_one()
    assert several == 0 and none == 0, "the revision refuses to run (as it did in production)"
    _x(
        conn,
        "UPDATE series SET league_id = (SELECT x.league_id FROM series_leagues x "
        "WHERE x.series_id = series.id LIMIT 1) "
        "WHERE id IN (SELECT series_id FROM series_leagues)",
    )
    _x(conn, "ALTER TABLE series ALTER COLUMN league_id SET NOT NULL")
    _x(
        conn,
        "ALTER TABLE series ADD CONSTRAINT fk_series_league_id FOREIGN KEY (league_id) "
        "REFERENCES leagues(id) ON UPDATE CASCADE ON DELETE RESTRICT",
    )
    _x(conn, "ALTER TABLE series ADD CONSTRAINT uq_series_league_name UNIQUE (league_id, name)")
    _x(conn, "DROP TABLE series_leagues")
    _x(
        conn,
        "CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY)",
    )
    _x(conn, "DELETE FROM alembic_version")
    _x(conn, "INSERT INTO alembic_version VALUES (:v)", v=EARLIER_REVISION)


def put_through(url: str, shape: str, *, keep_script_backup: bool = True) -> None:
    """Take a pristine legacy database at `url` to `shape` (one of SHAPES).

    `keep_script_backup=False`: the operator dropped the script's series_backup_migration.
    """
    if shape == PRISTINE:
        return
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            run_script(conn)
            if shape == AFTER_REVISION:
                clear_series_leagues(conn)
                run_revision(conn)
            if not keep_script_backup:
                _x(conn, "DROP TABLE series_backup_migration")
    finally:
        engine.dispose()
