"""Read scraped league files: detect their kind, split rows by league, validate each row."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from hashlib import blake2b
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from rally.etl.checks import check_lengths, check_text
from rally.etl.convert import CONVERTERS, MODELS, RowError
from rally.etl.files import ImportFileError as ImportFileError
from rally.etl.files import MalformedJSON as MalformedJSON
from rally.etl.files import UnknownKind as UnknownKind
from rally.etl.files import UnreadableFile as UnreadableFile
from rally.etl.files import WrongShape as WrongShape
from rally.etl.files import detect_kind as detect_kind
from rally.etl.files import iter_rows as iter_rows
from rally.etl.files import kind_and_rows
from rally.etl.fingerprints import json_files as json_files
from rally.etl.fingerprints import paused_gc as paused_gc
from rally.etl.records import (
    Kind,
    PlayerRecord,
    Record,
    Reject,
    ScheduleRecord,
    StandingRecord,
    league_name,
    league_order,
)
from rally.etl.team_names import BadName, team_key

_LEAGUE_FIELDS = ("League", "league_id", "source_league")

Progress = Callable[[Path, int, int], None]


@dataclass
class FileResult:
    """What one file held: its kind and row count, the rows by league, the rejects."""

    path: Path
    kind: Kind | None
    rows: int = 0
    skipped: int = 0
    records: dict[str, list[tuple[int, Record]]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)


@dataclass
class ParsedCorpus:
    """All valid records of a run by league and kind, and every rejected row."""

    records: dict[str, dict[Kind, list[Record]]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    warnings: list[Reject] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)

    def leagues(self) -> list[str]:
        """Return the leagues that have records or rejects, in `league_order`."""
        seen = set(self.records)
        seen |= {r.league for r in self.rejects if r.league and league_name(r.league)}
        return league_order(seen)

    def of(self, league: str, kind: Kind) -> list[Record]:
        """Return the league's records of one kind (empty when none)."""
        return self.records.get(league, {}).get(kind, [])

    def rejected(self, league: str | None) -> list[Reject]:
        """Return the rejects attributed to a league (None: rows without a known league)."""
        return [r for r in self.rejects if r.league == league]


def row_league(row: Mapping[str, Any]) -> str:
    """Return the row's league key; raise RowError when missing, conflicting or unknown."""
    first, second, third = row.get("League"), row.get("league_id"), row.get("source_league")
    found = first or second or third
    if (
        type(found) is str
        and league_name(found) is not None
        and (first is None or first == found)
        and (second is None or second == found)
        and (third is None or third == found)
    ):
        return str(found)
    key: str | None = None
    for name in _LEAGUE_FIELDS:
        value = row.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            if isinstance(value, str):
                continue
            raise RowError(f"league field {name!r} is not a league key: {value!r}")
        value = value if league_name(value) else value.strip().upper()
        if key is not None and value != key:
            raise RowError(f"conflicting league keys {sorted({key, value})}")
        key = value
    if key is None:
        raise RowError("missing league (no League, league_id or source_league)")
    if league_name(key) is None:
        raise RowError(f"unknown league {key!r}")
    return key


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return f"invalid {where}: {first['msg']}"


def read_file(
    path: Path, *, leagues: Collection[str] | None = None, progress: Progress | None = None
) -> FileResult:
    """Read and validate one file; rows of leagues outside ``leagues`` are skipped."""
    kind, rows = kind_and_rows(path)
    result = FileResult(path=path, kind=kind)
    if kind is None:
        return result
    accept = None if leagues is None else set(leagues)
    for index, league, record in convert_rows(
        kind, enumerate(rows), str(path), accept=accept, result=result, progress=progress
    ):
        result.records.setdefault(league, []).append((index, record))
    return result


_BATCH = 4000


