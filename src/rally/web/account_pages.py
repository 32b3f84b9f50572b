"""Account pages: register, sign in, account (password, sessions, claims' state), reset,
verification, disputes and the captain's review page. Same services as web.account_api."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from rally.errors import RallyError
from rally.models import Player, User
from rally.services import accounts, audit, captains, claim_review, sessions
from rally.services.errors import LinkInvalid
from rally.services.records import fetch_rows, to_record
from rally.web import signin
from rally.web.account_api import (
    decide,
    mail_later,
    reset_message,
    reset_with_link,
    verification_message,
    verify_with_link,
)
from rally.web.deps import (
    CurrentUser,
    Db,
    OptionalUser,
    clear_session_cookie,
    write_session,
)
from rally.web.pages import FormCsrf, IdForm, Text, _safe_next, render

router = APIRouter(include_in_schema=False)
TokenQuery = Annotated[str, Query(max_length=500)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _failed(
    request: Request, template: str, context: dict[str, object], exc: RallyError
) -> Response:
    response = render(request, template, {**context, "error": str(exc)}, exc.http_status)
    retry = getattr(exc, "retry_after", None)
    if retry:
        response.headers["Retry-After"] = str(retry)
    return response


@router.get("/register")
def register_form(request: Request, user: OptionalUser) -> Response:
    """The registration form."""
    return render(request, "register.html", {"form": {}})


@router.post("/register", dependencies=[FormCsrf])
async def register(
    request: Request,
    db: Db,
    background: BackgroundTasks,
    email: Text,
    password: Text,
    first_name: Text,
    last_name: Text,
) -> Response:
    """Create an account, sign in, mail a verification link, then go on to claim a record."""
    form = {"email": email, "first_name": first_name, "last_name": last_name}
    try:
        accounts.validated_email(email)
        password_hash = await signin.new_password_hash(request, password)
        await write_session(db)
        user = accounts.register_user(
            db,
            email=email,
            password=password,
            first_name=first_name,
            last_name=last_name,
            password_hash=password_hash,
        )
        signed = accounts.start_session(db, user=user, client=signin.client_address(request))
    except RallyError as exc:
        db.rollback()
        return _failed(request, "register.html", {"form": form}, exc)
    response = _redirect("/claim")
    signin.signed_in_response(request, response, signed)
    mail_later(request, background, [verification_message(request, user)])
    return response


@router.get("/login")
def login_form(
    request: Request, user: OptionalUser, next: Annotated[str, Query(max_length=500)] = "/"
) -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"next": next, "form": {}})


@router.post("/login", dependencies=[FormCsrf])
async def login(
    request: Request,
    db: Db,
    email: Text,
    password: Text,
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Sign in with email and password (429 with a wait when throttled)."""
    try:
        signed = await signin.sign_in(request, db, email=email, password=password)
    except RallyError as exc:
        return _failed(request, "login.html", {"next": next, "form": {"email": email}}, exc)
    response = _redirect(_safe_next(next, "/"))
    signin.signed_in_response(request, response, signed)
    return response


def _account(request: Request, db: Db, user: User, **extra: object) -> dict[str, object]:
    return {
        "me": user,
        "verified": user.email_verified_at is not None,
        "claims": claim_review.my_claims(db, user_id=user.id),
        "disputes": claim_review.my_disputes(db, user_id=user.id),
        "captain": bool(captains.captain_teams(db, user_id=user.id)),
        **extra,
    }


@router.get("/account")
def account(request: Request, user: CurrentUser, db: Db) -> Response:
    """Your account: address verification, password, sessions, and your claims' state."""
    return render(request, "account.html", _account(request, db, user))


@router.post("/account/password", dependencies=[FormCsrf])
async def change_password(
    request: Request, user: CurrentUser, db: Db, current_password: Text, new_password: Text
) -> Response:
    """Change the password; every other session ends."""
    try:
        ended = await signin.change_password(
            request, db, user, current=current_password, new=new_password
        )
    except RallyError as exc:
        return _failed(request, "account.html", _account(request, db, user), exc)
    notice = f"Password changed; {ended} other session{'s' if ended != 1 else ''} signed out."
    return render(request, "account.html", _account(request, db, user, notice=notice))


@router.post("/account/logout-all", dependencies=[FormCsrf])
async def logout_all(request: Request, user: CurrentUser, db: Db) -> Response:
    """Sign out everywhere, this browser included."""
    await write_session(db)
    sessions.end_all_sessions(db, user_id=user.id)
    audit.record(
        db,
        actor=audit.user_actor(user.id, user.email),
        action="user.logout_all",
        subject=f"user {user.id} <{user.email}>",
    )
    response = _redirect("/login")
    clear_session_cookie(response)
    return response


