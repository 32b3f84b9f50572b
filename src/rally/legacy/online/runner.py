"""Short transactions under a lock budget, retried with jitter; the persisted step state.

Every statement that needs a table lock runs with ``lock_timeout`` at most 1 s, so it never
queues in front of the application's writes for longer than that behind a long transaction;
when the lock is not granted it gives up, sleeps a jittered, growing pause and tries again.
"""

from __future__ import annotations

import graphlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from rally.db.migrate import LockTimeout

T = TypeVar("T")
Log = Callable[[str], None]

STATE_TABLE = "rally_online"
MAX_LOCK_TIMEOUT_S = 1.0
# lock_not_available, deadlock_detected, serialization_failure: all worth another try.
_RETRYABLE = {"55P03", "40P01", "40001"}


@dataclass(frozen=True)
class LockBudget:
    """How long one try may wait for a lock, and how often to try."""

    lock_timeout_s: float = 1.0
    batch_lock_timeout_s: float = 0.2
    retries: int = 40
    max_pause_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.lock_timeout_s <= MAX_LOCK_TIMEOUT_S:
            raise ValueError(f"lock timeout must be in (0, {MAX_LOCK_TIMEOUT_S}] seconds")


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE


def _pause(attempt: int, budget: LockBudget) -> float:
    # Full jitter: concurrent retriers (and the application) do not fall into lockstep.
    return random.uniform(0.05, min(budget.max_pause_s, 0.1 * 2**attempt))


def _with_retries(attempt_once: Callable[[], T], *, budget: LockBudget, what: str, log: Log,
                  timeout_s: float) -> T:  # fmt: skip
    for attempt in range(1, budget.retries + 1):
        try:
            return attempt_once()
        except DBAPIError as exc:
            if not _retryable(exc):
                raise
            pause = _pause(attempt, budget)
            log(f"{what}: lock not granted within {timeout_s:g}s (try {attempt}/{budget.retries}); "
                f"retrying in {pause:.2f}s")  # fmt: skip
            time.sleep(pause)
    raise LockTimeout(
        f"{what}: could not take its locks in {budget.retries} tries of {timeout_s:g}s each; "
        "other sessions hold them. Everything done so far is kept; run the same command "
        "again to resume."
    )


def in_transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    budget: LockBudget,
    what: str,
    log: Log,
    timeout_s: float | None = None,
) -> T:
    """Run `work` in one transaction under the lock budget, retrying when a lock is refused."""
    timeout = budget.lock_timeout_s if timeout_s is None else timeout_s

    def once() -> T:
        with engine.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(timeout * 1000)}ms'"))
            return work(conn)

    return _with_retries(once, budget=budget, what=what, log=log, timeout_s=timeout)


def autocommit(
    engine: Engine, statements: Callable[[], list[str]], *, budget: LockBudget, what: str, log: Log
) -> None:
    """Run statements that cannot run in a transaction (CONCURRENTLY), retrying on lock refusal.

    `statements` is called before each try, so it can look at what a failed try left behind
    (an INVALID index) and plan the repair.
    """

    def once() -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f"SET lock_timeout = '{int(budget.lock_timeout_s * 1000)}ms'"))
            for statement in statements():
                conn.execute(sa.text(statement))

    _with_retries(once, budget=budget, what=what, log=log, timeout_s=budget.lock_timeout_s)


# --- locks taken up front ------------------------------------------------------------------

#: LOCK TABLE modes, weakest first.
LOCK_MODES = (
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
)


def referencing_first(conn: Connection, tables: Iterable[str]) -> list[str]:
    """Order `tables` so that a table comes before the tables its foreign keys reference.

    The old application's transactions go that way (a row of player_availability, then its
    foreign-key checks on players and users), so locks taken in this order rarely close a
    cycle with them.
    """
    wanted = sorted(set(tables))
    edges = conn.execute(
        sa.text(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"
        )
    ).all()
    graph: dict[str, set[str]] = {t: set() for t in wanted}
    for child, parent in edges:
        if child != parent and child in graph and parent in graph:
            graph[str(parent)].add(str(child))  # the parent after its children
    try:
        return list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return wanted


