"""Request plumbing: the per-request transaction, the signed-in user, CSRF tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rally.models import User
from rally.services import accounts, sessions
from rally.services.errors import CsrfRejected, NotSignedIn
from rally.web.replica import use_replica

T = TypeVar("T")
SESSION_COOKIE = "rally_session"
#: Random per-browser value that binds CSRF tokens of visitors not signed in yet.
ANON_COOKIE = "rally_anon"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _slots(request: Request) -> asyncio.Semaphore:
    # One semaphore per event loop (asyncio primitives belong to one loop; tests run several).
    slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]
    slots = request.app.state.db_slots
    loop = asyncio.get_running_loop()
    if loop not in slots:
        slots[loop] = asyncio.Semaphore(request.app.state.db_capacity)
    return slots[loop]


@asynccontextmanager
async def request_session(request: Request) -> AsyncIterator[Session]:
    """Open the request's one session: commit when the handler succeeds, roll back otherwise.

    Concurrency rules that keep the server from stalling:

    - At most as many requests hold a session as the pool has connections (an asyncio
      semaphore, waited for without blocking), so taking a connection never blocks the loop.
    - Code on the event loop (``async def`` endpoints, authentication, this COMMIT) only reads
      or commits; it never waits for a lock. Writes run in the thread pool (``WriteDb``), so a
      write waiting for a row lock cannot stall the loop that the holder needs for its COMMIT.
    """
    async with _slots(request):
        reads_only = request.method in ("GET", "HEAD")
        session: Session = _session_factory(request)()
        # SQLite: a write's COMMIT may checkpoint the WAL (disk writes and fsync); it runs in
        # the thread pool so that the event loop keeps serving meanwhile.
        commit_aside = not reads_only and request.app.state.writer is not None
        try:
            yield session
            if commit_aside:
                await run_in_threadpool(session.commit)
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def _session_factory(request: Request) -> Callable[[], Session]:
    reads_only = request.method in ("GET", "HEAD")
    factory = request.app.state.read_sessions if reads_only else request.app.state.sessions
    if reads_only and request.app.state.replica_sessions and use_replica(request.state):
        factory = request.app.state.replica_sessions
    return factory  # type: ignore[no-any-return]


def _in_session(factory: Callable[[], Session], work: Callable[[Session], T]) -> T:
    with factory() as session:  # closing rolls back what was not committed
        result = work(session)
        session.commit()
        return result


async def run_in_session(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work(session)` in the request's one session, wholly in the thread pool.

    The same transaction as `request_session` (commit when `work` returns, roll back when it
    raises), but the session is opened, committed and closed in the worker thread too: one
    hop to the pool per request, and the event loop never does the session's bookkeeping.
    """
    async with _slots(request):
        return await run_in_threadpool(_in_session, _session_factory(request), work)


def _write_in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as conn:
        return work(conn)


async def run_write(request: Request, work: Callable[[Connection], T]) -> T:
    """Run `work(connection)` in a transaction, off the event loop (hot single-write requests).

    SQLite: in the process's one writer thread, so these writes queue in order without
    contending with the thread pool's request threads for the interpreter (rally.db.writer).
    Elsewhere: in the thread pool.
    """
    async with _slots(request):
        call = partial(_write_in_transaction, request.app.state.engine, work)
        thread = request.app.state.write_thread
        if thread is None:
            return await run_in_threadpool(call)
        return await asyncio.get_running_loop().run_in_executor(thread, call)


async def get_db(request: Request) -> AsyncIterator[Session]:
    """Yield the request's one session (see `request_session`)."""
    async with request_session(request) as session:
        yield session


Db = Annotated[Session, Depends(get_db, scope="function")]


async def write_session(db: Db) -> Session:
    """Return the request's session for a request that writes (POST, PUT, ...).

    The same session as `Db`: on SQLite the write lock is taken at the first write and held
    to the end of the transaction only (`rally.db.writer`), so a handler does its slow work
    (hashing, reading) before it writes. Handlers that write are plain `def` functions: they
    run in the thread pool, where waiting for the writer's turn does not block the event loop.
    """
    return db


WriteDb = Annotated[Session, Depends(write_session)]


