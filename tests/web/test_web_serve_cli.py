"""`rally serve`: refuses a database that is not ready, otherwise hands the app to uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rally.cli import app as cli

runner = CliRunner()


def test_serve_refuses_a_database_not_at_head(empty_db_url: str) -> None:
    result = runner.invoke(cli, ["serve", "--database-url", empty_db_url])
    assert result.exit_code == 2
    assert "rally db upgrade" in result.output


def test_serve_refuses_an_unreachable_database() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    result = runner.invoke(cli, ["serve", "--database-url", url])
    assert result.exit_code == 2 and "Cannot connect" in result.output


def test_serve_runs_uvicorn_with_the_app(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        seen["app"], seen["options"] = app, options

    monkeypatch.setattr("uvicorn.run", fake_run)
    monkeypatch.setenv("RALLY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RALLY_SECRET_KEY", raising=False)
    result = runner.invoke(
        cli, ["serve", "--database-url", db_url, "--port", "8123", "--no-access-log"]
    )
    assert result.exit_code == 0, result.output
    assert seen["options"]["port"] == 8123
    # Rally's middleware logs requests (with ids and durations), not uvicorn's access log.
    assert seen["options"]["access_log"] is False
    assert seen["app"].state.settings.access_log is False
    # uvloop and httptools whenever installed (uvicorn[standard]).
    assert seen["options"]["loop"] == seen["options"]["http"] == "auto"
    # Every template is compiled before the first request (no first-render wait per page).
    env = seen["app"].state.templates.env
    assert {template.name for template in env.cache.values()} == set(env.list_templates())
    with TestClient(seen["app"]) as client:
        assert client.get("/healthz").json()["database"] == "ok"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
