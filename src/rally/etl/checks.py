"""Checks every converted row passes, whatever its kind: text the database can store, values
that fit their columns, standings groups that add up.

The same row must be accepted or rejected identically on PostgreSQL and SQLite, so nothing
is left for a database to refuse (PostgreSQL rejects NUL in text, SQLite keeps it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rally.etl.records import Kind


class RowError(ValueError):
    """A row-level problem; the message is the reject reason."""


#: Characters no stored text may hold: NUL (PostgreSQL refuses it, SQLite keeps it), other
#: C0/C1 control characters but tab and line breaks, and lone UTF-16 surrogates (not
#: encodable as UTF-8 by either driver).
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(row: Mapping[str, Any]) -> None:
    """Reject a row any of whose text values (nested groups included) holds a bad character."""
    texts: list[str] = []
    for value in row.values():
        kind = type(value)
        if kind is str:
            texts.append(value)
        elif kind is dict:
            texts.extend(v for v in value.values() if type(v) is str)
    if _BAD_CHARS.search("".join(texts)) is None:
        return
    for key, value in row.items():
        inner = value.items() if type(value) is dict else [(key, value)]
        for name, text in inner:
            if type(text) is str and (found := _BAD_CHARS.search(text)):
                raise RowError(
                    f"field {name!r} holds a control character or invalid text "
                    f"({found.group()!r} at position {found.start()})"
                )


def plausible(group: Mapping[str, Any], counts: dict[str, int]) -> bool:
    """Tell whether a group's percentage agrees with its counts under some reading.

    Leagues divide by won + lost, by won + lost + tied, or by won + lost + for (APTA lines);
    some write a fraction. A percentage that fits none of them (CITA writes "340" for sets
    of 0-690, "1" for lines of 35-4) means the columns are shifted: the group is nonsense.
    """
    raw = group.get("percentage")
    text = str(raw).strip().rstrip("%") if raw is not None else ""
    if text == "":
        return True
    try:
        value = float(text)
    except ValueError:
        return False
    if not 0 <= value <= 100:
        return False
    won, lost = counts["won"], counts["lost"]
    totals = {won + lost, won + lost + counts.get("tied", 0), won + lost + counts.get("for", 0)}
    readings = {value, value * 100} if value <= 1 else {value}
    for total in totals:
        expected = 100 * won / total if total else 0.0
        if any(abs(expected - reading) <= 1.0 for reading in readings):
            return True
    return False


def _limits() -> dict[Kind, dict[str, int]]:
    """Longest text per record field, from the column each field is stored in."""
    from rally.models import Club, MatchScore, Player, Schedule, Series, SeriesStats, Team

    columns: dict[Kind, dict[str, Any]] = {
        Kind.PLAYERS: {
            "player_id": Player.tenniscores_player_id,
            "first_name": Player.first_name,
            "last_name": Player.last_name,
            "club": Club.name,
            "series": Series.name,
            "team_name": Team.team_name,
            "captain_status": Player.captain_status,
        },
        Kind.STANDINGS: {
            "series": SeriesStats.series,
            "team_name": SeriesStats.team,
            "club": Club.name,
        },
        Kind.SCHEDULE: {
            "series": Series.name,
            "home_team": Team.team_name,
            "away_team": Team.team_name,
            "home_club": Club.name,
            "away_club": Club.name,
            "location": Schedule.location,
        },
        Kind.MATCHES: {
            "match_id": MatchScore.tenniscores_match_id,
            "home_team": MatchScore.home_team,
            "away_team": MatchScore.away_team,
            "home_player_1_id": MatchScore.home_player_1_id,
            "home_player_2_id": MatchScore.home_player_2_id,
            "away_player_1_id": MatchScore.away_player_1_id,
            "away_player_2_id": MatchScore.away_player_2_id,
            "scores": MatchScore.scores,
        },
    }
    out: dict[Kind, dict[str, int]] = {}
    for kind, fields in columns.items():
        out[kind] = {
            name: column.type.length
            for name, column in fields.items()
            if getattr(column.type, "length", None)
        }
    return out


LIMITS = _limits()
#: "Line N" is stored in a String(50) column.
_MAX_LINE = 10**40


def check_lengths(kind: Kind, fields: Mapping[str, Any]) -> None:
    """Reject converted fields longer than the column they are stored in."""
    for name, limit in LIMITS[kind].items():
        value = fields.get(name)
        if type(value) is str and len(value) > limit:
            raise RowError(f"field {name!r} is longer than {limit} characters")
    line = fields.get("line")
    if line is not None and line >= _MAX_LINE:
        raise RowError(f"line number {line} is out of range")
