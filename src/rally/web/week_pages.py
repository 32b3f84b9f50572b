"""Pages of the weekly team page: my team, availability, calendar feeds."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from rally.services import accounts, availability, calendar, teams, week, week_viewer_sql
from rally.services.accounts import token_hash, utcnow
from rally.services.errors import NotSignedIn
from rally.services.week import Viewer
from rally.web.deps import CurrentUser, Db, WriteDb, session_token
from rally.web.page_cache import SnapshotCache, page_parts, respond
from rally.web.pages import FormCsrf, IdForm, _safe_next, render
from rally.web.schemas import MAX_ID
from rally.web.week_api import in_session, team_text

router = APIRouter(include_in_schema=False)

#: Results shown with their lines on the team page; `?results=all` shows every one.
HTML_RESULTS = 6
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
STATUS_LABELS = {"available": "Available", "unavailable": "Not available", "unsure": "Not sure"}


def day(value: str | dt.date | None, long: bool = True) -> str:
    """Format a date as "Tue Jan 14, 2025" (with the year: seasons span two)."""
    if value is None:
        return "Date to be announced"
    date = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return date.strftime("%a %b %-d, %Y" if long else "%b %-d")


def clock(value: str | dt.time | None) -> str:
    """Format a match time as "6:30 PM" (empty when unknown)."""
    if not value:
        return ""
    time = dt.time.fromisoformat(value) if isinstance(value, str) else value
    return time.strftime("%-I:%M %p")


def _general(
    request: Request,
    db: Session,
    token: str | None,
    team_id: int | None,
    today: dt.date,
    limit: int | None,
) -> tuple[Viewer | None, str | None]:
    user = accounts.user_for_token(db, token=token) if token else None
    viewer = week.viewer(db, user_id=user.id, team_id=team_id) if user else None
    target = team_id if team_id is not None else (viewer.team_id if viewer else None)
    if target is None:
        return viewer, None
    # The team's JSON from the statement PostgreSQL runs: the page cache's key on both.
    return viewer, request.app.state.team_texts.text(
        db, team_id=target, today=today, results_limit=limit
    )


def _feed_url(request: Request, viewer: Viewer | None) -> str | None:
    if viewer is None or viewer.feed_id is None or viewer.feed_salt is None:
        return None
    token = calendar.feed_token(request.app.state.secret, viewer.feed_id, viewer.feed_salt)
    return f"{str(request.base_url).rstrip('/')}/calendar/{token}.ics"


@dataclass(frozen=True)
class _Seen:
    """The team page answered to one session (or to visitors) under a snapshot."""

    viewer: Viewer | None
    #: When the viewer's session expires: past it, the page is not answered from memory.
    expires: dt.datetime | None
    parts: list[str]


async def _team_page(request: Request, team_id: int | None, results: str) -> Response:
    """On PostgreSQL, under the database's snapshot (one read shared by concurrent requests,
    rally.web.page_cache.SnapshotCache): the page this session (or a visitor) was answered
    is answered again while the snapshot is unchanged and the session alive; otherwise the
    viewer (session, context, feed) and the team's JSON are read, the JSON shared by every
    viewer of the team, and the page rendered unless a page of the same JSON is kept."""
    today = request.app.state.today()
    token = session_token(request)
    limit = None if results == "all" else HTML_RESULTS
    pool = request.app.state.async_pool
    text: str | None = None  # the page's JSON, built by the database
    expires: dt.datetime | None = None
    if pool is not None:
        kept: SnapshotCache = request.app.state.snapshot_cache
        now = await pool.snapshot()  # shared with concurrent requests (rally.web.aiodb)
        # Per session: the key holds the token's hash, so no viewer is answered another's page;
        # and the host the request named (the page's calendar link is an absolute URL).
        scope = request.scope
        where = (scope["scheme"], scope.get("root_path"), request.headers.get("host"))
        seen_key = ("team.html", token_hash(token) if token else None, team_id, today, limit, where)
        seen: _Seen | None = kept.get(seen_key, now)
        if seen is not None and (seen.expires is None or seen.expires > utcnow()):
            request.state.user = seen.viewer
            return respond(request, seen.parts)
        viewer = None
        if token:
            async with pool.connection() as conn:
                found = await week_viewer_sql.viewer_for_token(conn, token=token, team_id=team_id)
            if found is not None:
                viewer, expires = found
        target = team_id if team_id is not None else (viewer.team_id if viewer else None)
        if target is not None:
            text = await team_text(request, now, target, today, limit)
    else:
        # SQLite: a visitor's team page comes from memory while no commit changed the data.
        viewer = None
        if token is None and team_id is not None:
            text = request.app.state.team_texts.peek(
                team_id=team_id, today=today, results_limit=limit
            )
        if text is None:
            viewer, text = await in_session(
                request, lambda db: _general(request, db, token, team_id, today, limit)
            )
    if team_id is None and viewer is None:
        raise NotSignedIn("Sign in first: this needs a signed-in session.")
    if text is None:
        return RedirectResponse("/claim", status_code=303)
    request.state.user = viewer
    feed_url = _feed_url(request, viewer)
    mine = viewer is not None and viewer.member
    page = text

    def context() -> dict[str, Any]:
        team = json.loads(page)
        return {"team": team, "mine": mine, "feed_url": feed_url, "day": day, "clock": clock}

    parts = page_parts(request, "team.html", (text, mine, feed_url), context)
    if pool is not None:
        kept.put(seen_key, now, _Seen(viewer, expires, parts))
    return respond(request, parts)


Results = Annotated[str, Query(max_length=8, pattern=r"^(all|recent)$")]


@router.get("/team")
async def my_team(request: Request, results: Results = "recent") -> Response:
    """Your current team: next match, upcoming, results, roster."""
    return await _team_page(request, None, results)


@router.get("/teams/{team_id}")
async def team(request: Request, team_id: IdPath, results: Results = "recent") -> Response:
    """A team's page (browsing; your availability and calendar links when it is yours)."""
    return await _team_page(request, team_id, results)


