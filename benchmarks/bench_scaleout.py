"""Throughput of one instance, two behind HAProxy, and two behind HAProxy reading a replica.

Run: make bench-scaleout   (as root; needs haproxy and Debian's PostgreSQL cluster tools)
     .venv/bin/python benchmarks/bench_scaleout.py [--clients 16] [--seconds 5]

Brings up scripts/scaleout.py's deployment on the real corpus (a primary and a streaming
replica made with pg_basebackup, two `rally serve` instances, HAProxy), then drives
GET /api/series/{id}/standings and GET /api/teams/{id} with the closed-loop generator of
bench_web.py through: one instance directly; the balancer with both instances reading the
primary; the balancer with both instances reading the replica. Prints requests/s, p99 and
each as a ratio to one instance in the same run, and the load average. All processes share
this machine's cores, so the ratios say what the balancer and the replica cost or give
here, not what separate machines would give.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from bench_web import Phase, _cycle, _get, run_phase

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import scaleout

from rally.db import make_engine

REPO = Path(__file__).resolve().parents[1]


def _ids(url: str, sql: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [int(x) for x in conn.execute(sa.text(sql)).scalars()]
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "leagues")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="rally-bench-scaleout-"))
    d = scaleout.start(directory, instances=2, corpus=args.data, replica=False)
    try:
        series = _ids(d.primary_url, "SELECT DISTINCT series_id FROM series_stats ORDER BY 1")
        teams = _ids(d.primary_url, "SELECT id FROM teams ORDER BY id")
        loads = {
            "standings": [_get(f"/api/series/{s}/standings") for s in series],
            "team": [_get(f"/api/teams/{t}") for t in teams],
        }
        results: dict[tuple[str, str], Phase] = {}
        load_before = os.getloadavg()

        def measure(setup: str, url: str) -> None:
            port = int(urlsplit(url).port or 80)
            for name, requests in loads.items():
                makers = [
                    _cycle(requests[i :: args.clients] or requests) for i in range(args.clients)
                ]
                run_phase(f"warm-up {name}", port, makers, 1.0, 2000)
                phase = run_phase(f"{setup}: {name}", port, makers, args.seconds, args.max_requests)
                results[(setup, name)] = phase
                print(phase.line(), flush=True)

        measure("1 instance", d.app_url(0))
        scaleout.wait_balanced(d)
        measure("2 behind HAProxy", d.url)
        # The same two instances, now reading the replica; measured once HAProxy has both
        # back in rotation.
        for index in range(len(d.app_pids)):
            scaleout.restart_app(d, index, replica=True)
        scaleout.wait_balanced(d)
        measure("2 + replica", d.url)
        load_after = os.getloadavg()
        print()
        print(
            f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
            f"{os.cpu_count()} CPUs shared by the database servers, the instances, HAProxy "
            "and this load generator"
        )

        def served(phase: Phase) -> float:
            # Only answers of 2xx count: a balancer answering 503 fast is no throughput.
            return (len(phase.latencies) - phase.errors) / phase.seconds

        for name in loads:
            base = served(results[("1 instance", name)])
            for setup in ("1 instance", "2 behind HAProxy", "2 + replica"):
                phase = results[(setup, name)]
                print(
                    f"{name:<10} {setup:<18} {served(phase):8,.0f} req/s served "
                    f"({served(phase) / base:4.2f}x one instance)  p99 {phase.pct(0.99):6.2f} ms  "
                    f"errors {phase.errors}"
                )
    finally:
        scaleout.stop(d)


if __name__ == "__main__":
    main()
