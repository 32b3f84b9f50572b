"""The JSON API under /api: the same services as the pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from rally.errors import UsageError
from rally.models import User
from rally.services import accounts, claims, standings, team_page, teams
from rally.services.claims import ClaimSearch
from rally.services.errors import NotSignedIn, PlayerAlreadyClaimed
from rally.services.leagues import league_by_key
from rally.services.records import PlayerRecord
from rally.services.standings import LeagueInfo, SeriesInfo, Standings, TeamSummary
from rally.services.team_page import TeamDetail
from rally.services.teams import Context, TeamRef
from rally.web.deps import (
    CurrentUser,
    Db,
    WriteDb,
    api_csrf,
    bearer_token,
    clear_session_cookie,
    current_user_id,
    request_session,
    session_token,
    set_session_cookie,
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
    LoginBody,
    MeOut,
    RegisterBody,
    RegisterOut,
    SessionOut,
    UserOut,
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
TeamPath = Annotated[int, Path(ge=1, le=MAX_ID)]


#: Serializer of the hottest answer (skips re-validating what the service just built).
_STANDINGS = TypeAdapter(Standings)


def _json(content: bytes | str) -> Response:
    return Response(content=content, media_type="application/json")


def _user(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name
    )


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


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


async def _plain_team_id(request: Request) -> int | None:
    # A JSON body whose team_id is an int in range: FastAPI will parse and accept it as is.
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return None
    try:
        data = await request.json()
    except ValueError:
        return None
    value = data.get("team_id") if isinstance(data, dict) else None
    return value if type(value) is int and 1 <= value <= MAX_ID else None


async def _signed_in_switch(request: Request) -> Context | int:
    """Authenticate the switch (401 before any body error, as everywhere) and, on PostgreSQL
    with a body that will certainly validate, switch in the same statement.

    Returns the new context, or the signed-in user's id for the endpoint to switch with.
    """
    pool = request.app.state.async_pool
    token = session_token(request)
    team_id = await _plain_team_id(request) if pool is not None and token else None
    if token is None or team_id is None:
        return await current_user_id(request)
    async with pool.connection() as conn:
        context = await teams.switch_team_for_token(conn, token=token, team_id=team_id)
    if context is None:
        raise NotSignedIn("Sign in first: this needs a signed-in session.")
    return context


@router.put("/me/context", response_model=ContextOut)
async def put_context(
    body: ContextBody,
    signed_in: Annotated[Context | int, Depends(_signed_in_switch)],
    request: Request,
) -> Response:
    """Switch to a team of a claimed record (403 for any other team)."""
    if isinstance(signed_in, Context):
        context = signed_in
    elif request.app.state.async_pool is not None:
        async with request.app.state.async_pool.connection() as conn:
            context = await teams.switch_team_at_once(conn, user_id=signed_in, team_id=body.team_id)
    else:
        context = await run_in_threadpool(
            _switch_in_session, request.app.state.sessions, signed_in, body.team_id
        )
    return _json(ContextOut(context=context).model_dump_json())


def _switch_in_session(sessions: sessionmaker[Session], user_id: int, team_id: int) -> Context:
    # SQLite: take the write lock first (see deps.write_session), then switch and commit.
    with sessions() as db:
        db.execute(text("DELETE FROM login_attempts WHERE 1 = 0"))
        context = teams.switch_team(db, user_id=user_id, team_id=team_id)
        db.commit()
    return context


@router.post("/register", response_model=RegisterOut, status_code=201)
def register(body: RegisterBody, request: Request, response: Response, db: WriteDb) -> RegisterOut:
    """Create an account and sign in; league, club and series claim the player at once."""
    wanted = (body.league, body.club, body.series)
    if any(wanted) and not all(wanted):
        raise UsageError("To claim at registration give league, club and series together.")
    if body.league and body.club and body.series:
        # Unknown names fail the registration before anything is written.
        league_by_key(db, league=body.league)
    user = accounts.register_user(
        db,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
        hasher=request.app.state.hasher,
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
    signed = accounts.start_session(db, user=user)
    set_session_cookie(request, response, signed.token)
    return RegisterOut(
        user=_user(user), token=signed.token, expires_at=signed.expires_at, claim=outcome
    )


@router.post("/login", response_model=SessionOut, responses={429: {"model": ErrorOut}})
def login(body: LoginBody, request: Request, response: Response, db: WriteDb) -> SessionOut:
    """Sign in; returns the bearer token and sets the session cookie."""
    user = accounts.check_credentials(
        db,
        email=body.email,
        password=body.password,
        client=_client(request),
        hasher=request.app.state.hasher,
    )
    if user is None:
        db.commit()  # the failed attempt must count even though the request fails
        raise accounts.invalid_credentials()
    signed = accounts.start_session(db, user=user)
    set_session_cookie(request, response, signed.token)
    return SessionOut(user=_user(user), token=signed.token, expires_at=signed.expires_at)


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
        user=_user(user),
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
def claim(body: ClaimBody, user: CurrentUser, db: WriteDb) -> PlayerRecord:
    """Claim one player row by id (409 if another user has it)."""
    return claims.claim_player(db, user_id=user.id, player_id=body.player_id)


@router.post("/me/claims/search", response_model=ClaimSearch)
def claim_search(body: ClaimSearchBody, user: CurrentUser, db: WriteDb) -> ClaimSearch:
    """Find your record by league, club, series and name; a unique match is claimed."""
    return claims.claim_by_name(
        db,
        user_id=user.id,
        league=body.league,
        club=body.club,
        series=body.series,
        first_name=body.first_name or user.first_name or "",
        last_name=body.last_name or user.last_name or "",
    )


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


@router.get("/teams/{team_id}", response_model=TeamDetail)
def team(team_id: TeamPath, db: Db) -> TeamDetail:
    """A team: roster with PTI and record, schedule, results by line."""
    return team_page.team_detail(db, team_id=team_id)
