"""Recognise unchanged input: the files each league's last successful import loaded.

A file is known by the SHA-256 of its bytes (not its path or date: a copy or a re-download
of the same content is the same file). After a league commits, its rows in
``import_files`` are replaced by the files it was read from. A later import skips the
league when the files holding its rows are exactly those, with the same importer version
(a hash of the importer's own source, so any change to the rules re-reads everything).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

_CHUNK = 1 << 20


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


@cache
def importer_version() -> str:
    """Return a digest of the importer's source files: rules changed, input re-read."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def json_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their *.json files (recursively, sorted); keep files as given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        else:
            out.append(path)
    return out


def file_digest(path: Path) -> str:
    """Return the SHA-256 of a file's bytes (read in chunks: memory stays flat)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
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


def load_fingerprints(connection: Connection) -> Fingerprints:
    """Read the recorded files of the current importer version."""
    out = Fingerprints()
    # Plain SQL: importing the ORM models costs more than this whole check.
    rows = connection.execute(
        text(
            "SELECT l.league_id, f.sha256, f.file_leagues, f.rows, f.rejected "
            "FROM import_files f JOIN leagues l ON l.id = f.league_id "
            "WHERE f.importer_version = :version"
        ),
        {"version": importer_version()},
    )
    for league, digest, leagues, count, rejected in rows:
        out.by_league.setdefault(league, set()).add(digest)
        known = out.files.setdefault(
            digest, KnownFile(leagues=frozenset(leagues.split()), rows=count)
        )
        known.rejected[league] = rejected
    return out


@dataclass(frozen=True)
class FileRecord:
    """One file a league was read from, to record after the league commits."""

    path: Path
    digest: str
    leagues: frozenset[str]
    rows: int
    rejected: int


def record_fingerprints(session: Session, league_id: int, files: Iterable[FileRecord]) -> None:
    """Replace the league's recorded files (inside the league's own transaction)."""
    from sqlalchemy import delete, insert

    from rally.models import ImportFile

    session.execute(delete(ImportFile).where(ImportFile.league_id == league_id))
    rows = [
        {
            "league_id": league_id,
            "sha256": f.digest,
            "path": str(f.path),
            "file_leagues": " ".join(sorted(f.leagues)),
            "rows": f.rows,
            "rejected": f.rejected,
            "importer_version": importer_version(),
        }
        for f in files
    ]
    if rows:
        session.execute(insert(ImportFile), rows)
