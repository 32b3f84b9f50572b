"""Claiming player records: careful name matching, no silent links, never a take-over."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rally.models import (
    Club,
    ClubLeague,
    League,
    Player,
    PlayerClaim,
    Series,
    User,
    UserContext,
    UserPlayerAssociation,
)
from rally.services import person_names as names
from rally.services.errors import (
    ClubNotFound,
    PlayerAlreadyClaimed,
    PlayerNotFound,
    PlayerNotYours,
    SeriesNotFound,
)
from rally.services.leagues import league_by_key
from rally.services.records import PlayerRecord, fetch_rows, records, to_record

#: How many "closest candidates" a failed search shows.
MAX_CLOSEST = 5
_MIN_CLOSEST_SCORE = 0.45


@dataclass(frozen=True)
class ClaimSearch:
    """The outcome of a claim by name: linked, several people to choose from, or none."""

    status: Literal["linked", "choose", "none"]
    message: str
    claimed: PlayerRecord | None = None
    candidates: list[PlayerRecord] = field(default_factory=list)
    #: For a linked record: "confirmed", or "pending" until a captain or the operator confirms.
    claim_status: str | None = None


def _club(session: Session, *, league: League, club: str) -> Club:
    found = session.scalar(
        select(Club)
        .join(ClubLeague, ClubLeague.club_id == Club.id)
        .where(ClubLeague.league_id == league.id, func.lower(Club.name) == club.strip().lower())
    )
    if found is None:
        raise ClubNotFound(f"{league.league_name} has no club {club!r}.")
    return found


def _series(session: Session, *, league: League, series: str) -> Series:
    found = session.scalar(
        select(Series).where(
            Series.league_id == league.id, func.lower(Series.name) == series.strip().lower()
        )
    )
    if found is None:
        raise SeriesNotFound(f"{league.league_name} has no series {series!r}.")
    return found


def _describe(record: PlayerRecord) -> str:
    team = record.team or record.club
    return f"{record.first_name} {record.last_name} ({team}, {record.series}, {record.league_name})"


def _claim_owner(session: Session, player_id: int) -> int | None:
    return session.scalar(select(PlayerClaim.user_id).where(PlayerClaim.player_id == player_id))


def _matches(first: str, last: str, rows: list[Any]) -> list[Any]:
    exact = [
        r
        for r in rows
        if r.first_name.strip() == first.strip() and r.last_name.strip() == last.strip()
    ]
    if exact:
        return exact
    folded = [r for r in rows if names.same_name(first, last, r.first_name, r.last_name)]
    if folded:
        return folded
    # Nicknames still require the last name: never "last name and club" alone.
    return [r for r in rows if names.nickname_match(first, last, r.first_name, r.last_name)]


def claim_by_name(
    session: Session,
    *,
    user_id: int,
    league: str,
    club: str,
    series: str,
    first_name: str,
    last_name: str,
) -> ClaimSearch:
    """Find the user's record in a league, club and series by name and claim it when unique.

    Matching: exact name, else case/accent/whitespace-insensitive, else a common nickname with
    the same last name. One record: claimed (PlayerAlreadyClaimed if another user has it).
    Several: returned to choose from. None: the closest names of the club are returned.
    """
    league_row = league_by_key(session, league=league)
    club_row = _club(session, league=league_row, club=club)
    series_row = _series(session, league=league_row, series=series)
    pool = fetch_rows(
        session,
        Player.league_id == league_row.id,
        Player.club_id == club_row.id,
        Player.series_id == series_row.id,
    )
    found = _matches(first_name, last_name, pool)
    where = f"{club_row.name}, {series_row.name} ({league_row.league_name})"
    if len(found) == 1:
        record = claim_player(
            session, user_id=user_id, player_id=found[0].player_id, check_name=False
        )
        state = session.scalar(
            select(PlayerClaim.status).where(PlayerClaim.player_id == record.player_id)
        )
        message = f"Linked to {_describe(record)}."
        if state == "pending":
            message = (
                f"Claimed {_describe(record)}; the name differs from your account's, so a "
                "captain of the team or the operator must confirm it first."
            )
        return ClaimSearch(status="linked", message=message, claimed=record, claim_status=state)
    if found:
        return ClaimSearch(
            status="choose",
            message=f"{len(found)} players named {first_name} {last_name} play for {where}; "
            "choose yours.",
            candidates=records(found),
        )
    club_rows = fetch_rows(
        session, Player.league_id == league_row.id, Player.club_id == club_row.id
    )
    scored = sorted(
        (
            (
                names.similarity(first_name, last_name, r.first_name, r.last_name)
                + (0.05 if r.series_id == series_row.id else 0),
                i,
            )
            for i, r in enumerate(club_rows)
        ),
        reverse=True,
    )
    closest = [to_record(club_rows[i]) for score, i in scored if score >= _MIN_CLOSEST_SCORE]
    return ClaimSearch(
        status="none",
        message=f"No player named {first_name} {last_name} plays for {where}."
        + (" The closest names are listed." if closest else ""),
        candidates=closest[:MAX_CLOSEST],
    )


def claimed_records(session: Session, *, user_id: int) -> list[PlayerRecord]:
    """Return the records the user has claimed, across leagues."""
    claimed = select(PlayerClaim.player_id).where(PlayerClaim.user_id == user_id)
    return records(fetch_rows(session, Player.id.in_(claimed)))


#: How close a record's name must be to the account's to be claimable by id (a typo apart).
CLAIMABLE_SIMILARITY = 0.9


def _may_claim(session: Session, user: User, player: Player) -> bool:
    account = (user.first_name or "", user.last_name or "")
    if names.similarity(*account, player.first_name, player.last_name) >= CLAIMABLE_SIMILARITY:
        return True  # covers nicknames too
    mine = session.execute(
        select(Player.tenniscores_player_id, Player.first_name, Player.last_name)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(PlayerClaim.user_id == user.id)
    ).all()
    return any(
        tid == player.tenniscores_player_id
        or names.nickname_match(first, last, player.first_name, player.last_name)
        for tid, first, last in mine
    )


def already_claimed(record: PlayerRecord) -> PlayerAlreadyClaimed:
    """Return the 409 for a record another account holds, naming the way to dispute it."""
    return PlayerAlreadyClaimed(
        f"{_describe(record)} is already claimed by another account. If it is yours, dispute "
        f"the claim (player {record.player_id}): a captain or the operator will decide.",
        player_id=record.player_id,
    )


def _confirms_itself(session: Session, user: User, player: Player) -> bool:
    # Confirmed at once only when the record bears the account's own name (ignoring case,
    # accents and spacing) or is another row of a person the user was confirmed as; a
    # nickname, a typo or a name typed in the search waits for a captain or the operator.
    account = (user.first_name or "", user.last_name or "")
    if names.same_name(*account, player.first_name, player.last_name):
        return True
    confirmed_ids = (
        select(Player.tenniscores_player_id)
        .join(PlayerClaim, PlayerClaim.player_id == Player.id)
        .where(
            PlayerClaim.user_id == user.id,
            PlayerClaim.status == "confirmed",
            Player.league_id == player.league_id,
        )
    )
    return player.tenniscores_player_id in set(session.scalars(confirmed_ids))


def holds_confirmed_claim_on_team(session: Session, *, user_id: int, team_id: int) -> bool:
    """Tell whether the user holds a confirmed claim of a record of this team.

    The one check for team-private features (availability of others, ...): pending and
    disputed claims give no access.
    """
    found = session.scalar(
        select(PlayerClaim.id)
        .join(Player, Player.id == PlayerClaim.player_id)
        .where(
            PlayerClaim.user_id == user_id,
            PlayerClaim.status == "confirmed",
            Player.team_id == team_id,
        )
        .limit(1)
    )
    return found is not None


def claim_player(
    session: Session, *, user_id: int, player_id: int, check_name: bool = True
) -> PlayerRecord:
    """Claim one player row for the user; idempotent for the user's own claims.

    The claim is confirmed when the record bears the account's name, else pending until a
    captain of the team or the operator confirms it (services.claim_review).

    Refuses a row claimed by another user (PlayerAlreadyClaimed, 409) and, when `check_name`,
    a row whose name is neither the account's name nor that of a record the user already
    claimed (PlayerNotYours, 403). Also writes the legacy user_player_associations row and,
    when the user has no team context yet, sets it to this record's team.
    """
    player = session.get(Player, player_id)
    if player is None:
        raise PlayerNotFound(f"There is no player record {player_id}.")
    rows = fetch_rows(session, Player.id == player_id)
    record = to_record(rows[0])
    owner = _claim_owner(session, player_id)
    if owner == user_id:
        return record
    if owner is not None:
        raise already_claimed(record)
    user = session.get(User, user_id)
    if user is None:
        raise PlayerNotFound(f"There is no user {user_id}.")
    if check_name and not _may_claim(session, user, player):
        raise PlayerNotYours(
            f"{_describe(record)} does not match your name, {user.first_name} "
            f"{user.last_name}; you can claim only your own records."
        )
    status = "confirmed" if _confirms_itself(session, user, player) else "pending"
    try:
        with session.begin_nested():
            session.add(
                PlayerClaim(
                    user_id=user_id, player_id=player_id, league_id=player.league_id, status=status
                )
            )
    except IntegrityError:  # another user claimed it concurrently
        raise already_claimed(record) from None
    _associate(session, user_id=user_id, tenniscores_player_id=player.tenniscores_player_id)
    if player.team_id is not None:
        context = session.get(UserContext, user_id)
        if context is None:
            session.add(
                UserContext(
                    user_id=user_id,
                    league_id=player.league_id,
                    team_id=player.team_id,
                    series_id=player.series_id,
                )
            )
        elif context.team_id is None:
            context.league_id, context.team_id, context.series_id = (
                player.league_id,
                player.team_id,
                player.series_id,
            )
        if user.league_context is None:
            user.league_context = player.league_id
    session.flush()
    return record


def _associate(session: Session, *, user_id: int, tenniscores_player_id: str) -> None:
    # Legacy reports read user_player_associations; keep it in step with the claims.
    existing = (
        session.execute(
            select(UserPlayerAssociation.tenniscores_player_id).where(
                UserPlayerAssociation.user_id == user_id
            )
        )
        .scalars()
        .all()
    )
    if tenniscores_player_id in existing:
        return
    session.add(
        UserPlayerAssociation(
            user_id=user_id,
            tenniscores_player_id=tenniscores_player_id,
            is_primary=not existing,
        )
    )
    session.flush()


def suggestions(session: Session, *, user_id: int) -> list[PlayerRecord]:
    """Offer the person's other records, unclaimed, for the user to confirm one by one.

    First rows with the same source player id as a claimed record (other teams), then rows
    in other leagues with the same full name (same club first). Nothing is linked here.
    """
    mine = fetch_rows(
        session,
        Player.id.in_(select(PlayerClaim.player_id).where(PlayerClaim.user_id == user_id)),
    )
    if not mine:
        return []
    unclaimed = ~Player.id.in_(select(PlayerClaim.player_id))
    same_id = fetch_rows(
        session, Player.tenniscores_player_id.in_({r.source_id for r in mine}), unclaimed
    )
    people = {(names.normalize(r.first_name), names.normalize(r.last_name)) for r in mine}
    clubs = {names.normalize(r.club) for r in mine}
    # Names are compared folded (accents, case), so filter in Python over the bare columns
    # and join only the few rows that match.
    named = [
        pid
        for pid, first, last in session.execute(
            select(Player.id, Player.first_name, Player.last_name).where(
                Player.league_id.not_in({r.league_pk for r in mine}), unclaimed
            )
        )
        if (names.normalize(first), names.normalize(last)) in people
    ]
    others = fetch_rows(session, Player.id.in_(named)) if named else []
    others.sort(
        key=lambda r: (names.normalize(r.club) not in clubs, r.league, r.series, r.team or "")
    )
    seen: set[int] = set()
    offered: list[PlayerRecord] = []
    for row in [*same_id, *others]:
        if row.player_id not in seen:
            seen.add(row.player_id)
            offered.append(to_record(row))
    return offered
