"""Contract (head constraints without long locks) and finalize (remove the compatibility layer).

Every constraint, index and table comes from revision 0002's frozen schema (`schema_0002`), so
after `--finalize` the schema is exactly what the offline upgrade produces:

- NOT NULL: ``CHECK (col IS NOT NULL) NOT VALID``, VALIDATE (no write lock), SET NOT NULL
  (PostgreSQL skips the scan thanks to the valid check), drop the check;
- UNIQUE: ``CREATE UNIQUE INDEX CONCURRENTLY`` then ``ADD CONSTRAINT ... USING INDEX``;
- CHECK and FOREIGN KEY: ``NOT VALID`` then ``VALIDATE CONSTRAINT``;
- plain indexes ``CONCURRENTLY``; an INVALID leftover of a killed build is dropped and rebuilt.

Legacy constraints stay until `--finalize` (the old application may rely on them, e.g. in
ON CONFLICT); only the legacy UNIQUE (name) of series goes, at the split.
"""

from __future__ import annotations

from functools import partial

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.schema import AddConstraint

from rally.db.migrations.schema_0002 import metadata_0002
from rally.db.state import alembic_config, script_directory
from rally.errors import RallyError
from rally.legacy import data as legacy_data
from rally.legacy.online import head, triggers
from rally.legacy.online.backfill import Context, build_index, drop_work_tables, foreign_key_locks
from rally.legacy.online.runner import STATE_TABLE, lock_up_front, mark

KEPT_TABLES = legacy_data.KEPT_TABLES
NEW_TABLES = ("player_claims", "user_sessions", "login_attempts")


def _constraints(conn: Connection) -> dict[str, tuple[str, bool]]:
    """Return constraint name -> (table, validated) for the public schema."""
    rows = conn.execute(
        sa.text(
            "SELECT c.conname, r.relname, c.convalidated FROM pg_constraint c "
            "JOIN pg_class r ON r.oid = c.conrelid WHERE r.relnamespace = 'public'::regnamespace"
        )
    ).all()
    return {str(n): (str(t), bool(v)) for n, t, v in rows}


def _present(ctx: Context) -> dict[str, tuple[str, bool]]:
    with ctx.engine.connect() as conn:
        return _constraints(conn)


def not_null(ctx: Context, table: str, column: str) -> None:
    """SET NOT NULL without a long ACCESS EXCLUSIVE scan: through a validated CHECK."""
    check = f"rally_nn_{table}_{column}"[:63]
    with ctx.engine.connect() as conn:
        nullable = conn.execute(
            sa.text(
                "SELECT is_nullable = 'YES' FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = :t AND column_name = :c"
            ),
            {"t": table, "c": column},
        ).scalar()
    if nullable:
        if check not in _present(ctx):
            ctx.sql(
                f"contract: {table}.{column} NOT NULL (check NOT VALID)",
                f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID",
            )
        ctx.sql(
            f"contract: {table}.{column} NOT NULL (validate)",
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}",
        )
        ctx.sql(
            f"contract: {table}.{column} NOT NULL",
            f"ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL",
        )
    ctx.sql(
        f"contract: {table}.{column} drop helper check",
        f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {check}",
    )


def _ddl(constraint: sa.Constraint, dialect: sa.Dialect) -> str:
    return str(AddConstraint(constraint).compile(dialect=dialect))


def uniques(ctx: Context) -> None:
    """Each head UNIQUE: index built CONCURRENTLY, then attached (a brief lock)."""
    metadata = metadata_0002()
    for table in KEPT_TABLES:
        for c in metadata.tables[table].constraints:
            if not isinstance(c, sa.UniqueConstraint) or c.name in _present(ctx):
                continue
            name, cols = str(c.name), ", ".join(col.name for col in c.columns)
            build_index(ctx, name, f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} ({cols})")
            ctx.sql(
                f"contract: attach {name}",
                f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING INDEX {name}",
            )


