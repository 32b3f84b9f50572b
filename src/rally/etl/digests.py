"""What recognises unchanged input without a database library: the input files, their
SHA-256, the importer's version, and what the last imports recorded about them.

Standard library only: `rally etl import` of unchanged files decides "nothing changed" with
this module and a plain driver query (see rally.cli.etl_unchanged) before it loads
SQLAlchemy, pydantic or the importer. rally.etl.fingerprints reads and writes the same
records through SQLAlchemy for the full import.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rally.leagues import league_name, league_order

_CHUNK = 1 << 20

#: The recorded files of one importer version (parameter: the version), one row per league
#: and file: league key, SHA-256, the file's leagues (space-separated), rows, rows rejected.
RECORDED_FILES_SQL = (
    "SELECT l.league_id, f.sha256, f.file_leagues, f.rows, f.rejected "
    "FROM import_files f JOIN leagues l ON l.id = f.league_id "
    "WHERE f.importer_version = {param}"
)


@cache
def importer_version() -> str:
    """Return a digest of the importer's source files: rules changed, input re-read."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def path_problem(paths: Iterable[Path]) -> str | None:
    """Say what is wrong with the paths given to an import (None: nothing).

    A path that does not exist, or a directory without league files (a scraper that wrote
    elsewhere): either must fail as a usage error, never pass for an import that found
    nothing to change.
    """
    paths = list(paths)
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return f"no such file or directory: {', '.join(missing)}"
    empty = [str(p) for p in paths if p.is_dir() and next(p.rglob("*.json"), None) is None]
    if empty:
        return f"no JSON files (*.json) in {', '.join(empty)}"
    return None


def json_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their *.json files (recursively, sorted); keep files as given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        else:
            out.append(path)
    return out


#: Digests computed in this process, by path, with the file's (size, mtime) then: when the
#: shortcut for unchanged input declines, the full import does not hash the files again.
_DIGESTS: dict[Path, tuple[tuple[int, int], str]] = {}


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file's bytes (read in chunks: memory stays flat)."""
    stat = path.stat()
    stamp = (stat.st_size, stat.st_mtime_ns)
    known = _DIGESTS.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    _DIGESTS[path] = (stamp, digest.hexdigest())
    return digest.hexdigest()


@dataclass
class KnownFile:
    """What the last import of some league recorded about one file."""

    leagues: frozenset[str]
    rows: int
    #: Rejected rows per league the file was imported for.
    rejected: dict[str, int] = field(default_factory=dict)


@dataclass
class Fingerprints:
    """The recorded files: per league the digests loaded, per digest what it held."""

    by_league: dict[str, set[str]] = field(default_factory=dict)
    files: dict[str, KnownFile] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[object]]) -> Fingerprints:
        """Build from the rows of RECORDED_FILES_SQL."""
        out = cls()
        for league, digest, leagues, count, rejected in rows:
            assert isinstance(league, str) and isinstance(digest, str)
            out.by_league.setdefault(league, set()).add(digest)
            known = out.files.setdefault(
                digest, KnownFile(leagues=frozenset(str(leagues).split()), rows=int(str(count)))
            )
            known.rejected[league] = int(str(rejected))
        return out

    def unchanged(self, league: str, digests: Iterable[str]) -> bool:
        """Tell whether ``digests`` are exactly the files the league was last imported from."""
        recorded = self.by_league.get(league)
        return bool(recorded) and recorded == set(digests)

    def rejected(self, league: str) -> int:
        """Return the rows of the league rejected when its recorded files were read."""
        return sum(
            self.files[d].rejected.get(league, 0)
            for d in self.by_league.get(league, ())
            if d in self.files
        )


def all_unchanged(
    known: Fingerprints, digests: Sequence[str], leagues: Collection[str] | None
) -> dict[str, int] | None:
    """Tell whether an import of files with these digests would skip every league.

    That is: every file is known, and each league they hold (of ``leagues``, when given) was
    last imported from exactly those of them that hold it, as `rally.etl.importer` decides
    league by league. Returns league -> rows rejected when its files were last read, in
    league order; None when some league would be read (or none is wanted).
    """
    if not digests or any(d not in known.files for d in digests):
        return None
    found = {key for d in digests for key in known.files[d].leagues if league_name(key)}
    wanted = found if leagues is None else found & set(leagues)
    out: dict[str, int] = {}
    for league in league_order(wanted):
        mine = [d for d in digests if league in known.files[d].leagues]
        if not known.unchanged(league, mine):
            return None
        out[league] = known.rejected(league)
    return out or None
