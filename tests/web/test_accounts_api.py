"""Accounts end to end through the API on both backends, mail through a real SMTP server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from smtp_box import Mailbox, smtp_server
from sqlalchemy.orm import Session
from web_helpers import PASSWORD, bearer, make_app, new_email, register

from rally.services import claims, tokens
from rally.services.captains import grant_captain
from rally.services.errors import LinkInvalid
from rally.services.user_admin import user_by_email


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 collecting what the app sends."""
    with smtp_server() as box:
        yield box


@pytest.fixture
def mail_app(db_url: str, world: dict[str, int], tmp_path: Path, mailbox: Mailbox) -> FastAPI:
    """The app on a seeded database, mailing through the test SMTP server."""
    return make_app(db_url, tmp_path, mail=mailbox.settings())


def _client(app: FastAPI, address: str = "192.0.2.10") -> TestClient:
    return TestClient(app, client=(address, 40000))


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def _status(engine: sa.Engine, player_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT status FROM player_claims WHERE player_id = :p"), {"p": player_id}
        ).scalar()


def test_reset_link_from_smtp_works_once_and_ends_sessions(
    mail_app: FastAPI, mailbox: Mailbox
) -> None:
    owner = _client(mail_app)
    email = new_email()
    old_token = register(owner, email=email)["token"]
    stranger = _client(mail_app, "198.51.100.7")
    asked = stranger.post("/api/password/forgot", json={"email": email.upper() + "."})
    assert asked.status_code == 202 and "reset link" in asked.json()["message"]
    unknown = stranger.post("/api/password/forgot", json={"email": new_email()})
    assert unknown.status_code == 202  # the answer never tells whether an account exists
    link = mailbox.link(email, "Reset your Rally password", "/reset")
    assert link.startswith("http://testserver/reset?token=")
    reset = stranger.post(
        "/api/password/reset", json={"token": _token(link), "password": "new secret 1"}
    )
    assert reset.status_code == 204, reset.text
    assert owner.get("/api/me", headers=bearer(old_token)).status_code == 401
    again = stranger.post(
        "/api/password/reset", json={"token": _token(link), "password": "other pw 22"}
    )
    assert again.status_code == 400 and "already used" in again.json()["error"]
    assert (
        stranger.post("/api/login", json={"email": email, "password": PASSWORD}).status_code == 401
    )
    signed = stranger.post("/api/login", json={"email": email, "password": "new secret 1"})
    assert signed.status_code == 200
    account = stranger.get("/api/me/account").json()
    assert account["email_verified"] is True  # following the link proved the address
    forged = stranger.post(
        "/api/password/reset", json={"token": _token(link)[:-3] + "abc", "password": "x" * 9}
    )
    assert forged.status_code == 400 and "not valid" in forged.json()["error"]


def test_verification_link_and_email_normalisation(
    mail_app: FastAPI, mailbox: Mailbox, engine: sa.Engine
) -> None:
    client = _client(mail_app)
    email = new_email()
    register(client, email=email.replace("@", "@").upper() + ".")
    assert client.get("/api/me/account").json()["email_verified"] is False
    link = mailbox.link(email, "Confirm your e-mail", "/verify")
    page = _client(mail_app).get(urlsplit(link).path + "?" + urlsplit(link).query)
    assert page.status_code == 200 and "is verified" in page.text
    assert client.get("/api/me/account").json()["email_verified"] is True
    used = client.post("/api/email/verify", json={"token": _token(link)})
    assert used.status_code == 400 and "already used" in used.json()["error"]
    # The same address with another case or a trailing dot is the same account.
    twin = _client(mail_app).post(
        "/api/register",
        json={
            "email": f" {email.title()}. ",
            "password": PASSWORD,
            "first_name": "A",
            "last_name": "B",
        },
    )
    assert twin.status_code == 409, twin.text
    bad = _client(mail_app).post(
        "/api/register",
        json={
            "email": "name@@example.com",
            "password": PASSWORD,
            "first_name": "A",
            "last_name": "B",
        },
    )
    assert bad.status_code == 422 and "not a valid email address" in bad.json()["error"]
    uni = register(_client(mail_app), email="Jos\u0065\u0301@Ex\u00e4mple.com")
    assert uni["user"]["email"] == "jos\u00e9@ex\u00e4mple.com"  # NFC, lower case
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 2


def test_expired_link_is_refused(mail_app: FastAPI, engine: sa.Engine) -> None:
    client = _client(mail_app)
    email = new_email()
    register(client, email=email)
    with Session(engine) as session:
        user = user_by_email(session, email=email)
        token = tokens.make_token(b"test-secret", user, "reset")
        with pytest.raises(LinkInvalid, match="expired"):
            tokens.user_id_of(b"test-secret", token, "reset", max_age_s=-1)
        assert tokens.user_id_of(b"test-secret", token, "reset", max_age_s=60) == user.id
        with pytest.raises(LinkInvalid):  # a reset token is no verification token
            tokens.user_id_of(b"test-secret", token, "verify", max_age_s=60)


