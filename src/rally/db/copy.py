"""`rally db copy`: move a whole Rally database between backends (SQLite <-> PostgreSQL).

The copy is one transaction on the target: its schema is brought to the source's revision
first (Alembic, as `rally db upgrade` does), then every table is copied in foreign-key
order, PostgreSQL sequences are moved past the copied ids, and each table's row count and
content checksum is compared with the source's before the transaction commits. A failure
at any point leaves the target's rows as they were.

Checksums are computed the same way on both sides from the values SQLAlchemy reads through
Rally's models, in primary-key order, with each value written in one canonical form
(timestamps in UTC, numbers without trailing zeros...), so that the same content gives the
same checksum whatever the backend stores it as.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from rally.db import is_postgres
from rally.db.state import head_revision, inspect_state
from rally.errors import RallyError

#: Called with (table name, rows just copied) as the copy advances.
Progress = Callable[[str, int], None]
BATCH = 2000


class CopyRefused(RallyError):
    """The copy cannot start: the source or target is not in a state to copy between."""


class CopyMismatch(RallyError):
    """The copied rows differ from the source's; the target was rolled back."""


@dataclass(frozen=True)
class TableCopy:
    """One table: rows and checksum on each side."""

    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.target_rows, self.target_sha256)


@dataclass(frozen=True)
class CopyReport:
    """What was copied, at which revision, and whether every table verified."""

    revision: str
    tables: list[TableCopy]
    replaced_rows: int

    @property
    def rows(self) -> int:
        return sum(t.target_rows for t in self.tables)


def rally_tables() -> list[sa.Table]:
    """Every table of the schema at head, parents before children."""
    from rally.models import Base

    return list(Base.metadata.sorted_tables)


def _order(table: sa.Table) -> list[Any]:
    return list(table.primary_key.columns) or list(table.columns)


def _canonical(value: Any) -> str:
    # One text form per value whatever the backend returned for it.
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite: Rally stores UTC
            value = value.replace(tzinfo=dt.UTC)
        return str(value.astimezone(dt.UTC).isoformat())
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _rows(conn: Connection, table: sa.Table) -> Iterator[list[Any]]:
    result = conn.execution_options(yield_per=BATCH).execute(
        sa.select(table).order_by(*_order(table))
    )
    for batch in result.partitions():
        yield [row._mapping for row in batch]


def table_checksum(conn: Connection, table: sa.Table) -> tuple[int, str]:
    """Return a table's row count and the SHA-256 of its content in canonical form."""
    digest = hashlib.sha256()
    count = 0
    names = [c.name for c in table.columns]
    for batch in _rows(conn, table):
        for row in batch:
            digest.update("\x1f".join(_canonical(row[n]) for n in names).encode())
            digest.update(b"\x1e")
            count += 1
    return count, digest.hexdigest()


def _count_rows(conn: Connection, tables: list[sa.Table]) -> dict[str, int]:
    return {
        t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in tables
    }


def _utc(conn: Connection) -> None:
    # Timestamps cross backends in UTC (SQLite keeps them without a zone).
    if is_postgres(conn):
        conn.exec_driver_sql("SET TIME ZONE 'UTC'")


def _prepare_target(source_revision: str, target: Engine) -> None:
    """Bring an empty target to the source's revision; refuse any other target schema."""
    from rally.db.migrate import upgrade

    with target.connect() as conn:
        state = inspect_state(conn)
    if state.kind == "empty":
        upgrade(target, revision=source_revision, verify=False)
    elif state.kind != "rally" or state.revision != source_revision:
        raise CopyRefused(
            f"The target database is {state.describe}, the source is at revision "
            f"{source_revision}; copy into an empty database or one at the same revision."
        )


def _fix_sequences(conn: Connection, tables: list[sa.Table]) -> None:
    # PostgreSQL hands out ids from sequences that the copied rows did not advance.
    for table in tables:
        for column in table.primary_key.columns:
            if not column.autoincrement or not isinstance(column.type, sa.Integer):
                continue
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": column.name},
            ).scalar_one()
            if sequence is None:
                continue
            high = conn.execute(sa.select(sa.func.max(column))).scalar_one()
            conn.execute(
                sa.text("SELECT setval(:s, :v, :called)"),
                {"s": sequence, "v": high or 1, "called": high is not None},
            )


def copy_database(
    source: Engine,
    target: Engine,
    *,
    replace: bool = False,
    progress: Progress | None = None,
    totals: Callable[[dict[str, int]], None] | None = None,
) -> CopyReport:
    """Copy every row of the Rally database `source` into `target`, verified; see the module.

    `target` must hold no rows (an empty database, or a Rally schema without rows) unless
    `replace`, which deletes its rows in the same transaction. `totals` receives the source's
    row counts before copying starts (for a progress bar).
    """
    head = head_revision()
    with source.connect() as sconn:
        state = inspect_state(sconn)
    if state.kind != "rally" or state.revision != head:
        raise CopyRefused(
            f"The source database is {state.describe}; bring it to the current schema "
            f"({head}) with `rally db upgrade` first."
        )
    tables = rally_tables()
    _prepare_target(head, target)
    # One snapshot of a PostgreSQL source for the copy and its checksums.
    snapshot = {"isolation_level": "REPEATABLE READ"} if is_postgres(source) else {}
    with source.connect().execution_options(**snapshot) as sconn, target.begin() as tconn:
        _utc(sconn)
        _utc(tconn)
        present = {k: v for k, v in _count_rows(tconn, tables).items() if v}
        if present and not replace:
            listed = ", ".join(f"{name} ({n})" for name, n in sorted(present.items()))
            raise CopyRefused(
                f"The target database is not empty: {listed}. Nothing was copied; "
                "use --force to replace its contents."
            )
        for table in reversed(tables):
            if present.get(table.name):
                tconn.execute(table.delete())
        if totals is not None:
            totals(_count_rows(sconn, tables))
        for table in tables:
            for batch in _rows(sconn, table):
                tconn.execute(table.insert(), [dict(row) for row in batch])
                if progress is not None:
                    progress(table.name, len(batch))
        if is_postgres(tconn):
            _fix_sequences(tconn, tables)
        checked = []
        for table in tables:
            source_rows, source_sum = table_checksum(sconn, table)
            target_rows, target_sum = table_checksum(tconn, table)
            checked.append(TableCopy(table.name, source_rows, target_rows, source_sum, target_sum))
        bad = [t for t in checked if not t.ok]
        if bad:
            tconn.rollback()
            detail = "; ".join(
                f"{t.table}: {t.source_rows} rows in the source, {t.target_rows} copied"
                + ("" if t.source_rows != t.target_rows else ", content differs")
                for t in bad
            )
            raise CopyMismatch(f"The copy does not match the source ({detail}); rolled back.")
    if is_postgres(target):
        with target.connect() as conn:  # fresh statistics for the planner
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return CopyReport(head, checked, sum(present.values()))
