"""Answers kept per database snapshot (rally.web.page_cache.SnapshotCache), PostgreSQL.

The snapshot is the whole cluster's: another test's transaction ending between two requests
changes it, so a test that expects a kept answer checks that the snapshot stayed the same
around the request, and tries again otherwise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_fixtures import seed
from web_helpers import make_app

from rally.db import make_engine
from rally.errors import DatabaseUnavailable
from rally.web.aiodb import AsyncPool
from rally.web.page_cache import SnapshotCache

RALLY = str(Path(sys.executable).with_name("rally"))


def test_an_answer_is_kept_only_under_the_snapshot_it_was_read_after() -> None:
    kept = SnapshotCache(size=2)
    kept.put("a", "10:12:10,11", "old")
    assert kept.get("a", "10:12:10,11") == "old"
    assert kept.get("a", "10:13:10,11") is None  # a transaction ended since
    assert kept.get("a", None) is None  # no snapshot (SQLite): never kept
    kept.put("b", None, "never")
    assert kept.get("b", None) is None and kept.get("b", "10:12:10,11") is None
    kept.put("b", "1:1:", "b")
    kept.put("c", "1:1:", "c")
    assert kept.get("a", "10:12:10,11") is None  # the least recently used went first
    assert (kept.hits, kept.get("c", "1:1:")) == (1, "c")


@pytest.fixture
def pg(pg_db_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, sa.Engine, dict[str, int]]]:
    engine = make_engine(pg_db_url)
    try:
        world = seed(engine)
        yield make_app(pg_db_url, tmp_path), engine, world
    finally:
        engine.dispose()


def _snapshot(engine: sa.Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(sa.text("SELECT pg_current_snapshot()::text")).scalar_one())


def _text(client: TestClient, path: str) -> str:
    return client.get(path).text


def _kept_answer(app: FastAPI, engine: sa.Engine, get: Callable[[], str]) -> str:
    """`get()` twice while the snapshot stays the same; assert the second was kept."""
    kept: SnapshotCache = app.state.snapshot_cache
    for attempt in range(100):
        time.sleep(0.05 * (attempt > 0))  # let a burst of other transactions pass
        before = _snapshot(engine)
        get()  # kept under `before`, unless a transaction ended meanwhile
        hits = kept.hits
        text = get()
        if _snapshot(engine) == before:
            assert kept.hits == hits + 1
            return text
    pytest.skip("the database's snapshot changed around every request (a busy cluster)")


def test_pages_and_the_team_api_skip_their_statements_until_a_write(
    pg: tuple[FastAPI, sa.Engine, dict[str, int]],
) -> None:
    app, engine, world = pg
    team, player = world["team_tennaqua_12"], world["player_aaron_apta"]
    # Each page, with what it shows of the player (or, standings, of the team) before the write.
    paths = {
        f"/api/teams/{team}": "Aaron",
        f"/teams/{team}": "Aaron",
        f"/players/{player}": "Aaron",
        "/search?q=walsh": "Aaron",
        f"/series/{world['series_apta_s12']}": "Tennaqua 12",
    }
    with TestClient(app) as client:
        for path, shown in paths.items():
            first = client.get(path)
            assert first.status_code == 200, first.text
            assert shown in first.text
            again = _kept_answer(app, engine, partial(_text, client, path))
            assert again == first.text
        # A write outside the application (an import, an admin, an older release).
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE players SET first_name = 'Zebulon' WHERE id = :p"), {"p": player}
            )
            conn.execute(
                sa.text("UPDATE teams SET team_name = 'Renamed 12' WHERE id = :t"), {"t": team}
            )
        for path, shown in paths.items():
            now = client.get(path).text
            assert ("Renamed 12" if shown == "Tennaqua 12" else "Zebulon") in now, path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        return str(answer.read().decode())


def test_a_write_shows_on_the_next_request_to_either_of_two_workers(
    pg: tuple[FastAPI, sa.Engine, dict[str, int]], tmp_path: Path
) -> None:
    _app, engine, world = pg
    port = _free_port()
    env = {**os.environ, "RALLY_DATA_DIR": str(tmp_path), "RALLY_SECRET_KEY": "test"}
    url = engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen(
        [RALLY, "serve", "--workers", "2", "--port", str(port), "--database-url", url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    team, player, series = (
        world["team_tennaqua_12"],
        world["player_aaron_apta"],
        world["series_apta_s12"],
    )
    paths = {
        f"/api/teams/{team}": "Aaron",
        f"/teams/{team}": "Aaron",
        f"/players/{player}": "Aaron",
        f"/series/{series}": "Tennaqua 12",
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                assert proc.poll() is None, "rally serve exited"
                assert time.monotonic() < deadline, "rally serve --workers 2 never answered"
                time.sleep(0.2)
        # Each request on a new connection: both workers answer some and keep the pages.
        for _ in range(15):
            for path, shown in paths.items():
                assert shown in _get(base + path)
        # Written by a plain connection, as `rally etl import` or an older release would.
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            conn.execute("UPDATE players SET first_name = 'Zebulon' WHERE id = %s", (player,))
            conn.execute("UPDATE teams SET team_name = 'Renamed 12' WHERE id = %s", (team,))
        for _ in range(15):
            for path, shown in paths.items():
                text = _get(base + path)
                assert ("Renamed 12" if shown == "Tennaqua 12" else "Zebulon") in text, path
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert "Traceback" not in output


def test_concurrent_requests_share_a_snapshot_read_sent_after_they_came(pg_db_url: str) -> None:
    engine = make_engine(pg_db_url)
    pool = AsyncPool(engine.url, {})
    engine.dispose()
    conninfo = pg_db_url.replace("postgresql+psycopg", "postgresql")

    async def main() -> None:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as writer:
            await writer.execute("CREATE TABLE scratch_writes (n integer)")
            # Asked at the same time: one read answers all.
            reads = pool.snapshot_reads
            answers = await asyncio.gather(*(pool.snapshot() for _ in range(50)))
            assert len(set(answers)) == 1 and pool.snapshot_reads == reads + 1
            for round_ in range(30):
                # Reads in flight (or about to be) while a write commits...
                early = [asyncio.create_task(pool.snapshot()) for _ in range(round_ % 4)]
                await asyncio.sleep(0.0005 * (round_ % 3))
                async with writer.transaction():
                    cursor = await writer.execute(
                        "INSERT INTO scratch_writes VALUES (%s) RETURNING pg_current_xact_id()",
                        (round_,),
                    )
                    row = await cursor.fetchone()
                    assert row is not None
                    xid = row[0]
                # ...a request coming after the commit gets a snapshot that sees it.
                later = await pool.snapshot()
                cursor = await writer.execute(
                    "SELECT pg_visible_in_snapshot(%s::xid8, %s::pg_snapshot)", (xid, later)
                )
                assert await cursor.fetchone() == (True,)
                await asyncio.gather(*early)
        await pool.close()

    asyncio.run(asyncio.wait_for(main(), 20))


class _HeldConnection:
    """Stands for the reader's connection: each snapshot read answers when the test says."""

    closed = False

    def __init__(self) -> None:
        self.reads: list[asyncio.Event] = []

    async def execute(self, _sql: str, prepare: bool = False) -> _HeldConnection:
        answer = asyncio.Event()
        self.reads.append(answer)
        self._answer = f"snapshot {len(self.reads)}"
        await answer.wait()
        return self

    async def fetchone(self) -> tuple[str]:
        return (self._answer,)


