"""Turn one scraped row (a JSON object) into a typed record, or say why not."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from rally.etl.names import BadName, clean, normalize_series, parse_team
from rally.etl.records import (
    Kind,
    MatchRecord,
    PlayerRecord,
    Record,
    ScheduleRecord,
    StandingRecord,
)


class RowError(ValueError):
    """A row-level problem; the message is the reject reason."""


_NOT_A_SERIES = re.compile(r"\b(protest|form|rules|forms)\b", re.IGNORECASE)
_SET_SCORES = re.compile(r"^\d+-\d+(?: \[\d+-\d+\])?(?:, \d+-\d+(?: \[\d+-\d+\])?)*$")
_DATE_LIKE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.IGNORECASE,
)
_LINE = re.compile(r"^(?:line\s*)?(\d+)$", re.IGNORECASE)
_SUBSTITUTE = re.compile(r"\s*\(S\)\s*$")
_CAPTAIN = {"yes": "captain", "c": "captain", "cc": "co-captain", "no": None, "": None}


def _text(row: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = row.get(key)
    if type(value) is str:
        value = " ".join(value.split())
        if value:
            return value
    elif value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RowError(f"field {key!r} is not text: {value!r}")
        return str(value)
    if required:
        raise RowError(f"missing required field {key!r}")
    return None


def _int(value: Any, what: str, *, required: bool = True) -> int | None:
    if type(value) is int:
        return value
    if value is None or value == "":
        if required:
            raise RowError(f"missing number {what!r}")
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, bool):
        raise RowError(f"{what!r} is not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise RowError(f"{what!r} is not a whole number: {value!r}")


def _decimal(value: Any, what: str) -> Decimal | None:
    """Parse a number; "N/A" and "" are None."""
    if value is None or (isinstance(value, str) and value.strip().upper() in {"", "N/A", "NA"}):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RowError(f"{what!r} is not a number: {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise RowError(f"{what!r} is not a number: {value!r}") from None
    if not number.is_finite():
        raise RowError(f"{what!r} is not a number: {value!r}")
    return number


def _percentage(value: Any, what: str) -> Decimal | None:
    text = value.strip().rstrip("%") if isinstance(value, str) else value
    number = _decimal(text, what)
    if number is not None and not Decimal(0) <= number <= Decimal(100):
        raise RowError(f"implausible percentage {value!r} in {what!r}")
    return number.quantize(Decimal("0.01")) if number is not None else None


@lru_cache(maxsize=4096)
def _parse_date(text: str, fmt: str) -> dt.date:
    return dt.datetime.strptime(text, fmt).date()


def _date(value: Any, what: str, formats: tuple[str, ...]) -> dt.date:
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"missing or empty date {what!r}")
    for fmt in formats:
        try:
            return _parse_date(value.strip(), fmt)
        except ValueError:
            continue
    raise RowError(f"unparseable date {value!r} in {what!r}")


@lru_cache(maxsize=512)
def _parse_time(text: str) -> dt.time:
    for fmt in ("%I:%M %p", "%H:%M"):
        try:
            return dt.datetime.strptime(text, fmt).time()
        except ValueError:
            continue
    raise RowError(f"unparseable time {text!r}")


def _series(raw: str) -> str:
    series = normalize_series(raw)
    if _NOT_A_SERIES.search(series):
        raise RowError(f"{raw!r} is not a series")
    return series


def player(row: Mapping[str, Any], league: str) -> PlayerRecord:
    """Convert a roster row."""
    series = _series(_text(row, "Series") or "")
    raw_team = row.get("Team") or row.get("Series Mapping ID")
    if not isinstance(raw_team, str) or not raw_team.strip():
        raise RowError("missing required field 'Team' (or 'Series Mapping ID')")
    team = parse_team(raw_team, league=league, series=series)
    club = team.club
    if club == team.team_name:
        # No recognised team tail: trust the roster's Club when it is a proper prefix.
        field = clean(str(row.get("Club") or ""))
        if field and field != team.team_name and team.team_name.startswith(field):
            club = field
    captain = _CAPTAIN.get(str(row.get("Captain") or "").strip().lower(), "captain")
    return PlayerRecord(
        league=league,
        player_id=_text(row, "Player ID") or "",
        first_name=_text(row, "First Name") or "",
        last_name=_text(row, "Last Name", required=False) or "",
        club=club,
        series=series,
        team_name=team.team_name,
        pti=_decimal(row.get("PTI"), "PTI"),
        wins=_int(row.get("Wins"), "Wins") or 0,
        losses=_int(row.get("Losses"), "Losses") or 0,
        win_percentage=_percentage(row.get("Win %"), "Win %"),
        career_wins=_int(row.get("Career Wins"), "Career Wins", required=False),
        career_losses=_int(row.get("Career Losses"), "Career Losses", required=False),
        career_win_percentage=_percentage(row.get("Career Win %"), "Career Win %"),
        captain_status=captain,
    )


def _group(row: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> dict[str, int]:
    group = row.get(name)
    if not isinstance(group, Mapping):
        raise RowError(f"missing required group {name!r}")
    out = {key: _int(group.get(key), f"{name}.{key}") or 0 for key in keys}
    _percentage(group.get("percentage"), f"{name}.percentage")
    return out


def standing(row: Mapping[str, Any], league: str) -> StandingRecord:
    """Convert a standings row."""
    raw_series = _text(row, "series") or ""
    raw_team = _text(row, "team") or ""
    series = _series(raw_series)
    team = parse_team(raw_team, league=league, series=series)
    matches = _group(row, "matches", ("won", "lost", "tied"))
    lines = _group(row, "lines", ("won", "lost", "for", "ret"))
    sets = _group(row, "sets", ("won", "lost"))
    games = _group(row, "games", ("won", "lost"))
    return StandingRecord(
        league=league,
        series=series,
        team_name=team.team_name,
        club=team.club,
        raw_series=str(row.get("series")),
        raw_team=str(row.get("team")),
        points=_int(row.get("points"), "points") or 0,
        matches_won=matches["won"],
        matches_lost=matches["lost"],
        matches_tied=matches["tied"],
        lines_won=lines["won"],
        lines_lost=lines["lost"],
        lines_for=lines["for"],
        lines_ret=lines["ret"],
        sets_won=sets["won"],
        sets_lost=sets["lost"],
        games_won=games["won"],
        games_lost=games["lost"],
    )


def schedule(row: Mapping[str, Any], league: str) -> ScheduleRecord:
    """Convert a schedule row."""
    series = _series(_text(row, "series") or "")
    home = parse_team(_text(row, "home_team") or "", league=league, series=series)
    away = parse_team(_text(row, "away_team") or "", league=league, series=series)
    time_text = row.get("time")
    if time_text is not None and not isinstance(time_text, str):
        raise RowError(f"unparseable time {time_text!r}")
    return ScheduleRecord(
        league=league,
        series=series,
        match_date=_date(row.get("date"), "date", ("%m/%d/%Y", "%Y-%m-%d")),
        match_time=_parse_time(time_text.strip()) if time_text and time_text.strip() else None,
        home_team=home.team_name,
        away_team=away.team_name,
        home_club=home.club,
        away_club=away.club,
        location=_text(row, "location", required=False),
    )


def _player(row: Mapping[str, Any], key: str) -> tuple[str | None, str | None, bool]:
    name = _text(row, key, required=False)
    substitute = False
    if name and _SUBSTITUTE.search(name):
        name, substitute = _SUBSTITUTE.sub("", name) or None, True
    return name, _text(row, f"{key} ID", required=False), substitute


def match(row: Mapping[str, Any], league: str) -> MatchRecord:
    """Convert a match-result row (one line of a match)."""
    raw_series = row.get("series") or row.get("Series")
    series = _series(raw_series) if isinstance(raw_series, str) and raw_series.strip() else None
    match_date = _date(row.get("Date"), "Date", ("%d-%b-%y", "%d-%b-%Y", "%m/%d/%Y", "%Y-%m-%d"))
    home = parse_team(_text(row, "Home Team") or "", league=league, series=series)
    away = parse_team(_text(row, "Away Team") or "", league=league, series=series)
    scores = _text(row, "Scores") or ""
    if _DATE_LIKE.search(scores):
        raise RowError(f"scores hold a date ({scores!r}), not set scores")
    if not _SET_SCORES.match(scores):
        raise RowError(f"unparseable scores {scores!r}")
    players = [_player(row, key) for key in ("Home Player 1", "Home Player 2")]
    players += [_player(row, key) for key in ("Away Player 1", "Away Player 2")]
    team_names = {clean(str(row.get("Home Team"))), clean(str(row.get("Away Team")))}
    team_names |= {home.club, away.club, home.base, away.base}
    if any(name in team_names for name, _, _ in players if name):
        raise RowError("player names are team or club names, not players")
    winner = row.get("Winner")
    winner = winner.strip().lower() if isinstance(winner, str) else winner
    if winner in (None, "", "unknown"):
        winner = None
    elif winner not in ("home", "away", "tie"):
        raise RowError(f"unknown winner {row.get('Winner')!r}")
    line_text = row.get("Line")
    line = None
    if line_text not in (None, ""):
        found = _LINE.match(str(line_text).strip())
        if found is None:
            raise RowError(f"unparseable line {line_text!r}")
        line = int(found.group(1))
    return MatchRecord(
        league=league,
        match_id=_text(row, "match_id", required=False),
        line=line,
        series=series,
        match_date=match_date,
        home_team=home.team_name,
        away_team=away.team_name,
        home_base=home.base,
        away_base=away.base,
        home_player_1=players[0][0],
        home_player_2=players[1][0],
        away_player_1=players[2][0],
        away_player_2=players[3][0],
        home_player_1_id=players[0][1],
        home_player_2_id=players[1][1],
        away_player_1_id=players[2][1],
        away_player_2_id=players[3][1],
        substitutes=(players[0][2], players[1][2], players[2][2], players[3][2]),
        scores=scores,
        winner=winner,
    )


CONVERTERS: dict[Kind, Callable[[Mapping[str, Any], str], Record]] = {
    Kind.PLAYERS: player,
    Kind.STANDINGS: standing,
    Kind.SCHEDULE: schedule,
    Kind.MATCHES: match,
}

__all__ = ["CONVERTERS", "BadName", "RowError"]
