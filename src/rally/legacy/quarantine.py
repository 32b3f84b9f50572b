"""`legacy_quarantine`: every legacy row a resolution deletes or changes, kept whole as JSON.

A row is copied (``row_to_json`` of the row as it is at that moment, its table, its key, the
reason and the resolution) in the same statement batch and transaction as the change, so a
row is never changed without its copy. ``resolution`` starts with ``deleted`` or ``changed``:

- deleted rows count in the per-table accounting: rows after + rows deleted = rows before;
- changed rows are still in their table; the copy is what they were before.

`rally db downgrade legacy` calls `restore`: deleted rows are inserted back and changed rows
get their first copy's values back (a row changed twice returns to what it was before the
first change), once the tables have their legacy shape again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from rally.db.migrations.legacy_ddl import LEGACY_TABLES

TABLE = "legacy_quarantine"
SAVED = "_rally_quarantine"
DELETED = "deleted"
CHANGED = "changed"
# Recreated with fresh ids by the downgrade: restored rows take new ids too.
_RENUMBERED = frozenset({"series_leagues"})


def primary_key(conn: Connection, table: str) -> list[str]:
    """The table's primary key columns (catalog order); empty when it has none."""
    return list(
        conn.execute(
            sa.text(
                "SELECT a.attname FROM pg_constraint k JOIN pg_attribute a "
                "ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) "
                "WHERE k.contype = 'p' AND k.conrelid = CAST(:t AS regclass) ORDER BY a.attnum"
            ),
            {"t": table},
        ).scalars()
    )


def key_sql(columns: list[str], alias: str = "x") -> str:
    """SQL text of a row's key: its primary key columns joined with ':' (NULL without one)."""
    if not columns:
        return "CAST(NULL AS text)"
    return " || ':' || ".join(f"CAST({alias}.{c} AS text)" for c in columns)


def copy_rows(
    conn: Connection,
    *,
    table: str,
    where: str,
    reason: str,
    resolution: str,
    target: str = TABLE,
    params: dict[str, Any] | None = None,
) -> int:
    """Copy the rows of `table` (alias x, joined as `where` says) into the quarantine.

    `where` is SQL text after ``FROM table x``, e.g. ``JOIN _r r ON r.row_id = x.id``;
    `resolution` is a SQL expression (it may use the joined tables), starting with
    'deleted' or 'changed'.
    """
    key = key_sql(primary_key(conn, table))
    return int(
        conn.execute(
            sa.text(
                f"INSERT INTO {target} (table_name, row_id, reason, resolution, row) "
                f"SELECT :tbl, {key}, :reason, {resolution}, row_to_json(x) FROM {table} x {where}"
            ),
            {"tbl": table, "reason": reason, **(params or {})},
        ).rowcount
        or 0
    )


def create_scratch(conn: Connection, name: str = TABLE) -> None:
    """A temporary quarantine with the same columns (the plan's dry run writes there)."""
    conn.execute(
        sa.text(
            f"CREATE TEMP TABLE {name} (id serial, table_name text, row_id text, reason text, "
            "resolution text, row json, quarantined_at timestamptz DEFAULT now()) "
            "ON COMMIT DROP"
        )
    )


def exists(conn: Connection) -> bool:
    """Tell whether the database has the quarantine table (it is at head)."""
    return TABLE in sa.inspect(conn).get_table_names()


def summary(conn: Connection) -> list[dict[str, Any]]:
    """What is in quarantine: one entry per (table, reason, action) with its count."""
    rows = conn.execute(
        sa.text(
            f"SELECT table_name, reason, split_part(resolution, ' ', 1) AS action, COUNT(*) AS n, "
            f"MIN(quarantined_at) AS since FROM {TABLE} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
    ).all()
    return [
        {"table": t, "reason": r, "action": a, "rows": int(n), "since": since}
        for t, r, a, n, since in rows
    ]


def entries(conn: Connection, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Quarantined rows themselves (oldest first)."""
    sql = f"SELECT id, table_name, row_id, reason, resolution, row FROM {TABLE} ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def deleted_counts(conn: Connection, target: str = TABLE) -> dict[str, int]:
    """Rows deleted per table (the accounting: rows after + deleted = rows before)."""
    return {
        str(t): int(n)
        for t, n in conn.execute(
            sa.text(
                f"SELECT table_name, COUNT(*) FROM {target} "
                f"WHERE resolution LIKE '{DELETED}%' GROUP BY 1"
            )
        )
    }


def save(conn: Connection) -> int:
    """Keep the quarantine in a temporary table before the downgrade drops it."""
    conn.execute(
        sa.text(
            f"CREATE TEMP TABLE {SAVED} ON COMMIT DROP AS SELECT DISTINCT ON (table_name, row_id) "
            "table_name, row_id, row, bool_or(resolution LIKE 'deleted%') OVER "
            "(PARTITION BY table_name, row_id) AS deleted, id "
            f"FROM {TABLE} ORDER BY table_name, row_id, id"
        )
    )
    return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {SAVED}")).scalar_one())


def _columns(conn: Connection, table: str) -> list[str]:
    return list(
        conn.execute(
            sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = :t ORDER BY ordinal_position"
            ),
            {"t": table},
        ).scalars()
    )


def restore(conn: Connection, log: Callable[[str], None]) -> dict[str, int]:
    """Put saved rows back: deleted ones inserted (parents first), changed ones updated."""
    tables = list(conn.execute(sa.text(f"SELECT DISTINCT table_name FROM {SAVED}")).scalars())
    order = {t: n for n, t in enumerate(reversed(LEGACY_TABLES))}
    tables.sort(key=lambda t: (order.get(t, len(order)), t))
    restored: dict[str, int] = {}
    for table in tables:
        cols = _columns(conn, table)
        if not cols:
            log(f"quarantine: table {table} no longer exists; its rows stay unrestored")
            continue
        inserted = [c for c in cols if not (table in _RENUMBERED and c == "id")]
        col_list = ", ".join(f'"{c}"' for c in inserted)
        source = (
            f'SELECT (json_populate_record(CAST(NULL AS "{table}"), s.row)).*, s.row_id, '
            f"s.deleted FROM {SAVED} s WHERE s.table_name = :t"
        )
        n = int(
            conn.execute(
                sa.text(
                    f'INSERT INTO "{table}" ({col_list}) SELECT {col_list} FROM ({source}) r '
                    "WHERE r.deleted ORDER BY 1"
                ),
                {"t": table},
            ).rowcount
            or 0
        )
        key = primary_key(conn, table)
        if key:
            sets = ", ".join(f'"{c}" = r."{c}"' for c in cols if c not in key)
            match = " AND ".join(f'x."{c}" = r."{c}"' for c in key)
            n += int(
                conn.execute(
                    sa.text(
                        f'UPDATE "{table}" x SET {sets} FROM ({source}) r '
                        f"WHERE NOT r.deleted AND {match}"
                    ),
                    {"t": table},
                ).rowcount
                or 0
            )
        else:
            unkeyed = conn.execute(
                sa.text(f"SELECT COUNT(*) FROM {SAVED} WHERE table_name = :t AND NOT deleted"),
                {"t": table},
            ).scalar_one()
            if unkeyed:
                log(f"quarantine: {unkeyed} changed rows of {table} (no primary key) not restored")
        restored[table] = n
    if restored:
        log(
            "quarantine: put back "
            + ", ".join(f"{t} {n}" for t, n in restored.items())
            + " rows as they were before the upgrade"
        )
    return restored
