"""JSON twins of the player, search, club and series-fixture pages (same services)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from rally.services import clubs, players, search
from rally.services.clubs import ClubInfo, ClubPage
from rally.services.fixtures import SeriesMatch, series_matches_plan
from rally.services.players import PlayerPage
from rally.services.search import SearchHit
from rally.services.standings import standings_plan
from rally.web.deps import Db
from rally.web.loader import load
from rally.web.schemas import MAX_ID, ErrorOut

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Not found"},
    422: {"model": ErrorOut, "description": "Malformed request"},
}
router = APIRouter(prefix="/api", responses=_ERRORS)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/players/{player_id}", response_model=PlayerPage)
async def player(player_id: Id, request: Request, db: Db) -> PlayerPage:
    """A player: teams in every league with the record per team, PTI, PTI history, matches."""
    return await load(request, db, lambda _: players.player_page_plan(player_id=player_id))


@router.get("/search/players", response_model=list[SearchHit])
async def search_players(
    request: Request,
    db: Db,
    q: Annotated[str, Query(min_length=1, max_length=100, description="name or part of it")],
    league: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_]{1,64}$", description="league key")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SearchHit]:
    """Players by name, best first: accents, case and small typos do not matter."""
    return await load(
        request,
        db,
        lambda dialect: search.search_plan(query=q, league=league, limit=limit, dialect=dialect),
    )


@router.get("/clubs", response_model=list[ClubInfo])
async def club_list(db: Db) -> list[ClubInfo]:
    """Every club that fields a team, with its leagues and number of teams."""
    return await run_in_threadpool(clubs.list_clubs, db)


@router.get("/clubs/{club_id}", response_model=ClubPage)
async def club(club_id: Id, request: Request, db: Db) -> ClubPage:
    """A club's teams across series and leagues, each with its standing and record."""
    return await load(request, db, lambda _: clubs.club_page_plan(club_id=club_id))


def _matches_plan(series_id: int) -> Any:
    yield from standings_plan(series_id=series_id)  # SeriesNotFound for an unknown series
    return (yield from series_matches_plan(series_id=series_id))


@router.get("/series/{series_id}/matches", response_model=list[SeriesMatch])
async def series_matches(series_id: Id, request: Request, db: Db) -> list[SeriesMatch]:
    """A series' fixtures, oldest first, with lines won by each side where played."""
    return await load(request, db, lambda _: _matches_plan(series_id))
