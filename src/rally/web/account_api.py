"""The account API: register, sign in, sessions, password reset, verification, claim review.

Password work runs under the throttles of web.signin, outside any transaction; mail goes out
as a background task, after the request's transaction committed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rally.errors import UsageError
from rally.models import User
from rally.services import accounts, audit, captains, claim_review, claims, sessions, tokens
from rally.services.claim_review import ClaimView, DisputeView
from rally.services.claims import ClaimSearch
from rally.services.errors import PlayerAlreadyClaimed
from rally.services.leagues import league_by_key
from rally.services.mail import Message, send_all
from rally.web import signin
from rally.web.account_schemas import (
    AccountOut,
    DisputeBody,
    ForgotBody,
    Notice,
    PasswordChangeBody,
    ResetBody,
    VerifyBody,
)
from rally.web.deps import (
    CurrentUser,
    Db,
    api_csrf,
    clear_session_cookie,
    write_session,
)
from rally.web.schemas import (
    MAX_ID,
    ErrorOut,
    LoginBody,
    RegisterBody,
    RegisterOut,
    SessionOut,
    UserOut,
)

router = APIRouter(
    prefix="/api",
    dependencies=[Depends(api_csrf)],
    responses={
        s: {"model": ErrorOut, "description": d}
        for s, d in (
            (401, "Not signed in"),
            (403, "Forbidden"),
            (404, "Not found"),
            (409, "Conflict"),
            (422, "Malformed request"),
            (429, "Too many attempts"),
        )
    },
)

ClaimPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def user_out(user: User) -> UserOut:
    """Return the API shape of an account."""
    return UserOut(
        id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name
    )


def link(request: Request, path: str, token: str) -> str:
    """Return an absolute link for mail: RALLY_BASE_URL, else the address of this request."""
    base = request.app.state.settings.security.base_url or str(request.base_url).rstrip("/")
    return f"{base}{path}?token={token}"


def mail_later(request: Request, background: BackgroundTasks, messages: list[Message]) -> None:
    """Send after the response (and so after the commit), never inside the transaction."""
    wanted = [m for m in messages if m.to]
    if wanted:
        background.add_task(send_all, request.app.state.mailer, wanted)


def verification_message(request: Request, user: User) -> Message:
    """Return the e-mail with the verification link for `user`."""
    url = link(request, "/verify", tokens.make_token(request.app.state.secret, user, "verify"))
    hours = request.app.state.settings.security.verify_link_hours
    return Message(
        user.email,
        "Confirm your e-mail address for Rally",
        f"Open this link to confirm that {user.email} is yours (valid {hours:g} hours):\n\n{url}\n",
    )


def reset_message(request: Request, user: User) -> Message:
    """Return the e-mail with a password reset link for `user`."""
    url = link(request, "/reset", tokens.make_token(request.app.state.secret, user, "reset"))
    minutes = request.app.state.settings.security.reset_link_minutes
    return Message(
        user.email,
        "Reset your Rally password",
        f"Someone (hopefully you) asked to reset the password of {user.email}.\n"
        f"Open this link within {minutes:g} minutes to choose a new one; it works once:\n\n"
        f"{url}\n\nIf it was not you, ignore this message.",
    )


def notify_pending(
    request: Request, db: Session, background: BackgroundTasks, player_id: int | None
) -> None:
    """Tell the team's captains (and the operator) that a claim of `player_id` waits."""
    if player_id is not None:
        operator = request.app.state.settings.mail.operator
        mail_later(
            request,
            background,
            claim_review.pending_notices(db, player_id=player_id, operator=operator),
        )


def _register(
    db: Session, body: RegisterBody, password_hash: str
) -> tuple[User, ClaimSearch | None]:
    if body.league and body.club and body.series:
        league_by_key(db, league=body.league)  # unknown names fail before any write
    user = accounts.register_user(
        db,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
        password_hash=password_hash,
    )
    outcome: ClaimSearch | None = None
    if body.league and body.club and body.series:
        try:
            outcome = claims.claim_by_name(
                db,
                user_id=user.id,
                league=body.league,
                club=body.club,
                series=body.series,
                first_name=body.first_name,
                last_name=body.last_name,
            )
        except PlayerAlreadyClaimed as exc:
            outcome = ClaimSearch(status="none", message=str(exc))
    return user, outcome


