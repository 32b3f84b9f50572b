"""Bring a database to head: empty, legacy (with or without a foreign alembic_version), or Rally."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from rally.db import verify as integrity
from rally.db.state import (
    BASELINE,
    LEGACY_MARKER_TABLES,
    MIGRATIONS_DIR,
    DbState,
    UnknownDatabase,
    alembic_config,
    head_revision,
    inspect_state,
    script_directory,
)
from rally.errors import RallyError

__all__ = [
    "BASELINE",
    "LEGACY_MARKER_TABLES",
    "MIGRATIONS_DIR",
    "DbState",
    "LockTimeout",
    "UnknownDatabase",
    "alembic_config",
    "current",
    "downgrade",
    "head_revision",
    "inspect_state",
    "run_in_transaction",
    "script_directory",
    "upgrade",
]

Log = Callable[[str], None]
# Keys of Connection.info through which the data steps of a revision get their options.
_LOG_KEY = "rally.log"
_ASSIGN_KEY = "rally.assign_unknown"
_DATA_STEPS_KEY = "rally.legacy_data_steps"
_AFTER_REPOINT_KEY = "rally.after_repoint"
_RESOLVE_KEY = "rally.resolve"


class LockTimeout(RallyError):
    """The upgrade could not take its locks in time, after every retry."""


@contextmanager
def _data_step_options(conn: Connection, options: dict[str, object]) -> Iterator[None]:
    """Hand the revisions' data steps (`rally.legacy.data`) and their options over."""
    # Imported here: the legacy package is only needed when a revision carries data.
    from rally.legacy import data as legacy_data

    conn.info.update(options)
    conn.info[_DATA_STEPS_KEY] = legacy_data
    try:
        yield
    finally:
        for key in (*options, _DATA_STEPS_KEY):
            conn.info.pop(key, None)


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


class UpgradeFailed(RallyError):
    """A statement of the upgrade failed inside its transaction, which was rolled back."""


def _in_words(exc: sa.exc.DBAPIError) -> UpgradeFailed:
    """Name the check, table and rows a database error is about (never the raw driver text)."""
    diag = getattr(exc.orig, "diag", None)
    check = getattr(diag, "constraint_name", None)
    table = getattr(diag, "table_name", None)
    detail = getattr(diag, "message_detail", None) or getattr(diag, "message_primary", None)
    parts = [f"check {check}" if check else None, f"table {table}" if table else None]
    where = ", ".join(p for p in parts if p) or type(exc.orig).__name__
    return UpgradeFailed(
        f"The upgrade stopped on {where}: {detail or 'the database refused a statement'}. "
        "Everything was rolled back; the database is unchanged. `rally db plan` should have "
        "named these rows: please report this with the plan's output."
    )


class VerifyFailed(RallyError):
    """The integrity checks failed inside the upgrade transaction, which was rolled back."""


def _verify_inside(conn: Connection, log: Log | None) -> None:
    failed = [r for r in integrity.run_checks(conn) if not r.ok]
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
    resolve: bool = False,
    verify: bool = True,
    after_repoint: Callable[[], None] | None = None,
    **retry: float,
) -> tuple[DbState, DbState]:
    """Upgrade to `revision` in one transaction; return the states before and after.

    A legacy database is recognised and stamped at the baseline first. When anything changed
    and the target is head, `rally db verify`'s checks run before commit; a failure rolls back.
    `assign_unknown` (a league key) places rows whose league cannot be determined;
    `resolve` applies the resolutions of damaged legacy data (`rally.legacy.resolve`);
    `after_repoint` runs inside the transaction once legacy rows are re-pointed (tests use it
    to kill an upgrade mid-way).
    """
    before: list[DbState] = []

    def work(conn: Connection) -> DbState:
        state = inspect_state(conn)
        before.append(state)
        if log:
            log(f"database is {state.describe}")
        if state.kind == "rally" and state.revision == head_revision() and revision == "head":
            return state
        if state.earlier:
            # Imported here, as the data steps are: only legacy databases need it.
            from rally.legacy import earlier

            earlier.normalise(conn, state, log)
        if state.kind == "legacy":
            _stamp_baseline(conn, state)
            if log:
                log(f"recognised the legacy schema; stamped baseline {BASELINE}")
        with _data_step_options(
            conn,
            {
                _LOG_KEY: log,
                _ASSIGN_KEY: assign_unknown,
                _RESOLVE_KEY: resolve,
                _AFTER_REPOINT_KEY: after_repoint,
            },
        ):
            try:
                command.upgrade(alembic_config(conn), revision)
            except sa.exc.DBAPIError as exc:
                if isinstance(exc, OperationalError) and _is_lock_timeout(exc):
                    raise
                raise _in_words(exc) from exc
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
        with _data_step_options(conn, {_LOG_KEY: log}):
            command.downgrade(alembic_config(conn), target)
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
