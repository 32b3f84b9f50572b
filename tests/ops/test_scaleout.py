"""Two `rally serve` behind HAProxy on a primary with a streaming replica (scripts/scaleout.py).

Reads go to the replica, a user reads their own writes even from a lagging replica, and
killing one instance during a bounded load loses no request beyond those in flight.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rally.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import scaleout

LOAD_SECONDS = 6.0
CLIENTS = 4


@pytest.fixture(scope="module")
def deployment(
    shared_leagues_dir: Path, tmp_path_factory: pytest.TempPathFactory, require_tool: object
) -> Iterator[scaleout.Deployment]:
    # One league keeps the import short; the replica lags 400 ms on purpose.
    d = scaleout.start(
        tmp_path_factory.mktemp("scaleout"),
        instances=2,
        corpus=shared_leagues_dir / "NSTF",
        replica_delay_ms=400,
    )
    try:
        yield d
    finally:
        scaleout.stop(d)


@pytest.fixture(scope="module")
def require_tool(pytestconfig: pytest.Config) -> None:
    root = pytestconfig.pluginmanager.get_plugin(str(Path(__file__).parents[1] / "conftest.py"))
    assert root is not None
    require = root.require
    require(shutil.which("haproxy") is not None, "haproxy not installed (apt-get install haproxy)")
    require(shutil.which("pg_createcluster") is not None, "pg_createcluster not installed")
    require(os.geteuid() == 0, "the scale-out test runs as root (clusters belong to postgres)")


def _replica_clients(d: scaleout.Deployment) -> int:
    # Connections of the app instances to the replica (pools open them only to read there).
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{d.replica_port}/postgres")
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM pg_stat_activity "
                        "WHERE datname = 'rally' AND backend_type = 'client backend'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _a_series(client: httpx.Client) -> int:
    leagues = [x["league"] for x in client.get("/api/leagues").json() if x["series_count"]]
    return int(client.get(f"/api/leagues/{leagues[0]}/series").json()[0]["series_id"])


def test_reads_go_to_the_replica(deployment: scaleout.Deployment) -> None:
    # Until now only writes and health checks ran: the instances never opened the replica.
    assert _replica_clients(deployment) == 0
    with httpx.Client(base_url=deployment.url, timeout=10) as client:
        series = _a_series(client)
        for _ in range(30):
            assert client.get(f"/api/series/{series}/standings").status_code == 200
    assert _replica_clients(deployment) >= 1


def _register(client: httpx.Client, email: str) -> dict[str, Any]:
    # Sign-ups share a per-process password budget (503 or 429 with Retry-After when it is
    # spent): wait as the answer says, as a real client would.
    body = {"email": email, "password": "correct horse", "first_name": "A", "last_name": "B"}
    for _ in range(10):
        answer = client.post("/api/register", json=body)
        if answer.status_code not in (429, 503):
            break
        time.sleep(float(answer.headers.get("retry-after", "1")))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _feeds(answer: httpx.Response) -> list[int]:
    assert answer.status_code == 200, answer.text
    return [int(feed["feed_id"]) for feed in answer.json()]


JSON = {"Content-Type": "application/json"}


def _echo(client: httpx.Client, api: bool, write: httpx.Response) -> dict[str, str]:
    # A browser sends the position cookie back; an API client (no cookie jar) echoes the
    # position header.
    assert write.headers["x-rally-written-lsn"] and "rally_lsn" in write.cookies
    if not api:
        return {}
    client.cookies.clear()
    return {"X-Rally-Written-LSN": write.headers["x-rally-written-lsn"]}


def test_a_user_reads_their_own_writes_despite_replica_lag(
    deployment: scaleout.Deployment,
) -> None:
    email = f"so-{os.getpid()}-{time.monotonic_ns()}@example.com"
    stale = 0
    # A browser (session and WAL position in cookies), an API client echoing the
    # X-Rally-Written-LSN of its writes, and a client of the same user that ignores it.
    with (
        httpx.Client(base_url=deployment.url, timeout=10) as browser,
        httpx.Client(base_url=deployment.url, timeout=10) as api,
        httpx.Client(base_url=deployment.url, timeout=10) as unaware,
    ):
        token = _register(browser, email)["token"]
        # At once, through the balancer (either instance): the new session is found.
        me = browser.get("/api/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"]["email"] == email
        for client in (api, unaware):
            client.headers["Authorization"] = f"Bearer {token}"
        time.sleep(1.0)  # the replica has the account and its session by now (400 ms behind)
        for n in range(8):
            # Each write is read back at once, through the balancer (either instance).
            client = browser if n % 2 else api
            created = client.post("/api/me/calendars", json={"team_id": None})
            assert created.status_code == 201, created.text
            feed = int(created.json()["feed_id"])
            echo = _echo(client, client is api, created)
            assert feed in _feeds(client.get("/api/me/calendars", headers=echo)), n
            # Without the position, a read right after the write goes to the lagging replica.
            if feed not in _feeds(unaware.get("/api/me/calendars")):
                stale += 1
            # (A cookie-signed call that changes something says it is JSON: CSRF guard.)
            revoked = client.request("DELETE", f"/api/me/calendars/{feed}", headers=JSON)
            assert revoked.status_code == 204, revoked.text
            echo = _echo(client, client is api, revoked)
            assert feed not in _feeds(client.get("/api/me/calendars", headers=echo)), n
    # The replica really lags: read-your-writes is not true by accident here.
    assert stale >= 1


def test_killing_one_instance_under_load_loses_no_request_beyond_those_in_flight(
    deployment: scaleout.Deployment,
) -> None:
    with httpx.Client(base_url=deployment.url, timeout=10) as client:
        series = _a_series(client)
    results: list[tuple[float, int]] = []
    stop_at = time.monotonic() + LOAD_SECONDS

    def load() -> None:
        with httpx.Client(base_url=deployment.url, timeout=10) as client:
            while time.monotonic() < stop_at:
                try:
                    status = client.get(f"/api/series/{series}/standings").status_code
                except httpx.HTTPError:
                    status = 0
                results.append((time.monotonic(), status))

    threads = [threading.Thread(target=load) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS / 3)
    killed_at = time.monotonic()
    os.kill(deployment.app_pids[0], signal.SIGKILL)
    for thread in threads:
        thread.join()
    failed = [r for r in results if r[1] != 200]
    after = [r for r in results if r[0] > killed_at + 1.0]
    # At most the requests in flight at the kill (one per client) may fail.
    assert len(failed) <= CLIENTS, failed
    assert after and all(status == 200 for _, status in after)
    assert len(results) > 50
