"""Store match lines and link each to its two teams, using everything the files say.

A match row names its teams. When the name is a team's name, that is the team. CITA's
results name the bare club ("North Shore Racquet Club"), and a club has a team in several
series, so the name alone can be ambiguous. Then, in this order:

1. **The schedule.** The league's schedule lists, per date, which two teams played. The
   teams of those two clubs that the schedule has meeting on the row's date (home and away,
   or the other way round) are the candidates; one pair links both sides.
2. **The players on the line.** A player id on the line that the league's rosters, or
   another already linked line, place on a team narrows each side to that player's teams.

A row still ambiguous (or naming no known team) keeps its team text and a NULL team id, and
is reported as unlinked with the reason: Rally never guesses.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rally.etl.bulk import Sync, existing_rows
from rally.etl.report import LeagueReport
from rally.etl.team_names import team_key
from rally.models import MatchScore, Player, Schedule

MATCH_COLS = (
    "match_date",
    "home_team",
    "away_team",
    "home_team_id",
    "away_team_id",
    "home_player_1_id",
    "home_player_2_id",
    "away_player_1_id",
    "away_player_2_id",
    "scores",
    "winner",
    "line",
)

Teams = Mapping[str, tuple[int, int, int]]
#: Scheduled (home id, away id): one pair, or a tuple of pairs.
_Pairs = tuple[int, int] | tuple[tuple[int, int], ...]


def _pairs(found: _Pairs | None) -> tuple[tuple[int, int], ...]:
    """Return the pairs of a schedule index value (see Linker.schedule)."""
    if found is None:
        return ()
    if isinstance(found[0], int):
        return (found,)
    return found


@dataclass
class _Side:
    name: str
    base: str
    players: tuple[str | None, str | None]


class Linker:
    """Resolve match sides to team ids within one league."""

    def __init__(
        self,
        session: Session,
        league_id: int,
        teams: Teams,
        bases: Mapping[str, set[int]],
    ) -> None:
        self.session = session
        self.league_id = league_id
        self.teams = teams
        self.bases = bases
        # Team id -> the key its match rows use for it (base name for CITA, else its name).
        self.key_of: dict[int, str] = {ids[0]: key for key, ids in teams.items()}
        for base, ids in bases.items():
            for team_id in ids:
                self.key_of[team_id] = base
        self._schedule: dict[tuple[Any, str, str], _Pairs] | None = None
        #: Player id -> the team (or teams) rosters or linked lines place them on. Kept
        #: compact (one team id, a tuple when several; team ids shared with ``key_of``):
        #: at scale a league has 100,000s of players. See ``keep_only``.
        self.evidence: dict[str, int | tuple[int, ...]] = {}
        self._ids: dict[int, int] = {team_id: team_id for team_id in self.key_of}

    def candidates(self, side: _Side) -> set[int]:
        """Return the teams a side's name can mean."""
        found = self.teams.get(team_key(side.name))
        if found is not None:
            return {found[0]}
        return set(self.bases.get(team_key(side.base), ()))

    def schedule(self) -> dict[tuple[Any, str, str], _Pairs]:
        """Return (date, home key, away key) -> scheduled (home id, away id) pair(s).

        A key's value is one pair, or a tuple of pairs when the schedule has several (kept
        compact: at scale a league schedules 100,000s of matches).
        """
        if self._schedule is None:
            index: dict[tuple[Any, str, str], _Pairs] = {}
            rows = self.session.execute(
                select(Schedule.match_date, Schedule.home_team_id, Schedule.away_team_id).where(
                    Schedule.league_id == self.league_id,
                    Schedule.home_team_id.is_not(None),
                    Schedule.away_team_id.is_not(None),
                )
            )
            ids = self._ids
            for day, home, away in rows:
                if home is None or away is None:
                    continue
                key = (day, self.key_of.get(home, ""), self.key_of.get(away, ""))
                pair = (ids.get(home, home), ids.get(away, away))
                found = index.get(key)
                if found is None:
                    index[key] = pair
                elif isinstance(found[0], int):
                    if found != pair:
                        index[key] = (found, pair)
                elif pair not in found:
                    index[key] = (*found, pair)
            self._schedule = index
        return self._schedule

    def _add(self, player: str, team_id: int) -> None:
        team_id = self._ids.get(team_id, team_id)
        found = self.evidence.get(player)
        if found is None:
            self.evidence[player] = team_id
        elif isinstance(found, int):
            if found != team_id:
                self.evidence[player] = (found, team_id)
        elif team_id not in found:
            self.evidence[player] = (*found, team_id)

    def keep_only(self, players: set[str]) -> None:
        """Forget the evidence of players other than these (those on lines left ambiguous)."""
        self.evidence = {p: t for p, t in self.evidence.items() if p in players}

    def load_rosters(self, players: set[str] | None = None) -> None:
        """Seed player evidence with the league's rosters (player id -> team ids).

        ``players``: only these players' (the players on lines left ambiguous; None: all).
        """
        if players is not None and not players:
            return
        rows = self.session.execute(
            select(Player.tenniscores_player_id, Player.team_id).where(
                Player.league_id == self.league_id, Player.team_id.is_not(None)
            )
        )
        for player_id, team_id in rows:
            if team_id is not None and (players is None or player_id in players):
                self._add(player_id, team_id)

    def learn(self, players: Iterable[str | None], team_id: int) -> None:
        """Record that these players played a linked line for this team."""
        for player in players:
            if player:
                self._add(player, team_id)

    def _played_for(self, side: _Side) -> set[int] | None:
        found: set[int] | None = None
        for player in side.players:
            if player and player in self.evidence:
                known = self.evidence[player]
                teams = {known} if isinstance(known, int) else set(known)
                found = teams if found is None else found & teams
        return found

    def link(
        self, day: Any, home: _Side, away: _Side, *, use_players: bool
    ) -> tuple[int | None, int | None, str]:
        """Return (home id, away id, reason when a side stays unlinked)."""
        home_c, away_c = self.candidates(home), self.candidates(away)
        if len(home_c) == 1 and len(away_c) == 1:
            return next(iter(home_c)), next(iter(away_c)), ""
        schedule = self.schedule()
        hk, ak = team_key(home.base), team_key(away.base)
        pairs = set(_pairs(schedule.get((day, hk, ak))))
        pairs |= {(h, a) for a, h in _pairs(schedule.get((day, ak, hk)))}
        pairs = {(h, a) for h, a in pairs if h in home_c and a in away_c}
        if use_players and len(pairs) != 1:
            home_p, away_p = self._played_for(home), self._played_for(away)
            if pairs:
                pairs = {
                    (h, a)
                    for h, a in pairs
                    if (home_p is None or h in home_p) and (away_p is None or a in away_p)
                }
            else:
                if home_p is not None:
                    home_c &= home_p
                if away_p is not None:
                    away_c &= away_p
        if len(pairs) == 1:
            return (*next(iter(pairs)), "")
        home_id = next(iter(home_c)) if len(home_c) == 1 else None
        away_id = next(iter(away_c)) if len(away_c) == 1 else None
        reasons = [
            _why(side, options, len(pairs))
            for side, options, found in ((home, home_c, home_id), (away, away_c, away_id))
            if found is None
        ]
        return home_id, away_id, "; ".join(reasons)


