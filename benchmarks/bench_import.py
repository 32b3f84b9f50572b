"""Benchmark `rally etl import` on the real corpus: PostgreSQL (vs COPY) and SQLite.

Run: .venv/bin/python benchmarks/bench_import.py [--postgres-url URL] [--data DIR]

Creates throwaway databases (dropped at the end), migrates them to head, and prints:
import time of the whole corpus into an empty PostgreSQL database (parse + load), re-import
time, rows/s; the rows/s of PostgreSQL COPY for the very same rows into the same tables of a
second database, measured in the same run, and the ratio; and the SQLite import time.
Targets: PostgreSQL import < 5 s, re-import < 2 s, >= 25 % of COPY throughput, SQLite < 5 s.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from scratch import DEFAULT_ADMIN_URL, ScratchDatabases
from sqlalchemy.engine import make_url

from rally.db import make_engine
from rally.db.migrate import upgrade
from rally.etl.importer import import_corpus
from rally.etl.reader import parse_paths
from rally.etl.report import ENTITIES

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "leagues"
#: Client CPU seconds of each timed import (the share of the wall time other load cannot take).
CPU_SECONDS: list[float] = []
#: Every table the importer writes.
TABLES = ("leagues", *ENTITIES)


def _new_pg(scratch: ScratchDatabases) -> str:
    url = scratch.create()
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


def _timed_import(url: str, data: Path) -> tuple[float, float, int, int]:
    """Return (parse s, load s, rows inserted, rows updated) of one full import."""
    engine = make_engine(url)
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        corpus = parse_paths([data])
        parsed = time.perf_counter()
        report = import_corpus(engine, corpus)
        loaded = time.perf_counter()
        CPU_SECONDS.append(time.process_time() - cpu)
    finally:
        engine.dispose()
    failed = [f"{k}: {lg.error}" for k, lg in report.leagues.items() if lg.failed]
    if failed:
        raise SystemExit(f"import failed: {failed}")
    inserted = sum(lg.total("inserted") for lg in report.leagues.values())
    updated = sum(lg.total("updated") for lg in report.leagues.values())
    return parsed - start, loaded - parsed, inserted, updated


def _copy_rate(source_url: str, target_url: str) -> tuple[int, float]:
    """COPY every imported row from source into the same tables of target; time the COPY IN."""
    import psycopg

    def dsn(url: str) -> str:
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    dumps: dict[str, tuple[list[str], bytes]] = {}
    with psycopg.connect(dsn(source_url)) as src:
        for table in TABLES:
            cols = [
                r[0]
                for r in src.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
            ]
            buf = io.BytesIO()
            with src.cursor().copy(f"COPY {table} ({', '.join(cols)}) TO STDOUT") as copy:
                for chunk in copy:
                    buf.write(chunk)
            dumps[table] = (cols, buf.getvalue())
    rows = sum(data.count(b"\n") for _, data in dumps.values())
    with psycopg.connect(dsn(target_url)) as dst:
        start = time.perf_counter()
        with dst.transaction():
            for table in TABLES:
                cols, data = dumps[table]
                with dst.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    copy.write(data)
        elapsed = time.perf_counter() - start
    return rows, elapsed


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()

    scratch = ScratchDatabases(args.postgres_url)
    try:
        url = _new_pg(scratch)
        p1, l1, inserted, _ = _timed_import(url, args.data)
        p2, l2, re_inserted, re_updated = _timed_import(url, args.data)
        url_b = _new_pg(scratch)
        copy_rows, copy_s = _copy_rate(url, url_b)
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = f"sqlite:///{tmp}/bench.db"
            engine = make_engine(sqlite_url)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
            sp, sl, _, _ = _timed_import(sqlite_url, args.data)
    finally:
        scratch.drop_all()

    total = p1 + l1
    import_rate = inserted / total
    load_rate = inserted / l1
    copy_rate = copy_rows / copy_s
    load = os.getloadavg()[0]
    print(f"rows imported:                 {inserted}   (load average {load:.1f} at the end)")
    print(
        f"PostgreSQL import:             {total:.2f} s (parse {p1:.2f} s + load {l1:.2f} s; "
        f"client CPU {CPU_SECONDS[0]:.2f} s)"
    )
    print(
        f"PostgreSQL re-import:          {p2 + l2:.2f} s "
        f"(parse {p2:.2f} s + load {l2:.2f} s; client CPU {CPU_SECONDS[1]:.2f} s; "
        f"{re_inserted} inserted, {re_updated} updated)"
    )
    print(
        f"import throughput:             {import_rate:,.0f} rows/s "
        f"(load only: {load_rate:,.0f} rows/s)"
    )
    print(
        f"PostgreSQL COPY, same rows:    {copy_rows} rows in {copy_s:.2f} s = "
        f"{copy_rate:,.0f} rows/s"
    )
    print(
        f"import / COPY:                 {import_rate / copy_rate:.0%} "
        f"(load only: {load_rate / copy_rate:.0%})"
    )
    print(
        f"SQLite import:                 {sp + sl:.2f} s (parse {sp:.2f} s + load {sl:.2f} s; "
        f"CPU {CPU_SECONDS[2]:.2f} s)"
    )


if __name__ == "__main__":
    main()
