"""A series' fixtures and results: the schedule, each played match with its lines won."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.orm import Session

from rally.models import MatchScore, Schedule, Team
from rally.services.plan import Plan, run


@dataclass(frozen=True)
class SeriesMatch:
    """A fixture of the series; `home_lines`/`away_lines` are set once it has been played."""

    date: dt.date | None
    time: dt.time | None
    home_team: str | None
    home_team_id: int | None
    away_team: str | None
    away_team_id: int | None
    location: str | None
    home_lines: int | None
    away_lines: int | None

    @property
    def played(self) -> bool:
        """Whether the match has results."""
        return self.home_lines is not None


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any]:
    in_series = select(Team.id).where(Team.series_id == bindparam("series_id"))
    fixtures = (
        select(
            Schedule.match_date,
            Schedule.match_time,
            Schedule.home_team,
            Schedule.home_team_id,
            Schedule.away_team,
            Schedule.away_team_id,
            Schedule.location,
        )
        .where(Schedule.home_team_id.in_(in_series))
        .order_by(Schedule.match_date, Schedule.match_time, Schedule.home_team)
    )
    m = MatchScore
    results = (
        select(
            m.match_date,
            m.home_team_id,
            m.away_team_id,
            func.min(m.home_team),
            func.min(m.away_team),
            func.sum(case((m.winner == "home", 1), else_=0)),
            func.sum(case((m.winner == "away", 1), else_=0)),
        )
        .where(m.home_team_id.in_(in_series))
        .group_by(m.match_date, m.home_team_id, m.away_team_id)
    )
    return fixtures, results


def series_matches_plan(*, series_id: int) -> Plan[list[SeriesMatch]]:
    """Plan of `series_matches` (see rally.services.plan)."""
    fixtures_q, results_q = _statements()
    params = {"series_id": series_id}
    fixtures = yield fixtures_q, params
    results = yield results_q, params
    played = {(r[0], r[1], r[2]): r for r in results}
    matches = []
    for date, time, home, home_id, away, away_id, location in fixtures:
        result = played.pop((date, home_id, away_id), None)
        matches.append(
            SeriesMatch(
                date=date,
                time=time,
                home_team=home,
                home_team_id=home_id,
                away_team=away,
                away_team_id=away_id,
                location=location,
                home_lines=int(result[5]) if result else None,
                away_lines=int(result[6]) if result else None,
            )
        )
    # Results whose fixture the schedule lacks are still results of the series.
    for date, home_id, away_id, home, away, home_lines, away_lines in played.values():
        matches.append(
            SeriesMatch(
                date=date,
                time=None,
                home_team=home,
                home_team_id=home_id,
                away_team=away,
                away_team_id=away_id,
                location=None,
                home_lines=int(home_lines),
                away_lines=int(away_lines),
            )
        )
    matches.sort(key=lambda f: (f.date or dt.date.max, f.time or dt.time.min, f.home_team or ""))
    return matches


def series_matches(session: Session, *, series_id: int) -> list[SeriesMatch]:
    """Return a series' fixtures, with lines won by each side where played (oldest first)."""
    return run(session, series_matches_plan(series_id=series_id))
