"""Benchmark the weekly team page on the real corpus: pages, API, availability, calendar.

Run: .venv/bin/python benchmarks/bench_week.py [--postgres-url URL] [--data DIR]
     [--clients 16] [--seconds 5] [--max-requests 20000] [--workers 2] [--no-access-log]

Imports ../shared/data/leagues into a throwaway PostgreSQL database (dropped at the end) and
moves each league's dates so that its season is under way today (the corpus' seasons are
over; the server reads the real clock). Every active player answers for the matches of the
next four weeks (a team's page then shows real counts). Then VACUUM ANALYZE, as autovacuum
would soon after, so that it does not run during the phases. Starts `rally serve` as it is
deployed on this 2-core machine (`--workers 2`, access log on, its lines to a file; the
options change that) and drives it with bench_web's closed-loop load generator, 16 clients,
each phase after a warm-up, every phase against the same server:

1. GET /healthz (the reference);
2. GET /team: the HTML page of 16 signed-in players (session cookie), their current team;
3. GET /teams/{id}: the HTML page of the team with the most results;
4. GET /api/teams/{id}, cycling over every team;
5. GET /api/teams/{id} of the team with the most results;
6. GET /api/teams/{id}/availability: each player's grid (bearer token);
7. GET /calendar/{token}.ics: each player's feed of all their teams.

Prints the server's configuration, the load average, throughput and p50/p90/p99/max per
phase, how many transactions the PostgreSQL cluster handed out during each phase (each
ending one makes the pages read the database again, see rally.web.page_cache), and checks
the targets: p99 < 30 ms and at least half of /healthz throughput for every phase from 2 on.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
from bench_web import (
    DEPLOYED_WORKERS,
    Phase,
    _cycle,
    _get,
    cluster_transactions,
    describe_server,
    load_arguments,
    register_claiming,
    run_phase,
    serving,
)
from scratch import ScratchDatabases

from rally.db import make_engine
from rally.db.migrate import upgrade
from rally.etl.importer import import_paths
from rally.services.availability import league_today

#: Per league: move every date by (today - the middle of its schedule).
_SHIFT_SQL = """
WITH span AS (
    SELECT league_id, min(match_date) + (max(match_date) - min(match_date)) / 2 AS middle
      FROM schedule WHERE match_date IS NOT NULL GROUP BY league_id
), moved AS (
    UPDATE schedule s SET match_date = s.match_date + (:today - span.middle)
      FROM span WHERE s.league_id = span.league_id RETURNING 1
)
UPDATE match_scores m SET match_date = m.match_date + (:today - span.middle)
  FROM span WHERE m.league_id = span.league_id
"""
#: Every active player answers for their team's matches of the next four weeks.
_ANSWERS_SQL = """
INSERT INTO player_availability (player_name, player_id, user_id, match_date,
                                 availability_status, series_id, league_id, schedule_id)
SELECT p.first_name || ' ' || p.last_name, p.id, NULL, s.match_date::timestamptz,
       1 + (p.id + s.id) % 3, p.series_id, p.league_id, s.id
  FROM players p
  JOIN schedule s ON s.home_team_id = p.team_id OR s.away_team_id = p.team_id
 WHERE p.is_active IS NOT FALSE AND (p.id + s.id) % 4 <> 0
   AND s.match_date BETWEEN :today AND :today + 28
"""
#: Players holding two team rows whose teams both have a schedule.
_PEOPLE_SQL = """
SELECT first_name, last_name, array_agg(id ORDER BY id), array_agg(team_id ORDER BY id)
  FROM players p
 WHERE team_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM schedule s WHERE s.home_team_id = p.team_id
                                           OR s.away_team_id = p.team_id)
 GROUP BY league_id, tenniscores_player_id, first_name, last_name
HAVING count(*) = 2
 ORDER BY min(id) LIMIT :n
