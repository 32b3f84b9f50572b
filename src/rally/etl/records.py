"""Typed, normalised records of the four kinds of scraped league file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rally.leagues import LEAGUES as LEAGUES
from rally.leagues import SYNTHETIC_LEAGUE as SYNTHETIC_LEAGUE
from rally.leagues import league_name as league_name
from rally.leagues import league_order as league_order

Winner = Literal["home", "away", "tie"]


class Kind(StrEnum):
    """What a file holds, decided from its content."""

    PLAYERS = "players"
    STANDINGS = "standings"
    SCHEDULE = "schedule"
    MATCHES = "matches"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    league: str = Field(min_length=1)


class PlayerRecord(_Record):
    """One player on one team's roster."""

    player_id: str = Field(min_length=1)
    first_name: str
    last_name: str
    club: str = Field(min_length=1)
    series: str = Field(min_length=1)
    team_name: str = Field(min_length=1)
    pti: Decimal | None
    wins: int = Field(ge=0)
    losses: int = Field(ge=0)
    win_percentage: Decimal | None
    career_wins: int | None = Field(default=None, ge=0)
    career_losses: int | None = Field(default=None, ge=0)
    career_win_percentage: Decimal | None = None
    captain_status: str | None = None


class StandingRecord(_Record):
    """One team's line in its series' standings."""

    series: str = Field(min_length=1)
    team_name: str = Field(min_length=1)
    club: str = Field(min_length=1)
    raw_series: str
    raw_team: str
    points: int
    matches_won: int = Field(ge=0)
    matches_lost: int = Field(ge=0)
    matches_tied: int = Field(ge=0)
    # None: the scraped group was missing or nonsense and was dropped (see ``dropped``).
    lines_won: int | None = Field(ge=0)
    lines_lost: int | None = Field(ge=0)
    lines_for: int | None = Field(ge=0)
    lines_ret: int | None = Field(ge=0)
    sets_won: int | None = Field(ge=0)
    sets_lost: int | None = Field(ge=0)
    games_won: int | None = Field(ge=0)
    games_lost: int | None = Field(ge=0)
    #: Groups ("lines", "sets", "games") dropped as missing or nonsense.
    dropped: tuple[str, ...] = ()


class ScheduleRecord(_Record):
    """One scheduled match between two teams of a series."""

    series: str = Field(min_length=1)
    match_date: dt.date
    match_time: dt.time | None
    home_team: str = Field(min_length=1)
    away_team: str = Field(min_length=1)
    home_club: str = Field(min_length=1)
    away_club: str = Field(min_length=1)
    location: str | None


class MatchRecord(_Record):
    """One played line (court) of a match, with its players and score."""

    match_id: str | None
    line: int | None = Field(default=None, ge=1)
    series: str | None
    match_date: dt.date
    home_team: str = Field(min_length=1)
    away_team: str = Field(min_length=1)
    #: Un-suffixed names, used to resolve CITA's bare club names to a team.
    home_base: str
    away_base: str
    home_player_1: str | None
    home_player_2: str | None
    away_player_1: str | None
    away_player_2: str | None
    home_player_1_id: str | None
    home_player_2_id: str | None
    away_player_1_id: str | None
    away_player_2_id: str | None
    #: Positions (home_player_1, home_player_2, away_player_1, away_player_2) marked "(S)".
    substitutes: tuple[bool, bool, bool, bool] = (False, False, False, False)
    scores: str
    winner: Winner | None


Record = PlayerRecord | StandingRecord | ScheduleRecord | MatchRecord


class Reject(BaseModel):
    """A row that was not imported, and why."""

    model_config = ConfigDict(frozen=True)

    file: str
    row: int
    league: str | None
    reason: str
    data: Any
    kind: Kind | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the JSON-lines form written by ``--rejects``."""
        return {
            "file": self.file,
            "row": self.row,
            "league": self.league,
            "reason": self.reason,
            "data": self.data,
        }
