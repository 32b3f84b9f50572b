"""The JSON API under /api: the same services as the pages."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from pydantic import TypeAdapter
from sqlalchemy import text

from rally.services import accounts, claims, standings, teams
from rally.services.claims import ClaimSearch
from rally.services.errors import NotSignedIn
from rally.services.records import PlayerRecord
from rally.services.standings import LeagueInfo, SeriesInfo, Standings, TeamSummary
from rally.services.teams import TeamRef
from rally.web.account_api import notify_pending, user_out
from rally.web.deps import (
    CurrentUser,
    Db,
    WriteDb,
    api_csrf,
    bearer_token,
    clear_session_cookie,
    current_user_id,
    request_session,
    run_write,
    session_token,
)
from rally.web.replica import use_replica
from rally.web.schemas import (
    MAX_ID,
    ClaimBody,
    ClaimSearchBody,
    ContextBody,
    ContextOut,
    ErrorOut,
    Health,
    MeOut,
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "Not signed in"),
        (403, "Forbidden or cross-site request"),
        (404, "Not found"),
        (409, "Conflict"),
        (422, "Malformed request"),
    )
}

router = APIRouter(prefix="/api", dependencies=[Depends(api_csrf)], responses=_ERRORS)
health = APIRouter()

LeaguePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_]{1,64}$", max_length=64)]
SeriesPath = Annotated[int, Path(ge=1, le=MAX_ID)]


#: Serializer of the hottest answer (skips re-validating what the service just built).
_STANDINGS = TypeAdapter(Standings)


def _json(content: bytes | str) -> Response:
    return Response(content=content, media_type="application/json")


@health.get("/healthz", response_model=Health, responses={503: {"model": ErrorOut}})
async def healthz(db: Db) -> Health:
    """Report that the server is up and its database answers."""
    db.execute(text("SELECT 1"))
    return Health(status="ok", database="ok")


# The hot routes come first: FastAPI tries a router's routes in order, several times per
# request, so a route near the end of the list costs measurably more to reach.


@router.get("/series/{series_id}/standings", response_model=Standings)
async def series_standings(series_id: SeriesPath, request: Request) -> Response:
    """A series' standings, ordered by points."""
    pool = request.app.state.async_pool
    if request.app.state.replica_pool is not None and use_replica(request.state):
        pool = request.app.state.replica_pool
    if pool is not None:
        async with pool.connection() as conn:
            return _json(await standings.standings_json(conn, series_id=series_id))
    async with request_session(request) as db:
        table = standings.series_standings(db, series_id=series_id)
    return _json(_STANDINGS.dump_json(table))


SignedInId = Annotated[int, Depends(current_user_id)]


@router.put("/me/context", response_model=ContextOut)
async def put_context(user_id: SignedInId, body: ContextBody, request: Request) -> Response:
    """Switch to a team of a claimed record (403 for any other team).

    Sign-in is checked first (a dependency runs before the body is validated): a request
    without a live session gets 401 whatever its body.
    """
    if request.app.state.async_pool is not None:
        async with request.app.state.async_pool.connection() as conn:
            context = await teams.switch_team_at_once(conn, user_id=user_id, team_id=body.team_id)
    else:
        switch = partial(teams.switch_team_on, user_id=user_id, team_id=body.team_id)
        context = await run_write(request, switch)
    return _json(ContextOut(context=context).model_dump_json())


@router.post("/logout", status_code=204, response_class=Response)
def logout(request: Request, db: WriteDb) -> Response:
    """Sign out: end this session."""
    token = session_token(request)
    if not token or not accounts.end_session(db, token=token):
        raise NotSignedIn("You are not signed in.")
    response = Response(status_code=204)
    if bearer_token(request) is None:
        clear_session_cookie(response)
    return response


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, db: Db) -> MeOut:
    """The signed-in user, their claimed records and team context."""
    return MeOut(
        user=user_out(user),
        claims=claims.claimed_records(db, user_id=user.id),
        context=teams.current_context(db, user_id=user.id),
    )


@router.get("/me/suggestions", response_model=list[PlayerRecord])
def my_suggestions(user: CurrentUser, db: Db) -> list[PlayerRecord]:
    """Records of the same person not yet claimed, to confirm one by one."""
    return claims.suggestions(db, user_id=user.id)


@router.get("/me/claims", response_model=list[PlayerRecord])
async def my_claims(user: CurrentUser, db: Db) -> list[PlayerRecord]:
    """The records the user has claimed."""
    return claims.claimed_records(db, user_id=user.id)


@router.post("/me/claims", response_model=PlayerRecord, status_code=201)
def claim(
    body: ClaimBody, request: Request, user: CurrentUser, db: WriteDb, background: BackgroundTasks
) -> PlayerRecord:
    """Claim one player row by id (409 if another user has it; pending unless your name)."""
    record = claims.claim_player(db, user_id=user.id, player_id=body.player_id)
    notify_pending(request, db, background, record.player_id)
    return record


@router.post("/me/claims/search", response_model=ClaimSearch)
def claim_search(
    body: ClaimSearchBody,
    request: Request,
    user: CurrentUser,
    db: WriteDb,
    background: BackgroundTasks,
) -> ClaimSearch:
    """Find your record by league, club, series and name; a unique match is claimed."""
    outcome = claims.claim_by_name(
        db,
        user_id=user.id,
        league=body.league,
        club=body.club,
        series=body.series,
        first_name=body.first_name or user.first_name or "",
        last_name=body.last_name or user.last_name or "",
    )
    notify_pending(request, db, background, outcome.claimed.player_id if outcome.claimed else None)
    return outcome


@router.get("/me/teams", response_model=list[TeamRef])
async def my_teams(user: CurrentUser, db: Db) -> list[TeamRef]:
    """Every team of every claimed record, across leagues."""
    return teams.my_teams(db, user_id=user.id)


@router.get("/me/context", response_model=ContextOut)
async def get_context(user: CurrentUser, db: Db) -> ContextOut:
    """The team the user is looking at, with its league and its own series."""
    return ContextOut(context=teams.current_context(db, user_id=user.id))


@router.get("/leagues", response_model=list[LeagueInfo])
async def leagues(db: Db) -> list[LeagueInfo]:
    """Every league, by key."""
    return standings.list_leagues(db)


@router.get("/leagues/{league_key}/series", response_model=list[SeriesInfo])
async def league_series(league_key: LeaguePath, db: Db) -> list[SeriesInfo]:
    """The series of a league."""
    return standings.league_series(db, league=league_key)


@router.get("/leagues/{league_key}/clubs", response_model=list[str])
async def league_clubs(league_key: LeaguePath, db: Db) -> list[str]:
    """The clubs of a league (for the claim form)."""
    return standings.league_clubs(db, league=league_key)


@router.get("/series/{series_id}/teams", response_model=list[TeamSummary])
async def series_teams(series_id: SeriesPath, db: Db) -> list[TeamSummary]:
    """The teams of a series."""
    return standings.series_teams(db, series_id=series_id)


# GET /api/teams/{team_id} (the weekly team page) is in week_api.