def _grid_page(
    request: Request, db: Session, user_id: int, team_id: int, player: int | None
) -> Response:
    grid = availability.team_grid(
        db, user_id=user_id, team_id=team_id, today=request.app.state.today()
    )
    editable = [r for r in grid.players if r.editable]
    chosen = next((r for r in editable if r.player_id == player), None)
    chosen = chosen or next((r for r in editable if r.mine), None)
    return render(
        request,
        "availability.html",
        {
            "grid": grid,
            "chosen": chosen,
            "editable": editable,
            "labels": STATUS_LABELS,
            "day": day,
            "clock": clock,
        },
    )


PlayerQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/team/availability")
def my_availability(
    request: Request, user: CurrentUser, db: Db, player: PlayerQuery = None
) -> Response:
    """Availability of your current team: one tap per match, and the team's grid."""
    context = teams.current_context(db, user_id=user.id)
    if context is None:
        return RedirectResponse("/claim", status_code=303)
    return _grid_page(request, db, user.id, context.team_id, player)


@router.get("/teams/{team_id}/availability")
def team_availability(
    request: Request, user: CurrentUser, db: Db, team_id: IdPath, player: PlayerQuery = None
) -> Response:
    """Availability of one of your teams."""
    return _grid_page(request, db, user.id, team_id, player)


@router.post("/availability", dependencies=[FormCsrf])
def answer(
    request: Request,
    user: CurrentUser,
    db: WriteDb,
    player_id: IdForm,
    schedule_id: IdForm,
    status: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=availability.MAX_NOTE)] = "",
    next: Annotated[str, Form(max_length=500)] = "/team/availability",
) -> Response:
    """Store one answer, then go back to the grid at that match."""
    availability.set_availability(
        db,
        user_id=user.id,
        player_id=player_id,
        schedule_id=schedule_id,
        status=status,
        note=note,
        today=request.app.state.today(),
    )
    target = _safe_next(next, "/team/availability")
    return RedirectResponse(f"{target}#match-{schedule_id}", status_code=303)


@router.get("/calendar")
def calendars(request: Request, user: CurrentUser, db: Db) -> Response:
    """Your secret calendar links, and links to make."""
    base = str(request.base_url).rstrip("/")
    feeds = calendar.list_feeds(db, user_id=user.id, key=request.app.state.secret)
    return render(
        request,
        "calendar.html",
        {"feeds": feeds, "base": base, "teams": teams.my_teams(db, user_id=user.id)},
    )


@router.post("/calendar", dependencies=[FormCsrf])
def new_calendar(
    request: Request,
    user: CurrentUser,
    db: WriteDb,
    team_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    next: Annotated[str, Form(max_length=500)] = "/calendar",
) -> Response:
    """Make (or show again) the secret link of one team, or of all your teams."""
    calendar.create_feed(db, user_id=user.id, team_id=team_id, key=request.app.state.secret)
    return RedirectResponse(_safe_next(next, "/calendar"), status_code=303)


@router.post("/calendar/{feed_id}/revoke", dependencies=[FormCsrf])
def revoke_calendar(request: Request, user: CurrentUser, db: WriteDb, feed_id: IdPath) -> Response:
    """Revoke a link: calendars subscribed to it stop updating."""
    calendar.revoke_feed(db, user_id=user.id, feed_id=feed_id)
    return RedirectResponse("/calendar", status_code=303)
