"""A team's page: roster with PTI and record, schedule, and results by line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class RosterEntry:
    """A player on the team's roster; the record counts the lines played for this team."""

    player_id: int
    first_name: str
    last_name: str
    pti: float | None
    wins: int
    losses: int
    captain: bool


@dataclass(frozen=True)
class LineResult:
    """One line of a match, seen from the team's side."""

    line: str | None
    players: list[str]
    opponents: list[str]
    scores: str | None
    result: str | None


@dataclass(frozen=True)
class MatchResult:
    """A played match: the team's lines won and lost, and each line."""

    date: dt.date | None
    opponent: str | None
    home: bool
    lines_won: int
    lines_lost: int
    lines: list[LineResult]


#: Values of players.captain_status that mark a captain (the sources write it several ways).
CAPTAIN_FLAGS = ("yes", "c", "captain", "true")


def is_captain(flag: str | None) -> bool:
    """Tell whether a roster's captain_status marks the player as captain."""
    return (flag or "").strip().lower() in CAPTAIN_FLAGS
