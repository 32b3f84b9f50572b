"""The exact legacy schema shape, read from the legacy DDL itself, for `rally db downgrade legacy`.

Rather than restating every legacy constraint name, the downgrade creates the legacy DDL in a
scratch schema inside its own transaction, reads back constraint names and definitions,
indexes and nullability from the catalog, applies them to the real tables, and drops the
scratch schema. The restored shape is therefore the legacy DDL's by construction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from rally.db.migrations.legacy_ddl import statements
from rally.errors import RallyError

SCRATCH = "rally_legacy_shape"
SAMPLES = 5
# What names a row in a refusal message, per table (default: its id only).
_LABELS = {
    "teams": "team_name",
    "players": "first_name || ' ' || last_name",
    "series": "name",
    "match_scores": "tenniscores_match_id",
}


class LegacyShapeConflict(RallyError):
    """The data cannot fit the legacy schema's unique constraints; the message names the rows."""


@dataclass
class LegacyShape:
    """Constraints, indexes and nullability of the legacy schema, by table."""

    constraints: list[tuple[str, str, str, str]] = field(default_factory=list)
    primary_keys: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)
    nullable: dict[tuple[str, str], bool] = field(default_factory=dict)
    create_table: dict[str, str] = field(default_factory=dict)

    @property
    def index_names(self) -> set[str]:
        """Names of the legacy indexes that back no constraint."""
        return set(self.indexes)


def legacy_shape(bind: sa.Connection) -> LegacyShape:
    """Create the legacy DDL in a scratch schema and read its shape (drop it with drop_scratch)."""
    search_path = bind.execute(sa.text("SHOW search_path")).scalar_one()
    bind.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE"))
    bind.execute(sa.text(f"CREATE SCHEMA {SCRATCH}"))
    bind.execute(sa.text(f"SET LOCAL search_path TO {SCRATCH}"))
    found = LegacyShape()
    try:
        for statement in statements("postgresql"):
            bind.execute(sa.text(statement))
            match = re.match(r"CREATE TABLE (\w+)", statement)
            if match:
                found.create_table[match.group(1)] = statement
        rows = bind.execute(
            sa.text(
                "SELECT r.relname, c.conname, c.contype, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
                "WHERE r.relnamespace = CAST(:s AS regnamespace) ORDER BY r.relname, c.conname"
            ),
            {"s": SCRATCH},
        ).all()
        for table, name, kind, definition in rows:
            if kind == "p":
                found.primary_keys[table] = name
            else:
                found.constraints.append((table, name, kind, definition.replace(f"{SCRATCH}.", "")))
        constraint_names = {name for _, name, _, _ in rows}
        for name, definition in bind.execute(
            sa.text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :s"),
            {"s": SCRATCH},
        ):
            if name not in constraint_names:
                found.indexes[name] = definition.replace(f"{SCRATCH}.", "public.")
        for table, column, is_nullable in bind.execute(
            sa.text(
                "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                "WHERE table_schema = :s"
            ),
            {"s": SCRATCH},
        ):
            found.nullable[(table, column)] = is_nullable == "YES"
    finally:
        bind.execute(sa.text("SELECT set_config('search_path', :p, true)"), {"p": search_path})
    return found


def drop_scratch(bind: sa.Connection) -> None:
    """Drop the scratch schema legacy_shape created."""
    bind.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCRATCH} CASCADE"))


