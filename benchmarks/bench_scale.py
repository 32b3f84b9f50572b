"""Import and legacy-migration time and peak memory at growing scale, on PostgreSQL.

Usage:
    .venv/bin/python benchmarks/bench_scale.py [--scales 1 10 100] [--postgres-url URL]

For each scale it generates synthetic leagues (`rally generate --scale X`), then, each in a
child process so that peak memory (the child's max RSS) is the step's own:

- import: a new database at head, `rally etl import` of the generated folders through the
  `rally` command (peak RSS is that process's), then a plain COPY of the very same rows into
  another database in the same run (the import's rate as a share of COPY's), then a
  re-import of the unchanged folders (its time as a share of the first import's);
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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from import_figures import copy_seconds, count_rows, load_average, run_rally
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases

REPO = Path(__file__).resolve().parents[1]


def _child(step: str, data: str, url: str) -> dict[str, float]:
    """Run one step in this process (called in a child) and return its figures."""
    from rally.db import make_engine
    from rally.db.migrate import upgrade

    engine = make_engine(url)
    rows = 0
    if step == "legacy":
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


def _import_step(data: Path, scratch: ScratchDatabases, runs: int) -> dict[str, float]:
    """`rally etl import` as a user runs it, then COPY of the same rows (``runs`` times each,
    taking turns, each into new databases: medians), then a re-import."""
    imports: list[float] = []
    copies: list[float] = []
    peaks: list[float] = []
    for _run in range(max(1, runs)):
        url = scratch.create()
        target = scratch.create()
        for database in (url, target):
            _s, _m, code, output = run_rally("db", "upgrade", "--database-url", database)
            if code:
                raise SystemExit(f"rally db upgrade failed:\n{output}")
        seconds, peak, code, output = run_rally("etl", "import", str(data), "--database-url", url)
        if code not in (0, 3):
            raise SystemExit(f"import exited {code}:\n{output[-3000:]}")
        rows = count_rows(url)
        copy_rows, copy_s = copy_seconds(url, target)
        imports.append(seconds)
        copies.append(copy_s)
        peaks.append(peak)
    seconds, copy_s, peak = statistics.median(imports), statistics.median(copies), max(peaks)
    if len(imports) > 1:
        print(
            f"  imports {', '.join(f'{s:.2f}' for s in imports)} s; "
            f"COPYs {', '.join(f'{s:.2f}' for s in copies)} s (medians compared)",
            flush=True,
        )
    again, _peak, code, output = run_rally("etl", "import", str(data), "--database-url", url)
    if code not in (0, 3):
        raise SystemExit(f"re-import exited {code}:\n{output[-3000:]}")
    return {
        "seconds": seconds,
        "rows": rows,
        "peak_mib": peak,
        "copy_ratio": (rows / seconds) / (copy_rows / copy_s),
        "reimport_seconds": again,
        "rewritten": count_rows(url) - rows,
    }


def _run_step(step: str, data: Path, admin_url: str, runs: int = 1) -> dict[str, float]:
    scratch = ScratchDatabases(admin_url, prefix="rally_scale")
    if step == "import":
        try:
            return _import_step(data, scratch, runs)
        finally:
            scratch.drop_all()
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
    parser.add_argument("--steps", nargs="+", default=["import"], choices=["import", "migrate"])
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="imports and COPYs at scale 1 and below (medians compared; larger scales run once)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(*args.child)))
        return

    results: dict[str, list[tuple[float, dict[str, float]]]] = {s: [] for s in args.steps}
    for scale in sorted(args.scales):
        with tempfile.TemporaryDirectory(prefix="rally-scale-") as tmp:
            started = time.perf_counter()
            # In a process of its own: the generator holds gigabytes at scale 100, and a
            # child forked from this process would report them as its peak RSS (Linux
            # keeps the parent's high-water mark in the child's ru_maxrss).
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys; from rally.synth import generate; "
                    "generate(sys.argv[1], scale=float(sys.argv[2]), seed=1)",
                    str(Path(tmp) / "leagues"),
                    str(scale),
                ],
                check=True,
            )
            print(
                f"scale {scale:g}: generated in {time.perf_counter() - started:.1f} s", flush=True
            )
            for step in args.steps:
                runs = args.runs if scale <= 1 else 1
                figures = _run_step(step, Path(tmp) / "leagues", args.postgres_url, runs)
                results[step].append((scale, figures))
                extra = ""
                if step == "import":
                    extra = (
                        f"  {figures['rows'] / figures['seconds']:,.0f} rows/s, "
                        f"{figures['copy_ratio']:.0%} of COPY; re-import "
                        f"{figures['reimport_seconds']:.2f} s "
                        f"({figures['reimport_seconds'] / figures['seconds']:.0%}, "
                        f"{int(figures['rewritten'])} rows added)"
                    )
                print(
                    f"scale {scale:g}: {step:7} {figures['seconds']:8.2f} s "
                    f"{int(figures['rows']):>10,} rows  peak {figures['peak_mib']:7.0f} MiB"
                    f"{extra}  load average {load_average()}",
                    flush=True,
                )
    print()
    print(f"load average at the end (1/5/15 min): {load_average()}")
    print("| step | scale | rows | seconds | rows/s | peak MiB | rows ratio | time ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for step, runs in results.items():
        _, base = runs[0]
        for scale, f in runs:
            print(
                f"| {step} | {scale:g} | {int(f['rows']):,} | {f['seconds']:.2f} | "
                f"{f['rows'] / f['seconds']:,.0f} | {f['peak_mib']:.0f} | "
                f"{f['rows'] / base['rows']:.1f} | {f['seconds'] / base['seconds']:.1f} |"
            )
    runs = results.get("import", [])
    if runs:
        print()
        print("| scale | import / COPY rate | re-import / import time | µs per row |")
        print("|---|---|---|---|")
        for scale, f in runs:
            print(
                f"| {scale:g} | {f['copy_ratio']:.0%} | "
                f"{f['reimport_seconds'] / f['seconds']:.0%} | "
                f"{1e6 * f['seconds'] / f['rows']:.0f} |"
            )


if __name__ == "__main__":
    main()
