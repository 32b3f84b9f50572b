"""Turn one scraped row (a JSON object) into the fields of a typed record, or say why not."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from rally.etl.checks import RowError, plausible
from rally.etl.records import (
    Kind,
    MatchRecord,
    PlayerRecord,
    Record,
    ScheduleRecord,
    StandingRecord,
    Winner,
)
from rally.etl.team_names import BadName, TeamName, clean, normalize_series, team_of

_NOT_A_SERIES = re.compile(r"\b(protest|form|rules|forms)\b", re.IGNORECASE)
_SET_SCORES = re.compile(r"^\d+-\d+(?: \[\d+-\d+\])?(?:, \d+-\d+(?: \[\d+-\d+\])?)*$")
_DATE_LIKE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.IGNORECASE,
)
_LINE = re.compile(r"^(?:line\s*)?(\d+)$", re.IGNORECASE)
_SUBSTITUTE = re.compile(r"\s*\(S\)\s*$")
_WINNERS: dict[str, Winner] = {"home": "home", "away": "away", "tie": "tie"}
_CAPTAIN = {"yes": "captain", "c": "captain", "cc": "co-captain", "no": None, "": None}


_MAX_TEXT = 255  # varchar(255) columns
_MAX_INT = 2**31 - 1  # integer columns
_MAX_NUMERIC = Decimal("99999999.99")  # numeric(10, 2)


def _text(
    row: Mapping[str, Any], key: str, *, required: bool = True, limit: int | None = _MAX_TEXT
) -> str | None:
    value = row.get(key)
    if type(value) is str:
        value = " ".join(value.split())
        if value:
            if limit is not None and len(value) > limit:
                raise RowError(f"field {key!r} is longer than {limit} characters")
            return value
    elif value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RowError(f"field {key!r} is not text: {value!r}")
        return str(value)[:limit]
    if required:
        raise RowError(f"missing required field {key!r}")
    return None


def _int(value: Any, what: str, *, required: bool = True) -> int | None:
    if type(value) is int:
        number = value
    elif value is None or value == "":
        if required:
            raise RowError(f"missing number {what!r}")
        return None
    elif (
        (isinstance(value, str) and value.isdigit())
        or (isinstance(value, float) and value.is_integer())
        or (isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value))
    ):
        number = int(value)
    else:
        raise RowError(f"{what!r} is not a whole number: {value!r}")
    if abs(number) > _MAX_INT:
        raise RowError(f"{what!r} is out of range: {value!r}")
    return number


def _decimal(value: Any, what: str) -> Decimal | None:
    """Parse a number; "N/A" and "" are None."""
    if isinstance(value, str):
        return _decimal_text(value, what)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"{what!r} is not a number: {value!r}")
    return _decimal_text(str(value), what)


@lru_cache(maxsize=8192)
def _decimal_text(value: str, what: str) -> Decimal | None:
    text = value.strip()
    if text.upper() in {"", "N/A", "NA"}:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RowError(f"{what!r} is not a number: {value!r}") from None
    if not number.is_finite():
        raise RowError(f"{what!r} is not a number: {value!r}")
    if abs(number) > _MAX_NUMERIC:
        raise RowError(f"{what!r} is out of range: {value!r}")
    return number


def _percentage(value: Any, what: str) -> Decimal | None:
    if isinstance(value, str):
        return _percentage_text(value, what)
    return _percentage_text(str(value), what) if value is not None else None


@lru_cache(maxsize=8192)
def _percentage_text(value: str, what: str) -> Decimal | None:
    number = _decimal(value.strip().rstrip("%"), what)
    if number is not None and not Decimal(0) <= number <= Decimal(100):
        raise RowError(f"implausible percentage {value!r} in {what!r}")
    return number.quantize(Decimal("0.01")) if number is not None else None


def _date(value: Any, what: str, formats: tuple[str, ...]) -> dt.date:
    if not isinstance(value, str) or not value.strip():
        raise RowError(f"missing or empty date {what!r}")
    return _date_text(value, what, formats)


@lru_cache(maxsize=8192)
def _date_text(value: str, what: str, formats: tuple[str, ...]) -> dt.date:
    for fmt in formats:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
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


@lru_cache(maxsize=1024)
def _series(raw: str) -> str:
    series = normalize_series(raw)
    if _NOT_A_SERIES.search(series):
        raise RowError(f"{raw!r} is not a series")
    return series


def player(row: Mapping[str, Any], league: str) -> dict[str, Any]:
    """Convert a roster row."""
    series = _series(_text(row, "Series") or "")
    raw_team = row.get("Team") or row.get("Series Mapping ID")
    if not isinstance(raw_team, str) or not raw_team.strip():
        raise RowError("missing required field 'Team' (or 'Series Mapping ID')")
    team = team_of(raw_team, league, series)
    club = team.club
    if club == team.team_name:
        # No recognised team tail: trust the roster's Club when it is a proper prefix.
        field = clean(str(row.get("Club") or ""))
        if field and field != team.team_name and team.team_name.startswith(field):
            club = field
    captain = _CAPTAIN.get(str(row.get("Captain") or "").strip().lower(), "captain")
    return {
        "league": league,
        "player_id": _text(row, "Player ID") or "",
        "first_name": _text(row, "First Name") or "",
        "last_name": _text(row, "Last Name", required=False) or "",
        "club": club,
        "series": series,
        "team_name": team.team_name,
        "pti": _decimal(row.get("PTI"), "PTI"),
        "wins": _int(row.get("Wins"), "Wins") or 0,
        "losses": _int(row.get("Losses"), "Losses") or 0,
        "win_percentage": _percentage(row.get("Win %"), "Win %"),
        "career_wins": _int(row.get("Career Wins"), "Career Wins", required=False),
        "career_losses": _int(row.get("Career Losses"), "Career Losses", required=False),
        "career_win_percentage": _percentage(row.get("Career Win %"), "Career Win %"),
        "captain_status": captain,
    }


def _group(row: Mapping[str, Any], name: str, keys: tuple[str, ...]) -> dict[str, int]:
    group = row.get(name)
    if not isinstance(group, Mapping):
        raise RowError(f"missing required group {name!r}")
    out = {key: _int(group.get(key), f"{name}.{key}") or 0 for key in keys}
    _percentage(group.get("percentage"), f"{name}.percentage")
    return out


def _optional_group(
    row: Mapping[str, Any], name: str, keys: tuple[str, ...], dropped: list[str]
) -> dict[str, int | None]:
    """Return a group's counts, or None for each when the group is missing or nonsense."""
    group = row.get(name)
    if isinstance(group, Mapping):
        try:
            counts = {key: _int(group.get(key), f"{name}.{key}") or 0 for key in keys}
        except RowError:
            counts = None
        if counts is not None and plausible(group, counts):
            return dict(counts)
    dropped.append(name)
    return dict.fromkeys(keys)


