"""How Rally derives (club, series, team name) from the leagues' scraped names.

The leagues spell the same team differently in rosters, standings, schedules
and match results. These rules turn every spelling into one *team name* per
league, the club that fields it and the series it plays in. They run in this
order on every name:

1. **Whitespace.** Runs of spaces collapse to one and ends are trimmed:
   ``"Lake Forest  S1"`` is ``"Lake Forest S1"``.
2. **Series names.** A series name is normalised the same way;
   APTA_CHICAGO standings call the south-west series ``"Chicago 15 SW"``
   where rosters and schedules say ``"Series 15 SW"``: both become
   ``"Series 15 SW"``. The part after ``"Series "`` is the series *suffix*
   (``"12"``, ``"15 SW"``, ``"H"``, ``"2B"``, ``"3.0 & Under Thur"``).
3. **Schedule form.** A trailing ``" - Series X"`` equal to the row's own
   series is dropped: ``"Winnetka 1 - Series 1"`` is ``"Winnetka 1"``,
   ``"Evanston H(1) - Series H"`` is ``"Evanston H(1)"``.
4. **Repeated suffix.** Some rosters repeat the series after a lettered team:
   ``"Birchwood 13a 13"`` is ``"Birchwood 13a"`` and ``"Wilmette H (1) H"`` is
   ``"Wilmette H (1)"`` (only when the repeated token is the row's series suffix).
5. **Dash before the number** (all leagues but CITA): ``"Michigan Shores - 6"``
   is ``"Michigan Shores 6"``, ``"Butterfield - 15 SW"`` is ``"Butterfield 15 SW"``
   and ``"Midtown - Chicago - 6"`` is ``"Midtown - Chicago 6"``; a dash *inside*
   a club name stays.
6. **Club.** The club is the team name without its team tail: a number with an
   optional letter and ``SW`` (``"Tennaqua 12"``, ``"Hinsdale PC 1a"``,
   ``"Glen Ellyn 17 SW"``, ``"Wilmette 99 A"``), a series letter with an optional
   ``(n)`` (``"Evanston H(1)"``, ``"Prarie Club SN (2)"``, ``"Valley Lo A"``), or
   an NSTF tail (``"Wilmette S1 T2"``, ``"Birchwood S2B"``, ``"Wilmette Sunday A"``).
   A name without a recognised tail (``"Legends"``) is its own club. A name
   whose club part is empty (``" - 9 SW"``, a bye placeholder) is rejected.
7. **CITA.** CITA standings use the bare club (``"North Shore Racquet Club"``)
   with one team per series, while its schedules write ``"North Shore Racquet
   Club - 4.0 Singles Sun"``. A CITA team name is therefore always
   ``"<club part> - <series suffix>"``, e.g. ``"North Shore Racquet Club - 3.0 &
   Under Thur"``, the same for standings and schedules and unique in the league.
   The club drops a trailing team number: ``"Midtown - Chicago 1"`` and
   ``"Glenbrook Racquet Club - 2"`` are teams of ``"Midtown - Chicago"`` and
   ``"Glenbrook Racquet Club"``. CITA match results carry no series, so their
   bare names resolve to a team only when exactly one team has that club part.
8. **Identity.** Within a league, team names compare without case and without
   the space before ``"("`` (``"PraIrie Club G(1)"`` is ``"Prairie Club G(1)"``); the
   spelling stored is the roster's, else the standings', else the schedule's. Clubs compare
   without case as well (``"LifeSport"`` is ``"Lifesport"``).
9. **One series per team.** When files disagree (APTA rosters list ``"Birchwood 2"`` under
   both ``"Series 1"`` and ``"Series 2"``), the standings decide, then the schedule, then the
   rosters; within one source a series whose suffix ends the team name wins.
   Match results never create teams: they only resolve to existing ones.

NSTF rosters name the team in ``"Series Mapping ID"`` (``"Wilmette S1 T2"``),
spelled as in its standings; its schedules use the schedule form (rule 3) and
rule 1 joins ``"Lake Forest  S1"`` with ``"Lake Forest S1"``. Roster ``Club``
fields are not trusted (older files repeat the team name there): the club is
always derived by rule 6, and the field is used only when no tail is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_CHICAGO_SW = re.compile(r"^Chicago (\d+ SW)$")
_DASH_NUMBER = re.compile(r"^(?P<club>.+?)\s+-\s+(?P<tail>\d+[a-z]?(?:\s+SW)?)$")
_TEAM_TAIL = re.compile(
    r"""\s+(?:
        S\d+[A-Z]?(?:\s+T\d+)?              # NSTF: S1, S2B, S1 T2
      | Sunday\s+[A-Z]                      # NSTF: Sunday A
      | \d+[a-z]?(?:\s+[A-F])?(?:\s+SW)?     # 12, 1a, 17 SW, 99 A
      | (?:[A-K]|SN)\s*(?:\(\d+\))?          # H, H(1), SN (2)
    )$""",
    re.VERBOSE,
)
_CITA_NUMBER = re.compile(r"(?:\s+-)?\s+\d+$")
_PAREN_SPACE = re.compile(r"\s+\(")

#: Longest team, club or series name the database stores.
MAX_NAME = 255

#: Leagues whose team names qualify the bare club with the series (rule 7).
CLUB_SERIES_LEAGUES = frozenset({"CITA"})


class BadName(ValueError):
    """A team or series name that cannot be turned into a team."""


@dataclass(frozen=True, slots=True)
class TeamName:
    """A team's canonical name and the club that fields it."""

    team_name: str
    club: str
    #: The name without a CITA series qualifier (equal to team_name elsewhere).
    base: str


