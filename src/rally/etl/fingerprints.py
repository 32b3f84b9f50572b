"""Recognise unchanged input: the files each league's last successful import loaded.

A file is known by the SHA-256 of its bytes (not its path or date: a copy or a re-download
of the same content is the same file). After a league commits, its rows in
``import_files`` are replaced by the files it was read from. A later import skips the
league when the files holding its rows are exactly those, with the same importer version
(a hash of the importer's own source, so any change to the rules re-reads everything).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from rally.etl.digests import RECORDED_FILES_SQL as RECORDED_FILES_SQL
from rally.etl.digests import Fingerprints as Fingerprints
from rally.etl.digests import KnownFile as KnownFile
from rally.etl.digests import file_digest as file_digest
from rally.etl.digests import importer_version as importer_version
from rally.etl.digests import json_files as json_files


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


def load_fingerprints(connection: Connection) -> Fingerprints:
    """Read the recorded files of the current importer version."""
    # Plain SQL: importing the ORM models costs more than this whole check.
    rows = connection.execute(
        text(RECORDED_FILES_SQL.format(param=":version")), {"version": importer_version()}
    )
    return Fingerprints.from_rows(rows)


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
