"""Benchmark the plan and the resolving upgrade of a damaged legacy database.

Run: .venv/bin/python benchmarks/bench_damaged.py [--scales 1 10] [--rows-per-kind 20]

For each scale (1: the ../shared corpus; N > 1: `rally generate --scale N`), builds the legacy
database as the old import did (tests/legacy/legacy_builder.py), then a copy carrying every
kind of damage of tests/legacy/damage.py on --rows-per-kind rows each, and times:

- clean upgrade: `rally.db.migrate.upgrade` of a copy of the clean database (the reference);
- plan: `rally db plan`'s dry run (`build_plan`) of the damaged database;
- resolving upgrade: `migrate.upgrade(resolve=True)` of a copy of the damaged database;
- end to end: `rally db upgrade --resolve --no-backup` (its plan check + upgrade + process
  start) on another copy;

each also as a multiple of the clean upgrade measured in the same run. Prints the load
average: the machine may be shared. Throwaway databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "legacy"))

from bench_migrate import cli  # noqa: E402
from damage import DAMAGE  # noqa: E402
from legacy_builder import build_from_corpus  # noqa: E402
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases  # noqa: E402

from rally.db import make_engine, migrate  # noqa: E402
from rally.legacy.plan import build_plan  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "leagues"


def timed(work) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def upgrade(url: str, *, resolve: bool) -> float:
    engine = make_engine(url)
    try:
        return timed(lambda: migrate.upgrade(engine, resolve=resolve))
    finally:
        engine.dispose()


def one_scale(admin: ScratchDatabases, data: Path, label: str, per_kind: int) -> None:
    started = time.perf_counter()
    builder = build_from_corpus(data)
    clean = admin.create()
    engine = make_engine(clean)
    with engine.begin() as conn:
        builder.load(conn)
    engine.dispose()
    rows = sum(builder.counts().values())
    clean_name = make_url(clean).database
    assert clean_name is not None
    damaged = admin.create(clean_name)
    engine = make_engine(damaged)
    with engine.begin() as conn:
        for n, kind in enumerate(sorted(DAMAGE)):
            for k in range(per_kind):
                DAMAGE[kind](conn, builder, n * per_kind + k)
    plan_s = timed(lambda: build_plan(engine, resolve=True))
    plan = build_plan(engine, resolve=True)
    engine.dispose()
    fixed = sum(r["count"] for r in plan["resolutions"])
    print(
        f"{label}: {rows} legacy rows (built in {time.perf_counter() - started:.0f} s); damage: "
        f"{len(DAMAGE)} kinds x {per_kind} rows -> {len(plan['resolutions'])} resolutions, "
        f"{fixed} rows resolved, blockers {len(plan['blockers'])}",
        flush=True,
    )
    damaged_name = make_url(damaged).database
    assert damaged_name is not None
    reference = upgrade(admin.create(clean_name), resolve=False)
    resolving = upgrade(admin.create(damaged_name), resolve=True)
    end_to_end = cli(
        "db", "upgrade", "--resolve", "--no-backup", "--database-url", admin.create(damaged_name)
    )
    for name, seconds in (
        ("clean upgrade (reference)", reference),
        ("plan of the damaged database", plan_s),
        ("resolving upgrade", resolving),
        ("`rally db upgrade --resolve` end to end", end_to_end),
    ):
        print(f"  {name:<42} {seconds:7.2f} s  {seconds / reference:5.2f} x clean upgrade")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--rows-per-kind", type=int, default=20)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    admin = ScratchDatabases(args.postgres_url, prefix="rally_bench_damaged")
    try:
        for scale in args.scales:
            if scale == 1:
                one_scale(admin, args.data, "corpus (scale 1)", args.rows_per_kind)
                continue
            from rally.synth import generate

            with tempfile.TemporaryDirectory() as tmp:
                generate(Path(tmp) / "leagues", scale=scale, seed=1)
                one_scale(admin, Path(tmp) / "leagues", f"scale {scale:g}", args.rows_per_kind)
    finally:
        admin.drop_all()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
