"""Read scraped league files: detect their kind, split rows by league, validate each row."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from rally.errors import RallyError
from rally.etl.convert import CONVERTERS, MODELS, RowError
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

#: Keys present in every row of a kind; the kind with most rows carrying all of them wins.
_MARKERS: dict[Kind, frozenset[str]] = {
    Kind.PLAYERS: frozenset({"Player ID", "First Name"}),
    Kind.STANDINGS: frozenset({"team", "series", "matches"}),
    Kind.SCHEDULE: frozenset({"home_team", "away_team", "date"}),
    Kind.MATCHES: frozenset({"Home Team", "Away Team", "Scores"}),
}
_LEAGUE_FIELDS = ("League", "league_id", "source_league")
_SAMPLE = 50

Progress = Callable[[Path, int, int], None]


class ImportFileError(RallyError):
    """A whole input file cannot be imported."""


class UnreadableFile(ImportFileError):
    """The file cannot be opened or decoded."""


class MalformedJSON(ImportFileError):
    """The file is not valid JSON."""


class WrongShape(ImportFileError):
    """The JSON is valid but not a list of row objects."""


class UnknownKind(ImportFileError):
    """The rows match none of the four known kinds."""


@dataclass
class FileResult:
    """What one file held: its kind and row count, the rows by league, the rejects."""

    path: Path
    kind: Kind | None
    rows: int = 0
    skipped: int = 0
    records: dict[str, list[tuple[int, Record, dict[str, Any]]]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)


@dataclass
class ParsedCorpus:
    """All valid records of a run by league and kind, and every rejected row."""

    records: dict[str, dict[Kind, list[Record]]] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
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


def json_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their *.json files (recursively, sorted); keep files as given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        else:
            out.append(path)
    return out


def _load(path: Path) -> list[Any]:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read file ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except UnicodeDecodeError:
        raise UnreadableFile(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise MalformedJSON(
            f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise MalformedJSON(f"{path}: malformed JSON (nested too deeply)") from None
    if not isinstance(data, list):
        raise WrongShape(f"{path}: expected a JSON list of rows, found a {type(data).__name__}")
    return data


def detect_kind(rows: list[Any], path: Path) -> Kind | None:
    """Return the kind of the rows from their keys (None for an empty list)."""
    sample = [row for row in rows[:_SAMPLE] if isinstance(row, dict)]
    if not rows:
        return None
    if not sample:
        raise WrongShape(f"{path}: expected a JSON list of row objects")
    scores = {
        kind: sum(1 for row in sample if keys <= row.keys()) for kind, keys in _MARKERS.items()
    }
    kind, best = max(scores.items(), key=lambda item: item[1])
    if best == 0:
        raise UnknownKind(
            f"{path}: cannot tell what the rows hold (not players, standings, schedule "
            "or match results)"
        )
    return kind


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
    rows = _load(path)
    kind = detect_kind(rows, path)
    result = FileResult(path=path, kind=kind, rows=len(rows))
    if kind is None:
        return result
    convert = CONVERTERS[kind]
    name = str(path)
    total = len(rows)
    pending: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
    for index, row in enumerate(rows):
        if progress is not None and index % 1000 == 0:
            progress(path, index, total)
        league: str | None = None
        try:
            if not isinstance(row, dict):
                raise RowError(f"row is not an object but {type(row).__name__}")
            league = row_league(row)
            if leagues is not None and league not in leagues:
                result.skipped += 1
                continue
            fields = convert(row, league)
        except (RowError, BadName) as exc:
            result.rejects.append(
                Reject(file=name, row=index, league=league, reason=str(exc), data=row, kind=kind)
            )
            continue
        except ValidationError as exc:
            result.rejects.append(
                Reject(
                    file=name, row=index, league=league, reason=_reason(exc), data=row, kind=kind
                )
            )
            continue
        except (TypeError, ValueError, ArithmeticError) as exc:
            # A shape no rule foresaw still rejects only its row, never the run.
            reason = f"cannot read row ({type(exc).__name__}: {exc})"
            result.rejects.append(
                Reject(file=name, row=index, league=league, reason=reason, data=row, kind=kind)
            )
            continue
        pending.append((index, league, fields, row))
    for index, league, record, row in _validate(kind, pending, result.rejects, name):
        result.records.setdefault(league, []).append((index, record, row))
    if progress is not None:
        progress(path, total, total)
    return result


@cache
def _adapter(kind: Kind) -> TypeAdapter[list[Any]]:
    item: Any = MODELS[kind]
    return TypeAdapter(list[item])


def _validate(
    kind: Kind,
    pending: list[tuple[int, str, dict[str, Any], dict[str, Any]]],
    rejects: list[Reject],
    name: str,
) -> list[tuple[int, str, Record, dict[str, Any]]]:
    """Validate a file's converted rows into records; reject the rows that fail."""
    try:
        # One call for the file: pydantic loops in Rust, a third faster than row by row.
        records = _adapter(kind).validate_python([fields for _, _, fields, _ in pending])
    except ValidationError:
        records = None
    if records is not None:
        return [(i, lg, rec, row) for (i, lg, _, row), rec in zip(pending, records, strict=True)]
    out: list[tuple[int, str, Record, dict[str, Any]]] = []
    model = MODELS[kind]
    for index, league, fields, row in pending:
        try:
            out.append((index, league, model(**fields), row))
        except ValidationError as exc:
            reason = _reason(exc)
            rejects.append(
                Reject(file=name, row=index, league=league, reason=reason, data=row, kind=kind)
            )
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


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: bulk parsing creates many objects but no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_paths(
    paths: Iterable[Path], *, leagues: Collection[str] | None, progress: Progress | None
) -> ParsedCorpus:
    corpus = ParsedCorpus()
    # First occurrence (file, row) of each natural key, per (league, kind).
    seen: dict[tuple[str, Kind], dict[tuple[Any, ...], tuple[str, int]]] = {}
    for path in json_files(paths):
        result = read_file(path, leagues=leagues, progress=progress)
        corpus.files.append(result)
        corpus.rejects.extend(result.rejects)
        if result.kind is None:
            continue
        kind = result.kind
        name = str(path)
        for league, items in result.records.items():
            bucket = corpus.records.setdefault(league, {}).setdefault(kind, [])
            firsts = seen.setdefault((league, kind), {})
            for index, record, row in items:
                key = natural_key(record)
                first = firsts.get(key)
                if first is None:
                    firsts[key] = (name, index)
                    bucket.append(record)
                    continue
                where = f"row {first[1]}" + ("" if first[0] == name else f" of {first[0]}")
                corpus.rejects.append(
                    Reject(
                        file=name,
                        row=index,
                        league=league,
                        reason=f"duplicate {_describe(kind)} (same as {where})",
                        data=row,
                        kind=kind,
                    )
                )
    return corpus


def parse_corpus(root: Path, *, leagues: Collection[str] | None = None) -> ParsedCorpus:
    """Parse a directory of league files (e.g. ../shared/data/leagues) into records."""
    return parse_paths([root], leagues=leagues)
