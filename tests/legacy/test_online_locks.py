"""Locks taken up front: the later revisions' lock list is complete; the taking is bounded."""

from __future__ import annotations

import re
import threading
import time

import pytest
import sqlalchemy as sa
from alembic import command

from rally.db import make_engine, migrate
from rally.db.state import alembic_config
from rally.legacy.online.backfill import Context, foreign_key_locks
from rally.legacy.online.contract import LATER_REVISION_LOCKS, check_chain, later_revisions
from rally.legacy.online.head import ONLINE_BUILT, PREBUILT
from rally.legacy.online.runner import LOCK_MODES, LockBudget, lock_up_front, referencing_first


def _mode(pg_mode: str) -> str:
    # pg_locks says "ShareRowExclusiveLock"; LOCK TABLE says "SHARE ROW EXCLUSIVE".
    return " ".join(re.findall(r"[A-Z][a-z]+", pg_mode.removesuffix("Lock"))).upper()


def test_later_revisions_lock_exactly_what_the_list_says(pg_empty_url: str) -> None:
    engine = make_engine(pg_empty_url)
    try:
        migrate.upgrade(engine, revision=ONLINE_BUILT, verify=False)
        with engine.connect() as conn:
            existing = set(
                conn.execute(
                    sa.text(
                        "SELECT relname FROM pg_class WHERE relkind = 'r' "
                        "AND relnamespace = 'public'::regnamespace"
                    )
                ).scalars()
            )
            conn.commit()
            with conn.begin() as tx:
                command.upgrade(alembic_config(conn), "head")
                held = conn.execute(
                    sa.text(
                        "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c "
                        "ON c.oid = l.relation WHERE l.pid = pg_backend_pid() "
                        "AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
                    )
                ).all()
                tx.rollback()
    finally:
        engine.dispose()
    strongest: dict[str, str] = {}
    for table, pg_mode in held:
        if table not in existing or table == "alembic_version":
            continue  # tables the revisions create, and the stamp itself
        mode = _mode(pg_mode)
        if LOCK_MODES.index(mode) > LOCK_MODES.index(strongest.get(table, LOCK_MODES[0])):
            strongest[table] = mode
    # A new revision that locks another table (or locks one harder) must be listed, or the
    # online upgrade would take that lock late and could deadlock the old application.
    assert strongest == LATER_REVISION_LOCKS


def test_prebuilt_revisions_are_the_chain_up_to_online_built() -> None:
    """A re-chained history (a revision slipped in before ONLINE_BUILT) is caught here."""
    check_chain()
    assert PREBUILT[-1] == ONLINE_BUILT
    assert ONLINE_BUILT not in later_revisions()


# Tables of a revision run at the window (as 0003-0006 once were), for the ordering test.
SOME_LOCKS = {
    "users": "ACCESS EXCLUSIVE",
    "teams": "SHARE ROW EXCLUSIVE",
    "leagues": "SHARE ROW EXCLUSIVE",
    "player_availability": "ACCESS EXCLUSIVE",
    "schedule": "SHARE ROW EXCLUSIVE",
    "players": "ACCESS EXCLUSIVE",
    "series_stats": "ACCESS EXCLUSIVE",
}


def test_referencing_tables_are_locked_before_the_tables_they_reference(
    pg_db_url: str,
) -> None:
    engine = make_engine(pg_db_url)
    try:
        with engine.connect() as conn:
            order = referencing_first(conn, SOME_LOCKS)
    finally:
        engine.dispose()
    assert sorted(order) == sorted(SOME_LOCKS)
    for child, parent in [
        ("player_availability", "players"),
        ("player_availability", "users"),
        ("player_availability", "schedule"),
        ("players", "teams"),
        ("series_stats", "teams"),
        ("teams", "leagues"),
    ]:
        assert order.index(child) < order.index(parent), order


def test_locks_not_all_granted_in_time_are_all_given_up_and_writers_go_on(
    pg_db_url: str,
) -> None:
    """A long transaction holds one table: the locks already taken are released in time."""
    engine = make_engine(pg_db_url)
    holder = engine.connect()
    holder.begin()
    holder.execute(sa.text("LOCK TABLE series_stats IN ROW EXCLUSIVE MODE"))
    waited: list[float] = []
    errors: list[str] = []

    def writer() -> None:
        time.sleep(0.1)  # after lock_up_front holds player_availability
        started = time.perf_counter()
        try:
            with engine.begin() as conn:
                conn.execute(
                    sa.text("UPDATE player_availability SET player_id = player_id WHERE false")
                )
        except sa.exc.DBAPIError as exc:
            errors.append(str(exc.orig))
        waited.append(time.perf_counter() - started)

    thread = threading.Thread(target=writer)
    try:
        with engine.connect() as conn, conn.begin():
            thread.start()
            started = time.perf_counter()
            with pytest.raises(sa.exc.OperationalError) as failure:
                lock_up_front(
                    conn,
                    {"series_stats": "ACCESS EXCLUSIVE", "player_availability": "ACCESS EXCLUSIVE"},
                    within_s=0.4,
                )
            elapsed = time.perf_counter() - started
        thread.join(10)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert getattr(failure.value.orig, "sqlstate", None) == "55P03"
    assert 0.3 < elapsed < 1.5, elapsed
    assert errors == []
    assert waited and waited[0] < 1.5, waited


