"""Tables Rally does not know: found in the catalog, carried through the upgrade, checked after.

A production database holds more than the legacy schema (polls, captain notes, saved lineups,
activity logs...). Any such table may reference ``series``, ``teams``, ``players`` or
``leagues``, by a foreign key or by a bare integer column named like one (``series_id``,
``*_series_id``, ``team_id``, ``*_team_id``, ``player_id``, ``*_player_id``, ``league_id``,
``*_league_id``). `discover` finds them; the analysis counts their series references as uses
(so a series they use is never dropped and is split by their rows' league), the resolutions
move their references to merged duplicate players, and verify checks them at head.

Their own constraints are never dropped: ids of teams, players and leagues do not change,
and a series reference is only ever moved to another existing series row.

Which tables are Rally's depends on the revision the database is at (`known_tables`): the
legacy schema's on a legacy database, the frozen 0002 schema's at 0002, the models' at head.
A legacy table that bears the name of a table a revision creates (an old ``audit_log``, say)
is therefore found like any other, and `name_collisions` refuses it by name before anything
is changed, rather than letting the revision fail on "relation already exists".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.db.migrations.legacy_ddl import LEGACY_TABLES
from rally.db.migrations.schema_0002 import metadata_0002
from rally.db.state import BASELINE, head_revision, script_directory
from rally.models import Base

TARGETS = ("series", "teams", "players", "leagues")
_BY_NAME = {
    "series": re.compile(r"^(.+_)?series_id$"),
    "teams": re.compile(r"^(.+_)?team_id$"),
    "players": re.compile(r"^(.+_)?player_id$"),
    "leagues": re.compile(r"^(.+_)?league_id$"),
}
_INTEGER_TYPES = ("integer", "bigint", "smallint")
REVISION_0002 = "0002_league_isolation"
# The tables of each schema Rally has frozen: legacy (the baseline), 0002, head (the models).
_LEGACY = frozenset(LEGACY_TABLES)
_AT_0002 = frozenset(metadata_0002().tables)
_AT_HEAD = frozenset(Base.metadata.tables)
# Tables some revision creates, which a legacy database must not already hold.
CREATED_BY_REVISIONS = (_AT_0002 | _AT_HEAD) - _LEGACY
# Created by revision 0002 before its data step runs (its resolutions write there).
_EARLY_0002 = frozenset({"legacy_quarantine"})


def known_tables(revision: str | None) -> frozenset[str]:
    """Tables that are Rally's at `revision` (None: a legacy database, not stamped by Rally).

    Derived from the frozen schema of that revision: the legacy DDL at the baseline, the
    0002 schema at 0002, the models at head. The revisions between 0002 and head are not
    frozen as metadata; there (where no discovery runs today) both schemas' tables count.
    The legacy tables are Rally's at every revision: `series_leagues` stays at head while an
    online upgrade's window is open (`rally.legacy.online`), until --finalize drops it.
    """
    if revision is None or revision == BASELINE:
        tables = _LEGACY
    elif revision == REVISION_0002:
        tables = _AT_0002
    elif revision == head_revision():
        tables = _AT_HEAD
    else:
        tables = _AT_0002 | _AT_HEAD
    return tables | _LEGACY | {"alembic_version"}


# While revision 0002 runs its data step: the legacy tables and the one 0002 has created.
DURING_0002 = known_tables(None) | _EARLY_0002


def current_revision(conn: Connection) -> str | None:
    """The Rally revision the database is stamped at (None: legacy, or a foreign revision)."""
    if conn.execute(sa.text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
        return None
    version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    ours = {rev.revision for rev in script_directory().walk_revisions()}
    return str(version) if version in ours else None


def _is_rally_bookkeeping(table: str) -> bool:
    # Rally's own work tables (the online upgrade's) are not the application's.
    return table.startswith(("rally_online", "_rally"))


@dataclass(frozen=True)
class ExtraRef:
    """One column of an unknown table that references a Rally table."""

    table: str
    column: str
    target: str  # series, teams, players or leagues
    constraint: str | None  # the foreign key's name, None for a bare id column
    nullable: bool

    @property
    def how(self) -> str:
        """How the reference was found, in words."""
        return f"foreign key {self.constraint}" if self.constraint else "by column name"


@dataclass
class ExtraTable:
    """An unknown table with at least one reference to series, teams, players or leagues."""

    name: str
    rows: int
    key: str | None  # single-column primary key, when there is one
    refs: list[ExtraRef] = field(default_factory=list)
    # Unique constraints and indexes over a reference column: (name, columns). Moving a
    # reference (to a survivor, to a league's series) must not break them.
    uniques: list[tuple[str, list[str]]] = field(default_factory=list)

    def first(self, target: str) -> ExtraRef | None:
        """The column that says the row's `target` (the plain name wins, e.g. league_id)."""
        refs = [r for r in self.refs if r.target == target]
        plain = {"series": "series_id", "teams": "team_id", "players": "player_id"}
        for ref in refs:
            if ref.column == plain.get(target, "league_id"):
                return ref
        return refs[0] if refs else None

    def league_sql(self, alias: str = "x") -> tuple[str, str, str]:
        """(joins, league expression, how-expression) deciding the league of a row of this table.

        The row's own league column first, then its team's league, then its player's.
        """
        joins, parts, hows = [], [], []
        league = self.first("leagues")
        if league is not None:
            parts.append(f"{alias}.{league.column}")
            hows.append((f"{alias}.{league.column}", "own"))
        team = self.first("teams")
        if team is not None:
            joins.append(f"LEFT JOIN teams et ON et.id = {alias}.{team.column}")
            parts.append("et.league_id")
            hows.append(("et.league_id", "team"))
        player = self.first("players")
        if player is not None:
            joins.append(f"LEFT JOIN players ep ON ep.id = {alias}.{player.column}")
            parts.append("ep.league_id")
            hows.append(("ep.league_id", "player"))
        expr = f"COALESCE({', '.join(parts)})" if len(parts) > 1 else (parts or ["NULL"])[0]
        how = (
            "CASE " + " ".join(f"WHEN {e} IS NOT NULL THEN '{h}'" for e, h in hows) + " END"
            if hows
            else "NULL"
        )
        return " ".join(joins), f"CAST({expr} AS integer)", how

    def league_inline(self, alias: str = "x") -> str | None:
        """The row's own league as one expression (no joins: usable in UPDATE ... FROM)."""
        parts = []
        league = self.first("leagues")
        if league is not None:
            parts.append(f"{alias}.{league.column}")
        for target, ref in (("teams", self.first("teams")), ("players", self.first("players"))):
            if ref is not None:
                parts.append(f"(SELECT league_id FROM {target} WHERE id = {alias}.{ref.column})")
        return f"COALESCE({', '.join(parts)}, NULL)" if parts else None


