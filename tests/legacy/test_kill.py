"""kill -9 in the middle of `rally db upgrade`: the database stays untouched legacy, then upgrades."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import threading
import time

import sqlalchemy as sa
from legacy_builder import LegacyBuilder
from legacy_helpers import assert_meaning, load_legacy, snapshot

from rally.db import make_engine, migrate

MARKER = "test: paused after re-pointing"
# The upgrade `rally db upgrade --no-backup` runs, with a pause injected after re-pointing
# (production code has no test hook; the test hands the pause in).
UPGRADE_THEN_PAUSE = f"""
import sys, time
from rally.db import make_engine, migrate

def pause():
    print({MARKER!r}, file=sys.stderr, flush=True)
    time.sleep(60)

migrate.upgrade(make_engine(sys.argv[1]), log=lambda line: print(line, flush=True),
                after_repoint=pause)
"""


def _small_world() -> LegacyBuilder:
    b = LegacyBuilder()
    leagues = [b.league(k) for k in ("APTA_CHICAGO", "CNSWPL", "NSTF")]
    for n, lid in enumerate(leagues):
        for series in ("Series 1", "Series 2"):
            tid = b.team(f"Club {n}", series, lid, f"Club {n} {series[-1]}")
            pid = b.player(f"p{n}{series}", "F", "L", f"Club {n}", series, lid, tid)
            uid = b.user(f"u{n}{series}@example.test", lid)
            b.context(uid, lid, tid)
            b.availability("F", pid, uid, series, lid, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
            b.instruction(f"u{n}{series}@example.test", "x", tid, series, lid)
            b.standing(lid, series, f"Club {n} {series[-1]}", tid, own_league=False)
    return b


def _other_sessions(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_upgrade_killed_midway_leaves_legacy_untouched_then_finishes(pg_empty_url: str) -> None:
    b = _small_world()
    load_legacy(pg_empty_url, b)
    before = snapshot(pg_empty_url)
    proc = subprocess.Popen(
        [sys.executable, "-c", UPGRADE_THEN_PAUSE, pg_empty_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    paused = threading.Event()
    stdout: list[str] = []

    def watch() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if MARKER in line:
                paused.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    try:
        assert paused.wait(60), "the upgrade never reached the test hook"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # Not communicate(): the watcher thread may still hold stderr.
        assert proc.stdout is not None and proc.stderr is not None
        stdout.append(proc.stdout.read())
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    # The log shows it had re-pointed rows before it died.
    assert "re-pointed players" in stdout[0]
    deadline = time.monotonic() + 30
    while _other_sessions(pg_empty_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert snapshot(pg_empty_url) == before
    engine = make_engine(pg_empty_url)
    try:
        assert migrate.current(engine).kind == "legacy"
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert_meaning(pg_empty_url, b, head=True)
