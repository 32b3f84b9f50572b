"""Reviewing claims: captains and the operator confirm, release or transfer; disputes.

A claim whose record does not bear the account's name is *pending*; another account's
"this is me" makes a claim *disputed*. Neither gives access to team-private features
(claims.holds_confirmed_claim_on_team). A captain of the record's team (granted by the
operator) or the operator decides; a league without active captains still works because
the operator can always decide (`rally admin claims`). Functions return the messages to
send; callers send them after their transaction commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rally.errors import UsageError
from rally.models import (
    ClaimDispute,
    Player,
    PlayerClaim,
    TeamCaptain,
    User,
    UserContext,
    UserPlayerAssociation,
)
from rally.services import audit
from rally.services.errors import (
    ClaimNotFound,
    EmailNotVerified,
    NotCaptain,
    PlayerNotFound,
)
from rally.services.mail import Message
from rally.services.records import PlayerRecord, fetch_rows, to_record


@dataclass(frozen=True)
class ClaimView:
    """A claim as its claimant, a captain or the operator sees it."""

    claim_id: int
    status: str
    user_id: int
    email: str
    record: PlayerRecord
    open_disputes: int


@dataclass(frozen=True)
class DisputeView:
    """A dispute as the account that opened it sees it."""

    dispute_id: int
    player_id: int
    state: str
    reason: str
    record: PlayerRecord


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _views(session: Session, claims: list[PlayerClaim]) -> list[ClaimView]:
    if not claims:
        return []
    rows = {
        r[0]: to_record(r)
        for r in fetch_rows(session, Player.id.in_([c.player_id for c in claims]))
    }
    emails = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_({c.user_id for c in claims}))
        ).all()
    )
    disputes: dict[int, int] = {}
    for (player_id,) in session.execute(
        select(ClaimDispute.player_id).where(
            ClaimDispute.player_id.in_([c.player_id for c in claims]), ClaimDispute.state == "open"
        )
    ):
        disputes[player_id] = disputes.get(player_id, 0) + 1
    return [
        ClaimView(
            c.id,
            c.status,
            c.user_id,
            emails[c.user_id],
            rows[c.player_id],
            disputes.get(c.player_id, 0),
        )
        for c in claims
        if c.player_id in rows
    ]


def my_claims(session: Session, *, user_id: int) -> list[ClaimView]:
    """Return the user's claims with their state (confirmed, pending, disputed)."""
    claims = list(session.scalars(select(PlayerClaim).where(PlayerClaim.user_id == user_id)))
    return _views(session, claims)


def my_disputes(session: Session, *, user_id: int) -> list[DisputeView]:
    """Return the disputes the user opened, newest first."""
    disputes = list(
        session.scalars(
            select(ClaimDispute)
            .where(ClaimDispute.disputant_id == user_id)
            .order_by(ClaimDispute.id.desc())
        )
    )
    if not disputes:
        return []
    rows = {
        r[0]: to_record(r)
        for r in fetch_rows(session, Player.id.in_([d.player_id for d in disputes]))
    }
    return [DisputeView(d.id, d.player_id, d.state, d.reason, rows[d.player_id]) for d in disputes]


def review_queue(
    session: Session,
    *,
    states: tuple[str, ...] = ("pending", "disputed"),
    team_ids: list[int] | None = None,
) -> list[ClaimView]:
    """Return claims in `states` (of `team_ids` only, when given), oldest first."""
    statement = select(PlayerClaim).where(PlayerClaim.status.in_(states)).order_by(PlayerClaim.id)
    if team_ids is not None:
        statement = statement.join(Player, Player.id == PlayerClaim.player_id).where(
            Player.team_id.in_(team_ids)
        )
    return _views(session, list(session.scalars(statement)))


def _claim(session: Session, claim_id: int) -> tuple[PlayerClaim, Player]:
    claim = session.get(PlayerClaim, claim_id)
    player = session.get(Player, claim.player_id) if claim else None
    if claim is None or player is None:
        raise ClaimNotFound(f"There is no claim {claim_id}.")
    return claim, player