def standing(row: Mapping[str, Any], league: str) -> dict[str, Any]:
    """Convert a standings row: the matches group is required, other groups may be dropped.

    A lines, sets or games group that is missing or nonsense is stored as unknown (NULL)
    and named in ``dropped`` (a warning), instead of rejecting the whole row.
    """
    raw_series = _text(row, "series") or ""
    raw_team = _text(row, "team") or ""
    series = _series(raw_series)
    team = team_of(raw_team, league, series)
    matches = _group(row, "matches", ("won", "lost", "tied"))
    dropped: list[str] = []
    lines = _optional_group(row, "lines", ("won", "lost", "for", "ret"), dropped)
    sets = _optional_group(row, "sets", ("won", "lost"), dropped)
    games = _optional_group(row, "games", ("won", "lost"), dropped)
    return {
        "league": league,
        "series": series,
        "team_name": team.team_name,
        "club": team.club,
        "raw_series": str(row.get("series")),
        "raw_team": str(row.get("team")),
        "points": _int(row.get("points"), "points") or 0,
        "matches_won": matches["won"],
        "matches_lost": matches["lost"],
        "matches_tied": matches["tied"],
        "lines_won": lines["won"],
        "lines_lost": lines["lost"],
        "lines_for": lines["for"],
        "lines_ret": lines["ret"],
        "sets_won": sets["won"],
        "sets_lost": sets["lost"],
        "games_won": games["won"],
        "games_lost": games["lost"],
        "dropped": tuple(dropped),
    }


def schedule(row: Mapping[str, Any], league: str) -> dict[str, Any]:
    """Convert a schedule row."""
    series = _series(_text(row, "series") or "")
    home = _team(row, "home_team", league, series)
    away = _team(row, "away_team", league, series)
    time_text = row.get("time")
    if time_text is not None and not isinstance(time_text, str):
        raise RowError(f"unparseable time {time_text!r}")
    return {
        "league": league,
        "series": series,
        "match_date": _date(row.get("date"), "date", ("%m/%d/%Y", "%Y-%m-%d")),
        "match_time": _parse_time(time_text.strip()) if time_text and time_text.strip() else None,
        "home_team": home.team_name,
        "away_team": away.team_name,
        "home_club": home.club,
        "away_club": away.club,
        "location": _text(row, "location", required=False, limit=None),
    }


def _player(name: Any, player_id: Any, key: str) -> tuple[str | None, str | None, bool]:
    if (name is None or type(name) is str) and (player_id is None or type(player_id) is str):
        return _player_text(name, player_id)
    raise RowError(f"field {key!r} or {key + ' ID'!r} is not text")


