"""Online vs offline legacy upgrade, with the old application writing all along.

Run: .venv/bin/python benchmarks/bench_online.py [--scales 1 10 100] [--postgres-url URL]
     [--no-offline]   (make bench-online)

For each scale it generates synthetic leagues (`rally generate --scale X`, seed 1), builds a
legacy database from them the way the old import stored it (bench_scale.py's child process),
and copies it twice. On each copy a concurrent writer (tests/legacy/online_writer.py: the old
application's legacy-shaped single-row inserts and updates, one every ~3 ms, series looked
up by name) runs while the `rally` command upgrades:

- offline (the reference): `rally db upgrade --no-backup`, one transaction;
- online: `rally db upgrade --online --no-backup`, then (writer stopped: the old application
  is gone) `rally db upgrade --finalize`.

It prints, per scale and mode: the longest write stall (overall, inside the backfill phases,
inside batched steps, and per phase including the window step), the writer's p99 latency,
its errors (the offline figure counts the writes that fail after the commit, which is why the
old application must be stopped for it), rows the writer left on another league's series,
and the online time (upgrade + finalize) as a ratio to the offline time. Goals: stall < 1 s at every scale and < 200 ms in batched phases; 0 errors.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "legacy"))

from bench_scale import _child_process  # noqa: E402
from online_writer import LegacyWriter  # noqa: E402
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases  # noqa: E402

from rally.db import make_engine  # noqa: E402

RALLY = str(Path(sys.executable).parent / "rally")
# The phases of the 0002 steps, then those of revisions 0003-0007 built before the window
# (step names "head expand: ..."), then the window step itself.
PHASES = ("expand", "backfill", "contract", "head expand", "head backfill", "head contract",
          "window")  # fmt: skip
WINDOW = "contract: stamp head"


def rally(*args: str) -> float:
    started = time.perf_counter()
    out = subprocess.run([RALLY, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"rally {' '.join(args)} failed:\n{out.stdout}{out.stderr}")
    return time.perf_counter() - started


def log_lines(log: Path, clock_offset: float) -> list[tuple[float, str]]:
    """(time on the writer's perf_counter clock, message) of each --log-file line."""
    out = []
    for line in log.read_text().splitlines():
        stamp, _, message = line.partition(" ")
        out.append((datetime.fromisoformat(stamp).timestamp() - clock_offset, message))
    return out


def phase_windows(lines: list[tuple[float, str]], end: float) -> dict[str, tuple[float, float]]:
    """Phase -> (start, end) from the upgrade's log lines; the last phase ends at `end`."""
    first: dict[str, float] = {}
    for at, message in lines:
        phase = "window" if message.startswith(WINDOW) else message.split(":", 1)[0]
        if phase in PHASES:
            first.setdefault(phase, at)
    seen = [p for p in PHASES if p in first]
    bounds = [first[p] for p in seen] + [end]
    return {p: (bounds[i], bounds[i + 1]) for i, p in enumerate(seen)}


class WaitSampler(threading.Thread):
    """Polls pg_stat_activity every 10 ms: what each backend of the database waits on.

    For the longest stalls the benchmark prints what the sessions were waiting on meanwhile
    (a lock of the upgrade's batch, WAL flush, a checkpoint...), to tell the causes apart.
    """

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.stop_event = threading.Event()
        self.samples: list[tuple[float, int, str, str]] = []  # (perf time, pid, wait, query)

    def run(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SET application_name = 'bench-sampler'"))
            while not self.stop_event.is_set():
                rows = conn.execute(
                    sa.text(
                        "SELECT pid, coalesce(wait_event_type || '/' || wait_event, 'CPU'), "
                        "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state = 'active'"
                    )
                ).all()
                conn.commit()
                now = time.perf_counter()
                self.samples += [(now, int(p), str(w), str(q)) for p, w, q in rows]
                time.sleep(0.01)

    def during(self, start: float, end: float) -> list[str]:
        """The waits seen between start and end, most frequent first, with their counts.

        A gap between polls much longer than 10 ms means this process itself got no CPU
        (a busy machine): the stall is then the client's as much as the database's.
        """
        seen = Counter(f"{w} [{q}]" for at, _p, w, q in self.samples if start <= at <= end)
        polls = sorted({at for at, *_ in self.samples if start - 0.1 <= at <= end + 0.1})
        gap = max((b - a for a, b in pairwise(polls)), default=end - start)
        return [f"longest gap between polls {gap * 1000:.0f} ms"] + [
            f"{n}x {what}" for what, n in seen.most_common(6)
        ]

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)
        self.engine.dispose()


def measure(url: str, mode: str, tmp: Path) -> dict[str, float]:
    writer = LegacyWriter(url, seed=7)
    sampler = WaitSampler(url)
    sampler.start()
    writer.start()
    time.sleep(0.5)
    offset = time.time() - time.perf_counter()
    log = tmp / f"{mode}.log"
    args = ["db", "upgrade", "--no-backup", "--database-url", url, "--log-file", str(log)]
    seconds = rally(*args, *(["--online"] if mode == "online" else []))
    ended = time.perf_counter()
    time.sleep(0.5)
    stats = writer.stop()
    sampler.stop()
    figures = {
        "seconds": seconds,
        "stall": stats.longest(),
        "p99": stats.p99(),
        "errors": float(len(stats.errors)),
        "writes": float(len(stats.latencies)),
    }
    if mode == "online":
        lines = log_lines(log, offset)
        windows = phase_windows(lines, ended)
        figures["backfill_stall"] = max(
            stats.longest(*windows[p]) for p in ("backfill", "head backfill") if p in windows
        )
        for phase in PHASES:
            # A write that started before the end of a phase and stalled into the next one
            # counts for the phase it started in.
            figures[f"stall:{phase}"] = stats.longest(*windows.get(phase, (0.0, 0.0)))
        figures["batch_stall"] = max(
            (seconds for started, seconds in stats.latencies
             if "in batches" in next((m for at, m in reversed(lines) if at <= started), "")),
            default=0.0,
        )  # fmt: skip
        for started, seconds in sorted(stats.latencies, key=lambda x: -x[1])[:3]:
            step = next((m for at, m in reversed(lines) if at <= started), "before the upgrade")
            print(f"  online stall {seconds * 1000:.0f} ms during: {step[:100]}", flush=True)
            for wait in sampler.during(started, started + seconds):
                print(f"    sessions meanwhile: {wait}", flush=True)
            for at, message in lines:
                if started - 1.0 <= at <= started + seconds and "batch of" in message:
                    print(f"    upgrade log: {message[:150]}", flush=True)
        figures["finalize"] = rally("db", "upgrade", "--finalize", "--database-url", url)
        figures["misplaced"] = float(len(writer.misplaced(url)))
        if stats.errors:
            print(f"  online writer errors, e.g. {stats.errors[:3]}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument(
        "--no-offline",
        action="store_true",
        help="skip the offline reference (slow at scale 100: revision 0004's link UPDATE)",
    )
    args = parser.parse_args()
    from rally.synth import generate

    rows = []
    for scale in args.scales:
        scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_online")
        try:
            with tempfile.TemporaryDirectory(prefix="rally-online-") as tmp:
                data = Path(tmp) / "leagues"
                generate(data, scale=scale, seed=1)
                legacy = scratch.create()
                built = _child_process("legacy", data, legacy)
                template = make_url(legacy).database
                assert template is not None
                # Online first: its figures are printed even if the offline reference is
                # cut short.
                online_url, offline_url = scratch.create(template), scratch.create(template)
                online = measure(online_url, "online", Path(tmp))
                print(f"scale {scale:g}: online {online['seconds']:.1f} s + finalize "
                      f"{online['finalize']:.1f} s, longest stall {online['stall'] * 1000:.0f} "
                      f"ms, p99 {online['p99'] * 1000:.0f} ms, errors {online['errors']:.0f} "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
                offline = None if args.no_offline else measure(offline_url, "offline", Path(tmp))
        finally:
            scratch.drop_all()
        rows.append((scale, int(built["rows"]), offline, online))
        if offline:
            print(f"scale {scale:g}: offline {offline['seconds']:.1f} s "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
        # The table so far after every scale: a long run cut short keeps its figures.
        print_table(rows)


def print_table(
    rows: list[tuple[float, int, dict[str, float] | None, dict[str, float]]],
) -> None:
    """Print the figures of the scales measured so far as a Markdown table."""
    print()
    print("| scale | rows | mode | total s | ratio | longest stall | in backfill | in batches | "
          "writer p99 | writes | errors | misplaced |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for scale, n, off, on in rows:
        total = on["seconds"] + on["finalize"]
        if off:
            print(f"| {scale:g} | {n:,} | offline | {off['seconds']:.1f} | 1.0 | "
                  f"{off['stall'] * 1000:.0f} ms | - | - | {off['p99'] * 1000:.0f} ms | "
                  f"{off['writes']:.0f} | {off['errors']:.0f} | - |")  # fmt: skip
        ratio = f"{total / off['seconds']:.1f}" if off else "-"
        print(f"| {scale:g} | {n:,} | online | {on['seconds']:.1f} + {on['finalize']:.1f} | "
              f"{ratio} | {on['stall'] * 1000:.0f} ms | "
              f"{on['backfill_stall'] * 1000:.0f} ms | {on['batch_stall'] * 1000:.0f} ms | "
              f"{on['p99'] * 1000:.0f} ms | "
              f"{on['writes']:.0f} | {on['errors']:.0f} | {on['misplaced']:.0f} |")  # fmt: skip
    print()
    print(
        "Online, longest write stall per phase (window = `contract: stamp head`, the step that "
        "opens the window; head = revisions 0003-0007 built before it):"
    )
    print("| scale | " + " | ".join(PHASES) + " |")
    print("|---|" + "---|" * len(PHASES))
    for scale, _n, _off, on in rows:
        print(f"| {scale:g} | "
              + " | ".join(f"{on[f'stall:{p}'] * 1000:.0f} ms" for p in PHASES) + " |")  # fmt: skip
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores "
          "(shared machine)")  # fmt: skip


if __name__ == "__main__":
    main()
