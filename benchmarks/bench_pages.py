"""Benchmark the player, search, club and standings pages (HTML) on the real corpus.

Run: .venv/bin/python benchmarks/bench_pages.py [--postgres-url URL] [--data DIR]
     [--clients 16] [--seconds 5] [--max-requests 20000] [--workers 1]

Imports ../shared/data/leagues into a throwaway PostgreSQL database (dropped at the end),
runs ANALYZE (as autovacuum does shortly after an import), starts `rally serve
--no-access-log` on 127.0.0.1 and a free port, and drives it with bench_web's closed-loop
load generator, one phase after another in the same run:

1. GET /healthz, the reference;
2. GET /players/{id}, cycling over 300 players who played matches;
3. GET /search?q=...: full names, last names, names with a letter missing, half of them
   within a league, cycling over 300 queries;
4. GET /clubs/{id}, cycling over every club that fields a team;
5. GET /series/{id}, the standings page with its chart and fixtures, over every series
   with standings.

Prints the load average around the phases (the machine may be shared), throughput and
latencies per phase, and checks: each page's p99 < 30 ms and >= 50 % of /healthz throughput.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from bench_web import DEFAULT_DATA, _cycle, _get, import_corpus, run_phase, start_server
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases

from rally.db import make_engine

TARGET_P99_MS = 30.0


def _targets(url: str) -> dict[str, list[str]]:
    """Paths of each phase, drawn from the corpus with a fixed seed."""
    rng = random.Random(14)
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
            played = conn.execute(
                sa.text(
                    "SELECT DISTINCT p.id, p.first_name, p.last_name, l.league_id FROM players p "
                    "JOIN leagues l ON l.id = p.league_id JOIN match_scores m "
                    "ON m.league_id = p.league_id AND m.home_player_1_id = p.tenniscores_player_id "
                    "ORDER BY p.id"
                )
            ).all()
            clubs = conn.execute(sa.text("SELECT DISTINCT club_id FROM teams ORDER BY 1")).scalars()
            series = conn.execute(
                sa.text("SELECT DISTINCT series_id FROM series_stats ORDER BY 1")
            ).scalars()
            club_paths = [f"/clubs/{c}" for c in clubs]
            series_paths = [f"/series/{s}" for s in series]
    finally:
        engine.dispose()
    sample = rng.sample(played, min(300, len(played)))
    searches = []
    for i, (_pid, first, last, league) in enumerate(sample):
        cut = len(last) // 2
        query = [f"{first} {last}", last, f"{first} {last[:cut]}{last[cut + 1 :]}"][i % 3]
        params = {"q": query, **({"league": league} if i % 2 else {})}
        searches.append(f"/search?{urlencode(params)}")
    return {
        "GET /players/{id}": [f"/players/{row[0]}" for row in sample],
        "GET /search": searches,
        "GET /clubs/{id}": club_paths,
        "GET /series/{id}": series_paths,
    }


def main() -> None:
    """Import the corpus, start the server, run the phases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=1, help="rally serve --workers")
    args = parser.parse_args()

    scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_pages")
    url = scratch.create()
    server = None
    try:
        import_corpus(url, args.data)
        targets = _targets(url)
        server, _base, port = start_server(url, args.workers)

        def makers(paths: list[str]) -> list:  # type: ignore[type-arg]
            requests = [_get(p) for p in paths]
            step = max(1, len(requests) // args.clients)
            return [
                _cycle(requests[i * step :] + requests[: i * step]) for i in range(args.clients)
            ]

        load_before = os.getloadavg()
        for paths in targets.values():
            run_phase("warm-up", port, makers(paths), 1.0, 2000)
        health = run_phase(
            "GET /healthz", port, makers(["/healthz"]), args.seconds, args.max_requests
        )
        phases = [
            run_phase(name, port, makers(paths), args.seconds, args.max_requests)
            for name, paths in targets.items()
        ]
        load_after = os.getloadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        scratch.drop_all()

    print(
        f"{args.clients} concurrent clients, {args.workers} server worker(s), "
        f"{os.cpu_count()} CPUs; paths per phase: "
        + ", ".join(f"{name} {len(paths)}" for name, paths in targets.items())
    )
    print(
        "load average (1/5/15 min) before the phases "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in load_after)
    )
    print(health.line())
    for phase in phases:
        print(phase.line())
    for phase in phases:
        ratio = phase.throughput / health.throughput
        for label, ok in (
            (f"{phase.name} p99 < {TARGET_P99_MS:.0f} ms", phase.pct(0.99) < TARGET_P99_MS),
            (f"{phase.name} throughput >= 50% of /healthz ({ratio:.0%})", ratio >= 0.5),
            (f"{phase.name} no errors", phase.errors == 0),
        ):
            print(f"{'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    main()
