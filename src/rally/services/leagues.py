"""Leagues by their stable key (`APTA_CHICAGO`), as every interface names them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from rally.models import League
from rally.services.errors import LeagueNotFound


def league_by_key(session: Session, *, league: str) -> League:
    """Return the league with this key (case-insensitive) or raise LeagueNotFound."""
    found = session.scalar(select(League).where(League.league_id == league.strip().upper()))
    if found is None:
        raise LeagueNotFound(f"There is no league {league!r}.")
    return found