def _verify(client: TestClient, mailbox: Mailbox, email: str) -> None:
    link = mailbox.link(email, "Confirm your e-mail", "/verify")
    assert client.post("/api/email/verify", json={"token": _token(link)}).status_code == 200


def test_pending_claim_is_confirmed_by_a_captain(
    mail_app: FastAPI, mailbox: Mailbox, engine: sa.Engine, world: dict[str, int]
) -> None:
    captain = _client(mail_app)
    captain_email = new_email()
    register(captain, email=captain_email, first_name="James", last_name="Walsh")
    assert (
        captain.post("/api/me/claims", json={"player_id": world["player_james"]}).status_code == 201
    )
    assert _status(engine, world["player_james"]) == "confirmed"  # the account's own name
    with Session(engine) as session, session.begin():
        user = user_by_email(session, email=captain_email)
        grant_captain(session, user=user, team_id=world["team_tennaqua_12"], actor="operator test")

    typo = _client(mail_app, "192.0.2.20")
    typo_email = new_email()
    register(typo, email=typo_email, first_name="Aron", last_name="Walsh")
    claimed = typo.post("/api/me/claims", json={"player_id": world["player_aaron_apta"]})
    assert claimed.status_code == 201
    assert _status(engine, world["player_aaron_apta"]) == "pending"
    mine = typo.get("/api/me/account").json()["claims"]
    assert [(c["status"], c["record"]["first_name"]) for c in mine] == [("pending", "Aaron")]
    with Session(engine) as session:
        team = world["team_tennaqua_12"]
        uid = typo.get("/api/me").json()["user"]["id"]
        assert not claims.holds_confirmed_claim_on_team(session, user_id=uid, team_id=team)
    notice = mailbox.wait_for(captain_email, "waits for your confirmation")
    assert "Aaron Walsh" in str(notice.get_payload())
    assert mailbox.wait_for("operator@example.com", "waits for your confirmation")

    queue = captain.get("/api/captain/claims").json()
    assert [(q["status"], q["email"]) for q in queue] == [("pending", typo_email)]
    claim_id = queue[0]["claim_id"]
    # Only a captain of that team decides; the claimant cannot confirm their own claim.
    assert typo.post(f"/api/captain/claims/{claim_id}/confirm", json={}).status_code == 403
    assert captain.post(f"/api/captain/claims/{claim_id}/confirm", json={}).status_code == 204
    assert _status(engine, world["player_aaron_apta"]) == "confirmed"
    assert mailbox.wait_for(typo_email, "is confirmed")
    with Session(engine) as session:
        assert claims.holds_confirmed_claim_on_team(session, user_id=uid, team_id=team)
    with engine.connect() as conn:
        entry = conn.execute(
            sa.text("SELECT actor, action FROM audit_log ORDER BY id DESC")
        ).first()
    assert entry is not None and entry[1] == "claim.confirm" and captain_email in entry[0]
    assert captain.get("/api/captain/claims").json() == []


def test_dispute_suspends_the_claim_and_notifies(
    mail_app: FastAPI, mailbox: Mailbox, engine: sa.Engine, world: dict[str, int]
) -> None:
    holder = _client(mail_app)
    holder_email = new_email()
    register(holder, email=holder_email, first_name="Robert", last_name="Smith")
    assert (
        holder.post("/api/me/claims", json={"player_id": world["player_robert"]}).status_code == 201
    )
    real = _client(mail_app, "192.0.2.30")
    real_email = new_email()
    register(real, email=real_email, first_name="Robert", last_name="Smith")
    taken = real.post("/api/me/claims", json={"player_id": world["player_robert"]})
    assert taken.status_code == 409 and "dispute" in taken.json()["error"]
    body = {"player_id": world["player_robert"], "reason": "I play line 2 for Wilmette."}
    unverified = real.post("/api/me/disputes", json=body)
    assert unverified.status_code == 403 and "Verify your e-mail" in unverified.json()["error"]
    _verify(real, mailbox, real_email)
    opened = real.post("/api/me/disputes", json=body)
    assert opened.status_code == 201, opened.text
    assert opened.json()["state"] == "open"
    assert _status(engine, world["player_robert"]) == "disputed"
    assert "line 2" in str(mailbox.wait_for("operator@example.com", "is disputed").get_payload())
    assert mailbox.wait_for(holder_email, "Your Rally claim is disputed")
    states = holder.get("/api/me/account").json()["claims"]
    assert [c["status"] for c in states] == ["disputed"]
    with Session(engine) as session:
        uid = holder.get("/api/me").json()["user"]["id"]
        team = world["team_wilmette_12"]
        assert not claims.holds_confirmed_claim_on_team(session, user_id=uid, team_id=team)
    assert real.post("/api/me/disputes", json=body).status_code == 201  # idempotent
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM claim_disputes")).scalar() == 1