def _kept_constraints(ctx: Context, kinds: str) -> list[tuple[str, str]]:
    """(table, name) of the kept tables' constraints of `kinds`, foreign keys first."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.relname, c.conname FROM pg_constraint c JOIN pg_class r "
                "ON r.oid = c.conrelid WHERE r.relnamespace = 'public'::regnamespace "
                "AND c.contype::text = ANY(:k) AND r.relname = ANY(:t) "
                "ORDER BY c.contype <> 'f', r.relname, c.conname"
            ),
            {"t": list(KEPT_TABLES), "k": list(kinds)},
        ).all()
    return [(str(t), str(n)) for t, n in rows]


def primary_keys(ctx: Context) -> None:
    """Rename the primary keys to pk_<table>, as the offline upgrade does."""
    for table, name in _kept_constraints(ctx, "p"):
        if name != f"pk_{table}":
            ctx.sql(
                f"contract: rename {name}",
                f'ALTER TABLE {table} RENAME CONSTRAINT "{name}" TO pk_{table}',
            )


def checks_and_foreign_keys(ctx: Context) -> None:
    """Each head CHECK and FOREIGN KEY: added NOT VALID (brief lock), then validated."""
    metadata = metadata_0002()
    for kind in (sa.CheckConstraint, sa.ForeignKeyConstraint):
        for table in KEPT_TABLES:
            for c in sorted(metadata.tables[table].constraints, key=lambda x: str(x.name)):
                if not isinstance(c, kind):
                    continue
                name = str(c.name)
                present = _present(ctx)
                if name not in present:
                    statement = f"{_ddl(c, ctx.engine.dialect)} NOT VALID"
                    locks = {table: "ACCESS EXCLUSIVE"}
                    if isinstance(c, sa.ForeignKeyConstraint):
                        locks = foreign_key_locks(table, str(c.referred_table.name))
                    ctx.sql(f"contract: add {name} NOT VALID", statement, locks)
                    present = _present(ctx)
                if not present[name][1]:
                    ctx.sql(
                        f"contract: validate {name}",
                        f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}",
                    )


def indexes(ctx: Context) -> None:
    """The head's plain indexes on the kept tables, CONCURRENTLY."""
    metadata = metadata_0002()
    for table in KEPT_TABLES:
        for index in metadata.tables[table].indexes:
            cols = ", ".join(str(getattr(col, "name", col)) for col in index.expressions)
            build_index(
                ctx, str(index.name), f"CREATE INDEX CONCURRENTLY {index.name} ON {table} ({cols})"
            )


def new_tables(ctx: Context) -> None:
    """Create the tables only the new application uses (empty; brief locks on their parents)."""
    metadata = metadata_0002()
    for table in NEW_TABLES:
        ctx.create_table(f"contract: create {table}", metadata.tables[table])


#: The revision whose schema the online phases build (frozen, see schema_0002).
BUILT_REVISION = "0002_league_isolation"

#: The strongest lock each revision after `head.ONLINE_BUILT` (the last revision the steps
#: build before the window) takes on a table that exists at ONLINE_BUILT (ADD COLUMN: ACCESS
#: EXCLUSIVE; a foreign key: SHARE ROW EXCLUSIVE on the table it references; CREATE INDEX:
#: SHARE). `stamp_head` takes them all up front. Empty while ONLINE_BUILT is the head: the
#: window then only stamps. tests/legacy/test_online_locks.py compares this with what the
#: revisions really lock; a new revision that locks tables must be listed here (or built
#: online in head.py, moving ONLINE_BUILT).
LATER_REVISION_LOCKS: dict[str, str] = {}


class RevisionsRechained(RallyError):
    """The revisions between 0002 and ONLINE_BUILT are not the ones the online steps build."""


def later_revisions() -> list[str]:
    """The revisions after ONLINE_BUILT up to head, oldest first (run through alembic)."""
    script = script_directory()
    chain = [r.revision for r in script.walk_revisions(base=head.ONLINE_BUILT, head="heads")]
    return [r for r in reversed(chain) if r != head.ONLINE_BUILT]


