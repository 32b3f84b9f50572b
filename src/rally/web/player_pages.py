"""Pages of players, search, clubs and series (standings, chart, fixtures and results).

Every page here is a read; its queries run as one plan (rally.services.plan) awaited on the
event loop on PostgreSQL, so these pages keep up with the API under load.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rally.services import clubs, players, search
from rally.services.fixtures import SeriesMatch, series_matches_plan
from rally.services.plan import Answered, Plan
from rally.services.standings import Standings, standings_plan
from rally.web.charts import bar_chart, line_chart
from rally.web.deps import Db, OptionalUser, OptionalUserId, request_session, signed_in
from rally.web.fragments import date_label, fixture_list, played_list, search_hits
from rally.web.loader import load
from rally.web.page_cache import (
    PlanPage,
    SnapshotCache,
    page_parts,
    plan_page,
    render_page,
    request_snapshot,
    respond,
)
from rally.web.pages import render
from rally.web.schemas import MAX_ID

router = APIRouter(include_in_schema=False)

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
SearchText = Annotated[str, Query(max_length=100)]
LeagueKey = Annotated[str, Query(max_length=64)]


@router.get("/players/{player_id}")
async def player(request: Request, user_id: OptionalUserId, player_id: Id) -> Response:
    """A player: teams in every league, record, PTI with its history chart, recent matches."""

    def context(page: players.PlayerPage) -> dict[str, Any]:
        name = f"{page.first_name} {page.last_name}"
        chart = line_chart(
            [(p.date, p.pti) for p in page.history],
            label=f"PTI of {name} over time"
            + (
                f", from {page.history[0].pti:.1f} to {page.history[-1].pti:.1f}"
                if page.history
                else ""
            ),
        )
        recent = played_list(page.matches)
        context = {"player": page, "name": name, "chart": chart, "recent": recent}
        return {**context, "date_label": date_label}

    return await plan_page(
        request,
        "player.html",
        player_id,
        lambda _: players.player_page_plan(player_id=player_id),
        context,
    )


@router.get("/search")
async def search_page(
    request: Request, user_id: OptionalUserId, q: SearchText = "", league: LeagueKey = ""
) -> Response:
    """Find a player by name within a league (or all leagues)."""

    def context(found: tuple[Any, Any]) -> dict[str, Any]:
        leagues, hits = found
        return {
            "q": q,
            "league": league.upper(),
            "leagues": leagues,
            "hits": hits,
            "hit_items": search_hits(hits),
            "searched": bool(q),
        }

    return await plan_page(
        request,
        "search.html",
        (q, league),
        lambda dialect: search.search_page_plan(
            query=q, league=league or None, limit=30, dialect=dialect
        ),
        context,
    )


@router.get("/clubs")
def club_list(request: Request, user: OptionalUser, db: Db, name: SearchText = "") -> Response:
    """Every club; `?name=` goes to that club's page."""
    if name:
        club_id = clubs.club_id_by_name(db, name=name)
        return RedirectResponse(f"/clubs/{club_id}", status_code=303)
    return render(request, "clubs.html", {"clubs": clubs.list_clubs(db)})


@router.get("/clubs/{club_id}")
async def club(request: Request, user_id: OptionalUserId, club_id: Id) -> Response:
    """A club: every team across series and leagues with its standing and record."""
    return await plan_page(
        request,
        "club.html",
        club_id,
        lambda _: clubs.club_page_plan(club_id=club_id),
        lambda page: {"club": page},
    )


def _series_plan(series_id: int) -> Plan[tuple[Standings, list[SeriesMatch]]]:
    table = yield from standings_plan(series_id=series_id)
    matches = yield from series_matches_plan(series_id=series_id)
    return table, matches


async def series_page(
    request: Request, db: Session | None, series_id: int, highlight: int | None = None
) -> Response:
    """Render a series: standings (team column kept in view), points chart, fixtures."""
    kept: SnapshotCache = request.app.state.snapshot_cache
    now = await request_snapshot(request)
    key = ("standings.html", signed_in(request) is not None, (series_id, highlight))
    parts: list[str] | None = kept.get(key, now)
    if parts is not None:
        return respond(request, parts)
    # Pages without standings are not kept (they read the teams apart): no early end there.
    probe = PlanPage(request, "standings.html", (series_id, highlight))
    try:
        table, matches = await load(
            request, db, lambda _: _series_plan(series_id), probe.answers, probe.done
        )
    except Answered:
        parts = probe.found()
        kept.put(key, now, parts)
        return respond(request, parts)

    def context() -> dict[str, Any]:
        mine = next(
            (i for i, r in enumerate(table.rows) if highlight and r.team_id == highlight), None
        )
        chart = bar_chart(
            [(r.team, float(r.points or 0)) for r in table.rows],
            label=f"Points per team in {table.series}, {table.league_name}",
            highlight=mine,
        )
        return {
            "standings": table,
            "highlight": highlight,
            "chart": chart,
            "fixtures": fixture_list(matches),
        }

    if not table.rows:
        # No standings yet: the teams are still worth listing (read apart: not cached).
        from rally.services.standings import series_teams

        if db is None:
            async with request_session(request) as session:
                teams = await run_in_threadpool(series_teams, session, series_id=series_id)
        else:
            teams = await run_in_threadpool(series_teams, db, series_id=series_id)
        return render_page(request, "standings.html", None, lambda: {**context(), "teams": teams})
    parts = page_parts(request, "standings.html", probe.key(), context)
    kept.put(key, now, parts)
    return respond(request, parts)


@router.get("/series/{series_id}")
async def series(request: Request, user_id: OptionalUserId, series_id: Id) -> Response:
    """Browse: a series' standings, points chart, fixtures and results."""
    return await series_page(request, None, series_id)
