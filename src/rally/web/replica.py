"""Reads from a streaming replica (`RALLY_DATABASE_READ_URL`) without losing your own writes.

Read-only requests (GET, HEAD) go to the replica; everything else, and every session-token
lookup, goes to the primary. A user always reads their own writes: after a successful write
the response carries the primary's WAL position (`pg_current_wal_lsn()`) in a cookie and in
the `X-Rally-Written-LSN` header; a read that presents one (cookie, or the header for API
clients) is served by the replica only once the replica has replayed that far
(`pg_last_wal_replay_lsn()`), else by the primary. The replica's position is asked at most
every `REPLAY_CHECK_S` seconds per process.
"""

from __future__ import annotations

import asyncio
import time
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from rally.web.aiodb import AsyncPool

COOKIE = "rally_lsn"
HEADER = "x-rally-written-lsn"
REPLAY_CHECK_S = 0.05
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def parse_lsn(text: str) -> int | None:
    """Turn a PostgreSQL LSN such as ``16/B374D848`` into a number (None if malformed)."""
    high, sep, low = text.strip().partition("/")
    try:
        return (int(high, 16) << 32) + int(low, 16) if sep else None
    except ValueError:
        return None


class ReplicaRouter:
    """ASGI middleware that decides, per request, whether the replica may answer it."""

    def __init__(self, app: ASGIApp, *, primary: AsyncPool, replica: AsyncPool) -> None:
        self.app = app
        self.primary = primary
        self.replica = replica
        self._replayed = 0
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def replayed(self) -> int:
        """The replica's replay position, asked at most every REPLAY_CHECK_S seconds."""
        if time.monotonic() - self._checked_at > REPLAY_CHECK_S:
            async with self._lock:
                if time.monotonic() - self._checked_at > REPLAY_CHECK_S:
                    async with self.replica.connection() as conn:
                        row = await (
                            await conn.execute("SELECT pg_last_wal_replay_lsn()::text")
                        ).fetchone()
                    self._replayed = parse_lsn(row[0]) or 0 if row and row[0] else 0
                    self._checked_at = time.monotonic()
        return self._replayed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        method = scope["method"]
        if method not in UNSAFE:
            written = _written_lsn(scope)
            state["use_replica"] = written is None or await self.replayed() >= written
            await self.app(scope, receive, send)
            return
        state["use_replica"] = False

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                async with self.primary.connection() as conn:
                    row = await (await conn.execute("SELECT pg_current_wal_lsn()::text")).fetchone()
                lsn = str(row[0]) if row else ""
                headers = list(message.get("headers") or [])
                headers.append((HEADER.encode(), lsn.encode()))
                cookie = f"{COOKIE}={lsn}; Max-Age=300; Path=/; HttpOnly; SameSite=Lax"
                headers.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_position)


def _written_lsn(scope: Scope) -> int | None:
    headers: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or []:
        if name in (HEADER.encode(), b"cookie"):
            headers[name] = headers.get(name, b"") + b"; " + value if name in headers else value
    if HEADER.encode() in headers:
        return parse_lsn(headers[HEADER.encode()].decode("latin-1"))
    raw = headers.get(b"cookie")
    if not raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw.decode("latin-1"))
    except Exception:  # a malformed Cookie header: no position, read the replica
        return None
    morsel = cookie.get(COOKIE)
    return parse_lsn(morsel.value) if morsel is not None else None


def use_replica(state: Any) -> bool:
    """Tell whether this request may read the replica (set by ReplicaRouter)."""
    return bool(getattr(state, "use_replica", False))