def clean(text: str) -> str:
    """Collapse whitespace runs and trim the ends (rule 1)."""
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def normalize_series(raw: str) -> str:
    """Return the canonical series name for a scraped one (rule 2)."""
    name = clean(raw)
    if not name:
        raise BadName("empty series name")
    if len(name) > MAX_NAME:
        raise BadName(f"series name longer than {MAX_NAME} characters")
    match = _CHICAGO_SW.match(name)
    if match:
        return f"Series {match.group(1)}"
    return name


def series_suffix(series: str) -> str:
    """Return the part of a series name after "Series " ("Series 15 SW" -> "15 SW")."""
    return series[7:] if series.startswith("Series ") else series


@lru_cache(maxsize=16384)
def team_key(name: str) -> str:
    """Return the identity key of a team or club name within a league (rule 8)."""
    return _PAREN_SPACE.sub("(", clean(name)).casefold()


def club_of(team_name: str) -> str:
    """Return the club part of a canonical team name of a non-CITA league (rule 6)."""
    match = _TEAM_TAIL.search(team_name)
    if match is None:
        return team_name
    return team_name[: match.start()].strip() or team_name


def parse_team(raw: str, *, league: str, series: str | None) -> TeamName:
    """Derive the canonical team name and club from a scraped team name.

    ``series`` is the row's canonical series (None for match results without one).
    Raises BadName for an empty name, a placeholder without a club part, or a name
    too long to store.
    """
    return team_of(raw, league, series)


@lru_cache(maxsize=16384)
def team_of(raw: str, league: str, series: str | None) -> TeamName:
    """Positional, cached form of parse_team (the importer calls it once per name per row)."""
    team = _parse_team(raw, league, series)
    if len(team.team_name) > MAX_NAME:
        raise BadName(f"team name longer than {MAX_NAME} characters")
    return team


def _parse_team(raw: str, league: str, series: str | None) -> TeamName:
    name = clean(raw)
    if not name:
        raise BadName("empty team name")
    suffix = series_suffix(series) if series else None
    if series and name.casefold().endswith(f" - {series}".casefold()):
        name = name[: -len(series) - 3].rstrip()
    if league in CLUB_SERIES_LEAGUES:
        return _parse_cita(name, suffix)
    if suffix and name.endswith(f" {suffix}"):
        head = name[: -len(suffix) - 1].rstrip()
        last = head.rsplit(" ", 1)[-1]
        if re.fullmatch(rf"{re.escape(suffix)}[a-z]|\(\d+\)", last) and head != suffix:
            if last.startswith("("):
                # "Wilmette H (1) H": the token before "(1)" must be the suffix.
                if head.rsplit(" ", 2)[-2:-1] == [suffix]:
                    name = head
            else:
                name = head
    match = _DASH_NUMBER.match(name)
    if match:
        name = f"{match.group('club')} {match.group('tail')}"
    if name.startswith("-") or name.startswith("–"):
        raise BadName(f"team name {raw!r} has no club (placeholder or bye)")
    return TeamName(team_name=name, club=club_of(name), base=name)


def _parse_cita(name: str, suffix: str | None) -> TeamName:
    if name.startswith("-"):
        raise BadName(f"team name {name!r} has no club (placeholder or bye)")
    if suffix is None:
        base = name
        team_name = name
    else:
        base = name[: -len(suffix) - 3].rstrip() if name.endswith(f" - {suffix}") else name
        if not base or base.startswith("-"):
            raise BadName(f"team name {name!r} has no club (placeholder or bye)")
        team_name = f"{base} - {suffix}"
    club = _CITA_NUMBER.sub("", base).strip() or base
    return TeamName(team_name=team_name, club=club, base=base)
