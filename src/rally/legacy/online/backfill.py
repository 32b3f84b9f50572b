"""Expand and backfill: new columns and triggers, then the split and re-pointing in batches.

The league of each legacy row is decided by analysis.py's RESOLVED_SQL and the split by its
SPLIT_SQL, materialised once (a read: it blocks no writer) into tables that survive a kill.
Each batch is its own short transaction that records its cursor in `rally_online`, so a
killed run resumes at the next batch. Rows the old application writes meanwhile are
already league-correct (triggers) or are swept up by the batches and the final sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from rally.db.migrations.schema_0002 import metadata_0002
from rally.legacy import data as legacy_data
from rally.legacy.analysis import LEAGUE_FILL_TABLES, RESOLVED_SQL, SPLIT_SQL, league_fill_sql
from rally.legacy.extra import discover
from rally.legacy.online import triggers
from rally.legacy.online.runner import (
    LockBudget,
    Log,
    autocommit,
    in_transaction,
    lock_up_front,
    mark,
    steps,
)
from rally.legacy.resolve import Resolution, in_order, resolve_one
from rally.legacy.rules import Rule

USES, SPLIT, MAP = "rally_online_uses", "rally_online_split", "rally_online_map"
Progress = Callable[[str, int, int], None]  # step, rows done, rows total


@dataclass
class Context:
    """What every step needs: where, how fast, what to report."""

    engine: Engine
    budget: LockBudget
    log: Log
    batch_size: int = 1000
    pause_s: float = 0.0
    assign: int | None = None
    progress: Progress = field(default=lambda _s, _d, _t: None)
    # --resolve: the damaged-data resolutions run as the first backfill step.
    resolve: bool = False

    def tx(self, what: str, work: Callable[[Connection], object]) -> None:
        """Run `work` in one short transaction under the lock budget."""
        in_transaction(self.engine, work, budget=self.budget, what=what, log=self.log)

    def sql(self, what: str, statement: str, locks: dict[str, str] | None = None) -> None:
        """Run one statement in its own short transaction under the lock budget; with
        `locks`, those table locks are taken first (see `ddl`)."""
        if locks:
            self.ddl(what, partial(_execute, statement=statement), locks)
        else:
            self.tx(what, partial(_execute, statement=statement))

    def create_table(self, what: str, table: sa.Table) -> None:
        """CREATE TABLE (if missing), the tables its foreign keys reference locked first."""
        self.ddl(what, partial(_create, table=table), create_table_locks(table))

    def ddl(self, what: str, work: Callable[[Connection], object], locks: dict[str, str]) -> None:
        """DDL that locks several tables: every lock first, in one bounded statement.

        A statement such as ADD FOREIGN KEY locks its own table, then the referenced one,
        each wait up to lock_timeout. The old application inserts a parent row and then its
        child in one transaction, the other way round: it can hold the parent and queue
        behind our child lock, while we queue behind its parent. Taken up front within
        deadlock_timeout / 2 (`lock_up_front`), our side gives up and retries before
        PostgreSQL's deadlock check could pick the application's transaction as the victim.
        """

        def locked(conn: Connection) -> object:
            lock_up_front(conn, locks, within_s=self.budget.lock_timeout_s)
            return work(conn)

        self.tx(what, locked)


def _execute(conn: Connection, *, statement: str) -> None:
    conn.execute(sa.text(statement))


def _create(conn: Connection, *, table: sa.Table) -> None:
    table.create(conn, checkfirst=True)


SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"


def create_table_locks(table: sa.Table) -> dict[str, str]:
    """The locks CREATE TABLE takes on existing tables: those its foreign keys reference."""
    return {
        str(fk.referred_table.name): SHARE_ROW_EXCLUSIVE
        for fk in table.foreign_key_constraints
        if fk.referred_table is not table
    }


def foreign_key_locks(table: str, referred: str) -> dict[str, str]:
    """The locks ADD FOREIGN KEY takes: its own table and the referenced one."""
    return {table: SHARE_ROW_EXCLUSIVE, referred: SHARE_ROW_EXCLUSIVE}


# --- expand --------------------------------------------------------------------------------


def add_columns(ctx: Context) -> None:
    """Add the new nullable columns, one table per transaction (metadata-only, milliseconds)."""
    columns = metadata_0002()
    for table, column in legacy_data.NEW_COLUMNS:
        ddl = columns.tables[table].c[column].type.compile(dialect=ctx.engine.dialect)
        ctx.sql(
            f"expand: add {table}.{column}",
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {ddl}",
        )
    quarantine = metadata_0002().tables["legacy_quarantine"]
    ctx.tx("expand: create legacy_quarantine", lambda c: quarantine.create(c, checkfirst=True))


def invalid_or_missing(conn: Connection, name: str) -> str:
    """Return 'valid', 'invalid' (a killed CONCURRENTLY build) or 'missing' for index `name`."""
    valid = conn.execute(
        sa.text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :n AND c.relnamespace = 'public'::regnamespace"
        ),
        {"n": name},
    ).scalar()
    return "missing" if valid is None else ("valid" if valid else "invalid")


def build_index(ctx: Context, name: str, definition: str) -> None:
    """CREATE INDEX CONCURRENTLY, dropping and rebuilding an INVALID leftover of a killed try."""

    def plan() -> list[str]:
        with ctx.engine.connect() as conn:
            state = invalid_or_missing(conn, name)
        if state == "valid":
            return []
        out = []
        if state == "invalid":
            ctx.log(f"index {name}: INVALID leftover of an interrupted build; rebuilding")
            out.append(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        return [*out, definition]

    autocommit(ctx.engine, plan, budget=ctx.budget, what=f"index {name}", log=ctx.log)


def series_name_index(ctx: Context) -> None:
    """The (name, league_id) unique index: the triggers' ON CONFLICT and the head constraint."""
    build_index(
        ctx,
        "uq_series_name_league_id",
        "CREATE UNIQUE INDEX CONCURRENTLY uq_series_name_league_id ON series (name, league_id)",
    )


