"""Benchmark repairing databases the earlier fix ran on, against the pristine legacy upgrade.

Run: .venv/bin/python benchmarks/bench_earlier.py [--postgres-url URL] [--data DIR] [--runs N]
(or `make bench-earlier`).

Builds the legacy database of the whole corpus (../shared/data/leagues, as the old import
stored it), and from copies of it the two shapes the earlier fix left
(tests/legacy/earlier_steps.py: its script; its script and revision). Then, interleaving the
shapes run by run on fresh copies, times `rally db upgrade --no-backup` end to end (the
command an operator runs, process start included) and `migrate.upgrade` in process, and
prints each earlier shape's repair time as a ratio to the pristine upgrade of the same data
measured in the same run. `rally db plan` is timed per shape too. Throwaway databases are
dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "legacy"))

from earlier_steps import SHAPES, put_through  # noqa: E402
from legacy_builder import build_from_corpus  # noqa: E402
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases  # noqa: E402

from rally.db import make_engine, migrate  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "leagues"
RALLY = str(Path(sys.executable).parent / "rally")


def cli(*args: str) -> tuple[float, str]:
    """Run `rally ARGS`; return (seconds, stdout)."""
    started = time.perf_counter()
    result = subprocess.run([RALLY, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"rally {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return time.perf_counter() - started, result.stdout


def in_process(url: str) -> float:
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        migrate.upgrade(engine)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    admin = ScratchDatabases(args.postgres_url, prefix="rally_bench_earlier")
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} ({os.cpu_count()} CPUs, shared machine)")  # fmt: skip
    try:
        builder = build_from_corpus(args.data)
        pristine = admin.create()
        engine = make_engine(pristine)
        with engine.begin() as conn:
            builder.load(conn)
        engine.dispose()
        print(f"legacy database of the corpus: {sum(builder.counts().values())} rows")
        templates = {}
        for shape in SHAPES:
            url = admin.create(make_url(pristine).database)
            put_through(url, shape)
            templates[shape] = make_url(url).database
            _, out = cli("db", "plan", "--json", "--database-url", url)
            found = json.loads(out).get("earlier")
            if found:
                print(f"  {shape}: {found['rows_misplaced']} of {found['rows_checked']} checked "
                      f"rows on another league's series or a renamed one; "
                      f"{found['renamed_count']} renamed series")  # fmt: skip

        timings: dict[str, dict[str, list[float]]] = {
            s: {"cli": [], "inproc": [], "plan": []} for s in SHAPES
        }
        for _ in range(args.runs):
            for shape in SHAPES:
                url = admin.create(templates[shape])
                timings[shape]["plan"].append(cli("db", "plan", "--database-url", url)[0])
                timings[shape]["cli"].append(
                    cli("db", "upgrade", "--no-backup", "--database-url", url)[0]
                )
                admin.drop(url)
                url = admin.create(templates[shape])
                timings[shape]["inproc"].append(in_process(url))
                admin.drop(url)

        base = {k: statistics.median(v) for k, v in timings[SHAPES[0]].items()}
        print(
            f"\nmedian of {args.runs} runs per shape, shapes interleaved; ratio = shape / pristine"
        )
        print(f"{'shape':<27} {'rally db upgrade':>17} {'ratio':>6} {'in process':>11} "
              f"{'ratio':>6} {'rally db plan':>14} {'ratio':>6}")  # fmt: skip
        for shape in SHAPES:
            m = {k: statistics.median(v) for k, v in timings[shape].items()}
            print(f"{shape:<27} {m['cli']:>15.2f} s {m['cli'] / base['cli']:>6.2f} "
                  f"{m['inproc']:>9.2f} s {m['inproc'] / base['inproc']:>6.2f} "
                  f"{m['plan']:>12.2f} s {m['plan'] / base['plan']:>6.2f}")  # fmt: skip
        print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
              f"{os.getloadavg()[2]:.2f}")  # fmt: skip
    finally:
        admin.drop_all()


if __name__ == "__main__":
    main()