def check_captain(session: Session, *, user: User, claim_id: int) -> None:
    """Refuse unless `user` is an active captain of the claim's team and not its claimant."""
    claim, player = _claim(session, claim_id)
    captain = session.get(TeamCaptain, (user.id, player.team_id or 0))
    if captain is None or user.disabled_at is not None:
        raise NotCaptain("Only a captain of this record's team (or the operator) can decide.")
    if claim.user_id == user.id:
        raise NotCaptain("A captain cannot decide on their own claim; the operator will.")


def _close_disputes(session: Session, player_id: int, *, winner: int | None, actor: str) -> None:
    for dispute in session.scalars(
        select(ClaimDispute).where(
            ClaimDispute.player_id == player_id, ClaimDispute.state == "open"
        )
    ):
        dispute.state = "upheld" if winner is None or dispute.disputant_id == winner else "rejected"
        dispute.resolved_at, dispute.resolved_by = _now(), actor


def _describe(view: PlayerRecord) -> str:
    return f"{view.first_name} {view.last_name} ({view.team or view.club}, {view.series}, {view.league})"


def _record(session: Session, player_id: int) -> PlayerRecord:
    return to_record(fetch_rows(session, Player.id == player_id)[0])


def _email(session: Session, user_id: int) -> str:
    return session.scalar(select(User.email).where(User.id == user_id)) or ""


def confirm(session: Session, *, claim_id: int, actor: str) -> list[Message]:
    """Confirm a pending claim, or a disputed one for its holder (open disputes rejected)."""
    claim, player = _claim(session, claim_id)
    record = _record(session, player.id)
    claim.status, claim.decided_by, claim.decided_at = "confirmed", actor, _now()
    _close_disputes(session, player.id, winner=claim.user_id, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="claim.confirm",
        subject=f"claim {claim_id}",
        detail=_describe(record),
    )
    session.flush()
    return [
        Message(
            _email(session, claim.user_id),
            "Your Rally claim is confirmed",
            f"Your claim of {_describe(record)} was confirmed.",
        )
    ]


def release(session: Session, *, claim_id: int, actor: str) -> list[Message]:
    """Remove a claim (the record becomes claimable again); open disputes are upheld."""
    claim, player = _claim(session, claim_id)
    record = _record(session, player.id)
    holder = claim.user_id
    _unlink(session, claim, player)
    _close_disputes(session, player.id, winner=None, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="claim.release",
        subject=f"claim {claim_id}",
        detail=f"{_describe(record)} from user {holder}",
    )
    return [
        Message(
            _email(session, holder),
            "Your Rally claim was released",
            f"Your claim of {_describe(record)} was released by {actor}.",
        )
    ]


def transfer(session: Session, *, claim_id: int, to_user: User, actor: str) -> list[Message]:
    """Give a claim to another account, confirmed (e.g. the disputant who proved it)."""
    from rally.services.claims import claim_player

    claim, player = _claim(session, claim_id)
    if claim.user_id == to_user.id:
        raise UsageError(f"Claim {claim_id} already belongs to {to_user.email}.")
    record = _record(session, player.id)
    holder = claim.user_id
    _unlink(session, claim, player)
    session.flush()
    claim_player(session, user_id=to_user.id, player_id=player.id, check_name=False)
    new = session.scalar(select(PlayerClaim).where(PlayerClaim.player_id == player.id))
    assert new is not None
    new.status, new.decided_by, new.decided_at = "confirmed", actor, _now()
    _close_disputes(session, player.id, winner=to_user.id, actor=actor)
    audit.record(
        session,
        actor=actor,
        action="claim.transfer",
        subject=f"claim {claim_id}",
        detail=f"{_describe(record)} from user {holder} to user {to_user.id}",
    )
    session.flush()
    return [
        Message(
            _email(session, holder),
            "Your Rally claim was transferred",
            f"Your claim of {_describe(record)} was transferred to another account by {actor}.",
        ),
        Message(
            to_user.email,
            "A Rally record is now yours",
            f"{_describe(record)} is now claimed by your account.",
        ),
    ]