@lru_cache(maxsize=65536)
def _player_text(raw_name: str | None, raw_id: str | None) -> tuple[str | None, str | None, bool]:
    name = clean(raw_name) if raw_name else None
    substitute = False
    if name and _SUBSTITUTE.search(name):
        name, substitute = _SUBSTITUTE.sub("", name) or None, True
    player_id = raw_id.strip() or None if raw_id else None
    return name, player_id, substitute


@lru_cache(maxsize=8192)
def _scores(raw: str) -> str:
    scores = clean(raw)
    if not scores:
        raise RowError("missing required field 'Scores'")
    if _DATE_LIKE.search(scores):
        raise RowError(f"scores hold a date ({scores!r}), not set scores")
    if not _SET_SCORES.match(scores):
        raise RowError(f"unparseable scores {scores!r}")
    return scores


def _team(row: Mapping[str, Any], key: str, league: str, series: str | None) -> TeamName:
    value = row.get(key)
    if type(value) is not str or not value or value.isspace():
        if value is None or value == "" or (type(value) is str and value.isspace()):
            raise RowError(f"missing required field {key!r}")
        raise RowError(f"field {key!r} is not text: {value!r}")
    return team_of(value, league, series)


def _winner(raw: Any) -> Winner | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("", "unknown"):
            return None
        if text in _WINNERS:
            return _WINNERS[text]
    raise RowError(f"unknown winner {raw!r}")


@lru_cache(maxsize=256)
def _line(raw: str) -> int:
    found = _LINE.match(raw.strip())
    if found is None:
        raise RowError(f"unparseable line {raw!r}")
    return int(found.group(1))


_MATCH_DATES = ("%d-%b-%y", "%d-%b-%Y", "%m/%d/%Y", "%Y-%m-%d")


def match(row: Mapping[str, Any], league: str) -> dict[str, Any]:
    """Convert a match-result row (one line of a match)."""
    raw_series = row.get("series") or row.get("Series")
    series = _series(raw_series) if isinstance(raw_series, str) and raw_series.strip() else None
    match_date = _date(row.get("Date"), "Date", _MATCH_DATES)
    home = _team(row, "Home Team", league, series)
    away = _team(row, "Away Team", league, series)
    raw_scores = row.get("Scores")
    if type(raw_scores) is not str:
        raise RowError(f"missing or invalid 'Scores': {raw_scores!r}")
    scores = _scores(raw_scores)
    get = row.get
    hp1, hp1_id, hp1_sub = _player(get("Home Player 1"), get("Home Player 1 ID"), "Home Player 1")
    hp2, hp2_id, hp2_sub = _player(get("Home Player 2"), get("Home Player 2 ID"), "Home Player 2")
    ap1, ap1_id, ap1_sub = _player(get("Away Player 1"), get("Away Player 1 ID"), "Away Player 1")
    ap2, ap2_id, ap2_sub = _player(get("Away Player 2"), get("Away Player 2 ID"), "Away Player 2")
    team_names = {home.team_name, away.team_name, home.club, away.club, home.base, away.base}
    for name in (hp1, hp2, ap1, ap2):
        if name and name in team_names:
            raise RowError("player names are team or club names, not players")
    line_text = row.get("Line")
    line = None if line_text is None or line_text == "" else _line(str(line_text))
    return {
        "league": league,
        "match_id": _text(row, "match_id", required=False, limit=None),
        "line": line,
        "series": series,
        "match_date": match_date,
        "home_team": home.team_name,
        "away_team": away.team_name,
        "home_base": home.base,
        "away_base": away.base,
        "home_player_1": hp1,
        "home_player_2": hp2,
        "away_player_1": ap1,
        "away_player_2": ap2,
        "home_player_1_id": hp1_id,
        "home_player_2_id": hp2_id,
        "away_player_1_id": ap1_id,
        "away_player_2_id": ap2_id,
        "substitutes": (hp1_sub, hp2_sub, ap1_sub, ap2_sub),
        "scores": scores,
        "winner": _winner(row.get("Winner")),
    }


#: Row converters: each returns the fields of its kind's record, validated by MODELS.
CONVERTERS: dict[Kind, Callable[[Mapping[str, Any], str], dict[str, Any]]] = {
    Kind.PLAYERS: player,
    Kind.STANDINGS: standing,
    Kind.SCHEDULE: schedule,
    Kind.MATCHES: match,
}
MODELS: dict[Kind, type[Record]] = {
    Kind.PLAYERS: PlayerRecord,
    Kind.STANDINGS: StandingRecord,
    Kind.SCHEDULE: ScheduleRecord,
    Kind.MATCHES: MatchRecord,
}


__all__ = ["CONVERTERS", "MODELS", "BadName", "RowError"]
