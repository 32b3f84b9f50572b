"""SQLite under concurrent use: writes take turns in the process, reads never wait, nothing fails."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from web_fixtures import seed
from web_helpers import FAST_HASHER, PASSWORD, bearer, make_app, register, serving

from rally.config import Settings
from rally.db import make_engine, writer
from rally.db.writer import WriterQueue
from rally.models import Player, Team
from rally.web import create_app
from rally.web.hashing import LimitedHasher

THREADS = 16
SWITCHES = 8


def _players(engine: sa.Engine, teams: list[int]) -> list[list[int]]:
    """Two player rows per thread, one on each of `teams`, named after the thread."""
    ids: list[list[int]] = []
    with Session(engine) as s, s.begin():
        for i in range(THREADS):
            rows = []
            for team_id in teams:
                team = s.get(Team, team_id)
                assert team is not None
                rows.append(
                    Player(
                        tenniscores_player_id=f"writer-{i}-{team_id}",
                        first_name="Writer",
                        last_name=f"Thread{i}",
                        league_id=team.league_id,
                        club_id=team.club_id,
                        series_id=team.series_id,
                        team_id=team.id,
                    )
                )
            s.add_all(rows)
            s.flush()
            ids.append([p.id for p in rows])
    return ids


def _player_session(base: str, i: int, players: list[int], teams: list[int]) -> dict[str, Any]:
    """What one user does at once with the others: register, sign in, claim, switch."""
    statuses: list[int] = []
    email = f"writer{i}@example.com"
    with httpx.Client(base_url=base, timeout=60) as http:
        body = {
            "email": email,
            "password": PASSWORD,
            "first_name": "Writer",
            "last_name": f"Thread{i}",
        }
        reg = http.post("/api/register", json=body)
        while reg.status_code == 429:  # the site-wide budget of password hashing: wait
            time.sleep(float(reg.headers.get("Retry-After", "1")))
            reg = http.post("/api/register", json=body)
        statuses.append(reg.status_code)
        login = http.post("/api/login", json={"email": email, "password": PASSWORD})
        while login.status_code == 429:  # the site-wide budget of password checks: wait
            time.sleep(float(login.headers.get("Retry-After", "1")))
            login = http.post("/api/login", json={"email": email, "password": PASSWORD})
        statuses.append(login.status_code)
        assert login.status_code == 200, (login.status_code, login.text)
        token = login.json()["token"]
        for pid in players:
            claimed = http.post("/api/me/claims", json={"player_id": pid}, headers=bearer(token))
            statuses.append(claimed.status_code)
        last = None
        for n in range(SWITCHES):
            last = teams[n % 2]
            switched = http.put("/api/me/context", json={"team_id": last}, headers=bearer(token))
            statuses.append(switched.status_code)
    return {"email": email, "statuses": statuses, "last_team": last}


def test_many_users_register_claim_and_switch_at_once_without_an_error(
    db_factory: Any, tmp_path: Path
) -> None:
    url = db_factory.create("sqlite")
    engine = make_engine(url)
    world = seed(engine)
    teams = [world["team_midtown_s1"], world["team_tennaqua_12"]]
    players = _players(engine, teams)
    # Real (if light) argon2: registration and sign-in do slow work outside the write lock.
    settings = Settings(database_url=url, data_dir=tmp_path, secret_key="test-secret")
    app = create_app(settings, password_hasher=PasswordHasher(time_cost=2, memory_cost=8192))
    with serving(app) as base, ThreadPoolExecutor(THREADS) as pool:
        done = list(pool.map(lambda i: _player_session(base, i, players[i], teams), range(THREADS)))
    queue: WriterQueue = app.state.writer
    for outcome in done:
        assert outcome["statuses"] == [201, 200, 201, 201] + [200] * SWITCHES, outcome
    # The writers really met (they queued), and every write is there afterwards.
    assert queue.waited > 0
    with engine.connect() as conn:
        for i, outcome in enumerate(done):
            user_id = conn.execute(
                sa.text("SELECT id FROM users WHERE email = :e"), {"e": outcome["email"]}
            ).scalar_one()
            claimed = (
                conn.execute(
                    sa.text("SELECT player_id FROM player_claims WHERE user_id = :u ORDER BY 1"),
                    {"u": user_id},
                )
                .scalars()
                .all()
            )
            assert claimed == sorted(players[i])
            context = conn.execute(
                sa.text("SELECT team_id FROM user_contexts WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            assert context == outcome["last_team"]
            sessions = conn.execute(
                sa.text("SELECT count(*) FROM user_sessions WHERE user_id = :u"), {"u": user_id}
            ).scalar_one()
            assert sessions == 2  # registration and sign-in
    engine.dispose()


@pytest.fixture
def sqlite_client(db_factory: Any, tmp_path: Path) -> Any:
    url = db_factory.create("sqlite")
    engine = make_engine(url)
    world = seed(engine)
    engine.dispose()
    app = make_app(url, tmp_path)
    with TestClient(app) as client:
        yield client, app, url, world


def test_reads_do_not_wait_for_a_writer(sqlite_client: Any) -> None:
    client, app, url, world = sqlite_client
    token = register(client)["token"]
    # Another process holds SQLite's write lock, and this process's writer turn is taken.
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    queue: WriterQueue = app.state.writer
    assert queue.acquire(1)
    try:
        started = time.perf_counter()
        assert client.get(f"/api/series/{world['series_apta_s12']}/standings").status_code == 200
        assert client.get("/api/me", headers=bearer(token)).status_code == 200
        assert client.get(f"/teams/{world['team_tennaqua_12']}").status_code == 200
        assert time.perf_counter() - started < 2
    finally:
        queue.release()
        other.execute("ROLLBACK")
        other.close()


def test_server_connections_are_kept_with_wal_and_a_shared_memory_map(sqlite_client: Any) -> None:
    client, app, _url, world = sqlite_client
    engine: sa.Engine = app.state.engine
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "journal_mode",
                "synchronous",
                "mmap_size",
                "cache_size",
                "temp_store",
                "wal_autocheckpoint",
            )
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "mmap_size": writer.MMAP_BYTES,
        "cache_size": -writer.CACHE_KIB,
        "temp_store": 2,  # MEMORY
        "wal_autocheckpoint": 0,  # checkpoints run aside (writer.Checkpointer)
    }
    assert app.state.writer.checkpointer is not None
    # Concurrent page views keep their connections in the pool: none is closed under load
    # (the churn of opening and closing one per request was the cost), and every connection
    # opened stays there for the next request.
    pages = [f"/teams/{world['team_tennaqua_12']}"] * 64
    opened: list[object] = []
    closed: list[object] = []
    sa.event.listen(engine.pool, "connect", lambda *_a: opened.append(1))
    sa.event.listen(engine.pool, "close", lambda *_a: closed.append(1))
    for _ in range(2):
        with ThreadPoolExecutor(8) as pool:
            assert {r.status_code for r in pool.map(client.get, pages)} == {200}
    assert closed == []
    assert engine.pool.checkedin() >= len(opened)
    assert engine.pool.size() == app.state.db_capacity


def test_an_overloaded_writer_queue_answers_503_with_retry_after(sqlite_client: Any) -> None:
    client, app, _url, _world = sqlite_client
    queue: WriterQueue = app.state.writer
    queue.wait = 0.3
    assert queue.acquire(1)
    try:
        busy = client.post(
            "/api/register",
            json={
                "email": "late@example.com",
                "password": PASSWORD,
                "first_name": "A",
                "last_name": "B",
            },
        )
    finally:
        queue.release()
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "2"
    assert "overloaded" in busy.json()["error"]
    # Nothing was half-written, and the same request succeeds once the queue moves.
    assert register(client, email="late@example.com")["user"]["email"] == "late@example.com"


def test_writers_take_turns_in_arrival_order() -> None:
    queue = WriterQueue()
    order: list[int] = []
    assert queue.acquire(1)

    def writer(n: int) -> None:
        assert queue.acquire(5)
        order.append(n)
        queue.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        while queue.queued < n + 1:  # each is waiting before the next arrives
            time.sleep(0.001)
    queue.release()
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2, 3, 4]
    assert not queue.acquire(0) or queue.release() is None  # free again
    # A waiter that gives up leaves the queue.
    assert queue.acquire(1)
    assert queue.acquire(0.05) is False and queue.queued == 0
    queue.release()


def test_password_hashing_is_queued_per_slot() -> None:
    running, peak = [0], [0]
    lock = threading.Lock()

    class Probe(LimitedHasher):
        def _probe(self) -> None:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.01)
            with lock:
                running[0] -= 1

    hasher = Probe(FAST_HASHER, slots=1)
    original = PasswordHasher.hash

    def slow_hash(self: PasswordHasher, password: str | bytes, *, salt: bytes | None = None) -> str:
        hasher._probe()
        return original(self, password, salt=salt)

    PasswordHasher.hash = slow_hash  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(6) as pool:
            hashes = list(pool.map(lambda i: hasher.hash(f"password {i}"), range(6)))
    finally:
        PasswordHasher.hash = original  # type: ignore[method-assign]
    assert peak[0] == 1
    assert all(hasher.verify(h, f"password {i}") for i, h in enumerate(hashes))
    assert (hasher.time_cost, hasher.memory_cost) == (
        FAST_HASHER.time_cost,
        FAST_HASHER.memory_cost,
    )


def test_team_pages_come_from_memory_until_any_commit(sqlite_client: Any) -> None:
    client, app, url, world = sqlite_client
    team = world["team_tennaqua_12"]
    texts = app.state.team_texts
    # (The server's first connections switch the file to WAL: a change of the file too.)
    first = [client.get(f"/api/teams/{team}") for _ in range(2)][-1]
    assert first.status_code == 200
    built, hits = texts.misses, texts.hits
    again = [client.get(f"/api/teams/{team}") for _ in range(2)]
    assert {page.content for page in again} == {first.content}
    assert texts.misses == built and texts.hits == hits + 2
    # Another process commits (an import, an admin command): the next page shows it.
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("UPDATE teams SET team_name = 'Renamed 12' WHERE id = ?", (team,))
    finally:
        other.close()
    assert client.get(f"/api/teams/{team}").json()["team"] == "Renamed 12"
    assert "Renamed 12" in client.get(f"/teams/{team}").text
    # So does a commit of this server's own requests (a registration here).
    built = texts.misses
    register(client)
    assert client.get(f"/api/teams/{team}").json()["team"] == "Renamed 12"
    assert texts.misses == built + 1


def test_the_data_version_changes_with_every_other_connections_commit(tmp_path: Path) -> None:
    from rally.services.week_sql import TeamWeekTexts

    url = f"sqlite:///{tmp_path / 'version.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        version = writer.DataVersion.of(engine)
        assert version is not None
        before = version.read()
        assert version.read() == before  # nothing committed
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert version.read() != before
        version.close()
        assert writer.DataVersion.of(make_engine("sqlite://")) is None
        # Without a data version nothing is kept.
        assert TeamWeekTexts(None).peek(team_id=1, today=dt.date(2025, 1, 1)) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("SELECT 1", False),
        ("  with t AS (SELECT 1) SELECT * FROM t", False),
        ("WITH t AS (SELECT updated_at FROM x) SELECT * FROM t", False),
        ("WITH t AS (SELECT 1 AS a) INSERT INTO x SELECT a FROM t", True),
        ("WITH t AS (SELECT 1) DELETE FROM x", True),
        ("UPDATE x SET a = 1", True),
        ("SAVEPOINT s", True),
    ],
)
def test_statements_that_write_take_a_turn(statement: str, writes: bool) -> None:
    assert writer._is_write(statement) is writes


def test_the_wal_is_checkpointed_aside_and_the_thread_ends_with_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as the server's connections
    conn.execute("CREATE TABLE t (x TEXT)")
    for i in range(200):
        conn.execute("INSERT INTO t VALUES (?)", (str(i) * 100,))
    # Nothing was copied to the database file yet: the WAL holds every commit.
    assert path.stat().st_size < 200 * 100

    class Owner:
        pass

    owner = Owner()
    checkpointer = writer.Checkpointer(str(path), owner, interval=0.02)
    deadline = time.monotonic() + 10
    while checkpointer.runs == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.runs >= 1 and checkpointer.error is None
    assert path.stat().st_size > 200 * 100  # the rows are in the database file now
    # Readers never waited meanwhile, and the rows are all there.
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 200
    thread = checkpointer._thread
    del owner
    thread.join(timeout=10)
    assert not thread.is_alive()
    conn.close()
