"""The JSON API contract: every endpoint, its errors, CSRF and sign-in throttling."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from web_helpers import PASSWORD, bearer, new_email, register

CONTRACT = {
    ("post", "/api/register"),
    ("post", "/api/login"),
    ("post", "/api/logout"),
    ("get", "/api/me"),
    ("get", "/api/me/suggestions"),
    ("post", "/api/me/claims"),
    ("get", "/api/me/teams"),
    ("put", "/api/me/context"),
    ("get", "/api/me/context"),
    ("get", "/api/leagues"),
    ("get", "/api/leagues/{league_key}/series"),
    ("get", "/api/series/{series_id}/standings"),
    ("get", "/api/teams/{team_id}"),
    ("get", "/healthz"),
}


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    message = body["error"]
    assert isinstance(message, str) and message.endswith(".") and "Traceback" not in message
    return str(message)


def test_health_and_openapi_document_the_contract(shared_client: TestClient) -> None:
    assert shared_client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    spec = shared_client.get("/openapi.json").json()
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert documented >= CONTRACT
    assert not any(p.startswith(("/login", "/claim", "/teams")) for p in spec["paths"])


def test_register_login_me_logout(client: TestClient, engine: sa.Engine) -> None:
    email = new_email()
    reg = register(client, email=email.upper())
    assert reg["user"]["email"] == email
    cookie = client.cookies.get("rally_session")
    assert cookie == reg["token"]
    me = client.get("/api/me").json()  # by cookie
    assert me["user"]["first_name"] == "Aaron" and me["claims"] == [] and me["context"] is None

    anonymous = TestClient(client.app)
    wrong = anonymous.post("/api/login", json={"email": email, "password": "not it!!"})
    assert "incorrect" in _error(wrong, 401)
    login = anonymous.post("/api/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    set_cookie = login.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    token = login.json()["token"]
    assert anonymous.get("/api/me", headers=bearer(token)).json()["user"]["email"] == email
    with engine.connect() as conn:
        hashes = conn.execute(sa.text("SELECT token_hash FROM user_sessions")).scalars().all()
        failures = conn.execute(sa.text("SELECT count(*) FROM login_attempts")).scalar()
        stored = conn.execute(sa.text("SELECT password_hash FROM users")).scalar()
    assert len(hashes) == 2 and token not in hashes and reg["token"] not in hashes
    assert failures == 0  # cleared by the successful sign-in
    assert str(stored).startswith("$argon2id$")

    assert client.post("/api/logout", headers=bearer(token)).status_code == 204
    assert "Sign in" in _error(client.get("/api/me", headers=bearer(token)), 401)
    assert client.get("/api/me").status_code == 200  # the cookie session is another session
    assert client.post("/api/logout", json={}).status_code == 204
    _error(client.get("/api/me"), 401)
    _error(client.post("/api/logout", json={}), 401)


def test_register_refuses_duplicates_and_bad_details(client: TestClient) -> None:
    email = new_email()
    register(client, email=email)
    again = {"email": email, "password": PASSWORD, "first_name": "A", "last_name": "B"}
    assert "already exists" in _error(client.post("/api/register", json=again), 409)
    bad_email = {**again, "email": "not-an-email"}
    assert "valid email" in _error(client.post("/api/register", json=bad_email), 422)
    short = {**again, "email": new_email(), "password": "short"}
    assert "'password'" in _error(client.post("/api/register", json=short), 422)
    partial = {**again, "email": new_email(), "league": "APTA_CHICAGO"}
    assert "together" in _error(client.post("/api/register", json=partial), 422)
    unknown = {**again, "email": new_email(), "league": "NOPE", "club": "x", "series": "y"}
    assert "NOPE" in _error(client.post("/api/register", json=unknown), 404)
    assert (
        client.post(
            "/api/login", json={"email": unknown["email"], "password": PASSWORD}
        ).status_code
        == 401
    )


def test_register_with_claim_links_records_and_legacy_association(
    client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    reg = register(client, league="APTA_CHICAGO", club="tennaqua", series="Series 12")
    claim = reg["claim"]
    assert claim["status"] == "linked"
    assert claim["claimed"]["player_id"] == world["player_aaron_apta"]
    assert claim["claimed"]["team"] == "Tennaqua 12"
    uid = reg["user"]["id"]
    with engine.connect() as conn:
        claims = conn.execute(sa.text("SELECT user_id, player_id FROM player_claims")).all()
        legacy = conn.execute(
            sa.text(
                "SELECT user_id, tenniscores_player_id, is_primary FROM user_player_associations"
            )
        ).all()
        context = conn.execute(
            sa.text("SELECT team_id, series_id, league_id FROM user_contexts WHERE user_id = :u"),
            {"u": uid},
        ).one()
    assert claims == [(uid, world["player_aaron_apta"])]
    assert [(u, t, bool(p)) for u, t, p in legacy] == [(uid, "apta-aw", True)]
    assert tuple(context) == (
        world["team_tennaqua_12"],
        world["series_apta_s12"],
        world["league_APTA"],
    )
    context_api = client.get("/api/me/context").json()["context"]
    assert context_api["team"] == "Tennaqua 12" and context_api["series"] == "Series 12"


def test_claimed_record_is_never_taken_over(
    app: Any, engine: sa.Engine, world: dict[str, int]
) -> None:
    first, second = TestClient(app), TestClient(app)
    register(first, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    intruder = register(second, email=new_email())
    refused = second.post("/api/me/claims", json={"player_id": world["player_aaron_apta"]})
    assert "already claimed" in _error(refused, 409)
    search = second.post(
        "/api/me/claims/search",
        json={"league": "APTA_CHICAGO", "club": "Tennaqua", "series": "Series 12"},
    )
    assert "already claimed" in _error(search, 409)
    late = register(TestClient(app), league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    assert late["claim"]["status"] == "none" and "already claimed" in late["claim"]["message"]
    with engine.connect() as conn:
        owners = conn.execute(sa.text("SELECT user_id FROM player_claims")).scalars().all()
    assert len(owners) == 1 and owners[0] != intruder["user"]["id"]


def _search(client: TestClient, **body: str) -> dict[str, Any]:
    response = client.post("/api/me/claims/search", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_claim_matching_rules(app: Any, world: dict[str, int], engine: sa.Engine) -> None:
    c = TestClient(app)
    register(c, first_name="Someone", last_name="Else")
    apta12 = {"league": "APTA_CHICAGO", "club": "Wilmette", "series": "Series 12"}
    folded = _search(c, **apta12, first_name="jose ", last_name=" NUNEZ")
    assert folded["status"] == "linked"
    assert folded["claimed"]["player_id"] == world["player_jose"]

    c2 = TestClient(app)
    register(c2, first_name="Bob", last_name="Smith")
    nick = _search(c2, **apta12)
    assert nick["status"] == "linked" and nick["claimed"]["player_id"] == world["player_robert"]

    c3 = TestClient(app)
    register(c3, first_name="Jimmy", last_name="Walsh")
    tennaqua12 = {**apta12, "club": "Tennaqua"}
    several = _search(c3, **tennaqua12)
    assert several["status"] == "choose"
    assert {r["player_id"] for r in several["candidates"]} == {
        world["player_james"],
        world["player_jim"],
    }
    assert all(
        r["team"] == "Tennaqua 12" and r["series"] == "Series 12" for r in several["candidates"]
    )
    exact = _search(c3, **tennaqua12, first_name="Jim")
    assert exact["claimed"]["player_id"] == world["player_jim"]

    c4 = TestClient(app)
    register(c4, first_name="Mary", last_name="Walsh")
    none = _search(c4, **tennaqua12)
    assert none["status"] == "none" and "No player named Mary Walsh" in none["message"]
    assert none["candidates"] and none["claimed"] is None
    # Same last name and club is never enough.
    assert world["player_ann"] in {r["player_id"] for r in none["candidates"]}
    twins = _search(
        c4,
        league="APTA_CHICAGO",
        club="Tennaqua",
        series="Series 1",
        first_name="Chris",
        last_name="Lee",
    )
    assert twins["status"] == "choose" and len(twins["candidates"]) == 2
    _error(c4.post("/api/me/claims/search", json={**tennaqua12, "club": "Nowhere"}), 404)
    _error(c4.post("/api/me/claims/search", json={**tennaqua12, "series": "Series 99"}), 404)
    with engine.connect() as conn:
        claimed = set(conn.execute(sa.text("SELECT player_id FROM player_claims")).scalars())
    assert claimed == {world["player_jose"], world["player_robert"], world["player_jim"]}


def test_suggestions_are_offered_not_linked(
    client: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    offered = client.get("/api/me/suggestions").json()
    assert [(r["player_id"], r["league"], r["club"], r["series"], r["team"]) for r in offered] == [
        (world["player_aaron_s1"], "NSTF", "Midtown", "Series 1", "Midtown S1"),
        (world["player_aaron_s2a"], "NSTF", "Midtown", "Series 2A", "Midtown S2A"),
    ]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM player_claims")).scalar() == 1
    first = client.post("/api/me/claims", json={"player_id": world["player_aaron_s1"]})
    assert first.status_code == 201 and first.json()["team"] == "Midtown S1"
    # After one NSTF claim, the other NSTF row is still offered: it shares the player id.
    assert [r["player_id"] for r in client.get("/api/me/suggestions").json()] == [
        world["player_aaron_s2a"]
    ]
    assert (
        client.post("/api/me/claims", json={"player_id": world["player_aaron_s2a"]}).status_code
        == 201
    )
    again = client.post("/api/me/claims", json={"player_id": world["player_aaron_s2a"]})
    assert again.status_code == 201  # idempotent for the owner
    assert client.get("/api/me/suggestions").json() == []
    teams = client.get("/api/me/teams").json()
    assert [(t["league"], t["team"], t["series"]) for t in teams] == [
        ("APTA_CHICAGO", "Tennaqua 12", "Series 12"),
        ("NSTF", "Midtown S1", "Series 1"),
        ("NSTF", "Midtown S2A", "Series 2A"),
    ]
    assert [t["current"] for t in teams] == [True, False, False]
    mine = client.get("/api/me/claims").json()
    assert len(mine) == 3
    with engine.connect() as conn:
        legacy = (
            conn.execute(
                sa.text("SELECT tenniscores_player_id FROM user_player_associations ORDER BY 1")
            )
            .scalars()
            .all()
        )
    assert legacy == ["apta-aw", "nstf-aw"]


def test_a_typo_in_the_account_name_can_pick_from_the_closest(
    client: TestClient, world: dict[str, int]
) -> None:
    register(client, first_name="Aron", last_name="Walsh")
    search = client.post(
        "/api/me/claims/search",
        json={"league": "APTA_CHICAGO", "club": "Tennaqua", "series": "Series 12"},
    ).json()
    assert search["status"] == "none"
    assert search["candidates"][0]["player_id"] == world["player_aaron_apta"]
    picked = client.post("/api/me/claims", json={"player_id": world["player_aaron_apta"]})
    assert picked.status_code == 201
    # A namesake's relative in the same club is not a typo away.
    assert client.post("/api/me/claims", json={"player_id": world["player_ann"]}).status_code == 403


def test_claiming_someone_elses_name_is_forbidden(
    client: TestClient, world: dict[str, int]
) -> None:
    register(client)
    refused = client.post("/api/me/claims", json={"player_id": world["player_pat"]})
    assert "your own" in _error(refused, 403)
    assert "no player record" in _error(
        client.post("/api/me/claims", json={"player_id": 999999}), 404
    )


def test_switch_team_context(client: TestClient, engine: sa.Engine, world: dict[str, int]) -> None:
    reg = register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")
    client.post("/api/me/claims", json={"player_id": world["player_aaron_s1"]})
    switched = client.put("/api/me/context", json={"team_id": world["team_midtown_s1"]})
    assert switched.status_code == 200, switched.text
    context = switched.json()["context"]
    assert (context["league"], context["team"], context["series"]) == (
        "NSTF",
        "Midtown S1",
        "Series 1",
    )
    assert context["series_id"] == world["series_nstf_s1"] != world["series_apta_s1"]
    assert client.get("/api/me/context").json()["context"] == context
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT league_id, team_id, series_id FROM user_contexts WHERE user_id = :u"),
            {"u": reg["user"]["id"]},
        ).one()
    assert tuple(row) == (world["league_NSTF"], world["team_midtown_s1"], world["series_nstf_s1"])
    standings = client.get(f"/api/series/{context['series_id']}/standings").json()
    assert standings["league"] == "NSTF"
    assert [r["team"] for r in standings["rows"]] == ["Wilmette S1 T1", "Midtown S1"]

    foreign = client.put("/api/me/context", json={"team_id": world["team_wilmette_12"]})
    assert "not a team of a player record you claimed" in _error(foreign, 403)
    _error(client.put("/api/me/context", json={"team_id": 987654}), 404)
    _error(client.put("/api/me/context", json={"team_id": "abc"}), 422)
    assert client.get("/api/me/context").json()["context"]["team"] == "Midtown S1"


def test_browse_leagues_series_standings_and_teams(
    shared_client: TestClient, shared_app: tuple[Any, dict[str, int]]
) -> None:
    client, world = shared_client, shared_app[1]
    leagues = client.get("/api/leagues").json()
    assert [(lg["league"], lg["series_count"]) for lg in leagues] == [
        ("APTA_CHICAGO", 3),
        ("NSTF", 2),
    ]
    series = client.get("/api/leagues/nstf/series").json()
    assert [(s["name"], s["league"], s["team_count"]) for s in series] == [
        ("Series 1", "NSTF", 2),
        ("Series 2A", "NSTF", 2),
    ]
    assert client.get("/api/leagues/NSTF/clubs").json() == ["Midtown", "Tennaqua", "Wilmette"]
    assert "NOPE" in _error(client.get("/api/leagues/NOPE/series"), 404)
    _error(client.get("/api/leagues/NOPE/clubs"), 404)

    table = client.get(f"/api/series/{world['series_apta_s12']}/standings").json()
    assert [(r["position"], r["team"], r["points"]) for r in table["rows"]] == [
        (1, "Wilmette 12", 30),
        (2, "Tennaqua 12", 20),
    ]
    row = table["rows"][0]
    assert (row["matches_won"], row["matches_lost"], row["matches_tied"]) == (3, 1, 0)
    assert {"lines_won", "sets_won", "games_won", "games_lost"} <= set(row)
    empty = client.get(f"/api/series/{world['series_apta_s2']}/standings").json()
    assert empty["rows"] == [] and empty["series"] == "Series 2"
    teams = client.get(f"/api/series/{world['series_apta_s1']}/teams").json()
    assert [t["team"] for t in teams] == ["Tennaqua 1", "Wilmette 1"]
    _error(client.get("/api/series/424242/standings"), 404)
    _error(client.get("/api/series/424242/teams"), 404)
    _error(client.get("/api/series/0/standings"), 422)

    team = client.get(f"/api/teams/{world['team_tennaqua_12']}").json()
    assert (team["league"], team["series"], team["club"]) == (
        "APTA_CHICAGO",
        "Series 12",
        "Tennaqua",
    )
    roster = {f"{p['first_name']} {p['last_name']}": p for p in team["roster"]}
    assert set(roster) == {"Aaron Walsh", "James Walsh", "Jim Walsh", "Ann Walsh"}
    aaron = roster["Aaron Walsh"]
    assert (aaron["pti"], aaron["wins"], aaron["losses"], aaron["captain"]) == (37.6, 1, 1, True)
    fixtures = team["upcoming"] + team["past"]
    assert [(f["opponent"], f["home"]) for f in fixtures] == [("Wilmette 12", True)]
    (match,) = team["results"]
    assert (match["opponent"], match["lines_won"], match["lines_lost"]) == ("Wilmette 12", 1, 1)
    assert [(ln["line"], ln["result"]) for ln in match["lines"]] == [
        ("Line 1", "won"),
        ("Line 2", "lost"),
    ]
    assert match["lines"][0]["opponents"] == ["Robert Smith", "José Núñez"]
    _error(client.get("/api/teams/999999"), 404)
    _error(client.get("/api/teams/99999999999"), 422)
    _error(client.get("/api/nothing-here"), 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/me", None),
        ("get", "/api/me/suggestions", None),
        ("get", "/api/me/claims", None),
        ("get", "/api/me/teams", None),
        ("get", "/api/me/context", None),
        ("post", "/api/me/claims", {"player_id": 1}),
        (
            "post",
            "/api/me/claims/search",
            {"league": "NSTF", "club": "Midtown", "series": "Series 1"},
        ),
        ("put", "/api/me/context", {"team_id": 1}),
        ("post", "/api/logout", {}),
    ],
)
def test_unauthenticated_requests_get_401(
    shared_client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = shared_client.request(method, path, json=body)
    assert "Sign in" in _error(response, 401) or "not signed in" in response.json()["error"]
    bogus = shared_client.request(method, path, json=body, headers=bearer("not-a-token"))
    _error(bogus, 401)


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/api/register", {"password": PASSWORD, "first_name": "A", "last_name": "B"}, "'email'"),
        (
            "/api/register",
            {"email": "a@b.co", "password": PASSWORD, "first_name": "", "last_name": "B"},
            "'first_name'",
        ),
        (
            "/api/register",
            {"email": "a@b.co", "password": PASSWORD, "first_name": "A\x00", "last_name": "B"},
            "'first_name'",
        ),
        (
            "/api/register",
            {"email": "a@b.co", "password": PASSWORD, "first_name": "A", "last_name": "B" * 500},
            "'last_name'",
        ),
        ("/api/register", [1, 2], "body"),
        ("/api/login", {"email": "a@b.co"}, "'password'"),
        ("/api/login", {"email": 5, "password": "x"}, "'email'"),
        ("/api/me/claims", {"player_id": "one"}, "'player_id'"),
        ("/api/me/claims", {"player_id": 2**40}, "'player_id'"),
        ("/api/me/claims", {}, "'player_id'"),
    ],
)
def test_malformed_bodies_get_422_naming_the_field(
    shared_client: TestClient, path: str, payload: Any, field: str
) -> None:
    token = register(shared_client)["token"]
    message = _error(shared_client.post(path, json=payload, headers=bearer(token)), 422)
    assert field in message


def test_invalid_json_gets_422(shared_client: TestClient) -> None:
    response = shared_client.post(
        "/api/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert _error(response, 422) == "The request body is not valid JSON."


def test_csrf_protection_of_cookie_sessions(client: TestClient, world: dict[str, int]) -> None:
    token = register(client, league="APTA_CHICAGO", club="Tennaqua", series="Series 12")["token"]
    team = world["team_tennaqua_12"]
    # A cross-site HTML form can only send form or text bodies: refused before anything runs.
    form = client.put("/api/me/context", data={"team_id": str(team)})
    assert "Content-Type: application/json" in _error(form, 403)
    text = client.post("/api/logout", content=b"", headers={"Content-Type": "text/plain"})
    _error(text, 403)
    evil = client.put(
        "/api/me/context", json={"team_id": team}, headers={"Origin": "https://evil.example"}
    )
    assert "evil.example" in _error(evil, 403)
    cross = client.put(
        "/api/me/context", json={"team_id": team}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    _error(cross, 403)
    same = client.put(
        "/api/me/context", json={"team_id": team}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 200
    assert client.get("/api/me").status_code == 200  # still signed in
    # Bearer tokens are not sent by browsers on their own: no JSON requirement for them.
    assert client.post("/api/logout", headers=bearer(token)).status_code == 204


def _more_failures(app: Any, email: str, count: int) -> None:
    # Failures made just now (faster than through HTTP, where each costs a password check).
    with app.state.engine.begin() as conn:
        for _ in range(count):
            conn.execute(
                sa.text(
                    "INSERT INTO login_attempts (email, client, attempted_at) "
                    "VALUES (:e, 'testclient', :t)"
                ),
                {"e": email, "t": dt.datetime.now(dt.UTC)},
            )


def test_failed_sign_ins_bring_growing_delays_not_a_lock(shared_client: TestClient) -> None:
    email = new_email()
    usual = ("192.0.2.200", 50000)
    register(TestClient(shared_client.app, client=usual), email=email)
    for _ in range(5):
        _error(
            shared_client.post("/api/login", json={"email": email, "password": "wrong pass"}), 401
        )
    _more_failures(shared_client.app, email, 3)  # 8 failures: the next try waits 2**3 s
    blocked = shared_client.post("/api/login", json={"email": email, "password": PASSWORD})
    message = _error(blocked, 429)
    assert "Too many failed sign-ins" in message
    assert 1 <= int(blocked.headers["Retry-After"]) <= 8
    with shared_client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        attempts = conn.execute(
            sa.text("SELECT count(*) FROM login_attempts WHERE email = :e"), {"e": email}
        ).scalar()
    assert attempts == 8  # the refused try did not count
    # The owner, from the address of their live session, is not delayed by others' failures.
    owner = TestClient(shared_client.app, client=usual)
    assert owner.post("/api/login", json={"email": email, "password": PASSWORD}).status_code == 200
    other = new_email()
    register(TestClient(shared_client.app), email=other)
    assert (
        shared_client.post("/api/login", json={"email": other, "password": PASSWORD}).status_code
        == 200
    )


def test_concurrent_claims_of_one_record_let_exactly_one_win(
    app: Any, engine: sa.Engine, world: dict[str, int]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    clients = [TestClient(app) for _ in range(4)]
    for c in clients:
        register(c)
    target = {"player_id": world["player_aaron_apta"]}
    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(
            pool.map(lambda c: c.post("/api/me/claims", json=target).status_code, clients)
        )
    assert statuses == [201, 409, 409, 409]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM player_claims")).scalar() == 1