def lock_up_front(conn: Connection, locks: dict[str, str], *, within_s: float) -> None:
    """Take every table lock the rest of this transaction needs, all within `within_s`.

    A transaction that takes its locks one by one as its DDL goes can hold one table while
    it waits for another that an application transaction holds, and that transaction may be
    waiting for the first table: a deadlock. PostgreSQL aborts whichever waiter's
    `deadlock_timeout` expires first, often the application's. Here the locks are taken in
    one statement, referencing tables first, and the whole statement gives up (55P03,
    retried by the caller) before `deadlock_timeout` could expire for any session waiting
    on a lock it already holds; once it holds them all, the transaction waits for nobody.
    Tables that do not exist are skipped.
    """
    deadlock_ms = int(
        conn.execute(
            sa.text("SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'")
        ).scalar_one()
    )
    bound_ms = max(1, int(min(within_s * 1000, deadlock_ms / 2)))
    previous = conn.execute(sa.text("SELECT current_setting('lock_timeout')")).scalar_one()
    statements = []
    for table in referencing_first(conn, locks):
        mode = locks[table]
        if mode not in LOCK_MODES:
            raise ValueError(f"unknown lock mode {mode!r}")
        qualified = 'public."' + table.replace('"', '""') + '"'
        literal = qualified.replace("'", "''")
        statements.append(
            f"IF to_regclass('{literal}') IS NOT NULL THEN "
            "left_ms := ceil(extract(epoch FROM deadline - clock_timestamp()) * 1000); "
            "IF left_ms < 1 THEN RAISE EXCEPTION USING ERRCODE = 'lock_not_available', "
            f"MESSAGE = 'locks not all taken within {bound_ms}ms'; END IF; "
            "PERFORM set_config('lock_timeout', left_ms || 'ms', true); "
            f"LOCK TABLE {qualified} IN {mode} MODE; END IF;"
        )
    conn.execute(
        sa.text(
            "DO $rally$ DECLARE deadline timestamptz := clock_timestamp() + "
            f"interval '{bound_ms} milliseconds'; left_ms bigint; BEGIN "
            + " ".join(statements)
            + " END $rally$"
        )
    )
    conn.execute(sa.text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})


# --- persisted progress --------------------------------------------------------------------


def create_state(conn: Connection) -> None:
    """Create the step table (idempotent)."""
    conn.execute(
        sa.text(
            f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (step text PRIMARY KEY, "
            "cursor bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false, "
            "note text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
    )


def has_state(conn: Connection) -> bool:
    """Tell whether an online upgrade has started on this database."""
    return conn.execute(sa.text(f"SELECT to_regclass('{STATE_TABLE}')")).scalar() is not None


def steps(conn: Connection) -> dict[str, tuple[int, bool, str | None]]:
    """Return step -> (cursor, done, note)."""
    if not has_state(conn):
        return {}
    rows = conn.execute(sa.text(f"SELECT step, cursor, done, note FROM {STATE_TABLE}")).all()
    return {r.step: (int(r.cursor), bool(r.done), r.note) for r in rows}


def mark(
    conn: Connection, step: str, *, cursor: int = 0, done: bool, note: str | None = None
) -> None:
    """Record a step's progress (in the caller's transaction, so it commits with the work)."""
    conn.execute(
        sa.text(
            f"INSERT INTO {STATE_TABLE} (step, cursor, done, note) VALUES (:s, :c, :d, :n) "
            "ON CONFLICT (step) DO UPDATE SET cursor = EXCLUDED.cursor, done = EXCLUDED.done, "
            f"note = COALESCE(EXCLUDED.note, {STATE_TABLE}.note), updated_at = clock_timestamp()"
        ),
        {"s": step, "c": cursor, "d": done, "n": note},
    )


def is_done(engine: Engine, step: str) -> bool:
    """Tell whether `step` has completed."""
    with engine.connect() as conn:
        return steps(conn).get(step, (0, False, None))[1]
