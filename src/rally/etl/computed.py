"""Standings computed from match results, for series whose scraped standings are unusable.

A series that has linked match results but no scraped standings row (none scraped, or all
rejected) gets one computed row per team, marked ``computed``; pages say so. The rules:

- a *match* is the set of lines two teams played on one date; the team that won more lines
  won the match, equal line counts are a tie;
- lines count by each line's winner; sets and games are read from the line's scores
  ("6-3, 4-6 [10-8]"), home side first, unless they contradict the line's winner, in which
  case the score is read winner first (some sources write it so);
- points are unknown (NULL): computed standings order by matches won.

Scraped rows always win: a series that gains scraped standings has its computed rows
replaced on that import.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rally.etl.bulk import Sync, existing_rows
from rally.etl.report import LeagueReport
from rally.models import SeriesStats

# A standings row's figures, as the scraped files and the computed tally both give them.
STANDING_FIELDS = (
    "points",
    "matches_won",
    "matches_lost",
    "matches_tied",
    "lines_won",
    "lines_lost",
    "lines_for",
    "lines_ret",
    "sets_won",
    "sets_lost",
    "games_won",
    "games_lost",
)
STANDING_COLS = ("series", "team", "series_id", "team_id", *STANDING_FIELDS, "computed")
_SET = re.compile(r"(\d+)-(\d+)(?: \[(\d+)-(\d+)\])?")
_FIELDS = ("mw", "ml", "mt", "lw", "ll", "sw", "sl", "gw", "gl")


def _sets_and_games(scores: str, winner: str | None) -> tuple[int, int, int, int]:
    """Return (home sets, away sets, home games, away games) of one line."""
    hs = as_ = hg = ag = 0
    for found in _SET.finditer(scores or ""):
        a, b = int(found.group(1)), int(found.group(2))
        hg, ag = hg + a, ag + b
        if a == b and found.group(3):
            a, b = int(found.group(3)), int(found.group(4))
        if a > b:
            hs += 1
        elif b > a:
            as_ += 1
    if (winner == "home" and as_ > hs) or (winner == "away" and hs > as_):
        return as_, hs, ag, hg
    return hs, as_, hg, ag


class Tally:
    """Lines, sets and games per match, fed one stored match line at a time.

    Only matches whose two teams play in one series that has no scraped standings count:
    memory holds the matches of series to compute, not every result.
    """

    def __init__(self, series_of: Mapping[int, int], scraped: Collection[int | None]) -> None:
        self.series_of = series_of
        self.scraped = scraped
        self.matches: dict[tuple[Any, int, int], list[int]] = {}

    def add(self, row: Mapping[str, Any]) -> None:
        """Count one match line (as stored: with its team ids)."""
        home, away = row["home_team_id"], row["away_team_id"]
        if home is None or away is None:
            return
        series = self.series_of.get(home)
        if series != self.series_of.get(away) or series in self.scraped:
            return
        totals = self.matches.get(key := (row["match_date"], home, away))
        if totals is None:
            totals = self.matches[key] = [0] * 6
        winner = row["winner"]
        totals[0] += winner == "home"
        totals[1] += winner == "away"
        hs, as_, hg, ag = _sets_and_games(row["scores"], winner)
        totals[2] += hs
        totals[3] += as_
        totals[4] += hg
        totals[5] += ag

    def teams(self) -> dict[int, dict[str, int]]:
        """Return team id -> counts."""
        out: dict[int, dict[str, int]] = {}
        for (_day, home, away), (hl, al, hs, as_, hg, ag) in self.matches.items():
            if hl == al == 0:
                continue  # no line with a known winner: nothing to count
            for team, won, lost, sw, sl, gw, gl in (
                (home, hl, al, hs, as_, hg, ag),
                (away, al, hl, as_, hs, ag, hg),
            ):
                t = out.setdefault(team, dict.fromkeys(_FIELDS, 0))
                t["mw"] += won > lost
                t["ml"] += won < lost
                t["mt"] += won == lost
                t["lw"] += won
                t["ll"] += lost
                t["sw"] += sw
                t["sl"] += sl
                t["gw"] += gw
                t["gl"] += gl
        return out


def start_tally(
    session: Session, league_id: int, teams: Mapping[int, tuple[str, int, str]]
) -> Tally:
    """Return an empty tally for the league (after its scraped standings are stored).

    ``teams`` maps team id -> (team name, series id, series name).
    """
    scraped = set(
        session.execute(
            select(SeriesStats.series_id)
            .where(SeriesStats.league_id == league_id, SeriesStats.computed.is_(False))
            .distinct()
        ).scalars()
    )
    series_of = {team_id: series_id for team_id, (_n, series_id, _s) in teams.items()}
    return Tally(series_of, scraped)


def sync_computed(
    session: Session,
    report: LeagueReport,
    league_id: int,
    tally: Tally,
    teams: Mapping[int, tuple[str, int, str]],
    *,
    fresh: bool = False,
) -> None:
    """Compute standings for the league's series that have results but no scraped standings.

    ``tally`` holds the league's match lines (see start_tally); ``teams`` maps team id ->
    (team name, series id, series name).
    """
    scraped = tally.scraped
    # Computed rows of a series that now has scraped standings go.
    if scraped and not fresh:
        session.execute(
            delete(SeriesStats).where(
                SeriesStats.league_id == league_id,
                SeriesStats.computed.is_(True),
                SeriesStats.series_id.in_(scraped),
            )
        )
    wanted: dict[Any, dict[str, Any]] = {}
    for team_id, t in tally.teams().items():
        name, series_id, series = teams[team_id]
        if series_id in scraped:
            continue
        wanted[team_id] = {
            "league_id": league_id,
            "series": series,
            "team": name,
            "series_id": series_id,
            "team_id": team_id,
            "points": None,
            "matches_won": t["mw"],
            "matches_lost": t["ml"],
            "matches_tied": t["mt"],
            "lines_won": t["lw"],
            "lines_lost": t["ll"],
            "lines_for": None,
            "lines_ret": None,
            "sets_won": t["sw"],
            "sets_lost": t["sl"],
            "games_won": t["gw"],
            "games_lost": t["gl"],
            "computed": True,
        }
    where = (SeriesStats.league_id == league_id) & SeriesStats.computed.is_(True)
    existing = existing_rows(
        session, SeriesStats, where, STANDING_COLS, (), lambda r: r.team_id, fresh=fresh
    )
    counts = report.entity("computed_standings")
    gone = Sync(session, SeriesStats, STANDING_COLS).apply(counts, wanted, existing)
    if gone:
        ids = [existing[key][0] for key in gone]
        session.execute(delete(SeriesStats).where(SeriesStats.id.in_(ids)))
