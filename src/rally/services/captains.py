"""Team captains: accounts the operator names to confirm or release their teams' claims."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rally.models import Team, TeamCaptain, User
from rally.services import audit
from rally.services.errors import ClaimNotFound


def captain_teams(session: Session, *, user_id: int) -> list[int]:
    """Return the ids of the teams the user captains."""
    return list(session.scalars(select(TeamCaptain.team_id).where(TeamCaptain.user_id == user_id)))


def grant_captain(session: Session, *, user: User, team_id: int, actor: str) -> None:
    """Make `user` a captain of the team (idempotent)."""
    team = session.get(Team, team_id)
    if team is None:
        raise ClaimNotFound(f"There is no team {team_id}.")
    if session.get(TeamCaptain, (user.id, team_id)) is None:
        session.add(
            TeamCaptain(
                user_id=user.id, team_id=team_id, league_id=team.league_id, granted_by=actor
            )
        )
        audit.record(
            session,
            actor=actor,
            action="captain.grant",
            subject=f"user {user.id} <{user.email}>",
            detail=f"team {team_id} {team.team_name}",
        )
    session.flush()


def revoke_captain(session: Session, *, user: User, team_id: int, actor: str) -> bool:
    """Remove `user` as a captain of the team; tell whether they were one."""
    captain = session.get(TeamCaptain, (user.id, team_id))
    if captain is None:
        return False
    session.delete(captain)
    audit.record(
        session,
        actor=actor,
        action="captain.revoke",
        subject=f"user {user.id} <{user.email}>",
        detail=f"team {team_id}",
    )
    session.flush()
    return True


@dataclass(frozen=True)
class Captaincy:
    """An account captaining a team."""

    email: str
    team_id: int
    team: str


def captains(session: Session) -> list[Captaincy]:
    """Return every captaincy, by team."""
    return [
        Captaincy(email, team_id, name)
        for email, team_id, name in session.execute(
            select(User.email, TeamCaptain.team_id, Team.team_name)
            .join(User, User.id == TeamCaptain.user_id)
            .join(Team, Team.id == TeamCaptain.team_id)
            .order_by(Team.team_name, User.email)
        )
    ]
