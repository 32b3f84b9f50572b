"""Check the input files before an import: fingerprint each, and scan those the database does
not know for which leagues they hold (a full parse: an unusable file stops the run before
anything is written). The first league's small files stay parsed for its read."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rally.etl.digests import Fingerprints, file_digest, json_files
from rally.etl.progress import ImportProgress
from rally.leagues import league_order

if TYPE_CHECKING:
    from rally.etl.records import Kind, Reject


@dataclass
class FileScan:
    """One input file: its digest, and the rows it holds per league."""

    path: Path
    digest: str
    rows: int
    leagues: dict[str, int] = field(default_factory=dict)
    #: Known from the database (content imported before), not scanned in this run.
    known: bool = False
    #: What the file holds (None: not scanned in this run, or empty).
    kind: Kind | None = None
    #: The rows as the check parsed them, kept (small files of the first league to read
    #: only, see _ParseCache) so that this league is read without parsing its files again.
    parsed: list[Any] | None = None
    #: Whether the C parser reads the file (see rally.etl.files.iter_rows), when known.
    fast: bool | None = None

    def take_rows(self) -> tuple[Kind | None, Iterator[Any]]:
        """Return the file's kind and rows: those the check kept (once), else parsed anew."""
        from rally.etl.files import kind_and_rows

        parsed, self.parsed = self.parsed, None
        if parsed is None:
            return kind_and_rows(self.path, self.fast)
        return self.kind, _drain(parsed)


def _drain(rows: list[Any]) -> Iterator[Any]:
    """Yield rows in order, letting go of each as it goes (memory shrinks as it is read)."""
    rows.reverse()
    while rows:
        yield rows.pop()


#: Files the check keeps parsed (see _ParseCache): at most this size each, this much in all
#: (parsed rows take some four times their file's bytes).
PARSED_FILE_BYTES = 8 << 20
PARSED_TOTAL_BYTES = 16 << 20


class _ParseCache:
    """Which files the check keeps parsed: those of the first league in import order.

    A league is read before it loads, and the first league's read is the only one that no
    loading overlaps; the rest are read while the league before them loads. The check parses
    every file anyway: keeping the first league's (small) files parsed saves that league a
    second parse. Files of later leagues are parsed again when read, so memory holds at most
    PARSED_TOTAL_BYTES of one league's files, and none at scale.
    """

    def __init__(self, leagues: Collection[str] | None) -> None:
        self.leagues = leagues
        self.first: str | None = None
        self.kept: list[FileScan] = []
        self.size = 0

    def may_keep(self, league: str, size: int) -> bool:
        """Tell whether a file of this size whose first row is of this league may be kept."""
        if self.leagues is not None and league not in self.leagues:
            return False
        if self.size + size > PARSED_TOTAL_BYTES:
            return False
        return self.first is None or league_order([league, self.first])[0] == league

    def keep(self, scan: FileScan, rows: list[Any], size: int) -> None:
        """Keep a scanned file's rows when it holds the first league seen so far (in order)."""
        wanted = [key for key in scan.leagues if self.leagues is None or key in self.leagues]
        if not wanted:
            return
        first = league_order([*wanted, *([self.first] if self.first else [])])[0]
        if first != self.first:
            self.first = first
            for old in self.kept:
                if first not in old.leagues:
                    old.parsed = None
            self.kept = [old for old in self.kept if old.parsed is not None]
            self.size = sum(old.path.stat().st_size for old in self.kept)
        if first in scan.leagues and self.size + size <= PARSED_TOTAL_BYTES:
            scan.parsed = rows
            self.kept.append(scan)
            self.size += size


def scan_file(
    path: Path, digest: str, unattributed: list[Reject], cache: _ParseCache | None = None
) -> FileScan:
    """Count a file's rows per league (checking it is a usable JSON list of rows).

    Rows without a usable league are rejected here, once, whatever the leagues imported.
    Raises an ImportFileError subclass naming the file when the file is unusable. With
    ``cache``, a small file's parsed rows may be kept (see _ParseCache).
    """
    from rally.etl.convert import RowError
    from rally.etl.files import fast_parser, kind_and_rows
    from rally.etl.reader import row_league
    from rally.etl.records import Reject

    fast = fast_parser(path)
    kind, rows = kind_and_rows(path, fast)
    scan = FileScan(path=path, digest=digest, rows=0, kind=kind, fast=fast)
    name = str(path)
    size = path.stat().st_size if cache is not None else PARSED_FILE_BYTES + 1
    # Rows are collected only while the file may be kept: small, and its first row of the
    # first league so far (a file holds one league, as a rule).
    parsed: list[Any] | None = [] if size <= PARSED_FILE_BYTES else None
    for index, row in enumerate(rows):
        scan.rows += 1
        if parsed is not None:
            parsed.append(row)
        try:
            if not isinstance(row, dict):
                raise RowError(f"row is not an object but {type(row).__name__}")
            league = row_league(row)
        except RowError as exc:
            unattributed.append(
                Reject(file=name, row=index, league=None, reason=str(exc), data=row, kind=kind)
            )
            continue
        if not scan.leagues and parsed is not None and cache is not None:
            parsed = parsed if cache.may_keep(league, size) else None
        scan.leagues[league] = scan.leagues.get(league, 0) + 1
    if cache is not None and parsed is not None and kind is not None:
        cache.keep(scan, parsed, size)
    return scan


def scan_paths(
    paths: Iterable[Path],
    known: Fingerprints,
    unattributed: list[Reject],
    progress: ImportProgress,
    leagues: Collection[str] | None = None,
) -> list[FileScan]:
    """Fingerprint every file and scan those the database does not know.

    The first league's small files stay parsed (see _ParseCache; ``leagues``: those
    imported, None for all).
    """
    cache = _ParseCache(leagues)
    files = json_files(paths)
    scans: list[FileScan] = []
    for done, path in enumerate(files):
        progress.scan(path, done, len(files))
        try:
            digest = file_digest(path)
        except OSError as exc:
            from rally.etl.reader import UnreadableFile

            raise UnreadableFile(f"{path}: cannot read file ({exc.strerror or exc})") from None
        recorded = known.files.get(digest)
        if recorded is not None:
            leagues = dict.fromkeys(recorded.leagues, 0)
            scans.append(FileScan(path, digest, recorded.rows, leagues, known=True))
        else:
            scans.append(scan_file(path, digest, unattributed, cache))
    progress.scan(files[-1] if files else Path("."), len(files), len(files))
    return scans
