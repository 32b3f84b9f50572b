"""Player pages, search, clubs, series fixtures and charts: the services on both backends."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rally.models import MatchScore, PlayerClaim, PlayerHistory, Schedule, User
from rally.services import clubs, fixtures, players, search, standings
from rally.services.errors import ClubNotFound, LeagueNotFound, PlayerNotFound, SeriesNotFound
from rally.web.charts import bar_chart, line_chart


def _history(
    session: Session, player_id: int, league_id: int, points: list[tuple[str, str]]
) -> None:
    for day, pti in points:
        session.add(
            PlayerHistory(
                player_id=player_id,
                league_id=league_id,
                series="Series 12",
                date=dt.date.fromisoformat(day),
                end_pti=Decimal(pti),
            )
        )


def test_player_page_teams_record_history_and_matches(
    engine: sa.Engine, world: dict[str, int]
) -> None:
    with Session(engine) as s, s.begin():
        # A legacy row and two imported snapshots, one of them recorded for both rows of the
        # person (same date and value): the chart shows each point once, oldest first.
        _history(s, world["player_aaron_apta"], world["league_APTA"], [("2024-10-01", "39.1")])
        _history(s, world["player_aaron_apta"], world["league_APTA"], [("2024-09-01", "40.0")])
        _history(s, world["player_aaron_apta"], world["league_APTA"], [("2025-01-10", "37.6")])
        _history(s, world["player_aaron_apta"], world["league_APTA"], [("2025-01-10", "37.6")])
    with Session(engine) as s:
        page = players.player_page(s, player_id=world["player_aaron_apta"])
    assert (page.first_name, page.last_name, page.league_name, page.pti) == (
        "Aaron",
        "Walsh",
        "APTA Chicago",
        37.6,
    )
    assert [(t.team, t.series, t.league_name, t.wins, t.losses) for t in page.teams] == [
        ("Tennaqua 12", "Series 12", "APTA Chicago", 1, 1)
    ]
    assert [(p.date.isoformat(), p.pti) for p in page.history] == [
        ("2024-09-01", 40.0),
        ("2024-10-01", 39.1),
        ("2025-01-10", 37.6),
    ]
    assert [(m.line, m.result, m.scores) for m in page.matches] == [
        ("Line 1", "won", "6-4, 6-3"),
        ("Line 2", "lost", "3-6, 4-6"),
    ]
    first = page.matches[0]
    assert first.partner is not None and first.partner.name == "James Walsh"
    assert first.partner.player_id == world["player_james"]
    assert [o.name for o in first.opponents] == ["Robert Smith", "José Núñez"]
    assert (first.team, first.opponent) == ("Tennaqua 12", "Wilmette 12")

    # Seen from the other side of the net: the opponent's page counts the same lines reversed.
    with Session(engine) as s:
        jose = players.player_page(s, player_id=world["player_jose"])
    assert (jose.wins, jose.losses) == (1, 1)
    assert jose.matches[0].partner is not None and jose.matches[0].partner.name == "Robert Smith"
    assert jose.history == []


def test_player_page_spans_source_rows_and_claimed_leagues(
    engine: sa.Engine, world: dict[str, int]
) -> None:
    # Two rows of one source id (two NSTF teams) are one player; the APTA row of the same
    # name joins only once one account has claimed both (namesakes are never merged by name).
    with Session(engine) as s:
        nstf = players.player_page(s, player_id=world["player_aaron_s1"])
    assert [t.team for t in nstf.teams] == ["Midtown S1", "Midtown S2A"]
    assert {t.league for t in nstf.teams} == {"NSTF"}
    with Session(engine) as s, s.begin():
        user = User(email="aaron@example.com", password_hash="x")
        s.add(user)
        s.flush()
        for key, league in (("player_aaron_apta", "APTA"), ("player_aaron_s1", "NSTF")):
            s.add(
                PlayerClaim(
                    user_id=user.id, player_id=world[key], league_id=world[f"league_{league}"]
                )
            )
    with Session(engine) as s:
        both = players.player_page(s, player_id=world["player_aaron_s1"])
    assert sorted(t.team for t in both.teams) == ["Midtown S1", "Midtown S2A", "Tennaqua 12"]
    assert (both.league, both.wins, both.losses) == ("NSTF", 1, 1)
    with Session(engine) as s, pytest.raises(PlayerNotFound):
        players.player_page(s, player_id=987654)


@pytest.mark.parametrize(
    ("query", "league", "expected"),
    [
        ("Aaron Walsh", "APTA_CHICAGO", "Aaron Walsh"),  # exact
        ("aaron walsh", None, "Aaron Walsh"),  # case
        ("jose nunez", None, "José Núñez"),  # accents, in the query's absence
        ("JOSÉ NÚÑEZ", "apta_chicago", "José Núñez"),  # accents and case, league key any case
        ("Aron Walsh", "APTA_CHICAGO", "Aaron Walsh"),  # a letter missing
        ("Robert Smiht", None, "Robert Smith"),  # letters swapped
        ("Walsch", "NSTF", "Aaron Walsh"),  # a typo in the last name alone
        ("nunez", None, "José Núñez"),  # part of the name
    ],
)
def test_search_finds_names_despite_case_accents_and_typos(
    engine: sa.Engine, world: dict[str, int], query: str, league: str | None, expected: str
) -> None:
    with Session(engine) as s:
        hits = search.search_players(s, query=query, league=league)
    assert hits, f"nothing found for {query!r}"
    assert f"{hits[0].first_name} {hits[0].last_name}" == expected
    if league:
        assert {h.league for h in hits} == {league.upper()}


def test_search_tells_namesakes_apart_and_ranks_exact_first(
    engine: sa.Engine, world: dict[str, int]
) -> None:
    with Session(engine) as s:
        hits = search.search_players(s, query="Aaron Walsh")
        lee = search.search_players(s, query="chris lee", league="APTA_CHICAGO")
        nothing = search.search_players(s, query="Zzyzx Qwerty")
        blank = search.search_players(s, query="  ")
        with pytest.raises(LeagueNotFound):
            search.search_players(s, query="Walsh", league="NOPE")
    aarons = [(h.league_name, h.club, h.series, h.team) for h in hits if h.first_name == "Aaron"]
    assert sorted(aarons) == [
        ("APTA Chicago", "Tennaqua", "Series 12", "Tennaqua 12"),
        ("North Shore Tennis Foundation", "Midtown", "Series 1", "Midtown S1"),
        ("North Shore Tennis Foundation", "Midtown", "Series 2A", "Midtown S2A"),
    ]
    # Exact matches before the other Walshes (James, Jim, Ann).
    assert {h.first_name for h in hits[:3]} == {"Aaron"}
    assert hits[0].score > hits[3].score
    # Two people of one name on one team: two hits, each with its own row id.
    assert [(h.team, h.pti) for h in lee[:2]] == [("Tennaqua 1", 30.0), ("Tennaqua 1", 31.0)]
    assert lee[0].player_id != lee[1].player_id
    assert nothing == [] and blank == []


def test_search_leaves_out_players_no_longer_on_a_roster(
    engine: sa.Engine, world: dict[str, int]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE players SET is_active = false WHERE id = :id"),
            {"id": world["player_pat"]},
        )
    with Session(engine) as s:
        assert search.search_players(s, query="Pat Doe") == []


def test_club_page_lists_every_team_with_its_standing(
    engine: sa.Engine, world: dict[str, int]
) -> None:
    with Session(engine) as s:
        page = clubs.club_page(s, club_id=_club_id(s, "Tennaqua"))
        table = standings.series_standings(s, series_id=world["series_apta_s12"])
        listed = clubs.list_clubs(s)
        assert clubs.club_id_by_name(s, name=" tennaqua ") == page.club_id
        with pytest.raises(ClubNotFound):
            clubs.club_id_by_name(s, name="Nowhere")
        with pytest.raises(ClubNotFound):
            clubs.club_page(s, club_id=987654)
    assert page.name == "Tennaqua"
    rows = [
        (t.league_name, t.series, t.team, t.position, t.team_count, t.points) for t in page.teams
    ]
    assert rows == [
        ("APTA Chicago", "Series 1", "Tennaqua 1", 2, 2, 10),
        ("APTA Chicago", "Series 2", "Tennaqua 2", None, None, None),
        ("APTA Chicago", "Series 12", "Tennaqua 12", 2, 2, 20),
        ("North Shore Tennis Foundation", "Series 2A", "Tennaqua S2A", 2, 2, 5),
    ]
    # The club page's place is the standings' position.
    s12 = next(t for t in page.teams if t.team == "Tennaqua 12")
    assert next(r.position for r in table.rows if r.team_id == s12.team_id) == s12.position
    assert (s12.matches_won, s12.matches_lost, s12.matches_tied) == (2, 2, 0)
    tennaqua = next(c for c in listed if c.name == "Tennaqua")
    assert (tennaqua.team_count, tennaqua.leagues) == (
        4,
        ["APTA Chicago", "North Shore Tennis Foundation"],
    )


def _club_id(session: Session, name: str) -> int:
    return clubs.club_id_by_name(session, name=name)


def test_series_matches_join_fixtures_and_results(engine: sa.Engine, world: dict[str, int]) -> None:
    with Session(engine) as s, s.begin():
        s.add(
            Schedule(
                league_id=world["league_APTA"],
                match_date=dt.date(2025, 1, 7),
                home_team="Tennaqua 12",
                away_team="Wilmette 12",
                home_team_id=world["team_tennaqua_12"],
                away_team_id=world["team_wilmette_12"],
                location="Tennaqua",
            )
        )
        s.add(
            MatchScore(
                league_id=world["league_APTA"],
                match_date=dt.date(2025, 1, 7),
                home_team="Tennaqua 12",
                away_team="Wilmette 12",
                home_team_id=world["team_tennaqua_12"],
                away_team_id=world["team_wilmette_12"],
                winner="home",
                line="Line 3",
            )
        )
    with Session(engine) as s:
        matches = fixtures.series_matches(s, series_id=world["series_apta_s12"])
        other = fixtures.series_matches(s, series_id=world["series_nstf_s1"])
    assert [
        (m.date.isoformat() if m.date else None, m.played, m.home_lines, m.away_lines)
        for m in matches
    ] == [
        ("2025-01-07", True, 2, 1),
        ("2025-01-14", False, None, None),
    ]
    assert matches[1].location == "Tennaqua" and matches[1].time == dt.time(18, 30)
    assert other == []


def test_series_standings_unknown_series(engine: sa.Engine) -> None:
    with Session(engine) as s, pytest.raises(SeriesNotFound):
        standings.series_standings(s, series_id=987654)


def test_charts_are_self_contained_svg() -> None:
    points = [
        (dt.date(2024, 9, 1), 40.0),
        (dt.date(2024, 10, 1), 39.1),
        (dt.date(2025, 1, 10), 37.6),
    ]
    svg = ET.fromstring(str(line_chart(points, label="PTI of <Aaron>")))
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img" and svg.get("aria-label") == "PTI of <Aaron>"
    assert len(svg.findall(f"{ns}circle")) == 3 and svg.find(f"{ns}polyline") is not None
    # The strongest PTI (lowest value) is drawn lowest on the chart: y grows downwards.
    ys = [float(c.get("cy", 0)) for c in svg.findall(f"{ns}circle")]
    assert ys[0] < ys[1] < ys[2]
    assert "http" not in str(line_chart(points, label="x")).replace(
        "http://www.w3.org/2000/svg", ""
    )
    one = ET.fromstring(str(line_chart(points[:1], label="one value")))
    assert len(one.findall(f"{ns}circle")) == 1 and one.find(f"{ns}polyline") is None
    assert str(line_chart([], label="none")) == ""

    bars = ET.fromstring(
        str(bar_chart([("Wilmette 12", 30), ("Tennaqua 12 & Co", 20)], label="Points", highlight=1))
    )
    rects = bars.findall(f"{ns}rect")
    assert float(rects[0].get("width", 0)) > float(rects[1].get("width", 0)) > 0
    assert rects[1].get("fill") != rects[0].get("fill")
    assert "Tennaqua 12 &amp; Co" in str(bar_chart([("Tennaqua 12 & Co", 1)], label="x"))
