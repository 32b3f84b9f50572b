"""Helpers of the web tests: the app built as `rally serve` builds it, accounts, tokens."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rally.config import MailSettings, SecuritySettings, Settings, account_fields
from rally.web import create_app

#: Cheap argon2 parameters: the tests register many accounts.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"


#: Limits for tests that are not about limits: generous, and throttled answers not held.
TEST_SECURITY = SecuritySettings(
    login_per_address="1000/minute", password_checks="1000/second", throttle_hold=0.0
)


def make_app(
    db_url: str,
    data_dir: Path,
    *,
    security: SecuritySettings = TEST_SECURITY,
    mail: MailSettings | None = None,
) -> FastAPI:
    """Build the app the way `rally serve` does, with test settings."""
    settings = Settings(
        database_url=db_url,
        data_dir=data_dir,
        secret_key="test-secret",
        **account_fields(security=security, mail=mail or MailSettings()),
    )
    return create_app(settings, password_hasher=FAST_HASHER)


def new_email() -> str:
    """Return an email no other test uses."""
    return f"u{uuid.uuid4().hex[:10]}@example.com"


def register(
    client: TestClient,
    *,
    first_name: str = "Aaron",
    last_name: str = "Walsh",
    email: str | None = None,
    **claim: str,
) -> dict[str, Any]:
    """Register through the API (signing the client in) and return the response body."""
    body = {
        "email": email or new_email(),
        "password": PASSWORD,
        "first_name": first_name,
        "last_name": last_name,
        **claim,
    }
    response = client.post("/api/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    """Return a port that is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Run `app` under uvicorn in a background thread on 127.0.0.1 and a free port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


#: The name the player-pages tests use.
live_server = serving
