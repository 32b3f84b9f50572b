"""Account flows in headless chromium against the real server, on both backends.

Mail goes through a real SMTP server; the browser follows the links it carries.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from smtp_box import Mailbox, smtp_server
from sqlalchemy.orm import Session
from test_web_browser import PHONE, _shot, browser  # noqa: F401 (fixture)
from typer.testing import CliRunner
from web_fixtures import seed
from web_helpers import FAST_HASHER, PASSWORD, make_app, new_email
from web_helpers import free_port as _free_port

from rally.cli import app as cli
from rally.db import make_engine
from rally.services.accounts import register_user
from rally.services.captains import grant_captain
from rally.services.claims import claim_player

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium(browser: Any) -> Any:  # noqa: F811 (the imported fixture)
    """test_web_browser's headless Debian chromium."""
    return browser


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def live(
    request: pytest.FixtureRequest, db_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, int], Mailbox, str]]:
    """The app under uvicorn on 127.0.0.1 and a free port, mailing to a local SMTP server.

    A captain of Tennaqua 12 exists (James Walsh, granted by the operator).
    """
    url = db_factory.create(request.param)
    engine = make_engine(url)
    captain = new_email()
    try:
        ids = seed(engine)
        with Session(engine) as session, session.begin():
            user = register_user(
                session,
                email=captain,
                password=PASSWORD,
                first_name="James",
                last_name="Walsh",
                hasher=FAST_HASHER,
            )
            claim_player(session, user_id=user.id, player_id=ids["player_james"])
            grant_captain(session, user=user, team_id=ids["team_tennaqua_12"], actor="operator")
    finally:
        engine.dispose()
    with smtp_server() as box:
        app = make_app(url, tmp_path_factory.mktemp("accounts"), mail=box.settings())
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}", url, ids, box, captain
        server.should_exit = True
        thread.join(timeout=10)
    db_factory.drop(url)


def _page(chromium: Any) -> tuple[Any, Any]:
    context = chromium.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def _register(page: Any, base: str, email: str, first: str, last: str) -> None:
    page.goto(f"{base}/register")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=first_name]", first)
    page.fill("input[name=last_name]", last)
    page.click("button:has-text('Create account')")
    page.wait_for_url(f"{base}/claim")


def _find_me(page: Any, base: str, first: str, last: str) -> None:
    page.goto(f"{base}/claim")
    page.select_option("select[name=league]", "APTA_CHICAGO")  # app.js submits on change
    page.wait_for_selector("#claim-form")
    page.select_option("select[name=club]", "Tennaqua")
    page.select_option("select[name=series]", "Series 12")
    page.fill("input[name=first_name]", first)
    page.fill("input[name=last_name]", last)
    page.click("button:has-text('Find me')")


def _sign_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()


def test_pending_claim_verification_captain_dispute_and_operator_release(
    live: tuple[str, str, dict[str, int], Mailbox, str], chromium: Any
) -> None:
    base, url, ids, box, captain_email = live
    typo_ctx, typo = _page(chromium)
    captain_ctx, captain = _page(chromium)
    real_ctx, real = _page(chromium)
    try:
        typo_email = new_email()
        _register(typo, base, typo_email, "Aron", "Walsh")
        _find_me(typo, base, "Aaron", "Walsh")
        typo.wait_for_url(f"{base}/account")
        assert typo.locator("#claims li").inner_text().count("pending") == 1
        assert typo.locator("#email-state").inner_text() == "not verified"
        typo.goto(box.link(typo_email, "Confirm your e-mail", "/verify"))
        assert "is verified" in typo.locator("main").inner_text()
        typo.goto(f"{base}/account")
        assert typo.locator("#email-state").inner_text() == "verified"
        _shot(typo, "acc-01-pending")

        assert "Aaron Walsh" in str(box.wait_for(captain_email, "waits for").get_payload())
        _sign_in(captain, base, captain_email)
        captain.goto(f"{base}/captain")
        assert typo_email in captain.locator("#queue").inner_text()
        _shot(captain, "acc-02-captain")
        captain.click(f"button:has-text('Confirm for {typo_email}')")
        captain.wait_for_url(f"{base}/captain")
        assert "Nothing waits for you" in captain.locator("main").inner_text()
        typo.goto(f"{base}/account")
        assert "confirmed" in typo.locator("#claims li").inner_text()

        real_email = new_email()
        _register(real, base, real_email, "Aaron", "Walsh")
        real.goto(box.link(real_email, "Confirm your e-mail", "/verify"))
        _find_me(real, base, "Aaron", "Walsh")
        real.wait_for_url(f"{base}/dispute?player_id={ids['player_aaron_apta']}")
        real.fill("textarea[name=reason]", "I am the Aaron Walsh of Tennaqua 12.")
        _shot(real, "acc-03-dispute")
        real.click("button:has-text('dispute the claim')")
        real.wait_for_url(f"{base}/account")
        assert "open" in real.locator("#disputes li").inner_text()
        typo.goto(f"{base}/account")
        assert "disputed" in typo.locator("#claims li").inner_text()
        assert box.wait_for(captain_email, "is disputed")

        listed = CliRunner().invoke(
            cli, ["admin", "claims", "list", "--json", "--database-url", url]
        )
        claim_id = next(c for c in json.loads(listed.stdout) if c["status"] == "disputed")[
            "claim_id"
        ]
        released = CliRunner().invoke(
            cli, ["admin", "claims", "release", str(claim_id), "--database-url", url]
        )
        assert released.exit_code == 0, released.stderr
        _find_me(real, base, "Aaron", "Walsh")
        real.wait_for_url(f"{base}/suggestions")
        real.goto(f"{base}/account")
        assert "confirmed" in real.locator("#claims li").inner_text()
        assert "upheld" in real.locator("#disputes li").inner_text()
        _shot(real, "acc-04-after-release")
    finally:
        for context in (typo_ctx, captain_ctx, real_ctx):
            context.close()


def test_forgotten_password_reset_by_mailed_link(
    live: tuple[str, str, dict[str, int], Mailbox, str], chromium: Any
) -> None:
    base, _url, _ids, box, _captain = live
    context, page = _page(chromium)
    try:
        email = new_email()
        _register(page, base, email, "Pat", "Doe")
        context.clear_cookies()
        page.goto(f"{base}/login")
        page.click("text=Forgot your password?")
        page.fill("input[name=email]", email)
        page.click("button:has-text('Send me a reset link')")
        assert "reset link is on its way" in page.locator("main").inner_text()
        page.goto(box.link(email, "Reset your Rally password", "/reset"))
        page.fill("input[name=password]", "a new password")
        _shot(page, "acc-05-reset")
        page.click("button:has-text('Set the new password')")
        assert "Password changed" in page.locator("main").inner_text()
        page.fill("input[name=password]", "a new password")
        page.click("button:has-text('Sign in')")
        page.wait_for_url(f"{base}/claim")
        page.goto(f"{base}/account")
        assert page.locator("#email-state").inner_text() == "verified"
        page.fill("input[name=current_password]", "a new password")
        page.fill("input[name=new_password]", "third password")
        page.click("button:has-text('Change password')")
        assert "Password changed" in page.locator("main").inner_text()
        page.click("button:has-text('Sign out everywhere')")
        page.wait_for_url(f"{base}/login")
        page.goto(f"{base}/account")
        assert page.url.startswith(f"{base}/login")
    finally:
        context.close()
