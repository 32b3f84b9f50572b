"""Accounts: registration, sign-in with throttling, and sessions stored as token hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rally.db import PostgresSql, postgres_sql
from rally.models import LoginAttempt, User, UserSession
from rally.services.errors import (
    AccountDisabled,
    EmailAlreadyRegistered,
    InvalidAccountDetails,
    InvalidCredentials,
    TooManySignInAttempts,
)
from rally.services.throttle import growing_delay

if TYPE_CHECKING:
    import psycopg

#: How long a session stays valid without use; each use extends it (sliding), up to
#: SESSION_MAX_AGE after sign-in. The web app takes both from its settings.
SESSION_LIFETIME = dt.timedelta(days=14)
SESSION_MAX_AGE = dt.timedelta(days=90)
#: A session is extended at most this often (each extension is a write).
SESSION_RENEW_STEP = dt.timedelta(hours=1)
#: Failed sign-ins older than this no longer count towards the growing delay.
THROTTLE_WINDOW = dt.timedelta(hours=1)
FREE_FAILURES = 5
MAX_DELAY = 900.0
MIN_PASSWORD_LENGTH = 8

_DEFAULT_HASHER = PasswordHasher()


@lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verifying against this hash when the email is unknown keeps the timing alike.
    return hasher.hash("not a real password")


@dataclass(frozen=True)
class SignedIn:
    """A new session: the user and the token to hand to the client (stored only as a hash)."""

    user: User
    token: str
    expires_at: dt.datetime


def utcnow() -> dt.datetime:
    """Return the current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without a zone; Rally stores them in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def validated_email(email: str) -> str:
    """Return the address as stored, or raise InvalidAccountDetails naming what is wrong.

    email-validator checks the syntax and normalises Unicode (NFC) and the domain (IDNA);
    a trailing dot of the domain (a fully qualified name) is dropped and the whole address
    lower-cased, so `Name@Example.com.` and `name@example.com` are one account.
    """
    candidate = email.strip()
    if candidate.endswith("."):
        candidate = candidate[:-1]
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAccountDetails(
            f"{email.strip()!r} is not a valid email address: {exc}"
        ) from None
    return str(checked.normalized).lower()


def normalize_email(email: str) -> str:
    """Return the email as stored and compared (best effort for input that does not validate)."""
    try:
        return validated_email(email)
    except InvalidAccountDetails:
        return unicodedata.normalize("NFC", email.strip().rstrip(".")).lower()


def token_hash(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def register_user(
    session: Session,
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    hasher: PasswordHasher | None = None,
    password_hash: str | None = None,
) -> User:
    """Create an account; the password is stored as an argon2 hash.

    Pass `password_hash` (from `hash_password`, computed before the write transaction) to
    keep the slow hashing out of it; the web app does.
    """
    email = validated_email(email)
    first_name, last_name = first_name.strip(), last_name.strip()
    if len(email) > 254:
        raise InvalidAccountDetails(f"{email!r} is not a valid email address: it is too long.")
    check_password(password)
    if not first_name or not last_name:
        raise InvalidAccountDetails("Both first and last name are required.")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailAlreadyRegistered(f"An account with the email {email} already exists.")
    user = User(
        email=email,
        password_hash=password_hash or (hasher or _DEFAULT_HASHER).hash(password),
        first_name=first_name,
        last_name=last_name,
        is_admin=False,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:  # a concurrent registration won the race
        raise EmailAlreadyRegistered(f"An account with the email {email} already exists.") from None
    return user


def check_password(password: str) -> None:
    """Refuse a new password that is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccountDetails(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
        )


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """Return the argon2 hash of a new password (slow: call it outside write transactions)."""
    check_password(password)
    return (hasher or _DEFAULT_HASHER).hash(password)


def verify_password(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """Tell whether `password` matches `stored` (None: verify a dummy hash, same timing)."""
    try:
        hasher.verify(stored or _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


def account_delay(
    session: Session,
    *,
    email: str,
    client: str | None,
    now: dt.datetime,
    free: int = FREE_FAILURES,
    cap: float = MAX_DELAY,
) -> int:
    """Return the seconds still to wait before the next sign-in to `email` (0: go ahead).

    `client` set: only failures recorded from that trusted client count (the owner's usual
    place), so failures from anyone else never delay the owner there.
    """
    where = [LoginAttempt.email == email, LoginAttempt.attempted_at > now - THROTTLE_WINDOW]
    if client is not None:
        where.append(LoginAttempt.client == client[:255])
    count, last = session.execute(
        select(func.count(), func.max(LoginAttempt.attempted_at)).where(*where)
    ).one()
    delay = growing_delay(int(count), free=free, cap=cap)
    if not delay or last is None:
        return 0
    remaining = (_aware(last) + dt.timedelta(seconds=delay) - now).total_seconds()
    return max(0, math.ceil(remaining))


def too_many(email: str, retry_after: int) -> TooManySignInAttempts:
    """Return the 429 error for an account whose growing delay has not passed."""
    return TooManySignInAttempts(
        f"Too many failed sign-ins for {email}; wait {retry_after} second"
        f"{'s' if retry_after != 1 else ''} before trying again.",
        retry_after=retry_after,
    )


def record_failure(session: Session, *, email: str, client: str | None, now: dt.datetime) -> None:
    """Remember a failed sign-in (it feeds the growing delay)."""
    session.add(LoginAttempt(email=email[:255], client=(client or "")[:255], attempted_at=now))
    session.flush()


def clear_failures(session: Session, *, email: str, client: str | None = None) -> None:
    """Forget failed sign-ins after a success (from `client` only, when given)."""
    where = [LoginAttempt.email == email]
    if client is not None:
        where.append(LoginAttempt.client == client[:255])
    session.execute(delete(LoginAttempt).where(*where))


def check_credentials(
    session: Session,
    *,
    email: str,
    password: str,
    client: str | None = None,
    now: dt.datetime | None = None,
    hasher: PasswordHasher | None = None,
) -> User | None:
    """Return the user for a correct email and password, or record a failed attempt and return None.

    Raises TooManySignInAttempts (429) while the growing delay of the email's failures runs,
    before looking at the password; AccountDisabled for a disabled account's right password.
    The caller commits either way, so that a failure is remembered.
    """
    now = now or utcnow()
    email = normalize_email(email)
    wait = account_delay(session, email=email, client=None, now=now)
    if wait:
        raise too_many(email, wait)
    hasher = hasher or _DEFAULT_HASHER
    user = session.scalar(select(User).where(User.email == email))
    if not verify_password(hasher, user.password_hash if user else None, password) or not user:
        record_failure(session, email=email, client=client, now=now)
        return None
    if user.disabled_at is not None:
        raise account_disabled()
    clear_failures(session, email=email)
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def account_disabled() -> AccountDisabled:
    """Return the error for a disabled account (said only after a correct password)."""
    return AccountDisabled("This account is disabled; contact the league's operator.")


def invalid_credentials() -> InvalidCredentials:
    """Return the error shown for a wrong email or password (never saying which)."""
    return InvalidCredentials("The email or password is incorrect.")


def start_session(
    session: Session,
    *,
    user: User,
    now: dt.datetime | None = None,
    client: str | None = None,
    lifetime: dt.timedelta = SESSION_LIFETIME,
) -> SignedIn:
    """Open a session for `user`: a random token whose SHA-256 hash is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires = now + lifetime
    session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now)
    )
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            expires_at=expires,
            client=(client or "")[:255] or None,
        )
    )
    user.last_login = now
    session.flush()
    return SignedIn(user=user, token=token, expires_at=expires)


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    client: str | None = None,
    now: dt.datetime | None = None,
    hasher: PasswordHasher | None = None,
) -> SignedIn:
    """Check the credentials and open a session; raises InvalidCredentials or the 429 error.

    A failed attempt is flushed before InvalidCredentials is raised; a caller that wants it to
    count must commit before propagating (the web layer uses check_credentials for that).
    """
    user = check_credentials(
        session, email=email, password=password, client=client, now=now, hasher=hasher
    )
    if user is None:
        raise invalid_credentials()
    return start_session(session, user=user, now=now)


