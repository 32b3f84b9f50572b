"""Bulk writes for the importer: diff wanted rows against a league's rows, write the difference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from rally.etl.report import Counts

_CENT = Decimal("0.01")

_BATCH = 5000


def same(old: Any, new: Any) -> bool:
    # Numeric columns come back from SQLite as floats scaled to Decimal; compare by value.
    if isinstance(new, Decimal) and old is not None:
        return Decimal(str(old)).quantize(_CENT) == new
    return bool(old == new)


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), _BATCH):
        yield rows[start : start + _BATCH]


class Sync:
    """Diff wanted rows against existing rows of one table and write only the difference."""

    def __init__(self, session: Session, model: type[Any], cols: Sequence[str]) -> None:
        self.session = session
        self.model = model
        self.cols = tuple(cols)

    def apply(
        self,
        counts: Counts,
        wanted: Mapping[Any, dict[str, Any]],
        existing: Mapping[Any, tuple[int, tuple[Any, ...]]],
    ) -> list[Any]:
        """Insert new keys, update changed rows; return the existing keys not wanted.

        ``existing`` maps a key to (id, values of ``self.cols`` in order), see _existing.
        """
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, row in wanted.items():
            found = existing.get(key)
            if found is None:
                inserts.append(row)
                continue
            changed = self.changes(found, row)
            if changed is None:
                counts.unchanged += 1
            else:
                updates.append(changed)
        self.write(counts, inserts, updates)
        return [key for key in existing if key not in wanted]

    def stream(
        self,
        counts: Counts,
        rows: Iterable[tuple[Any, dict[str, Any]]],
        existing: dict[Any, tuple[int, tuple[Any, ...]]],
        *,
        hold_new: bool = False,
    ) -> list[tuple[Any, dict[str, Any]]]:
        """Like ``apply`` for (key, row) pairs streamed in, written as they come.

        Each key met is taken out of ``existing``: what is left afterwards is the rows not
        wanted. Keys must be distinct. With ``hold_new`` new rows are returned (key, row)
        instead of inserted, for the caller to decide on (schedule moves); otherwise the
        result is empty. On PostgreSQL new rows go into one COPY held open while the rows
        are made (the server stores them meanwhile); elsewhere they are inserted in batches.
        """
        inserts = CopyStream(self.session, self.model)
        updates: list[dict[str, Any]] = []
        held: list[tuple[Any, dict[str, Any]]] = []
        try:
            for key, row in rows:
                found = existing.pop(key, None)
                if found is None:
                    if hold_new:
                        held.append((key, row))
                    else:
                        inserts.write(row)
                        counts.inserted += 1
                    continue
                changed = self.changes(found, row)
                if changed is None:
                    counts.unchanged += 1
                    continue
                updates.append(changed)
                if len(updates) >= _BATCH:
                    self.write(counts, [], updates)
                    updates = []
        except BaseException as exc:
            inserts.close(exc)
            raise
        inserts.close()
        self.write(counts, [], updates)
        return held

    def changes(
        self, found: tuple[int, tuple[Any, ...]], row: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The UPDATE of an existing row (id, old values) to `row`; None when nothing changed."""
        row_id, old = found
        new = tuple([row[c] for c in self.cols])
        if new == old:
            return None
        changed = {c: n for c, o, n in zip(self.cols, old, new, strict=True) if not same(o, n)}
        if not changed:
            return None
        changed["id"] = row_id
        return changed

    def write(
        self, counts: Counts, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]
    ) -> None:
        bulk_insert(self.session, self.model, inserts)
        counts.inserted += len(inserts)
        # Bulk UPDATE by primary key batches rows by the set of columns they change.
        stamp = hasattr(self.model, "updated_at")
        now = dt.datetime.now(dt.UTC)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in updates:
            if stamp:
                row["updated_at"] = now
            groups.setdefault(tuple(sorted(row)), []).append(row)
        for group in groups.values():
            for chunk in _chunks(group):
                self.session.execute(update(self.model), chunk)
        counts.updated += len(updates)


