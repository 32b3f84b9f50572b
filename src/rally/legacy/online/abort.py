"""`rally db upgrade --abort`: from any point of the online window back to the legacy shape.

One transaction (under the lock budget, retried): it must merge the per-league series back
and restore the legacy constraints atomically, so the old application never sees a half
state. It first takes ACCESS EXCLUSIVE on every table in one bounded statement
(`lock_up_front`), so it never waits holding a lock and no application write can end as a
deadlock victim. Its writes wait for this transaction (about as long as
`rally db downgrade legacy` takes on the same data); none fail. Data written in the window
is kept.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.errors import RallyError
from rally.legacy import data as legacy_data
from rally.legacy import quarantine, shape
from rally.legacy.online import head, triggers
from rally.legacy.online.backfill import drop_work_tables
from rally.legacy.online.runner import STATE_TABLE, Log, lock_up_front, steps


class NothingToAbort(RallyError):
    """No online upgrade is in progress or in its window."""


def _exists(conn: Connection, name: str) -> bool:
    return conn.execute(sa.text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None


def _merge_series(conn: Connection, log: Log) -> None:
    """Re-point every reference to the first row of its name; keep the leagues in series_leagues."""
    conn.execute(
        sa.text(
            "CREATE TEMP TABLE _rally_abort ON COMMIT DROP AS SELECT id AS old_id, league_id, "
            "MIN(id) OVER (PARTITION BY name) AS keep_id FROM series"
        )
    )
    for table in (*triggers.SERIES_TABLES, "user_contexts"):
        if table == "user_contexts" and not head.has_column(conn, table, "series_id"):
            continue
        conn.execute(
            sa.text(
                f"UPDATE {table} x SET series_id = m.keep_id FROM _rally_abort m "
                "WHERE m.old_id = x.series_id AND m.keep_id <> m.old_id"
            )
        )
    links = conn.execute(
        sa.text(
            "INSERT INTO series_leagues (series_id, league_id) SELECT DISTINCT keep_id, league_id "
            "FROM _rally_abort m WHERE league_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
            "series_leagues l WHERE l.series_id = m.keep_id AND l.league_id = m.league_id)"
        )
    ).rowcount
    merged = conn.execute(
        sa.text(
            "DELETE FROM series s USING _rally_abort m WHERE m.old_id = s.id AND m.keep_id <> m.old_id"
        )
    ).rowcount
    log(f"abort: merged {merged} per-league series into their name's first row; {links} links")


def _down_to_built_revision(conn: Connection, log: Log) -> None:
    # In the window the schema may be past ONLINE_BUILT (revisions after it ran through
    # alembic at the window): undo those with their own downgrades; then drop what the steps
    # built of 0003-ONLINE_BUILT (whatever part of it exists), so only 0002's shape is left.
    from alembic import command

    from rally.db.state import alembic_config
    from rally.legacy.online.contract import later_revisions

    if _exists(conn, "alembic_version"):
        current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if current in later_revisions():
            log(f"abort: downgrading revisions {current} -> {head.ONLINE_BUILT}")
            command.downgrade(alembic_config(conn), head.ONLINE_BUILT)
    head.drop_prebuilt(conn)


def _lock_every_table(conn: Connection, within_s: float) -> None:
    tables = conn.execute(
        sa.text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p')"
        )
    ).scalars()
    lock_up_front(conn, dict.fromkeys(tables, "ACCESS EXCLUSIVE"), within_s=within_s)


def abort_work(conn: Connection, log: Log, *, lock_within_s: float = 1.0) -> None:
    """Return the database to the legacy shape (runs in the caller's transaction)."""
    progress = steps(conn)
    if not progress:
        raise NothingToAbort("No online upgrade to abort: the database has no rally_online table.")
    if "finalize: started" in progress:
        raise NothingToAbort(
            "The online upgrade is being finalized; the window is closed. Finish it with "
            "`rally db upgrade --finalize`, then `rally db downgrade legacy` if needed."
        )
    _lock_every_table(conn, lock_within_s)
    _down_to_built_revision(conn, log)
    for table in triggers.TABLES:
        triggers.drop_trigger(conn, table)
    triggers.drop_functions(conn)
    legacy = shape.legacy_shape(conn)
    if _exists(conn, "player_claims"):
        conn.execute(
            sa.text(
                "INSERT INTO user_player_associations (user_id, tenniscores_player_id) "
                "SELECT DISTINCT c.user_id, p.tenniscores_player_id FROM player_claims c "
                "JOIN players p ON p.id = c.player_id ON CONFLICT DO NOTHING"
            )
        )
    # Rows the resolutions (--resolve) changed or deleted go back, as `rally db downgrade
    # legacy` puts them back.
    saved = quarantine.save(conn) if _exists(conn, quarantine.TABLE) else 0
    for table in legacy_data.NEW_TABLES:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    shape.drop_constraints_and_indexes(
        conn, keep_indexes=legacy.index_names, tables=legacy_data.KEPT_TABLES
    )
    if head.has_column(conn, "series", "league_id"):
        _merge_series(conn, log)
    for table, column in legacy_data.NEW_COLUMNS:
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {column}"))
    shape.restore_nullability(conn, legacy)
    if saved:
        restored = quarantine.restore(conn, log)
        log(f"abort: put back {sum(restored.values())} rows from the quarantine")
    shape.check_unique_fit(conn, legacy)
    added = shape.add_constraints_and_indexes(conn, legacy)
    shape.drop_scratch(conn)
    log(f"abort: restored the legacy schema ({added} constraints and indexes)")
    # The old application's alembic_version, exactly as it was (or no table at all).
    foreign = progress.get("expand: started", (0, False, None))[2]
    if progress.get("alembic_version: existed", (0, False, None))[1]:
        conn.execute(sa.text("DELETE FROM alembic_version"))
        if foreign:
            conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": foreign})
    else:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    drop_work_tables(conn)
    conn.execute(sa.text(f"DROP TABLE {STATE_TABLE}"))