"""


def prepare(url: str, data: Path, today: dt.date) -> tuple[list[int], int]:
    """Import the corpus, move it around today, add answers; return team ids and the busiest."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        report = import_paths(engine, [data])
        failed = [k for k, v in report.leagues.items() if v.error]
        if failed:
            raise SystemExit(f"import failed for {failed}")
        with engine.begin() as conn:
            conn.execute(sa.text(_SHIFT_SQL), {"today": today})
            answers = conn.execute(sa.text(_ANSWERS_SQL), {"today": today}).rowcount
        print(f"corpus imported and moved around {today} in {time.perf_counter() - started:.1f} s")
        print(f"{answers:,} availability answers added")
        # As autovacuum does shortly after (the date shift rewrote whole tables): otherwise
        # it runs during the first phase, the /healthz reference, and takes its CPU.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        with engine.connect() as conn:
            teams = conn.execute(sa.text("SELECT id FROM teams ORDER BY id")).scalars().all()
            busiest = conn.execute(
                sa.text(
                    "SELECT t.id FROM teams t JOIN match_scores m ON m.home_team_id = t.id "
                    "OR m.away_team_id = t.id GROUP BY t.id ORDER BY count(*) DESC LIMIT 1"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return list(teams), busiest


def players(base: str, url: str, count: int) -> list[tuple[str, int, str]]:
    """Register `count` players with two scheduled teams each, claim both, switch to the
    first, make an all-teams calendar feed; return (token, first team, feed path)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        people = conn.execute(sa.text(_PEOPLE_SQL), {"n": count}).all()
    engine.dispose()
    out = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for first, last, player_ids, team_ids in people:
            token = register_claiming(http, first, last, player_ids)
            auth = {"Authorization": f"Bearer {token}"}
            http.put("/api/me/context", json={"team_id": team_ids[0]}, headers=auth)
            feed = http.post("/api/me/calendars", json={}, headers=auth)
            feed.raise_for_status()
            path = feed.json()["url"].removeprefix(base)
            out.append((token, int(team_ids[0]), path))
    if len(out) < count:
        raise SystemExit(f"only {len(out)} players with two scheduled teams found")
    return out


def _get_as(path: str, token: str, *, cookie: bool) -> bytes:
    auth = f"Cookie: rally_session={token}" if cookie else f"Authorization: Bearer {token}"
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n\r\n".encode()


def main() -> None:
    """Prepare the corpus, start the server, run the phases and print the figures."""
    args = load_arguments(__doc__, workers=DEPLOYED_WORKERS)

    scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_week")
    url = scratch.create()
    n = args.clients
    try:
        team_ids, busiest = prepare(url, args.data, league_today())
        transactions = cluster_transactions(url)
        with serving(url, None, args.workers, access_log=args.access_log) as base:
            port = int(base.rsplit(":", 1)[1])
            users = players(base, url, n)
            team_api = [_get(f"/api/teams/{t}") for t in team_ids]
            plans: list[tuple[str, list[Callable[[], bytes]]]] = [
                ("GET /healthz", [_cycle([_get("/healthz")]) for _ in range(n)]),
                (
                    "GET /team (HTML)",
                    [_cycle([_get_as("/team", t, cookie=True)]) for t, _, _ in users],
                ),
                (
                    "GET /teams/busiest (HTML)",
                    [_cycle([_get_as(f"/teams/{busiest}", t, cookie=True)]) for t, _, _ in users],
                ),
                (
                    "GET /api/teams/{id}",
                    [_cycle(team_api[i * 37 :] + team_api[: i * 37]) for i in range(n)],
                ),
                (
                    "GET /api/teams/busiest",
                    [_cycle([_get(f"/api/teams/{busiest}")]) for _ in range(n)],
                ),
                (
                    "GET availability grid",
                    [
                        _cycle([_get_as(f"/api/teams/{team}/availability", t, cookie=False)])
                        for t, team, _ in users
                    ],
                ),
                ("GET calendar feed", [_cycle([_get(path)]) for _, _, path in users]),
            ]
            load_before = os.getloadavg()
            phases: list[Phase] = []
            written: list[int] = []
            for name, makers in plans:
                run_phase("warm-up", port, makers, 1.0, 1000)
                before = transactions()
                phases.append(run_phase(name, port, makers, args.seconds, args.max_requests))
                written.append(transactions() - before)
            load_after = os.getloadavg()
    finally:
        scratch.drop_all()

    print(describe_server(args))
    print(f"{len(team_ids)} teams; the team with the most results: {busiest}")
    print(
        "load average (1/5/15 min) before the phases "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in load_after)
    )
    for phase, count in zip(phases, written, strict=True):
        print(f"{phase.line()}  cluster transactions {count}")
    health = phases[0]
    for phase in phases[1:]:
        ratio = phase.throughput / health.throughput
        ok = phase.pct(0.99) < 30 and ratio >= 0.5 and phase.errors == 0
        print(
            f"{'PASS' if ok else 'FAIL'}  {phase.name}: p99 {phase.pct(0.99):.1f} ms (< 30), "
            f"{ratio:.0%} of /healthz throughput (>= 50%), {phase.errors} errors"
        )


if __name__ == "__main__":
    main()