def install_triggers(ctx: Context) -> None:
    """Create the translating functions, then attach them table by table."""
    split = steps_done(ctx.engine).get("backfill: split", False)
    ctx.tx("expand: trigger functions", lambda c: triggers.install_functions(c, split=split))
    for table in triggers.TABLES:
        ctx.tx(f"expand: trigger on {table}", partial(triggers.install_trigger, table=table))


def steps_done(engine: Engine) -> dict[str, bool]:
    """Return step -> done."""
    with engine.connect() as conn:
        return {k: v[1] for k, v in steps(conn).items()}


# --- backfill ------------------------------------------------------------------------------


def resolve_damage(ctx: Context) -> None:
    """With --resolve: the resolutions of `rally.legacy.resolve`, one rule per transaction.

    The same rules in the same order as `rally db upgrade --resolve` (each row copied whole
    into legacy_quarantine first), before the snapshot, so the league decisions see the
    repaired rows. Each rule is its own short transaction under the batch lock budget, with
    the translating triggers stepping aside (the backfill decides leagues set-based, as
    offline). A killed run re-runs the rules: those already committed find nothing.
    """
    if not ctx.resolve:
        ctx.log("backfill: resolve: not asked (--resolve); the plan found no damage")
        ctx.tx(
            "backfill: resolve",
            partial(mark, step="backfill: resolve", done=True, note="not asked"),
        )
        return
    with ctx.engine.connect() as conn:
        extras = discover(conn)
    total = 0

    def one(rule: Rule) -> Resolution:
        def work(conn: Connection) -> Resolution:
            conn.execute(sa.text("SET LOCAL rally.online_backfill = 'on'"))
            return resolve_one(conn, rule, assign=ctx.assign, extras=extras, log=ctx.log)

        found = in_transaction(
            ctx.engine,
            work,
            budget=ctx.budget,
            what=f"backfill: resolve {rule.id}",
            log=ctx.log,
            timeout_s=ctx.budget.batch_lock_timeout_s,
        )
        nonlocal total
        total += found.count
        return found

    in_order(one, extras=extras, assign=ctx.assign)
    ctx.tx(
        "backfill: resolve",
        partial(mark, step="backfill: resolve", done=True, note=f"{total} rows resolved"),
    )


