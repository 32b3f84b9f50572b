"""Benchmark the player, search, club and standings pages (HTML) on the real corpus.

Run: .venv/bin/python benchmarks/bench_pages.py [--postgres-url URL] [--data DIR]
     [--clients 16] [--seconds 5] [--max-requests 20000] [--workers 2] [--no-access-log]

Imports ../shared/data/leagues into a throwaway PostgreSQL database (dropped at the end),
runs ANALYZE (as autovacuum does shortly after an import), starts `rally serve` as it is
deployed on this 2-core machine (`--workers 2`, access log on, its lines to a file; the
options change that) on 127.0.0.1 and a free port, and drives it with bench_web's
closed-loop load generator, one phase after another against the same server:

1. GET /healthz, the reference;
2. GET /players/{id}, cycling over 300 players who played matches;
3. GET /search?q=...: full names, last names, names with a letter missing, half of them
   within a league, cycling over 300 queries;
4. GET /clubs/{id}, cycling over every club that fields a team;
5. GET /series/{id}, the standings page with its chart and fixtures, over every series
   with standings.

Prints the server's configuration, the load average around the phases (the machine may be
shared), throughput and latencies per phase, how many transactions the PostgreSQL cluster
handed out during each (each ending one makes the pages read the database again, see
rally.web.page_cache), and checks: each page's p99 < 30 ms and >= 50 % of /healthz
throughput.
"""

from __future__ import annotations

import os
import random
from urllib.parse import urlencode

import sqlalchemy as sa
from bench_web import (
    DEPLOYED_WORKERS,
    _cycle,
    _get,
    cluster_transactions,
    describe_server,
    import_corpus,
    load_arguments,
    run_phase,
    serving,
)
from scratch import ScratchDatabases

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
    args = load_arguments(__doc__, workers=DEPLOYED_WORKERS)

    scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_pages")
    url = scratch.create()
    try:
        import_corpus(url, args.data)
        targets = _targets(url)
        transactions = cluster_transactions(url)
        with serving(url, None, args.workers, access_log=args.access_log) as base:
            port = int(base.rsplit(":", 1)[1])

            def makers(paths: list[str]) -> list:  # type: ignore[type-arg]
                requests = [_get(p) for p in paths]
                step = max(1, len(requests) // args.clients)
                return [
                    _cycle(requests[i * step :] + requests[: i * step]) for i in range(args.clients)
                ]

            load_before = os.getloadavg()
            for paths in targets.values():
                run_phase("warm-up", port, makers(paths), 1.0, 2000)
            written: list[int] = []
            phases = []
            for name, paths in {"GET /healthz": ["/healthz"], **targets}.items():
                before = transactions()
                phases.append(run_phase(name, port, makers(paths), args.seconds, args.max_requests))
                written.append(transactions() - before)
            load_after = os.getloadavg()
    finally:
        scratch.drop_all()

    print(describe_server(args))
    print(
        "paths per phase: " + ", ".join(f"{name} {len(paths)}" for name, paths in targets.items())
    )
    print(
        "load average (1/5/15 min) before the phases "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in load_after)
    )
    for phase, count in zip(phases, written, strict=True):
        print(f"{phase.line()}  cluster transactions {count}")
    health, *pages = phases
    for phase in pages:
        ratio = phase.throughput / health.throughput
        for label, ok in (
            (f"{phase.name} p99 < {TARGET_P99_MS:.0f} ms", phase.pct(0.99) < TARGET_P99_MS),
            (f"{phase.name} throughput >= 50% of /healthz ({ratio:.0%})", ratio >= 0.5),
            (f"{phase.name} no errors", phase.errors == 0),
        ):
            print(f"{'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    main()
