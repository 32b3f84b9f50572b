"""League isolation: series per league, composite league-consistent foreign keys.

PostgreSQL (where legacy data lives) is altered in place, inside the one transaction that
`rally db upgrade` opens: legacy constraints are dropped whatever their names, the new
columns and tables added, the legacy data split and re-pointed, and the 0002 constraints
created. SQLite databases are never legacy deployments; an empty SQLite database at the
baseline is rebuilt at 0002 directly.

Self-contained: the tables are those of `schema_0002` (frozen as of this revision), never
the live models. The *data* step on a database that holds legacy rows depends on the
operator's decisions (plan, resolutions, quarantine, `--assign-unknown`), so the caller
hands it over through ``Connection.info[DATA_STEPS_KEY]``: an object with ``isolate(bind)``
(run after the new columns and tables exist, before NOT NULL and the constraints) and
``merge_back(bind)`` (the whole way back to the legacy shape). `rally db upgrade` and
`rally db downgrade` pass `rally.legacy.data`. Without it this revision refuses any
database that holds rows.

Revision ID: 0002_league_isolation
Revises: 0001_legacy_baseline
Create Date: 2026-11-23
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from rally.db.migrations.legacy_ddl import statements as legacy_statements
from rally.db.migrations.schema_0002 import metadata_0002

revision = "0002_league_isolation"
down_revision = "0001_legacy_baseline"
branch_labels = None
depends_on = None

# Tables the legacy schema had and head keeps (series_leagues is dropped).
KEPT_TABLES = (
    "leagues",
    "clubs",
    "club_leagues",
    "series",
    "teams",
    "players",
    "users",
    "user_player_associations",
    "user_contexts",
    "series_stats",
    "schedule",
    "match_scores",
    "player_history",
    "player_availability",
    "user_instructions",
)
# legacy_quarantine exists before the data step (its resolutions write there); the others
# reference the head constraints and are created after them.
EARLY_TABLES = ("legacy_quarantine",)
NEW_TABLES = ("player_claims", "user_sessions", "login_attempts")
NEW_COLUMNS = (
    ("series", sa.Column("league_id", sa.Integer, nullable=True)),
    ("user_contexts", sa.Column("series_id", sa.Integer, nullable=True)),
    ("player_availability", sa.Column("league_id", sa.Integer, nullable=True)),
    ("user_instructions", sa.Column("league_id", sa.Integer, nullable=True)),
    ("match_scores", sa.Column("line", sa.String(50), nullable=True)),
)
NOW_NOT_NULL = (
    ("series", "league_id"),
    ("series_stats", "league_id"),
    ("schedule", "league_id"),
    ("match_scores", "league_id"),
    ("player_availability", "league_id"),
)


LOG_KEY = "rally.log"
DATA_STEPS_KEY = "rally.legacy_data_steps"


class DataNotCarried(RuntimeError):
    """The database holds rows this revision cannot carry without its data steps."""


def _log(bind: sa.Connection, message: str) -> None:
    log = bind.info.get(LOG_KEY)
    if callable(log):
        log(message)


def _data_steps(bind: sa.Connection) -> Any:
    steps = bind.info.get(DATA_STEPS_KEY)
    if steps is None:
        raise DataNotCarried(
            "This database holds legacy rows; upgrade or downgrade it with `rally db upgrade` "
            "or `rally db downgrade legacy`, which carry the data across."
        )
    return steps


def _is_empty(bind: sa.Connection, tables: tuple[str, ...]) -> bool:
    return all(
        bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is None for table in tables
    )


_CONSTRAINTS_SQL = (
    "SELECT r.relname, c.conname, c.contype FROM pg_constraint c "
    "JOIN pg_class r ON r.oid = c.conrelid "
    "WHERE r.relnamespace = 'public'::regnamespace AND r.relname = ANY(:tables)"
)


def drop_constraints(bind: sa.Connection, tables: tuple[str, ...]) -> None:
    """Drop every foreign key, unique and check constraint of `tables`, whatever its name."""
    # One catalog query instead of per-table reflection: this runs under the table locks.
    rows = bind.execute(sa.text(_CONSTRAINTS_SQL), {"tables": list(tables)}).all()
    # Raw DDL: op.drop_constraint would pass the legacy names through the naming convention.
    for kinds in (("f",), ("u", "c")):
        for table, name, kind in sorted(rows):
            if kind in kinds:
                op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')


def create_constraints(bind: sa.Connection, metadata: sa.MetaData, tables: tuple[str, ...]) -> None:
    """Create the named constraints and indexes that `metadata` declares for `tables`."""
    rows = bind.execute(sa.text(_CONSTRAINTS_SQL), {"tables": list(tables)}).all()
    for table, name, kind in rows:
        wanted = f"pk_{table}"
        if kind == "p" and name != wanted:
            op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{name}" TO {wanted}')
    ddl = sa.schema
    # Unique constraints first: the composite foreign keys reference them.
    for kind in (sa.UniqueConstraint, sa.CheckConstraint, sa.ForeignKeyConstraint):
        for table in tables:
            for constraint in metadata.tables[table].constraints:
                if isinstance(constraint, kind):
                    op.execute(ddl.AddConstraint(constraint))
    existing = set(
        bind.execute(
            sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        ).scalars()
    )
    for table in tables:
        for index in metadata.tables[table].indexes:
            if index.name not in existing:
                op.execute(ddl.CreateIndex(index))


def upgrade() -> None:
    bind = op.get_bind()
    metadata = metadata_0002()
    if bind.dialect.name == "sqlite":
        if not _is_empty(bind, (*KEPT_TABLES, "series_leagues")):
            raise DataNotCarried(
                "This SQLite database holds legacy data; legacy upgrades run on PostgreSQL."
            )
        for table in ("series_leagues", *reversed(KEPT_TABLES)):
            op.drop_table(table)
        metadata.create_all(bind)
        return

    _log(bind, "0002: dropping legacy constraints (takes the table locks)")
    drop_constraints(bind, (*KEPT_TABLES, "series_leagues"))
    for table, column in NEW_COLUMNS:
        op.add_column(table, column)
    for table in EARLY_TABLES:
        metadata.tables[table].create(bind)
    _log(bind, "0002: added series.league_id, user_contexts.series_id and the other new columns")
    if not _is_empty(bind, (*KEPT_TABLES, "series_leagues")):
        _data_steps(bind).isolate(bind)
    for table, column_name in NOW_NOT_NULL:
        op.alter_column(table, column_name, nullable=False)
    op.drop_table("series_leagues")
    _log(bind, "0002: dropped series_leagues; creating the head constraints")
    create_constraints(bind, metadata, KEPT_TABLES)
    for table in NEW_TABLES:
        metadata.tables[table].create(bind)
    _log(bind, "0002: head constraints and new tables created")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if not _is_empty(bind, KEPT_TABLES + NEW_TABLES + EARLY_TABLES):
            raise DataNotCarried(
                "Downgrading a SQLite database with data is not supported; restore a backup."
            )
        metadata_0002().drop_all(bind)
        for statement in legacy_statements("sqlite"):
            op.execute(statement)
        return
    _data_steps(bind).merge_back(bind)
