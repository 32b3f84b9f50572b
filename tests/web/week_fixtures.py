"""The web world's weekly extras: fixtures around a fixed "today", a legacy answer."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rally.models import Player, PlayerAvailability, Schedule, Team

#: The fixed clock of the weekly tests: a Friday between two match days.
TODAY = dt.date(2025, 1, 10)


def add_week(engine: sa.Engine, ids: dict[str, int]) -> dict[str, int]:
    """Add fixtures before and after TODAY on an APTA and an NSTF team, and one legacy
    answer; return the new schedule ids by name (the seed's 2025-01-14 match is `apta_next`)."""
    out: dict[str, int] = {}
    with Session(engine) as s, s.begin():
        out["apta_next"] = s.scalar(
            sa.select(Schedule.id).where(Schedule.match_date == dt.date(2025, 1, 14))
        )  # type: ignore[assignment]
        rows = {
            "apta_past": (
                "APTA",
                "Wilmette 12",
                "Tennaqua 12",
                "wilmette_12",
                "tennaqua_12",
                dt.date(2025, 1, 7),
                dt.time(18, 30),
                "Wilmette",
            ),
            "apta_later": (
                "APTA",
                "Wilmette 12",
                "Tennaqua 12",
                "wilmette_12",
                "tennaqua_12",
                dt.date(2025, 1, 21),
                dt.time(19, 0),
                None,
            ),
            "nstf_next": (
                "NSTF",
                "Midtown S1",
                "Wilmette S1 T1",
                "midtown_s1",
                "wilmette_s1_t1",
                dt.date(2025, 1, 14),
                dt.time(18, 0),
                "Midtown Chicago",
            ),
            "nstf_allday": (
                "NSTF",
                "Wilmette S1 T1",
                "Midtown S1",
                "wilmette_s1_t1",
                "midtown_s1",
                dt.date(2025, 1, 28),
                None,
                None,
            ),
        }
        for name, (lg, home, away, home_key, away_key, date, time, where) in rows.items():
            row = Schedule(
                league_id=ids[f"league_{lg}"],
                match_date=date,
                match_time=time,
                home_team=home,
                away_team=away,
                home_team_id=ids[f"team_{home_key}"],
                away_team_id=ids[f"team_{away_key}"],
                location=where,
            )
            s.add(row)
            s.flush()
            out[name] = row.id
        # A teammate of Aaron's on his NSTF team.
        midtown = s.get(Team, ids["team_midtown_s1"])
        assert midtown is not None
        sam = Player(
            tenniscores_player_id="nstf-sl",
            first_name="Sam",
            last_name="Lee",
            league_id=midtown.league_id,
            club_id=midtown.club_id,
            series_id=midtown.series_id,
            team_id=midtown.id,
        )
        s.add(sam)
        s.flush()
        out["player_sam"] = sam.id
        # A legacy answer (upgraded from the old system): a date, no match.
        s.add(
            PlayerAvailability(
                player_name="Ann Walsh",
                player_id=ids["player_ann"],
                match_date=dt.datetime(
                    2025, 1, 14, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6))
                ),
                availability_status=1,
                series_id=ids["series_apta_s12"],
                league_id=ids["league_APTA"],
                notes="legacy",
            )
        )
    return out
