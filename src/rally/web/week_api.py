"""JSON API of the weekly team page: the team, availability and calendar feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, StringConstraints, TypeAdapter
from sqlalchemy.orm import Session

from rally.services import accounts, availability, calendar, week_sql, week_viewer_sql
from rally.services.availability import AnswerOut, Grid
from rally.services.calendar import FeedInfo
from rally.services.errors import NotSignedIn
from rally.services.week import TeamWeek
from rally.web.api import _ERRORS as API_ERRORS
from rally.web.deps import (
    CurrentUser,
    Db,
    WriteDb,
    api_csrf,
    run_in_session,
    session_token,
)
from rally.web.loader import load
from rally.web.page_cache import SnapshotCache, request_snapshot
from rally.web.schemas import MAX_ID, DbId, _Body

router = APIRouter(prefix="/api", dependencies=[Depends(api_csrf)], responses=API_ERRORS)
#: The secret calendar URLs: outside /api (a calendar app fetches them, never a browser form).
feeds = APIRouter()

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
_GRID = TypeAdapter(Grid)
SIGN_IN = "Sign in first: this needs a signed-in session."
T = TypeVar("T")


class AnswerBody(_Body):
    """A player's answer for one match."""

    status: Literal["available", "unavailable", "unsure"]
    note: Annotated[str, StringConstraints(max_length=availability.MAX_NOTE)] | None = None


class FeedBody(_Body):
    """The team of a new calendar feed; none (null) for all of the user's teams."""

    team_id: DbId | None = None


class FeedOut(BaseModel):
    """A live calendar feed: `url` is secret; anyone holding it can read the calendar."""

    feed_id: int
    team_id: int | None
    team: str | None
    league: str | None
    url: str


def _json(content: str | bytes) -> Response:
    return Response(content=content, media_type="application/json")


async def in_session(request: Request, work: Callable[[Session], T]) -> T:
    """Run `work(session)` in the thread pool inside the request's one session."""
    return await run_in_session(request, work)


async def team_text(
    request: Request, now: str, team_id: int, today: dt.date, limit: int | None
) -> str:
    """The team's JSON (PostgreSQL), kept under the snapshot `now`: one statement shared by
    the requests that miss at the same time (a write ending makes them all miss at once),
    the API's document and the team page's key alike."""
    pool = request.app.state.async_pool
    kept: SnapshotCache = request.app.state.snapshot_cache

    async def read() -> str:
        async with pool.connection() as conn:
            return await week_sql.team_week_json(
                conn, team_id=team_id, today=today, results_limit=limit
            )

    return await kept.shared(("team.json", team_id, today, limit), now, read)


@router.get("/teams/{team_id}", response_model=TeamWeek)
async def team(team_id: IdPath, request: Request) -> Response:
    """A team's page: next match, upcoming and past matches with availability counts,
    results by line (newest first), roster, and why any section is empty."""
    today = request.app.state.today()
    pool = request.app.state.async_pool
    if pool is not None:
        now = await pool.snapshot()
        return _json(await team_text(request, now, team_id, today, None))
    texts = request.app.state.team_texts
    text = texts.peek(team_id=team_id, today=today)
    if text is None:
        text = await in_session(request, lambda db: texts.text(db, team_id=team_id, today=today))
    return _json(text)


@router.get("/teams/{team_id}/availability", response_model=Grid)
async def team_availability(team_id: IdPath, request: Request) -> Response:
    """The team's availability grid: roster x upcoming matches, with counts per match.
    Only for a team of a record you claimed (403 otherwise)."""
    today = request.app.state.today()
    token = session_token(request)
    pool = request.app.state.async_pool
    if pool is not None:
        doc = None
        if token:
            async with pool.connection() as conn:
                doc = await week_viewer_sql.grid_json(
                    conn, token=token, team_id=team_id, today=today
                )
        if doc is None:
            raise NotSignedIn(SIGN_IN)
        return _json(doc)

    def grid(db: Session) -> bytes:
        user = accounts.user_for_token(db, token=token) if token else None
        if user is None:
            raise NotSignedIn(SIGN_IN)
        return _GRID.dump_json(
            availability.team_grid(db, user_id=user.id, team_id=team_id, today=today)
        )

    return _json(await in_session(request, grid))


@router.put("/players/{player_id}/availability/{schedule_id}", response_model=AnswerOut)
def set_availability(
    player_id: IdPath,
    schedule_id: IdPath,
    body: AnswerBody,
    request: Request,
    user: CurrentUser,
    db: WriteDb,
) -> AnswerOut:
    """Answer for one player row and one upcoming match: yourself, or as your team's captain
    for a teammate (403 otherwise)."""
    return availability.set_availability(
        db,
        user_id=user.id,
        player_id=player_id,
        schedule_id=schedule_id,
        status=body.status,
        note=body.note,
        today=request.app.state.today(),
    )


def _feed_out(request: Request, feed: FeedInfo) -> FeedOut:
    return FeedOut(
        feed_id=feed.feed_id,
        team_id=feed.team_id,
        team=feed.team,
        league=feed.league,
        url=str(request.base_url).rstrip("/") + feed.path,
    )


@router.get("/me/calendars", response_model=list[FeedOut])
def my_calendars(request: Request, user: CurrentUser, db: Db) -> list[FeedOut]:
    """Your live calendar feeds."""
    key = request.app.state.secret
    return [_feed_out(request, f) for f in calendar.list_feeds(db, user_id=user.id, key=key)]


@router.post("/me/calendars", response_model=FeedOut, status_code=201)
def new_calendar(body: FeedBody, request: Request, user: CurrentUser, db: WriteDb) -> FeedOut:
    """A secret feed URL for one of your teams, or all of them (the live one if it exists)."""
    feed = calendar.create_feed(
        db, user_id=user.id, team_id=body.team_id, key=request.app.state.secret
    )
    return _feed_out(request, feed)


@router.delete("/me/calendars/{feed_id}", status_code=204, response_class=Response)
def revoke_calendar(feed_id: IdPath, user: CurrentUser, db: WriteDb) -> Response:
    """Revoke a feed: its URL stops working at once."""
    calendar.revoke_feed(db, user_id=user.id, feed_id=feed_id)
    return Response(status_code=204)


@feeds.get(
    "/calendar/{token}.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 404: {"description": "Revoked"}},
)
async def calendar_feed(
    token: Annotated[str, Path(max_length=64, pattern=r"^[0-9a-f.]+$")], request: Request
) -> Response:
    """The iCalendar feed of a secret URL (America/Chicago times, stable event UIDs)."""
    key = request.app.state.secret
    kept: SnapshotCache = request.app.state.snapshot_cache
    now = await request_snapshot(request)
    body = kept.get(("ics", token), now)
    if body is None:
        # Three statements, awaited on PostgreSQL (rally.web.loader).
        body = await load(request, None, lambda _: calendar.feed_plan(token=token, key=key))
        kept.put(("ics", token), now, body)
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
