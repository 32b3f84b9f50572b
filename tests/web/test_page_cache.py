"""Pages rendered once per database answer (rally.web.page_cache), on both backends."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import register


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _kept(app: FastAPI) -> int:
    """Pages answered from a cache: by their rows (PageCache) or their snapshot."""
    return int(app.state.page_cache.hits + app.state.snapshot_cache.hits)


def test_a_page_is_rendered_again_when_the_database_answers_differently(
    app: FastAPI, client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    cache = app.state.page_cache
    path = f"/players/{world['player_aaron_apta']}"
    first = client.get(path)
    renders, kept = cache.misses, _kept(app)
    again = client.get(path)
    assert again.text == first.text
    # Not rendered again: answered by one of the two caches (PostgreSQL: by the snapshot's
    # unless another transaction ended meanwhile, then by the rows').
    assert (cache.misses, _kept(app)) == (renders, kept + 1)
    assert "No PTI history recorded yet" in again.text

    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO player_history (player_id, league_id, series, date, end_pti) "
                "VALUES (:p, :l, 'Series 12', '2024-09-01', 40.0)"
            ),
            {"p": world["player_aaron_apta"], "l": world["league_APTA"]},
        )
    changed = client.get(path)
    assert cache.misses == renders + 1
    assert "No PTI history recorded yet" not in changed.text
    assert "PTI of Aaron Walsh over time" in changed.text


def test_a_cached_page_carries_each_viewers_own_form_token_and_menu(
    app: FastAPI, world: dict[str, int]
) -> None:
    path = f"/series/{world['series_apta_s12']}"
    with TestClient(app) as alice, TestClient(app) as bob, TestClient(app) as visitor:
        register(alice, first_name="Alice", last_name="Able")
        register(bob, first_name="Bob", last_name="Baker")
        pages = [c.get(path) for c in (alice, bob, visitor)]
        assert all(p.status_code == 200 for p in pages)
        tokens = [_csrf(p.text) for p in pages[:2]]
        assert tokens[0] != tokens[1]
        # Each token is the one its own browser's form posts are checked against.
        for client, token in zip((alice, bob), tokens, strict=True):
            out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
            assert out.status_code == 303
        assert "Sign out" in pages[0].text and "Sign out" in pages[1].text
        assert "Sign out" not in pages[2].text and "Sign in" in pages[2].text
        # The signed-in and the visitor's pages differ only in their menus.
        assert pages[0].text.replace(tokens[0], "") == pages[1].text.replace(tokens[1], "")


def test_the_team_page_follows_the_teams_json(
    app: FastAPI, client: TestClient, engine: sa.Engine, world: dict[str, Any]
) -> None:
    path = f"/teams/{world['team_tennaqua_12']}"
    before = client.get(path)
    assert before.status_code == 200
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE players SET first_name = 'Zebulon' WHERE id = :p"),
            {"p": world["player_aaron_apta"]},
        )
    after = client.get(path)
    assert "Zebulon Walsh" in after.text and "Zebulon" not in before.text