def snapshot(ctx: Context) -> None:
    """Materialise analysis.py's decisions (a long read; it blocks no writer)."""

    def work(conn: Connection) -> None:
        for table in (USES, SPLIT):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        params = {"assign": ctx.assign}
        conn.execute(sa.text(f"CREATE TABLE {USES} AS {RESOLVED_SQL}"), params)
        conn.execute(sa.text(f"CREATE INDEX ON {USES} (tbl, row_id)"))
        conn.execute(sa.text(f"CREATE TABLE {SPLIT} AS {SPLIT_SQL}"), params)
        conn.execute(sa.text(f"ANALYZE {USES}"))
        mark(conn, "backfill: snapshot", done=True)

    ctx.tx("backfill: snapshot", work)


def _series_name_unique(conn: Connection) -> list[str]:
    # The legacy UNIQUE (name), whatever a deployment named it.
    return list(
        conn.execute(
            sa.text(
                "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = 'series'::regclass "
                "AND c.contype = 'u' AND (SELECT array_agg(a.attname::text ORDER BY a.attname) "
                "FROM pg_attribute a WHERE a.attrelid = c.conrelid "
                "AND a.attnum = ANY(c.conkey)) = ARRAY['name']"
            )
        ).scalars()
    )


def split(ctx: Context) -> None:
    """One short transaction: keepers get their league, other leagues get a row of the name."""

    def drop_unique(conn: Connection) -> None:
        for name in _series_name_unique(conn):
            conn.execute(sa.text(f'ALTER TABLE series DROP CONSTRAINT "{name}"'))

    # Its own transaction: the ACCESS EXCLUSIVE lock is held for milliseconds, not for the
    # split. A same-named row the old application adds in between is harmless: it has no
    # league yet, and (name, league_id) stays unique.
    ctx.tx("backfill: drop series UNIQUE (name)", drop_unique)

    def work(conn: Connection) -> None:
        conn.execute(
            sa.text(
                f"UPDATE series s SET league_id = x.league_id FROM {SPLIT} x "
                "WHERE x.series_id = s.id AND x.keeps AND s.league_id IS NULL"
            )
        )
        created = conn.execute(
            sa.text(
                "INSERT INTO series (name, display_name, league_id, updated_at) "
                "SELECT s.name, s.display_name, x.league_id, s.updated_at FROM "
                f"{SPLIT} x JOIN series s ON s.id = x.series_id "
                "JOIN leagues l ON l.id = x.league_id WHERE NOT x.keeps ORDER BY s.id, "
                'l.league_id COLLATE "C" ON CONFLICT (name, league_id) DO NOTHING'
            )
        ).rowcount
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {MAP}"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {MAP} AS SELECT x.series_id AS old_id, x.league_id, "
                f"n.id AS new_id FROM {SPLIT} x JOIN series o ON o.id = x.series_id "
                "JOIN series n ON n.name = o.name AND n.league_id = x.league_id"
            )
        )
        conn.execute(sa.text(f"CREATE UNIQUE INDEX ON {MAP} (old_id, league_id)"))
        triggers.install_functions(conn, split=True)
        mark(conn, "backfill: split", done=True, note=f"{created} per-league series created")
        ctx.log(f"backfill: split shared series: {created} per-league rows created")

    ctx.tx("backfill: split", work)


