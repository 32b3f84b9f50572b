"""The documented name rules, on the leagues' real names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rally.etl.team_names import BadName, normalize_series, parse_team, team_key


@pytest.mark.parametrize(
    ("raw", "league", "series", "team_name", "club"),
    [
        ("Tennaqua 12", "APTA_CHICAGO", "Series 12", "Tennaqua 12", "Tennaqua"),
        ("Michigan Shores - 6", "APTA_CHICAGO", None, "Michigan Shores 6", "Michigan Shores"),
        ("Midtown - Chicago - 6", "APTA_CHICAGO", None, "Midtown - Chicago 6", "Midtown - Chicago"),
        ("Butterfield - 15 SW", "APTA_CHICAGO", "Series 15 SW", "Butterfield 15 SW", "Butterfield"),
        ("Glen Ellyn I 9 SW", "APTA_CHICAGO", "Series 9 SW", "Glen Ellyn I 9 SW", "Glen Ellyn I"),
        ("Wilmette 99 A", "APTA_CHICAGO", "Series 99", "Wilmette 99 A", "Wilmette"),
        ("Legends", "APTA_CHICAGO", "Series Legends", "Legends", "Legends"),
        ("Wilmette S1 T2", "NSTF", "Series 1", "Wilmette S1 T2", "Wilmette"),
        ("Lake Forest  S1", "NSTF", "Series 1", "Lake Forest S1", "Lake Forest"),
        ("Lake Forest  S1 - Series 1", "NSTF", "Series 1", "Lake Forest S1", "Lake Forest"),
        ("Wilmette Sunday A", "NSTF", "Series A", "Wilmette Sunday A", "Wilmette"),
        ("Birchwood S2B", "NSTF", "Series 2B", "Birchwood S2B", "Birchwood"),
        ("Hinsdale PC 1a", "CNSWPL", "Series 1", "Hinsdale PC 1a", "Hinsdale PC"),
        ("Birchwood 13a 13", "CNSWPL", "Series 13", "Birchwood 13a", "Birchwood"),
        ("Wilmette H (1) H", "CNSWPL", "Series H", "Wilmette H (1)", "Wilmette"),
        ("Prarie Club SN (2)", "CNSWPL", "Series SN", "Prarie Club SN (2)", "Prarie Club"),
        ("Evanston H(1) - Series H", "CNSWPL", "Series H", "Evanston H(1)", "Evanston"),
        ("Winnetka 1 - Series 1", "CNSWPL", "Series 1", "Winnetka 1", "Winnetka"),
        (
            "North Shore Racquet Club",
            "CITA",
            "Series 3.0 & Under Thur",
            "North Shore Racquet Club - 3.0 & Under Thur",
            "North Shore Racquet Club",
        ),
        (
            "North Shore Racquet Club - 4.0 Singles Sun",
            "CITA",
            "Series 4.0 Singles Sun",
            "North Shore Racquet Club - 4.0 Singles Sun",
            "North Shore Racquet Club",
        ),
        (
            "Glenbrook Racquet Club - 2 - 3.0 - 3.5 Singles Thur",
            "CITA",
            "Series 3.0 - 3.5 Singles Thur",
            "Glenbrook Racquet Club - 2 - 3.0 - 3.5 Singles Thur",
            "Glenbrook Racquet Club",
        ),
        (
            "Midtown - Chicago 1",
            "CITA",
            "Series 3.5 & Under Wed",
            "Midtown - Chicago 1 - 3.5 & Under Wed",
            "Midtown - Chicago",
        ),
    ],
)
def test_real_names(raw: str, league: str, series: str | None, team_name: str, club: str) -> None:
    parsed = parse_team(raw, league=league, series=series)
    assert (parsed.team_name, parsed.club) == (team_name, club)


def test_series_names_are_normalised() -> None:
    assert normalize_series("Chicago 15 SW") == "Series 15 SW"
    assert normalize_series("Series  1") == "Series 1"
    assert normalize_series("Series 3.0 & Under Thur") == "Series 3.0 & Under Thur"


@pytest.mark.parametrize("raw", [" - 9 SW", "", "   "])
def test_placeholders_have_no_team(raw: str) -> None:
    with pytest.raises(BadName):
        parse_team(raw, league="APTA_CHICAGO", series="Series 9 SW")


def test_identity_ignores_case_and_space_before_parenthesis() -> None:
    assert team_key("PraIrie Club G(1)") == team_key("Prairie Club  G (1)")
    assert team_key("Wilmette S1 T1") != team_key("Wilmette S1 T2")


def _load(root: Path, league: str, name: str) -> list[dict[str, object]]:
    return list(json.loads((root / league / name).read_text()))


def test_nstf_spellings_resolve_to_the_same_teams(shared_leagues_dir: Path) -> None:
    """Rosters ("Series Mapping ID"), standings and schedules name the same NSTF teams."""

    def names(rows: list[dict[str, object]], *fields: str, series: str) -> set[str]:
        return {
            parse_team(str(row[f]), league="NSTF", series=str(row[series])).team_name
            for row in rows
            for f in fields
        }

    players = names(
        _load(shared_leagues_dir, "NSTF", "players.json"), "Series Mapping ID", series="Series"
    )
    standings = names(
        _load(shared_leagues_dir, "NSTF", "series_stats.json"), "team", series="series"
    )
    schedule = names(
        _load(shared_leagues_dir, "NSTF", "schedules.json"),
        "home_team",
        "away_team",
        series="series",
    )
    assert "Lake Forest S1" in players & standings & schedule
    assert schedule <= standings
    # Two standings teams (Middlefork, Westmoreland) field no roster in this snapshot.
    assert players <= standings
    assert standings - players == {"Middlefork", "Westmoreland"}


def test_cita_standings_and_schedules_share_team_names(shared_leagues_dir: Path) -> None:
    standings = {
        parse_team(
            str(r["team"]), league="CITA", series=normalize_series(str(r["series"]))
        ).team_name
        for r in _load(shared_leagues_dir, "CITA", "series_stats.json")
        if "Protest" not in str(r["series"])
    }
    schedule = {
        parse_team(str(r[f]), league="CITA", series=normalize_series(str(r["series"]))).team_name
        for r in _load(shared_leagues_dir, "CITA", "schedules.json")
        for f in ("home_team", "away_team")
        if not str(r[f]).strip().startswith("-")
    }
    assert "North Shore Racquet Club - 3.0 & Under Thur" in standings & schedule
    assert len(standings & schedule) >= 0.9 * len(schedule)