def bulk_insert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) in bulk, inside the session's transaction.

    On PostgreSQL this is COPY FROM STDIN on the session's own connection: psycopg runs an
    executemany as one INSERT per row, several times slower for the corpus. Elsewhere it is
    an executemany of one INSERT.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for chunk in _chunks(rows):
            session.execute(insert(model.__table__), chunk)
        return
    columns = list(rows[0])
    table = model.__table__.name
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


class CopyStream:
    """New rows of one table, written as they come (all rows with the same keys).

    On PostgreSQL: one COPY FROM STDIN on the session's connection, held open while the
    caller makes the next rows, so that the server stores rows meanwhile. Any statement the
    session runs meanwhile (a lookup made while the rows are made) first ends the COPY; the
    next row opens another. ``close`` ends it. Elsewhere rows are inserted in batches.
    """

    def __init__(self, session: Session, model: type[Any]) -> None:
        self.session = session
        self.model = model
        self.batch: list[dict[str, Any]] = []
        self.postgres = session.connection().dialect.name == "postgresql"
        self._open: Any = None
        self._columns: list[str] = []
        self._listening: Any = None

    def write(self, row: dict[str, Any]) -> None:
        """Add one row."""
        if not self.postgres:
            self.batch.append(row)
            if len(self.batch) >= _BATCH:
                self.close()
            return
        if self._open is None:
            self._start(list(row))
        self._open[1].write_row([row[c] for c in self._columns])

    def _start(self, columns: list[str]) -> None:
        connection = self.session.connection()
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        sql = f"COPY {self.model.__table__.name} ({', '.join(columns)}) FROM STDIN"
        manager = cursor.copy(sql)
        self._open = (manager, manager.__enter__(), cursor)
        self._columns = columns
        if self._listening is None:
            event.listen(connection, "before_cursor_execute", self._end_before_statement)
            self._listening = connection

    def _end_before_statement(self, *_args: Any) -> None:
        self._end(None)

    def close(self, failure: BaseException | None = None) -> None:
        """Write what is pending: end the COPY (PostgreSQL) or insert the batch.

        With ``failure`` (the caller is failing) pending rows are dropped instead.
        """
        rows, self.batch = self.batch, []
        if rows and failure is None:
            bulk_insert(self.session, self.model, rows)
        try:
            self._end(failure)
        finally:
            # Not from the listener itself: SQLAlchemy is iterating its listeners then.
            if self._listening is not None:
                event.remove(self._listening, "before_cursor_execute", self._end_before_statement)
                self._listening = None

    def _end(self, failure: BaseException | None) -> None:
        if self._open is None:
            return
        manager, _copy, cursor = self._open
        self._open = None
        try:
            if failure is None:
                manager.__exit__(None, None, None)
            else:
                manager.__exit__(type(failure), failure, failure.__traceback__)
        finally:
            cursor.close()


def select_rows(session: Session, where: Any, model: type[Any], cols: Sequence[str]) -> list[Any]:
    columns = [model.id, *(getattr(model, c) for c in cols)]
    return list(session.connection().execute(select(*columns).where(where)))


def existing_rows(
    session: Session,
    model: type[Any],
    where: Any,
    compare: Sequence[str],
    extra: Sequence[str],
    key: Callable[[Any], Any],
    *,
    fresh: bool = False,
) -> dict[Any, tuple[int, tuple[Any, ...]]]:
    """Read a league's rows: key(row) -> (id, values of the ``compare`` columns in order).

    ``fresh``: the league was created in this transaction, it has no rows yet (none read).
    """
    if fresh:
        return {}
    names = [*compare, *(c for c in extra if c not in compare)]
    columns = [model.id, *(getattr(model, c) for c in names)]
    width = len(compare)
    out: dict[Any, tuple[int, tuple[Any, ...]]] = {}
    for row in session.connection().execute(select(*columns).where(where)).all():
        out[key(row)] = (row[0], tuple(row[1 : 1 + width]))
    return out