def _live_session_user() -> Any:
    # The one definition of "the live session of a token" (user id, expiry, start), for
    # every lookup below: ORM, plain connection and async PostgreSQL.
    return select(UserSession.user_id, UserSession.expires_at, UserSession.created_at).where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.expires_at > bindparam("now"),
    )


@lru_cache(maxsize=1)
def _token_statement() -> Any:
    # Built once: every signed-in request runs it.
    live = _live_session_user().subquery()
    return select(User, live.c.expires_at, live.c.created_at).join(live, live.c.user_id == User.id)


@lru_cache(maxsize=1)
def _token_user_id() -> Any:
    return _live_session_user()


def user_id_for_token_in(
    connection: Connection, *, token: str, now: dt.datetime | None = None
) -> tuple[int, dt.datetime, dt.datetime | None] | None:
    """(user id, expiry, start) of a live session on a plain connection, no ORM (SQLite)."""
    if not token or len(token) > 200:
        return None
    params = {"token_hash": token_hash(token), "now": now or utcnow()}
    row = connection.execute(_token_user_id(), params).first()
    if row is None:
        return None
    return int(row[0]), _aware(row[1]), _aware(row[2]) if row[2] else None


@lru_cache(maxsize=1)
def _token_sql() -> PostgresSql:
    return postgres_sql(_live_session_user())


@dataclass(frozen=True)
class LiveSession:
    """A live session's user and when the session started and ends."""

    user: User
    expires_at: dt.datetime
    created_at: dt.datetime | None


def session_for_token(
    session: Session, *, token: str, now: dt.datetime | None = None
) -> LiveSession | None:
    """Return the live session of `token` (user, start, end), or None."""
    if not token or len(token) > 200:
        return None
    params = {"token_hash": token_hash(token), "now": now or utcnow()}
    row = session.execute(_token_statement(), params).first()
    if row is None:
        return None
    user, expires, created = row
    return LiveSession(user, _aware(expires), _aware(created) if created else None)


def user_for_token(session: Session, *, token: str, now: dt.datetime | None = None) -> User | None:
    """Return the user of a live session token, or None."""
    live = session_for_token(session, token=token, now=now)
    return live.user if live else None


async def user_id_for_token(
    connection: psycopg.AsyncConnection[Any], *, token: str, now: dt.datetime | None = None
) -> tuple[int, dt.datetime, dt.datetime | None] | None:
    """Return (user id, expiry, start) of a live session token, or None (PostgreSQL, no ORM)."""
    if not token or len(token) > 200:
        return None
    statement = _token_sql()
    params = statement.params({"token_hash": token_hash(token), "now": now or utcnow()})
    cursor = await connection.execute(statement.sql, params, prepare=True)
    row = await cursor.fetchone()
    return (int(row[0]), row[1], row[2]) if row else None


def end_session(session: Session, *, token: str) -> bool:
    """Sign out: delete the session of `token`; tell whether there was one."""
    result = session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))
    return bool(getattr(result, "rowcount", 0))
