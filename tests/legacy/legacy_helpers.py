"""Observing legacy and migrated databases: full snapshots, row meanings, schema shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from legacy_builder import LegacyBuilder

from rally.db import make_engine
from rally.db.migrations.legacy_ddl import statements

Clone = Callable[[str], str]

SERIES_TABLES = ("teams", "players", "series_stats", "player_availability", "user_instructions")


def load_legacy(url: str, builder: LegacyBuilder) -> None:
    """Create the legacy schema in an empty database and load the builder's rows."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            builder.load(conn)
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, Any]:
    """Every table's rows (count and digest), every sequence's state, the schema's shape."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            ).scalars().all()  # fmt: skip
            out: dict[str, Any] = {}
            for table in tables:
                out[f"rows:{table}"] = tuple(
                    conn.execute(
                        sa.text(
                            f"SELECT COUNT(*), md5(string_agg(x::text, E'\\n' ORDER BY x::text)) "
                            f'FROM "{table}" x'
                        )
                    ).one()
                )
            for seq in conn.execute(
                sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars():
                out[f"seq:{seq}"] = tuple(
                    conn.execute(sa.text(f'SELECT last_value, is_called FROM "{seq}"')).one()
                )
            out["shape"] = schema_shape(conn)
            return out
    finally:
        engine.dispose()


def schema_shape(conn: sa.Connection) -> dict[str, Any]:
    """Columns (type, length, nullability, default, generated), constraints (with NOT VALID),
    indexes (with validity), triggers and functions of the public schema."""
    columns = conn.execute(
        sa.text(
            "SELECT table_name, column_name, ordinal_position, data_type, "
            "character_maximum_length, is_nullable, column_default, is_generated, "
            "generation_expression FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 3"
        )
    ).all()
    triggers = conn.execute(
        sa.text(
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal ORDER BY 1, 2"
        )
    ).all()
    # The schema's own functions (rally_fold, trigger functions), not the extensions'.
    functions = conn.execute(
        sa.text(
            "SELECT p.proname, pg_get_function_identity_arguments(p.oid), "
            "pg_get_functiondef(p.oid) FROM pg_proc p "
            "WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS (SELECT 1 "
            "FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid "
            "AND d.deptype = 'e') ORDER BY 1, 2"
        )
    ).all()
    constraints = conn.execute(
        sa.text(
            "SELECT r.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "JOIN pg_class r ON r.oid = c.conrelid "
            "WHERE r.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
        )
    ).all()
    indexes = conn.execute(
        sa.text(
            "SELECT x.indexname, x.indexdef, i.indisvalid FROM pg_indexes x "
            "JOIN pg_class c ON c.relname = x.indexname AND c.relnamespace = 'public'::regnamespace "
            "JOIN pg_index i ON i.indexrelid = c.oid WHERE x.schemaname = 'public' ORDER BY 1"
        )
    ).all()
    return {
        "columns": [tuple(r) for r in columns],
        "constraints": [tuple(r) for r in constraints],
        "indexes": [tuple(r) for r in indexes],
        "triggers": [tuple(r) for r in triggers],
        "functions": [tuple(r) for r in functions],
    }


def observed_meaning(conn: sa.Connection, *, head: bool) -> dict[tuple[str, int], Any]:
    """(table, id) -> (league key, series name) as the database now says."""
    out: dict[tuple[str, int], Any] = {}
    for table in SERIES_TABLES:
        has_league = head or table not in ("player_availability", "user_instructions")
        league = "l.league_id" if has_league else "NULL"
        join = "LEFT JOIN leagues l ON l.id = x.league_id" if has_league else ""
        series_league = "sl.league_id" if head else "NULL"
        series_join = "LEFT JOIN leagues sl ON sl.id = s.league_id" if head else ""
        rows = conn.execute(
            sa.text(
                f"SELECT x.id, {league}, s.name, {series_league} FROM {table} x {join} "
                f"LEFT JOIN series s ON s.id = x.series_id {series_join}"
            )
        ).all()
        for rid, lkey, name, skey in rows:
            if head and name is not None:
                assert skey == lkey, f"{table} {rid}: series of {skey}, row of {lkey}"
            out[(table, int(rid))] = (lkey, name)
    for table in ("schedule", "match_scores"):
        for rid, lkey in conn.execute(
            sa.text(
                f"SELECT x.id, l.league_id FROM {table} x LEFT JOIN leagues l ON l.id = x.league_id"
            )
        ):
            out[(table, int(rid))] = (lkey, None)
    for uid, lkey in conn.execute(
        sa.text(
            "SELECT c.user_id, l.league_id FROM user_contexts c "
            "JOIN leagues l ON l.id = c.league_id"
        )
    ):
        out[("user_contexts", int(uid))] = (lkey, None)
    return out


def assert_meaning(url: str, builder: LegacyBuilder, *, head: bool) -> None:
    """Every row recorded by the builder still means (league, series name) it meant."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            seen = observed_meaning(conn, head=head)
            counts = {
                t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in builder.counts()
                if t not in ("series", "series_leagues")
            }
            if not head:
                links = set(
                    conn.execute(
                        sa.text(
                            "SELECT s.name, l.league_id FROM series_leagues x "
                            "JOIN series s ON s.id = x.series_id JOIN leagues l ON l.id = x.league_id"
                        )
                    ).all()
                )
            series_rows = conn.execute(sa.text("SELECT COUNT(*) FROM series")).scalar_one()
            displays = dict(conn.execute(sa.text("SELECT name, display_name FROM series")).all())
    finally:
        engine.dispose()
    wrong = []
    for key, (league, series) in builder.meaning.items():
        got = seen.get(key)
        expected = (
            (league, series)
            if head or key[0] in ("teams", "players", "series_stats")
            else (None, series)
        )
        if key[0] in ("schedule", "match_scores", "user_contexts"):
            expected = (league, None)
        if got != expected:
            wrong.append((key, expected, got))
    assert not wrong, f"{len(wrong)} rows changed meaning, e.g. {wrong[:5]}"
    expected_counts = {t: n for t, n in builder.counts().items() if t in counts}
    assert counts == expected_counts
    used_pairs = {(s, lg) for (lg, s) in builder.meaning.values() if s is not None}
    assert displays == {n: builder.display_names.get(n, n) for n in displays}
    if head:
        # Series no row uses are quarantined by the upgrade (and put back by a downgrade).
        assert series_rows == len(used_pairs)
    else:
        assert series_rows == len(builder._series)
        linked = {
            (builder._series_names[s], builder._by_id[lg]) for s, lg in builder._series_leagues
        }
        assert {(s, lg) for s, lg in links} == linked


