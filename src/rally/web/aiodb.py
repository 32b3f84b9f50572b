"""A few asynchronous PostgreSQL connections for the hottest requests.

Every other request uses the SQLAlchemy pool, whose blocking queries hold the event loop for
a whole round trip. Standings, the bearer/cookie lookup of the team switch and the switch
itself are one statement each; awaiting them lets the loop serve other requests meanwhile,
which on a busy machine is most of their latency. A write here waiting for a row lock does
not stall the loop either, so it cannot hold up the COMMIT of the transaction it waits for.

The connections run in autocommit mode (each statement its own transaction) with
synchronous_commit off: only reads and the context switch use them, and a switch lost in a
crash is harmless.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import URL

from rally.errors import DatabaseUnavailable


class _LoopPool:
    def __init__(self, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.idle: list[psycopg.AsyncConnection[Any]] = []


class AsyncPool:
    """Autocommit psycopg connections for single-statement requests, kept per event loop."""

    def __init__(self, url: URL, connect_args: dict[str, Any], size: int = 8) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        options = f"{connect_args.get('options', '')} -c synchronous_commit=off".strip()
        self._connect_args = {**connect_args, "options": options}
        self._size = size
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

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, **self._connect_args
        )

    async def close(self) -> None:
        """Close the idle connections of the running loop (at application shutdown)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        for conn in pool.idle if pool else ():
            await conn.close()
