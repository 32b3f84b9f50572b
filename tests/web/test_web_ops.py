"""Operators' endpoints and logs: liveness, readiness, metrics, request ids, offline docs, icons."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import FAST_HASHER, register

from rally.config import Settings
from rally.observability import configure_logging
from rally.web import create_app


def _client(db_url: str, tmp_path: Path, **settings: object) -> TestClient:
    app = create_app(
        Settings(database_url=db_url, data_dir=tmp_path, secret_key="test-secret", **settings),
        password_hasher=FAST_HASHER,
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_livez_and_readyz_at_head(db_url: str, tmp_path: Path) -> None:
    with _client(db_url, tmp_path) as client:
        assert client.get("/livez").json() == {
            "status": "ok",
            "database": None,
            "revision": None,
            "head": None,
        }
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ok" and ready.json()["revision"] == ready.json()["head"]


def test_readyz_fails_while_the_schema_is_behind(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001_legacy_baseline'"))
    with _client(db_url, tmp_path) as client:
        assert client.get("/livez").status_code == 200
        behind = client.get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["status"] == "schema behind"
    assert behind.json()["revision"] == "0001_legacy_baseline"


def test_readyz_fails_while_the_database_is_down(tmp_path: Path) -> None:
    with _client("postgresql://nobody@127.0.0.1:1/none", tmp_path) as client:
        assert client.get("/livez").status_code == 200
        down = client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and down.json()["database"]


def test_metrics_are_off_by_default_and_count_requests_per_route(
    db_url: str, tmp_path: Path
) -> None:
    with _client(db_url, tmp_path) as client:
        assert client.get("/metrics").status_code == 404
    with _client(db_url, tmp_path, metrics=True) as client:
        for _ in range(3):
            assert client.get("/api/leagues").status_code == 200
        client.get("/api/series/999999/standings")
        text = client.get("/metrics").text
    assert 'rally_http_requests_total{method="GET",route="/api/leagues",status="200"} 3.0' in text
    assert 'route="/api/series/{series_id}/standings",status="404"' in text
    assert "rally_http_request_duration_seconds_bucket" in text
    assert 'rally_db_pool_checked_out{database="primary"}' in text


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_every_request_is_logged_with_id_user_status_and_duration(
    db_url: str, tmp_path: Path, log_lines: io.StringIO, log_format: str
) -> None:
    settings = Settings(database_url=db_url, data_dir=tmp_path, log_format=log_format)
    configure_logging(settings, stream=log_lines)
    with _client(db_url, tmp_path, log_format=log_format) as client:
        token = register(client)["token"]
        answer = client.get(
            "/api/me", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "abc-123"}
        )
        assert answer.headers["x-request-id"] == "abc-123"
        generated = client.get("/api/leagues").headers["x-request-id"]
        assert len(generated) == 16
        # A request id that could forge log lines is replaced.
        assert (
            client.get("/livez", headers={"X-Request-ID": "a b\nc"}).headers["x-request-id"]
            != "a b\nc"
        )
    lines = [line for line in log_lines.getvalue().splitlines() if "request" in line]
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        me = next(r for r in records if r.get("request_id") == "abc-123")
        assert me["method"] == "GET" and me["path"] == "/api/me" and me["status"] == 200
        assert me["route"] == "/api/me" and me["user_id"] is not None
        assert me["duration_ms"] >= 0 and me["time"].endswith("+00:00")
    else:
        me_line = next(line for line in lines if "request_id=abc-123" in line)
        assert " INFO rally.request " in me_line
        for part in ("method=GET", "path=/api/me", "status=200", "duration_ms=", "user_id="):
            assert part in me_line
        assert "user_id=None" not in me_line


def test_docs_work_offline_and_pages_have_icons_and_titles(db_url: str, tmp_path: Path) -> None:
    with _client(db_url, tmp_path) as client:
        for page in ("/api/docs", "/api/redoc"):
            html = client.get(page).text
            sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
            assert sources and all(src.startswith("/") for src in sources), sources
            for src in sources:
                assert client.get(src).status_code == 200, src
        assert client.get("/favicon.ico").headers["content-type"] == "image/png"
        manifest = client.get("/manifest.webmanifest").json()
        assert manifest["name"] == "Rally" and manifest["display"] == "standalone"
        for icon in manifest["icons"]:
            assert client.get(icon["src"]).content.startswith(b"\x89PNG")
        home = client.get("/").text
        leagues = client.get("/leagues").text
    assert "<title>Rally</title>" in home and 'rel="manifest"' in home
    assert "<title>Leagues · Rally</title>" in leagues