def drop_constraints_and_indexes(
    bind: sa.Connection, *, keep_indexes: set[str], tables: tuple[str, ...]
) -> int:
    """Drop the foreign key, unique and check constraints of `tables`, and indexes not kept.

    Tables Rally does not know keep theirs: their ids do not change on the way back.
    """
    rows = bind.execute(
        sa.text(
            "SELECT r.relname, c.conname FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "WHERE r.relnamespace = 'public'::regnamespace AND c.contype IN ('f', 'u', 'c') "
            "AND r.relname = ANY(:tables) ORDER BY c.contype <> 'f', r.relname, c.conname"
        ),
        {"tables": list(tables)},
    ).all()
    for table, name in rows:
        bind.execute(sa.text(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"'))
    indexes = bind.execute(
        sa.text(
            "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = 'public' AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
            "AND c.connamespace = 'public'::regnamespace) AND i.tablename = ANY(:tables)"
        ),
        {"tables": list(tables)},
    ).scalars()
    dropped = [name for name in indexes if name not in keep_indexes]
    for name in dropped:
        bind.execute(sa.text(f'DROP INDEX "{name}"'))
    return len(rows) + len(dropped)


def restore_nullability(bind: sa.Connection, legacy: LegacyShape) -> None:
    """Make every column as nullable as the legacy schema has it."""
    current = bind.execute(
        sa.text(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        )
    ).all()
    for table, column, is_nullable in current:
        wanted = legacy.nullable.get((table, column))
        if wanted is None or wanted == (is_nullable == "YES"):
            continue
        action = "DROP NOT NULL" if wanted else "SET NOT NULL"
        bind.execute(sa.text(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" {action}'))


def _unique_columns(definition: str) -> list[str]:
    match = re.match(r"UNIQUE \((.*)\)", definition)
    assert match, definition
    return [c.strip() for c in match.group(1).split(",")]


def check_unique_fit(bind: sa.Connection, legacy: LegacyShape) -> None:
    """Raise LegacyShapeConflict naming the rows that would break a legacy unique constraint."""
    problems = []
    for table, name, kind, definition in legacy.constraints:
        if kind != "u":
            continue
        columns = _unique_columns(definition)
        cols = ", ".join(columns)
        label = _LABELS.get(table)
        row = f"id::text || ' (' || {label} || ')'" if label else "id::text"
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in columns)
        groups = bind.execute(
            sa.text(
                f"SELECT string_agg({row}, ', ' ORDER BY id) AS rows_, "
                f"CAST(ROW({cols}) AS text) AS key_ FROM {table} WHERE {not_null} "
                f"GROUP BY {cols} HAVING COUNT(*) > 1 ORDER BY MIN(id) LIMIT {SAMPLES}"
            )
        ).all()
        for rows_, key_ in groups:
            problems.append(f"{table} {rows_} share ({cols}) = {key_} (legacy constraint {name})")
    if problems:
        raise LegacyShapeConflict(
            "Cannot return to the legacy schema: its unique constraints cannot hold this data "
            "(e.g. two teams of one club in one series): "
            + "; ".join(problems)
            + ". Nothing was changed; restore the pre-upgrade backup instead, or remove these rows."
        )


def add_constraints_and_indexes(
    bind: sa.Connection, legacy: LegacyShape, log: Callable[[str], None] = lambda _m: None
) -> int:
    """Create the legacy primary key names, constraints and indexes that are missing.

    A foreign key or check that rows put back from quarantine break (an orphan the old
    production schema let in) is created NOT VALID: enforced for new rows, as production
    never enforced it for these.
    """
    present: dict[str, str] = dict(
        bind.execute(
            sa.text(
                "SELECT c.conname, r.relname FROM pg_constraint c "
                "JOIN pg_class r ON r.oid = c.conrelid "
                "WHERE r.relnamespace = 'public'::regnamespace"
            )
        ).all()
    )
    pkeys: dict[str, str] = dict(
        bind.execute(
            sa.text(
                "SELECT r.relname, c.conname FROM pg_constraint c "
                "JOIN pg_class r ON r.oid = c.conrelid "
                "WHERE r.relnamespace = 'public'::regnamespace AND c.contype = 'p'"
            )
        ).all()
    )
    count = 0
    for table, name in legacy.primary_keys.items():
        if pkeys.get(table, name) != name:
            bind.execute(
                sa.text(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{pkeys[table]}" TO "{name}"')
            )
            count += 1
    order = {"u": 0, "c": 1, "f": 2}
    for table, name, _kind, definition in sorted(legacy.constraints, key=lambda c: order[c[2]]):
        if name in present:
            continue
        statement = f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
        try:
            with bind.begin_nested():
                bind.execute(sa.text(statement))
        except sa.exc.IntegrityError:
            if _kind != "f" and _kind != "c":
                raise
            bind.execute(sa.text(f"{statement} NOT VALID"))
            log(f"legacy constraint {name} restored NOT VALID: rows put back break it")
        count += 1
    existing = set(
        bind.execute(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"))
        .scalars()
        .all()
    )
    for name, definition in legacy.indexes.items():
        if name not in existing:
            bind.execute(sa.text(definition))
            count += 1
    return count
