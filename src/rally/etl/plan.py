"""Decide, without a database, which clubs, series and teams a league's records describe.

A team belongs to exactly one series. When the files disagree (APTA_CHICAGO rosters list
"Birchwood 2" under both "Series 1" and "Series 2"), the series comes from the most
authoritative source: standings, then schedules, then rosters; within a source, a series
whose suffix ends the team name ("2" in "Birchwood 2") wins over the first one met.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rally.etl.records import (
    Kind,
    PlayerRecord,
    Record,
    ScheduleRecord,
    StandingRecord,
)
from rally.etl.team_names import series_suffix, team_key

_PRECEDENCE = (Kind.STANDINGS, Kind.SCHEDULE, Kind.PLAYERS)


@dataclass
class TeamPlan:
    """One team the records describe."""

    team_name: str
    club: str
    series: str


@dataclass
class LeaguePlan:
    """The clubs, series and teams of one league's records, keyed by identity key."""

    teams: dict[str, TeamPlan] = field(default_factory=dict)

    @property
    def series(self) -> list[str]:
        """Return the distinct series names, in first-met order."""
        return list(dict.fromkeys(team.series for team in self.teams.values()))

    @property
    def clubs(self) -> dict[str, str]:
        """Return the distinct clubs by case-folded name."""
        out: dict[str, str] = {}
        for team in self.teams.values():
            out.setdefault(team.club.casefold(), team.club)
        return out


def _names_series(team_name: str, series: str) -> bool:
    suffix = series_suffix(series)
    tail = team_name[-len(suffix) - 1 :]
    return tail == f" {suffix}" or tail == f"S{suffix}"


def plan_league(records: Mapping[Kind, Sequence[Record]]) -> LeaguePlan:
    """Work out the teams (with club and series) of one league's records."""
    candidates: dict[str, list[tuple[int, str, str, str]]] = {}
    for rank, kind in enumerate(_PRECEDENCE):
        for rec in records.get(kind, ()):
            if isinstance(rec, PlayerRecord | StandingRecord):
                names = [(rec.team_name, rec.club)]
            elif isinstance(rec, ScheduleRecord):
                names = [(rec.home_team, rec.home_club), (rec.away_team, rec.away_club)]
            else:
                continue
            for name, club in names:
                candidates.setdefault(team_key(name), []).append((rank, name, club, rec.series))
    plan = LeaguePlan()
    # Rosters carry the club field, so the club comes from them first.
    club_order = {Kind.PLAYERS: 0, Kind.STANDINGS: 1, Kind.SCHEDULE: 2}
    for key, seen in candidates.items():
        best_rank = min(rank for rank, *_ in seen)
        top = [c for c in seen if c[0] == best_rank]
        chosen = next((c for c in top if _names_series(c[1], c[3])), top[0])
        by_club = min(seen, key=lambda c: club_order[_PRECEDENCE[c[0]]])
        first_name = min(seen, key=lambda c: club_order[_PRECEDENCE[c[0]]])[1]
        plan.teams[key] = TeamPlan(team_name=first_name, club=by_club[2], series=chosen[3])
    return plan
