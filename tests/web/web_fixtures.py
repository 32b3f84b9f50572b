"""A small, hand-made league world for the web tests (inserted through the ORM)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rally.models import (
    Club,
    ClubLeague,
    League,
    MatchScore,
    Player,
    Schedule,
    Series,
    SeriesStats,
    Team,
)


def seed(engine: sa.Engine) -> dict[str, int]:
    """Insert two leagues that both have a "Series 1"; return row ids by a readable name."""
    ids: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        leagues = {
            "APTA": League(league_id="APTA_CHICAGO", league_name="APTA Chicago"),
            "NSTF": League(league_id="NSTF", league_name="North Shore Tennis Foundation"),
        }
        clubs = {n: Club(name=n) for n in ("Tennaqua", "Midtown", "Wilmette")}
        s.add_all([*leagues.values(), *clubs.values()])
        s.flush()
        for lg, club in [
            ("APTA", "Tennaqua"),
            ("APTA", "Wilmette"),
            ("NSTF", "Midtown"),
            ("NSTF", "Wilmette"),
            ("NSTF", "Tennaqua"),
        ]:
            s.add(ClubLeague(club_id=clubs[club].id, league_id=leagues[lg].id))
        series = {
            key: Series(name=name, display_name=name, league_id=leagues[lg].id)
            for key, lg, name in [
                ("apta_s12", "APTA", "Series 12"),
                ("apta_s1", "APTA", "Series 1"),
                ("apta_s2", "APTA", "Series 2"),
                ("nstf_s1", "NSTF", "Series 1"),
                ("nstf_s2a", "NSTF", "Series 2A"),
            ]
        }
        s.add_all(series.values())
        s.flush()
        teams = {}
        for key, lg, club, ser, name in [
            ("tennaqua_12", "APTA", "Tennaqua", "apta_s12", "Tennaqua 12"),
            ("wilmette_12", "APTA", "Wilmette", "apta_s12", "Wilmette 12"),
            ("tennaqua_1", "APTA", "Tennaqua", "apta_s1", "Tennaqua 1"),
            ("wilmette_1", "APTA", "Wilmette", "apta_s1", "Wilmette 1"),
            ("tennaqua_2", "APTA", "Tennaqua", "apta_s2", "Tennaqua 2"),
            ("midtown_s1", "NSTF", "Midtown", "nstf_s1", "Midtown S1"),
            ("wilmette_s1_t1", "NSTF", "Wilmette", "nstf_s1", "Wilmette S1 T1"),
            ("midtown_s2a", "NSTF", "Midtown", "nstf_s2a", "Midtown S2A"),
            ("tennaqua_s2a", "NSTF", "Tennaqua", "nstf_s2a", "Tennaqua S2A"),
        ]:
            teams[key] = Team(
                club_id=clubs[club].id,
                series_id=series[ser].id,
                league_id=leagues[lg].id,
                team_name=name,
                display_name=name,
            )
        s.add_all(teams.values())
        s.flush()
        players = {}
        for key, team, tid, first, last, pti in [
            ("aaron_apta", "tennaqua_12", "apta-aw", "Aaron", "Walsh", "37.6"),
            ("james", "tennaqua_12", "apta-jw", "James", "Walsh", "40.2"),
            ("jim", "tennaqua_12", "apta-jim", "Jim", "Walsh", None),
            ("ann", "tennaqua_12", "apta-ann", "Ann", "Walsh", "45.0"),
            ("jose", "wilmette_12", "apta-jn", "José", "Núñez", "50.0"),
            ("robert", "wilmette_12", "apta-rs", "Robert", "Smith", "44.0"),
            ("chris_a", "tennaqua_1", "apta-cl1", "Chris", "Lee", "30.0"),
            ("chris_b", "tennaqua_1", "apta-cl2", "Chris", "Lee", "31.0"),
            ("aaron_s1", "midtown_s1", "nstf-aw", "Aaron", "Walsh", None),
            ("aaron_s2a", "midtown_s2a", "nstf-aw", "Aaron", "Walsh", None),
            ("pat", "wilmette_s1_t1", "nstf-pd", "Pat", "Doe", None),
        ]:
            t = teams[team]
            players[key] = Player(
                tenniscores_player_id=tid,
                first_name=first,
                last_name=last,
                league_id=t.league_id,
                club_id=t.club_id,
                series_id=t.series_id,
                team_id=t.id,
                pti=Decimal(pti) if pti else None,
                captain_status="Yes" if key == "aaron_apta" else "",
            )
        s.add_all(players.values())
        for ser, team, points, won in [
            ("apta_s12", "tennaqua_12", 20, 2),
            ("apta_s12", "wilmette_12", 30, 3),
            ("apta_s1", "tennaqua_1", 10, 1),
            ("apta_s1", "wilmette_1", 12, 1),
            ("nstf_s1", "midtown_s1", 15, 2),
            ("nstf_s1", "wilmette_s1_t1", 25, 3),
            ("nstf_s2a", "midtown_s2a", 40, 4),
            ("nstf_s2a", "tennaqua_s2a", 5, 0),
        ]:
            t = teams[team]
            s.add(
                SeriesStats(
                    league_id=t.league_id,
                    series=series[ser].name,
                    team=t.team_name,
                    series_id=series[ser].id,
                    team_id=t.id,
                    points=points,
                    matches_won=won,
                    matches_lost=4 - won,
                    matches_tied=0,
                    lines_won=won * 3,
                    lines_lost=12 - won * 3,
                    sets_won=won * 6,
                    sets_lost=10,
                    games_won=won * 40,
                    games_lost=100,
                )
            )
        home, away = teams["tennaqua_12"], teams["wilmette_12"]
        s.add(
            Schedule(
                league_id=home.league_id,
                match_date=dt.date(2025, 1, 14),
                match_time=dt.time(18, 30),
                home_team="Tennaqua 12",
                away_team="Wilmette 12",
                home_team_id=home.id,
                away_team_id=away.id,
                location="Tennaqua",
            )
        )
        for line, winner in [("Line 1", "home"), ("Line 2", "away")]:
            s.add(
                MatchScore(
                    league_id=home.league_id,
                    match_date=dt.date(2025, 1, 7),
                    home_team="Tennaqua 12",
                    away_team="Wilmette 12",
                    home_team_id=home.id,
                    away_team_id=away.id,
                    home_player_1_id="apta-aw",
                    home_player_2_id="apta-jw",
                    away_player_1_id="apta-rs",
                    away_player_2_id="apta-jn",
                    scores="6-4, 6-3" if winner == "home" else "3-6, 4-6",
                    winner=winner,
                    line=line,
                )
            )
        s.flush()
        ids.update({f"league_{k}": v.id for k, v in leagues.items()})
        ids.update({f"series_{k}": v.id for k, v in series.items()})
        ids.update({f"team_{k}": v.id for k, v in teams.items()})
        ids.update({f"player_{k}": v.id for k, v in players.items()})
    return ids
