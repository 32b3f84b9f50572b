"""Benchmark the web app on the real corpus: standings and team switch under 16 clients.

Run: .venv/bin/python benchmarks/bench_web.py [--postgres-url URL] [--data DIR]
     [--clients 16] [--seconds 5] [--max-requests 20000] [--workers 1]

Imports ../shared/data/leagues into a throwaway PostgreSQL database (dropped at the end),
starts `rally serve --no-access-log` on 127.0.0.1 and a free port in a subprocess, and runs a
bounded closed-loop load generator (asyncio on uvloop when installed, one keep-alive HTTP/1.1
connection per client; each phase stops after --seconds or --max-requests, whichever comes
first) in this process, the same generator for every phase:

1. GET /healthz (the server answers after a `SELECT 1` on its database);
2. GET /api/series/{id}/standings, cycling over every series with standings;
3. PUT /api/me/context, each client a different signed-in user (bearer token) alternating
   between the two teams of the records it claimed.

Prints the load average around the phases (the machine may be shared), requests, throughput
and p50/p90/p99/max latency per phase, and checks the targets:
standings p99 < 25 ms and >= 50 % of /healthz throughput; team switch p99 < 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import sqlalchemy as sa
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases

from rally.db import make_engine
from rally.db.migrate import upgrade
from rally.etl.importer import import_paths

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "leagues"


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    latencies: list[float]
    errors: int
    seconds: float
    #: Status line of each answer that was not 2xx ("HTTP/1.1 503 ...") -> how many.
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<22} {len(self.latencies):>7} req  {self.throughput:>8,.0f} req/s  "
            f"p50 {self.pct(0.50):6.2f} ms  p90 {self.pct(0.90):6.2f} ms  "
            f"p99 {self.pct(0.99):6.2f} ms  max {max(self.latencies) * 1000:7.2f} ms  "
            f"errors {self.errors}" + (f" ({_failures(self.failures)})" if self.failures else "")
        )


def _failures(failures: dict[str, int]) -> str:
    return ", ".join(f"{n} x {status}" for status, n in sorted(failures.items()))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _client(
    port: int,
    next_request: Callable[[], bytes],
    stop_at: float,
    budget: list[int],
    latencies: list[float],
    errors: list[int],
    failures: dict[str, int] | None = None,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            request = next_request()
            start = time.perf_counter()
            writer.write(request)
            # The whole head in one read; responses carry Content-Length (no chunking here).
            head = await reader.readuntil(b"\r\n\r\n")
            at = head.lower().find(b"\r\ncontent-length:")
            length = int(head[at + 17 : head.index(b"\r\n", at + 2)]) if at >= 0 else 0
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
                if failures is not None:
                    status = head.split(b"\r\n", 1)[0].decode(errors="replace")[9:]
                    failures[status] = failures.get(status, 0) + 1
    finally:
        writer.close()


def run_phase(
    name: str, port: int, makers: list[Callable[[], bytes]], seconds: float, max_requests: int
) -> Phase:
    """Drive one closed-loop client per request maker until the time or request budget ends."""
    latencies: list[float] = []
    errors = [0]
    failures: dict[str, int] = {}
    budget = [max_requests]

    async def main() -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(
            *(_client(port, m, stop_at, budget, latencies, errors, failures) for m in makers)
        )
        return time.perf_counter() - start

    elapsed = _run(main())
    return Phase(name, latencies, errors[0], elapsed, failures)


def _run(main: Coroutine[Any, Any, float]) -> float:
    # uvloop when installed (uvicorn[standard]): less client CPU on the shared cores; the
    # same event loop drives every phase.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _put_json(path: str, body: dict[str, object], token: str) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def _cycle(items: list[bytes]) -> Callable[[], bytes]:
    state = {"i": 0}

    def next_item() -> bytes:
        state["i"] = (state["i"] + 1) % len(items)
        return items[state["i"]]

    return next_item


def _users(base: str, url: str, count: int) -> list[tuple[str, list[int]]]:
    """Register `count` players holding two team rows each; claim both; return tokens and teams."""
    engine = make_engine(url)
    with engine.connect() as conn:
        people = conn.execute(
            sa.text(
                "SELECT first_name, last_name, array_agg(id ORDER BY id), array_agg(team_id ORDER BY id) "
                "FROM players WHERE team_id IS NOT NULL GROUP BY league_id, "
                "tenniscores_player_id, first_name, last_name HAVING count(*) = 2 "
                "ORDER BY min(id) LIMIT :n"
            ),
            {"n": count},
        ).all()
    engine.dispose()
    users = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for first, last, player_ids, team_ids in people:
            token = register_claiming(http, first, last, player_ids)
            users.append((token, list(team_ids)))
    return users


def register_claiming(http: httpx.Client, first: str, last: str, player_ids: list[int]) -> str:
    """Register a user with this name, claim these player rows; return the bearer token."""
    reg = http.post(
        "/api/register",
        json={
            "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
            "password": "benchmark password",
            "first_name": first,
            "last_name": last,
        },
    )
    while reg.status_code == 429:  # the site-wide budget of password checks
        time.sleep(float(reg.headers.get("Retry-After", "1")))
        reg = http.post("/api/register", json=json.loads(reg.request.content))
    reg.raise_for_status()
    token = str(reg.json()["token"])
    for pid in player_ids:
        http.post(
            "/api/me/claims", json={"player_id": pid}, headers={"Authorization": f"Bearer {token}"}
        ).raise_for_status()
    return token


#: How `rally serve` runs where Rally is deployed on this 2-core machine (README, "Running
#: the web app"): one worker per core, the access log on. bench_week and bench_pages measure
#: every phase, /healthz included, in this configuration.
DEPLOYED_WORKERS = 2


def start_server(
    url: str,
    workers: int,
    *,
    data_dir: Path | None = None,
    env: dict[str, str] | None = None,
    access_log: bool = False,
    log: IO[bytes] | None = None,
) -> tuple[subprocess.Popen[bytes], str, int]:
    """Start `rally serve` on 127.0.0.1 and a free port; wait for /healthz.

    `env`: more environment variables for the server (settings); `log`: where its stderr
    (its log lines, one per request with `access_log`) goes, else nowhere. Returns the
    process, its base URL and port; the caller terminates it (or use `serving`).
    """
    port = _free_port()
    env = {
        **os.environ,
        "RALLY_SECRET_KEY": "benchmark",
        "RALLY_DATA_DIR": str(data_dir or tempfile.mkdtemp(prefix="rally-bench-")),
        **(env or {}),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("rally")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            url,
            "--access-log" if access_log else "--no-access-log",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base, port
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.terminate()
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def load_arguments(doc: str | None, workers: int = 1) -> argparse.Namespace:
    """Parse the options every web benchmark takes (see the module docstrings)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument(
        "--workers", type=int, default=workers, help=f"rally serve --workers (default {workers})"
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=workers == DEPLOYED_WORKERS,
        help="rally serve --access-log/--no-access-log (lines go to a file)",
    )
    return parser.parse_args()


