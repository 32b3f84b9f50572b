"""The application factory: engine, sessions, routers and the one error mapping."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rally.config import Settings
from rally.db import is_postgres, make_engine, session_factory, writer
from rally.db.state import head_revision
from rally.errors import DatabaseUnavailable, RallyError
from rally.observability import Metrics, RequestLog
from rally.services.availability import league_today
from rally.services.errors import NotSignedIn, SignInBusy, TooManySignInAttempts
from rally.web.aiodb import AsyncPool
from rally.web.friendly import page_sentence
from rally.web.hashing import LimitedHasher
from rally.web.page_cache import PageCache, SnapshotCache
from rally.web.replica import ReplicaRouter

HERE = Path(__file__).resolve().parent
#: SQLite: connections kept open, and requests holding a session at once.
SQLITE_CONNECTIONS = 16
log = logging.getLogger("rally.web")


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in {
        "/healthz",
        "/livez",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/api",
    }


def secret_key(settings: Settings) -> bytes:
    """Return the key that signs CSRF tokens: RALLY_SECRET_KEY, else one kept in the data dir."""
    configured = settings.secret()
    if configured:
        return configured.encode()
    path = settings.data_dir / "secret_key"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: concurrent workers agree on the first key written.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        return path.read_bytes().strip()
    except OSError:
        log.warning("cannot keep a secret key in %s; forms expire on restart", path)
        return secrets.token_bytes(32)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts)


def validation_sentence(exc: RequestValidationError) -> str:
    """Turn the first validation error into one sentence that names the field."""
    errors = list(exc.errors())
    if not errors:
        return "The request is malformed."
    first = errors[0]
    kind = str(first.get("type", ""))
    field = _field(first.get("loc", ()))
    message = str(first.get("msg", "is invalid")).rstrip(".")
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "missing":
        return f"The field '{field}' is required." if field else "The request body is required."
    if not field:
        return f"The request body is invalid: {message}."
    return f"The field '{field}' is invalid: {message}."


def create_app(settings: Settings, *, password_hasher: PasswordHasher | None = None) -> FastAPI:
    """Build the Rally web application (pages and JSON API) for `settings`.

    The engine and session factory are created here, never at import time, and disposed
    when the application shuts down. `password_hasher` lets tests use cheaper argon2 settings.
    """
    from rally.services.mail import mailer_for
    from rally.services.throttle import Throttle
    from rally.services.week_sql import TeamWeekTexts
    from rally.web import (
        account_api,
        api,
        ops,
        pages,
        player_api,
        player_pages,
        week_api,
        week_pages,
    )
    from rally.web.account_pages import router as account_pages
    from rally.web.security import SecurityHeaders

    url = settings.database_url
    async_pool: AsyncPool | None = None
    replica_engine: Engine | None = None
    replica_pool: AsyncPool | None = None
    if url.startswith("sqlite"):
        # Every request that holds a session keeps its connection in the pool: opening one
        # (file, pragmas, page cache) costs more than most queries. The few connections taken
        # outside the request slots (session renewal) may overflow.
        pool = {"pool_size": SQLITE_CONNECTIONS, "max_overflow": 5}
        engine = make_engine(url, connect_args={"check_same_thread": False}, **pool)
        # Reads never wait, writes take turns in this process (see rally.db.writer).
        writer_queue: writer.WriterQueue | None = writer.install(engine)
        write_thread: ThreadPoolExecutor | None = ThreadPoolExecutor(1, "rally-writer")
        # Team documents are kept until the next commit (the file's data version changes).
        data_version = writer.DataVersion.of(engine)
    else:
        writer_queue = write_thread = data_version = None
        # No pre-ping: it costs two round trips per request; a connection the server dropped
        # fails one request (503) and the pool then replaces its connections.
        pool = {"pool_size": 10, "max_overflow": 20}
        # A request never waits forever: a lock or a runaway query fails it instead.
        connect_args = {
            "connect_timeout": 5,
            "options": "-c lock_timeout=5000 -c statement_timeout=15000",
        }
        engine = make_engine(url, **pool, pool_pre_ping=False, connect_args=connect_args)
        async_pool = AsyncPool(engine.url, connect_args)
        if settings.database_read_url:
            replica_engine = make_engine(
                settings.database_read_url, **pool, pool_pre_ping=False, connect_args=connect_args
            )
            replica_pool = AsyncPool(replica_engine.url, connect_args)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for closing in (async_pool, replica_pool):
            if closing is not None:
                await closing.close()
        if write_thread is not None:
            write_thread.shutdown()
        if data_version is not None:
            data_version.close()
        if writer_queue is not None:
            writer_queue.close()
        engine.dispose()
        if replica_engine is not None:
            replica_engine.dispose()

    app = FastAPI(
        title="Rally",
        summary="League-isolated standings, teams and player claims.",
        version="0.1.0",
        lifespan=lifespan,
        # Swagger UI and ReDoc are served by rally.web.ops with local assets (no CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.async_pool = async_pool
    app.state.writer = writer_queue
    app.state.write_thread = write_thread
    app.state.team_texts = TeamWeekTexts(data_version.read if data_version else None)
    app.state.sessions = session_factory(engine)
    # Reads (GET) on PostgreSQL run without BEGIN/COMMIT: two round trips fewer per request.
    app.state.read_sessions = (
        session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
        if is_postgres(engine)
        else app.state.sessions
    )
    # A streaming replica, when configured, answers reads that may read it (see replica.py).
    app.state.replica_pool = replica_pool
    app.state.replica_sessions = (
        session_factory(replica_engine.execution_options(isolation_level="AUTOCOMMIT"))
        if replica_engine is not None
        else None
    )
    # Requests holding a session never outnumber the pool's connections (see deps.get_db).
    app.state.db_capacity = (
        pool["pool_size"] if writer_queue is not None else pool["pool_size"] + pool["max_overflow"]
    )
    app.state.db_slots = weakref.WeakKeyDictionary()
    app.state.secret = secret_key(settings)
    # Today in the leagues' time zone; tests replace it with a fixed clock.
    app.state.today = league_today
    # Sign-up hashing queued per CPU: concurrent sign-ups must not starve every other request.
    app.state.hasher = LimitedHasher(password_hasher or PasswordHasher())
    app.state.throttle = Throttle(settings.security, app.state.secret)
    app.state.mailer = mailer_for(settings)
    if not settings.mail.host:
        log.warning("RALLY_SMTP_HOST is not set: mail goes to %s", settings.data_dir / "outbox")
    # Templates ship with the package: no modification-time check on every render.
    app.state.templates = Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=jinja2.select_autoescape(),
            auto_reload=False,
        )
    )
    app.state.page_cache = PageCache()
    # Answers kept while the database's snapshot is unchanged (PostgreSQL, see page_cache).
    app.state.snapshot_cache = SnapshotCache()
    app.state.static_dir = HERE / "static"
    app.state.head_revision = head_revision()
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount(
        ops.DOCS_ASSETS,
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="docs-assets",
    )
    engines = [("primary", engine)] + ([("replica", replica_engine)] if replica_engine else [])
    app.state.metrics = Metrics(lambda: engines) if settings.metrics else None
    if async_pool is not None and replica_pool is not None:
        app.add_middleware(ReplicaRouter, primary=async_pool, replica=replica_pool)
    app.add_middleware(RequestLog, access_log=settings.access_log, metrics=app.state.metrics)
    app.include_router(ops.router)
    app.include_router(api.health)
    # The pages players open most come before the long lists of routes: a request is
    # matched against the routes in order, which costs as much as rendering a small page.
    app.include_router(week_api.feeds)
    app.include_router(week_pages.router)
    app.include_router(player_pages.router)
    # The team API (six routes, none sharing a path with the next two routers) before them.
    app.include_router(week_api.router)
    app.include_router(api.router)
    app.include_router(account_api.router)
    app.include_router(pages.router)
    app.include_router(account_pages)
    app.add_middleware(SecurityHeaders)
    app.include_router(player_api.router)
    _install_error_handlers(app)
    return app


def app_from_environment() -> FastAPI:
    """Build the app from RALLY_* environment settings (the factory of `rally serve --workers`)."""
    app = create_app(Settings.load())
    freeze_startup_objects(app)
    return app


def freeze_startup_objects(app: FastAPI | None = None) -> None:
    """Keep what a server process holds from startup out of the garbage collector's passes.

    Modules, mappers, routes and schemas live as long as the process; without this, each
    full collection walks them all and stalls every request for tens of milliseconds. With
    `app`, its templates are compiled first (a few ms each, which the first request of each
    page in each worker process would otherwise wait for), and kept out of those passes too.
    """
    if app is not None:
        env = app.state.templates.env
        for name in env.list_templates():
            env.get_template(name)
    gc.collect()
    gc.freeze()


def _error(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    if _is_api(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    if status == 401:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    from rally.web.pages import render

    response = render(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )
    if headers:
        response.headers.update(headers)
    return response


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RallyError)
    async def rally_error(request: Request, exc: RallyError) -> Response:
        headers = None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # 429 sign-in throttling, 503 busy or write queue overloaded
            headers = {"Retry-After": str(retry_after)}
        if isinstance(exc, TooManySignInAttempts | SignInBusy):
            # Holding the answer slows a flood's clients down at no cost to the server.
            await asyncio.sleep(request.app.state.settings.security.throttle_hold)
        if isinstance(exc, NotSignedIn) and _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"}
        return _error(request, exc.http_status, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        sentence = validation_sentence(exc) if _is_api(request) else page_sentence(exc)
        return _error(request, 422, sentence)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: "There is no such page.",
            405: "This method is not allowed here.",
        }
        message = messages.get(exc.status_code) or str(exc.detail)
        if not message.endswith("."):
            message += "."
        return _error(request, exc.status_code, message, dict(exc.headers or {}) or None)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> Response:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return _error(request, 503, str(DatabaseUnavailable("The database is unavailable.")))
        if isinstance(exc, DBAPIError) and type(exc).__name__ == "DataError":
            return _error(request, 422, "A value in the request cannot be stored or compared.")
        if isinstance(exc, OperationalError) and "database is locked" in str(exc.orig):
            # SQLite: another process (a second worker, an import) held the lock too long.
            log.warning("database locked on %s %s", request.method, request.url.path)
            message = "The database is busy; try again shortly."
            return _error(request, 503, message, {"Retry-After": "2"})
        log.exception("database error on %s %s", request.method, request.url.path)
        return _error(request, 503, "The database could not answer; try again shortly.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(request, 500, "Something went wrong on our side; please try again.")
