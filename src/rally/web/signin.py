"""Sign-in, registration and password changes as the web app runs them.

The order keeps a flood cheap and the owner in (see services.throttle): the per-address
limit and the account's growing delay are checked before any password work; the site-wide
budget of password checks applies to everyone but the owner at a trusted place. Password
hashing and verification run in the thread pool outside any transaction, and the writes that
follow take the SQLite write lock only then, in a short transaction of their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from rally.config import SecuritySettings
from rally.models import User, UserSession
from rally.services import accounts, audit, sessions
from rally.services.accounts import SignedIn
from rally.services.errors import InvalidCredentials
from rally.services.throttle import DEVICE_COOKIE, DEVICE_MAX_AGE, Throttle
from rally.web.deps import secure_cookies, session_token, set_session_cookie, write_session


@dataclass(frozen=True)
class _Target:
    user_id: int
    password_hash: str
    known_address: bool


def client_address(request: Request) -> str:
    """Return the client's address as the server sees it (behind a proxy: --proxy-headers)."""
    return request.client.host if request.client else ""


def _target(db: Session, email: str, client: str) -> _Target | None:
    row = db.execute(select(User.id, User.password_hash).where(User.email == email)).first()
    if row is None:
        return None
    known = db.scalar(
        select(UserSession.id)
        .where(
            UserSession.user_id == row[0],
            UserSession.client == client,
            UserSession.expires_at > accounts.utcnow(),
        )
        .limit(1)
    )
    return _Target(row[0], row[1], known is not None)


def _write_lock(db: Session) -> None:
    # SQLite: take the write lock before reading what the write depends on (deps.write_session).
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DELETE FROM login_attempts WHERE 1 = 0"))


def _finish(
    factory: sessionmaker[Session],
    *,
    ok: bool,
    target: _Target | None,
    email: str,
    failure_key: str,
    client: str,
    new_hash: str | None,
    lifetime: dt.timedelta,
) -> SignedIn:
    with factory() as db:
        _write_lock(db)
        now = accounts.utcnow()
        user = db.get(User, target.user_id) if ok and target else None
        if user is None:
            accounts.record_failure(db, email=email, client=failure_key, now=now)
            db.commit()
            raise accounts.invalid_credentials()
        if user.disabled_at is not None:
            raise accounts.account_disabled()
        accounts.clear_failures(db, email=email)
        if new_hash:
            user.password_hash = new_hash
        signed = accounts.start_session(db, user=user, now=now, client=client, lifetime=lifetime)
        db.commit()
        return signed


def _precheck(
    db: Session,
    email: str,
    client: str,
    device_user: int | None,
    throttle: Throttle,
    security: SecuritySettings,
) -> tuple[_Target | None, str | None, int]:
    target = _target(db, email, client)
    trusted_key: str | None = None
    if target is not None and device_user == target.user_id:
        trusted_key = f"device:{target.user_id}"
    elif target is not None and target.known_address:
        trusted_key = client
    if device_user is not None and trusted_key is None:
        throttle.hit_address(client)
    wait = accounts.account_delay(
        db,
        email=email,
        client=trusted_key,
        now=accounts.utcnow(),
        free=security.login_free_failures,
        cap=security.login_max_delay,
    )
    db.commit()  # end the read transaction: nothing is held during the slow check
    return target, trusted_key, wait


async def sign_in(request: Request, db: Session, *, email: str, password: str) -> SignedIn:
    """Check the credentials under the throttles and open a session (see the module doc)."""
    app = request.app
    throttle: Throttle = app.state.throttle
    security = app.state.settings.security
    client = client_address(request)
    email = accounts.normalize_email(email)
    device_user = throttle.device_user(request.cookies.get(DEVICE_COOKIE))
    if device_user is None:
        throttle.hit_address(client)
    # The lookups run in the thread pool: a flood's requests never block the event loop.
    target, trusted_key, wait = await run_in_threadpool(
        _precheck, db, email, client, device_user, throttle, security
    )
    if wait:
        raise accounts.too_many(email, wait)
    hasher = app.state.hasher
    stored = target.password_hash if target else None
    trusted = trusted_key is not None
    ok = await throttle.password_work(
        accounts.verify_password, hasher, stored, password, trusted=trusted
    )
    new_hash = None
    if ok and stored and hasher.check_needs_rehash(stored):
        new_hash = await throttle.password_work(hasher.hash, password, trusted=True)
    return await run_in_threadpool(
        lambda: _finish(
            app.state.sessions,
            ok=ok,
            target=target,
            email=email,
            failure_key=trusted_key or client,
            client=client,
            new_hash=new_hash,
            lifetime=dt.timedelta(days=security.session_idle_days),
        )
    )


async def new_password_hash(request: Request, password: str) -> str:
    """Hash a new password under the site-wide budget, on the password threads."""
    accounts.check_password(password)
    throttle: Throttle = request.app.state.throttle
    return str(
        await throttle.password_work(accounts.hash_password, password, request.app.state.hasher)
    )


async def password_matches(request: Request, stored: str, password: str) -> bool:
    """Verify a signed-in user's current password (budgeted, on the password threads)."""
    throttle: Throttle = request.app.state.throttle
    hasher = request.app.state.hasher
    return bool(await throttle.password_work(accounts.verify_password, hasher, stored, password))


def signed_in_response(request: Request, response: Response, signed: SignedIn) -> None:
    """Set the session cookie and the device cookie that makes this browser trusted."""
    set_session_cookie(request, response, signed.token)
    response.set_cookie(
        DEVICE_COOKIE,
        request.app.state.throttle.device_cookie(signed.user.id),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


async def change_password(
    request: Request, db: Session, user: User, *, current: str, new: str
) -> int:
    """Check the current password, store the new one, end every other session; audited.

    Returns how many other sessions ended; InvalidCredentials for a wrong current password.
    """
    if not await password_matches(request, user.password_hash, current):
        raise InvalidCredentials("The current password is incorrect.")
    new_hash = await new_password_hash(request, new)
    await write_session(db)

    def write() -> int:
        ended = sessions.set_password(
            db, user=user, password_hash=new_hash, keep_token=session_token(request)
        )
        audit.record(
            db,
            actor=audit.user_actor(user.id, user.email),
            action="user.password",
            subject=f"user {user.id} <{user.email}>",
            detail=f"changed; {ended} other sessions ended",
        )
        return ended

    return int(await run_in_threadpool(write))