@router.post("/register", response_model=RegisterOut, status_code=201)
async def register(
    body: RegisterBody, request: Request, response: Response, db: Db, background: BackgroundTasks
) -> RegisterOut:
    """Create an account and sign in; league, club and series claim the player at once.

    A verification link is mailed to the address.
    """
    wanted = (body.league, body.club, body.series)
    if any(wanted) and not all(wanted):
        raise UsageError("To claim at registration give league, club and series together.")
    accounts.validated_email(body.email)
    password_hash = await signin.new_password_hash(request, body.password)
    await write_session(db)
    user, outcome = await run_in_threadpool(_register, db, body, password_hash)
    lifetime = accounts.SESSION_LIFETIME
    signed = await run_in_threadpool(
        lambda: accounts.start_session(
            db, user=user, client=signin.client_address(request), lifetime=lifetime
        )
    )
    signin.signed_in_response(request, response, signed)
    mail_later(request, background, [verification_message(request, user)])
    if outcome and outcome.claimed:
        notify_pending(request, db, background, outcome.claimed.player_id)
    return RegisterOut(
        user=user_out(user), token=signed.token, expires_at=signed.expires_at, claim=outcome
    )


@router.post("/login", response_model=SessionOut)
async def login(body: LoginBody, request: Request, response: Response, db: Db) -> SessionOut:
    """Sign in; returns the bearer token and sets the session cookie (429: wait Retry-After)."""
    signed = await signin.sign_in(request, db, email=body.email, password=body.password)
    signin.signed_in_response(request, response, signed)
    return SessionOut(user=user_out(signed.user), token=signed.token, expires_at=signed.expires_at)


@router.post("/logout-all", status_code=204, response_class=Response)
async def logout_all(request: Request, user: CurrentUser, db: Db) -> Response:
    """Sign out everywhere: end every session of the account, this one included."""
    await write_session(db)
    ended = await run_in_threadpool(sessions.end_all_sessions, db, user_id=user.id)
    audit.record(
        db,
        actor=audit.user_actor(user.id, user.email),
        action="user.logout_all",
        subject=f"user {user.id} <{user.email}>",
        detail=f"{ended} sessions",
    )
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


@router.post("/me/password", status_code=204, response_class=Response)
async def change_password(
    body: PasswordChangeBody, request: Request, user: CurrentUser, db: Db
) -> Response:
    """Change the password; every other session of the account ends."""
    await signin.change_password(
        request, db, user, current=body.current_password, new=body.new_password
    )
    return Response(status_code=204)


@router.post("/password/forgot", status_code=202, response_model=Notice)
async def forgot_password(
    body: ForgotBody, request: Request, db: Db, background: BackgroundTasks
) -> Notice:
    """Mail a reset link to the address if it has an account (the answer never says)."""
    request.app.state.throttle.hit_address(signin.client_address(request))
    email = accounts.normalize_email(body.email)
    user = db.scalar(select(User).where(User.email == email))
    if user is not None and user.disabled_at is None:
        mail_later(request, background, [reset_message(request, user)])
    return Notice(message=f"If {email} has an account, a reset link is on its way.")


def _user_of_link(request: Request, db: Session, token: str, purpose: tokens.Purpose) -> User:
    security = request.app.state.settings.security
    max_age = (
        security.reset_link_minutes * 60
        if purpose == "reset"
        else security.verify_link_hours * 3600
    )
    user_id = tokens.user_id_of(request.app.state.secret, token, purpose, max_age_s=max_age)
    return tokens.check_unused(request.app.state.secret, token, db.get(User, user_id), purpose)


async def reset_with_link(request: Request, db: Session, token: str, password: str) -> User:
    """Set a new password from a reset link: all sessions end, the address counts as verified."""
    _user_of_link(request, db, token, "reset")
    new_hash = await signin.new_password_hash(request, password)
    await write_session(db)
    user = _user_of_link(
        request, db, token, "reset"
    )  # again: the link may have been used meanwhile

    def write() -> None:
        sessions.set_password(db, user=user, password_hash=new_hash)
        sessions.mark_verified(db, user=user)
        accounts.clear_failures(db, email=user.email)
        audit.record(
            db,
            actor=audit.user_actor(user.id, user.email),
            action="user.reset",
            subject=f"user {user.id} <{user.email}>",
            detail="password reset by link",
        )

    await run_in_threadpool(write)
    return user


