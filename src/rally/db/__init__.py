"""Engines and sessions for PostgreSQL (production) and SQLite (embedded default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from rally.errors import DatabaseUnavailable, UsageError


def normalize_url(url: str) -> URL:
    """Parse a database URL; plain postgresql:// URLs use psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"Invalid database URL {url!r}: {exc}.") from None
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in {"postgresql", "sqlite"}:
        raise UsageError(
            f"Unsupported database {parsed.get_backend_name()!r}: use postgresql:// or sqlite:///."
        )
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite would commit DDL implicitly; take over transaction control so that a
    # migration or an import is all-or-nothing on SQLite too (SQLAlchemy's documented recipe).
    dbapi_connection.isolation_level = None
    # SQLite checks foreign keys only when asked to, per connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with Rally's per-backend settings."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(parsed, **kwargs)


def check_connection(engine: Engine) -> None:
    """Raise DatabaseUnavailable with a one-line reason when the database cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = reason[0] if reason else type(exc).__name__
        raise DatabaseUnavailable(
            f"Cannot connect to {engine.url.render_as_string(hide_password=True)}: {first}"
        ) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory used by requests and commands (they own the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine_or_conn: Any) -> bool:
    """Tell whether an engine or connection talks to PostgreSQL."""
    return bool(engine_or_conn.dialect.name == "postgresql")


@dataclass(frozen=True)
class PostgresSql:
    """A SQLAlchemy statement compiled for psycopg: its SQL and its fixed parameters."""

    sql: str
    fixed: dict[str, Any]

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return the parameters to execute with: the statement's own values (LIMIT 1...) and
        `values` for its named bind parameters."""
        return {**self.fixed, **values}


def postgres_sql(statement: Any) -> PostgresSql:
    """Compile a SQLAlchemy statement for psycopg (named ``%(name)s`` parameters).

    The asynchronous hot paths run exactly the statements their ORM counterparts run.
    """
    from sqlalchemy.dialects.postgresql import psycopg

    dialect = psycopg.dialect()  # type: ignore[no-untyped-call]  # untyped in SQLAlchemy
    compiled = statement.compile(dialect=dialect)
    fixed = {k: v for k, v in compiled.params.items() if v is not None}
    return PostgresSql(str(compiled), fixed)
