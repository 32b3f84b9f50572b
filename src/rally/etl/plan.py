"""Decide, without a database, which clubs, series and teams a league's records describe.

A team belongs to exactly one series. When the files disagree (APTA_CHICAGO rosters list
"Birchwood 2" under both "Series 1" and "Series 2"), the series comes from the most
authoritative source: standings, then schedules, then rosters; within a source, a series
whose suffix ends the team name ("2" in "Birchwood 2") wins over the first one met.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rally.etl.records import Kind
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


class PlanBuilder:
    """Collect, record by record, the team names, clubs and series a league's files give.

    Each distinct (name, club, series) of a kind is kept once, in first-met order: memory
    grows with the league's teams, not its rows.
    """

    def __init__(self) -> None:
        self._seen: dict[Kind, dict[str, dict[tuple[str, str, str], None]]] = {
            kind: {} for kind in _PRECEDENCE
        }

    def add(self, kind: Kind, rec: Any) -> None:
        """Note the teams one record (of any kind; match results name none) names."""
        seen = self._seen.get(kind)
        if seen is None:
            return
        names: tuple[tuple[str, str], ...]
        if kind is Kind.SCHEDULE:
            names = ((rec.home_team, rec.home_club), (rec.away_team, rec.away_club))
        else:
            names = ((rec.team_name, rec.club),)
        for name, club in names:
            found = seen.get(key := team_key(name))
            if found is None:
                found = seen[key] = {}
            found[(name, club, rec.series)] = None

    def plan(self) -> LeaguePlan:
        """Work out the teams (with club and series) of the records added."""
        candidates: dict[str, list[tuple[int, str, str, str]]] = {}
        for rank, kind in enumerate(_PRECEDENCE):
            for key, names in self._seen[kind].items():
                found = candidates.setdefault(key, [])
                found.extend((rank, name, club, series) for name, club, series in names)
        plan = LeaguePlan()
        # Rosters carry the club field, so the club comes from them first.
        club_order = {Kind.PLAYERS: 0, Kind.STANDINGS: 1, Kind.SCHEDULE: 2}
        for key, seen in candidates.items():
            best_rank = min(rank for rank, *_ in seen)
            top = [c for c in seen if c[0] == best_rank]
            chosen = next((c for c in top if _names_series(c[1], c[3])), top[0])
            by_club = min(seen, key=lambda c: club_order[_PRECEDENCE[c[0]]])
            plan.teams[key] = TeamPlan(team_name=by_club[1], club=by_club[2], series=chosen[3])
        return plan


def plan_league(records: Mapping[Kind, Iterable[Any]]) -> LeaguePlan:
    """Work out the teams (with club and series) of one league's records."""
    builder = PlanBuilder()
    for kind in _PRECEDENCE:
        for rec in records.get(kind, ()):
            builder.add(kind, rec)
    return builder.plan()
