"""Bring a database to head: empty, legacy (with or without a foreign alembic_version), or Rally."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from rally.errors import RallyError

BASELINE = "0001_legacy_baseline"
LEGACY_MARKER_TABLES = frozenset({"leagues", "series", "series_leagues", "teams", "players"})
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

Log = Callable[[str], None]
# Keys of Connection.info through which the data steps of a revision get their options.
_LOG_KEY = "rally.log"
_ASSIGN_KEY = "rally.assign_unknown"


class UnknownDatabase(RallyError):
    """The database holds tables that are neither Rally's nor the legacy schema's."""


class LockTimeout(RallyError):
    """The upgrade could not take its locks in time, after every retry."""


@dataclass(frozen=True)
class DbState:
    """What a database is, as far as migrations are concerned."""

    kind: str  # "empty", "legacy", "rally"
    revision: str | None  # Rally revision, when kind == "rally"
    foreign_revision: str | None = None  # an old application's alembic_version, if any
    tables: frozenset[str] = field(default_factory=frozenset)

    @property
    def describe(self) -> str:
        """Say in words what the database is."""
        if self.kind == "empty":
            return "empty (no tables)"
        if self.kind == "legacy":
            extra = (
                f", old alembic_version {self.foreign_revision!r}" if self.foreign_revision else ""
            )
            return f"legacy schema (series shared across leagues{extra})"
        return f"Rally revision {self.revision}"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return the Alembic configuration of the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    """Return the revision scripts."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """Return the single head revision id."""
    head = script_directory().get_current_head()
    assert head is not None
    return head


def inspect_state(conn: Connection) -> DbState:
    """Classify the database behind `conn`."""
    inspector = sa.inspect(conn)
    tables = frozenset(inspector.get_table_names())
    version = None
    if "alembic_version" in tables:
        row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
        version = row[0] if row else None
    known = {rev.revision for rev in script_directory().walk_revisions()}
    app_tables = tables - {"alembic_version"}
    if version in known:
        return DbState("rally", version, tables=tables)
    if not app_tables:
        return DbState("empty", None, foreign_revision=version, tables=tables)
    series_columns = (
        {c["name"] for c in inspector.get_columns("series")} if "series" in tables else set()
    )
    if tables >= LEGACY_MARKER_TABLES and "league_id" not in series_columns:
        return DbState("legacy", None, foreign_revision=version, tables=tables)
    raise UnknownDatabase(
        "The database is neither empty, a Rally database nor a legacy Rally database "
        f"(alembic_version {version!r}, tables: {', '.join(sorted(app_tables)[:8])}...)."
    )


def _stamp_baseline(conn: Connection, state: DbState) -> None:
    # The old application's revision id means nothing to us; the tables are the baseline.
    if "alembic_version" in state.tables:
        conn.execute(sa.text("DELETE FROM alembic_version"))
    else:
        conn.execute(
            sa.text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
    conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": BASELINE})


def _set_timeouts(conn: Connection, lock_timeout_s: float) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(lock_timeout_s * 1000)}ms'"))


def _is_lock_timeout(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "55P03"


def run_in_transaction(
    engine: Engine,
    work: Callable[[Connection], DbState | None],
    *,
    lock_timeout_s: float = 5.0,
    retries: int = 3,
    log: Log | None = None,
) -> DbState | None:
    """Run `work` in one transaction, retrying when PostgreSQL cannot take a lock in time."""
    for attempt in range(1, retries + 1):
        try:
            with engine.begin() as conn:
                _set_timeouts(conn, lock_timeout_s)
                return work(conn)
        except OperationalError as exc:
            if not _is_lock_timeout(exc):
                raise
            if log:
                log(f"lock not granted within {lock_timeout_s}s (attempt {attempt}/{retries})")
            time.sleep(min(2.0 * attempt, 10.0))
    raise LockTimeout(
        f"Could not take the locks the upgrade needs after {retries} attempts; "
        "other sessions hold them. Nothing was changed; try again when the database is quieter."
    )


class VerifyFailed(RallyError):
    """The integrity checks failed inside the upgrade transaction, which was rolled back."""


def _verify_inside(conn: Connection, log: Log | None) -> None:
    # Imported here: verify imports this module.
    from rally.db.verify import run_checks

    failed = [r for r in run_checks(conn) if not r.ok]
    if failed:
        detail = "; ".join(
            f"{r.name}: {r.error or r.violations} (e.g. {r.samples[:2]})" for r in failed[:5]
        )
        raise VerifyFailed(
            f"Integrity checks failed after migrating, so everything was rolled back and the "
            f"database is unchanged: {detail}."
        )
    if log:
        log("integrity checks passed inside the transaction")


def upgrade(
    engine: Engine,
    *,
    revision: str = "head",
    log: Log | None = None,
    assign_unknown: str | None = None,
    verify: bool = True,
    **retry: float,
) -> tuple[DbState, DbState]:
    """Upgrade to `revision` in one transaction; return the states before and after.

    A legacy database is recognised and stamped at the baseline first. When anything changed
    and the target is head, `rally db verify`'s checks run before commit; a failure rolls back.
    `assign_unknown` (a league key) places rows whose league cannot be determined.
    """
    before: list[DbState] = []

    def work(conn: Connection) -> DbState:
        state = inspect_state(conn)
        before.append(state)
        if log:
            log(f"database is {state.describe}")
        if state.kind == "rally" and state.revision == head_revision() and revision == "head":
            return state
        if state.kind == "legacy":
            _stamp_baseline(conn, state)
            if log:
                log(f"recognised the legacy schema; stamped baseline {BASELINE}")
        conn.info[_LOG_KEY] = log
        conn.info[_ASSIGN_KEY] = assign_unknown
        try:
            command.upgrade(alembic_config(conn), revision)
        finally:
            conn.info.pop(_LOG_KEY, None)
            conn.info.pop(_ASSIGN_KEY, None)
        after = inspect_state(conn)
        if verify and after.revision == head_revision():
            _verify_inside(conn, log)
        if log:
            log("committing")
        return after

    after = run_in_transaction(engine, work, log=log, **retry)  # type: ignore[arg-type]
    assert after is not None
    if log and after != before[-1]:
        log(f"committed: database is {after.describe}")
    return before[-1], after


def downgrade(engine: Engine, *, revision: str, log: Log | None = None) -> DbState:
    """Downgrade to `revision` in one transaction.

    "legacy" means the baseline; on PostgreSQL it also drops alembic_version, so the database
    is exactly in the legacy shape (and `upgrade` recognises it as legacy again).
    """
    target = BASELINE if revision == "legacy" else revision

    def work(conn: Connection) -> DbState:
        state = inspect_state(conn)
        if state.kind != "rally":
            raise RallyError(f"Nothing to downgrade: the database is {state.describe}.")
        if log:
            log(f"downgrading from {state.revision} to {target}")
        conn.info[_LOG_KEY] = log
        try:
            command.downgrade(alembic_config(conn), target)
        finally:
            conn.info.pop(_LOG_KEY, None)
        if revision == "legacy" and conn.dialect.name == "postgresql":
            # The legacy schema has no alembic_version: leave exactly the legacy tables.
            conn.execute(sa.text("DROP TABLE alembic_version"))
            if log:
                log("dropped alembic_version: the database is in the legacy shape")
        if log:
            log("committing")
        return inspect_state(conn)

    after = run_in_transaction(engine, work, log=log)
    assert after is not None
    if log:
        log(f"committed: database is {after.describe}")
    return after


def current(engine: Engine) -> DbState:
    """Return the state of the database."""
    with engine.connect() as conn:
        return inspect_state(conn)