def describe_server(args: argparse.Namespace) -> str:
    """The server's configuration, as a line of the benchmark's output."""
    deployed = args.workers == DEPLOYED_WORKERS and args.access_log
    return (
        f"server: rally serve --workers {args.workers} "
        f"{'--access-log' if args.access_log else '--no-access-log'}"
        + (" (as deployed on this machine; access lines to a file)" if deployed else "")
        + f"; {args.clients} concurrent clients; {os.cpu_count()} CPUs; the same server, "
        "settings and middleware for every phase"
    )


@contextmanager
def serving(
    url: str,
    data_dir: Path | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    access_log: bool = False,
) -> Iterator[str]:
    """Run `start_server` for the block; yield its base URL.

    Its log goes to a temporary file; on the way out, reports how often the server logged
    "database is locked".
    """
    with tempfile.TemporaryFile() as log:
        server, base, _port = start_server(
            url, workers, data_dir=data_dir, env=env, access_log=access_log, log=log
        )
        try:
            yield base
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.seek(0)
            locked = log.read().decode(errors="replace").count("database is locked")
            if locked:
                print(f"  server log: 'database is locked' {locked} times")


def cluster_transactions(url: str) -> Callable[[], int]:
    """A counter of the transaction ids the PostgreSQL cluster has handed out (any database).

    Each writing transaction takes one, and its end changes the snapshot the pages are kept
    under (rally.web.page_cache.SnapshotCache): the difference over a phase tells how often
    other work on the cluster made the pages read the database again.
    """
    engine = make_engine(url, isolation_level="AUTOCOMMIT")

    def count() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                ).scalar_one()
            )

    return count