def batched(
    ctx: Context, step: str, table: str, key: str, sql: str, before: str | None = None
) -> None:
    """Run `sql` (an UPDATE over `key` in (:lo, :hi]) batch by batch, each its own transaction.

    `before` (same parameters) runs first in each batch's transaction, as its own statement
    (e.g. to take locks, so that the UPDATE's snapshot sees what their holders committed).
    """
    with ctx.engine.connect() as conn:
        cursor = steps(conn).get(step, (0, False, None))[0]
        total = int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
        done = int(
            conn.execute(
                sa.text(f"SELECT COUNT(*) FROM {table} WHERE {key} <= :c"), {"c": cursor}
            ).scalar_one()
        )
    size = min(ctx.batch_size, FIRST_BATCH)  # slow start: the first batch's cost is unknown
    while True:
        started = time.perf_counter()
        # A single row always goes through: it cannot be split further.
        cap = BATCH_CAP_S if size > 1 else None
        try:
            hi, rows = _one_batch(ctx, step, table, key, sql, cursor, before, size, cap)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
                raise
            smaller = max(1, size // 4)
            ctx.log(f"{step}: batch of {size} rows after key {cursor} stopped at "
                    f"{BATCH_CAP_S * 1000:.0f} ms and rolled back (its locks released); "
                    f"retrying with {smaller} rows")  # fmt: skip
            size = smaller
            continue
        if hi is None:
            ctx.progress(step, total, total)
            return
        took = time.perf_counter() - started
        following = next_batch_size(size, took, ctx.batch_size)
        if took > 2 * BATCH_TARGET_S:
            ctx.log(f"{step}: batch of {rows} rows after key {cursor} took {took * 1000:.0f} ms "
                    f"(target {BATCH_TARGET_S * 1000:.0f} ms); next batch {following} rows")  # fmt: skip
        size = following
        cursor = hi
        done += rows
        ctx.progress(step, min(done, total), total)
        if ctx.pause_s:
            time.sleep(ctx.pause_s)


#: How long one batch's transaction should hold its row locks at most: a batch that took
#: longer halves the next one (an application write waiting on one of its rows waits for
#: it), a batch far quicker doubles the next, up to --batch-size. Each step starts with
#: FIRST_BATCH rows.
BATCH_TARGET_S = 0.1
MIN_BATCH = 20
FIRST_BATCH = 100
#: The hard bound behind the target: a batch's writes that run longer than this (a batch of
#: costlier rows, a stall of the machine) are cancelled by PostgreSQL (statement_timeout),
#: rolled back, and retried with a quarter of the rows, so no application write waits on
#: a batch's locks for much longer, whatever the rows cost.
BATCH_CAP_S = 0.15
QUERY_CANCELED = "57014"


def next_batch_size(size: int, seconds: float, most: int) -> int:
    """The size of the batch after one of `size` rows that took `seconds`."""
    if seconds > BATCH_TARGET_S:
        return max(min(MIN_BATCH, most), min(size // 2, int(size * BATCH_TARGET_S / seconds)))
    if seconds < BATCH_TARGET_S / 4:
        return min(most, size * 2)
    return size


def _one_batch(
    ctx: Context,
    step: str,
    table: str,
    key: str,
    sql: str,
    cursor: int,
    before: str | None,
    size: int,
    cap_s: float | None = None,
) -> tuple[int | None, int]:
    """Run one batch after `cursor`; return (its last key or None when done, rows in it).

    With `cap_s`, the statements that take the batch's locks (`before`, `sql`) each run
    under that statement_timeout (57014 when exceeded; the transaction rolls back).
    """

    def work(conn: Connection) -> tuple[int | None, int]:
        conn.execute(sa.text("SET LOCAL rally.online_backfill = 'on'"))
        hi = conn.execute(
            sa.text(
                f"SELECT MAX({key}) FROM (SELECT {key} FROM {table} WHERE {key} > :lo "
                f"ORDER BY {key} LIMIT :n) b"
            ),
            {"lo": cursor, "n": size},
        ).scalar()
        if hi is None:
            mark(conn, step, cursor=cursor, done=True)
            return None, 0
        params = {"assign": ctx.assign, "lo": cursor, "hi": hi}
        if cap_s is not None:
            conn.execute(sa.text(f"SET LOCAL statement_timeout = '{int(cap_s * 1000)}ms'"))
        if before:
            conn.execute(sa.text(before), params)
        conn.execute(sa.text(sql), params)
        if cap_s is not None:
            conn.execute(sa.text("SET LOCAL statement_timeout TO DEFAULT"))
        rows = conn.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE {key} > :lo AND {key} <= :hi"),
            {"lo": cursor, "hi": hi},
        ).scalar_one()
        mark(conn, step, cursor=int(hi), done=False)
        return int(hi), int(rows)

    return in_transaction(
        ctx.engine,
        work,
        budget=ctx.budget,
        what=step,
        log=ctx.log,
        timeout_s=ctx.budget.batch_lock_timeout_s,
    )


def _repoint_sql(table: str) -> str:
    # The row's league: its own (or the trigger's) column, else analysis.py's decision.
    # The UPDATE re-checks the values it read, so a row the application changed in between
    # (and the trigger already translated) is left alone.
    return f"""
WITH r AS (
    SELECT x.id, x.series_id AS old_sid, x.league_id AS old_lg,
           COALESCE(x.league_id, u.league_id) AS lg
    FROM {table} x LEFT JOIN {USES} u ON u.tbl = '{table}' AND u.row_id = x.id
    WHERE x.id > :lo AND x.id <= :hi
), b AS (
    SELECT r.*, COALESCE(m.new_id, {triggers.SERIES_FOR}(r.old_sid, r.lg)) AS sid
    FROM r LEFT JOIN {MAP} m ON m.old_id = r.old_sid AND m.league_id = r.lg
)
UPDATE {table} t SET league_id = b.lg, series_id = b.sid FROM b
WHERE t.id = b.id AND t.series_id IS NOT DISTINCT FROM b.old_sid
  AND t.league_id IS NOT DISTINCT FROM b.old_lg
  AND (t.series_id IS DISTINCT FROM b.sid OR t.league_id IS DISTINCT FROM b.lg)"""


def _fill_sql(table: str) -> str:
    if table in LEAGUE_FILL_TABLES:
        return (
            f"UPDATE {table} x SET league_id = COALESCE(f.league_id, CAST(:assign AS integer)) "
            f"FROM ({league_fill_sql(table)}) f WHERE f.row_id = x.id AND x.league_id IS NULL "
            "AND x.id > :lo AND x.id <= :hi AND f.row_id > :lo AND f.row_id <= :hi"
        )
    if table == "user_instructions":
        return (
            "UPDATE user_instructions x SET league_id = t.league_id FROM teams t "
            "WHERE t.id = x.team_id AND x.series_id IS NULL AND x.id > :lo AND x.id <= :hi "
            "AND x.league_id IS DISTINCT FROM t.league_id"
        )
    if table == "player_history":
        return (
            "UPDATE player_history x SET league_id = p.league_id FROM players p "
            "WHERE p.id = x.player_id AND x.league_id IS NULL AND x.id > :lo AND x.id <= :hi"
        )
    assert table == "user_contexts"
    return (
        "UPDATE user_contexts x SET series_id = t.series_id, league_id = t.league_id "
        "FROM teams t WHERE t.id = x.team_id AND x.user_id > :lo AND x.user_id <= :hi "
        "AND (x.series_id IS DISTINCT FROM t.series_id OR x.league_id IS DISTINCT FROM t.league_id)"
    )


REPOINT_TABLES = triggers.SERIES_TABLES
FILL_TABLES = (*LEAGUE_FILL_TABLES, "user_instructions", "player_history", "user_contexts")


def repoint(ctx: Context, table: str) -> None:
    """Re-point `table`'s rows to their league's series, in batches."""
    batched(ctx, f"backfill: re-point {table}", table, "id", _repoint_sql(table))


def fill(ctx: Context, table: str) -> None:
    """Fill `table`'s league (and a context's series), in batches."""
    key = "user_id" if table == "user_contexts" else "id"
    batched(ctx, f"backfill: fill {table}", table, key, _fill_sql(table))


def sweep(ctx: Context) -> None:
    """Catch rows a transaction older than the split wrote on a shared series; few or none."""

    def work(conn: Connection) -> None:
        conn.execute(sa.text("SET LOCAL rally.online_backfill = 'on'"))
        moved = 0
        for table in REPOINT_TABLES:
            moved += int(
                conn.execute(
                    sa.text(
                        f"UPDATE {table} x SET series_id = {triggers.SERIES_FOR}(x.series_id, "
                        "x.league_id) FROM series s WHERE s.id = x.series_id "
                        "AND s.league_id IS DISTINCT FROM x.league_id AND x.league_id IS NOT NULL"
                    )
                ).rowcount
                or 0
            )
        moved += int(conn.execute(sa.text(_fill_sql("user_contexts")), {"lo": -1, "hi": 2**62})
                     .rowcount or 0)  # fmt: skip
        mark(conn, "backfill: sweep", done=True, note=f"{moved} rows")

    in_transaction(
        ctx.engine,
        work,
        budget=ctx.budget,
        what="backfill: sweep",
        log=ctx.log,
        timeout_s=ctx.budget.batch_lock_timeout_s,
    )


def drop_work_tables(conn: Connection) -> None:
    """Drop the snapshot and map tables."""
    for table in (USES, SPLIT, MAP):
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
