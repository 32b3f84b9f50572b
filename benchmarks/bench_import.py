"""Benchmark `rally etl import` on the real corpus, through the `rally` command.

Run: .venv/bin/python benchmarks/bench_import.py [--postgres-url URL] [--data DIR]

Creates throwaway databases (dropped at the end), migrates them to head, and prints, each
measured as a user meets it (a `rally` child process, start-up included):

- PostgreSQL: first import of the whole corpus (time, rows, rows/s, peak RSS; the median of
  --runs imports, each into a new database); re-import of the unchanged corpus (time, rows
  rewritten, ratio to the first import: goal <= 20 %);
- a plain COPY of the very same rows into the same tables of another database, taking
  turns with the imports in the same run (median of --runs), and the import's rate as a
  share of COPY's (goal >= 50 %);
- SQLite: first import and re-import;
- the floor of any `rally` command: `rally --help` (median of 5 starts), next to the
  re-import, which answers unchanged input before loading SQLAlchemy or the importer.

And the load average: the machine is shared, wall times move with it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from import_figures import copy_seconds, count_rows, load_average, run_rally
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "leagues"


def _new_db(url: str) -> str:
    _seconds, _mib, code, output = run_rally("db", "upgrade", "--database-url", url)
    if code:
        raise SystemExit(f"rally db upgrade failed:\n{output}")
    return url


def _import(url: str, data: Path) -> tuple[float, float, int, str]:
    seconds, mib, code, output = run_rally("etl", "import", str(data), "--database-url", url)
    if code not in (0, 3):
        raise SystemExit(f"rally etl import exited {code}:\n{output}")
    return seconds, mib, code, output


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="first imports (each into a new database) and COPYs; medians are compared",
    )
    args = parser.parse_args()

    scratch = ScratchDatabases(args.postgres_url)
    try:
        # Import and COPY take turns, each into a database of its own, so that both meet
        # the same moments of the machine; the medians are compared.
        imports: list[float] = []
        peaks: list[float] = []
        copies: list[float] = []
        for _run in range(max(1, args.runs)):
            url = _new_db(scratch.create())
            seconds, peak, code, _ = _import(url, args.data)
            imports.append(seconds)
            peaks.append(peak)
            rows = count_rows(url)
            copy_rows, copy_s = copy_seconds(url, _new_db(scratch.create()))
            copies.append(copy_s)
        first, copy_s = statistics.median(imports), statistics.median(copies)
        first_mib = max(peaks)
        again, again_mib, again_code, again_out = _import(url, args.data)
        rewritten = count_rows(url) - rows
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = _new_db(f"sqlite:///{tmp}/bench.db")
            s_first, _, _, _ = _import(sqlite_url, args.data)
            s_again, _, _, _ = _import(sqlite_url, args.data)
    finally:
        scratch.drop_all()

    helps = sorted(run_rally("--help")[0] for _ in range(5))
    rate, copy_rate = rows / first, copy_rows / copy_s
    skipped = again_out.count("input unchanged")
    print(f"load average (1/5/15 min): {load_average()}")
    print(
        f"PostgreSQL import:    {first:6.2f} s  {rows:,} rows  {rate:,.0f} rows/s  "
        f"peak {first_mib:.0f} MiB  exit {code}  (median of {len(imports)}: "
        f"{', '.join(f'{s:.2f}' for s in imports)} s)"
    )
    print(
        f"PostgreSQL re-import: {again:6.2f} s  {rewritten} rows added, {skipped} league(s) "
        f"recognised unchanged  peak {again_mib:.0f} MiB  exit {again_code}  "
        f"= {again / first:.0%} of the first import (goal <= 20 %)"
    )
    print(
        f"PostgreSQL COPY:      {copy_s:6.2f} s  {copy_rows:,} rows  {copy_rate:,.0f} rows/s "
        f"(median of {len(copies)}: {', '.join(f'{s:.2f}' for s in copies)} s); "
        f"import = {rate / copy_rate:.0%} of COPY's rate (goal >= 50 %)"
    )
    print(
        f"SQLite import:        {s_first:6.2f} s; re-import {s_again:.2f} s "
        f"({s_again / s_first:.0%})"
    )
    print(
        f"rally --help:         {helps[2]:6.2f} s (median of 5: the floor of any rally "
        f"command; the PostgreSQL re-import is {again / helps[2]:.1f}x it)"
    )


if __name__ == "__main__":
    main()