def import_corpus(url: str, data: Path) -> list[int]:
    """Upgrade the database at `url`, import the corpus; return the series with standings."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        report = import_paths(engine, [data])
        failed = [k for k, v in report.leagues.items() if v.error]
        if failed:
            raise SystemExit(f"import failed for {failed}")
        print(f"corpus imported in {time.perf_counter() - started:.1f} s")
        with engine.connect() as conn:
            return list(
                conn.execute(sa.text("SELECT DISTINCT series_id FROM series_stats ORDER BY 1"))
                .scalars()
                .all()
            )
    finally:
        engine.dispose()


def main() -> None:
    """Import the corpus, start the server, run the phases and print the figures."""
    args = load_arguments(__doc__)

    scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_web")
    url = scratch.create()
    server: subprocess.Popen[bytes] | None = None
    try:
        import_corpus(url, args.data)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                series_ids = (
                    conn.execute(sa.text("SELECT DISTINCT series_id FROM series_stats ORDER BY 1"))
                    .scalars()
                    .all()
                )
        finally:
            engine.dispose()

        server, base, port = start_server(url, args.workers)
        users = _users(base, url, args.clients)
        if len(users) < args.clients:
            raise SystemExit(f"only {len(users)} players with two teams found")

        health = [_cycle([_get("/healthz")]) for _ in range(args.clients)]
        standing_requests = [_get(f"/api/series/{sid}/standings") for sid in series_ids]
        standings = [
            _cycle(standing_requests[i:] + standing_requests[:i]) for i in range(args.clients)
        ]
        switches = [
            _cycle([_put_json("/api/me/context", {"team_id": t}, token) for t in teams])
            for token, teams in users
        ]
        load_before = os.getloadavg()
        run_phase("warm-up", port, standings, 1.0, 2000)
        run_phase("warm-up", port, switches, 1.0, 1000)
        phases = [
            run_phase("GET /healthz", port, health, args.seconds, args.max_requests),
            run_phase("GET standings", port, standings, args.seconds, args.max_requests),
            run_phase("PUT /api/me/context", port, switches, args.seconds, args.max_requests),
        ]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        scratch.drop_all()

    print(
        f"{args.clients} concurrent clients, {args.workers} server worker(s), "
        f"{len(series_ids)} series with standings, {os.cpu_count()} CPUs"
    )
    print(
        "load average (1/5/15 min) before the phases "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
    )
    for phase in phases:
        print(phase.line())
    health_phase, standings_phase, switch_phase = phases
    ratio = standings_phase.throughput / health_phase.throughput
    checks = [
        ("standings p99 < 25 ms", standings_phase.pct(0.99) < 25),
        (f"standings throughput >= 50% of /healthz ({ratio:.0%})", ratio >= 0.5),
        ("team switch p99 < 30 ms", switch_phase.pct(0.99) < 30),
        ("no errors", all(p.errors == 0 for p in phases)),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}")
    print(f"mean standings latency {statistics.fmean(standings_phase.latencies) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