def convert_rows(
    kind: Kind,
    rows: Iterable[tuple[int, Any]],
    name: str,
    *,
    accept: Collection[str] | None,
    result: FileResult,
    progress: Progress | None = None,
    total: int = 0,
    unattributed: bool = True,
    dedup: Deduplicator | None = None,
) -> Iterator[tuple[int, str, Record]]:
    """Convert and validate rows, yielding (index, league, record) of the accepted leagues.

    Rejects go to ``result.rejects`` (keeping the raw row), dropped standings groups to
    ``result.warnings``; raw rows of accepted records are not kept. Rows of leagues outside
    ``accept`` are counted as skipped; rows without a usable league are rejected only when
    ``unattributed`` (a file read once per league reports them once).
    """
    convert = CONVERTERS[kind]
    path = Path(name)
    pending: list[tuple[int, str, dict[str, Any], Any]] = []
    count = 0
    for index, row in rows:
        count += 1
        if progress is not None and index % 1000 == 0:
            progress(path, index, total)
        league: str | None = None
        try:
            if not isinstance(row, dict):
                raise RowError(f"row is not an object but {type(row).__name__}")
            league = row_league(row)
        except RowError as exc:
            if unattributed:
                result.rejects.append(
                    Reject(file=name, row=index, league=None, reason=str(exc), data=row, kind=kind)
                )
            continue
        if accept is not None and league not in accept:
            result.skipped += 1
            continue
        try:
            check_text(row)
            fields = convert(row, league)
            check_lengths(kind, fields)
        except (RowError, BadName) as exc:
            reason = str(exc)
        except ValidationError as exc:
            reason = _reason(exc)
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            # A shape no rule foresaw still rejects only its row, never the run.
            reason = f"cannot read row ({type(exc).__name__}: {exc})"
        else:
            pending.append((index, league, fields, row))
            if len(pending) >= _BATCH:
                yield from _validate(kind, pending, result, name, dedup)
                pending = []
            continue
        result.rejects.append(
            Reject(file=name, row=index, league=league, reason=reason, data=row, kind=kind)
        )
    yield from _validate(kind, pending, result, name, dedup)
    result.rows = max(result.rows, count)
    if progress is not None:
        progress(path, count, total or count)


@cache
def _adapter(kind: Kind) -> TypeAdapter[list[Any]]:
    item: Any = MODELS[kind]
    return TypeAdapter(list[item])


def _validate(
    kind: Kind,
    pending: list[tuple[int, str, dict[str, Any], Any]],
    result: FileResult,
    name: str,
    dedup: Deduplicator | None = None,
) -> list[tuple[int, str, Record]]:
    """Validate converted rows into records; reject the rows that fail or repeat a key."""
    if not pending:
        return []
    try:
        # One call per batch: pydantic loops in Rust, a third faster than row by row.
        records = _adapter(kind).validate_python([fields for _, _, fields, _ in pending])
    except ValidationError:
        records = None
    out: list[tuple[int, str, Record]] = []
    model = MODELS[kind]
    for position, (index, league, fields, row) in enumerate(pending):
        if records is not None:
            record = records[position]
        else:
            try:
                record = model(**fields)
            except ValidationError as exc:
                result.rejects.append(
                    Reject(
                        file=name,
                        row=index,
                        league=league,
                        reason=_reason(exc),
                        data=row,
                        kind=kind,
                    )
                )
                continue
        if dedup is not None:
            reason = dedup.first(league, kind, name, index, record)
            if reason is not None:
                result.rejects.append(
                    Reject(file=name, row=index, league=league, reason=reason, data=row, kind=kind)
                )
                continue
        if isinstance(record, StandingRecord) and record.dropped:
            groups = ", ".join(record.dropped)
            result.warnings.append(
                Reject(
                    file=name,
                    row=index,
                    league=league,
                    reason=f"standings {groups} dropped as missing or implausible",
                    data=row,
                    kind=kind,
                )
            )
        out.append((index, league, record))
    return out