def _why(side: _Side, options: set[int], pairs: int) -> str:
    if not options:
        return f"no team of the league is named {side.name!r}"
    told = f"{pairs} scheduled pairings fit" if pairs else "no scheduled match fits"
    return (
        f"{len(options)} teams could be {side.name!r} ({told}; the players on the line do "
        "not tell which)"
    )


def match_key(
    match_id: str | None, match_date: Any, home: str | None, away: str | None, line: str | None
) -> Any:
    """Return a match line's natural key within its league."""
    if match_id:
        return ("id", match_id)
    return (match_date, team_key(home or ""), team_key(away or ""), line)


def _digest(value: Any) -> bytes:
    return blake2b(repr(value).encode(), digest_size=16).digest()


def _group(rec: Any) -> bytes:
    return _digest((rec.match_date, team_key(rec.home_team), team_key(rec.away_team)))


class _Numbers:
    """Number the lines of sources without line numbers, which list a match's lines in order.

    A line without a number (and without a source match id) gets the smallest number its
    match (date and teams) does not use yet. Built from one pass over the records; keeps
    per match a 16-byte digest and the numbers, only for matches that need numbering.
    """

    def __init__(self, records: Iterable[Any]) -> None:
        need: set[bytes] = set()
        for rec in records:
            if rec.line is None and rec.match_id is None:
                need.add(_group(rec))
        self.taken: dict[bytes, set[int]] = {}
        if need:
            for rec in records:
                if rec.line is not None and (group := _group(rec)) in need:
                    self.taken.setdefault(group, set()).add(rec.line)
        #: Matches without explicit lines: the last number given.
        self.counter: dict[bytes, int] = {}

    def line(self, rec: Any) -> str | None:
        """Return the line text of a record (numbering it when it has none)."""
        line = rec.line
        if line is None and rec.match_id is None:
            group = _group(rec)
            used = self.taken.get(group)
            if used is None:
                line = self.counter.get(group, 0) + 1
                self.counter[group] = line
            else:
                line = 1
                while line in used:
                    line += 1
                used.add(line)
        return f"Line {line}" if line is not None else None


def _last_positions(records: Iterable[Any]) -> dict[bytes, int]:
    """Return, for match lines that share a key (same date, teams and line number, no source
    id), the position of the last: it is the one stored (as a dict keyed by it would)."""
    last: dict[bytes, int] = {}
    for position, rec in enumerate(records):
        if rec.match_id is None and rec.line is not None:
            key = match_key(None, rec.match_date, rec.home_team, rec.away_team, f"Line {rec.line}")
            last[_digest(key)] = position
    return last


