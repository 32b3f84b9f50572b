"""Accounts: registration, sign-in with throttling, and sessions stored as token hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rally.db import PostgresSql, postgres_sql
from rally.models import LoginAttempt, User, UserSession
from rally.services.errors import (
    EmailAlreadyRegistered,
    InvalidAccountDetails,
    InvalidCredentials,
    TooManySignInAttempts,
)

if TYPE_CHECKING:
    import psycopg

#: How long a session (cookie or bearer token) stays valid after sign-in.
SESSION_LIFETIME = dt.timedelta(days=14)
#: Failed sign-ins for one email allowed within THROTTLE_WINDOW before 429.
MAX_FAILED_SIGN_INS = 5
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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


def normalize_email(email: str) -> str:
    """Return the email as stored and compared: trimmed and lower-case."""
    return email.strip().lower()


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
) -> User:
    """Create an account; the password is stored as an argon2 hash."""
    email = normalize_email(email)
    first_name, last_name = first_name.strip(), last_name.strip()
    if not _EMAIL.match(email) or len(email) > 254:
        raise InvalidAccountDetails(f"{email!r} is not a valid email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccountDetails(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
        )
    if not first_name or not last_name:
        raise InvalidAccountDetails("Both first and last name are required.")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailAlreadyRegistered(f"An account with the email {email} already exists.")
    user = User(
        email=email,
        password_hash=(hasher or _DEFAULT_HASHER).hash(password),
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


def _throttle(session: Session, *, email: str, now: dt.datetime) -> None:
    since = now - THROTTLE_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email, LoginAttempt.attempted_at > since
        )
    ).one()
    if count >= MAX_FAILED_SIGN_INS and oldest is not None:
        retry_after = max(1, int((_aware(oldest) + THROTTLE_WINDOW - now).total_seconds()) + 1)
        minutes = max(1, round(retry_after / 60))
        raise TooManySignInAttempts(
            f"Too many failed sign-ins for {email}; try again in about {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
            retry_after=retry_after,
        )


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

    Raises TooManySignInAttempts (429) after MAX_FAILED_SIGN_INS failures for the email within
    THROTTLE_WINDOW, before looking at the password. The caller commits either way, so that a
    failure is remembered, then raises InvalidCredentials when this returns None.
    """
    now = now or utcnow()
    email = normalize_email(email)
    _throttle(session, email=email, now=now)
    hasher = hasher or _DEFAULT_HASHER
    user = session.scalar(select(User).where(User.email == email))
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(hasher), password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add(LoginAttempt(email=email[:255], client=(client or "")[:255], attempted_at=now))
        session.flush()
        return None
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def invalid_credentials() -> InvalidCredentials:
    """Return the error shown for a wrong email or password (never saying which)."""
    return InvalidCredentials("The email or password is incorrect.")


def start_session(session: Session, *, user: User, now: dt.datetime | None = None) -> SignedIn:
    """Open a session for `user`: a random token whose SHA-256 hash is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    expires = now + SESSION_LIFETIME
    session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now)
    )
    session.add(UserSession(user_id=user.id, token_hash=token_hash(token), expires_at=expires))
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
    # The one definition of "the user of a live session token", for both lookups below.
    return select(UserSession.user_id).where(
        UserSession.token_hash == bindparam("token_hash"),
        UserSession.expires_at > bindparam("now"),
    )


@lru_cache(maxsize=1)
def _token_statement() -> Any:
    # Built once: every signed-in request runs it.
    return select(User).where(User.id == _live_session_user().scalar_subquery())


@lru_cache(maxsize=1)
def _token_user_id() -> Any:
    return _live_session_user()


def user_id_for_token_in(
    connection: Connection, *, token: str, now: dt.datetime | None = None
) -> int | None:
    """`user_for_token`'s user id on a plain connection, no ORM (hot paths on SQLite)."""
    if not token or len(token) > 200:
        return None
    params = {"token_hash": token_hash(token), "now": now or utcnow()}
    user_id: int | None = connection.scalar(_token_user_id(), params)
    return user_id


@lru_cache(maxsize=1)
def _token_sql() -> PostgresSql:
    return postgres_sql(_live_session_user())


def user_for_token(session: Session, *, token: str, now: dt.datetime | None = None) -> User | None:
    """Return the user of a live session token, or None."""
    if not token or len(token) > 200:
        return None
    params = {"token_hash": token_hash(token), "now": now or utcnow()}
    user: User | None = session.scalar(_token_statement(), params)
    return user


async def user_id_for_token(
    connection: psycopg.AsyncConnection[Any], *, token: str, now: dt.datetime | None = None
) -> int | None:
    """`user_for_token`'s user id on an autocommit PostgreSQL connection (no ORM: hot paths)."""
    if not token or len(token) > 200:
        return None
    statement = _token_sql()
    params = statement.params({"token_hash": token_hash(token), "now": now or utcnow()})
    cursor = await connection.execute(statement.sql, params, prepare=True)
    row = await cursor.fetchone()
    return int(row[0]) if row else None


def end_session(session: Session, *, token: str) -> bool:
    """Sign out: delete the session of `token`; tell whether there was one."""
    result = session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))
    return bool(getattr(result, "rowcount", 0))