def check_chain() -> None:
    """Refuse when the revisions were re-chained so that the pre-built ones are not 0003-0007."""
    script = script_directory()
    try:
        chain = [r.revision for r in script.walk_revisions(base=BUILT_REVISION,
                                                           head=head.ONLINE_BUILT)]  # fmt: skip
    except Exception as exc:  # alembic raises several kinds for an unknown or off-chain id
        raise RevisionsRechained(
            f"{head.ONLINE_BUILT} is not after {BUILT_REVISION}: {exc}"
        ) from exc
    built = tuple(r for r in reversed(chain) if r != BUILT_REVISION)
    if built != head.PREBUILT:
        raise RevisionsRechained(
            f"The online upgrade builds {', '.join(head.PREBUILT)} before its window, but the "
            f"revisions up to {head.ONLINE_BUILT} are {', '.join(built)}: update "
            "rally.legacy.online.head for the new chain."
        )


def stamp_head(ctx: Context) -> None:
    """Open the window: record ONLINE_BUILT in alembic_version, run later revisions, if any.

    The steps before this one built revisions 0002 to ONLINE_BUILT without long locks, so the
    stamp itself takes only alembic_version. A revision after ONLINE_BUILT runs here, as it
    is, in this one transaction, after every lock it needs has been taken up front in one
    bounded statement (`lock_up_front`, LATER_REVISION_LOCKS): the revisions lock table
    after table as their DDL goes, and with the old application writing that order closed
    deadlock cycles. (The old application's own alembic id is kept for --abort.)
    """
    check_chain()
    later = later_revisions()

    def work(conn: Connection) -> None:
        if later:
            lock_up_front(conn, LATER_REVISION_LOCKS, within_s=ctx.budget.lock_timeout_s)
        exists = conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar()
        if exists is None:
            conn.execute(
                sa.text(
                    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
                )
            )
        conn.execute(sa.text("DELETE FROM alembic_version"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": head.ONLINE_BUILT})
        if later:
            from alembic import command

            command.upgrade(alembic_config(conn), "head")
        mark(conn, "contract: stamp head", done=True)

    ctx.tx("contract: stamp head", work)


# --- finalize ------------------------------------------------------------------------------


def remove_triggers(ctx: Context) -> None:
    """Detach the translating triggers, then drop their functions."""
    for table in triggers.TABLES:
        ctx.tx(f"finalize: drop trigger on {table}", partial(triggers.drop_trigger, table=table))
    ctx.tx("finalize: drop trigger functions", triggers.drop_functions)


def settle_series(ctx: Context) -> None:
    """Drop series_leagues and the series no row uses (as offline); series.league_id NOT NULL."""
    ctx.sql("finalize: drop series_leagues", "DROP TABLE IF EXISTS series_leagues")
    unused = " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {t} x WHERE x.series_id = s.id)"
        for t in (*triggers.SERIES_TABLES, "user_contexts")
    )
    ctx.sql(
        "finalize: drop unused series",
        f"DELETE FROM series s WHERE s.league_id IS NULL AND {unused}",
    )
    not_null(ctx, "series", "league_id")


#: Prefixes of Rally's naming convention; legacy constraints end in _fkey, _key, _check...
RALLY_PREFIXES = ("fk_", "uq_", "ck_", "pk_")


def drop_legacy_constraints(ctx: Context) -> None:
    """Drop every foreign key, unique and check constraint the head does not declare."""
    metadata = metadata_0002()
    head = {str(c.name) for t in metadata.tables.values() for c in t.constraints}
    for table, name in _kept_constraints(ctx, "fuc"):
        # Later revisions (run when the window opened) name theirs by the same convention.
        if name not in head and not name.startswith(RALLY_PREFIXES):
            ctx.sql(
                f"finalize: drop legacy {name}",
                f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}"',
            )


def close_window(ctx: Context) -> None:
    """Drop the online upgrade's own tables: the schema is now the offline upgrade's."""

    def work(conn: Connection) -> None:
        drop_work_tables(conn)
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {STATE_TABLE}"))

    ctx.tx("finalize: drop the online upgrade's tables", work)