RENAME_CONSTRAINTS = """
DO $$
DECLARE r record; n integer := 0;
BEGIN
    FOR r IN SELECT rel.relname, c.conname FROM pg_constraint c
             JOIN pg_class rel ON rel.oid = c.conrelid
             WHERE rel.relnamespace = 'public'::regnamespace AND c.contype IN ('f', 'u', 'c')
    LOOP
        n := n + 1;
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', r.relname, r.conname,
                       'prod_constraint_' || n);
    END LOOP;
END $$
"""


def reset_and_load(
    url: str, b: LegacyBuilder, old_revision: str | None, *, rename: bool = False
) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
            b.load(conn)
            if rename:
                conn.execute(sa.text(RENAME_CONSTRAINTS))
            if old_revision:
                conn.execute(
                    sa.text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
                )
                conn.execute(
                    sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": old_revision}
                )
    finally:
        engine.dispose()


def assert_legacy_ddl_shape(url: str, db_factory: Any) -> None:
    """The schema at `url` is exactly the legacy DDL's (columns, constraints, indexes)."""
    reference = db_factory.create("postgresql", migrated=False)
    engine = make_engine(reference)
    try:
        with engine.begin() as conn:
            for statement in statements("postgresql"):
                conn.execute(sa.text(statement))
        with engine.connect() as conn:
            expected = schema_shape(conn)
    finally:
        engine.dispose()
        db_factory.drop(reference)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert schema_shape(conn) == expected
    finally:
        engine.dispose()
