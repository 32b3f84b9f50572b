"""The weekly team page's API: next match, availability with its rights, calendar feeds."""

from __future__ import annotations

from typing import Any

import icalendar
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_helpers import register
from week_fixtures import TODAY, add_week


@pytest.fixture
def week(app: FastAPI, engine: sa.Engine, world: dict[str, int]) -> dict[str, int]:
    """The seeded world with the weekly fixtures, the app's clock fixed at TODAY."""
    app.state.today = lambda: TODAY
    return add_week(engine, world)


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert isinstance(message, str) and message.endswith(".")
    return str(message)


def _aaron(client: TestClient, world: dict[str, int], *, nstf: bool = True) -> dict[str, Any]:
    """Aaron Walsh: Tennaqua 12 (APTA, captain there) and, when `nstf`, Midtown S1 (NSTF)."""
    reg = register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    assert reg["claim"]["status"] == "linked"
    if nstf:
        claimed = client.post("/api/me/claims", json={"player_id": world["player_aaron_s1"]})
        assert claimed.status_code == 201, claimed.text
    return reg


def _answer(client: TestClient, player: int, match: int, status: str, note: str = "") -> Any:
    return client.put(
        f"/api/players/{player}/availability/{match}", json={"status": status, "note": note}
    )


def test_team_page_next_match_upcoming_past_and_counts(
    client: TestClient, world: dict[str, int], week: dict[str, int]
) -> None:
    team = client.get(f"/api/teams/{world['team_tennaqua_12']}").json()
    assert team["today"] == "2025-01-10"
    nxt = team["next_match"]
    assert (nxt["date"], nxt["weekday"], nxt["time"]) == ("2025-01-14", "Tuesday", "18:30:00")
    assert (nxt["opponent"], nxt["home"], nxt["location"]) == ("Wilmette 12", True, "Tennaqua")
    # Ann's legacy answer of that day counts; the three others have not answered.
    assert nxt["counts"] == {"available": 1, "unavailable": 0, "unsure": 0, "unanswered": 3}
    assert [m["date"] for m in team["upcoming"]] == ["2025-01-14", "2025-01-21"]
    assert [(m["date"], m["home"], m["opponent"]) for m in team["past"]] == [
        ("2025-01-07", False, "Wilmette 12")
    ]
    assert team["upcoming"][1]["counts"]["unanswered"] == 4
    (result,) = team["results"]
    assert (result["date"], result["lines_won"], result["lines_lost"]) == ("2025-01-07", 1, 1)
    assert result["lines"][0]["players"] == ["Aaron Walsh", "James Walsh"]
    assert team["results_total"] == 1 and team["empty"] == {}
    assert {p["first_name"] for p in team["roster"]} == {"Aaron", "James", "Jim", "Ann"}


def test_empty_sections_say_why(
    client: TestClient, world: dict[str, int], week: dict[str, int]
) -> None:
    team = client.get(f"/api/teams/{world['team_tennaqua_2']}").json()
    assert team["next_match"] is None and team["upcoming"] == [] and team["roster"] == []
    assert team["empty"] == {
        "upcoming": "APTA Chicago has published no schedule for Tennaqua 2.",
        "results": "APTA Chicago has published no results for Tennaqua 2 yet.",
        "roster": "APTA Chicago has published no roster for Tennaqua 2.",
    }
    page = client.get(f"/teams/{world['team_tennaqua_2']}")
    assert page.status_code == 200
    assert "APTA Chicago has published no schedule for Tennaqua 2." in page.text
    _error(client.get("/api/teams/999999"), 404)
    _error(client.get("/api/teams/0"), 422)


def test_availability_per_team_with_captain_rights(
    client: TestClient, world: dict[str, int], week: dict[str, int], engine: sa.Engine
) -> None:
    _aaron(client, world)
    aaron_apta, aaron_nstf = world["player_aaron_apta"], world["player_aaron_s1"]
    ok = _answer(client, aaron_apta, week["apta_next"], "unavailable", "work trip")
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "player_id": aaron_apta,
        "schedule_id": week["apta_next"],
        "date": "2025-01-14",
        "status": "unavailable",
        "note": "work trip",
    }
    # A captain answers for a teammate; a second answer replaces the first.
    assert _answer(client, world["player_james"], week["apta_next"], "unsure").status_code == 200
    assert _answer(client, world["player_james"], week["apta_next"], "available").status_code == 200
    grid = client.get(f"/api/teams/{world['team_tennaqua_12']}/availability").json()
    assert grid["captain"] is True and grid["mine"] == [aaron_apta]
    assert [m["date"] for m in grid["matches"]] == ["2025-01-14", "2025-01-21"]
    first = grid["matches"][0]["counts"]
    assert first == {"available": 2, "unavailable": 1, "unsure": 0, "unanswered": 1}
    rows = {r["name"]: r for r in grid["players"]}
    assert rows["Aaron Walsh"]["answers"][0] == {"status": "unavailable", "note": "work trip"}
    assert rows["Ann Walsh"]["answers"][0] == {"status": "available", "note": "legacy"}
    assert all(r["editable"] for r in grid["players"])
    # Same person, same day, other team: nothing answered there.
    nstf = client.get(f"/api/teams/{world['team_midtown_s1']}/availability").json()
    me = next(r for r in nstf["players"] if r["player_id"] == aaron_nstf)
    assert me["answers"][0] is None and nstf["captain"] is False
    assert nstf["matches"][0]["counts"]["unanswered"] == len(nstf["players"])
    team = client.get(f"/api/teams/{world['team_midtown_s1']}").json()
    assert team["next_match"]["counts"]["unavailable"] == 0
    # Not a captain on NSTF: only for himself there.
    refused = _answer(client, week["player_sam"], week["nstf_next"], "available")
    assert "captain of Midtown S1" in _error(refused, 403)
    other_team = _answer(client, world["player_pat"], week["nstf_next"], "available")
    assert "not a team of a player record you claimed" in _error(other_team, 403)
    assert _answer(client, aaron_nstf, week["nstf_next"], "available").status_code == 200
    # Captain answering for Ann adopts her legacy row instead of adding a second one.
    assert _answer(client, world["player_ann"], week["apta_next"], "unsure").status_code == 200
    with engine.connect() as conn:
        ann = conn.execute(
            sa.text(
                "SELECT schedule_id, availability_status FROM player_availability "
                "WHERE player_id = :p"
            ),
            {"p": world["player_ann"]},
        ).all()
    assert [tuple(r) for r in ann] == [(week["apta_next"], 3)]

    _error(_answer(client, aaron_apta, week["nstf_next"], "available"), 404)  # other team's match
    _error(_answer(client, aaron_apta, week["apta_past"], "available"), 422)  # already played
    _error(_answer(client, 999999, week["apta_next"], "available"), 404)
    assert "status" in _error(_answer(client, aaron_apta, week["apta_next"], "maybe"), 422)
    _error(client.get(f"/api/teams/{world['team_wilmette_12']}/availability"), 403)
    _error(client.get("/api/teams/999999/availability"), 404)
    _error(TestClient(client.app).get(f"/api/teams/{world['team_tennaqua_12']}/availability"), 401)


