"""Verified backups and all-or-nothing restores, PostgreSQL (pg_dump/pg_restore) and SQLite.

PostgreSQL backups are `pg_dump --format=custom` files; a backup counts only once
`pg_restore --list` has read it back. A restore first turns the dump into SQL with
`pg_restore`, then runs it with `psql --single-transaction` (after dropping the target's
tables when forced), so a failed restore leaves the target as it was.
SQLite backups are copies made with the sqlite3 backup API and checked with `quick_check`.
Files are written under a temporary name and renamed when complete: never half-written.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from rally.errors import RallyError, UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


class BackupFailed(RallyError):
    """A backup could not be written or read back."""


class UnreadableBackup(UsageError):
    """The file given to restore is not a backup this database can read."""


class RestoreRefused(RallyError):
    """The restore target holds data and --force was not given."""


@dataclass(frozen=True)
class BackupInfo:
    """A written, verified backup."""

    path: Path
    sha256: str
    size: int
    seconds: float
    entries: int  # archive entries (PostgreSQL) or tables (SQLite) read back


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_backup_path(engine: Engine, directory: Path) -> Path:
    """Return a new file name for a backup of `engine`'s database in `directory`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if engine.dialect.name == "sqlite":
        name = Path(engine.url.database or "rally").stem
        return directory / f"rally-{name}-{stamp}.sqlite3"
    return directory / f"rally-{engine.url.database}-{stamp}.dump"


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """Return a libpq URI without the password, and the environment carrying it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a client tool; on Ctrl-C or SIGTERM stop it too before giving up (never orphan it)."""
    try:
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError:
        raise BackupFailed(f"{args[0]} is not installed (PostgreSQL client tools).") from None
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        out, err = child.communicate()
    except BaseException:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return subprocess.CompletedProcess(args, child.returncode, out, err)


def _private_file(path: Path) -> None:
    """Create `path` empty, readable by its owner only (backups hold e-mails and hashes)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def _first_line(output: bytes) -> str:
    # The first error, not the notices before it (psql prints NOTICE lines on stderr too).
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR:" in line or "FATAL:" in line]
    return (errors or lines or ["no output"])[0].strip()


def verify_backup(path: Path, *, backend: str) -> int:
    """Read a backup back; return its entry count or raise UnreadableBackup."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise UnreadableBackup(f"Cannot read backup {path}: {exc.strerror or exc}.") from None
    if backend == "postgresql":
        if not head.startswith(PG_MAGIC):
            raise UnreadableBackup(f"{path} is not a pg_dump custom-format backup.")
        result = _run(["pg_restore", "--list", str(path)])
        if result.returncode != 0:
            raise UnreadableBackup(f"{path} is not readable: {_first_line(result.stderr)}.")
        return sum(1 for line in result.stdout.splitlines() if line and not line.startswith(b";"))
    if head != SQLITE_MAGIC:
        raise UnreadableBackup(f"{path} is not a SQLite database backup.")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise UnreadableBackup(f"{path} is a damaged SQLite database.")
        row = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        return int(row[0])
    except sqlite3.DatabaseError as exc:
        raise UnreadableBackup(f"{path} is not readable: {exc}.") from None
    finally:
        conn.close()


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise UsageError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database).expanduser()


def backup(engine: Engine, path: Path) -> BackupInfo:
    """Write a verified backup of the database to `path` (never left half-written)."""
    if path.exists():
        raise BackupFailed(f"{path} already exists; choose another file.")
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    try:
        # pg_dump and SQLite write into the existing file and keep its 0600 mode.
        _private_file(partial)
        if engine.dialect.name == "postgresql":
            uri, env = _libpq(engine.url)
            result = _run(
                ["pg_dump", "--format=custom", f"--file={partial}", f"--dbname={uri}"], env
            )
            if result.returncode != 0:
                raise BackupFailed(f"pg_dump failed: {_first_line(result.stderr)}.")
        else:
            _sqlite_copy(str(_sqlite_path(engine)), partial)
        entries = verify_backup(partial, backend=engine.dialect.name)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(
        path=path.resolve(),
        sha256=sha256_of(path),
        size=path.stat().st_size,
        seconds=time.perf_counter() - started,
        entries=entries,
    )


def _sqlite_copy(source: str, target: Path) -> None:
    """Copy a SQLite database with its backup API (consistent even while it is in use)."""
    src = sqlite3.connect(source, uri=source.startswith("file:"))
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def user_tables(engine: Engine) -> list[str]:
    """Return the tables and views the database holds, outside system schemas."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        else:
            sql = (
                "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
                "ORDER BY 1"
            )
        return [str(name) for name in conn.execute(sa.text(sql)).scalars()]


_DROP_SQL = """
SELECT statement FROM (
  SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
                CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                               WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                n.nspname, c.relname) AS statement,
         CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 0 WHEN 'S' THEN 2 ELSE 1 END AS rank
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
  UNION ALL
  -- Functions of the schema (rally_fold, triggers' functions), not those of extensions: the
  -- backup creates them again.
  SELECT format('DROP %s IF EXISTS %I.%I(%s) CASCADE',
                CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE'
                               ELSE 'FUNCTION' END,
                n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), 3
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e')
) AS drops
ORDER BY rank, statement
"""


def _drop_statements(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(s) for s in conn.execute(sa.text(_DROP_SQL)).scalars()]


def restore(engine: Engine, path: Path, *, force: bool = False) -> float:
    """Replace the database's contents with a backup, all or nothing; return seconds taken."""
    backend = engine.dialect.name
    verify_backup(path, backend=backend)
    existing = user_tables(engine)
    if existing and not force:
        shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
        raise RestoreRefused(
            f"The target database is not empty ({len(existing)} tables: {shown}); "
            "pass --force to replace its contents."
        )
    started = time.perf_counter()
    if backend == "sqlite":
        target = _sqlite_path(engine)
        engine.dispose()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restoring")
        try:
            _sqlite_copy(f"file:{path}?mode=ro", partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return time.perf_counter() - started
    uri, env = _libpq(engine.url)
    with tempfile.TemporaryDirectory(prefix="rally-restore-") as tmp:
        script = Path(tmp) / "restore.sql"
        with script.open("w") as handle:
            handle.writelines(f"{statement};\n" for statement in _drop_statements(engine))
        converted = _run(["pg_restore", "--file=-", str(path)])
        if converted.returncode != 0:
            raise UnreadableBackup(f"{path} cannot be restored: {_first_line(converted.stderr)}.")
        with script.open("ab") as handle:
            handle.write(converted.stdout)
        result = _run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
             f"--file={script}", f"--dbname={uri}"],
            env,
        )  # fmt: skip
        if result.returncode != 0:
            raise BackupFailed(f"Restore failed and was rolled back: {_first_line(result.stderr)}.")
    return time.perf_counter() - started