def bearer_token(request: Request) -> str | None:
    """Return the token of an `Authorization: Bearer` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def session_token(request: Request) -> str | None:
    """Return the session token of the request: bearer header first, then the cookie."""
    return bearer_token(request) or request.cookies.get(SESSION_COOKIE) or None


async def optional_user(request: Request, db: Db) -> User | None:
    """Return the signed-in user, or None (one indexed lookup, run inline).

    Each use extends the session (sliding lifetime, see services.sessions).
    """
    token = session_token(request)
    if token is None:
        return None
    live = accounts.session_for_token(db, token=token)
    user = live.user if live else None
    if live is not None:
        await renew_session(request, token, live.expires_at, live.created_at)
    request.state.user = user
    request.state.user_id = user.id if user is not None else None  # for the request log
    return user


async def renew_session(
    request: Request, token: str, expires_at: dt.datetime, created_at: dt.datetime | None
) -> None:
    """Extend the session when due (at most hourly): its own short write, in the thread pool."""
    policy = sessions.SessionPolicy.of(request.app.state.settings.security)
    new = policy.renewed(expires_at=expires_at, created_at=created_at, now=accounts.utcnow())
    if new is not None:
        await run_in_threadpool(_extend, request.app.state.sessions, token, new)


def _extend(factory: Any, token: str, expires_at: dt.datetime) -> None:
    with factory() as db:
        sessions.extend(db, token=token, expires_at=expires_at)
        db.commit()


async def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """Return the signed-in user or answer 401."""
    if user is None:
        raise NotSignedIn("Sign in first: this needs a signed-in session.")
    return user


async def optional_user_id(request: Request) -> int | None:
    """Return the signed-in user's id, or None (no ORM object, no session: for the hot paths).

    One statement, awaited on PostgreSQL; each use extends the session as `optional_user`.
    """
    token = session_token(request)
    if token is None:
        return None
    pool = request.app.state.async_pool
    if pool is not None:
        async with pool.connection() as conn:
            found = await accounts.user_id_for_token(conn, token=token)
    else:
        async with _slots(request):  # a read: on the loop, never waits (rally.db.writer)
            with request.app.state.engine.connect() as conn:
                found = accounts.user_id_for_token_in(conn, token=token)
    if found is None:
        return None
    await renew_session(request, token, found[1], found[2])
    request.state.user_id = found[0]  # for the request log, and pages' signed-in menu
    return found[0]


async def current_user_id(request: Request) -> int:
    """Return the signed-in user's id or answer 401 (no ORM object: for the hot paths)."""
    user_id = await optional_user_id(request)
    if user_id is None:
        raise NotSignedIn("Sign in first: this needs a signed-in session.")
    return user_id


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
OptionalUserId = Annotated[int | None, Depends(optional_user_id)]


def signed_in(request: Request) -> object | None:
    """What pages test to show the signed-in menu: the user (or viewer), or the user's id."""
    return getattr(request.state, "user", None) or getattr(request.state, "user_id", None)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Set the HttpOnly, SameSite=Lax session cookie (Secure over https or by setting).

    The cookie lives as long as a session can (the cap); the server ends idle sessions.
    """
    security = request.app.state.settings.security
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(security.session_max_days * 86400),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def secure_cookies(request: Request) -> bool:
    """Tell whether cookies get the Secure flag: RALLY_SECURE_COOKIES, or an https request."""
    return bool(request.app.state.settings.security.secure_cookies) or request.url.scheme == "https"


def clear_session_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


# --- CSRF -----------------------------------------------------------------------------------


def _csrf_binding(request: Request) -> str:
    # Signed-in: the session token; otherwise a random per-browser cookie (set on first page).
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)
    if not binding:
        binding = getattr(request.state, "anon", None)
        if binding is None:
            binding = secrets.token_urlsafe(24)
            request.state.anon = binding
    return binding


def csrf_token(request: Request) -> str:
    """Return the CSRF token for forms on this page (an HMAC of the session binding)."""
    key: bytes = request.app.state.secret
    binding = _csrf_binding(request)
    return hmac.new(key, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form post whose hidden csrf_token does not match this browser's session."""
    bound = request.cookies.get(SESSION_COOKIE) or request.cookies.get(ANON_COOKIE)
    if not bound or not submitted or not hmac.compare_digest(csrf_token(request), submitted):
        raise CsrfRejected(
            "The form has expired or did not come from this site; reload the page and try again."
        )


def remember_anon(request: Request, response: Response) -> None:
    """Set the per-browser CSRF cookie when a page minted one."""
    anon = getattr(request.state, "anon", None)
    if anon and not request.cookies.get(ANON_COOKIE):
        response.set_cookie(
            ANON_COOKIE,
            anon,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )


def _same_origin(request: Request, origin: str) -> bool:
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    return bool(parts.netloc) and parts.netloc.lower() == host.lower()


async def api_csrf(request: Request) -> None:
    """Guard state-changing API calls against cross-site requests.

    A browser sends cookies with cross-site requests but not bearer tokens, and a cross-site
    page can send `application/json` only after a CORS preflight, which Rally never grants.
    So every POST/PUT/PATCH/DELETE under /api must either carry a bearer token or be JSON;
    and any request whose Origin (or Sec-Fetch-Site) says it came from another site is refused.
    """
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin and origin != "null" and not _same_origin(request, origin):
        raise CsrfRejected(f"Cross-site request from {origin} refused.")
    if request.headers.get("sec-fetch-site") == "cross-site" or origin == "null":
        raise CsrfRejected("Cross-site request refused.")
    if bearer_token(request):
        return
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise CsrfRejected(
            "API requests that change something must send Content-Type: application/json "
            "(or authenticate with a bearer token)."
        )