def test_locks_are_taken_when_free_and_the_lock_timeout_is_restored(pg_db_url: str) -> None:
    engine = make_engine(pg_db_url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SET LOCAL lock_timeout = '700ms'"))
            lock_up_front(
                conn,
                {"players": "ACCESS EXCLUSIVE", "teams": "SHARE", "no_such_table": "SHARE"},
                within_s=1.0,
            )
            held = dict(
                conn.execute(
                    sa.text(
                        "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c "
                        "ON c.oid = l.relation WHERE l.pid = pg_backend_pid() "
                        "AND c.relname IN ('players', 'teams')"
                    )
                ).all()
            )
            assert held == {"players": "AccessExclusiveLock", "teams": "ShareLock"}
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar() == "700ms"
            with pytest.raises(ValueError, match="unknown lock mode"):
                lock_up_front(conn, {"players": "EVERYTHING"}, within_s=1.0)
    finally:
        engine.dispose()


def test_a_slow_batch_shrinks_the_next_and_quick_ones_grow_back() -> None:
    from rally.legacy.online.backfill import BATCH_TARGET_S, MIN_BATCH, next_batch_size

    slow = next_batch_size(1000, BATCH_TARGET_S * 6, 1000)
    assert slow <= 1000 * BATCH_TARGET_S / (BATCH_TARGET_S * 6) + 1  # sized to the target
    assert next_batch_size(1000, BATCH_TARGET_S * 1.5, 1000) == 500  # at least halved
    assert next_batch_size(40, 10.0, 1000) == MIN_BATCH  # never below the floor
    assert next_batch_size(5, 10.0, 5) == 5  # nor above what the operator asked for
    assert next_batch_size(300, BATCH_TARGET_S / 10, 1000) == 600  # quick: doubles
    assert next_batch_size(800, BATCH_TARGET_S / 10, 1000) == 1000  # up to --batch-size
    assert next_batch_size(700, BATCH_TARGET_S / 2, 1000) == 700  # near the target: kept


def test_a_foreign_key_added_while_the_application_writes_parent_then_child_kills_nobody(
    pg_db_url: str,
) -> None:
    """The old application holds the parent and queues behind the child the DDL holds.

    That is a lock cycle; PostgreSQL breaks it by aborting whichever waiter reaches its
    deadlock_timeout first. Here the application's is shorter than ours, as it is whenever
    it started waiting first: it must still never see "deadlock detected", because the
    upgrade gives up its locks (and retries) within deadlock_timeout / 2.
    """
    engine = make_engine(pg_db_url)
    log: list[str] = []
    ctx = Context(engine, LockBudget(lock_timeout_s=1.0), log.append)
    app = engine.connect()
    errors: list[str] = []
    statement = (
        "ALTER TABLE teams ADD CONSTRAINT rally_test_fk FOREIGN KEY (club_id) "
        "REFERENCES clubs (id) NOT VALID"
    )
    upgrade = threading.Thread(
        target=ctx.ddl,
        args=("add rally_test_fk", lambda c: c.execute(sa.text(statement)),
              foreign_key_locks("teams", "clubs")),
    )  # fmt: skip
    try:
        app.execute(sa.text("SET deadlock_timeout = '600ms'"))
        app.execute(sa.text("LOCK TABLE clubs IN ROW EXCLUSIVE MODE"))  # its parent row
        upgrade.start()
        time.sleep(0.2)  # the upgrade holds teams and waits for clubs
        try:
            app.execute(sa.text("LOCK TABLE teams IN ROW EXCLUSIVE MODE"))  # the child row
            app.commit()
        except sa.exc.DBAPIError as exc:
            errors.append(str(exc.orig).splitlines()[0])
            app.rollback()
        upgrade.join(30)
        with engine.connect() as conn:
            added = conn.execute(
                sa.text("SELECT count(*) FROM pg_constraint WHERE conname = 'rally_test_fk'")
            ).scalar_one()
    finally:
        app.close()
        engine.dispose()
    assert errors == []
    assert added == 1
    assert any("add rally_test_fk: lock not granted" in line for line in log), log


def test_a_batch_slower_than_its_cap_is_rolled_back_and_retried_smaller(pg_db_url: str) -> None:
    """Rows costlier than the batch size assumed: the batch is cut off, not waited for."""
    from rally.legacy.online.backfill import BATCH_CAP_S, batched
    from rally.legacy.online.runner import create_state, steps

    engine = make_engine(pg_db_url)
    log: list[str] = []
    try:
        with engine.begin() as conn:
            create_state(conn)
            conn.execute(sa.text("CREATE TABLE rally_test_slow (id int PRIMARY KEY, v int)"))
            conn.execute(
                sa.text("INSERT INTO rally_test_slow SELECT g, 0 FROM generate_series(1, 120) g")
            )
        # Each row costs 4 ms: the first batch (100 rows, 400 ms) outlasts the cap.
        sql = (
            "UPDATE rally_test_slow SET v = v + 1 WHERE id > :lo AND id <= :hi "
            "AND (SELECT true FROM pg_sleep(0.004 + id * 0))"
        )
        ctx = Context(engine, LockBudget(), log.append, batch_size=100)
        batched(ctx, "test: slow rows", "rally_test_slow", "id", sql)
        with engine.connect() as conn:
            counts = conn.execute(
                sa.text("SELECT v, count(*) FROM rally_test_slow GROUP BY v")
            ).all()
            state = steps(conn)["test: slow rows"]
    finally:
        engine.dispose()
    assert [tuple(r) for r in counts] == [(1, 120)]  # the stopped batch left nothing behind
    assert state[1] is True
    stopped = [line for line in log if f"stopped at {BATCH_CAP_S * 1000:.0f} ms" in line]
    assert stopped and "batch of 100 rows after key 0" in stopped[0], log
