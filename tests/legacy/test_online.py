"""`rally db upgrade --online`: the old application keeps writing; the end state is the offline one."""

from __future__ import annotations

import re
import threading
import time

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from legacy_builder import LegacyBuilder
from legacy_helpers import Clone, assert_meaning, load_legacy, observed_meaning, snapshot
from online_writer import LegacyWriter
from test_kill import _small_world

from cli_runner import rally
from rally.db import make_engine, migrate
from rally.db.migrations import include_object
from rally.db.verify import run_checks
from rally.legacy.online import OnlineOptions, finalize, upgrade_online
from rally.models import Base


def failed_checks(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [r.name for r in run_checks(conn) if not r.ok]
    finally:
        engine.dispose()


def assert_corpus_rows_kept(url: str, builder: LegacyBuilder) -> None:
    """Every legacy row still means what it meant; every row is on its own league's series."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            seen = observed_meaning(conn, head=True)  # asserts series league == row league
    finally:
        engine.dispose()
    wrong = [(k, v, seen.get(k)) for k, v in builder.meaning.items() if seen.get(k) != v]
    assert not wrong, f"{len(wrong)} rows changed meaning, e.g. {wrong[:5]}"


def test_online_upgrade_while_the_old_application_writes(
    pg_clone: Clone, legacy_corpus_url: str, corpus_builder: LegacyBuilder
) -> None:
    url = pg_clone(legacy_corpus_url)
    offline = pg_clone(legacy_corpus_url)
    writer = LegacyWriter(url)
    writer.start()
    engine = make_engine(url)
    log: list[str] = []
    try:
        time.sleep(0.3)
        upgrade_online(engine, OnlineOptions(batch_size=700), log=log.append)
        assert migrate.current(engine).revision == migrate.head_revision()
        time.sleep(0.5)  # the window: the old application still writes
        assert failed_checks(url) == []
        stats = writer.stop()
        finalize(engine, log=log.append)
    finally:
        writer.stop()
        engine.dispose()
    assert stats.errors == [], stats.errors[:5]
    assert writer.n > 100 and len(writer.written) > 50
    assert writer.misplaced(url) == []
    assert failed_checks(url) == []
    assert_corpus_rows_kept(url, corpus_builder)
    assert any("per-league rows created" in line for line in log)

    # Exactly the schema the offline upgrade produces, and what `alembic check` compares.
    off = make_engine(offline)
    try:
        migrate.upgrade(off)
    finally:
        off.dispose()
    assert snapshot(url)["shape"] == snapshot(offline)["shape"]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def new_application_writes(url: str) -> None:
    """Head-shaped writes of the new application work in the window, untouched by triggers."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            league, club, user, player = conn.execute(
                sa.text(
                    "SELECT p.league_id, p.club_id, (SELECT MIN(id) FROM users), p.id "
                    "FROM players p ORDER BY p.id LIMIT 1"
                )
            ).one()
            series = conn.execute(
                sa.text(
                    "INSERT INTO series (name, display_name, league_id) "
                    "VALUES ('New App Series', 'New App Series', :l) RETURNING id"
                ),
                {"l": league},
            ).scalar_one()
            team = conn.execute(
                sa.text(
                    "INSERT INTO teams (club_id, series_id, league_id, team_name, display_name) "
                    "VALUES (:c, :s, :l, 'New App Team', 'New App Team') RETURNING id"
                ),
                {"c": club, "s": series, "l": league},
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO user_contexts (user_id, league_id, team_id, series_id) "
                    "VALUES (:u, :l, :t, :s) ON CONFLICT (user_id) DO UPDATE SET "
                    "league_id = EXCLUDED.league_id, team_id = EXCLUDED.team_id, "
                    "series_id = EXCLUDED.series_id"
                ),
                {"u": user, "l": league, "t": team, "s": series},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO player_claims (user_id, player_id, league_id) VALUES (:u, :p, :l)"
                ),
                {"u": user, "p": player, "l": league},
            )
            got = conn.execute(
                sa.text("SELECT series_id FROM teams WHERE id = :t"), {"t": team}
            ).scalar_one()
            assert got == series
    finally:
        engine.dispose()