def test_sessions_slide_and_end_everywhere_and_on_password_change(
    app: FastAPI, engine: sa.Engine
) -> None:
    phone, laptop = _client(app), _client(app, "192.0.2.40")
    email = new_email()
    register(phone, email=email)
    assert laptop.post("/api/login", json={"email": email, "password": PASSWORD}).status_code == 200
    # Sliding: a session near its end is extended by use.
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE user_sessions SET expires_at = :t"), {"t": soon})
    assert phone.get("/api/me").status_code == 200
    with engine.connect() as conn:
        ends = conn.execute(sa.text("SELECT expires_at FROM user_sessions")).scalars().all()
    extended = [
        e
        for e in ends
        if (e if isinstance(e, dt.datetime) else dt.datetime.fromisoformat(str(e))).replace(
            tzinfo=dt.UTC
        )
        > soon + dt.timedelta(days=1)
    ]
    assert len(extended) == 1  # the phone's, not the laptop's (unused)

    wrong = phone.post(
        "/api/me/password", json={"current_password": "nope nope", "new_password": "brand new pw"}
    )
    assert wrong.status_code == 401
    changed = phone.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "brand new pw"}
    )
    assert changed.status_code == 204
    assert laptop.get("/api/me").status_code == 401  # other sessions ended
    assert phone.get("/api/me").status_code == 200  # this one kept
    assert (
        laptop.post("/api/login", json={"email": email, "password": "brand new pw"}).status_code
        == 200
    )
    assert phone.post("/api/logout-all", json={}).status_code == 204
    assert phone.get("/api/me").status_code == 401 and laptop.get("/api/me").status_code == 401


def test_security_headers_and_secure_cookies(
    db_url: str, world: dict[str, int], tmp_path: Path
) -> None:
    from web_helpers import TEST_SECURITY

    app = make_app(
        db_url,
        tmp_path,
        security=TEST_SECURITY.__class__(**{**TEST_SECURITY.__dict__, "secure_cookies": True}),
    )
    client = _client(app)
    for path in ("/", "/login", "/api/leagues"):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
    email = new_email()
    register(client, email=email)
    login = _client(app).post("/api/login", json={"email": email, "password": PASSWORD})
    cookies = login.headers.get_list("set-cookie")
    assert cookies and all("secure" in c.lower() and "httponly" in c.lower() for c in cookies)


def _flood(app: FastAPI, address: str, count: int) -> list[int]:
    with _client(app, address) as attacker:
        return [
            attacker.post(
                "/api/login", json={"email": new_email(), "password": "guess guess"}
            ).status_code
            for _ in range(count)
        ]


def test_a_login_flood_gets_429s_while_the_owner_signs_in(
    db_url: str, world: dict[str, int], tmp_path: Path, engine: sa.Engine
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from rally.config import SecuritySettings

    security = SecuritySettings(
        login_per_address="8/minute", password_checks="4/minute", throttle_hold=0.01
    )
    app = make_app(db_url, tmp_path, security=security)
    owner = _client(app, "203.0.113.5")
    email = new_email()
    register(owner, email=email)  # the owner's usual address and browser
    attackers = [f"198.51.100.{i}" for i in range(1, 5)]
    # Someone also hammers the owner's own account from elsewhere.
    with _client(app, "198.51.100.99") as targeted:
        aimed = [
            targeted.post(
                "/api/login", json={"email": email, "password": "guess guess"}
            ).status_code
            for _ in range(10)
        ]
    assert 429 in aimed
    with ThreadPoolExecutor(len(attackers)) as pool:
        flooding = [pool.submit(_flood, app, a, 20) for a in attackers]
        signed = _client(app, "203.0.113.5").post(
            "/api/login", json={"email": email, "password": PASSWORD}
        )
        table = owner.get(f"/api/series/{world['series_apta_s12']}/standings")
        statuses = [s for f in flooding for s in f.result()]
    assert signed.status_code == 200, signed.text  # known address: no global budget, no delay
    assert table.status_code == 200
    assert statuses.count(429) >= len(statuses) - 8, statuses
    checked = statuses.count(401) + aimed.count(401)
    assert 0 < checked <= 4  # the site-wide budget of password checks held (4/minute)
    # The owner's browser (device cookie) gets in from a new address too.
    owner.cookies.delete("rally_session")
    moved = owner.post("/api/login", json={"email": email, "password": PASSWORD}, headers={})
    assert moved.status_code == 200
    newcomer = _client(app, "203.0.113.77").post(
        "/api/login", json={"email": new_email(), "password": "x" * 9}
    )
    assert newcomer.status_code == 429 and int(newcomer.headers["Retry-After"]) >= 1
    assert "busy" in newcomer.json()["error"]
