"""Test harness: real data from ../shared, throwaway databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rally.db import make_engine
from rally.db.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _shared_dir() -> Path:
    return Path(os.environ.get("RALLY_SHARED_DIR", REPO.parent / "shared")).resolve()


def require(condition: bool, reason: str) -> None:
    """Skip when a resource is missing locally; fail under CI=true, where a skip counts as missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_leagues_dir() -> Path:
    """The real scraped corpus: ../shared/data/leagues/<LEAGUE>/*.json."""
    path = _shared_dir() / "data" / "leagues"
    require(path.is_dir(), f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def legacy_schema_sql() -> str:
    """The legacy production schema, ../shared/legacy/schema.sql."""
    path = _shared_dir() / "legacy" / "schema.sql"
    require(path.is_file(), f"legacy schema not found at {path}")
    return path.read_text()


# --- databases ------------------------------------------------------------------------------

BACKENDS = ("sqlite", "postgresql")
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    """The server tests create their throwaway databases on (RALLY_TEST_POSTGRES_URL)."""
    return os.environ.get("RALLY_TEST_POSTGRES_URL", DEFAULT_PG)


def _pg_reachable(url: str) -> str | None:
    engine = make_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except sa.exc.SQLAlchemyError as exc:
        return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    finally:
        engine.dispose()


class DatabaseFactory:
    """Creates throwaway databases on SQLite and PostgreSQL and drops them at the end."""

    def __init__(self, tmp_dir: Path, admin_url: str) -> None:
        self.tmp_dir = tmp_dir
        self.admin_url = admin_url
        self._pg_error: str | bool | None = False  # False: not probed yet
        self._created: list[str] = []
        self._templates: dict[str, str] = {}
        self.prefix = f"rally_t{os.getpid()}_"

    def require_postgres(self) -> None:
        if self._pg_error is False:
            self._pg_error = _pg_reachable(self.admin_url)
        require(
            self._pg_error is None, f"PostgreSQL unreachable at {self.admin_url}: {self._pg_error}"
        )

    def _admin(self, statement: str) -> None:
        engine = make_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()

    def _pg_url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _template(self, backend: str) -> str:
        """A database migrated to head once per session, copied for each test."""
        if backend not in self._templates:
            url = self.create(backend, migrated=False)
            engine = make_engine(url)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            self._templates[backend] = url
        return self._templates[backend]

    def create(self, backend: str, *, migrated: bool = True) -> str:
        """Return the URL of a new database: empty, or at head when `migrated`."""
        name = f"{self.prefix}{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            path = self.tmp_dir / f"{name}.db"
            if migrated:
                template = make_url(self._template("sqlite")).database
                assert template is not None
                shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        self.require_postgres()
        if migrated:
            return self.clone(self._template("postgresql"))
        self._admin(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return self._pg_url(name)

    def clone(self, url: str) -> str:
        """Return the URL of a new PostgreSQL database copied from the one at `url`."""
        name = f"{self.prefix}{uuid.uuid4().hex[:10]}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"')
        self._created.append(name)
        return self._pg_url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by `create` (SQLite files go with the temp dir)."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql" and parsed.database in self._created:
            self._admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
            self._created.remove(parsed.database)

    def close(self) -> None:
        for name in list(self._created):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """Session-wide maker of throwaway databases (for module-scoped fixtures)."""
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"), postgres_admin_url())
    yield factory
    factory.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database test runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def empty_db_url(db_factory: DatabaseFactory, backend: str) -> Iterator[str]:
    """URL of a new, empty database on the current backend."""
    url = db_factory.create(backend, migrated=False)
    yield url
    db_factory.drop(url)


@pytest.fixture
def db_url(db_factory: DatabaseFactory, backend: str) -> Iterator[str]:
    """URL of a new database at head on the current backend."""
    url = db_factory.create(backend)
    yield url
    db_factory.drop(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on a new database at head."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_db_url(db_factory: DatabaseFactory) -> Iterator[str]:
    """URL of a new PostgreSQL database at head (PostgreSQL-only tests)."""
    url = db_factory.create("postgresql")
    yield url
    db_factory.drop(url)


@pytest.fixture
def pg_empty_url(db_factory: DatabaseFactory) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database (PostgreSQL-only tests)."""
    url = db_factory.create("postgresql", migrated=False)
    yield url
    db_factory.drop(url)


# --- the one line about skips -----------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say in one line per cause how many tests were skipped for a missing resource.

    A fresh clone without ../shared, PostgreSQL or chromium still runs, and looks green; this
    line makes the gap impossible to miss. Under CI=true those tests fail instead.
    """
    causes: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr or "")
        reason = reason.removeprefix("Skipped: ")
        for marker, cause in (
            ("shared data not found", "the shared corpus (../shared, or RALLY_SHARED_DIR)"),
            ("legacy schema not found", "the legacy schema (../shared/legacy/schema.sql)"),
            ("PostgreSQL unreachable", "PostgreSQL (RALLY_TEST_POSTGRES_URL)"),
            ("chromium", "Debian's chromium"),
        ):
            if marker in reason:
                causes[cause] = causes.get(cause, 0) + 1
    for cause, count in causes.items():
        terminalreporter.write_line(
            f"rally: {count} tests SKIPPED because {cause} is missing; "
            "under CI=true they fail instead.",
            yellow=True,
            bold=True,
        )