_COLUMNS_SQL = """
SELECT c.relname AS tbl, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS nullable
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_FKS_SQL = """
SELECT c.relname AS tbl, k.conname, r.relname AS target, k.conkey, k.confkey, k.conrelid,
       k.confrelid
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid
WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace
"""
_PK_SQL = """
SELECT c.relname, array_agg(a.attname) FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
WHERE k.contype = 'p' AND c.relnamespace = 'public'::regnamespace GROUP BY c.relname
"""
# Unique indexes (those of unique constraints included) on plain columns, without predicate.
_UNIQUE_SQL = """
SELECT c.relname, i.relname, array_agg(a.attname ORDER BY k.ord)
FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE x.indisunique AND NOT x.indisprimary AND x.indpred IS NULL AND x.indexprs IS NULL
  AND c.relnamespace = 'public'::regnamespace
GROUP BY c.relname, i.relname ORDER BY 1, 2
"""


def discover(
    conn: Connection, *, count_rows: bool = True, known: frozenset[str] | None = None
) -> list[ExtraTable]:
    """Every public table Rally does not know that references series/teams/players/leagues.

    `known`: the tables that are Rally's; by default those of the revision the database is
    stamped at (`known_tables`).
    """
    if conn.dialect.name != "postgresql":
        return []  # legacy deployments, and so their extra tables, live on PostgreSQL
    if known is None:
        known = known_tables(current_revision(conn))
    columns: dict[str, list[tuple[str, str, bool]]] = {}
    for tbl, col, type_, nullable in conn.execute(sa.text(_COLUMNS_SQL)):
        if tbl not in known and not _is_rally_bookkeeping(tbl):
            columns.setdefault(tbl, []).append((col, type_, bool(nullable)))
    if not columns:
        return []
    fks: dict[tuple[str, str], tuple[str, str]] = {}
    attname = sa.text("SELECT attname FROM pg_attribute WHERE attrelid = :r AND attnum = :n")
    for tbl, name, target, conkey, confkey, relid, frelid in conn.execute(sa.text(_FKS_SQL)):
        if tbl in columns and target in TARGETS and len(conkey) == 1:
            col = conn.execute(attname, {"r": relid, "n": conkey[0]}).scalar_one()
            ref = conn.execute(attname, {"r": frelid, "n": confkey[0]}).scalar_one()
            if ref == "id":  # a reference by key (e.g. leagues.league_id) keeps its meaning
                fks[(tbl, str(col))] = (str(target), str(name))
    keys = {str(t): list(cols) for t, cols in conn.execute(sa.text(_PK_SQL)) if t in columns}
    uniques: dict[str, list[tuple[str, list[str]]]] = {}
    for tbl, name, cols in conn.execute(sa.text(_UNIQUE_SQL)):
        if tbl in columns:
            uniques.setdefault(str(tbl), []).append((str(name), [str(c) for c in cols]))
    found = []
    for tbl, cols in sorted(columns.items()):
        refs = []
        for col, type_, nullable in cols:
            target, constraint = fks.get((tbl, col), (None, None))
            if target is None and type_ in _INTEGER_TYPES:
                target = next((t for t, rx in _BY_NAME.items() if rx.match(col)), None)
            if target is not None:
                refs.append(ExtraRef(tbl, col, target, constraint, nullable))
        if not refs:
            continue
        pk = keys.get(tbl, [])
        rows = (
            int(conn.execute(sa.text(f'SELECT COUNT(*) FROM "{tbl}"')).scalar_one())
            if count_rows
            else 0
        )
        referencing = {r.column for r in refs}
        kept = [(n, c) for n, c in uniques.get(tbl, []) if referencing & set(c)]
        found.append(ExtraTable(tbl, rows, pk[0] if len(pk) == 1 else None, refs, kept))
    return found


def series_refs(tables: list[ExtraTable]) -> list[tuple[ExtraTable, ExtraRef]]:
    """Every (table, column) of unknown tables that references a series."""
    return [(t, r) for t in tables for r in t.refs if r.target == "series"]


def handling(table: ExtraTable, ref: ExtraRef) -> str:
    """What the upgrade does to this column, in words (shown by `rally db plan`)."""
    if ref.target == "series":
        if table.first("leagues") or table.first("teams") or table.first("players"):
            return (
                "re-pointed to the series of the row's league (its "
                + ", then ".join(
                    r.column for r in (table.first(k) for k in ("leagues", "teams", "players")) if r
                )
                + "); else as the series' other uses decide; else left on the series that "
                "keeps the id, and reported (--assign-unknown KEY: put on KEY's series)"
            )
        return (
            "re-pointed when the series is used by one league; else left on the series "
            "that keeps the id, and reported (--assign-unknown KEY: put on KEY's series)"
        )
    if ref.target == "players":
        return "kept; moved to the survivor when its player is a merged duplicate"
    return "kept (ids of this table do not change)"


def as_dict(tables: list[ExtraTable]) -> list[dict[str, object]]:
    """JSON-ready description, for the plan."""
    return [
        {
            "table": t.name,
            "rows": t.rows,
            "primary_key": t.key,
            "references": [
                {
                    "column": r.column,
                    "references": r.target,
                    "found": r.how,
                    "handling": handling(t, r),
                }
                for r in t.refs
            ],
        }
        for t in tables
    ]


def name_collisions(conn: Connection, *, created: frozenset[str] = frozenset()) -> list[str]:
    """Tables of a legacy database named like a table the upgrade creates, as sentences.

    `created`: tables the running upgrade has already created itself (not a collision).
    """
    if conn.dialect.name != "postgresql":
        return []
    present = set(
        conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
    )
    return [
        f"table {name} (which Rally does not know) has the name of a table the upgrade "
        f"creates: rename it before the upgrade (ALTER TABLE {name} RENAME TO ...)"
        for name in sorted(present & (CREATED_BY_REVISIONS - created))
    ]


def blocking_foreign_keys(conn: Connection) -> list[str]:
    """Foreign keys of unknown tables that the upgrade cannot keep, as sentences.

    The upgrade replaces every legacy unique constraint and drops series_leagues; a foreign
    key of another table that depends on one of those would make it fail. One that references
    a primary key (an ``id``) is kept as it is.
    """
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(
        sa.text(
            "SELECT c.relname, k.conname, r.relname, pg_get_constraintdef(k.oid), "
            "k.conindid = (SELECT p.conindid FROM pg_constraint p "
            "WHERE p.conrelid = k.confrelid AND p.contype = 'p') AS to_pk "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_class r ON r.oid = k.confrelid "
            "WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace"
        )
    ).all()
    return [
        f"table {tbl} (which Rally does not know) has foreign key {name} {definition}: the "
        f"upgrade replaces what it references on {ref}; drop it before the upgrade and "
        "recreate it after"
        for tbl, name, ref, definition, to_pk in rows
        if tbl not in DURING_0002
        and not _is_rally_bookkeeping(tbl)
        and ref in LEGACY_TABLES
        and (not to_pk or ref == "series_leagues")
    ]