@router.post("/account/verification", dependencies=[FormCsrf])
def resend(request: Request, user: CurrentUser, db: Db, background: BackgroundTasks) -> Response:
    """Mail a new verification link."""
    mail_later(request, background, [verification_message(request, user)])
    notice = f"A verification link is on its way to {user.email}."
    return render(request, "account.html", _account(request, db, user, notice=notice))


@router.get("/forgot")
def forgot_form(request: Request, user: OptionalUser) -> Response:
    """Ask for a password reset link."""
    return render(request, "forgot.html", {"form": {}})


@router.post("/forgot", dependencies=[FormCsrf])
def forgot(request: Request, db: Db, background: BackgroundTasks, email: Text) -> Response:
    """Mail a reset link if the address has an account (the page never says)."""
    try:
        request.app.state.throttle.hit_address(signin.client_address(request))
    except RallyError as exc:
        return _failed(request, "forgot.html", {"form": {"email": email}}, exc)
    normalized = accounts.normalize_email(email)
    user = db.scalar(select(User).where(User.email == normalized))
    if user is not None and user.disabled_at is None:
        mail_later(request, background, [reset_message(request, user)])
    notice = f"If {normalized} has an account, a reset link is on its way."
    return render(request, "forgot.html", {"form": {}, "notice": notice})


@router.get("/reset")
def reset_form(request: Request, user: OptionalUser, token: TokenQuery = "") -> Response:
    """Choose a new password (from the link in the reset e-mail)."""
    return render(request, "reset.html", {"token": token})


@router.post("/reset", dependencies=[FormCsrf])
async def reset(
    request: Request, db: Db, token: Annotated[str, Form(max_length=500)], password: Text
) -> Response:
    """Set the new password; every session ends; sign in with it."""
    try:
        user = await reset_with_link(request, db, token, password)
    except RallyError as exc:
        return _failed(request, "reset.html", {"token": token}, exc)
    context = {
        "next": "/",
        "form": {"email": user.email},
        "notice": "Password changed; sign in with it.",
    }
    return render(request, "login.html", context)


@router.get("/verify")
async def verify(request: Request, user: OptionalUser, db: Db, token: TokenQuery = "") -> Response:
    """Confirm the address (the link in the verification e-mail)."""
    try:
        verified = await verify_with_link(request, db, token)
    except LinkInvalid as exc:
        return render(request, "error.html", {"status": 400, "message": str(exc)}, 400)
    return render(request, "verified.html", {"email": verified.email})


@router.get("/dispute")
def dispute_form(
    request: Request,
    user: CurrentUser,
    db: Db,
    player_id: Annotated[int, Query(ge=1, le=2_147_483_647)],
) -> Response:
    """The record another account claimed, with a form to say "this is me"."""
    rows = fetch_rows(db, Player.id == player_id)
    if not rows:
        return render(
            request, "error.html", {"status": 404, "message": "There is no such record."}, 404
        )
    return render(request, "dispute.html", {"r": to_record(rows[0])})


@router.post("/disputes", dependencies=[FormCsrf])
async def dispute(
    request: Request,
    user: CurrentUser,
    db: Db,
    background: BackgroundTasks,
    player_id: IdForm,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Open the dispute; the claim is suspended and the reviewers notified."""
    await write_session(db)
    operator = request.app.state.settings.mail.operator
    _, notices = claim_review.open_dispute(
        db, user=user, player_id=player_id, reason=reason, operator=operator
    )
    mail_later(request, background, notices)
    return _redirect("/account")


@router.get("/captain")
def captain(request: Request, user: CurrentUser, db: Db) -> Response:
    """Claims of your teams that wait for a captain: confirm or release each."""
    queue = claim_review.review_queue(db, team_ids=captains.captain_teams(db, user_id=user.id))
    return render(request, "captain.html", {"queue": queue})


@router.post("/captain/claims/{claim_id}/{action}", dependencies=[FormCsrf])
async def captain_decide(
    request: Request,
    user: CurrentUser,
    db: Db,
    background: BackgroundTasks,
    claim_id: int,
    action: str,
) -> Response:
    """Confirm or release one claim as a captain of its team."""
    if action not in {"confirm", "release"}:
        return render(
            request, "error.html", {"status": 404, "message": "There is no such page."}, 404
        )
    await decide(request, user, db, background, claim_id, action)
    return _redirect("/captain")
