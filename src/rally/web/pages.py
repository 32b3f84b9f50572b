"""Server-rendered pages: plain HTML forms, each post protected by a CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from rally.errors import RallyError
from rally.models import User
from rally.services import accounts, claims, standings, teams
from rally.services.errors import LeagueNotFound, PlayerAlreadyClaimed
from rally.services.leagues import league_by_key
from rally.web.account_api import notify_pending
from rally.web.deps import (
    CurrentUser,
    Db,
    OptionalUser,
    WriteDb,
    check_csrf,
    clear_session_cookie,
    csrf_token,
    remember_anon,
    session_token,
    signed_in,
)
from rally.web.schemas import MAX_ID

router = APIRouter(include_in_schema=False)


async def _form_csrf(request: Request) -> None:
    # Runs before the form fields are validated: a forged post gets 403, not 422.
    form = await request.form()
    token = form.get("csrf_token")
    check_csrf(request, token if isinstance(token, str) else None)


FormCsrf = Depends(_form_csrf)
Text = Annotated[str, Form(max_length=256)]
IdForm = Annotated[int, Form(ge=1, le=MAX_ID)]


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render a template with the CSRF token and the signed-in user."""
    values = {
        "csrf": csrf_token(request),
        "user": signed_in(request),
        **(context or {}),
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request, name, values, status_code=status_code
    )
    remember_anon(request, response)
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(target: str | None, default: str) -> str:
    # Only local paths: never redirect to another site after sign-in.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(32 < ord(ch) < 127 for ch in target)
    ):
        return target
    return default


@router.get("/")
def home(request: Request, user: OptionalUser, db: Db) -> Response:
    """Landing page, or the user's team when signed in."""
    if user is not None:
        return _redirect("/team" if teams.current_context(db, user_id=user.id) else "/claim")
    return render(request, "home.html")


@router.post("/logout", dependencies=[FormCsrf])
def logout(request: Request, db: WriteDb) -> Response:
    """Sign out."""
    token = session_token(request)
    if token:
        accounts.end_session(db, token=token)
    response = _redirect("/")
    clear_session_cookie(response)
    return response


def _claim_form(
    request: Request, db: Db, user: User, values: dict[str, str], **extra: Any
) -> dict[str, Any]:
    league = values.get("league") or ""
    clubs: list[str] = []
    series: list[Any] = []
    if league:
        try:
            clubs = standings.league_clubs(db, league=league)
            series = standings.league_series(db, league=league)
        except LeagueNotFound:
            league = ""
    return {
        "leagues": standings.list_leagues(db),
        "league": league,
        "clubs": clubs,
        "series_list": series,
        "values": {
            "first_name": user.first_name or "",
            "last_name": user.last_name or "",
            **{k: v for k, v in values.items() if v},
        },
        "claimed": claims.claimed_records(db, user_id=user.id),
        **extra,
    }


@router.get("/claim")
def claim_form(
    request: Request,
    user: CurrentUser,
    db: Db,
    league: Annotated[str, Query(max_length=64)] = "",
    club: Annotated[str, Query(max_length=256)] = "",
    series: Annotated[str, Query(max_length=256)] = "",
) -> Response:
    """Choose league, club and series, and give your name, to find your player record."""
    values = {"league": league, "club": club, "series": series}
    return render(request, "claim.html", _claim_form(request, db, user, values))


@router.post("/claim", dependencies=[FormCsrf])
def claim(
    request: Request,
    user: CurrentUser,
    db: WriteDb,
    league: Text,
    club: Text,
    series: Text,
    first_name: Text,
    last_name: Text,
    background: BackgroundTasks,
) -> Response:
    """Search by name; a unique match is linked, otherwise candidates are shown."""
    values = {
        "league": league,
        "club": club,
        "series": series,
        "first_name": first_name,
        "last_name": last_name,
    }
    try:
        outcome = claims.claim_by_name(
            db,
            user_id=user.id,
            league=league,
            club=club,
            series=series,
            first_name=first_name,
            last_name=last_name,
        )
    except PlayerAlreadyClaimed as exc:
        db.rollback()
        return _redirect(f"/dispute?player_id={exc.player_id}")
    except RallyError as exc:
        db.rollback()
        context = _claim_form(request, db, user, values, error=str(exc))
        return render(request, "claim.html", context, exc.http_status)
    if outcome.status == "linked":
        notify_pending(
            request, db, background, outcome.claimed.player_id if outcome.claimed else None
        )
        return _redirect("/account" if outcome.claim_status == "pending" else "/suggestions")
    context = _claim_form(request, db, user, values, outcome=outcome)
    return render(request, "claim.html", context)


@router.post("/claims", dependencies=[FormCsrf])
def confirm_claim(
    request: Request,
    user: CurrentUser,
    db: WriteDb,
    player_id: IdForm,
    background: BackgroundTasks,
) -> Response:
    """Claim one record the user confirmed ("this is me"); one claimed by another: dispute."""
    try:
        claims.claim_player(db, user_id=user.id, player_id=player_id)
    except PlayerAlreadyClaimed:
        return _redirect(f"/dispute?player_id={player_id}")
    notify_pending(request, db, background, player_id)
    return _redirect("/suggestions")


@router.get("/suggestions")
def suggestions(request: Request, user: CurrentUser, db: Db) -> Response:
    """Your claimed records, and your other records offered for confirmation."""
    return render(
        request,
        "suggestions.html",
        {
            "claimed": claims.claimed_records(db, user_id=user.id),
            "offered": claims.suggestions(db, user_id=user.id),
        },
    )


@router.get("/teams")
def my_teams(request: Request, user: CurrentUser, db: Db) -> Response:
    """Every team of your claimed records, with a switch button each."""
    return render(request, "teams.html", {"teams": teams.my_teams(db, user_id=user.id)})


@router.post("/context", dependencies=[FormCsrf])
def switch(request: Request, user: CurrentUser, db: WriteDb, team_id: IdForm) -> Response:
    """Switch to another of your teams."""
    teams.switch_team(db, user_id=user.id, team_id=team_id)
    return _redirect("/team")


@router.get("/standings")
async def my_standings(request: Request, user: CurrentUser, db: Db) -> Response:
    """Your current series' standings."""
    from rally.web.player_pages import series_page  # it renders with this module's render

    context = teams.current_context(db, user_id=user.id)
    if context is None:
        return _redirect("/claim")
    return await series_page(request, db, context.series_id, highlight=context.team_id)


@router.get("/leagues")
def leagues(request: Request, user: OptionalUser, db: Db) -> Response:
    """Browse: every league."""
    return render(request, "leagues.html", {"leagues": standings.list_leagues(db)})


@router.get("/leagues/{league_key}")
def league(
    request: Request,
    user: OptionalUser,
    db: Db,
    league_key: Annotated[str, Path(max_length=64)],
) -> Response:
    """Browse: a league's series."""
    found = league_by_key(db, league=league_key)
    series = standings.league_series(db, league=league_key)
    return render(request, "league.html", {"league": found, "series_list": series})


# /team and /teams/{team_id} (the weekly team page) are in week_pages; /series/{series_id}
# (standings, chart, fixtures) is in player_pages.
