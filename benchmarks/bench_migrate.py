"""Benchmark upgrading a legacy production database of the whole corpus in place.

Run: .venv/bin/python benchmarks/bench_migrate.py [--postgres-url URL] [--data DIR] [--runs N]

Builds a legacy-schema database from ../shared/data/leagues the way the old import stored it
(tests/legacy/legacy_builder.py), then times, separately: `plan` (read-only analysis),
`backup` (pg_dump custom format + pg_restore --list verification), `upgrade` without backup
(median and max over --runs copies), `downgrade legacy` and `restore`. While each upgrade runs,
a concurrent writer probes UPDATEs on players/teams/series with a 20 ms lock_timeout every
~5 ms; the span between its first and last blocked probe is the time application writes are
blocked. The upgrade's own timestamps (first ACCESS EXCLUSIVE lock -> commit) are printed too.
It also times the `rally db ...` commands end to end (process start included).
Target: upgrade < 2 s without the backup. Throwaway databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "legacy"))

from legacy_builder import build_from_corpus  # noqa: E402
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases  # noqa: E402

from rally.db import make_engine, migrate  # noqa: E402
from rally.legacy import backup as backup_mod  # noqa: E402
from rally.legacy.plan import build_plan  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "leagues"
PROBES = (
    "UPDATE players SET updated_at = updated_at WHERE id = 1",
    "UPDATE teams SET updated_at = updated_at WHERE id = 1",
    "UPDATE series SET updated_at = updated_at WHERE id = 1",
)


class WriteProbe(threading.Thread):
    """A concurrent application writer: records when its writes are refused for locks."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.stop = threading.Event()
        self.blocked: list[float] = []
        self.ok = 0

    def run(self) -> None:
        n = 0
        with self.engine.connect() as conn:
            while not self.stop.is_set():
                n += 1
                try:
                    with conn.begin():
                        conn.execute(sa.text("SET LOCAL lock_timeout = '20ms'"))
                        conn.execute(sa.text(PROBES[n % len(PROBES)]))
                    self.ok += 1
                except sa.exc.DBAPIError:
                    self.blocked.append(time.perf_counter())
                time.sleep(0.005)
        self.engine.dispose()

    @property
    def window(self) -> float:
        return (self.blocked[-1] - self.blocked[0]) if self.blocked else 0.0


def timed_upgrade(url: str) -> tuple[float, float, float, int]:
    """Upgrade without backup under a write probe: (total s, lock window s, probe s, refusals)."""
    stamps: dict[str, float] = {}

    def log(message: str) -> None:
        if "dropping legacy constraints" in message:
            stamps.setdefault("locks", time.perf_counter())

    probe = WriteProbe(url)
    probe.start()
    time.sleep(0.1)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        migrate.upgrade(engine, log=log)
    finally:
        committed = time.perf_counter()
        engine.dispose()
    time.sleep(0.1)
    probe.stop.set()
    probe.join()
    return committed - started, committed - stamps["locks"], probe.window, len(probe.blocked)


def cli(*args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rally"), *args], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"rally {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    admin = ScratchDatabases(args.postgres_url, prefix="rally_bench_migrate")
    try:
        t0 = time.perf_counter()
        builder = build_from_corpus(args.data)
        legacy = admin.create()
        engine = make_engine(legacy)
        with engine.begin() as conn:
            builder.load(conn)
        counts = builder.counts()
        print(f"legacy database built in {time.perf_counter() - t0:.1f}s: "
              f"{counts['players']} players, {counts['teams']} teams, {counts['series']} series, "
              f"{counts['match_scores']} match scores, {sum(counts.values())} rows in all")  # fmt: skip

        t0 = time.perf_counter()
        plan = build_plan(engine)
        plan_s = time.perf_counter() - t0
        data = plan["data"]["series"]
        print(f"plan:      {plan_s:6.2f} s  ({data['shared_by_several_leagues']} shared series, "
              f"{data['rows_to_create']} rows to create, blockers: {len(plan['blockers'])})")  # fmt: skip

        with tempfile.TemporaryDirectory() as tmp:
            info = backup_mod.backup(engine, Path(tmp) / "legacy.dump")
            engine.dispose()
            print(f"backup:    {info.seconds:6.2f} s  ({info.size / 1e6:.1f} MB, "
                  f"{info.entries} entries verified with pg_restore --list)")  # fmt: skip

            totals, windows, probes = [], [], []
            template = make_url(legacy).database
            assert template is not None
            upgraded = ""
            for _ in range(args.runs):
                upgraded = admin.create(template)
                total, window, probe, refusals = timed_upgrade(upgraded)
                totals.append(total)
                windows.append(window)
                probes.append(probe)
            print(f"upgrade:   {statistics.median(totals):6.2f} s  median of {args.runs} "
                  f"(max {max(totals):.2f} s), without backup; target < 2 s")  # fmt: skip
            print(f"  writes blocked (first lock -> commit, upgrade's timestamps): "
                  f"median {statistics.median(windows):.2f} s, max {max(windows):.2f} s")  # fmt: skip
            print(f"  writes blocked (concurrent writer, first -> last refused probe): "
                  f"median {statistics.median(probes):.2f} s, max {max(probes):.2f} s "
                  f"({refusals} refusals in the last run)")  # fmt: skip

            engine = make_engine(upgraded)
            t0 = time.perf_counter()
            migrate.downgrade(engine, revision="legacy")
            print(f"downgrade: {time.perf_counter() - t0:6.2f} s  (legacy shape restored)")
            t0 = time.perf_counter()
            backup_mod.restore(engine, info.path, force=True)
            print(
                f"restore:   {time.perf_counter() - t0:6.2f} s  (--force over a non-empty database)"
            )
            engine.dispose()

            fresh = admin.create(template)
            print("end to end, `rally db ...` including process start:")
            print(f"  plan      {cli('db', 'plan', '--database-url', fresh):6.2f} s")
            dump = str(Path(tmp) / "cli.dump")
            print(f"  backup    {cli('db', 'backup', dump, '--database-url', fresh):6.2f} s")
            up = cli("db", "upgrade", "--no-backup", "--database-url", fresh)
            print(f"  upgrade   {up:6.2f} s  (--no-backup)")
            print(f"  verify    {cli('db', 'verify', '--database-url', fresh):6.2f} s")
            print(f"  startup   {cli('--help'):6.2f} s  (`rally --help`, for reference)")
    finally:
        admin.drop_all()


if __name__ == "__main__":
    main()
