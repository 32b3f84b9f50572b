"""The audit log: who did what to which account, claim or captaincy, and when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rally.models import AuditEntry


@dataclass(frozen=True)
class Entry:
    """One line of the audit log."""

    at: dt.datetime | None
    actor: str
    action: str
    subject: str
    detail: str | None


def record(
    session: Session, *, actor: str, action: str, subject: str, detail: str | None = None
) -> None:
    """Add an entry in the caller's transaction (it lands only if the action does)."""
    session.add(
        AuditEntry(actor=actor[:255], action=action[:64], subject=subject[:255], detail=detail)
    )
    session.flush()


def entries(session: Session, *, limit: int = 50, subject: str | None = None) -> list[Entry]:
    """Return the newest entries first (about one subject when given)."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject:
        statement = statement.where(AuditEntry.subject.contains(subject))
    return [Entry(e.at, e.actor, e.action, e.subject, e.detail) for e in session.scalars(statement)]


def user_actor(user_id: int, email: str) -> str:
    """Return how a signed-in user appears as the actor of an entry."""
    return f"user {user_id} <{email}>"
