"""kill -9 in every phase of `rally db upgrade --online` (and --finalize), then re-run: clean."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from legacy_builder import LegacyBuilder
from legacy_helpers import Clone, load_legacy
from online_writer import LegacyWriter
from test_kill import _other_sessions, _small_world
from test_online import assert_corpus_rows_kept, failed_checks

from rally.db import make_engine, migrate
from rally.legacy.online import OnlineOptions, upgrade_online

RALLY = str(Path(sys.executable).parent / "rally")
# (command, a log line that starts the phase, longest random delay after it)
PHASES = (
    ("--online", "expand: columns", 0.4),
    ("--online", "backfill: re-point", 1.0),
    ("--online", "contract:", 1.5),
    # Revisions 0003-0007 built before the window (a kill above may already be past them:
    # then the run ends by itself and the next one resumes further on).
    ("--online", "head expand:", 0.5),
    ("--online", "head backfill:", 0.5),
    ("--online", "head contract:", 0.5),
)


def run_and_kill(url: str, flag: str, marker: str, delay: float) -> list[str]:
    """Start `rally db upgrade FLAG`, SIGKILL it `delay` s after `marker` is logged."""
    proc = subprocess.Popen(
        [RALLY, "db", "upgrade", flag, "--no-backup", "--batch-size", "300",
         "--database-url", url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )  # fmt: skip
    seen = threading.Event()
    lines: list[str] = []

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if marker in line:
                seen.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not seen.wait(0.05):
            if proc.poll() is not None:  # done before the marker: nothing left to kill there
                reader.join(10)
                assert proc.returncode == 0 and "both applications work" in "\n".join(lines)
                return lines
            assert time.monotonic() < deadline, f"never reached {marker!r}: {lines[-5:]}"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    deadline = time.monotonic() + 30
    while _other_sessions(url) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)  # the killed backend goes away (the writer's session stays)
    return lines


def complete(url: str, flag: str) -> str:
    out = subprocess.run(
        [RALLY, "db", "upgrade", flag, "--no-backup", "--database-url", url],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_kill_in_every_phase_then_rerun_completes(
    pg_clone: Clone, legacy_corpus_url: str, corpus_builder: LegacyBuilder
) -> None:
    seed = int(os.environ.get("RALLY_KILL_SEED", time.time()))
    rng = random.Random(seed)
    url = pg_clone(legacy_corpus_url)
    writer = LegacyWriter(url, seed=seed % 1000)
    writer.start()
    killed_at = []
    try:
        for flag, marker, longest in PHASES:
            lines = run_and_kill(url, flag, marker, rng.uniform(0, longest))
            killed_at.append(lines[-1] if lines else "")
        complete(url, "--online")
        time.sleep(0.3)
        stats = writer.stop()  # the old application is stopped before --finalize
        lines = run_and_kill(url, "--finalize", "finalize: triggers", rng.uniform(0, 0.3))
        killed_at.append(lines[-1] if lines else "")
        complete(url, "--finalize")
    finally:
        writer.stop()
    context = f"seed {seed}; killed after: {killed_at}"
    print(context)
    assert stats.errors == [], (context, stats.errors[:5])
    assert writer.misplaced(url) == [], context
    assert failed_checks(url) == [], context
    engine = make_engine(url)
    try:
        assert migrate.current(engine).revision == migrate.head_revision()
        with engine.connect() as conn:
            leftovers = conn.execute(
                sa.text("SELECT relname FROM pg_class WHERE relname LIKE 'rally_online%'")
            ).scalars().all()  # fmt: skip
            invalid = conn.execute(sa.text("SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid"))
            assert invalid.scalar_one() == 0
    finally:
        engine.dispose()
    assert leftovers == [], context
    assert_corpus_rows_kept(url, corpus_builder)


def test_invalid_index_left_by_an_interrupted_build_is_rebuilt(pg_empty_url: str) -> None:
    load_legacy(pg_empty_url, _small_world())
    engine = make_engine(pg_empty_url)
    holder = engine.connect()
    holder.begin()
    holder.execute(sa.text("UPDATE teams SET updated_at = updated_at WHERE id = 1"))
    admin = make_engine(pg_empty_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '200ms'"))
            # What a killed build leaves: the index, marked INVALID.
            with contextlib.suppress(sa.exc.OperationalError):
                conn.execute(
                    sa.text(
                        "CREATE UNIQUE INDEX CONCURRENTLY uq_teams_id_league_id "
                        "ON teams (id, league_id)"
                    )
                )
        holder.rollback()
        holder.close()
        with engine.connect() as conn:
            valid = conn.execute(
                sa.text("SELECT indisvalid FROM pg_index WHERE indexrelid = 'uq_teams_id_league_id'::regclass")
            ).scalar_one()  # fmt: skip
        assert valid is False
        log: list[str] = []
        upgrade_online(engine, OnlineOptions(), log=log.append)
        assert any("uq_teams_id_league_id: INVALID leftover" in line for line in log), log
        with engine.connect() as conn:
            assert (
                conn.execute(
                    sa.text("SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid")
                ).scalar_one()
                == 0
            )
    finally:
        holder.close()
        admin.dispose()
        engine.dispose()
    assert failed_checks(pg_empty_url) == []
