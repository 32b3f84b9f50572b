"""The team page kept per viewer and snapshot (rally.web.week_pages): each viewer's own
page, writes visible on the next request, sessions that end are not answered from memory;
and the reads `SnapshotCache.shared` lets concurrent requests share."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import bearer, register
from week_fixtures import TODAY, add_week

from rally.services import accounts
from rally.web import week_pages
from rally.web.page_cache import SnapshotCache

SIGN_IN_MENU = '<a href="/login">Sign in</a>'


@pytest.fixture
def week(app: FastAPI, engine: sa.Engine, world: dict[str, int]) -> dict[str, int]:
    app.state.today = lambda: TODAY
    return add_week(engine, world)


Two = tuple[TestClient, TestClient, str]


@pytest.fixture
def two(
    app: FastAPI, world: dict[str, int], week: dict[str, int]
) -> Iterator[tuple[TestClient, TestClient, str]]:
    """Aaron (Tennaqua 12, captain) and José (Wilmette 12), each signed in on their team;
    and Aaron's session token."""
    with TestClient(app) as aaron, TestClient(app) as jose:
        token = register(aaron, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")["token"]
        register(
            jose,
            first_name="José",
            last_name="Núñez",
            league="APTA_CHICAGO",
            club="Wilmette",
            series="Series 12",
        )
        for client, team in [(aaron, "team_tennaqua_12"), (jose, "team_wilmette_12")]:
            switched = client.put("/api/me/context", json={"team_id": world[team]})
            assert switched.status_code == 200, switched.text
        yield aaron, jose, token


def _card(html: str) -> str:
    return html.split('id="next"')[1].split("</section>")[0]


def test_each_viewer_is_answered_their_own_page_and_writes_show_at_once(
    app: FastAPI, world: dict[str, int], week: dict[str, int], two: Two
) -> None:
    aaron, jose, token = two
    tennaqua = f"/teams/{world['team_tennaqua_12']}"
    with TestClient(app) as visitor:
        for _ in range(3):  # interleaved: a page kept for one viewer never answers another
            mine, theirs = aaron.get("/team").text, jose.get("/team").text
            assert "<h1>Tennaqua 12</h1>" in mine and "Can you play?" in mine
            assert "<h1>Wilmette 12</h1>" in theirs and "Tennaqua 12</h1>" not in theirs
            assert "Get a calendar link for Tennaqua 12" in aaron.get(tennaqua).text
            browsing = jose.get(tennaqua).text
            assert "<h1>Tennaqua 12</h1>" in browsing and SIGN_IN_MENU not in browsing
            assert "Can you play?" not in browsing and "calendar link" not in browsing
            seen = visitor.get(tennaqua).text
            assert SIGN_IN_MENU in seen and "Can you play?" not in seen
        assert "1 in</span> · 0 out · 0 maybe · 3 no answer" in _card(aaron.get("/team").text)

        # Aaron answers: the counts change on his next request, and on everyone's.
        answered = aaron.put(
            f"/api/players/{world['player_aaron_apta']}/availability/{week['apta_next']}",
            json={"status": "available"},
        )
        assert answered.status_code == 200, answered.text
        counts = "2 in</span> · 0 out · 0 maybe · 2 no answer"
        assert counts in _card(aaron.get("/team").text)
        assert counts in _card(jose.get(tennaqua).text)
        assert counts in _card(visitor.get(tennaqua).text)

        # A calendar link made shows on his page only.
        made = aaron.post("/api/me/calendars", json={"team_id": world["team_tennaqua_12"]})
        assert made.status_code == 201, made.text
        assert made.json()["url"] in aaron.get("/team").text
        assert "/calendar/" not in jose.get(tennaqua).text

        # Signed out everywhere: the token no longer opens his page.
        assert aaron.post("/api/logout-all", headers=bearer(token)).status_code == 204
        gone = visitor.get("/team", headers=bearer(token), follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
        browsing = visitor.get(tennaqua, headers=bearer(token)).text
        assert SIGN_IN_MENU in browsing and "Can you play?" not in browsing


def _fixed_snapshot(app: FastAPI) -> None:
    """Hold the database's snapshot still: every page is kept (PostgreSQL)."""
    pool = app.state.async_pool
    assert pool is not None

    async def snapshot() -> str:
        return "100:100:"

    pool.snapshot = snapshot


@pytest.mark.parametrize("backend", ["postgresql"])
def test_kept_pages_are_per_session(app: FastAPI, world: dict[str, int], two: Two) -> None:
    aaron, jose, _token = two
    _fixed_snapshot(app)
    kept: SnapshotCache = app.state.snapshot_cache
    tennaqua = f"/teams/{world['team_tennaqua_12']}"
    first = {(c, p): c.get(p).text for c in (aaron, jose) for p in ("/team", tennaqua)}
    hits = kept.hits
    for (client, path), text in first.items():
        assert client.get(path).text == text
    assert kept.hits >= hits + len(first)  # every page came from memory...
    # ...each viewer's own.
    assert "Can you play?" in first[aaron, "/team"] and "Can you play?" in first[aaron, tennaqua]
    assert "<h1>Wilmette 12</h1>" in first[jose, "/team"]
    assert "Can you play?" not in first[jose, tennaqua]
    # A token the database does not know is not answered a kept page either.
    with TestClient(app) as stranger:
        forged = stranger.get("/team", headers=bearer("not-a-session"), follow_redirects=False)
        assert forged.status_code == 303


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_session_past_its_end_is_not_answered_from_memory(
    app: FastAPI, two: Two, monkeypatch: pytest.MonkeyPatch
) -> None:
    aaron, _jose, _token = two
    _fixed_snapshot(app)
    assert aaron.get("/team").status_code == 200
    later = accounts.utcnow() + dt.timedelta(days=1000)  # past any session's end
    monkeypatch.setattr(accounts, "utcnow", lambda: later)
    monkeypatch.setattr(week_pages, "utcnow", lambda: later)
    ended = aaron.get("/team", follow_redirects=False)
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")


def test_concurrent_misses_under_one_snapshot_share_one_read() -> None:
    async def main() -> None:
        kept = SnapshotCache()
        started = 0
        release = asyncio.Event()

        async def read() -> str:
            nonlocal started
            started += 1
            await release.wait()
            return f"answer {started}"

        waiting = [asyncio.create_task(kept.shared("k", "1:1:", read)) for _ in range(5)]
        await asyncio.sleep(0.01)
        assert started == 1
        release.set()
        assert [await t for t in waiting] == ["answer 1"] * 5
        assert await kept.shared("k", "1:1:", read) == "answer 1"  # kept
        assert await kept.shared("k", "1:2:", read) == "answer 2"  # a write ended since
        assert await kept.shared("k", None, read) == "answer 3"  # no snapshot: never kept
        assert await kept.shared("k", None, read) == "answer 4"
        assert kept.reads == 2

    asyncio.run(asyncio.wait_for(main(), 10))


def test_a_failed_shared_read_fails_its_waiters_and_a_cancelled_one_passes_the_turn() -> None:
    async def main() -> None:
        kept = SnapshotCache()
        release = asyncio.Event()
        calls: list[str] = []

        async def failing() -> str:
            calls.append("failing")
            await release.wait()
            raise RuntimeError("the statement failed")

        tasks = [asyncio.create_task(kept.shared("k", "1:1:", failing)) for _ in range(3)]
        await asyncio.sleep(0.01)
        release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results) and calls == ["failing"]

        # The request reading goes away: one of those waiting reads instead.
        hold = asyncio.Event()

        async def slow() -> str:
            calls.append("slow")
            await hold.wait()
            return "late"

        async def quick() -> str:
            calls.append("quick")
            return "answer"

        leader = asyncio.create_task(kept.shared("k", "1:1:", slow))
        await asyncio.sleep(0.01)
        follower = asyncio.create_task(kept.shared("k", "1:1:", quick))
        await asyncio.sleep(0.01)
        leader.cancel()
        assert await follower == "answer"
        assert calls[1:] == ["slow", "quick"]
        with pytest.raises(asyncio.CancelledError):
            await leader

    asyncio.run(asyncio.wait_for(main(), 10))


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_kept_page_links_the_calendar_at_the_host_each_request_named(
    app: FastAPI, world: dict[str, int], two: Two
) -> None:
    aaron, _jose, token = two
    made = aaron.post("/api/me/calendars", json={"team_id": world["team_tennaqua_12"]})
    path = made.json()["url"].removeprefix("http://testserver")
    _fixed_snapshot(app)
    for _ in range(2):
        for host in ("http://rally.example", "https://phone.example"):
            page = aaron.get(f"{host}/team", headers=bearer(token)).text
            assert f'value="{host}{path}"' in page
