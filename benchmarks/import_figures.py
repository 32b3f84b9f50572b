"""What the import benchmarks share: run `rally` as a user does, COPY the same rows, count."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from rally.etl.report import ENTITIES

RALLY = Path(sys.executable).with_name("rally")
#: Every table an import writes.
TABLES = ("leagues", *ENTITIES, "player_history")


def run_rally(*args: str) -> tuple[float, float, int, str]:
    """Run `rally ARGS` as a child process: (wall seconds, peak RSS MiB, exit code, output).

    The wall time includes process start, as a user (or cron) meets it; the peak RSS is the
    child's own (wait4).
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        [str(RALLY), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, child.returncode, output


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def count_rows(url: str) -> int:
    """Return the rows in every table an import writes."""
    import psycopg

    with psycopg.connect(_dsn(url)) as conn:
        return sum(
            int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in TABLES
        )


def copy_seconds(source_url: str, target_url: str) -> tuple[int, float]:
    """COPY every imported row of source into the same tables of target (an empty database
    at head): return (rows, seconds of the COPY IN, one transaction)."""
    import psycopg

    dumps: dict[str, tuple[list[str], bytes]] = {}
    with psycopg.connect(_dsn(source_url)) as src:
        for table in TABLES:
            cols = [
                r[0]
                for r in src.execute(
                    "SELECT column_name FROM information_schema.columns "
                    # Generated columns (players.search_name) cannot be copied; the
                    # target computes them, as it does for the import.
                    "WHERE table_name = %s AND is_generated = 'NEVER' "
                    "ORDER BY ordinal_position",
                    (table,),
                )
            ]
            buf = io.BytesIO()
            with src.cursor().copy(f"COPY {table} ({', '.join(cols)}) TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            dumps[table] = (cols, buf.getvalue())
    rows = sum(data.count(b"\n") for _, data in dumps.values())
    with psycopg.connect(_dsn(target_url)) as dst:
        started = time.perf_counter()
        with dst.transaction():
            for table in TABLES:
                cols, data = dumps[table]
                with dst.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    copy.write(data)
        elapsed = time.perf_counter() - started
    return rows, elapsed


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"
