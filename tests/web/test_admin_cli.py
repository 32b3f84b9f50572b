"""`rally admin`: accounts, claims and captains from the operator's shell, all audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from smtp_box import Mailbox, smtp_server
from typer.testing import CliRunner
from web_helpers import PASSWORD, make_app, new_email, register

from rally.cli import app as cli

runner = CliRunner()


def _run(db_url: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(cli, ["admin", *args, "--database-url", db_url], env=env)


def _claim_id(engine: sa.Engine, player_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT id FROM player_claims WHERE player_id = :p"), {"p": player_id}
            ).scalar_one()
        )


def test_operator_disables_enables_and_sends_a_reset(
    app: FastAPI, db_url: str, tmp_path: Path
) -> None:
    client = TestClient(app)
    email = new_email()
    register(client, email=email, first_name="Pat", last_name="Doe")
    listed = _run(db_url, "users", "list", "--find", "pat doe", "--json")
    assert listed.exit_code == 0 and email in listed.stdout
    assert _run(db_url, "users", "list", "--find", "nobody-like", "--json").stdout.strip() == "[]"
    disabled = _run(
        db_url, "users", "disable", email.upper(), "--reason", "spam", "--actor", "ops ann"
    )
    assert disabled.exit_code == 0 and "1 session(s) ended" in disabled.stdout
    assert client.get("/api/me").status_code == 401
    refused = TestClient(app).post("/api/login", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403 and "disabled" in refused.json()["error"]
    assert _run(db_url, "users", "enable", email).exit_code == 0
    assert (
        TestClient(app).post("/api/login", json={"email": email, "password": PASSWORD}).status_code
        == 200
    )
    missing = _run(db_url, "users", "disable", "ghost@example.com")
    assert (
        missing.exit_code == 1 and "no account with the email ghost@example.com" in missing.stderr
    )
    no_base = _run(db_url, "users", "send-reset", email, env={"RALLY_DATA_DIR": str(tmp_path)})
    assert no_base.exit_code == 2 and "RALLY_BASE_URL" in no_base.stderr
    env = {
        "RALLY_DATA_DIR": str(tmp_path / "cli"),
        "RALLY_BASE_URL": "https://rally.example",
        "RALLY_SMTP_HOST": "",
    }
    sent = _run(db_url, "users", "send-reset", email, env=env)
    assert sent.exit_code == 0, sent.stderr
    assert f"to {tmp_path / 'cli' / 'outbox'}" in sent.stdout
    written = list((tmp_path / "cli" / "outbox").glob("*.eml"))
    assert len(written) == 1 and "https://rally.example/reset?token=" in written[0].read_text()
    log = _run(db_url, "audit", "--subject", email, "--json")
    actions = [a for a in ("user.disable", "user.enable", "user.send_reset") if a in log.stdout]
    assert actions == ["user.disable", "user.enable", "user.send_reset"]
    assert "ops ann" in log.stdout


def test_dispute_resolved_by_operator_release_and_transfer(
    db_url: str, world: dict[str, int], tmp_path: Path, engine: sa.Engine
) -> None:
    with smtp_server() as box:
        app = make_app(db_url, tmp_path, mail=box.settings())
        holder, real = TestClient(app), TestClient(app, client=("192.0.2.9", 1))
        holder_email, real_email = new_email(), new_email()
        register(holder, email=holder_email, first_name="Robert", last_name="Smith")
        register(real, email=real_email, first_name="Robert", last_name="Smith")
        player = world["player_robert"]
        assert holder.post("/api/me/claims", json={"player_id": player}).status_code == 201
        _verify(real, box, real_email)
        assert real.post("/api/me/disputes", json={"player_id": player}).status_code == 201
        claim = _claim_id(engine, player)
        queue = _run(db_url, "claims", "list", "--json")
        assert (
            queue.exit_code == 0
            and f'"claim_id": {claim}' in queue.stdout
            and '"disputed"' in queue.stdout
        )
        env = {
            "RALLY_SMTP_HOST": "127.0.0.1",
            "RALLY_SMTP_PORT": str(box.port),
            "RALLY_SMTP_TLS": "none",
        }
        released = _run(db_url, "claims", "release", str(claim), env=env)
        assert released.exit_code == 0 and "released" in released.stdout
        assert box.wait_for(holder_email, "was released")
        assert real.post("/api/me/claims", json={"player_id": player}).status_code == 201
        assert real.get("/api/me/account").json()["disputes"][0]["state"] == "upheld"
        # Transfer: the operator gives the record back to the first account.
        claim = _claim_id(engine, player)
        moved = _run(db_url, "claims", "transfer", str(claim), "--to", holder_email, env=env)
        assert moved.exit_code == 0, moved.stderr
        assert [c["status"] for c in holder.get("/api/me/account").json()["claims"]] == [
            "confirmed"
        ]
        assert real.get("/api/me/account").json()["claims"] == []
        bad = _run(db_url, "claims", "confirm", "999999")
        assert bad.exit_code == 1 and "no claim 999999" in bad.stderr
        state = _run(db_url, "claims", "list", "--state", "sideways")
        assert state.exit_code == 2 and "--state must be one of" in state.stderr


def _verify(client: TestClient, box: Mailbox, email: str) -> None:
    from urllib.parse import parse_qs, urlsplit

    link = box.link(email, "Confirm your e-mail", "/verify")
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert client.post("/api/email/verify", json={"token": token}).status_code == 200


def test_captains_grant_list_revoke_and_pending_confirmed_by_operator(
    app: FastAPI, db_url: str, world: dict[str, int], engine: sa.Engine
) -> None:
    captain, typo = TestClient(app), TestClient(app, client=("192.0.2.3", 1))
    captain_email = new_email()
    register(captain, email=captain_email)
    register(typo, email=new_email(), first_name="Jimmy", last_name="Walsh")
    team = world["team_tennaqua_12"]
    granted = _run(db_url, "captains", "grant", captain_email, str(team))
    assert granted.exit_code == 0 and f"captain of team {team}" in granted.stdout
    assert "Tennaqua 12" in _run(db_url, "captains", "list", "--json").stdout
    assert typo.post("/api/me/claims", json={"player_id": world["player_jim"]}).status_code == 201
    claim = _claim_id(engine, world["player_jim"])
    assert captain.get("/api/captain/claims").json()[0]["claim_id"] == claim
    assert _run(db_url, "captains", "revoke", captain_email, str(team)).exit_code == 0
    assert captain.get("/api/captain/claims").json() == []
    assert captain.post(f"/api/captain/claims/{claim}/confirm", json={}).status_code == 403
    # No active captain: the operator confirms.
    confirmed = _run(db_url, "claims", "confirm", str(claim))
    assert confirmed.exit_code == 0
    assert [c["status"] for c in typo.get("/api/me/account").json()["claims"]] == ["confirmed"]
    log = _run(db_url, "audit", "--json")
    assert all(a in log.stdout for a in ("captain.grant", "captain.revoke", "claim.confirm"))


@pytest.mark.parametrize("command", [["users", "list"], ["claims", "list"], ["captains", "list"]])
def test_listings_work_on_an_empty_database(db_url: str, command: list[str]) -> None:
    result = _run(db_url, *command)
    assert result.exit_code == 0, result.stderr