def test_cli_plan_online_abort_then_online_and_finalize(pg_empty_url: str) -> None:
    b = _small_world()
    load_legacy(pg_empty_url, b)
    before = snapshot(pg_empty_url)
    code, out = rally("db", "plan", "--online", "--database-url", pg_empty_url)
    assert code == 0, out
    assert "expand:" in out and "[pending] backfill: split" in out and "finalize" in out
    # Revisions 0003-0007 are built before the window, which then only stamps.
    assert "backfill (revisions 0003-0007, before the window):" in out
    assert "[pending] head backfill: players.search_name" in out
    assert "[pending] head contract: indexes" in out
    assert out.index("head contract: validate") < out.index("contract: stamp head")
    code, out = rally("db", "upgrade", "--finalize", "--database-url", pg_empty_url)
    assert code == 1 and "Nothing to finalize" in out, out

    code, out = rally("db", "upgrade", "--online", "--no-backup", "--database-url", pg_empty_url)
    assert code == 0, out
    assert "both applications work" in out
    # Off a terminal (as here) each batched backfill step ends with a log line: rows, seconds.
    done = [line for line in out.splitlines() if 'msg="batched step done"' in line]
    assert done and all(re.search(r" rows=\d+ duration_s=[\d.]+ ", line) for line in done), out
    code, out = rally("db", "plan", "--online", "--database-url", pg_empty_url)
    assert "[done] backfill: split" in out and "window open" in out
    assert "[done] backfill: resolve" in out
    assert failed_checks(pg_empty_url) == []

    code, out = rally("db", "upgrade", "--abort", "--database-url", pg_empty_url)
    assert code == 0, out
    assert snapshot(pg_empty_url)["shape"] == before["shape"]
    assert_meaning(pg_empty_url, b, head=False)

    code, out = rally("db", "upgrade", "--online", "--no-backup", "--database-url", pg_empty_url)
    assert code == 0, out
    new_application_writes(pg_empty_url)
    code, out = rally("db", "upgrade", "--finalize", "--database-url", pg_empty_url)
    assert code == 0, out
    assert_corpus_rows_kept(pg_empty_url, b)
    assert failed_checks(pg_empty_url) == []
    # Idempotent: a re-run (after a kill at its very end, say) finds it done and changes nothing.
    before = snapshot(pg_empty_url)
    code, out = rally("db", "upgrade", "--finalize", "--database-url", pg_empty_url)
    assert code == 0 and "already done" in out, out
    assert snapshot(pg_empty_url) == before


def test_online_refuses_damaged_data_without_resolve(pg_empty_url: str) -> None:
    b = _small_world()
    load_legacy(pg_empty_url, b)
    engine = make_engine(pg_empty_url)
    try:
        with engine.begin() as conn:
            # A player on a team of another league: no league assignment can fix it.
            conn.execute(
                sa.text(
                    "UPDATE players SET league_id = (SELECT MAX(id) FROM leagues) "
                    "WHERE id = (SELECT MIN(id) FROM players)"
                )
            )
    finally:
        engine.dispose()
    before = snapshot(pg_empty_url)
    code, out = rally("db", "upgrade", "--online", "--no-backup", "--database-url", pg_empty_url)
    assert code == 1
    assert "Cannot upgrade online" in out and "Nothing was changed" in out
    assert "rally db upgrade --online --resolve" in out
    assert "Traceback" not in out
    assert snapshot(pg_empty_url) == before


def test_lock_held_during_expand_bounds_every_wait(pg_empty_url: str) -> None:
    """Another session holds a row lock on series: each try waits at most the lock budget."""
    load_legacy(pg_empty_url, _small_world())
    budget = 0.3
    holder = make_engine(pg_empty_url)
    held = holder.connect()
    held.begin()
    held.execute(
        sa.text("UPDATE series SET updated_at = now() WHERE id = (SELECT MIN(id) FROM series)")
    )
    writer = LegacyWriter(pg_empty_url, interval_s=0.005)
    writer.start()
    log: list[str] = []
    engine = make_engine(pg_empty_url)
    done = threading.Event()

    def upgrade() -> None:
        upgrade_online(engine, OnlineOptions(lock_timeout_s=budget), log=log.append)
        done.set()

    thread = threading.Thread(target=upgrade, daemon=True)
    try:
        started = time.perf_counter()
        thread.start()
        # Held until the upgrade has given up twice (a fixed sleep was too short on a loaded
        # machine: the upgrade had not reached expand yet). Without a per-try budget it would
        # wait in its first try and never log a refusal.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not done.is_set():
            if sum(f"lock not granted within {budget:g}s" in line for line in log) >= 2:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        assert not done.is_set(), "the upgrade took a lock another session holds"
        released = time.perf_counter()
        held.rollback()
        held.close()
        thread.join(120)
        assert done.is_set()
        stats = writer.stop()
    finally:
        writer.stop()
        held.close()
        holder.dispose()
        engine.dispose()
    refused = [line for line in log if f"lock not granted within {budget:g}s" in line]
    assert len(refused) >= 2, log
    assert stats.errors == []
    # While the lock is held, a write queued behind a waiting ALTER waits at most that try's
    # budget (plus scheduling on a loaded machine: writer and upgrade share this process).
    # Generous for a shared 2-core CI machine; without the per-try budget it stalled 5 s a try.
    assert stats.longest(started, released) < budget + 0.9, stats.longest(started, released)
    assert writer.misplaced(pg_empty_url) == []