async def verify_with_link(request: Request, db: Session, token: str) -> User:
    """Mark the address verified from a verification link."""
    _user_of_link(request, db, token, "verify")
    await write_session(db)
    user = _user_of_link(request, db, token, "verify")
    await run_in_threadpool(lambda: sessions.mark_verified(db, user=user))
    return user


@router.post("/password/reset", status_code=204, response_class=Response)
async def reset_password(body: ResetBody, request: Request, db: Db) -> Response:
    """Choose a new password with the token of a reset link (single use); sign in afterwards."""
    await reset_with_link(request, db, body.token, body.password)
    return Response(status_code=204)


@router.post("/email/verify", response_model=UserOut)
async def verify_email(body: VerifyBody, request: Request, db: Db) -> UserOut:
    """Confirm the address with the token of a verification link."""
    return user_out(await verify_with_link(request, db, body.token))


@router.post("/me/email/verification", status_code=202, response_model=Notice)
async def resend_verification(
    request: Request, user: CurrentUser, background: BackgroundTasks
) -> Notice:
    """Mail a new verification link (nothing to do when already verified)."""
    if user.email_verified_at is not None:
        return Notice(message=f"{user.email} is already verified.")
    request.app.state.throttle.hit_address(signin.client_address(request))
    mail_later(request, background, [verification_message(request, user)])
    return Notice(message=f"A verification link is on its way to {user.email}.")


@router.get("/me/account", response_model=AccountOut)
async def account(user: CurrentUser, db: Db) -> AccountOut:
    """The account's state: verified address, claims (confirmed/pending/disputed), disputes."""
    return AccountOut(
        user=user_out(user),
        email_verified=user.email_verified_at is not None,
        claims=claim_review.my_claims(db, user_id=user.id),
        disputes=claim_review.my_disputes(db, user_id=user.id),
        captain_of=captains.captain_teams(db, user_id=user.id),
    )


@router.post("/me/disputes", response_model=DisputeView, status_code=201)
async def dispute(
    body: DisputeBody, request: Request, user: CurrentUser, db: Db, background: BackgroundTasks
) -> DisputeView:
    """ "This is me": dispute another account's claim; it is suspended until someone decides."""
    await write_session(db)
    operator = request.app.state.settings.mail.operator
    opened, notices = await run_in_threadpool(
        lambda: claim_review.open_dispute(
            db, user=user, player_id=body.player_id, reason=body.reason, operator=operator
        )
    )
    mail_later(request, background, notices)
    return next(
        d for d in claim_review.my_disputes(db, user_id=user.id) if d.dispute_id == opened.id
    )


@router.get("/captain/claims", response_model=list[ClaimView])
async def captain_queue(user: CurrentUser, db: Db) -> list[ClaimView]:
    """Pending and disputed claims of the teams you captain."""
    return claim_review.review_queue(db, team_ids=captains.captain_teams(db, user_id=user.id))


async def decide(
    request: Request,
    user: User,
    db: Session,
    background: BackgroundTasks,
    claim_id: int,
    action: str,
) -> None:
    """Confirm or release a claim as a captain of its team."""
    await write_session(db)
    actor = audit.user_actor(user.id, user.email)

    def write() -> list[Message]:
        claim_review.check_captain(db, user=user, claim_id=claim_id)
        act: Any = claim_review.confirm if action == "confirm" else claim_review.release
        return list(act(db, claim_id=claim_id, actor=actor))

    mail_later(request, background, await run_in_threadpool(write))


@router.post("/captain/claims/{claim_id}/confirm", status_code=204, response_class=Response)
async def captain_confirm(
    claim_id: ClaimPath, request: Request, user: CurrentUser, db: Db, background: BackgroundTasks
) -> Response:
    """Confirm a pending claim, or a disputed one for its holder (captains of the team)."""
    await decide(request, user, db, background, claim_id, "confirm")
    return Response(status_code=204)


@router.post("/captain/claims/{claim_id}/release", status_code=204, response_class=Response)
async def captain_release(
    claim_id: ClaimPath, request: Request, user: CurrentUser, db: Db, background: BackgroundTasks
) -> Response:
    """Release a claim: the record can be claimed again (captains of the team)."""
    await decide(request, user, db, background, claim_id, "release")
    return Response(status_code=204)
