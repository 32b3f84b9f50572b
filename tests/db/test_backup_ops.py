"""Backups are private files in the data directory; a stopped restore leaves no child running."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rally.cli import app
from rally.db import make_engine

runner = CliRunner()
RALLY = str(Path(sys.executable).parent / "rally")


def test_backup_is_written_0600_into_the_private_backups_directory(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("RALLY_DATA_DIR", str(data))
    monkeypatch.setattr(os, "umask", os.umask)  # the process umask stays as the test found it
    previous = os.umask(0o022)  # a permissive umask, as on most machines
    try:
        result = runner.invoke(app, ["db", "backup", "--database-url", db_url])
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    backups = list((data / "backups").iterdir())
    assert len(backups) == 1
    assert stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "backups").stat().st_mode) == 0o700


def _psql_children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [
        int(line.split()[0]) for line in out.stdout.splitlines() if line.split()[1:] == ["psql"]
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (it holds no connection).
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split()[2] != "Z"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stopping_restore_stops_its_psql_and_changes_nothing(
    pg_db_url: str, tmp_path: Path, signum: int
) -> None:
    engine = make_engine(pg_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO leagues (league_id, league_name) VALUES ('X', 'X')"))
        backup = tmp_path / "b.dump"
        assert (
            runner.invoke(app, ["db", "backup", str(backup), "--database-url", pg_db_url]).exit_code
            == 0
        )
        # Another session holds a lock the restore needs: its psql waits inside the transaction.
        with engine.connect() as holder:
            holder.execute(sa.text("LOCK TABLE leagues IN ACCESS SHARE MODE"))
            proc = subprocess.Popen(
                [RALLY, "db", "restore", str(backup), "--force", "--database-url", pg_db_url],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            deadline = time.monotonic() + 60
            while not (children := _psql_children(proc.pid)):
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "restore never started psql"
                time.sleep(0.05)
            proc.send_signal(signum)
            output, _ = proc.communicate(timeout=30)
            holder.rollback()
        assert proc.returncode == 130, output
        assert "interrupted" in output and "Traceback" not in output
        assert not any(_alive(pid) for pid in children), "psql outlived rally db restore"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT league_id FROM leagues")).scalars().all() == ["X"]
    finally:
        engine.dispose()
