"""Benchmark standings while a flood of bad sign-ins hits the server (issue 15).

Run: .venv/bin/python benchmarks/bench_login_flood.py [--postgres-url URL] [--data DIR]
     [--clients 16] [--flood-clients 8] [--seconds 8] [--max-requests 20000]
     [--max-flood 4000]

Imports ../shared/data/leagues into a throwaway PostgreSQL database (dropped at the end) and
starts `rally serve --no-access-log` (default settings: the throttles as shipped) on 127.0.0.1
and a free port. Then, in one run, with the same closed-loop load generator as bench_web.py:

1. standings alone: --clients keep-alive clients cycling over every series' standings, once
   before and once after the flood phase (the reference is both together: the load of a
   shared machine drifts);
2. standings during a flood: the same clients while --flood-clients more send
   POST /api/login with made-up e-mails as fast as the server answers, each from its own
   loopback address (127.0.0.2, 127.0.0.3, ...: several addresses, as a botnet would).

Both phases are bounded (--seconds, --max-requests; the flood also by --max-flood). Prints the
load average (the machine may be shared), both phases' throughput and latency, the flood's
answers by status, and the ratios flood/alone of standings throughput (goal >= 0.8) and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench_web import DEFAULT_DATA, Phase, _client, _cycle, _get, _run, import_corpus, start_server
from scratch import DEFAULT_ADMIN_URL, ScratchDatabases


def _login() -> bytes:
    body = json.dumps(
        {"email": f"nobody-{uuid.uuid4().hex[:10]}@example.com", "password": "guess guess"}
    ).encode()
    head = (
        "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _flooder(
    port: int, address: str, stop_at: float, budget: list[int], statuses: Counter[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            writer.write(_login())
            head = await reader.readuntil(b"\r\n\r\n")
            at = head.lower().find(b"\r\ncontent-length:")
            length = int(head[at + 17 : head.index(b"\r\n", at + 2)]) if at >= 0 else 0
            if length:
                await reader.readexactly(length)
            statuses[head[9:12].decode()] += 1
            if b"connection: close" in head.lower():
                break
    finally:
        writer.close()


def phase(
    name: str,
    port: int,
    makers: list[Callable[[], bytes]],
    seconds: float,
    max_requests: int,
    flood: int,
    max_flood: int,
) -> tuple[Phase, Counter[str]]:
    """Measure the standings clients, with `flood` login flooders running alongside."""
    latencies: list[float] = []
    errors = [0]
    statuses: Counter[str] = Counter()

    async def main() -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        budget, flood_budget = [max_requests], [max_flood]
        flooders = asyncio.gather(
            *(
                _flooder(port, f"127.0.0.{2 + i}", stop_at, flood_budget, statuses)
                for i in range(flood)
            )
        )
        await asyncio.gather(
            *(_client(port, m, stop_at, budget, latencies, errors) for m in makers)
        )
        # Standings throughput counts the standings clients' own time, not the flood's tail.
        elapsed = time.perf_counter() - start
        await flooders
        return elapsed

    elapsed = _run(main())
    return Phase(name, latencies, errors[0], elapsed), statuses


def main() -> None:
    """Import the corpus, start the server, measure standings alone and during a flood."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--flood-clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--max-requests", type=int, default=20000)
    parser.add_argument("--max-flood", type=int, default=4000)
    args = parser.parse_args()

    scratch = ScratchDatabases(args.postgres_url, prefix="rally_bench_flood")
    url = scratch.create()
    server: subprocess.Popen[bytes] | None = None
    try:
        series_ids = import_corpus(url, args.data)
        server, _base, port = start_server(url, 1)
        requests = [_get(f"/api/series/{sid}/standings") for sid in series_ids]
        standings = [_cycle(requests[i:] + requests[:i]) for i in range(args.clients)]
        load_before = os.getloadavg()
        phase("warm-up", port, standings, 1.0, 2000, 0, 0)
        before, _ = phase("alone (before)", port, standings, args.seconds, args.max_requests, 0, 0)
        flooded, statuses = phase(
            "standings + flood",
            port,
            standings,
            args.seconds,
            args.max_requests,
            args.flood_clients,
            args.max_flood,
        )
        after, _ = phase("alone (after)", port, standings, args.seconds, args.max_requests, 0, 0)
        # The reference is both quiet phases together: the machine's load drifts (shared).
        alone = Phase(
            "standings alone",
            before.latencies + after.latencies,
            before.errors + after.errors,
            before.seconds + after.seconds,
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        scratch.drop_all()

    print(
        f"{args.clients} standings clients, {args.flood_clients} flooding clients "
        f"(one loopback address each), 1 server worker, {os.cpu_count()} CPUs, default limits"
    )
    print(
        "load average (1/5/15 min) before "
        + "/".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + "/".join(f"{x:.2f}" for x in os.getloadavg())
    )
    for measured in (before, after, alone, flooded):
        print(measured.line())
    total = sum(statuses.values())
    print(
        f"flood: {total} sign-ins in {flooded.seconds:.1f} s ({total / flooded.seconds:.1f}/s): "
        + ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    )
    ratio = flooded.throughput / alone.throughput
    p99 = flooded.pct(0.99) / alone.pct(0.99)
    print(f"standings throughput during the flood / alone: {ratio:.2f} (goal >= 0.80)")
    print(f"standings p99 during the flood / alone: {p99:.2f}")
    print(f"{'PASS' if ratio >= 0.8 else 'FAIL'}  throughput ratio >= 0.8")
    print(f"{'PASS' if statuses.get('429', 0) > 0 else 'FAIL'}  the flood gets 429s")


if __name__ == "__main__":
    main()