def test_a_request_never_shares_a_snapshot_read_already_in_flight() -> None:
    async def main() -> None:
        pool = AsyncPool(sa.engine.make_url("postgresql://nobody@127.0.0.1/none"), {})
        held = _HeldConnection()

        async def connect() -> _HeldConnection:
            return held

        pool._connect = connect  # type: ignore[method-assign]
        first = asyncio.create_task(pool.snapshot())
        while not held.reads:  # the first read is sent...
            await asyncio.sleep(0)
        # ...then two requests come: a write may have ended since it was sent.
        second = [asyncio.create_task(pool.snapshot()) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert len(held.reads) == 1 and not any(t.done() for t in [first, *second])
        held.reads[0].set()
        assert await first == "snapshot 1"
        await asyncio.sleep(0.01)
        assert not any(t.done() for t in second), "they shared the read sent before they came"
        assert len(held.reads) == 2  # the next read, sent after they came, answers both
        held.reads[1].set()
        assert [await t for t in second] == ["snapshot 2", "snapshot 2"]
        assert pool.snapshot_reads == 2

    asyncio.run(asyncio.wait_for(main(), 20))


def test_a_failed_snapshot_read_answers_503_and_the_next_read_reconnects() -> None:
    class Broken(_HeldConnection):
        async def execute(self, _sql: str, prepare: bool = False) -> _HeldConnection:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        async def close(self) -> None:
            self.closed = True

    async def main() -> None:
        pool = AsyncPool(sa.engine.make_url("postgresql://nobody@127.0.0.1/none"), {})
        broken, good = Broken(), _HeldConnection()
        connections: list[_HeldConnection] = [broken, good]

        async def connect() -> _HeldConnection:
            return connections.pop(0)

        pool._connect = connect  # type: ignore[method-assign]
        failed = await asyncio.gather(pool.snapshot(), pool.snapshot(), return_exceptions=True)
        assert all(isinstance(e, DatabaseUnavailable) for e in failed), failed
        assert broken.closed
        later = asyncio.create_task(pool.snapshot())
        while not good.reads:  # the next read, on a new connection
            await asyncio.sleep(0)
        good.reads[0].set()
        assert await later == "snapshot 1"

    asyncio.run(asyncio.wait_for(main(), 20))