def natural_key(record: Record) -> tuple[Any, ...]:
    """Return the key that makes a row a duplicate of another within its league and kind."""
    if isinstance(record, PlayerRecord):
        return (record.player_id, team_key(record.team_name))
    if isinstance(record, StandingRecord):
        return (team_key(record.team_name),)
    if isinstance(record, ScheduleRecord):
        return (record.match_date, team_key(record.home_team), team_key(record.away_team))
    if record.match_id:
        return ("id", record.match_id)
    return (
        record.match_date,
        team_key(record.home_team),
        team_key(record.away_team),
        record.line,
        record.home_player_1_id or record.home_player_1,
        record.home_player_2_id or record.home_player_2,
        record.away_player_1_id or record.away_player_1,
        record.away_player_2_id or record.away_player_2,
        record.scores,
    )


def _describe(kind: Kind) -> str:
    return {
        Kind.PLAYERS: "player and team",
        Kind.STANDINGS: "team in the standings",
        Kind.SCHEDULE: "date and teams in the schedule",
        Kind.MATCHES: "match line",
    }[kind]


def parse_paths(
    paths: Iterable[Path],
    *,
    leagues: Collection[str] | None = None,
    progress: Progress | None = None,
) -> ParsedCorpus:
    """Read every file (directories recursively), validate rows, drop duplicates within a league.

    Raises an ImportFileError subclass, naming the file, for a file-level problem.
    """
    with paused_gc():
        return _parse_paths(paths, leagues=leagues, progress=progress)


class Deduplicator:
    """Reject the second and later rows with the same natural key within a league and kind.

    Memory stays compact at any scale: a key is kept as a 16-byte digest (BLAKE2b of its
    repr, so two different keys never meet in practice) and where it was first met as one
    integer (file number and row), not as the tuple of values. ``forget`` drops a kind's
    keys once its files are read.
    """

    def __init__(self) -> None:
        self.firsts: dict[tuple[str, Kind], dict[bytes, int]] = {}
        self.names: list[str] = []
        self._numbers: dict[str, int] = {}

    def first(self, league: str, kind: Kind, name: str, index: int, record: Record) -> str | None:
        """Return None for a first occurrence, else the reject reason naming the first one."""
        firsts = self.firsts.get((league, kind))
        if firsts is None:
            firsts = self.firsts[(league, kind)] = {}
        key = blake2b(repr(natural_key(record)).encode(), digest_size=16).digest()
        found = firsts.get(key)
        if found is None:
            number = self._numbers.get(name)
            if number is None:
                number = self._numbers[name] = len(self.names)
                self.names.append(name)
            firsts[key] = (number << 40) | index
            return None
        first_name, first_index = self.names[found >> 40], found & ((1 << 40) - 1)
        where = f"row {first_index}" + ("" if first_name == name else f" of {first_name}")
        return f"duplicate {_describe(kind)} (same as {where})"

    def forget(self, league: str, kind: Kind) -> None:
        """Drop the keys of one league and kind (its files are all read)."""
        self.firsts.pop((league, kind), None)


def _parse_paths(
    paths: Iterable[Path], *, leagues: Collection[str] | None, progress: Progress | None
) -> ParsedCorpus:
    corpus = ParsedCorpus()
    dedup = Deduplicator()
    for path in json_files(paths):
        kind, rows = kind_and_rows(path)
        result = FileResult(path=path, kind=kind)
        corpus.files.append(result)
        if kind is None:
            continue
        name = str(path)
        accept = None if leagues is None else set(leagues)
        for _index, league, record in convert_rows(
            kind,
            enumerate(rows),
            name,
            accept=accept,
            result=result,
            progress=progress,
            dedup=dedup,
        ):
            corpus.records.setdefault(league, {}).setdefault(kind, []).append(record)
        corpus.rejects.extend(result.rejects)
        corpus.warnings.extend(result.warnings)
    return corpus


def parse_corpus(root: Path, *, leagues: Collection[str] | None = None) -> ParsedCorpus:
    """Parse a directory of league files (e.g. ../shared/data/leagues) into records."""
    return parse_paths([root], leagues=leagues)
