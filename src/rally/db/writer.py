"""The SQLite write discipline of a server process: one writer at a time, queued in order.

SQLite has one write lock per database file. Left to itself, every connection that wants it
polls (busy_timeout sleeps and retries), so under load writers starve each other and fail
with "database is locked"; and a transaction that read first and then writes fails outright
(SQLITE_BUSY_SNAPSHOT) when another writer committed in between.

`install` changes how a SQLite engine runs transactions so that none of that can happen
between the requests of one process:

- No transaction is opened for reads: each SELECT sees the latest committed data, as on
  PostgreSQL under READ COMMITTED, and never waits (WAL: readers do not block the writer).
- The first statement that writes (INSERT, UPDATE, DELETE, SAVEPOINT, DDL...) first waits
  its turn in a first-come-first-served queue of this process, then issues
  ``BEGIN IMMEDIATE``; the turn ends at COMMIT or ROLLBACK. So the lock is held only from
  the first write to the end of the transaction: slow work done before the first write
  (password hashing, reading, rendering) holds nobody up, and writers wait in order instead
  of polling.
- A writer that waits longer than `wait` seconds gets `DatabaseBusy` (HTTP 503 with
  Retry-After): the queue is only that long when the machine is truly overloaded.

busy_timeout still covers other processes (a second worker, `rally etl import`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
import weakref
from collections import deque
from typing import Any

from sqlalchemy import Engine, event

from rally.errors import DatabaseUnavailable

log = logging.getLogger("rally.db.writer")

#: Seconds a write waits for its turn before the request is answered 503.
DEFAULT_WAIT = 10.0
#: The memory map and page cache size (per connection) of a server's SQLite connections.
MMAP_BYTES = 256 * 1024 * 1024
CACHE_KIB = 16 * 1024
_TURN = "rally_writer_turn"
_READ_PREFIXES = ("SELECT", "PRAGMA", "EXPLAIN", "VALUES")
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b")


class DatabaseBusy(DatabaseUnavailable):
    """Too many writes are queued; the client should retry shortly."""

    retry_after = 2


class WriterQueue:
    """A lock handed to waiters in arrival order (threading.Lock wakes an arbitrary one)."""

    def __init__(self, wait: float = DEFAULT_WAIT) -> None:
        #: Seconds a writer waits for its turn before giving up (DatabaseBusy).
        self.wait = wait
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False
        #: Number of turns taken and how many of them had to wait (for tests and logs).
        self.turns = 0
        self.waited = 0
        #: The WAL's checkpoints, off the write path (file databases).
        self.checkpointer: Checkpointer | None = None

    def close(self) -> None:
        """Stop the checkpoints (a last one runs)."""
        if self.checkpointer is not None:
            self.checkpointer.stop()

    def acquire(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the turn; tell whether it was taken."""
        with self._mutex:
            self.turns += 1
            if not self._held:
                self._held = True
                return True
            self.waited += 1
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        if baton.acquire(timeout=timeout):
            return True
        with self._mutex:
            try:
                self._waiters.remove(baton)
            except ValueError:
                return True  # the turn was handed over just as the wait ended
        return False

    def release(self) -> None:
        """End the turn: hand it to the longest waiter, if any."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False

    @property
    def queued(self) -> int:
        """How many writers are waiting now."""
        return len(self._waiters)


def _is_write(statement: str) -> bool:
    head = statement.lstrip().upper()
    if head.startswith("WITH"):
        # A common table expression reads, unless it leads into INSERT/UPDATE/DELETE.
        return _DML.search(head) is not None
    return not head.startswith(_READ_PREFIXES)


def install(engine: Engine, *, wait: float = DEFAULT_WAIT) -> WriterQueue:
    """Give a SQLite engine the write discipline above; return its queue.

    Replaces the engine's eager ``BEGIN`` (see `rally.db.make_engine`) with a lazy
    ``BEGIN IMMEDIATE`` at the first write, taken in turn.
    """
    from rally.db import _sqlite_begin

    if engine.dialect.name != "sqlite":
        raise ValueError("the writer queue is for SQLite engines")
    queue = WriterQueue(wait)
    database = engine.url.database
    if database and database != ":memory:":
        queue.checkpointer = Checkpointer(database, queue)
    if event.contains(engine, "begin", _sqlite_begin):
        event.remove(engine, "begin", _sqlite_begin)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers and the writer never block each other. synchronous=NORMAL is what
        # SQLite recommends with WAL: a commit does not wait for fsync; the database stays
        # consistent, and only the last commits before a power cut can be lost.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Reads through a shared memory map of the file (no copy per connection), a larger
        # page cache than the default 2 MB, temporary sorts in memory.
        cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # No checkpoint at COMMIT: a checkpoint fsyncs the WAL and the file (tens of ms on a
        # virtual disk) while the whole queue waits; `Checkpointer` runs them aside.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _take_turn(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        dbapi_connection = cursor.connection
        if dbapi_connection.in_transaction or not _is_write(statement):
            return
        if _on_event_loop():
            # A write on the event loop would block the loop that the current writer may
            # need for its COMMIT; it still works, but only after a bounded wait.
            log.warning("a write runs on the event loop; run it in the thread pool instead")
        if not queue.acquire(queue.wait):
            raise DatabaseBusy(
                f"The server is overloaded ({queue.queued} writes waiting); try again shortly."
            )
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            queue.release()
            raise
        conn.info[_TURN] = queue

    def _end(conn: Any, finish: str) -> None:
        turn = conn.info.pop(_TURN, None)
        if turn is None:
            return
        try:
            # End the transaction here, so that the turn is handed on only after it ended;
            # SQLAlchemy's own COMMIT/ROLLBACK afterwards finds no transaction (a no-op).
            getattr(conn.connection.dbapi_connection, finish)()
        finally:
            turn.release()

    event.listen(engine, "commit", lambda conn: _end(conn, "commit"))
    event.listen(engine, "rollback", lambda conn: _end(conn, "rollback"))

    @event.listens_for(engine, "reset")
    def _reset(dbapi_connection: Any, record: Any, reset_state: Any) -> None:
        # A connection returned to the pool mid-transaction (an error path) ends its turn.
        turn = record.info.pop(_TURN, None)
        if turn is not None:
            try:
                dbapi_connection.rollback()
            finally:
                turn.release()

    @event.listens_for(engine, "invalidate")
    def _invalidate(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        turn = record.info.pop(_TURN, None)
        if turn is not None:
            turn.release()

    return queue


class Checkpointer:
    """Checkpoints a SQLite file's WAL on a thread and connection of its own.

    The server's connections never checkpoint at COMMIT (``wal_autocheckpoint=0``), so a
    write's turn never includes a checkpoint's fsyncs (tens of milliseconds each on a virtual
    disk, while every queued writer waits). Every `interval` seconds this thread runs a
    PASSIVE checkpoint instead: it waits for no reader or writer and blocks none (SQLite
    releases the GIL meanwhile), and once the whole WAL is copied the next write starts the
    WAL from its beginning again, so it stays as long as one interval's writes. The thread
    ends with `stop` or when its owner (the engine's writer queue) is gone.
    """

    def __init__(self, path: str, owner: object, *, interval: float = 1.0) -> None:
        self._path = path
        self._owner = weakref.ref(owner)
        self._interval = interval
        self._stop = threading.Event()
        #: Checkpoints that copied frames, and the last error (for tests and logs).
        self.runs = 0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="rally-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self._interval) and self._owner() is not None:
                conn = self._checkpoint(conn)
            self._checkpoint(conn)
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        try:
            if conn is None:
                conn = sqlite3.connect(self._path, isolation_level=None)
            _busy, _frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if copied > 0:
                self.runs += 1
            self.error = None
        except sqlite3.Error as exc:  # a missing file, a full disk: tried again next time
            if self.error is None:
                log.warning("WAL checkpoint failed: %s", exc)
            self.error = str(exc)
        return conn

    def stop(self) -> None:
        """Stop the thread after a last checkpoint."""
        self._stop.set()
        self._thread.join(timeout=10)


class DataVersion:
    """The data version of a SQLite database file: a number that changes whenever a commit
    by any other connection (this process's requests, `rally etl import`, `rally admin`...)
    changed the file. Read on a connection of its own that never writes (SQLite's
    ``PRAGMA data_version``); a read costs microseconds, so it can gate a cache.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def read(self) -> int:
        """Return the current data version."""
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(
                    self._path, check_same_thread=False, isolation_level=None
                )
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        """Close its connection (a later `read` opens another)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @classmethod
    def of(cls, engine: Engine) -> DataVersion | None:
        """The data version of a SQLite engine's file; None for other databases (in memory)."""
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return cls(database)


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
