"""Import and legacy-migration time and peak memory at growing scale, on PostgreSQL.

Usage:
    .venv/bin/python benchmarks/bench_scale.py [--scales 1 10 100] [--postgres-url URL]

For each scale it generates synthetic leagues (`rally generate --scale X`), then, each in a
child process so that peak memory (the child's max RSS) is the step's own:

- import: a new database at head, `rally etl import` of the generated folders;
- migrate: a new database loaded in the legacy shape the way the old import did (series
  shared across leagues; tests/legacy/legacy_builder.py, in a process of its own), then
  `rally db upgrade` without backup (the data split and re-pointing in one transaction).

It prints seconds, rows and peak MiB per step and scale, and the growth ratio of time and
rows against the smallest scale: close to linear means time ratio ~ rows ratio.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases

REPO = Path(__file__).resolve().parents[1]


def _child(step: str, data: str, url: str) -> dict[str, float]:
    """Run one step in this process (called in a child) and return its figures."""
    from rally.db import make_engine
    from rally.db.migrate import upgrade

    engine = make_engine(url)
    rows = 0
    if step == "import":
        from rally.etl.importer import import_paths

        upgrade(engine)
        started = time.perf_counter()
        report = import_paths(engine, [Path(data)])
        elapsed = time.perf_counter() - started
        failed = [r.league for r in report.leagues.values() if r.error]
        if failed:
            raise SystemExit(f"import failed for {failed}")
    elif step == "legacy":
        sys.path.insert(0, str(REPO / "tests" / "legacy"))
        sys.path.insert(0, str(REPO / "tests"))
        from legacy_builder import build_from_corpus  # type: ignore[import-not-found]
        from legacy_helpers import load_legacy  # type: ignore[import-not-found]

        started = time.perf_counter()
        load_legacy(url, build_from_corpus(Path(data)))
        elapsed = time.perf_counter() - started
    else:
        started = time.perf_counter()
        upgrade(engine)
        elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        for table in ("players", "series_stats", "schedule", "match_scores", "teams"):
            rows += int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": elapsed, "rows": rows, "peak_mib": peak_mib}


def _child_process(step: str, data: Path, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, str(data), url],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"{step} failed:\n{out.stderr.strip()[-3000:]}")
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _run_step(step: str, data: Path, admin_url: str) -> dict[str, float]:
    scratch = ScratchDatabases(admin_url, prefix="rally_scale")
    url = scratch.create()
    try:
        if step == "migrate":
            # Build the legacy database in its own process: the upgrade's peak is its own.
            _child_process("legacy", data, url)
        return _child_process(step, data, url)
    finally:
        scratch.drop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0, 100.0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--steps", nargs="+", default=["import", "migrate"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return

    from rally.synth import generate

    results: dict[str, list[tuple[float, dict[str, float]]]] = {s: [] for s in args.steps}
    for scale in sorted(args.scales):
        with tempfile.TemporaryDirectory(prefix="rally-scale-") as tmp:
            started = time.perf_counter()
            generate(Path(tmp) / "leagues", scale=scale, seed=1)
            print(
                f"scale {scale:g}: generated in {time.perf_counter() - started:.1f} s", flush=True
            )
            for step in args.steps:
                figures = _run_step(step, Path(tmp) / "leagues", args.postgres_url)
                results[step].append((scale, figures))
                print(
                    f"scale {scale:g}: {step:7} {figures['seconds']:8.2f} s "
                    f"{int(figures['rows']):>10,} rows  peak {figures['peak_mib']:7.0f} MiB",
                    flush=True,
                )
    print()
    print("| step | scale | rows | seconds | peak MiB | rows ratio | time ratio |")
    print("|---|---|---|---|---|---|---|")
    for step, runs in results.items():
        _, base = runs[0]
        for scale, f in runs:
            print(
                f"| {step} | {scale:g} | {int(f['rows']):,} | {f['seconds']:.2f} | "
                f"{f['peak_mib']:.0f} | {f['rows'] / base['rows']:.1f} | "
                f"{f['seconds'] / base['seconds']:.1f} |"
            )


if __name__ == "__main__":
    main()
