"""Session lifetime (sliding, with a cap), sign out everywhere, change of password."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from rally.config import SecuritySettings
from rally.models import User, UserSession
from rally.services.accounts import (
    SESSION_LIFETIME,
    SESSION_MAX_AGE,
    SESSION_RENEW_STEP,
    token_hash,
    utcnow,
)


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions live: `idle` after their last use, never more than `max_age`."""

    idle: dt.timedelta = SESSION_LIFETIME
    max_age: dt.timedelta = SESSION_MAX_AGE

    @classmethod
    def of(cls, settings: SecuritySettings) -> SessionPolicy:
        """Return the policy of the settings (RALLY_SESSION_IDLE_DAYS / _MAX_DAYS)."""
        return cls(
            idle=dt.timedelta(days=settings.session_idle_days),
            max_age=dt.timedelta(days=settings.session_max_days),
        )

    def renewed(
        self, *, expires_at: dt.datetime, created_at: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime | None:
        """Return the new expiry when a use at `now` should extend the session, else None.

        At most one extension per SESSION_RENEW_STEP, so a busy session costs one write an
        hour, not one per request.
        """
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.UTC)
        target = now + self.idle
        if created_at is not None:
            start = created_at if created_at.tzinfo else created_at.replace(tzinfo=dt.UTC)
            target = min(target, start + self.max_age)
        return target if target - expires_at >= SESSION_RENEW_STEP else None


def extend(session: Session, *, token: str, expires_at: dt.datetime) -> None:
    """Move a session's expiry forward (never back)."""
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_hash(token), UserSession.expires_at < expires_at)
        .values(expires_at=expires_at)
    )


def end_all_sessions(session: Session, *, user_id: int, keep_token: str | None = None) -> int:
    """Sign the user out everywhere (but the session of `keep_token`); return how many ended."""
    statement = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_token:
        statement = statement.where(UserSession.token_hash != token_hash(keep_token))
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def set_password(
    session: Session, *, user: User, password_hash: str, keep_token: str | None = None
) -> int:
    """Store a new password hash and end every other session; return how many ended.

    A new hash also voids any reset link sent earlier (see services.tokens).
    """
    user.password_hash = password_hash
    ended = end_all_sessions(session, user_id=user.id, keep_token=keep_token)
    session.flush()
    return ended


def mark_verified(session: Session, *, user: User, now: dt.datetime | None = None) -> None:
    """Record that the owner of the address followed a link sent to it."""
    if user.email_verified_at is None:
        user.email_verified_at = now or utcnow()
        session.flush()