def _unlink(session: Session, claim: PlayerClaim, player: Player) -> None:
    user_id = claim.user_id
    session.delete(claim)
    session.flush()
    still = session.scalar(
        select(PlayerClaim.id)
        .join(Player, Player.id == PlayerClaim.player_id)
        .where(
            PlayerClaim.user_id == user_id,
            Player.tenniscores_player_id == player.tenniscores_player_id,
        )
    )
    if still is None:
        session.execute(
            delete(UserPlayerAssociation).where(
                UserPlayerAssociation.user_id == user_id,
                UserPlayerAssociation.tenniscores_player_id == player.tenniscores_player_id,
            )
        )
    context = session.get(UserContext, user_id)
    if context is not None and context.team_id == player.team_id:
        on_team = session.scalar(
            select(PlayerClaim.id)
            .join(Player, Player.id == PlayerClaim.player_id)
            .where(PlayerClaim.user_id == user_id, Player.team_id == player.team_id)
        )
        if on_team is None:
            session.delete(context)
    session.flush()


def reviewers(session: Session, *, team_id: int | None, operator: str | None) -> list[str]:
    """Return the addresses to notify about a claim of `team_id`: its captains, the operator."""
    emails = list(
        session.scalars(
            select(User.email)
            .join(TeamCaptain, TeamCaptain.user_id == User.id)
            .where(TeamCaptain.team_id == (team_id or 0), User.disabled_at.is_(None))
        )
    )
    return [*emails, operator] if operator else emails


def pending_notices(session: Session, *, player_id: int, operator: str | None) -> list[Message]:
    """Return the messages telling reviewers that a claim of `player_id` waits for them."""
    claim = session.scalar(select(PlayerClaim).where(PlayerClaim.player_id == player_id))
    if claim is None or claim.status != "pending":
        return []
    record = _record(session, player_id)
    body = (
        f"{_email(session, claim.user_id)} claimed {_describe(record)}, but the account's name "
        f"differs from the record's. Confirm or release claim {claim.id} on Rally's captain "
        f"page, or with `rally admin claims confirm {claim.id}`."
    )
    return [
        Message(to, "A Rally claim waits for your confirmation", body)
        for to in reviewers(session, team_id=record.team_id, operator=operator)
    ]


def open_dispute(
    session: Session, *, user: User, player_id: int, reason: str, operator: str | None
) -> tuple[ClaimDispute, list[Message]]:
    """Say "this is me" about a record another account claimed: the claim is suspended."""
    if user.email_verified_at is None:
        raise EmailNotVerified("Verify your e-mail address first (see the link we sent you).")
    player = session.get(Player, player_id)
    if player is None:
        raise PlayerNotFound(f"There is no player record {player_id}.")
    claim = session.scalar(select(PlayerClaim).where(PlayerClaim.player_id == player_id))
    if claim is None:
        raise UsageError(f"Player record {player_id} is not claimed; claim it instead.")
    if claim.user_id == user.id:
        raise UsageError("You hold this claim yourself; there is nothing to dispute.")
    existing = session.scalar(
        select(ClaimDispute).where(
            ClaimDispute.player_id == player_id,
            ClaimDispute.disputant_id == user.id,
            ClaimDispute.state == "open",
        )
    )
    if existing is not None:
        return existing, []
    dispute = ClaimDispute(
        player_id=player_id,
        league_id=player.league_id,
        disputant_id=user.id,
        holder_id=claim.user_id,
        reason=reason.strip()[:2000] or "This is me.",
    )
    session.add(dispute)
    claim.status = "disputed"
    record = _record(session, player_id)
    actor = audit.user_actor(user.id, user.email)
    audit.record(
        session,
        actor=actor,
        action="claim.dispute",
        subject=f"claim {claim.id}",
        detail=dispute.reason,
    )
    session.flush()
    body = (
        f"{user.email} ({user.first_name} {user.last_name}) says {_describe(record)} is them, "
        f"not the account that claimed it: {dispute.reason}\n\nThe claim is suspended until "
        f"you decide: confirm it for its holder, release it, or (operator) "
        f"`rally admin claims transfer {claim.id} --to {user.email}`."
    )
    notices = [
        Message(to, "A Rally claim is disputed", body)
        for to in reviewers(session, team_id=record.team_id, operator=operator)
    ]
    notices.append(
        Message(
            _email(session, claim.user_id),
            "Your Rally claim is disputed",
            f"Another account disputes your claim of {_describe(record)}; it is suspended until a captain or the operator decides.",
        )
    )
    return dispute, notices