def sync_matches(
    session: Session,
    report: LeagueReport,
    league_id: int,
    records: Iterable[Any],
    linker: Linker,
    tally: Callable[[Mapping[str, Any]], None] | None = None,
    *,
    fresh: bool = False,
) -> None:
    """Upsert the league's match lines, linked to teams, streaming the records in batches.

    ``records`` is read several times (numbering, then loading); ``tally`` sees every row
    as stored (computed standings).
    """
    existing = existing_rows(
        session,
        MatchScore,
        MatchScore.league_id == league_id,
        MATCH_COLS,
        ("tenniscores_match_id",),
        lambda r: match_key(r.tenniscores_match_id, r.match_date, r.home_team, r.away_team, r.line),
        fresh=fresh,
    )
    numbers = _Numbers(records)
    last = _last_positions(records)
    learn = bool(linker.bases)
    # Rows the names and the schedule leave ambiguous: their positions (ascending) and line
    # texts, and the players named on them. They are linked again, from the records read
    # once more, once every line has taught its players. Kept compact: at scale a league
    # leaves 100,000s of rows to the second pass.
    pending = _Pending()

    def row(rec: Any, line_text: str | None, home_id: int | None, away_id: int | None) -> Any:
        key = match_key(rec.match_id, rec.match_date, rec.home_team, rec.away_team, line_text)
        out = {
            "league_id": league_id,
            "tenniscores_match_id": rec.match_id,
            "match_date": rec.match_date,
            "home_team": rec.home_team,
            "away_team": rec.away_team,
            "home_team_id": home_id,
            "away_team_id": away_id,
            "home_player_1_id": rec.home_player_1_id,
            "home_player_2_id": rec.home_player_2_id,
            "away_player_1_id": rec.away_player_1_id,
            "away_player_2_id": rec.away_player_2_id,
            "scores": rec.scores,
            "winner": rec.winner,
            "line": line_text,
        }
        if tally is not None:
            tally(out)
        return key, out

    def kept(position: int, rec: Any) -> bool:
        if rec.match_id is not None or rec.line is None or not last:
            return True
        key = match_key(None, rec.match_date, rec.home_team, rec.away_team, f"Line {rec.line}")
        return last.get(_digest(key)) == position

    def first_pass() -> Iterator[tuple[Any, dict[str, Any]]]:
        for position, rec in enumerate(records):
            line_text = numbers.line(rec)
            home, away = _sides(rec)
            home_id, away_id, reason = linker.link(rec.match_date, home, away, use_players=False)
            if reason:
                pending.add(position, line_text, (*home.players, *away.players))
                continue
            if learn:
                linker.learn(home.players, home_id)  # type: ignore[arg-type]
                linker.learn(away.players, away_id)  # type: ignore[arg-type]
            if kept(position, rec):
                yield row(rec, line_text, home_id, away_id)

    def second_pass() -> Iterator[tuple[Any, dict[str, Any]]]:
        # Only the players on ambiguous lines can tell anything: keep theirs alone.
        linker.keep_only(pending.players)
        linker.load_rosters(pending.players)
        lines = pending.lines()
        for position, rec in enumerate(records):
            line_text = lines.get(position, _NOT_PENDING)
            if line_text is _NOT_PENDING:
                continue
            home, away = _sides(rec)
            home_id, away_id, reason = linker.link(rec.match_date, home, away, use_players=True)
            if not kept(position, rec):
                continue
            key, out = row(rec, line_text, home_id, away_id)
            if reason:
                report.add_unlinked("match_scores", out, reason)
            yield key, out

    sync = Sync(session, MatchScore, MATCH_COLS)
    counts = report.entity("match_scores")
    sync.stream(counts, first_pass(), existing)
    if pending:
        sync.stream(counts, second_pass(), existing)


_NOT_PENDING = "\0"


class _Pending:
    """Match rows left to the second linking pass: positions, line texts, their players."""

    def __init__(self) -> None:
        self.positions = array("q")
        #: Index into ``texts`` per pending row (line texts are few: "Line 1", ...).
        self.text_of = array("I")
        self.texts: list[str | None] = []
        self._text_index: dict[str | None, int] = {}
        self.players: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.positions)

    def add(self, position: int, line_text: str | None, players: Iterable[str | None]) -> None:
        """Leave one row to the second pass."""
        index = self._text_index.get(line_text)
        if index is None:
            index = self._text_index[line_text] = len(self.texts)
            self.texts.append(line_text)
        self.positions.append(position)
        self.text_of.append(index)
        self.players.update(p for p in players if p)

    def lines(self) -> _Lines:
        """Return position -> line text, for positions met in ascending order."""
        return _Lines(self)


class _Lines:
    """Position -> line text of pending rows, asked in ascending position order."""

    def __init__(self, pending: _Pending) -> None:
        self.pending = pending
        self.at = 0

    def get(self, position: int, default: str) -> str | None:
        """Return the line text of a pending row at this position, else ``default``."""
        positions, at = self.pending.positions, self.at
        while at < len(positions) and positions[at] < position:
            at += 1
        self.at = at
        if at < len(positions) and positions[at] == position:
            return self.pending.texts[self.pending.text_of[at]]
        return default


def _sides(rec: Any) -> tuple[_Side, _Side]:
    return (
        _Side(rec.home_team, rec.home_base, (rec.home_player_1_id, rec.home_player_2_id)),
        _Side(rec.away_team, rec.away_base, (rec.away_player_1_id, rec.away_player_2_id)),
    )
