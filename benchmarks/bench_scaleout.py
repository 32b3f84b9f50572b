"""Throughput of one instance, two behind HAProxy, and two behind HAProxy reading a replica.

Run: make bench-scaleout   (as root; needs haproxy and Debian's PostgreSQL cluster tools)
     .venv/bin/python benchmarks/bench_scaleout.py [--clients 16] [--seconds 5]

Brings up scripts/scaleout.py's deployment on the real corpus (a primary and a streaming
replica made with pg_basebackup, two `rally serve` instances reading the primary behind
HAProxy) plus two more instances reading the replica behind a second HAProxy, then drives
GET /api/series/{id}/standings and GET /api/teams/{id} with the closed-loop generator of
bench_web.py through: one instance directly; the first balancer; the second balancer. The
three setups take turns, round after round (--rounds), so that other work on the machine
weighs on each alike; prints requests/s, the worst p99, and each round's ratio to one
instance (the phases back to back) with their median, and the load average. All processes
share this machine's cores, so the ratios say what the balancer and the replica cost or give
here, not what separate machines would give.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "leagues")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="rally-bench-scaleout-"))
    d = scaleout.start(directory, instances=2, corpus=args.data, replica=False)
    replica_balancer = 0
    try:
        # Two more instances, reading the replica, behind a balancer of their own: the three
        # setups then take turns in every round, so that the load of whatever else runs on
        # this machine weighs on each alike.
        d.app_ports += [scaleout.free_port(), scaleout.free_port()]
        d.app_pids += [scaleout.start_app(d, i, replica=True) for i in (2, 3)]
        replica_port = scaleout.free_port()
        replica_balancer = scaleout.start_balancer(d, [2, 3], replica_port, "haproxy-replica")
        scaleout.wait_balanced(d)
        scaleout.wait_balanced(d, name="haproxy-replica")
        series = _ids(d.primary_url, "SELECT DISTINCT series_id FROM series_stats ORDER BY 1")
        teams = _ids(d.primary_url, "SELECT id FROM teams ORDER BY id")
        loads = {
            "standings": [_get(f"/api/series/{s}/standings") for s in series],
            "team": [_get(f"/api/teams/{t}") for t in teams],
        }
        setups = {
            "1 instance": int(urlsplit(d.app_url(0)).port or 80),
            "2 behind HAProxy": d.balancer_port,
            "2 + replica": replica_port,
        }
        makers = {
            name: [_cycle(requests[i :: args.clients] or requests) for i in range(args.clients)]
            for name, requests in loads.items()
        }
        for setup, port in setups.items():
            for name in loads:
                run_phase(f"warm-up {setup} {name}", port, makers[name], 1.0, 2000)
        results: dict[tuple[str, str], list[Phase]] = {}
        load_before = os.getloadavg()
        for round_ in range(1, args.rounds + 1):
            for name in loads:
                for setup, port in setups.items():
                    phase = run_phase(
                        f"{round_}: {setup}: {name}",
                        port,
                        makers[name],
                        args.seconds,
                        args.max_requests,
                    )
                    results.setdefault((setup, name), []).append(phase)
                    print(phase.line(), flush=True)
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
            base = results[("1 instance", name)]
            for setup in setups:
                phases = results[(setup, name)]
                # The ratio of each round (the setups ran back to back), then their median.
                ratios = sorted(served(p) / served(b) for p, b in zip(phases, base, strict=True))
                rates = sorted(served(p) for p in phases)
                print(
                    f"{name:<10} {setup:<18} {statistics.median(rates):8,.0f} req/s served "
                    f"(median of {len(phases)}; {statistics.median(ratios):4.2f}x one instance, "
                    f"rounds {' '.join(f'{r:.2f}' for r in ratios)})  "
                    f"p99 {max(p.pct(0.99) for p in phases):6.2f} ms  "
                    f"errors {sum(p.errors for p in phases)}"
                )
    finally:
        if replica_balancer:
            scaleout._kill(replica_balancer)
        scaleout.stop(d)


if __name__ == "__main__":
    main()
