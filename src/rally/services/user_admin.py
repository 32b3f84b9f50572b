"""What the operator does to accounts: find, disable, enable (each one audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rally.models import PlayerClaim, TeamCaptain, User
from rally.services import audit, sessions
from rally.services.accounts import normalize_email
from rally.services.errors import UserNotFound


@dataclass(frozen=True)
class UserRow:
    """An account as the operator lists it."""

    id: int
    email: str
    name: str
    verified: bool
    disabled: bool
    claims: int
    captaincies: int
    last_login: dt.datetime | None


def find_users(session: Session, *, text: str | None = None, limit: int = 100) -> list[UserRow]:
    """Return accounts whose address or name contains `text` (all when None), by id."""
    claims = (
        select(func.count()).where(PlayerClaim.user_id == User.id).correlate(User).scalar_subquery()
    )
    captaincies = (
        select(func.count()).where(TeamCaptain.user_id == User.id).correlate(User).scalar_subquery()
    )
    statement = select(User, claims, captaincies).order_by(User.id).limit(limit)
    if text:
        like = f"%{text.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(User.email).like(like),
                func.lower(User.first_name + " " + User.last_name).like(like),
            )
        )
    return [
        UserRow(
            u.id,
            u.email,
            f"{u.first_name or ''} {u.last_name or ''}".strip(),
            u.email_verified_at is not None,
            u.disabled_at is not None,
            int(n_claims),
            int(n_captain),
            u.last_login,
        )
        for u, n_claims, n_captain in session.execute(statement)
    ]


def user_by_email(session: Session, *, email: str) -> User:
    """Return the account of an address (normalised as at sign-in) or raise UserNotFound."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise UserNotFound(f"There is no account with the email {email.strip()}.")
    return user


def disable(session: Session, *, user: User, actor: str, reason: str | None = None) -> int:
    """Disable the account and end its sessions; return how many sessions ended."""
    if user.disabled_at is None:
        user.disabled_at = dt.datetime.now(dt.UTC)
    ended = sessions.end_all_sessions(session, user_id=user.id)
    audit.record(
        session,
        actor=actor,
        action="user.disable",
        subject=f"user {user.id} <{user.email}>",
        detail=reason,
    )
    session.flush()
    return ended


def enable(session: Session, *, user: User, actor: str) -> None:
    """Let a disabled account sign in again."""
    user.disabled_at = None
    audit.record(
        session, actor=actor, action="user.enable", subject=f"user {user.id} <{user.email}>"
    )
    session.flush()