def test_teammate_who_is_not_captain_answers_only_for_himself(
    client: TestClient, world: dict[str, int], week: dict[str, int]
) -> None:
    register(
        client,
        first_name="James",
        last_name="Walsh",
        league="APTA_CHICAGO",
        club="Tennaqua",
        series="Series 12",
    )
    mine = _answer(client, world["player_james"], week["apta_next"], "available")
    assert mine.status_code == 200, mine.text
    message = _error(_answer(client, world["player_aaron_apta"], week["apta_next"], "unsure"), 403)
    assert "Aaron Walsh" in message
    grid = client.get(f"/api/teams/{world['team_tennaqua_12']}/availability").json()
    assert [r["name"] for r in grid["players"] if r["editable"]] == ["James Walsh"]


def _delete(client: TestClient, feed_id: int) -> Any:
    # Cookie clients send JSON on every state-changing API call (the CSRF rule).
    return client.request("DELETE", f"/api/me/calendars/{feed_id}", json={})


def _events(body: bytes) -> list[Any]:
    cal = icalendar.Calendar.from_ical(body)
    return list(cal.walk("VEVENT"))


def test_calendar_feeds_stable_uids_moves_and_revocation(
    client: TestClient, world: dict[str, int], week: dict[str, int], engine: sa.Engine
) -> None:
    _aaron(client, world)
    made = client.post("/api/me/calendars", json={"team_id": world["team_tennaqua_12"]})
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["team"] == "Tennaqua 12" and feed["url"].endswith(".ics")
    again = client.post("/api/me/calendars", json={"team_id": world["team_tennaqua_12"]})
    assert again.json()["url"] == feed["url"]  # the live link, not a second one
    path = feed["url"].removeprefix("http://testserver")
    anonymous = TestClient(client.app)
    got = anonymous.get(path)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/calendar")
    events = _events(got.content)
    assert len(events) == 3
    nxt = next(e for e in events if str(e["location"]) == "Tennaqua")
    start = nxt.decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (18, 30, "America/Chicago")
    assert str(nxt["summary"]) == "Tennaqua 12 vs Wilmette 12"
    uids = sorted(str(e["uid"]) for e in events)
    assert sorted(str(e["uid"]) for e in _events(anonymous.get(path).content)) == uids

    # A re-import that moves a match updates its row: same UID, new date.
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE schedule SET match_date = :d WHERE id = :i"),
            {"d": "2025-01-16", "i": week["apta_next"]},
        )
    moved = {str(e["uid"]): e for e in _events(anonymous.get(path).content)}
    assert sorted(moved) == uids
    assert (
        moved[f"match-{week['apta_next']}-team-{world['team_tennaqua_12']}@rally"]
        .decoded("dtstart")
        .day
        == 16
    )

    everything = client.post("/api/me/calendars", json={})
    assert everything.status_code == 201 and everything.json()["team_id"] is None
    all_events = _events(
        anonymous.get(everything.json()["url"].removeprefix("http://testserver")).content
    )
    summaries = {str(e["summary"]) for e in all_events}
    assert "Midtown S1 vs Wilmette S1 T1" in summaries and len(all_events) == 5
    allday = next(e for e in all_events if str(e["summary"]) == "Midtown S1 at Wilmette S1 T1")
    assert str(allday.decoded("dtstart")) == "2025-01-28"
    listed = client.get("/api/me/calendars").json()
    assert len(listed) == 2

    # Someone else cannot revoke it, nor make a feed of a team not theirs.
    other = TestClient(client.app)
    register(other, first_name="Pat", last_name="Doe")
    _error(_delete(other, feed["feed_id"]), 404)
    _error(other.post("/api/me/calendars", json={"team_id": world["team_tennaqua_12"]}), 403)
    _error(other.post("/api/me/calendars", json={"team_id": 999999}), 404)
    assert _delete(client, feed["feed_id"]).status_code == 204
    assert anonymous.get(path).status_code == 404
    _error(_delete(client, feed["feed_id"]), 404)
    forged = path[: -len(".ics") - 1] + ("0" if path[-5] != "0" else "1") + ".ics"
    assert anonymous.get(forged).status_code == 404
    assert anonymous.get("/calendar/not-a-token.ics").status_code in (404, 422)
