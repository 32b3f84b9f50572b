"""What a client gets when the database or the code fails: a sentence and a status, no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from web_helpers import make_app

from rally.db import make_engine
from rally.services import standings

RALLY = str(Path(sys.executable).parent / "rally")


def _terminate_other_sessions(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_lost_database_connection_is_503_then_recovers(app: FastAPI, db_url: str) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/leagues").status_code == 200
        # The server restarts under the app (its pooled connections die).
        assert _terminate_other_sessions(db_url) >= 1
        lost = client.get("/api/leagues")
        assert lost.status_code == 503
        assert lost.json()["error"] == "The database is unavailable."
        assert "Traceback" not in lost.text
        # The pool replaced its connections: the next request is served.
        assert client.get("/api/leagues").status_code == 200


def _fail_with(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def failing(*_args: object, **_kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(standings, "list_leagues", failing)


def test_database_error_is_503_with_a_sentence(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_with(monkeypatch, OperationalError("SELECT 1", {}, Exception("canceling statement")))
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/leagues")
        page = client.get("/leagues")
    assert api.status_code == page.status_code == 503
    assert api.json()["error"] == "The database could not answer; try again shortly."
    assert "could not answer" in page.text and "canceling statement" not in page.text


def test_unexpected_error_is_500_with_a_sentence(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_with(monkeypatch, RuntimeError("internal detail"))
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/leagues")
        page = client.get("/leagues")
    assert api.status_code == page.status_code == 500
    assert api.json()["error"] == "Something went wrong on our side; please try again."
    assert page.headers["content-type"].startswith("text/html")
    assert "internal detail" not in api.text + page.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def test_serve_with_two_workers_serves_and_stops(db_url: str, tmp_path: Path) -> None:
    # Two worker processes share the port; both build the app from the environment.
    make_app(db_url, tmp_path)  # the seeded database of the fixtures is not needed
    port = _free_port()
    env = {**os.environ, "RALLY_DATA_DIR": str(tmp_path)}
    env.pop("RALLY_SECRET_KEY", None)
    proc = subprocess.Popen(
        [RALLY, "serve", "--workers", "2", "--port", str(port), "--database-url", db_url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, "rally serve exited"
                assert time.monotonic() < deadline, "rally serve --workers 2 never answered"
                time.sleep(0.2)
        for _ in range(20):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/leagues", timeout=5) as r:
                assert r.status == 200
        assert len(_children(proc.pid)) >= 2
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "Traceback" not in output
