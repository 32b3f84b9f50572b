"""Benchmark SQLite mode against PostgreSQL under the same load, on `rally demo` data.

Run: .venv/bin/python benchmarks/bench_sqlite.py [--postgres-url URL] [--clients 16]
     [--seconds 10]     (or `make bench-sqlite`)

Builds the demo database (`rally.demo.prepare_demo`, SQLite) in a temporary directory,
copies it into a throwaway PostgreSQL database with `rally db copy` (dropped at the end), then
for each backend starts `rally serve --no-access-log` (one worker, 127.0.0.1, a free port)
and drives it with the closed-loop load generator of bench_web.py (one keep-alive connection
per client; the same generator and phases for both backends):

1. mix: one request in four registers a new account (default argon2 cost), the others switch
   the client's team (PUT /api/me/context, bearer token, two claimed teams each);
2. switch: team switches only;
3. team page: GET /teams/{id} (the HTML page), cycling over every team;
4. team pages with one request in four a team switch: every switch commits, so SQLite's
   kept team documents (rally.services.week_sql.TeamWeekTexts) are dropped all the time
   and the team statement runs (the page's cost under writes).

The servers run with the site-wide password budget (RALLY_LIMIT_PASSWORD_CHECKS, 2/second
by default, and RALLY_LIMIT_PASSWORD_QUEUE) raised to --password-checks and 32: by default
sign-ups beyond two a second are answered 429 on purpose (rally.services.throttle), whatever
the database, and the mix is there to load the database's writes.

Prints the load average, per phase and backend: requests, throughput, p50/p90/p99/max,
errors (any answer that is not 2xx, by status) and the server's CPU time per request, the
SQLite/PostgreSQL ratios, and checks the goals: the mix with 0 errors; switch p99 < 50 ms;
team page p99 < 50 ms (SQLite mode).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import sqlalchemy as sa
from bench_web import Phase, _cycle, _get, _put_json, run_phase, serving
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases

from rally.db import make_engine
from rally.demo import prepare_demo

RALLY = Path(sys.executable).with_name("rally")
#: Server CPU milliseconds per request of each phase (by the phase's id).
CPU_PER_REQUEST: dict[int, float] = {}


def _people(url: str, count: int) -> list[tuple[str, str, list[int], list[int]]]:
    """Players with two team rows in one league: names, player ids, team ids (portable SQL)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT first_name, last_name, min(id), max(id) FROM players "
                    "WHERE team_id IS NOT NULL AND id NOT IN (SELECT player_id FROM player_claims) "
                    "GROUP BY league_id, tenniscores_player_id, "
                    "first_name, last_name HAVING count(DISTINCT team_id) = 2 "
                    "AND count(*) = 2 ORDER BY min(id) LIMIT :n"
                ),
                {"n": count},
            ).all()
            people = []
            for first, last, one, two in rows:
                teams = conn.execute(
                    sa.text("SELECT team_id FROM players WHERE id IN (:a, :b) ORDER BY id"),
                    {"a": one, "b": two},
                ).scalars()
                people.append((first, last, [one, two], list(teams)))
            team_ids = conn.execute(sa.text("SELECT id FROM teams ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    if len(people) < count:
        raise SystemExit(f"only {len(people)} players with two teams in the demo data")
    return [*people, ([], [], [], list(team_ids))]  # type: ignore[list-item]


def _sign_up(base: str, people: list[tuple[str, str, list[int], list[int]]]) -> list[tuple]:
    users = []
    with httpx.Client(base_url=base, timeout=60) as http:
        for first, last, player_ids, team_ids in people:
            email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
            body = {
                "email": email,
                "password": "benchmark password",
                "first_name": first,
                "last_name": last,
            }
            answer = http.post("/api/register", json=body)
            while answer.status_code == 429:  # the password budget: wait as told
                time.sleep(float(answer.headers.get("retry-after", "1")))
                answer = http.post("/api/register", json=body)
            token = answer.raise_for_status().json()["token"]
            for pid in player_ids:
                auth = {"Authorization": f"Bearer {token}"}
                http.post(
                    "/api/me/claims", json={"player_id": pid}, headers=auth
                ).raise_for_status()
            users.append((token, team_ids))
    return users


def _registration() -> bytes:
    data = json.dumps(
        {
            "email": f"mix-{uuid.uuid4().hex}@example.com",
            "password": "benchmark password",
            "first_name": "Mix",
            "last_name": "Client",
        }
    ).encode()
    head = (
        "POST /api/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def _mix(switch: Callable[[], bytes]) -> Callable[[], bytes]:
    state = {"n": 0}

    def next_request() -> bytes:
        state["n"] += 1
        return _registration() if state["n"] % 4 == 0 else switch()

    return next_request


def _every_fourth(page: Callable[[], bytes], switch: Callable[[], bytes]) -> Callable[[], bytes]:
    state = {"n": 0}

    def next_request() -> bytes:
        state["n"] += 1
        return switch() if state["n"] % 4 == 0 else page()

    return next_request


def _server_cpu(port: int) -> Callable[[], float]:
    """Return a clock of the CPU seconds used by the server listening on `port` (Linux)."""
    found = subprocess.run(
        ["pgrep", "-f", "--", f"rally serve .*--port {port} "],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()

    def clock() -> float:
        try:
            fields = Path(f"/proc/{found[0]}/stat").read_text().rsplit(")", 1)[1].split()
        except (IndexError, OSError):
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return clock


def measure(
    url: str, people: list, clients: int, seconds: float, data_dir: Path, env: dict[str, str]
) -> list[Phase]:
    """Run the three phases against a server on `url`."""
    *players, (_, _, _, team_ids) = people
    with serving(url, data_dir, env=env) as base:
        users = _sign_up(base, players)
        port = int(base.rsplit(":", 1)[1])
        cpu = _server_cpu(port)

        def phase(name: str, makers: list[Callable[[], bytes]]) -> Phase:
            before = cpu()
            result = run_phase(name, port, makers, seconds, 10**6)
            CPU_PER_REQUEST[id(result)] = (cpu() - before) * 1000 / max(1, len(result.latencies))
            return result

        switches = [
            _cycle([_put_json("/api/me/context", {"team_id": t}, token) for t in teams])
            for token, teams in users
        ]
        pages = [_get(f"/teams/{t}") for t in team_ids]
        team_pages = [_cycle(pages[i * 7 :] + pages[: i * 7]) for i in range(clients)]
        run_phase("warm-up", port, team_pages, 1.0, 1000)
        run_phase("warm-up", port, switches, 1.0, 1000)
        return [
            phase("mix (1/4 register)", [_mix(s) for s in switches]),
            phase("PUT /api/me/context", switches),
            phase("GET /teams/{id}", team_pages),
            # Every switch commits: on SQLite each one drops the kept team documents, so
            # this phase shows the team statement's own cost under writes.
            phase(
                "teams + 1/4 switches",
                [_every_fourth(p, s) for p, s in zip(team_pages, switches, strict=False)],
            ),
        ]


def main() -> None:
    """Build the demo data, copy it to PostgreSQL, load both servers, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--password-checks",
        default="100/second",
        help="the servers' RALLY_LIMIT_PASSWORD_CHECKS (default 100/second; Rally's is 2/second)",
    )
    args = parser.parse_args()
    env = {
        "RALLY_LIMIT_PASSWORD_CHECKS": args.password_checks,
        "RALLY_LIMIT_PASSWORD_QUEUE": "32",
    }

    scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_sqlite")
    with tempfile.TemporaryDirectory(prefix="rally-bench-sqlite-") as tmp:
        root = Path(tmp)
        setup = prepare_demo(root / "demo")
        try:
            pg_url = scratch.create()
            started = time.perf_counter()
            subprocess.run(
                [str(RALLY), "db", "copy", setup.database_url, pg_url],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            copy_seconds = time.perf_counter() - started
            people = _people(setup.database_url, args.clients)
            load_before = os.getloadavg()
            results = {
                "SQLite": measure(
                    setup.database_url, people, args.clients, args.seconds, root, env
                ),
                "PostgreSQL": measure(pg_url, people, args.clients, args.seconds, root, env),
            }
        finally:
            scratch.drop_all()

    print(
        f"{args.clients} concurrent clients, one server worker, `rally demo` data, "
        f"{os.cpu_count()} CPUs; `rally db copy` SQLite -> PostgreSQL {copy_seconds:.1f} s; "
        f"password checks {args.password_checks}"
    )
    print(
        "load average (1/5/15 min) before "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
    )
    for backend, phases in results.items():
        print(backend)
        for phase in phases:
            print(f"  {phase.line()}  server CPU {CPU_PER_REQUEST[id(phase)]:.2f} ms/req")
    print("SQLite / PostgreSQL (throughput, p99 and server CPU per request ratios):")
    for lite, pg in zip(results["SQLite"], results["PostgreSQL"], strict=True):
        print(
            f"  {lite.name:<22} throughput {lite.throughput / pg.throughput:5.2f}x  "
            f"p99 {lite.pct(0.99) / pg.pct(0.99):5.2f}x  "
            f"server CPU/req {CPU_PER_REQUEST[id(lite)] / CPU_PER_REQUEST[id(pg)]:5.2f}x"
        )
    mix, switch, page, _ = results["SQLite"]
    for label, ok in [
        ("SQLite: mix of registrations and switches with 0 errors", mix.errors == 0),
        ("SQLite: switch p99 < 50 ms", switch.pct(0.99) < 50),
        ("SQLite: team page p99 < 50 ms", page.pct(0.99) < 50),
        ("no errors in any phase", all(p.errors == 0 for ps in results.values() for p in ps)),
    ]:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")


if __name__ == "__main__":
    main()
