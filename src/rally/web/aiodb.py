"""A few asynchronous PostgreSQL connections for the hottest requests.

Every other request uses the SQLAlchemy pool, whose blocking queries hold the event loop for
a whole round trip. Standings, the bearer/cookie lookup of the team switch and the switch
itself are one statement each; awaiting them lets the loop serve other requests meanwhile,
which on a busy machine is most of their latency. A write here waiting for a row lock does
not stall the loop either, so it cannot hold up the COMMIT of the transaction it waits for.

The connections run in autocommit mode (each statement its own transaction) with
synchronous_commit off: only reads and the context switch use them, and a switch lost in a
crash is harmless.

`AsyncPool.snapshot()` reads the database's snapshot for rally.web.page_cache, shared
between the requests of a process that want one at the same time (one read in flight at a
time, on a connection of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import URL

from rally.errors import DatabaseUnavailable

_SNAPSHOT_SQL = "SELECT pg_current_snapshot()::text"


class _LoopPool:
    def __init__(self, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.idle: list[psycopg.AsyncConnection[Any]] = []
        #: The next snapshot read, which requests wait for: not sent to the database yet.
        self.next_snapshot: asyncio.Future[str] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.reader_conn: psycopg.AsyncConnection[Any] | None = None


class AsyncPool:
    """Autocommit psycopg connections for single-statement requests, kept per event loop."""

    def __init__(self, url: URL, connect_args: dict[str, Any], size: int = 8) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        options = f"{connect_args.get('options', '')} -c synchronous_commit=off".strip()
        self._connect_args = {**connect_args, "options": options}
        self._size = size
        #: Snapshot reads sent (`snapshot`), in this process.
        self.snapshot_reads = 0
        # asyncio objects belong to one loop (tests run several); the server has one.
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopPool]
        self._pools = weakref.WeakKeyDictionary()

    def _pool(self) -> _LoopPool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = _LoopPool(self._size)
        return pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """Lend a connection; a broken one is discarded and answered as 503."""
        pool = self._pool()
        async with pool.slots:
            try:
                conn = pool.idle.pop() if pool.idle else await self._connect()
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailable("The database is unavailable.") from exc
            try:
                yield conn
            except psycopg.OperationalError as exc:
                raise DatabaseUnavailable(
                    "The database could not answer; try again shortly."
                ) from exc
            finally:
                if conn.closed or conn.info.transaction_status != TransactionStatus.IDLE:
                    await conn.close()
                else:
                    pool.idle.append(conn)

    async def snapshot(self) -> str:
        """The database's snapshot (`pg_current_snapshot()`), read after this call began.

        Requests asking at the same time share one read: a request waits for the next read
        that has not been sent yet, never for one already in flight (that one may have been
        taken before the request came, and miss a write the request's user just made). So
        every transaction that ended before the call is visible in the answer. At most one
        read is in flight per process; under load each serves many requests.
        """
        pool = self._pool()
        if pool.next_snapshot is None:
            pool.next_snapshot = asyncio.get_running_loop().create_future()
            if pool.reader is None or pool.reader.done():
                pool.reader = asyncio.create_task(self._read_snapshots(pool))
        # Shielded: a request that goes away does not cancel the others' read.
        return await asyncio.shield(pool.next_snapshot)

    async def _read_snapshots(self, pool: _LoopPool) -> None:
        while pool.next_snapshot is not None:
            # Requests from now on wait for the read after this one.
            waiting, pool.next_snapshot = pool.next_snapshot, None
            try:
                if pool.reader_conn is None or pool.reader_conn.closed:
                    pool.reader_conn = await self._connect()
                self.snapshot_reads += 1
                cursor = await pool.reader_conn.execute(_SNAPSHOT_SQL, prepare=True)
                row = await cursor.fetchone()
            except Exception as exc:  # the waiting requests fail; the next read reconnects
                broken, pool.reader_conn = pool.reader_conn, None
                if broken is not None:
                    with contextlib.suppress(Exception):
                        await broken.close()
                unavailable = DatabaseUnavailable(
                    "The database could not answer; try again shortly."
                )
                waiting.set_exception(unavailable if isinstance(exc, psycopg.Error) else exc)
                waiting.exception()  # retrieved: no warning when no request waits any more
            except BaseException:
                pool.reader_conn = None  # in an unknown state (closed by `close`)
                waiting.cancel()
                if pool.next_snapshot is not None:
                    pool.next_snapshot.cancel()
                    pool.next_snapshot = None
                raise
            else:
                assert row is not None
                waiting.set_result(str(row[0]))

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, **self._connect_args
        )

    async def close(self) -> None:
        """Close the idle connections of the running loop (at application shutdown)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is None:
            return
        reader_conn = pool.reader_conn
        if pool.reader is not None and not pool.reader.done():
            pool.reader.cancel()
        for conn in [*pool.idle, *([reader_conn] if reader_conn else [])]:
            await conn.close()
